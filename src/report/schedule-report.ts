/**
 * Reports for jump schedules: the schedule table, the compare plot (simulated loss on the
 * rescaled time axis with the AGF step function and jump lines) and the α-sweep plot.
 */
import type { JumpSchedule } from '../schedule.ts';
import type { Trajectory } from '../trajectory.ts';
import type { Table } from './table.ts';
import { formatNumber } from './table.ts';
import { PALETTE, renderPanels, renderSvg, type Series } from './svg.ts';

const fmtSign = (v: unknown): string => (v === 1 ? '+' : v === -1 ? '−' : v === 0 ? '0' : '—');
const fmtList = (v: unknown): string => (Array.isArray(v) && v.length ? v.join(' ') : '—');

export function scheduleTable(s: JumpSchedule, notes: string[] = []): Table {
  // κ ≠ 2 schedules are rescaled by (α^{2−κ} − 1)/(κ − 2), not log(1/α); their conventions say which
  const logUnit = !/κ\s*=\s*[013-9]/.test(s.conventions.time);
  return {
    title: `${s.method} jump schedule — ${s.model} (initial loss ${formatNumber(s.initialLoss)})`,
    columns: [
      { key: 'k', header: 'k' },
      { key: 'time', header: 'time' },
      logUnit
        ? { key: 'rescaledTime', header: 't/log(1/α)', latexHeader: '$t/\\log(1/\\alpha)$' }
        : { key: 'rescaledTime', header: 'rescaled t', latexHeader: '$\\tilde t$' },
      { key: 'neuron', header: 'neuron' },
      { key: 'sign', header: 'sign', format: fmtSign },
      { key: 'lossAfter', header: 'loss after' },
      { key: 'deactivated', header: 'deactivated', format: fmtList },
    ],
    rows: s.jumps.map((j, k) => ({ k: k + 1, ...j })),
    notes: [`time: ${s.conventions.time}`, `loss: ${s.conventions.loss}`, `init: ${s.conventions.init}; alpha = ${s.conventions.alpha}`, ...notes],
  };
}

/** Simulated losses against t/log(1/α), the reference schedule as a step function, its jumps as vertical lines. */
export function comparisonPlot(reference: JumpSchedule, trajectories: Record<string, Trajectory>, alpha: number, caption: string): string {
  const logInv = Math.log(1 / alpha);
  const floor = 1e-10 * reference.initialLoss;
  const series: Series[] = [];
  let c = 0;
  for (const [name, tr] of Object.entries(trajectories)) {
    series.push({ name: `${name} (simulated)`, x: tr.t.map((t) => t / logInv), y: tr.loss.map((l) => Math.max(l, floor)), style: name === 'gd' ? 'dashed' : 'line', color: PALETTE[c++ % PALETTE.length] });
  }
  const xs = [0, ...reference.jumps.map((j) => j.rescaledTime)];
  const ys = [reference.initialLoss, ...reference.jumps.map((j) => Math.max(j.lossAfter, floor))];
  series.push({ name: `${reference.method} (predicted levels)`, x: xs, y: ys, style: 'step', color: PALETTE[6] });
  return renderSvg({
    title: `Loss vs rescaled time — ${reference.model}, alpha = ${alpha}`,
    xLabel: 't / log(1/alpha)',
    yLabel: 'loss (1/(2n) sum of squares)',
    logY: true,
    series,
    vlines: reference.jumps.map((j, k) => ({ x: j.rescaledTime, label: `${k + 1}`, color: PALETTE[6], dashed: true })),
    caption,
  });
}

export interface SweepPoint {
  alpha: number;
  k: number;
  predicted: number | null;
  simulated: number | null;
}

/** Simulated rescaled jump times against log10(1/α), with the α → 0 prediction as dashed lines. */
export function sweepPlot(points: SweepPoint[], limit: JumpSchedule | null, caption: string): string {
  const ks = [...new Set(points.map((p) => p.k))].sort((a, b) => a - b);
  const series: Series[] = [];
  ks.forEach((k, q) => {
    const pts = points.filter((p) => p.k === k && p.simulated !== null).sort((a, b) => b.alpha - a.alpha);
    if (pts.length) series.push({ name: `jump ${k} (flow)`, x: pts.map((p) => Math.log10(1 / p.alpha)), y: pts.map((p) => p.simulated as number), style: 'points', color: PALETTE[q % PALETTE.length] });
    const pr = points.filter((p) => p.k === k && p.predicted !== null).sort((a, b) => b.alpha - a.alpha);
    if (pr.length) series.push({ name: `jump ${k} (agf)`, x: pr.map((p) => Math.log10(1 / p.alpha)), y: pr.map((p) => p.predicted as number), style: 'line', color: PALETTE[q % PALETTE.length] });
  });
  // second panel: the relative error on log-log axes, against the 1/log(1/α) rate AGF predicts
  const errSeries: Series[] = [];
  ks.forEach((k, q) => {
    const pts = points.filter((p) => p.k === k && p.simulated !== null && p.predicted !== null && p.predicted !== 0).sort((a, b) => b.alpha - a.alpha);
    if (pts.length) {
      errSeries.push({
        name: `jump ${k}`, x: pts.map((p) => Math.log(1 / p.alpha)),
        y: pts.map((p) => Math.abs((p.simulated as number) - (p.predicted as number)) / Math.abs(p.predicted as number)),
        style: 'points', color: PALETTE[q % PALETTE.length],
      });
    }
  });
  const alphas = [...new Set(points.map((p) => p.alpha))].sort((a, b) => b - a);
  const first = errSeries.map((s) => s.y[0]).filter((v) => v > 0).sort((a, b) => a - b);
  if (alphas.length > 1 && first.length) {
    const L0 = Math.log(1 / alphas[0]), ref = first[first.length >> 1];
    const xs = alphas.map((a) => Math.log(1 / a));
    errSeries.push({ name: '∝ 1/log(1/alpha)', x: xs, y: xs.map((x) => (ref * L0) / x), style: 'dashed', color: '#555555' });
  }
  return renderPanels([
    {
      title: 'Rescaled jump times as alpha → 0',
      xLabel: 'log10(1/alpha)',
      yLabel: 't / log(1/alpha)',
      series,
      hlines: limit ? limit.jumps.map((j, k) => ({ y: j.rescaledTime, label: `${limit.method} ${k + 1}`, dashed: true })) : [],
      caption,
    },
    { title: 'Relative error of the simulated jump times', xLabel: 'log(1/alpha)', yLabel: '|t_flow − t_agf| / t_agf', series: errSeries, logX: true, logY: true, caption: 'points: simulated flow vs AGF at the same alpha; dashed: slope −1' },
  ], 2);
}
