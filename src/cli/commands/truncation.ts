/** `gradflow truncation relu-deep`: the true flow in gauge-invariant cumulative coordinates, next to the effective equations. */
import type { Command } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, MODEL_OPTIONS, buildProblem, emitFiles, figureFiles, num, printJson, resolveModel, resultJson } from '../common.ts';
import { runTruncation, type TruncationRun } from '../../analysis/truncation-run.ts';
import { formatNumber, renderCsv, renderLatex, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import { renderPanels, type Series } from '../../report/svg.ts';
import type { Problem } from '../../problem.ts';
import { machineConventions } from '../../report/json.ts';

const fmt = (v: unknown): string => (typeof v === 'number' ? formatNumber(v, 4) : String(v ?? '—'));

function notes(p: Problem, run: TruncationRun): string[] {
  return [
    `loss: ${p.conventions.loss} (mean over samples); C̃ = (1/2N) Σ_j ‖ξ_j − ỹ_j‖², ξ = input-space features after the L − 1 truncations, ỹ_j = (W^(L))⁻¹(y_j − b^(L))`,
    `time: flow time of the TRUE flow θ̇ = −∇_θ L (kink-by-kink integration: ${run.flowStats.kinks ?? 0} kinks, ${run.flowStats.slides ?? 0} sliding modes)`,
    `init: ${p.conventions.init}; alpha = ${p.alpha}`,
    `data: ${p.data.source}; ${run.classes} classes (distinct targets)`,
    'N_T/N (layer ℓ): share of samples with a component clipped at layer ℓ; effective rate of a threshold = share of samples whose component ends on it',
    'measured rate = −(dβ/dt)/(β − β*), β* = mean pulled-back target of the samples on the threshold; eff. error = ‖β̇_true − β̇_eff‖/‖β̇_eff‖ with β̇_eff = −∇_β C̃ (Euclidean, aligned case)',
    'general err. = ‖P⊥ċ_true − (−∇_c C̃)‖/‖∇_c C̃‖ over the hidden cumulative (W^(ℓ), b^(ℓ)), no alignment assumed, ċ_true = (∂c/∂θ)θ̇, P⊥ removes the gauge directions; L vs C̃ = ‖P⊥(∇_c L − ∇_c C̃)‖/‖∇_c C̃‖, the part due to the loss (0 when W^(L) is orthogonal), the rest is the metric JJᵀ ≠ I',
    'NC1 = tr(Σ_W Σ_B⁺)/K on ξ; ETF = Frobenius distance of the normalised Gram of centred class means from the simplex ETF; misalignment = max |W^(ℓ)_rc / W^(ℓ)_rr| (0: aligned)',
    'all reported quantities are invariant under the gauge (W^(ℓ), b^(ℓ)) → (D W^(ℓ), D b^(ℓ)), D > 0 diagonal',
  ];
}

export function truncationTables(p: Problem, run: TruncationRun, rows = 11): { time: Table; plateaus: Table } {
  const S = run.samples;
  const pick = Array.from({ length: Math.min(rows, S.length) }, (_, k) => S[Math.round((k * (S.length - 1)) / Math.max(1, Math.min(rows, S.length) - 1))]);
  const Lh = run.L - 1;
  const time: Table = {
    title: `truncation — ${p.model.spec.name} (L = ${run.L}, Q = ${run.Q}): true flow in cumulative coordinates`,
    columns: [
      { key: 't', header: 't' },
      { key: 'loss', header: 'loss', format: fmt },
      { key: 'cost', header: 'C̃', format: fmt },
      ...Array.from({ length: Lh }, (_, l) => ({ key: `nt${l}`, header: `N_T/N ℓ=${l + 1}`, format: fmt })),
      { key: 'eff', header: 'eff. error', format: fmt },
      { key: 'gen', header: 'general err.', format: fmt },
      { key: 'cerr', header: 'L vs C̃', format: fmt },
      { key: 'nc1', header: 'NC1', format: fmt },
      { key: 'sw', header: 'tr Σ_W', format: fmt },
      { key: 'etf', header: 'ETF dist', format: fmt },
      { key: 'mis', header: 'misalign', format: fmt },
    ],
    rows: pick.map((s) => ({
      t: formatNumber(s.t, 4), loss: s.loss, cost: s.inputCost, ...Object.fromEntries(s.truncated.map((v, l) => [`nt${l}`, v])),
      eff: s.effectiveError, gen: s.generalError, cerr: s.costError, nc1: s.collapse.nc1, sw: s.collapse.withinTrace, etf: s.collapse.etfDistance, mis: s.misalignment,
    })),
    notes: [...notes(p, run), `within-class variability tr Σ_W: fitted exponential rate over the second half ${run.collapseRate === null ? '— (not decaying)' : formatNumber(run.collapseRate, 4)}`],
  };
  const plateaus: Table = {
    title: 'threshold relaxation on each plateau of the truncation sets: measured (true flow) vs effective rate N_T/N',
    columns: [
      { key: 'layer', header: 'layer' },
      { key: 'comp', header: 'comp' },
      { key: 'from', header: 't from', format: fmt },
      { key: 'to', header: 't to', format: fmt },
      { key: 'share', header: 'N_T/N (effective rate)', format: fmt },
      { key: 'rate', header: 'measured rate', format: fmt },
      { key: 'ratio', header: 'measured / effective', format: fmt },
    ],
    rows: run.plateaus.map((q) => ({ layer: q.layer, comp: q.component, from: q.tStart, to: q.tEnd, share: q.share, rate: q.rate, ratio: q.rate / q.share })),
    notes: ['a plateau = a run of ≥ 3 sampled times with the same truncation sets; its rate is the median over its interior samples'],
  };
  return { time, plateaus };
}

function plots(p: Problem, run: TruncationRun): string {
  const t = run.samples.map((s) => s.t);
  const Lh = run.L - 1;
  const pos = (v: number): number => (v > 0 ? v : NaN);
  const rateSeries: Series[] = [];
  for (let l = 0; l < Lh; l++) for (let q = 0; q < run.Q; q++) {
    rateSeries.push({ name: `measured ℓ=${l + 1},q=${q}`, x: t, y: run.samples.map((s) => s.rate[l][q]), style: 'points' });
    rateSeries.push({ name: `N_T/N ℓ=${l + 1},q=${q}`, x: t, y: run.samples.map((s) => (s.share[l][q] > 0 ? s.share[l][q] : NaN)), style: 'step-dashed' });
  }
  return renderPanels([
    { title: 'loss and input-layer cost', xLabel: 'flow time t', yLabel: 'value', logY: true, series: [{ name: 'L', x: t, y: run.samples.map((s) => pos(s.loss)) }, { name: 'C̃', x: t, y: run.samples.map((s) => pos(s.inputCost)), style: 'dashed' }] },
    { title: 'truncated fraction N_T/N', xLabel: 'flow time t', yLabel: 'N_T/N', series: Array.from({ length: Lh }, (_, l) => ({ name: `layer ${l + 1}`, x: t, y: run.samples.map((s) => s.truncated[l]), style: 'step' as const })) },
    { title: 'threshold relaxation rate', xLabel: 'flow time t', yLabel: 'rate', series: rateSeries },
    { title: 'neural collapse NC1', xLabel: 'flow time t', yLabel: 'tr(Σ_W Σ_B⁺)/K', logY: true, series: [{ name: 'NC1', x: t, y: run.samples.map((s) => pos(s.collapse.nc1)) }, { name: 'tr Σ_W', x: t, y: run.samples.map((s) => pos(s.collapse.withinTrace)), style: 'dashed' }], caption: `loss: ${p.conventions.loss}; alpha = ${p.alpha}` },
  ], 2);
}

export const truncationCommand: Command = {
  name: 'truncation',
  summary: 'Deep ReLU nets as chains of truncations: the true flow in gauge-invariant cumulative coordinates vs the effective equations (N_T/N, threshold rates, NC1).',
  usage: 'gradflow truncation relu-deep [--t T] [--points N] [--opt depth=L] [--dim Q=2] [--alpha A] [--out DIR] [--json]',
  options: {
    ...MODEL_OPTIONS,
    t: { kind: 'number', help: 'end time (flow time)', default: '60' },
    points: { kind: 'int', help: 'sampled times (the table shows 11 of them)', default: '241' },
    rows: { kind: 'int', help: 'rows of the time table', default: '11' },
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const p = buildProblem(args, resolveModel(args), { alpha: 0.05 });
    const run = runTruncation(p, { tEnd: num(args, 't', 60), points: num(args, 'points', 241) });
    const { time, plateaus } = truncationTables(p, run, num(args, 'rows', 11));
    const json = resultJson(args, 'truncation', p.seed, { model: p.model.spec.name, conventions: machineConventions(p.conventions, p.derived.kappa, { rescaled: false }), L: run.L, Q: run.Q, classes: run.classes, collapseRate: run.collapseRate, plateaus: run.plateaus, samples: run.samples, flow: run.flowStats }, p);
    if (!printJson(args, io, json)) io.out(`${renderText(time)}\n\n${renderText(plateaus)}`);
    emitFiles(args, io, {
      'truncation.md': () => `${renderMarkdown(time)}\n\n${renderMarkdown(plateaus)}`,
      'truncation.csv': () => renderCsv(time),
      'truncation-plateaus.csv': () => renderCsv(plateaus),
      'truncation.tex': () => `${renderLatex(time)}\n${renderLatex(plateaus)}`,
      ...figureFiles('truncation', () => plots(p, run)),
    });
  },
};
