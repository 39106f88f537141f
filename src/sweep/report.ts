/**
 * The sweep's reports from its summary: the per-jump table (text, Markdown, LaTeX with
 * "mean ± sd" cells; CSV with separate mean and sd columns for scripts), the α → 0
 * extrapolation table, the summary JSON, and the plot of rescaled times and relative errors
 * against 1/log(1/α) (straight lines through AGF's α → 0 value when the error is O(1/log(1/α))).
 */
import { formatNumber, type Column, type Table } from '../report/table.ts';
import { PALETTE, renderPanels, type Series } from '../report/svg.ts';
import { canonicalArgv, gridFingerprint, type SweepGrid } from './grid.ts';
import type { ExtrapolationRow, JumpRow, SweepSummary } from './aggregate.ts';
import type { MeanSd } from './stats.ts';
import { envelope, plain } from '../report/json.ts';
import { findModel } from '../../models/index.ts';
import { timeUnit as scheduleTimeUnit } from '../schedule.ts';

const pm = (v: MeanSd | undefined): string => {
  if (!v || v.mean === null) return '—';
  return v.sd === null ? formatNumber(v.mean, 6) : `${formatNumber(v.mean, 6)} ± ${formatNumber(v.sd, 2)}`;
};
const pmErr = (a: number, se: number | null): string => (se === null ? formatNumber(a, 6) : `${formatNumber(a, 6)} ± ${formatNumber(se, 2)}`);
/** CSV cells keep every digit (shortest round-trip form): scripts read them back. */
const full = (v: unknown): string => (typeof v === 'number' ? String(v) : v === null || v === undefined ? '' : String(v));
const fullPrecision = (t: Table): Table => ({ ...t, columns: t.columns.map((c) => ({ ...c, format: c.format ?? full })) });
const dimsText = (d: Record<string, number>): string => Object.entries(d).map(([k, v]) => `${k}=${v}`).join(' ') || '—';

/** Labels of the rescaled time: t/log(1/α) for κ = 2, t/T_κ(α) for κ > 2 (src/schedule.ts); alpha varies, so no value. */
function timeUnit(kappa: number | null): { short: string; latex: string; long: string } {
  const u = scheduleTimeUnit(kappa, 0.5);
  if (u.kappa === 2) return { short: u.label, latex: `$${u.latex}$`, long: 'rescaled t/log(1/alpha) (flow time / log(1/alpha); gd: t = k·lr)' };
  return { short: u.label, latex: `$${u.latex}$`, long: `rescaled ${u.label}, ${u.definition} (κ = ${u.kappa}; flow time; gd: t = k·lr)` };
}

function notes(grid: SweepGrid, s: SweepSummary): string[] {
  const c = s.conventions;
  const out = [
    `loss: ${c?.loss ?? '1/(2n) sum of squares'} (mean over samples); time: ${timeUnit(s.kappa).long}; init: ${c?.init ?? '—'}, alpha as listed`,
    `seeds: ${grid.seeds.length} (${grid.seeds.length > 12 ? `${grid.seeds[0]}…${grid.seeds[grid.seeds.length - 1]}` : grid.seeds.join(', ')}); mean ± sample sd over seeds; rel err = |t_m − t_agf| / t_agf per seed, then mean ± sd`,
    `data: ${s.dataSources.length === 1 ? s.dataSources[0] : s.dataSources.length ? `${s.dataSources.length} sources (one per seed/width)` : '—'}`,
  ];
  if (s.cells.failed) out.push(`failed cells: ${s.cells.failed} of ${s.cells.total} (see sweep.json "failed"); their seeds are missing from the statistics`);
  // a built-in model's own caveat (a spec file of the same name is not that model)
  const caveat = grid.spec ? undefined : findModel(grid.model)?.jumpMatchingNote;
  if (caveat) out.push(caveat);
  return out;
}

function baseColumns(grid: SweepGrid): Column[] {
  return grid.dims.map(([name]) => ({ key: `dim_${name}`, header: name, csvHeader: `dim_${name}` }));
}

function rowBase(grid: SweepGrid, r: { dims: Record<string, number> }): Record<string, unknown> {
  return Object.fromEntries(grid.dims.map(([name]) => [`dim_${name}`, r.dims[name]]));
}

/** The table a paper prints (text, Markdown, LaTeX). */
export function jumpTable(grid: SweepGrid, s: SweepSummary): Table {
  const others = s.methods.filter((m) => m !== 'agf');
  const columns: Column[] = [
    ...baseColumns(grid),
    { key: 'alpha', header: 'alpha', latexHeader: '$\\alpha$' },
    { key: 'k', header: 'k' },
    { key: 'neuron', header: 'neuron', format: (v) => (typeof v === 'number' ? String(v) : 'varies') },
    ...s.methods.map((m) => ({ key: `t_${m}`, header: `${timeUnit(s.kappa).short} ${m}`, latexHeader: `${timeUnit(s.kappa).latex} ${m}`, align: 'right' as const })),
    ...others.map((m) => ({ key: `e_${m}`, header: `rel err ${m}`, align: 'right' as const })),
    ...others.map((m) => ({ key: `n_${m}`, header: `same neuron ${m}`, align: 'right' as const })),
  ];
  const rows = s.rows.map((r) => {
    const row: Record<string, unknown> = { ...rowBase(grid, r), alpha: r.alpha, k: r.k, neuron: r.neuron };
    for (const m of s.methods) row[`t_${m}`] = pm(r.rescaled[m]);
    for (const m of others) {
      row[`e_${m}`] = pm(r.relError[m]);
      row[`n_${m}`] = `${r.sameNeuron[m].agree}/${r.sameNeuron[m].of}`;
    }
    return row;
  });
  return { title: `sweep — ${grid.model}: jump times over ${grid.alphas.length} alpha × ${grid.seeds.length} seed${grid.dims.length ? ` × ${grid.dims.map(([n, v]) => `${v.length} ${n}`).join(' × ')}` : ''}`, columns, rows, notes: notes(grid, s) };
}

/**
 * The same numbers with mean and sd in separate columns (CSV), under names that say what they
 * are: rescaled_<method>_mean is the seed mean of the rescaled jump time (its unit is in the
 * first comment line), rel_error_<method>_mean the mean of |t_m − t_agf| / t_agf over seeds.
 */
export function jumpDataTable(grid: SweepGrid, s: SweepSummary): Table {
  const others = s.methods.filter((m) => m !== 'agf');
  const columns: Column[] = [...baseColumns(grid), { key: 'alpha', header: 'alpha' }, { key: 'k', header: 'jump' }, { key: 'neuron', header: 'neuron' }];
  for (const m of s.methods) columns.push({ key: `t_${m}`, header: `rescaled_${m}_mean` }, { key: `sd_${m}`, header: `rescaled_${m}_sd` }, { key: `n_${m}`, header: `rescaled_${m}_seeds` });
  for (const m of others) columns.push({ key: `e_${m}`, header: `rel_error_${m}_mean` }, { key: `esd_${m}`, header: `rel_error_${m}_sd` }, { key: `same_${m}`, header: `same_neuron_${m}` }, { key: `of_${m}`, header: `compared_${m}` });
  const rows = s.rows.map((r: JumpRow) => {
    const row: Record<string, unknown> = { ...rowBase(grid, r), alpha: r.alpha, k: r.k, neuron: r.neuron };
    for (const m of s.methods) Object.assign(row, { [`t_${m}`]: r.rescaled[m].mean, [`sd_${m}`]: r.rescaled[m].sd, [`n_${m}`]: r.rescaled[m].n });
    for (const m of others) Object.assign(row, { [`e_${m}`]: r.relError[m].mean, [`esd_${m}`]: r.relError[m].sd, [`same_${m}`]: r.sameNeuron[m].agree, [`of_${m}`]: r.sameNeuron[m].of });
    return row;
  });
  return csvTable({ title: jumpTable(grid, s).title, columns, rows, notes: [csvUnitNote(s), ...notes(grid, s)] });
}

/** The CSV's first note: what "rescaled" means in its headers. */
function csvUnitNote(s: SweepSummary): string {
  const u = scheduleTimeUnit(s.kappa, 0.5);
  return `columns: rescaled_* = ${u.kappa === 2 ? 't/log(1/alpha)' : `t/T_${u.kappa}(alpha), T_${u.kappa}(alpha) = ${u.definition}`} (flow time t; gd: t = k*lr), mean/sd over seeds; rel_error_* = |t_m - t_agf| / t_agf; alpha0_* = the alpha -> 0 extrapolation`;
}

/** Full precision and the columns' headers (not their keys) as CSV names. */
const csvTable = (t: Table): Table => fullPrecision({ ...t, columns: t.columns.map((c) => ({ ...c, csvHeader: c.csvHeader ?? c.header })) });

const extrapolationNotes = [
  'fit: t/log(1/α) = a + b·x + c·x², x = 1/log(1/α), least squares on the seed means (fewer terms with fewer alphas); a = the α → 0 value',
  'uncertainty: ± one standard error of a (seed-to-seed scatter of per-seed intercepts, plus the fit residual when alphas > terms, in quadrature); 95% = Student-t interval (Welch–Satterthwaite dof)',
  'Δ vs AGF: method − AGF seed by seed, extrapolated the same way; consistent = |Δ| within its 95% interval, judged only with more alphas than fitted terms (— otherwise: with no fit residual nothing measures the truncation of the series)',
];

/** One row per (dims, jump, method): the α → 0 value and its agreement with AGF's. */
export function extrapolationTable(grid: SweepGrid, s: SweepSummary, data = false): Table {
  const columns: Column[] = [...baseColumns(grid), { key: 'k', header: 'k', csvHeader: 'jump' }, { key: 'method', header: 'method' }];
  const unit = timeUnit(s.kappa).short;
  if (data) {
    for (const [key, header] of [
      ['a', 'alpha0_rescaled'], ['se', 'alpha0_rescaled_se'], ['ci95', 'alpha0_rescaled_ci95_halfwidth'], ['dof', 'ci95_dof'],
      ['b', 'coef_inv_log_inv_alpha'], ['c', 'coef_inv_log_inv_alpha_sq'],
      ['agf', 'agf_alpha0_rescaled'], ['agfse', 'agf_alpha0_rescaled_se'],
      ['delta', 'delta_vs_agf'], ['deltase', 'delta_vs_agf_se'], ['deltaci', 'delta_vs_agf_ci95_halfwidth'], ['consistent', 'consistent_with_agf'],
      ['seeds', 'seeds'], ['alphas', 'alphas'],
    ]) columns.push({ key, header });
  } else {
    columns.push(
      { key: 'a', header: `${unit} at α → 0`, align: 'right' },
      { key: 'ci95', header: '95% ±', align: 'right' },
      { key: 'b', header: 'b (× 1/log(1/α))', align: 'right' },
      { key: 'c', header: 'c (× 1/log²(1/α))', align: 'right' },
      { key: 'agf', header: 'AGF at α → 0', align: 'right' },
      { key: 'delta', header: 'Δ vs AGF', align: 'right' },
      { key: 'deltaci', header: 'Δ 95% ±', align: 'right' },
      { key: 'consistent', header: 'consistent', format: (v) => (v === true ? 'yes' : v === false ? 'no' : '—') },
      { key: 'seeds', header: 'seeds' },
      { key: 'alphas', header: 'alphas' },
    );
  }
  const rows = s.extrapolation.map((e: ExtrapolationRow) => {
    const row: Record<string, unknown> = { ...rowBase(grid, e), k: e.k, method: e.method, seeds: e.fit.seeds, alphas: e.fit.alphas };
    if (data) {
      Object.assign(row, { a: e.fit.a, se: e.fit.se, ci95: e.fit.ci95, dof: e.fit.dof, b: e.fit.slope[0] ?? null, c: e.fit.slope[1] ?? null, agf: e.agf.a, agfse: e.agf.se, delta: e.difference?.a ?? null, deltase: e.difference?.se ?? null, deltaci: e.difference?.ci95 ?? null, consistent: e.consistent === null ? null : e.consistent ? 1 : 0 });
    } else {
      Object.assign(row, { a: pmErr(e.fit.a, e.fit.se), ci95: e.fit.ci95, b: e.fit.slope[0] ?? null, c: e.fit.slope[1] ?? null, agf: pmErr(e.agf.a, e.agf.se), delta: e.difference ? pmErr(e.difference.a, e.difference.se) : null, deltaci: e.difference?.ci95 ?? null, consistent: e.consistent });
    }
    return row;
  });
  const table: Table = { title: `sweep — ${grid.model}: α → 0 extrapolation of the rescaled jump times`, columns, rows, notes: [...(s.extrapolationNote ? [s.extrapolationNote] : []), ...extrapolationNotes, ...notes(grid, s).slice(0, 1)] };
  return data ? csvTable({ ...table, notes: [csvUnitNote(s), ...(table.notes ?? [])] }) : table;
}

/** sweep.json and `sweep --json`: the envelope (schema/gradflow.schema.json, kind 'sweep') around the summary. */
export function summaryJson(grid: SweepGrid, s: SweepSummary, argv: string[]): Record<string, unknown> {
  const unit = scheduleTimeUnit(s.kappa, 0.5);
  return envelope('sweep', { argv, seed: grid.seeds.length === 1 ? grid.seeds[0] : grid.seeds }, {
    model: grid.model,
    seeds: grid.seeds,
    alphas: grid.alphas,
    conventions: {
      loss: s.conventions?.loss ?? '1/(2n) sum of squares',
      lossReduction: 'mean',
      lossFactor: 0.5,
      time: `${timeUnit(s.kappa).long}; rescaledTime = time / timeScale at each cell's alpha`,
      timeUnit: 'flow time',
      rescaledTimeUnit: unit.formula,
      timeScale: null,
      kappa: s.kappa,
      alpha: null,
      init: s.conventions?.init ?? '',
      statistics: 'mean ± sample sd (n − 1) over seeds; extrapolation: rescaledTime = a + b/log(1/alpha) + c/log(1/alpha)^2 (least squares), se = one standard error of a, ci95 = Student-t 95% half-width',
    },
    reproduce: canonicalArgv(grid),
    grid: { ...(JSON.parse(JSON.stringify(grid)) as Record<string, unknown>), fingerprint: gridFingerprint(grid) },
    cells: s.cells,
    dataSources: s.dataSources,
    rows: plain(s.rows),
    extrapolation: plain(s.extrapolation),
    extrapolationNote: s.extrapolationNote,
    failed: s.failed,
  });
}

/**
 * Two panels against x = 1/log(1/α) (α → 0 at the left edge, x = 0): the seed-mean simulated
 * rescaled times with their fitted curves running to AGF's α → 0 values (marked at x = 0), and
 * the relative error (t_m − t_agf)/t_agf, which is a straight line through 0 when the flow-time
 * gap is O(1). One width (the first) and at most 8 jumps, to stay legible.
 */
export function sweepFigure(grid: SweepGrid, s: SweepSummary): string {
  const sims = s.methods.filter((m) => m !== 'agf');
  const sim = sims.includes('flow') ? 'flow' : sims[0];
  const dims = s.rows[0]?.dims;
  const same = (d: Record<string, number>): boolean => JSON.stringify(d) === JSON.stringify(dims);
  const ks = [...new Set(s.rows.filter((r) => same(r.dims)).map((r) => r.k))].sort((a, b) => a - b).slice(0, 8);
  const top: Series[] = [], bottom: Series[] = [];
  const xs = (alpha: number): number => 1 / Math.log(1 / alpha);
  const xMax = Math.max(...grid.alphas.map(xs));
  ks.forEach((k, q) => {
    const color = PALETTE[q % PALETTE.length];
    const rows = s.rows.filter((r) => same(r.dims) && r.k === k).sort((a, b) => xs(a.alpha) - xs(b.alpha));
    if (sim) {
      const pts = rows.filter((r) => r.rescaled[sim]?.mean !== null);
      if (pts.length) top.push({ name: `jump ${k} (${sim}, seed mean)`, x: pts.map((r) => xs(r.alpha)), y: pts.map((r) => r.rescaled[sim].mean as number), style: 'points', color });
      const ext = s.extrapolation.find((e) => same(e.dims) && e.k === k && e.method === sim);
      if (ext) {
        const grid20 = Array.from({ length: 21 }, (_, i) => (xMax * i) / 20);
        top.push({ name: `jump ${k} fit`, x: grid20, y: grid20.map((x) => ext.fit.a + (ext.fit.slope[0] ?? 0) * x + (ext.fit.slope[1] ?? 0) * x * x), style: 'dashed', color });
        top.push({ name: `jump ${k} AGF (α → 0)`, x: [0], y: [ext.agf.a], style: 'points', color: PALETTE[6] });
      }
      const err = rows.filter((r) => r.relError[sim]?.mean !== null);
      if (err.length) {
        const signed = err.map((r) => {
          const a = r.rescaled.agf.mean, b = r.rescaled[sim].mean;
          return a !== null && b !== null && a !== 0 ? (b - a) / Math.abs(a) : NaN;
        });
        bottom.push({ name: `jump ${k}`, x: err.map((r) => xs(r.alpha)), y: signed, style: 'points', color });
      }
      if (ext?.difference && ext.agf.a !== 0) {
        const d = ext.difference, x20 = Array.from({ length: 21 }, (_, i) => (xMax * i) / 20);
        bottom.push({ name: `jump ${k} fit`, x: x20, y: x20.map((x) => (d.a + (d.slope[0] ?? 0) * x + (d.slope[1] ?? 0) * x * x) / Math.abs(ext.agf.a)), style: 'dashed', color });
      }
    }
  });
  const caption = `loss: ${s.conventions?.loss ?? '1/(2n) sum of squares'} · time: t/log(1/alpha) · ${grid.seeds.length} seed(s)${dims && Object.keys(dims).length ? ` · ${dimsText(dims)}` : ''}`;
  return renderPanels([
    { title: `Rescaled jump times vs 1/log(1/alpha) — ${grid.model}`, xLabel: '1/log(1/alpha)', yLabel: 't / log(1/alpha)', series: top, caption: `${caption} · points: ${sim ?? '—'} seed means · dashed: fit a + b·x + c·x² · black: AGF at alpha → 0` },
    { title: 'Relative error of the rescaled jump times', xLabel: '1/log(1/alpha)', yLabel: `(t_${sim ?? 'sim'} − t_agf) / t_agf`, series: bottom, hlines: [{ y: 0, dashed: true }], caption: 'points: seed means · dashed: fitted Δ/AGF, whose value at x = 0 is the α → 0 error (0 when the flow-time gap is O(1))' },
  ], 2);
}
