/**
 * `gradflow compare-linear <linear|factorization|factorization-uv>`: the closed-form AGF schedule
 * of greedy low-rank learning (commuting case, the published conjecture, or the symmetric form)
 * against the integrated gradient flow, with the generic AGF solver as an optional third column.
 * The generic engine runs by default (its column 'generic AGF', method 'agf-generic'); --agf closed
 * leaves it out. Registered as its own command (written before the generic `compare` existed); `compare` now
 * hands linear models here too (runCompareLinear). `compareLinear` is the library call.
 */
import { progressLine, type JumpReporter } from '../../util/progress.ts';
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, MODEL_OPTIONS, agfProgress, buildProblem, conventionLines, emitFiles, figureFiles, num, printJson, resolveModel, resultJson, str } from '../common.ts';
import { jsonText, machineConventions, plain } from '../../report/json.ts';
import type { ParsedArgs } from '../args.ts';
import type { ModelDefinition } from '../../spec.ts';
import { GradflowError } from '../../util/errors.ts';
import { printable } from '../../util/limits.ts';
import { checkAlpha } from './schedule-commands.ts';
import type { Problem } from '../../problem.ts';
import type { JumpSchedule } from '../../schedule.ts';
import type { Trajectory } from '../../trajectory.ts';
import type { OdeMethod } from '../../solvers/ode/types.ts';
import { linearForm, predictLinear, predictionSchedule, type LinearPrediction } from '../../solvers/agf-linear.ts';
import { flowJumpsAtLevels } from '../../analysis/level-crossings.ts';
import { solveAgf } from '../../solvers/agf.ts';
import { endToEnd } from '../../../models/linear.ts';
import { singularValues } from '../../util/dense.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText, formatNumber, type Table } from '../../report/table.ts';
import { renderPanels, type Series } from '../../report/svg.ts';
import { LOSS_AXIS, lossDomain, methodSeries } from '../../report/figure-style.ts';
import { compareSchedules, comparisonJson } from '../../analysis/compare.ts';

export interface LinearComparison {
  prediction: LinearPrediction;
  schedules: JumpSchedule[];
  trajectory: Trajectory;
  table: Table;
}

/** Singular values of the end-to-end map (A W, or U Uᵀ for the symmetric form). */
export function endToEndSpectrum(p: Problem, theta: Float64Array): number[] {
  const form = linearForm(p);
  const { c, dIn: d } = p.layout;
  if (form === 'asymmetric') return singularValues(endToEnd(p.layout, theta), c, d);
  const { H } = p.layout;
  const B = new Float64Array(d * d);
  for (let i = 0; i < H; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) B[a * d + b] += theta[i * d + a] * theta[i * d + b];
  return singularValues(B, d, d);
}

export function compareLinear(p: Problem, opts: { variant?: 'auto' | 'commuting' | 'conjecture'; tEnd?: number; method?: OdeMethod; rtol?: number; agf?: boolean; onProgress?: (fraction: number) => void; agfProgress?: JumpReporter } = {}): LinearComparison {
  const pred = predictLinear(p, { variant: opts.variant });
  const predicted = predictionSchedule(p, pred);
  const L = Math.log(1 / p.alpha);
  const last = pred.rescaledTimes[pred.rescaledTimes.length - 1] ?? 1;
  const tEnd = opts.tEnd ?? 1.5 * last * L + 20;
  // the predictions first, the simulation last (its progress bar closes the run)
  const generic = opts.agf ? solveAgf(p, { onProgress: opts.agfProgress }) : undefined;
  if (generic) opts.agfProgress?.finish(generic);
  const flow = flowJumpsAtLevels(p, pred.initialLoss, pred.levels, { tEnd, method: opts.method, rtol: opts.rtol, label: 'flow', onProgress: opts.onProgress });
  const schedules = [predicted, flow.schedule, ...(generic ? [generic] : [])];
  const sim = flow.schedule.jumps;
  const agfJumps = opts.agf ? schedules[2].jumps : [];
  const rows = pred.rescaledTimes.map((tau, k) => ({
    k: k + 1,
    mode: pred.sigma[k],
    predicted: tau,
    flow: sim[k]?.rescaledTime ?? NaN,
    relErr: sim[k] ? (sim[k].rescaledTime - tau) / tau : NaN,
    agf: agfJumps[k]?.rescaledTime ?? NaN,
    level: pred.levels[k],
    flowLevel: flow.plateaus[k] ?? NaN,
  }));
  const columns = [
    { key: 'k', header: 'jump' },
    { key: 'mode', header: pred.variant === 'symmetric' ? 'λ_k(M)' : 'σ_k(Σ_yx)' },
    { key: 'predicted', header: `τ_k ${pred.variant}` },
    { key: 'flow', header: 'flow t/log(1/α)' },
    { key: 'relErr', header: 'rel. diff' },
    ...(opts.agf ? [{ key: 'agf', header: 'generic AGF' }] : []),
    { key: 'level', header: 'saddle loss' },
    { key: 'flowLevel', header: 'flow plateau' },
  ];
  const table: Table = {
    title: `${p.model.spec.name}: greedy low-rank learning, AGF (${pred.variant}) vs gradient flow`,
    columns: columns.map((c) => ({ ...c, align: 'right' as const, format: (v: unknown) => (typeof v === 'number' ? formatNumber(v, 8) : String(v)) })),
    rows,
    notes: [
      ...conventionLines(p, 'rescaled t / log(1/alpha), alpha = per-factor init scale (flow time = rescaled · ' + formatNumber(L, 6) + ')'),
      `flow: ${flow.trajectory.method}, rtol ${flow.trajectory.stats.rtol}; a jump = loss crossing the midpoint between consecutive saddle levels`,
      `initial loss ½tr Σ_yy = ${formatNumber(pred.initialLoss, 8)}; relative commutator ‖[Σ_xx, Σ_yxᵀΣ_yx]‖ = ${formatNumber(pred.commutator, 3)}`,
      ...(pred.increments.some((x) => x <= 0) ? ['warning: the conjecture gives a non-positive increment Δ_k (its ordering assumption fails for this data)'] : []),
    ],
  };
  return { prediction: pred, schedules, trajectory: flow.trajectory, table };
}

function plots(p: Problem, cmp: LinearComparison): string {
  const L = Math.log(1 / p.alpha);
  const tr = cmp.trajectory;
  const x = tr.t.map((t) => t / L);
  const pred = cmp.prediction;
  const stepX = [0, ...pred.rescaledTimes.flatMap((t) => [t, t]), x[x.length - 1]];
  const stepY = [pred.initialLoss, ...pred.levels.flatMap((l, k) => [k === 0 ? pred.initialLoss : pred.levels[k - 1], l]), pred.levels[pred.levels.length - 1] ?? pred.initialLoss];
  const loss: Series[] = [
    methodSeries('flow', x, tr.loss),
    { ...methodSeries('agf', stepX, stepY), name: `AGF (${pred.variant}, predicted)` },
  ];
  const specs = tr.states.map((s) => endToEndSpectrum(p, s));
  const K = Math.min(specs[0]?.length ?? 0, Math.max(pred.rescaledTimes.length, 1));
  const sv: Series[] = Array.from({ length: K }, (_, k) => ({ name: `σ${k + 1}`, x, y: specs.map((s) => s[k]) }));
  const vlines = pred.rescaledTimes.map((t, k) => ({ x: t, label: `τ${k + 1}`, dashed: true }));
  const lossRange = lossDomain(loss), svRange = lossDomain(sv);
  const caption = `α = ${p.alpha}. Dashed verticals: predicted jump times τ_k.`;
  return renderPanels([
    { title: `${p.model.spec.name}: loss`, xLabel: 't/log(1/α)', yLabel: LOSS_AXIS, series: loss, vlines, logY: true, yDomain: lossRange.domain, caption: [caption, lossRange.note].filter((s) => s).join(' ') },
    { title: `${p.model.spec.name}: singular values of the end-to-end map`, xLabel: 't/log(1/α)', yLabel: 'singular value', series: sv, vlines, logY: true, yDomain: svRange.domain, caption: [caption, svRange.note?.replace('losses', 'values')].filter((s) => s).join(' ') },
  ], 2);
}

export const compareLinearCommand: Command = {
  name: 'compare-linear',
  summary: 'Greedy low-rank learning: closed-form AGF jump times and loss levels vs the integrated flow (linear, factorization, factorization-uv).',
  usage: 'gradflow compare-linear <linear|factorization|factorization-uv> [--moments FILE | --data FILE] [--alpha A] [--variant auto|commuting|conjecture] [--agf auto|closed]   (the same as gradflow compare <model>)',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha > 0 (per factor)', default: '1e-8' },
    variant: { kind: 'string', help: 'prediction: auto (commuting if Σ_xx commutes with Σ_yxᵀΣ_yx, else the conjecture), commuting, conjecture', default: 'auto' },
    t: { kind: 'number', help: 'end time of the flow (flow time; default 1.5 × the last predicted jump + 20)' },
    method: { kind: 'string', help: 'integrator: dopri5, gauss4, midpoint, rk4', default: 'dopri5' },
    rtol: { kind: 'number', help: 'relative tolerance of the flow', default: '1e-10' },
    agf: { kind: 'string', help: 'AGF solvers: auto or generic (the closed form and the generic engine), closed (the closed form only); same values as compare --agf', default: 'auto' },
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args: ParsedArgs, io: CommandIO) {
    runCompareLinear(args, io, resolveModel(args));
  },
};

/** Models `compare` hands to this module (by their template, so a user's spec file qualifies too). */
export function isLinearModel(def: ModelDefinition): boolean {
  const t = def.spec.template.replace(/\s+/g, '');
  return t === 'a*dot(w,x)' || t === 'u*dot(u,x)';
}

/**
 * The body of `compare-linear`, also used by `compare` for linear models. Reads only options
 * both commands declare or that are optional here: variant, method, rtol (compare-linear) and
 * --agf auto|generic|closed (auto and generic: the closed form and the generic engine; closed: the closed form only).
 */
export function runCompareLinear(args: ParsedArgs, io: CommandIO, def: ModelDefinition): void {
  const p = buildProblem(args, def, { alpha: 1e-8 });
  checkAlpha(p);
  if (!linearForm(p)) throw new GradflowError(`compare-linear: model '${def.spec.name}' is not a linear network or factorisation (use linear, factorization or factorization-uv)`);
  const variant = str(args, 'variant') ?? 'auto';
  if (variant !== 'auto' && variant !== 'commuting' && variant !== 'conjecture') throw new GradflowError(`--variant must be auto, commuting or conjecture (got '${variant}')`);
  const agfArg = str(args, 'agf') ?? 'auto';
  if (!['auto', 'generic', 'closed'].includes(agfArg)) throw new GradflowError(`--agf must be auto, generic or closed (got '${printable(agfArg)}')`);
  const cmp = compareLinear(p, {
    variant,
    tEnd: args.values.has('t') ? num(args, 't', 0) : undefined,
    method: (str(args, 'method') ?? 'dopri5') as OdeMethod,
    rtol: args.values.has('rtol') ? num(args, 'rtol', 1e-10) : undefined,
    agf: agfArg !== 'closed',
    onProgress: io.progress ? progressLine(io.err, `compare ${def.spec.name}: flow`) : undefined,
    agfProgress: agfProgress(io, `compare ${def.spec.name}: agf-generic`, p),
  });
  // the DESIGN.md comparison contract (one schedule per method + the matched jumps), plus this table's rows
  // one method name per role whatever the solver: 'agf' is the closed form (its variant in extra.solver), 'agf-generic' the generic solver
  const named = cmp.schedules.map((s, q) => (q === 0 ? { ...s, method: 'agf', extra: { ...s.extra, solver: s.method } } : q === 2 ? { ...s, method: 'agf-generic' } : s));
  const kappa = p.derived.kappa;
  const conventions = machineConventions(p.conventions, kappa, { time: 'flow time; rescaledTime = time / log(1/alpha), alpha the per-factor init scale' });
  const json = resultJson(args, 'comparison', p.seed, comparisonJson(compareSchedules(named, 'agf'), kappa, conventions, { rows: plain(cmp.table.rows), notes: cmp.table.notes }), p);
  if (!printJson(args, io, json)) io.out(renderText(cmp.table));
  const base = `compare-${def.spec.name}`;
  emitFiles(args, io, {
    [`${base}.md`]: () => renderMarkdown(cmp.table),
    [`${base}.csv`]: () => renderCsv(cmp.table),
    [`${base}.tex`]: () => renderLatex(cmp.table),
    [`${base}.json`]: () => jsonText(json),
    ...figureFiles(base, () => plots(p, cmp)),
  }, [cmp.table]);
}
