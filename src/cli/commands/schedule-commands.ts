/** agf and pf: a jump schedule alone (table, --json in the DESIGN.md shape, --out files). */
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, agfProgress, buildProblem, emitFiles, flag, num, printJson, rejectOptions, resolveModel, resultJson, str } from '../common.ts';
import { jsonText, scheduleBody } from '../../report/json.ts';
import { timeUnit } from '../../schedule.ts';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import type { Problem } from '../../problem.ts';
import type { JumpSchedule } from '../../schedule.ts';
import { solveAgf } from '../../solvers/agf.ts';
import { solveAgfDiagonal } from '../../solvers/agf-diagonal.ts';
import { diagonalData } from '../../solvers/diagonal-data.ts';
import { solvePf } from '../../solvers/pf.ts';
import { scheduleTable } from '../../report/schedule-report.ts';
import { algorithmLabel, checkAlgorithm, stabilityNote, checkDiscreteModel, type AgfAlgorithm } from '../../solvers/agf/discrete.ts';
import { arrivalNote, compareDiscrete, discreteTable } from '../../analysis/discrete-compare.ts';
import { comparisonJson } from '../../analysis/compare.ts';
import { machineConventions } from '../../report/json.ts';
import { defaultStep } from '../../analysis/runs.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText } from '../../report/table.ts';
import { SPECTRUM_OPTION, modularFromArgs } from './modular.ts';

export const DEFAULT_SCHEDULE_ALPHA = 1e-4;

/** AGF and PF need 0 < alpha < 1: log(1/alpha) is their time unit. */

export function checkAlpha(p: Problem): void {
  if (!(p.alpha < 1)) throw new GradflowError(`alpha must lie in (0, 1) for jump schedules (got ${p.alpha}); it is the initial scale and log(1/alpha) the time unit`);
}

function emitSchedule(args: ParsedArgs, io: CommandIO, p: Problem, s: JumpSchedule, notes: string[], steps = false): void {
  const unit = timeUnit(p.derived.kappa, p.alpha);
  const table = scheduleTable(s, unit, notes);
  if (s.conventions.alpha === 0) {
    // the α → 0 limit has no flow time (it diverges like log(1/α)): rescaled time is the only time axis
    table.columns = table.columns.filter((c) => c.key !== 'time');
    table.notes![0] = `time: rescaled time ${unit.label} in the alpha → 0 limit (flow time diverges as alpha → 0; the JSON's "time" is rescaled time × ${unit.formula} at alpha = ${p.alpha})`;
  }
  if (steps) {
    // a discrete algorithm: the step is the prediction, time its flow-time equivalent
    table.columns.splice(1, 0, { key: 'step', header: 'step' });
    table.columns[2] = { key: 'time', header: 'time (k·η_eff)' };
    table.notes![0] = `time: flow-time equivalent of step k (k·lr for gd, k·lr/(1 − momentum) for momentum); ${unit.note}`;
  }
  const json = resultJson(args, 'schedule', p.seed, scheduleBody(s, p.derived.kappa), p);
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, {
    [`${s.method}.md`]: () => renderMarkdown(table),
    [`${s.method}.csv`]: () => renderCsv(table),
    [`${s.method}.tex`]: () => renderLatex(table),
    [`${s.method}.json`]: () => jsonText(json),
  }, [table]);
}

const ALGORITHM_OPTIONS = {
  for: { kind: 'string' as const, help: 'the algorithm whose jumps are predicted: flow (gradient flow, the default), gd, momentum (heavy ball) or nesterov (polynomial models — κ = 2 with exact per-step growth factors, κ > 2 such as modular by iterating the algorithm on the dormant neurons; not relu models; times in steps)', default: 'flow' },
  lr: { kind: 'number' as const, help: '--for gd|momentum: the learning rate η (default 0.01/λ̂, λ̂ the largest Hessian eigenvalue at the start and at the predicted end)' },
  momentum: { kind: 'number' as const, help: '--for momentum|nesterov: the coefficient m in (0, 1) (heavy ball v ← m·v − η∇L, θ ← θ + v; Nesterov θ ← θ + m·v − η∇L)' },
  simulate: { kind: 'flag' as const, help: '--for gd|momentum: also run the algorithm (solvers/descent.ts) and compare its jump steps with the prediction and with the gradient-flow AGF mapped to steps' },
};

export const agfCommand: Command = {
  name: 'agf',
  summary: 'Alternating Gradient Flows: predicted saddle-to-saddle jump times, neurons and loss levels (any κ-homogeneous model).',
  usage: 'gradflow agf <model|--spec FILE> [--alpha A|0] [--data F | --spectrum 1:10,3:5 (modular)] [--closed] [--for flow|gd|momentum|nesterov --lr η [--momentum m] [--simulate]]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha in (0, 1); 0 gives the alpha → 0 limit in rescaled time t/T_κ(alpha)', default: String(DEFAULT_SCHEDULE_ALPHA) },
    closed: { kind: 'flag', help: 'diagonal model: the closed-form AGF (agf-diagonal), a cross-check of the generic engine' },
    'max-jumps': { kind: 'int', help: 'most jumps before the schedule stops (generic engine)', default: '4·H + 10' },
    'fit-iter': { kind: 'int', help: 'iteration budget of each cost minimisation (L-BFGS; generic engine, polynomial models; 0 with --fit-relax: no L-BFGS). Not for relu models: their fit is the masked relu flow (kink events) then Newton in its pattern, run to a stationary point', default: '20000 (κ = 2), 1000 (κ > 2; modular: 0, see --fit-relax)' },
    'fit-relax': { kind: 'number', help: 'κ > 2: begin each cost minimisation with T flow-time units of the masked gradient flow (RKC), then L-BFGS, then rebalance each neuron to its conserved rescaling invariants. A model may set its own fit (modular: --fit-relax 32 --fit-rtol 1e-3 --fit-iter 0 --fit-newton 0), used when none of the --fit-* options is given', default: 'off (L-BFGS only); modular: 32' },
    'fit-rtol': { kind: 'number', help: 'with --fit-relax: integrate that masked flow with error control (adaptive RKC2) at this relative tolerance, stopping early at a critical point, instead of the fixed step 0.05; lets --fit-relax be long (e.g. 32 on modular) at a cost bounded by the flow\'s slow phase, not T/0.05', default: 'off (fixed step)' },
    'fit-newton': { kind: 'int', help: 'with --fit-relax: at most N Newton steps after L-BFGS in each fit (0: none)', default: '40 (modular: 0)' },
    'no-flow-check': { kind: 'flag', help: 'relu models at alpha > 0: skip the check that runs the gradient flow where an activation comes before the previous fit relaxed (it costs about a flow there, and reports where the flow settles elsewhere)' },
    'fit-final': { kind: 'int', help: 'κ > 2: L-BFGS iterations for the last fit only (no dormant neuron left, or none with positive utility: that plateau lasts for ever); e.g. --fit-relax 2 --fit-iter 0 --fit-newton 0 --fit-final 2000 on modular', default: '0 (none)' },
    ...SPECTRUM_OPTION,
    ...ALGORITHM_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const forAlgo = str(args, 'for') ?? 'flow';
    if (forAlgo !== 'flow') return runDiscreteAgf(args, io, forAlgo);
    rejectOptions(args, ['lr', 'momentum', 'simulate'], 'agf --for flow (the default; use --for gd or --for momentum)');
    // alpha = 0: the limit; the start's directions come from the model's init at the default scale
    const limit = args.values.get('alpha') !== undefined && Number(args.values.get('alpha')) === 0;
    const built = limit ? { ...args, values: new Map([...args.values].filter(([k]) => k !== 'alpha')) } : args;
    const p = modularFromArgs(built, resolveModel(args), DEFAULT_SCHEDULE_ALPHA);
    checkAlpha(p);
    if (limit && flag(args, 'closed')) throw new GradflowError('--closed computes the schedule at a positive alpha; for alpha = 0 use the generic engine (drop --closed) or `gradflow pf diagonal`');
    if (flag(args, 'closed') && p.model.spec.name !== 'diagonal') throw new GradflowError(`--closed applies to the diagonal model only (got '${p.model.spec.name}')`);
    // a diagonal problem gets the same data checks (e.g. an all-zero column) whichever AGF runs
    if (p.model.spec.name === 'diagonal') diagonalData(p, 'agf');
    const maxJumps = args.values.has('max-jumps') ? num(args, 'max-jumps', 1) : undefined;
    if (maxJumps !== undefined && !(Number.isInteger(maxJumps) && maxJumps >= 1 && maxJumps <= 1e5)) throw new GradflowError(`--max-jumps must be an integer in [1, 100000] (got ${maxJumps})`);
    if (maxJumps !== undefined && flag(args, 'closed')) throw new GradflowError('--max-jumps is an option of the generic engine; drop --closed');
    const fitRelax = args.values.has('fit-relax') ? num(args, 'fit-relax', 0) : undefined;
    if (fitRelax !== undefined && !(Number.isFinite(fitRelax) && fitRelax >= 0 && fitRelax <= 1e4)) throw new GradflowError(`--fit-relax must be a flow time in [0, 10000] (got ${fitRelax})`);
    if (fitRelax !== undefined && flag(args, 'closed')) throw new GradflowError('--fit-relax is an option of the generic engine; drop --closed');
    const minIter = fitRelax !== undefined ? 0 : 1;
    const fitIter = args.values.has('fit-iter') ? num(args, 'fit-iter', 1) : undefined;
    if (fitIter !== undefined && !(Number.isInteger(fitIter) && fitIter >= minIter && fitIter <= 1e6)) throw new GradflowError(`--fit-iter must be an integer in [${minIter}, 1000000] (got ${fitIter})`);
    if (fitIter !== undefined && flag(args, 'closed')) throw new GradflowError('--fit-iter is an option of the generic engine; drop --closed');
    const fitNewton = args.values.has('fit-newton') ? num(args, 'fit-newton', 0) : undefined;
    if (fitNewton !== undefined && !(Number.isInteger(fitNewton) && fitNewton >= 0 && fitNewton <= 1000)) throw new GradflowError(`--fit-newton must be an integer in [0, 1000] (got ${fitNewton})`);
    if (fitNewton !== undefined && fitRelax === undefined) throw new GradflowError('--fit-newton is an option of the --fit-relax path: add --fit-relax T');
    const fitRtol = args.values.has('fit-rtol') ? num(args, 'fit-rtol', 0) : undefined;
    if (fitRtol !== undefined && !(fitRtol > 0 && fitRtol <= 0.1)) throw new GradflowError(`--fit-rtol must be a relative tolerance in (0, 0.1] (got ${fitRtol})`);
    const fitFinal = args.values.has('fit-final') ? num(args, 'fit-final', 0) : undefined;
    if (fitFinal !== undefined && !(Number.isInteger(fitFinal) && fitFinal >= 0 && fitFinal <= 1e6)) throw new GradflowError(`--fit-final must be an integer in [0, 1000000] (got ${fitFinal})`);
    if (fitFinal !== undefined && !((p.derived.kappa ?? 0) > 2)) throw new GradflowError(`--fit-final is for κ > 2 models (${p.model.spec.name} ${p.derived.kappa === null ? 'is not homogeneous' : `has κ = ${p.derived.kappa}`})`);
    // relu (non-polynomial) models: the fit has no L-BFGS budget or RKC transient to set
    if (!p.derived.polynomial) for (const o of ['fit-iter', 'fit-relax', 'fit-rtol']) if (args.values.has(o)) throw new GradflowError(`--${o} is not an option for ${p.model.spec.name}: its cost minimisation is the masked relu flow then Newton in its pattern, run to a stationary point`);
    if (fitRtol !== undefined && fitRelax === undefined) throw new GradflowError('--fit-rtol is an option of the --fit-relax path: add --fit-relax T');
    const noFlowCheck = flag(args, 'no-flow-check');
    if (noFlowCheck && (p.derived.polynomial || limit || flag(args, 'closed'))) throw new GradflowError(`--no-flow-check is for relu models at alpha > 0 (${limit ? 'alpha = 0 runs no flow check' : `${p.model.spec.name} runs none`})`);
    const progress = flag(args, 'closed') ? undefined : agfProgress(io, `agf ${p.model.spec.name}`, p);
    const s = flag(args, 'closed') ? solveAgfDiagonal(p) : solveAgf(p, { limit, maxJumps, fitIter, fitRelax, fitRtol, fitNewton, fitFinal, ...(noFlowCheck ? { flowCheck: false } : {}), onProgress: progress });
    progress?.finish(s);
    const notes = [`data: ${p.data.source}`, `solver: ${flag(args, 'closed') ? 'closed form (diagonal)' : `generic AGF engine (${String(s.extra?.solver)})`}`];
    if (s.extra?.warning) notes.push(`warning: ${String(s.extra.warning)}`);
    if (s.extra?.status) notes.push(`stopped: ${String(s.extra.status)}${s.extra?.stopReason ? ` (${String(s.extra.stopReason)}${s.extra.status === 'max-jumps' ? '; raise it with --max-jumps' : ''})` : ''}`);
    emitSchedule(args, io, p, s, notes);
    // with --json the notes are not printed; scripts still see the warning on stderr
    if (s.extra?.warning && flag(args, 'json')) io.err(`gradflow: warning: ${String(s.extra.warning)}`);
  },
};


/** agf --for gd|momentum: the jump schedule of the discrete algorithm in steps (solvers/agf/discrete.ts), optionally against a simulated run. */
function runDiscreteAgf(args: ParsedArgs, io: CommandIO, forAlgo: string): void {
  if (forAlgo !== 'gd' && forAlgo !== 'momentum' && forAlgo !== 'nesterov') throw new GradflowError(`--for must be flow, gd, momentum or nesterov (got '${forAlgo}')`);
  rejectOptions(args, ['closed'], `agf --for ${forAlgo} (the closed form is gradient flow's)`);
  if (forAlgo === 'gd') rejectOptions(args, ['momentum'], 'agf --for gd (use --for momentum)');
  if (forAlgo !== 'gd' && !args.values.has('momentum')) throw new GradflowError(`agf --for ${forAlgo} needs --momentum m, m in (0, 1)`);
  if (args.values.get('alpha') !== undefined && Number(args.values.get('alpha')) === 0) throw new GradflowError(`agf --for ${forAlgo}: the alpha → 0 limit is computed for gradient flow only; give a positive alpha`);
  const p = modularFromArgs(args, resolveModel(args), DEFAULT_SCHEDULE_ALPHA);
  checkAlpha(p);
  const givenLr = args.values.has('lr');
  const momentum = num(args, 'momentum', NaN);
  // bad options fail before any solve
  checkAlgorithm(forAlgo === 'gd' ? { kind: 'gd', lr: givenLr ? num(args, 'lr', 0) : 1 } : { kind: forAlgo, lr: givenLr ? num(args, 'lr', 0) : 1, momentum });
  checkDiscreteModel(p, { kind: forAlgo, lr: 1, momentum });
  if (p.model.spec.name === 'diagonal') diagonalData(p, 'agf');
  const flowProgress = agfProgress(io, `agf ${p.model.spec.name} (flow, for the step size)`, p);
  const flowSchedule = solveAgf(p, { onProgress: flowProgress });
  flowProgress?.finish(flowSchedule);
  const lr = givenLr ? num(args, 'lr', 0) : defaultStep(p, [p.theta0, Float64Array.from((flowSchedule.extra?.finalTheta as number[] | undefined) ?? p.theta0)]);
  const algo: AgfAlgorithm = forAlgo === 'gd' ? { kind: 'gd', lr } : { kind: forAlgo, lr, momentum };
  const notes = [
    `algorithm: ${algorithmLabel(algo)}${givenLr ? '' : ' (lr = 0.01/λ̂, λ̂ the largest Hessian eigenvalue at the start and at the predicted end)'}; loss: ${p.conventions.loss}; init: ${p.conventions.init}, alpha = ${p.alpha}`,
    `data: ${p.data.source}`,
  ];
  const solverNote = (s: JumpSchedule): string => `solver: generic AGF engine (${String(s.extra?.solver)}; solvers/agf/${(p.derived.kappa ?? 2) > 2 ? 'sphere-discrete' : 'discrete'}.ts)`;
  if (!flag(args, 'simulate')) {
    const progress = agfProgress(io, `agf ${p.model.spec.name} --for ${forAlgo}`, p);
    const s = solveAgf(p, { algorithm: algo, onProgress: progress });
    progress?.finish(s);
    notes.push(solverNote(s), `time: ${String(s.conventions.time)}`);
    const sn = stabilityNote(s.extra);
    if (sn) notes.push(sn);
    if (s.extra?.status) notes.push(`stopped: ${String(s.extra.status)}${s.extra?.stopReason ? ` (${String(s.extra.stopReason)})` : ''}`);
    emitSchedule(args, io, p, s, notes, true);
    if (s.extra?.status === 'unstable') io.err(`gradflow: warning: ${String(s.extra.stopReason)}`);
    return;
  }
  const c = compareDiscrete(p, algo, { flow: flowSchedule });
  notes.push(solverNote(c.predicted));
  if (c.predicted.extra?.status) notes.push(`prediction stopped: ${String(c.predicted.extra.status)}${c.predicted.extra?.stopReason ? ` (${String(c.predicted.extra.stopReason)})` : ''}`);
  const sn = stabilityNote(c.predicted.extra);
  if (sn) notes.push(sn);
  const an = arrivalNote(p, c);
  if (an) notes.push(an);
  const table = discreteTable(c, notes);
  const kappa = p.derived.kappa;
  const conventions = machineConventions(p.conventions, kappa, { time: `flow-time equivalents t = k·η_eff (η_eff = ${c.flowTimePerStep}); jump.step is the step; rescaledTime = time / timeScale` });
  const json = resultJson(args, 'comparison', p.seed, comparisonJson(c.comparison, kappa, conventions, { notes, algorithm: algo, steps: c.steps, rows: c.rows }), p);
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, {
    [`agf-${forAlgo}-vs-${forAlgo}.md`]: () => renderMarkdown(table),
    [`agf-${forAlgo}-vs-${forAlgo}.csv`]: () => renderCsv(table),
    [`agf-${forAlgo}-vs-${forAlgo}.tex`]: () => renderLatex(table),
    [`agf-${forAlgo}-vs-${forAlgo}.json`]: () => jsonText(json),
  }, [table]);
}

export const pfCommand: Command = {
  name: 'pf',
  summary: 'Pesme–Flammarion schedule (the α → 0 limit of the diagonal network), in rescaled time t/log(1/α).',
  usage: 'gradflow pf diagonal [--data F] [--alpha A]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'alpha in (0, 1), used only to convert rescaled to flow time', default: String(DEFAULT_SCHEDULE_ALPHA) },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const p = buildProblem(args, resolveModel(args), { alpha: DEFAULT_SCHEDULE_ALPHA });
    checkAlpha(p);
    const s = solvePf(p);
    emitSchedule(args, io, p, s, [`data: ${p.data.source}`, `stopped: ${String(s.extra?.status ?? '')}`]);
  },
};
