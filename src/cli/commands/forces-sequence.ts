/**
 * `gradflow forces tiny-lm`: force analysis of the sequence model (theory.md §9, LLM-finetuning
 * form). The decomposition [Δ log π(y | χ_o)]_m = −η Σ_l A_m K_{m,l} G_l of one SFT or DPO step on
 * pair u, observed on the chosen, rejected and most likely responses of other prompts, with the
 * measured change and the η² error slope; and (--preference) SFT vs off-policy DPO over seeds:
 * π(y⁺), π(y⁻), the reference's argmax response and the current argmax over training, with the
 * split of DPO's force into its chosen-token and rejected-token parts.
 */
import { progressLine } from '../../util/progress.ts';
import type { CommandIO } from '../common.ts';
import { buildProblem, conventionLines, emitFiles, envelopeSeed, figureFiles, num, printJson, resultJson, seedList, str } from '../common.ts';
import { renderPanels, type Series } from '../../report/svg.ts';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import type { Problem } from '../../problem.ts';
import type { ModelDefinition } from '../../spec.ts';
import { jsonText, machineConventions, plain } from '../../report/json.ts';
import { formatNumber, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import { taskOf, type SequenceTask } from '../../../models/tiny-lm.ts';
import {
  argmaxResponses, fitReference, referenceOf, sequenceDescent, pairBatch, sequenceEtaSweep, sequenceForceSplit, sequenceForceTerms,
  sequenceInfluence, sequenceLossConvention, sequencePreferenceRun, type SequenceForceSplit, type SequenceLoss, type SequencePoint,
} from '../../analysis/sequence-forces.ts';
import { f6, intList, mean, pm, slopeNotes, termColumns } from './forces-format.ts';

export const isSequenceModel = (def: ModelDefinition): boolean => def.spec.name === 'tiny-lm';

interface Setup {
  p: Problem;
  task: SequenceTask;
  ref: Float64Array;
  loss: SequenceLoss;
  warm: number;
  lr: number;
}

function sequenceLossFromArgs(args: ParsedArgs, fallback: 'sft' | 'dpo'): { name: 'sft' | 'dpo'; beta: number } {
  const name = str(args, 'loss') ?? fallback;
  if (name !== 'sft' && name !== 'dpo') throw new GradflowError(`--loss ${name}: the tiny-lm sequence analysis trains sft or dpo on whole responses (the per-token cross-entropy model is for train/derive/laws)`);
  if (args.values.has('epsilon')) throw new GradflowError('--epsilon applies to label-smoothing, not to the sequence losses');
  if (name === 'sft' && args.values.has('beta')) throw new GradflowError('--beta applies to --loss dpo');
  const beta = num(args, 'beta', 0.1);
  if (!(beta > 0 && beta <= 1e6)) throw new GradflowError(`--beta must be a positive number ≤ 1e6 (got ${beta})`);
  return { name, beta };
}

/** The Problem (per-position network), its task, and the reference: sequence SFT on the target responses for `warm` steps. */
function setup(args: ParsedArgs, def: ModelDefinition, seed: number, fallback: 'sft' | 'dpo'): Setup {
  const choice = sequenceLossFromArgs(args, fallback);
  const values = new Map([...args.values].filter(([k]) => k !== 'loss' && k !== 'beta')).set('seed', seed);
  const base = buildProblem({ ...args, values }, def, { alpha: 0.1, loss: { name: 'cross-entropy' } });
  const task = taskOf(base);
  const warm = num(args, 'warm', 100), lr = num(args, 'lr', 0.05);
  if (!Number.isInteger(warm) || warm < 0) throw new GradflowError(`--warm must be a non-negative number of GD steps (got ${warm})`);
  const ref = warm > 0 ? fitReference(base, task, base.theta0, lr, warm) : Float64Array.from(base.theta0);
  const loss: SequenceLoss = { ...choice, reference: choice.name === 'dpo' ? referenceOf(base, task, ref) : undefined };
  const p: Problem = {
    ...base,
    conventions: { ...base.conventions, loss: sequenceLossConvention(loss) },
    data: {
      ...base.data,
      source: `tiny-lm task: ${task.n} prompts (d = ${task.d}), responses of L = ${task.L} tokens over V = ${task.V}, ${task.offPolicy ? 'off-policy pairs (y⁺, y⁻ drawn uniformly, neither the target)' : 'y⁺ = the target response, y⁻ drawn uniformly'}; reference: sequence SFT on the targets, ${warm} GD steps of size ${lr} from θ(0)`,
    },
  };
  return { p, task, ref, loss, warm, lr };
}

const tokens = (y: ArrayLike<number>): string => Array.from(y).join(' ');

export function sequenceDecomposition(args: ParsedArgs, io: CommandIO, def: ModelDefinition): void {
  const s = setup(args, def, num(args, 'seed', 0), 'dpo');
  const { p, task, loss, lr } = s;
  const eta = num(args, 'eta', 0.01);
  const at = num(args, 'at', 0);
  if (!Number.isInteger(at) || at < 0) throw new GradflowError(`--at must be a non-negative number of GD steps (got ${at})`);
  const all = Array.from({ length: task.n }, (_, j) => j);
  const train = pairBatch(task, all, task.chosen, loss.name === 'dpo' ? task.rejected : null);
  const theta = at > 0 ? sequenceDescent(p, train, loss, s.ref, lr, at, at, () => undefined) : Float64Array.from(s.ref);
  const observed = intList(args, 'observe', [0, 1].filter((j) => j < task.n));
  const update = args.values.has('update') ? num(args, 'update', 0) : null;
  if (update !== null && !(Number.isInteger(update) && update >= 0 && update < task.n)) throw new GradflowError(`--update ${update} is out of range: the task has ${task.n} pairs (0 … ${task.n - 1})`);
  const star = argmaxResponses(p, task, theta).responses;
  const L = task.L;
  const rows = observed.flatMap((o) => {
    if (!Number.isInteger(o) || o < 0 || o >= task.n) throw new GradflowError(`observed prompt ${o} is out of range: the task has ${task.n} prompts (0 … ${task.n - 1})`);
    const u = update ?? o;
    return ([['y⁺', task.chosen], ['y⁻', task.rejected], ['y*', star]] as const).map(([which, set]) => {
      const y = set.subarray(o * L, (o + 1) * L);
      const t = sequenceForceTerms(p, task, theta, o, y, u, loss, eta);
      const sweep = sequenceEtaSweep(p, task, theta, o, y, u, loss);
      let logPi = 0;
      for (let m = 0; m < L; m++) logPi += Math.log(t.pi[m * t.V + y[m]]);
      return { o, u, which, y: tokens(y), logPi, nA: t.norms.A, nK: t.norms.K, nG: t.norms.G, pred: t.predictedSequence, actual: t.actualSequence, err: t.error, slope: sweep.slope, terms: t, sweep };
    });
  });
  const split = sequenceForceSplit(p, task, theta, loss, eta, star);
  const influence = rows.map((r) => ({ r, inf: sequenceInfluence(p, task, theta, r.o, r.terms.response, loss, eta) }));
  const top = (o: number, row: number[], sign: 1 | -1): string => row.map((v, u) => ({ v, u })).filter((e) => sign * e.v > 0).sort((a, b) => sign * (b.v - a.v)).slice(0, 3)
    .map((e) => `${e.u}${task.cluster[e.u] === task.cluster[o] ? '†' : ''} (${formatNumber(e.v, 3)})`).join(', ') || '—';
  const infTable: Table = {
    title: `influence of each training pair on log π(y | x_o) under one full-batch ${loss.name.toUpperCase()} step (η = ${eta}): −(η/n) Σ_m [A_m Σ_l K_ml G_{u,l}]_{y_m}`,
    columns: [
      { key: 'o', header: 'o' }, { key: 'which', header: 'response' }, { key: 'up', header: 'pushes up most (u, Δ)' }, { key: 'down', header: 'pushes down most (u, Δ)' },
      { key: 'pred', header: 'Σ_u (first order)', align: 'right', format: f6 }, { key: 'actual', header: 'measured', align: 'right', format: f6 },
    ],
    rows: influence.map(({ r, inf }) => ({ o: r.o, which: r.which, up: top(r.o, inf.byPair, 1), down: top(r.o, inf.byPair, -1), pred: inf.predicted, actual: inf.actual })),
    notes: [`${task.n} training pairs († same prompt cluster as o); the full rows are in --json`],
  };
  const table: Table = {
    title: `sequence A·K·G: one GD step of size η = ${eta} on pair u's ${loss.name.toUpperCase()} loss, observed on responses of prompt o (after ${at} ${loss.name} steps of size ${lr} from the reference)`,
    columns: [
      { key: 'o', header: 'o' }, { key: 'u', header: 'u' }, { key: 'which', header: 'response' }, { key: 'y', header: 'tokens' },
      { key: 'logPi', header: 'log π(y|x_o)', align: 'right', format: f6 },
      ...termColumns({ pred: '−η Σ_m[Σ_l A_m K_ml G_l]_{y_m}', actual: 'Δlog π(y|x_o) measured', err: '‖error‖ (all m, v)' }),
    ],
    rows,
    notes: [
      `A = diag_m(I − 1π_mᵀ) over the ${L} positions of y (V = ${task.V}), K_{m,l} = J(χ_{o,m})J(χ_{u,l})ᵀ over the ${loss.name === 'dpo' ? 2 * L : L} token rows of pair u (${loss.name === 'dpo' ? 'y⁺ then y⁻' : 'y⁺'}), G_l = ∂ℓ_u/∂z_l; χ_m = (x, y_<m)`,
      'y⁺, y⁻: the pair of prompt o; y*: its most likely response now (enumerating all V^L); error slope: least-squares slope of log ‖error‖ against log η over 7 η in [1e-4, 1e-1]',
      ...slopeNotes(rows),
      ...conventionLines(p, `GD steps of size ${lr}; the analysed step has size η = ${eta}`),
    ],
  };
  const splitTable = splitTableOf(split, loss, `force split of one full-batch ${loss.name.toUpperCase()} step (η = ${eta}, all ${task.n} pairs): first-order Δ log π(y|x), mean over prompts`);
  const json = resultJson(args, 'forces', p.seed, {
    model: p.model.spec.name,
    conventions: machineConventions(p.conventions, null, { rescaled: false, time: `${at} GD steps of size ${lr} after the reference; one step of size eta analysed` }),
    loss: { name: loss.name, beta: loss.name === 'dpo' ? loss.beta : undefined, sequence: true },
    eta, at: { steps: at, lr, warm: s.warm },
    sequence: {
      V: task.V, L, n: task.n,
      terms: rows.map((r) => ({
        observed: r.o, update: r.u, response: r.which, tokens: Array.from(r.terms.response), logProb: r.logPi,
        pi: plain(r.terms.pi), A: r.terms.A.map((b) => plain(b)), K: plain(r.terms.K), G: plain(r.terms.G), rowsU: r.terms.rowsU,
        norms: r.terms.norms, predicted: plain(r.terms.predicted), actual: plain(r.terms.actual),
        predictedSequence: r.pred, actualSequence: r.actual, error: r.err,
        etaSweep: { etas: r.sweep.etas, errors: r.sweep.errors, slope: r.sweep.slope },
      })),
      forceSplit: split,
      influence: influence.map(({ r, inf }) => ({ observed: r.o, response: r.which, tokens: Array.from(inf.response), byPair: inf.byPair, predicted: inf.predicted, actual: inf.actual })),
    },
  });
  if (!printJson(args, io, json)) io.out(`${renderText(table)}\n${renderText(infTable)}\n${renderText(splitTable)}`);
  emitFiles(args, io, { 'forces.md': () => [table, infTable, splitTable].map(renderMarkdown).join('\n\n'), 'forces.json': () => jsonText(json) });
}

function splitTableOf(split: SequenceForceSplit, loss: SequenceLoss, title: string): Table {
  const row = (which: string, v: { positive: number; negative: number }): Record<string, unknown> => ({ which, pos: v.positive, neg: v.negative, total: v.positive + v.negative });
  return {
    title,
    columns: [
      { key: 'which', header: 'response' }, { key: 'pos', header: 'from G at y⁺ tokens', align: 'right', format: f6 },
      { key: 'neg', header: 'from G at y⁻ tokens', align: 'right', format: f6 }, { key: 'total', header: 'total', align: 'right', format: f6 },
    ],
    rows: [row('y⁺ (chosen)', split.chosen), row('y⁻ (rejected)', split.rejected), row('y* (argmax)', split.argmax)],
    notes: [loss.name === 'dpo'
      ? 'Σ_u K_{o,u} G_u = J_o g with g = Σ_rows J_rᵀG_r split into the y⁺ rows (c(π − e_{y⁺}), pulls y⁺ up) and the y⁻ rows (−c(π − e_{y⁻}): pushes y⁻ down and, through its π term, the likely tokens up: the squeezing effect)'
      : 'SFT has only the y⁺ rows'],
  };
}

export function sequencePreference(args: ParsedArgs, io: CommandIO, def: ModelDefinition): void {
  const seedIds = seedList(args, 5, 100), seeds = seedIds.length, steps = num(args, 'steps', 500);
  if (str(args, 'loss') !== undefined) throw new GradflowError('--preference trains both sft and dpo; leave out --loss');
  type Changes = {
    chosen: number[]; rejected: number[]; argmax: number[]; peakStart: number[]; peakEnd: number[]; kept: number[]; piChosen: number[]; piRejected: number[];
    /** Fraction of a seed's prompts whose log π(y⁺) fell, whose log π(y⁻) fell, whose max_y π(y|x) rose. */
    promptsChosenDown: number[]; promptsRejectedDown: number[]; promptsPeakUp: number[];
    /** The recorded means over training, one list per seed. */
    curves: SequencePoint[][];
  };
  const fresh = (): Changes => ({ chosen: [], rejected: [], argmax: [], peakStart: [], peakEnd: [], kept: [], piChosen: [], piRejected: [], promptsChosenDown: [], promptsRejectedDown: [], promptsPeakUp: [], curves: [] });
  const perLoss: Record<'sft' | 'dpo', Changes> = { sft: fresh(), dpo: fresh() };
  const every = Math.max(1, Math.floor(steps / 50));
  const splits: { start: SequenceForceSplit[]; end: SequenceForceSplit[] } = { start: [], end: [] };
  let shown: Setup | null = null;
  const lossNames: string[] = [];
  const bar = io.progress ? progressLine(io.err, `forces ${def.spec.name} --preference: seeds`) : undefined;
  for (let k = 0; k < seeds; k++) {
    for (const name of ['sft', 'dpo'] as const) {
      const values = new Map([...args.values].filter(([key]) => key !== 'preference')).set('loss', name);
      if (name === 'sft') values.delete('beta');
      const s = setup({ ...args, values }, def, seedIds[k], name);
      shown ??= s;
      if (k === 0) lossNames.push(`${name}: ${s.p.conventions.loss}`);
      const run = sequencePreferenceRun(s.p, s.task, s.ref, s.loss, s.lr, steps, every);
      const [a, b] = [run.points[0], run.points[run.points.length - 1]];
      const c = perLoss[name];
      c.chosen.push(b.logChosen - a.logChosen);
      c.rejected.push(b.logRejected - a.logRejected);
      c.argmax.push(b.logArgmax - a.logArgmax);
      c.peakStart.push(a.peak);
      c.peakEnd.push(b.peak);
      c.kept.push(run.argmaxKept);
      c.piChosen.push(b.chosen - a.chosen);
      c.piRejected.push(b.rejected - a.rejected);
      const frac = (f: (j: number) => boolean): number => Array.from({ length: s.task.n }, (_, j) => j).filter(f).length / s.task.n;
      c.promptsChosenDown.push(frac((j) => run.end.chosen[j] < run.start.chosen[j]));
      c.promptsRejectedDown.push(frac((j) => run.end.rejected[j] < run.start.rejected[j]));
      c.promptsPeakUp.push(frac((j) => run.end.peak[j] > run.start.peak[j]));
      c.curves.push(run.points);
      if (name === 'dpo') {
        splits.start.push(sequenceForceSplit(s.p, s.task, s.ref, s.loss, s.lr, run.argmax));
        splits.end.push(sequenceForceSplit(s.p, s.task, run.theta, s.loss, s.lr, argmaxResponses(s.p, s.task, run.theta).responses));
      }
    }
    bar?.((k + 1) / seeds);
  }
  const count = (a: number[], up: boolean): string => `${a.filter((v) => (up ? v > 0 : v < 0)).length}/${seeds}`;
  const rows = (['sft', 'dpo'] as const).map((name) => {
    const c = perLoss[name];
    const peakUp = c.peakEnd.map((v, k) => v - c.peakStart[k]);
    return {
      loss: name, chosen: pm(c.chosen), rejected: pm(c.rejected), argmax: pm(c.argmax),
      peak: `${formatNumber(mean(c.peakStart), 3)} → ${formatNumber(mean(c.peakEnd), 3)}`,
      seeds: `${count(c.chosen, false)} · ${count(c.rejected, false)} · ${count(peakUp, true)}`,
      kept: formatNumber(mean(c.kept), 3),
      prompts: `${formatNumber(mean(c.promptsChosenDown), 3)} · ${formatNumber(mean(c.promptsRejectedDown), 3)} · ${formatNumber(mean(c.promptsPeakUp), 3)}`,
    };
  });
  const lr = shown?.lr ?? 0.05, warm = shown?.warm ?? 100, beta = shown?.loss.beta ?? 0.1;
  const table: Table = {
    title: `tiny LM: SFT vs off-policy DPO (β = ${num(args, 'beta', 0.1)}) from a frozen SFT reference: change of the mean log π over ${steps} GD steps of size ${lr}, mean ± sd over ${seeds} seeds`,
    columns: [
      { key: 'loss', header: 'loss' }, { key: 'chosen', header: 'Δ log π(y⁺|x)' }, { key: 'rejected', header: 'Δ log π(y⁻|x)' },
      { key: 'argmax', header: 'Δ log π(y*_ref|x)' }, { key: 'peak', header: 'π(argmax now): start → end' },
      { key: 'seeds', header: 'seeds with log π(y⁺)↓ · log π(y⁻)↓ · π(argmax)↑' }, { key: 'prompts', header: 'prompts with the same (mean fraction)' },
      { key: 'kept', header: 'argmax still y*_ref' },
    ],
    rows,
    notes: [
      `means over the prompts of each seed; y*_ref: the reference's most likely response; argmax now: max_y π(y|x) over all V^L responses at that step`,
      `DPO force split (first-order Δ log π per full-batch step of size ${lr}, mean over prompts and seeds), from G at y⁺ tokens / at y⁻ tokens — at the start: y⁺ ${splitText(splits.start, 'chosen')}; y⁻ ${splitText(splits.start, 'rejected')}; argmax ${splitText(splits.start, 'argmax')}`,
      `  at the end: y⁺ ${splitText(splits.end, 'chosen')}; y⁻ ${splitText(splits.end, 'rejected')}; argmax now ${splitText(splits.end, 'argmax')}`,
      `losses: ${lossNames.join('; ')}`,
      ...(shown ? conventionLines(shown.p, `GD steps of size ${lr}`).slice(1) : []),
    ],
  };
  const json = resultJson(args, 'forces', envelopeSeed(seedIds), {
    model: def.spec.name,
    conventions: shown ? machineConventions(shown.p.conventions, null, { rescaled: false, time: `GD steps of size ${lr}` }) : null,
    loss: { name: 'sft-vs-dpo', beta, sequence: true },
    preference: { seeds: seedIds, steps, lr, warm, logChanges: perLoss, dpoForceSplit: splits },
  });
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, {
    'preference.md': () => renderMarkdown(table), 'preference.json': () => jsonText(json),
    ...figureFiles('preference', () => curvesPlot(perLoss.sft.curves, perLoss.dpo.curves, `mean over prompts and ${seeds} seeds; GD steps of size ${lr}; DPO β = ${beta} from the frozen SFT reference (${warm} steps); sequence log-probabilities in nats`)),
  });
}

/** Mean log π of y⁺, y⁻, y*_ref and the current argmax over training (averaged over seeds), SFT and DPO side by side. */
function curvesPlot(sft: SequencePoint[][], dpo: SequencePoint[][], caption: string): string {
  const panel = (runs: SequencePoint[][], title: string) => {
    const steps = runs[0].map((q) => q.step);
    const avg = (f: (q: SequencePoint) => number): number[] => steps.map((_, r) => mean(runs.map((run) => f(run[r]))));
    const series: Series[] = [
      { name: 'log π(y⁺|x)', x: steps, y: avg((q) => q.logChosen), color: '#2ca02c' },
      { name: 'log π(y⁻|x)', x: steps, y: avg((q) => q.logRejected), color: '#d62728' },
      { name: 'log π(y*_ref|x)', x: steps, y: avg((q) => q.logArgmax), color: '#7f7f7f', style: 'dashed' },
      { name: 'log max_y π(y|x)', x: steps, y: avg((q) => q.logPeak), color: '#1f77b4' },
    ];
    return { title, xLabel: 'GD step', yLabel: 'mean log π (nats)', series, caption };
  };
  return renderPanels([panel(sft, 'SFT on y⁺'), panel(dpo, 'off-policy DPO')], 2);
}

function splitText(s: SequenceForceSplit[], which: keyof SequenceForceSplit): string {
  return `${pm(s.map((v) => v[which].positive))} / ${pm(s.map((v) => v[which].negative))}`;
}
