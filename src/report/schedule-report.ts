/**
 * Reports for jump schedules: the schedule table, the compare plot (simulated loss on the
 * rescaled time axis with the AGF step function and jump lines). The sweep plot: src/sweep/report.ts.
 */
import type { JumpSchedule } from '../schedule.ts';
import type { Trajectory } from '../trajectory.ts';
import type { Table } from './table.ts';
import { formatNumber } from './table.ts';
import { PALETTE, renderSvg, type Series } from './svg.ts';

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
