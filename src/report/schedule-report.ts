/**
 * Reports for jump schedules: the schedule table, the compare plot (simulated loss on the
 * rescaled time axis with the AGF step function and jump lines). The sweep plot: src/sweep/report.ts.
 */
import type { JumpSchedule, TimeUnit } from '../schedule.ts';
import { nearestIndex, type Trajectory } from '../trajectory.ts';
import { LOSS_AXIS, lossDomain, methodSeries, methodStyle } from './figure-style.ts';
import type { Table } from './table.ts';
import { formatNumber } from './table.ts';
import { PALETTE, renderSvg, type Series } from './svg.ts';

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
