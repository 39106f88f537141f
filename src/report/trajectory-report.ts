/**
 * Reports for trajectories: a checkpoint table, a JSON summary and SVG plots. Every output
 * carries the conventions (loss normalisation, time unit, alpha) of the run it reports.
 */
import type { Problem } from '../problem.ts';
import type { Trajectory } from '../trajectory.ts';
import { nearestIndex } from '../trajectory.ts';
import { norm2 } from '../util/linalg.ts';
import type { Table } from './table.ts';
import { machineConventions, plain } from './json.ts';
import { renderPanels, type PlotSpec, type Series } from './svg.ts';
import { LOSS_AXIS, lossDomain, methodSeries, methodStyle } from './figure-style.ts';

export interface Checkpoint {
  t: number;
  loss: number;
  thetaNorm: number;
  monitors: Record<string, number>;
}

/** The times of `points` checkpoints evenly spaced over [t0, t1] (at least the two ends). */
export function checkpointTimes(t0: number, t1: number, points: number): number[] {
  const m = Math.max(2, points);
  return Array.from({ length: m }, (_, k) => t0 + ((t1 - t0) * k) / (m - 1));
}

/** `points` checkpoints evenly spaced in time (dense output when the method has it). */
export function checkpoints(tr: Trajectory, p: Problem, points: number): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (const t of checkpointTimes(tr.t[0], tr.t[tr.t.length - 1], points)) {
    let state: Float64Array;
    let loss: number;
    let tt = t;
    if (tr.dense) {
      state = tr.dense(t);
      loss = p.kernels.loss(state, p.data.X, p.data.Y, p.data.n);
    } else {
      const q = nearestIndex(tr, t);
      state = tr.states[q];
      loss = tr.loss[q];
      tt = tr.t[q];
    }
    const monitors: Record<string, number> = {};
    for (const mon of p.monitors) monitors[mon.name] = mon.fn(state);
    out.push({ t: tt, loss, thetaNorm: norm2(state), monitors });
  }
  return out;
}

export function checkpointTable(tr: Trajectory, p: Problem, cps: Checkpoint[], notes: string[]): Table {
  const monNames = p.monitors.map((m) => m.name);
  return {
    title: `${p.model.spec.name} · ${tr.method}`,
    columns: [
      { key: 't', header: 't' },
      { key: 'loss', header: 'loss' },
      { key: 'thetaNorm', header: '‖θ‖', latexHeader: '$\\|\\theta\\|$' },
      ...monNames.map((n) => ({ key: n, header: n })),
    ],
    rows: cps.map((c) => ({ t: c.t, loss: c.loss, thetaNorm: c.thetaNorm, ...c.monitors })),
    notes,
  };
}

/** The `flow|descent|exact --json` body: conventions, final state, checkpoints (the full trajectory is --export). */
export function trajectoryJson(tr: Trajectory, p: Problem, cps: Checkpoint[]): Record<string, unknown> {
  const last = tr.states.length - 1;
  return {
    model: tr.model,
    method: tr.method,
    conventions: machineConventions(tr.conventions, p.derived.kappa, { rescaled: false }),
    initialLoss: plain(tr.loss[0]),
    final: plain({ t: tr.t[last], loss: tr.loss[last], theta: Array.from(tr.states[last]) }),
    checkpoints: plain(cps),
    events: tr.events.map((e) => ({ name: e.name, t: e.t })),
    stats: plain(tr.stats),
    status: tr.status,
    dims: p.layout.dims,
    data: p.data.source,
  };
}

/**
 * Loss and parameter norm against flow time, every trajectory in the same two panels with its
 * method's style (src/report/figure-style.ts: closed forms dashed, simulations solid). The loss
 * axis spans at most 12 decades and the caption says what runs off it.
 */
export function trajectoryPlots(trs: Trajectory[], p: Problem, caption: string): string {
  // predictions (dashed) drawn last, so a simulation on top of its closed form does not hide it
  const order = [...trs].sort((a, b) => Number(methodStyle(a.method).prediction) - Number(methodStyle(b.method).prediction));
  const loss: Series[] = order.map((tr) => methodSeries(tr.method, tr.t, tr.loss));
  const norm: Series[] = order.map((tr) => methodSeries(tr.method, tr.t, tr.states.map(norm2)));
  const range = lossDomain(loss);
  const panels: PlotSpec[] = [
    { title: `${p.model.spec.name}: loss`, xLabel: 'flow time t', yLabel: LOSS_AXIS, series: loss, logY: true, yDomain: range.domain, caption: [caption, range.note].filter((c) => c).join(' ') },
    { title: `${p.model.spec.name}: ‖θ‖`, xLabel: 'flow time t', yLabel: '‖θ(t)‖', series: norm, logY: true, caption },
  ];
  return renderPanels(panels, 2);
}
