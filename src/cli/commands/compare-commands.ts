/** compare and sweep: predictions and simulations side by side, one table each. */
import type { Command } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, buildProblem, emitFiles, figureFiles, flag, num, printJson, rejectOptions, resolveModel, resultJson, str, tableColumns, TABLE_OPTIONS } from '../common.ts';
import { GradflowError } from '../../util/errors.ts';
import { createProblem } from '../../problem.ts';
import { METHODS, runMethods, type RunOptions } from '../../analysis/runs.ts';
import { compareSchedules, comparisonJson, comparisonTable } from '../../analysis/compare.ts';
import { comparisonPlot, sweepPlot, type SweepPoint } from '../../report/schedule-report.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import { DEFAULT_SCHEDULE_ALPHA, checkAlpha } from './schedule-commands.ts';
import { jsonText, machineConventions, plain, scheduleBody } from '../../report/json.ts';
import { timeUnit } from '../../schedule.ts';
import { solvePf } from '../../solvers/pf.ts';
import { isLinearModel, runCompareLinear } from './compare-linear.ts';
import { SPECTRUM_OPTION, runCompareModular } from './modular.ts';

const RUN_OPTIONS = {
  lr: { kind: 'number' as const, help: 'gradient-descent step (default 0.01/λ̂, λ̂ the largest Hessian eigenvalue; see src/analysis/runs.ts)' },
  agf: { kind: 'string' as const, help: 'AGF solver: auto (generic, diagonal closed form where the generic one is precision-limited), generic, closed', default: 'auto' },
  t: { kind: 'number' as const, help: 'simulated flow time (default 1.3 × last predicted jump + 20)' },
};

function runOptions(args: Parameters<Command['run']>[0], methods: string[]): RunOptions {
  const agf = str(args, 'agf') ?? 'auto';
  if (!['auto', 'generic', 'closed'].includes(agf)) throw new GradflowError(`--agf must be auto, generic or closed (got '${agf}')`);
  return { methods, lr: args.values.has('lr') ? num(args, 'lr', 0) : undefined, agf: agf as RunOptions['agf'], horizon: args.values.has('t') ? num(args, 't', 0) : undefined };
}

function parseMethods(v: unknown): string[] {
  const list = (v as string[] | undefined) ?? ['agf', 'pf', 'flow', 'gd'];
  if (list.length === 0) throw new GradflowError(`--methods needs at least one of ${METHODS.join(', ')}`);
  for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new GradflowError(`--methods: unknown method '${m}' (use ${METHODS.join(', ')})`);
  return list;
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Jump schedules from AGF, Pesme–Flammarion, gradient flow and gradient descent in one table (diagonal model).',
  usage: 'gradflow compare diagonal [--data F] [--alpha A] [--methods agf,pf,flow,gd] [--lr η] [--out DIR] [--json]   |   gradflow compare linear|factorization|factorization-uv [--moments F] [--variant auto|commuting|conjecture] [--agf generic]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha in (0, 1)', default: String(DEFAULT_SCHEDULE_ALPHA) },
    methods: { kind: 'list', help: `methods to compare (${METHODS.join(', ')})`, default: 'agf,pf,flow,gd' },
    variant: { kind: 'string', help: 'linear models: auto, commuting or conjecture (closed-form AGF variant)', default: 'auto' },
    ...TABLE_OPTIONS,
    ...RUN_OPTIONS,
    ...SPECTRUM_OPTION,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    // two-layer linear networks and factorisations: closed-form greedy low-rank AGF vs flow (issue 5)
    const def = resolveModel(args);
    if (isLinearModel(def)) {
      rejectOptions(args, ['methods', 'lr', 'spectrum'], `compare ${def.spec.name} (it compares the closed-form AGF with gradient flow)`);
      return runCompareLinear(args, io, def);
    }
    if (def.spec.name === 'modular') {
      rejectOptions(args, ['methods', 'variant', 'agf'], 'compare modular (it runs the modular AGF, flow and momentum)');
      return runCompareModular(args, io, def);
    }
    rejectOptions(args, ['variant', 'spectrum'], `compare ${def.spec.name} (--variant is for linear models, --spectrum for modular)`);
    const methods = parseMethods(args.values.get('methods'));
    const p = buildProblem(args, def, { alpha: DEFAULT_SCHEDULE_ALPHA });
    checkAlpha(p);
    const runs = runMethods(p, runOptions(args, methods));
    const cmp = compareSchedules(runs.schedules);
    const notes = [
      `loss: ${p.conventions.loss}; time: flow time (gd: t = k·lr)`,
      `init: ${p.conventions.init}; alpha = ${p.alpha}`,
      `data: ${p.data.source}`,
      'simulated jumps: loss crosses the geometric midpoint of the predicted plateau levels; neuron = fastest-growing ‖θ_i‖² (src/analysis/jumps.ts)',
      ...runs.notes,
    ];
    const kappa = p.derived.kappa;
    const unit = timeUnit(kappa, p.alpha);
    const table = comparisonTable(cmp, notes, { unit, columns: tableColumns(args) });
    const conventions = machineConventions(p.conventions, kappa, { time: 'flow time (gd: t = k·lr); rescaledTime = time / timeScale' });
    const json = resultJson(args, 'comparison', p.seed, comparisonJson(cmp, kappa, conventions, { notes }));
    if (!printJson(args, io, json)) io.out(renderText(table));
    emitFiles(args, io, {
      'compare.md': () => renderMarkdown(table),
      'compare.csv': () => renderCsv(table),
      'compare.tex': () => renderLatex(table),
      'compare.json': () => jsonText(json),
      ...(Object.keys(runs.trajectories).length ? figureFiles('compare', comparisonPlot(cmp.schedules, runs.trajectories, unit, `loss: ${p.conventions.loss}; init: ${p.conventions.init}`)) : {}),
    }, [table]);
  },
};

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'Simulated jump times vs the AGF prediction as alpha → 0 (diagonal model): the rescaled gap shrinks like 1/log(1/alpha).',
  usage: 'gradflow sweep diagonal --alphas 1e-2,1e-4,1e-8,1e-16 [--data F] [--out DIR] [--json]',
  options: {
    ...MODEL_OPTIONS,
    alphas: { kind: 'numbers', help: 'initial scales, each in (0, 1)', default: '1e-2,1e-4,1e-8,1e-16' },
    ...RUN_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    rejectOptions(args, ['alpha'], 'sweep (give the initial scales with --alphas)');
    rejectOptions(args, ['lr'], 'sweep (it compares AGF with gradient flow, no descent)');
    const alphas = (args.values.get('alphas') as number[] | undefined) ?? [1e-2, 1e-4, 1e-8, 1e-16];
    for (const a of alphas) if (!(Number.isFinite(a) && a > 0 && a < 1)) throw new GradflowError(`--alphas: every alpha must lie in (0, 1) (got ${a})`);
    const def = resolveModel(args);
    const base = buildProblem(args, def, { alpha: alphas[0] });
    const rows: Record<string, unknown>[] = [];
    const points: SweepPoint[] = [];
    const perAlpha: Record<string, unknown>[] = [];
    let limit = null;
    try {
      limit = solvePf(base);
    } catch {
      limit = null; // pf applies to the diagonal model only
    }
    alphas.forEach((alpha, q) => {
      if (io.progress) io.err(`sweep: alpha = ${alpha} (${q + 1}/${alphas.length})`);
      const p = createProblem(def, { data: base.data, alpha, seed: base.seed, options: base.options, dims: base.layout.dims });
      checkAlpha(p);
      const runs = runMethods(p, runOptions(args, ['agf', 'flow']));
      const cmp = compareSchedules(runs.schedules, 'agf');
      perAlpha.push({ alpha, notes: runs.notes, matched: cmp.jumps.map((j) => ({ k: j.k, neuron: j.neuron, time: j.time, rescaledTime: j.rescaledTime, gap: j.gap.flow, relError: j.relError.flow })) });
      for (const j of cmp.jumps) {
        const ta = j.time.agf ?? null, tf = j.time.flow ?? null;
        const ra = j.rescaledTime.agf ?? null, rf = j.rescaledTime.flow ?? null;
        rows.push({ alpha, k: j.k, neuron: j.neuron, t_agf: ta, t_flow: tf, gap: ta !== null && tf !== null ? tf - ta : null, tr_agf: ra, tr_flow: rf, tr_pf: limit?.jumps[j.k - 1]?.rescaledTime ?? null, rel: j.relError.flow ?? null, agree: j.neuronAgrees.flow === null ? '—' : j.neuronAgrees.flow ? 'yes' : 'no' });
        points.push({ alpha, k: j.k, predicted: ra, simulated: rf });
      }
    });
    const table: Table = {
      title: `alpha sweep — ${def.spec.name}: simulated flow vs AGF jump times`,
      columns: [
        { key: 'alpha', header: 'alpha', latexHeader: '$\\alpha$' },
        { key: 'k', header: 'k' },
        { key: 'neuron', header: 'neuron' },
        { key: 't_agf', header: 't agf' },
        { key: 't_flow', header: 't flow' },
        { key: 'gap', header: 't flow − t agf' },
        { key: 'tr_agf', header: 't/log(1/α) agf' },
        { key: 'tr_flow', header: 't/log(1/α) flow' },
        { key: 'tr_pf', header: 't/log(1/α) pf (α→0)' },
        { key: 'rel', header: 'rel err' },
        { key: 'agree', header: 'same neuron' },
      ],
      rows,
      notes: [
        `loss: ${base.conventions.loss}; time: flow time; rescaled t/log(1/alpha); init: ${base.conventions.init}`,
        `data: ${base.data.source}`,
        'a bounded gap t_flow − t_agf means the rescaled error shrinks like 1/log(1/alpha)',
      ],
    };
    const kappa = base.derived.kappa;
    const conventions = { ...machineConventions({ ...base.conventions, alpha: NaN }, kappa, { rescaled: false, time: 'flow time; rescaledTime = time / log(1/alpha) at each run\'s alpha' }), rescaledTimeUnit: timeUnit(kappa, 0.5).formula };
    const json = resultJson(args, 'sweep', base.seed, { model: def.spec.name, conventions, alphas, pf: limit ? scheduleBody(limit, kappa) : null, runs: perAlpha.map((r) => plain(r)) });
    if (!printJson(args, io, json)) io.out(renderText(table));
    emitFiles(args, io, {
      'sweep.md': () => renderMarkdown(table),
      'sweep.csv': () => renderCsv(table),
      'sweep.tex': () => renderLatex(table),
      'sweep.json': () => jsonText(json),
      'sweep.svg': () => sweepPlot(points, limit, `loss: ${base.conventions.loss} · points: flow · lines: AGF · dashed: PF (alpha → 0)`),
    }, [table]);
  },
};
