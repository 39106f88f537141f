/** compare: predictions and simulations side by side in one table (sweeps over grids: sweep.ts). */
import { progressLine } from '../../util/progress.ts';
import type { Command, CommandVariant } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, MODEL_OPTIONS, agfProgress, buildProblem, emitFiles, figureFiles, flag, num, printJson, rejectForModel, rejectOptions, resolveModel, resultJson, str, tableColumns, TABLE_OPTIONS } from '../common.ts';
import { GradflowError } from '../../util/errors.ts';
import { METHODS, runMethods, type MethodRuns, type RunOptions } from '../../analysis/runs.ts';
import { discreteRows } from '../../analysis/discrete-compare.ts';
import { algorithmLabel, flowTimePerStep, stabilityNote } from '../../solvers/agf/discrete.ts';
import type { Problem } from '../../problem.ts';
import { formatNumber, type Table } from '../../report/table.ts';
import { compareSchedules, comparisonJson, comparisonTable } from '../../analysis/compare.ts';
import { comparisonPlot } from '../../report/schedule-report.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText } from '../../report/table.ts';
import { DEFAULT_SCHEDULE_ALPHA, checkAlpha } from './schedule-commands.ts';
import { jsonText, machineConventions } from '../../report/json.ts';
import { timeUnit } from '../../schedule.ts';
import { isLinearModel, runCompareLinear } from './compare-linear.ts';
import { SPECTRUM_OPTION, runCompareModular } from './modular.ts';

const RUN_OPTIONS = {
  lr: { kind: 'number' as const, help: 'gradient-descent step', default: '0.01/λ̂, λ̂ the largest Hessian eigenvalue at the start and at the AGF end point' },
  agf: { kind: 'string' as const, help: 'AGF solver: auto or generic (the generic engine), closed (diagonal: the closed form, agf-diagonal, a cross-check)', default: 'auto' },
  t: { kind: 'number' as const, help: 'simulated flow time', default: '1.3 × the last AGF jump time + 20 (per model: gradflow help compare <model>)' },
  momentum: { kind: 'number' as const, help: 'momentum coefficient m in (0, 1) of the methods momentum / agf-momentum (heavy ball: v ← m·v − lr·∇L, θ ← θ + v) and nesterov / agf-nesterov (v ← m·v − lr·∇L, θ ← θ + m·v − lr·∇L, PyTorch\'s nesterov=True)' },
};

function runOptions(args: Parameters<Command['run']>[0], methods: string[]): RunOptions {
  const agf = str(args, 'agf') ?? 'auto';
  if (!['auto', 'generic', 'closed'].includes(agf)) throw new GradflowError(`--agf must be auto, generic or closed (got '${agf}')`);
  return {
    methods,
    lr: args.values.has('lr') ? num(args, 'lr', 0) : undefined,
    momentum: args.values.has('momentum') ? num(args, 'momentum', NaN) : undefined,
    agf: agf as RunOptions['agf'],
    horizon: args.values.has('t') ? num(args, 't', 0) : undefined,
  };
}

/** The discrete AGF methods: a step table beside the comparison (steps and the rescaled step error against the simulated run of the same algorithm). */
function addStepColumns(table: Table, p: Problem, runs: MethodRuns): void {
  const flow = runs.schedules.find((s) => s.method === 'agf');
  for (const d of runs.discrete) {
    const name = d.algorithm.kind;
    const rows = discreteRows(p, d.algorithm, d.predicted, flow ?? d.predicted, d.simulated);
    rows.forEach((r, q) => {
      const row = table.rows[q];
      if (!row) return;
      Object.assign(row, { [`step_${name}`]: r.stepSim, [`step_agf-${name}`]: r.stepPredicted, [`err_agf-${name}`]: r.errPredicted, [`err_agf_mapped_${name}`]: flow ? r.errFlowMapped : null });
    });
    const fmt = (sig: number) => (v: unknown): string => (typeof v === 'number' ? formatNumber(v, sig) : '—');
    table.columns.push(
      ...(d.simulated ? [{ key: `step_${name}`, header: `step ${name}`, format: fmt(7) }] : []),
      { key: `step_agf-${name}`, header: `step agf-${name}`, format: fmt(7) },
      ...(d.simulated ? [{ key: `err_agf-${name}`, header: `step err agf-${name}`, format: fmt(3) }] : []),
      ...(d.simulated && flow ? [{ key: `err_agf_mapped_${name}`, header: `step err agf t/η_eff`, format: fmt(3) }] : []),
    );
    const eff = name === 'gd' ? 'lr' : 'lr/(1 − m)';
    table.notes!.push(`agf-${name}: AGF for ${algorithmLabel(d.algorithm)} (jump = first step with ‖θ‖ ≥ 1; solvers/agf/discrete.ts); its time column is k·${eff}${d.simulated ? `; step err = (k − k_${name})·${eff}/log(1/α), rescaled flow-time units (the discrete AGF's shrinks like 1/log(1/α)); agf t/η_eff: the gradient-flow AGF mapped to steps` : ''}`);
    const sn = stabilityNote(d.predicted.extra);
    if (sn) table.notes!.push(`agf-${name} ${sn}`);
  }
}

/** The JSON form of the step tables: one entry per discrete AGF method. */
function stepJson(p: Problem, runs: MethodRuns): Record<string, unknown>[] {
  const flow = runs.schedules.find((s) => s.method === 'agf');
  return runs.discrete.map((d) => ({
    method: d.predicted.method,
    simulated: d.simulated?.method ?? null,
    algorithm: d.algorithm,
    flowTimePerStep: flowTimePerStep(d.algorithm),
    steps: d.steps,
    rows: discreteRows(p, d.algorithm, d.predicted, flow ?? d.predicted, d.simulated).map((r) => (flow ? r : { ...r, stepFlowMapped: null, errFlowMapped: null })),
  }));
}

/** Pesme–Flammarion is the diagonal network's α → 0 schedule: a default method only there. */
function parseMethods(v: unknown, model: string): string[] {
  const list = (v as string[] | undefined) ?? (model === 'diagonal' ? ['agf', 'pf', 'flow', 'gd'] : ['agf', 'flow', 'gd']);
  if (list.length === 0) throw new GradflowError(`--methods needs at least one of ${METHODS.join(', ')}`);
  for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new GradflowError(`--methods: unknown method '${m}' (use ${METHODS.join(', ')})`);
  return list;
}

/** compare's default α for linear models (the closed-form and the --methods comparison alike). */
const LINEAR_COMPARE_ALPHA = 1e-8;

/** What compare does per model family; the last one takes every other model (and spec files). */
const COMPARE_VARIANTS: readonly CommandVariant[] = [
  {
    label: 'linear models',
    models: 'linear, factorization, factorization-uv, single-neuron',
    options: {
      alpha: { default: String(LINEAR_COMPARE_ALPHA) },
      agf: { help: 'AGF solvers: auto or generic (the closed-form greedy AGF, the oracle, and the generic engine\'s schedule beside it), closed (the closed form only)' },
      t: { default: '1.5 × the last closed-form jump time + 20' },
    },
    matches: isLinearModel,
    usage: 'gradflow compare linear|factorization|factorization-uv|single-neuron [--moments FILE | --data FILE] [--alpha A] [--variant auto|commuting|conjecture] [--agf auto|generic|closed] [--t T] [--out DIR] [--json]\n       gradflow compare linear|… --methods agf,agf-gd,gd,momentum,… [--lr η] [--momentum m] [--columns narrow|full]   (the generic comparison)',
    omit: ['spectrum', 'fit-relax'],
    requires: { lr: 'methods', momentum: 'methods', columns: 'methods' },
    why: 'it compares the closed-form AGF with gradient flow in one table; with --methods, the generic comparison of the other models',
  },
  {
    label: 'modular',
    models: 'the modular-addition network',
    options: {
      alpha: { default: '0.3' },
      lr: { help: 'step of the heavy-ball momentum run (m = 0.9; t = k·lr/(1 − m)); the default is halved, up to 4 times, when its run diverges, and the output says so', default: '0.003' },
      t: { default: '1.4 × the latest AGF t½ over the frequencies + 10' },
      columns: { help: 'table columns: narrow (ξ, U*, t½ per method, rel. diff vs AGF, neurons per frequency) or full (adds |X[ξ]|, τ aligned, the first activations t1 and the plateau levels)' },
      agf: { help: 'AGF engine: generic (the generic engine: direction flow on the sphere, each fit the masked flow for --fit-relax flow-time units, then every neuron rebalanced to its conserved rescaling quantities) or closed (agf-modular.ts, the model-specific engine, kept as a cross-check)', default: 'generic' },
      'fit-relax': { help: 'the generic engine\'s masked-flow time per cost minimisation (flow-time units; no L-BFGS or Newton after it here — agf --fit-relax adds them)', default: '2' },
    },
    matches: (def) => def.spec.name === 'modular',
    usage: 'gradflow compare modular [--dim p=N --dim h=N] [--spectrum 1:10,3:5] [--alpha A] [--lr η] [--t T] [--agf generic [--fit-relax T] | --agf closed] [--columns narrow|full] [--out DIR] [--json]',
    omit: ['methods', 'variant', 'moments', 'momentum'],
    why: 'it runs AGF (the generic engine; --agf closed: the model-specific agf-modular), flow and momentum (m = 0.9) frequency by frequency; AGF\'s own predictions for gd, momentum and Nesterov on this model: gradflow agf modular --for gd|momentum|nesterov --lr η',
  },
  {
    label: 'other models',
    models: 'diagonal, relu and every other model, spec files included',
    options: {
      alpha: { default: String(DEFAULT_SCHEDULE_ALPHA) },
      t: { default: '1.3 × the last AGF jump time + 20' },
    },
    matches: () => true,
    usage: 'gradflow compare <diagonal|relu|…|--spec FILE> [--data FILE] [--alpha A] [--methods agf,pf,flow,gd,agf-gd,momentum,agf-momentum,nesterov,agf-nesterov] [--lr η] [--momentum m] [--agf auto|generic|closed] [--t T] [--columns narrow|full] [--out DIR] [--json]',
    omit: ['variant', 'spectrum', 'fit-relax'],
    why: 'AGF (and, for diagonal, Pesme–Flammarion) against the simulated flow and gradient descent, matched jump by jump',
  },
];

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Jump schedules of AGF against the simulated flow and descent (gradient descent, momentum, Nesterov, and AGF\'s predictions for them), jump by jump, for every model (diagonal: also Pesme–Flammarion; linear models: the closed-form greedy AGF; modular: frequency by frequency). `gradflow help compare <model>` lists what applies to that model.',
  usage: 'gradflow compare <model|--spec FILE> [options]   (the options that apply depend on the model: gradflow help compare <model>)',
  variants: COMPARE_VARIANTS,
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha in (0, 1)', default: `${DEFAULT_SCHEDULE_ALPHA} (linear models 1e-8, modular 0.3)` },
    methods: { kind: 'list', help: `methods to compare (${METHODS.join(', ')}; pf is the diagonal model's)`, default: 'agf,pf,flow,gd for diagonal, agf,flow,gd otherwise' },
    variant: { kind: 'string', help: 'linear models: auto, commuting or conjecture (closed-form AGF variant)', default: 'auto' },
    ...TABLE_OPTIONS,
    ...RUN_OPTIONS,
    ...SPECTRUM_OPTION,
    'fit-relax': { kind: 'number', help: 'compare modular: the generic engine\'s masked-flow time per cost minimisation', default: '2' },
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    // two-layer linear networks and factorisations: closed-form greedy low-rank AGF vs flow (issue 5)
    const def = resolveModel(args);
    rejectForModel(compareCommand, args, def);
    // --methods on a linear model: the generic comparison (generic AGF, its gd/momentum forms, simulations)
    if (isLinearModel(def) && !args.values.has('methods')) return runCompareLinear(args, io, def);
    if (isLinearModel(def)) rejectOptions(args, ['variant'], `compare ${def.spec.name} --methods (the generic comparison; --variant picks the closed form, without --methods)`);
    if (def.spec.name === 'modular') return runCompareModular(args, io, def);
    const methods = parseMethods(args.values.get('methods'), def.spec.name);
    // the linear form's α default (1e-8, as its help says) holds with --methods too
    const p = buildProblem(args, def, { alpha: isLinearModel(def) ? LINEAR_COMPARE_ALPHA : DEFAULT_SCHEDULE_ALPHA });
    checkAlpha(p);
    const runs = runMethods(p, { ...runOptions(args, methods), progress: io.progress ? (m) => progressLine(io.err, `compare ${def.spec.name}: ${m}`) : undefined, agfProgress: agfProgress(io, `compare ${def.spec.name}: agf`, p) });
    const cmp = compareSchedules(runs.schedules);
    const withM = ['momentum', 'nesterov'].flatMap((k) => [k, `agf-${k}`]).filter((k) => methods.includes(k));
    // the step methods this table holds, each with its step-to-time map
    const plain = ['gd', 'agf-gd'].filter((k) => methods.includes(k));
    const timeNote = [plain.length ? `${plain.join(', ')}: t = k·lr` : '', withM.length ? `${withM.join(', ')}: t = k·lr/(1 − m)` : ''].filter(Boolean).join('; ');
    const notes = [
      `loss: ${p.conventions.loss}; time: flow time${timeNote ? ` (${timeNote})` : ''}`,
      `init: ${p.conventions.init}; alpha = ${p.alpha}`,
      `data: ${p.data.source}`,
      'simulated jumps: loss crosses the geometric midpoint of the predicted plateau levels; neuron = fastest-growing ‖θ_i‖² (src/analysis/jumps.ts)',
      ...runs.notes,
    ];
    const kappa = p.derived.kappa;
    const unit = timeUnit(kappa, p.alpha);
    const table = comparisonTable(cmp, notes, { unit, columns: tableColumns(args) });
    addStepColumns(table, p, runs);
    const conventions = machineConventions(p.conventions, kappa, { time: `flow time (${timeNote}); rescaledTime = time / timeScale` });
    const json = resultJson(args, 'comparison', p.seed, comparisonJson(cmp, kappa, conventions, { notes, ...(runs.discrete.length ? { discrete: stepJson(p, runs) } : {}) }), p);
    if (!printJson(args, io, json)) io.out(renderText(table));
    emitFiles(args, io, {
      'compare.md': () => renderMarkdown(table),
      'compare.csv': () => renderCsv(table),
      'compare.tex': () => renderLatex(table),
      'compare.json': () => jsonText(json),
      ...(Object.keys(runs.trajectories).length ? figureFiles('compare', () => comparisonPlot(cmp.schedules, runs.trajectories, unit, `loss: ${p.conventions.loss}; init: ${p.conventions.init}`)) : {}),
    }, [table]);
  },
};
