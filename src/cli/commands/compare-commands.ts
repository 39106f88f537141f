/** compare: predictions and simulations side by side in one table (sweeps over grids: sweep.ts). */
import { progressLine } from '../../util/progress.ts';
import type { Command } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, MODEL_OPTIONS, buildProblem, emitFiles, figureFiles, flag, num, printJson, rejectOptions, resolveModel, resultJson, str, tableColumns, TABLE_OPTIONS } from '../common.ts';
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
  lr: { kind: 'number' as const, help: 'gradient-descent step (default 0.01/λ̂, λ̂ the largest Hessian eigenvalue; see src/analysis/runs.ts)' },
  agf: { kind: 'string' as const, help: 'AGF solver: auto (generic, diagonal closed form where the generic one is precision-limited), generic, closed', default: 'auto' },
  t: { kind: 'number' as const, help: 'simulated flow time (default 1.3 × last predicted jump + 20)' },
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

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Jump schedules from AGF, Pesme–Flammarion, gradient flow and gradient descent in one table (diagonal model).',
  usage: 'gradflow compare diagonal [--data F] [--alpha A] [--methods agf,pf,flow,gd,agf-gd,momentum,agf-momentum,nesterov,agf-nesterov] [--lr η] [--momentum m] [--out DIR] [--json]   |   gradflow compare linear|factorization|factorization-uv [--moments F] [--variant auto|commuting|conjecture] [--agf generic]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha in (0, 1)', default: String(DEFAULT_SCHEDULE_ALPHA) },
    methods: { kind: 'list', help: `methods to compare (${METHODS.join(', ')}; pf is the diagonal model's)`, default: 'agf,pf,flow,gd for diagonal, agf,flow,gd otherwise' },
    variant: { kind: 'string', help: 'linear models: auto, commuting or conjecture (closed-form AGF variant)', default: 'auto' },
    ...TABLE_OPTIONS,
    ...RUN_OPTIONS,
    ...SPECTRUM_OPTION,
    'fit-relax': { kind: 'number', help: 'compare modular --agf generic: the generic engine\'s masked-flow transient per cost minimisation (see agf --fit-relax)', default: 'off' },
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    // two-layer linear networks and factorisations: closed-form greedy low-rank AGF vs flow (issue 5)
    const def = resolveModel(args);
    // --methods on a linear model: the generic comparison (generic AGF, its gd/momentum forms, simulations)
    if (isLinearModel(def) && !args.values.has('methods')) {
      rejectOptions(args, ['lr', 'momentum', 'spectrum'], `compare ${def.spec.name} without --methods (it compares the closed-form AGF with gradient flow; --methods agf,agf-gd,gd,… runs the generic comparison)`);
      return runCompareLinear(args, io, def);
    }
    if (def.spec.name === 'modular') {
      rejectOptions(args, ['methods', 'variant'], 'compare modular (it runs the modular AGF — --agf closed|generic — flow and momentum; AGF for gd/momentum is for κ = 2 models)');
      return runCompareModular(args, io, def);
    }
    rejectOptions(args, ['variant', 'spectrum'], `compare ${def.spec.name} (--variant is for linear models, --spectrum for modular)`);
    const methods = parseMethods(args.values.get('methods'), def.spec.name);
    const p = buildProblem(args, def, { alpha: DEFAULT_SCHEDULE_ALPHA });
    checkAlpha(p);
    const runs = runMethods(p, { ...runOptions(args, methods), progress: io.progress ? (m) => progressLine(io.err, `compare ${def.spec.name}: ${m}`) : undefined });
    const cmp = compareSchedules(runs.schedules);
    const withM = ['momentum', 'nesterov'].flatMap((k) => [k, `agf-${k}`]).filter((k) => methods.includes(k));
    const timeNote = withM.length ? `gd, agf-gd: t = k·lr; ${withM.join(', ')}: t = k·lr/(1 − m)` : methods.includes('agf-gd') ? 'gd, agf-gd: t = k·lr' : 'gd: t = k·lr';
    const notes = [
      `loss: ${p.conventions.loss}; time: flow time (${timeNote})`,
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
    const json = resultJson(args, 'comparison', p.seed, comparisonJson(cmp, kappa, conventions, { notes, ...(runs.discrete.length ? { discrete: stepJson(p, runs) } : {}) }));
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
