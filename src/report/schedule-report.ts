/**
 * Reports for jump schedules: the schedule table, the compare plot (simulated loss on the
 * rescaled time axis with the AGF step function and jump lines) and the α-sweep plot.
 */
import type { JumpSchedule, TimeUnit } from '../schedule.ts';
import { nearestIndex, type Trajectory } from '../trajectory.ts';
import { LOSS_AXIS, lossDomain, methodSeries, methodStyle } from './figure-style.ts';
import type { Table } from './table.ts';
import { formatNumber } from './table.ts';
import { PALETTE, renderPanels, renderSvg, type Series } from './svg.ts';

const fmtSign = (v: unknown): string => (v === 1 ? '+' : v === -1 ? '−' : v === 0 ? '0' : '—');
const fmtList = (v: unknown): string => (Array.isArray(v) && v.length ? v.join(' ') : '—');

export function scheduleTable(s: JumpSchedule, unit: TimeUnit, notes: string[] = []): Table {
  return {
    title: `${s.method} jump schedule — ${s.model} (initial loss ${formatNumber(s.initialLoss)})`,
    columns: [
      { key: 'k', header: 'k' },
      { key: 'time', header: 'time' },
      { key: 'rescaledTime', header: unit.label, latexHeader: `$${unit.latex}$` },
      { key: 'neuron', header: 'neuron' },
      { key: 'sign', header: 'sign', format: fmtSign },
      { key: 'lossAfter', header: 'loss after' },
      { key: 'deactivated', header: 'deactivated', format: fmtList },
    ],
    rows: s.jumps.map((j, k) => ({ k: k + 1, ...j })),
    notes: [`time: flow time; ${unit.note}`, `loss: ${s.conventions.loss}`, `init: ${s.conventions.init}; alpha = ${s.conventions.alpha}`, ...notes],
  };
}

/**
 * Every method on one rescaled time axis (t / T_κ(α), the unit the schedules are in): simulated
 * losses as solid curves with their detected jumps as dots, every prediction's plateau levels
 * as a dashed step function, the reference prediction's jump times as numbered verticals.
 */
export function comparisonPlot(schedules: JumpSchedule[], trajectories: Record<string, Trajectory>, unit: TimeUnit, caption: string): string {
  const series: Series[] = [];
  const predictions = schedules.filter((s) => methodStyle(s.method).prediction);
  for (const [name, tr] of Object.entries(trajectories)) {
    series.push(methodSeries(name, tr.t.map((t) => t / unit.scale), tr.loss));
    const detected = schedules.find((s) => s.method === name);
    if (detected && detected.jumps.length) {
      const st = methodStyle(name);
      series.push({ name: `${st.label}: detected jumps`, x: detected.jumps.map((j) => j.time / unit.scale), y: detected.jumps.map((j) => tr.loss[nearestIndex(tr, j.time)]), style: 'points', color: st.color });
    }
  }
  for (const s of predictions) {
    series.push(methodSeries(s.method, [0, ...s.jumps.map((j) => j.time / unit.scale)], [s.initialLoss, ...s.jumps.map((j) => j.lossAfter)], 'step'));
  }
  const { domain, note } = lossDomain(series);
  const ref = predictions[0];
  const model = schedules[0]?.model ?? '';
  return renderSvg({
    title: `Loss vs rescaled time — ${model}, α = ${unit.alpha}`,
    xLabel: unit.definition ? `${unit.label}, ${unit.definition}` : unit.label,
    yLabel: LOSS_AXIS,
    logY: true,
    yDomain: domain,
    series,
    vlines: ref ? ref.jumps.map((j, k) => ({ x: j.time / unit.scale, label: `${k + 1}`, color: methodStyle(ref.method).color, dashed: true })) : [],
    caption: [/[.!?]$/.test(caption) ? caption : `${caption}.`, ref ? `Numbered verticals: ${methodStyle(ref.method).label} jump times.` : '', note ?? ''].filter((x) => x).join(' '),
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
