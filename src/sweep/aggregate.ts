/**
 * From cell lines to the numbers a paper prints, per jump k (matched by index, as compare does):
 *  - per (dims, alpha, k): each method's rescaled time, mean ± sd over seeds; each simulated
 *    method's relative error against AGF (per seed, then mean ± sd); how often it names AGF's neuron;
 *  - per (dims, k, method): the α → 0 extrapolation of the seed-mean rescaled time (stats.ts),
 *    the same for AGF, and the paired difference method − AGF extrapolated the same way (seed by
 *    seed, so problem-to-problem scatter that moves both cancels), with its 95% interval.
 * Only cells' lines are read: merge and sweep aggregate identically.
 */
import type { CellRecord } from './cell.ts';
import { gridCells, type SweepGrid } from './grid.ts';
import { extrapolateToZero, meanSd, type Extrapolation, type MeanSd } from './stats.ts';

export interface JumpRow {
  dims: Record<string, number>;
  alpha: number;
  k: number;
  /** Seeds in the grid, and seeds whose AGF schedule has a k-th jump. */
  seeds: number;
  /** AGF's neuron for this jump when every seed agrees, else null. */
  neuron: number | null;
  rescaled: Record<string, MeanSd>;
  relError: Record<string, MeanSd>;
  /** Seeds where the method's k-th jump names AGF's neuron, of those where both exist. */
  sameNeuron: Record<string, { agree: number; of: number }>;
}

export interface ExtrapolationRow {
  dims: Record<string, number>;
  k: number;
  method: string;
  fit: Extrapolation;
  /** AGF's own rescaled times, extrapolated the same way over the same seeds. */
  agf: Extrapolation;
  /** method − AGF, seed by seed, extrapolated (null for agf itself). */
  difference: Extrapolation | null;
  /**
   * |difference.a| ≤ difference.ci95; null when no interval could be stated, or when the fit has no
   * residual (as many alphas as terms): then nothing measures the series' truncation and the
   * seed scatter alone judged it — the diagonal default's jump 1 at α = 1e-2, 1e-4, 1e-8 read
   * "inconsistent" at Δ = −7.4e-6 ± 1.3e-6, the size of the O(1/log³(1/α)) term (down to 1e-16,
   * five alphas: Δ = −8.5e-9, consistent).
   */
  consistent: boolean | null;
}

export interface SweepSummary {
  methods: string[];
  kappa: number | null;
  rows: JumpRow[];
  extrapolation: ExtrapolationRow[];
  /** Why no extrapolation was fitted, when none was. */
  extrapolationNote: string | null;
  failed: { index: number; dims: Record<string, number>; alpha: number; seed: number; error: string }[];
  conventions: { loss: string; time: string; init: string } | null;
  dataSources: string[];
  cells: { total: number; ok: number; failed: number };
}

const dimsKey = (d: Record<string, number>): string => JSON.stringify(d);

export function summarise(grid: SweepGrid, records: CellRecord[]): SweepSummary {
  const methods = grid.methods;
  const others = methods.filter((m) => m !== 'agf');
  const byIndex = new Map(records.map((r) => [r.index, r]));
  const cells = gridCells(grid);
  const failed = records.filter((r) => r.status === 'error').map((r) => ({ index: r.index, dims: r.dims, alpha: r.alpha, seed: r.seed, error: r.error ?? '' }));
  const ok = records.filter((r) => r.status === 'ok');
  let kappa: number | null = null;
  for (const r of ok) {
    const k = r.comparison?.conventions.kappa;
    if (typeof k === 'number') { kappa = k; break; }
  }
  const c0 = ok[0]?.comparison?.conventions;
  const conventions = c0 ? { loss: c0.loss, time: c0.time, init: c0.init } : null;
  const dataSources = [...new Set(ok.map((r) => r.dataSource ?? ''))].filter((s) => s !== '').sort();

  const dimsCombos: Record<string, number>[] = [];
  for (const c of cells) if (!dimsCombos.some((d) => dimsKey(d) === dimsKey(c.dims))) dimsCombos.push(c.dims);
  // value(method, k) for one cell, or undefined
  const rescaledOf = (r: CellRecord | undefined, m: string, k: number): number | undefined => {
    const j = r?.status === 'ok' ? r.comparison?.matched[k - 1] : undefined;
    const v = j?.rescaledTime[m];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const indexOf = new Map(cells.map((c) => [`${dimsKey(c.dims)}|${c.alpha}|${c.seed}`, c.index]));
  const cellAt = (dims: Record<string, number>, alpha: number, seed: number): CellRecord | undefined => {
    const i = indexOf.get(`${dimsKey(dims)}|${alpha}|${seed}`);
    return i === undefined ? undefined : byIndex.get(i);
  };

  const rows: JumpRow[] = [];
  const extrapolation: ExtrapolationRow[] = [];
  for (const dims of dimsCombos) {
    let K = 0;
    for (const alpha of grid.alphas) for (const seed of grid.seeds) K = Math.max(K, cellAt(dims, alpha, seed)?.comparison?.matched.length ?? 0);
    for (const alpha of grid.alphas) {
      const here = grid.seeds.map((s) => cellAt(dims, alpha, s));
      for (let k = 1; k <= K; k++) {
        const rescaled: Record<string, MeanSd> = {};
        for (const m of methods) rescaled[m] = meanSd(here.map((r) => rescaledOf(r, m, k)).filter((v): v is number => v !== undefined));
        const relError: Record<string, MeanSd> = {};
        const sameNeuron: Record<string, { agree: number; of: number }> = {};
        for (const m of others) {
          const errs: number[] = [];
          let agree = 0, of = 0;
          for (const r of here) {
            const j = r?.status === 'ok' ? r.comparison?.matched[k - 1] : undefined;
            const e = j?.relError[m];
            if (typeof e === 'number' && Number.isFinite(e)) errs.push(e);
            const a = j?.neuronAgrees[m];
            if (a === true || a === false) { of++; if (a) agree++; }
          }
          relError[m] = meanSd(errs);
          sameNeuron[m] = { agree, of };
        }
        const neurons = new Set(here.map((r) => (r?.status === 'ok' ? r.comparison?.matched[k - 1]?.neuronPerMethod.agf : undefined)));
        const only = neurons.size === 1 ? [...neurons][0] : undefined;
        rows.push({ dims, alpha, k, seeds: grid.seeds.length, neuron: typeof only === 'number' ? only : null, rescaled, relError, sameNeuron });
      }
    }
    if (kappa !== 2) continue;
    for (let k = 1; k <= K; k++) {
      for (const m of methods) {
        // seeds with this jump at every alpha, for both the method and AGF
        const series: number[][] = [], agfSeries: number[][] = [];
        for (const seed of grid.seeds) {
          const ys = grid.alphas.map((a) => rescaledOf(cellAt(dims, a, seed), m, k));
          const as = grid.alphas.map((a) => rescaledOf(cellAt(dims, a, seed), 'agf', k));
          if (ys.every((v) => v !== undefined) && as.every((v) => v !== undefined)) {
            series.push(ys as number[]);
            agfSeries.push(as as number[]);
          }
        }
        if (series.length === 0) continue;
        const fit = extrapolateToZero(grid.alphas, series);
        const agf = extrapolateToZero(grid.alphas, agfSeries);
        const difference = m === 'agf' ? null : extrapolateToZero(grid.alphas, series.map((s, q) => s.map((v, i) => v - agfSeries[q][i])));
        const consistent = difference && difference.ci95 !== null && difference.fitDof > 0 ? Math.abs(difference.a) <= difference.ci95 : null;
        extrapolation.push({ dims, k, method: m, fit, agf, difference, consistent });
      }
    }
  }
  const extrapolationNote = kappa === null
    ? 'no AGF schedule finished: nothing to extrapolate'
    : kappa !== 2
      ? `κ = ${kappa}: the rescaled time is not t/log(1/α), so the 1/log(1/α) extrapolation does not apply`
      : null;
  return {
    methods,
    kappa,
    rows,
    extrapolation,
    extrapolationNote,
    failed,
    conventions,
    dataSources,
    cells: { total: cells.length, ok: ok.length, failed: failed.length },
  };
}
