/**
 * The one solution type every solver returns: stored times and states, the loss and any
 * monitored quantities at those times, located events, and dense evaluation when the method
 * has it. Flow time is the time axis for all methods (descent maps step k to t = kη).
 */
import type { Conventions, Problem } from './problem.ts';

export interface TrajectoryEvent {
  name: string;
  t: number;
  state: Float64Array;
}

export interface Trajectory {
  model: string;
  /** 'flow:dopri5', 'flow:gauss4', 'gd', 'momentum', 'exact:…' */
  method: string;
  t: number[];
  states: Float64Array[];
  loss: number[];
  monitors: Record<string, number[]>;
  events: TrajectoryEvent[];
  dense?: (t: number) => Float64Array;
  stats: Record<string, number | string>;
  conventions: Conventions;
  status: string;
}

export function buildTrajectory(
  p: Problem,
  method: string,
  t: number[],
  states: Float64Array[],
  extra: Partial<Pick<Trajectory, 'events' | 'dense' | 'stats' | 'status' | 'loss'>> & { timeConvention?: string } = {},
): Trajectory {
  const loss = extra.loss ?? states.map((s) => p.kernels.loss(s, p.data.X, p.data.Y, p.data.n));
  const monitors: Record<string, number[]> = {};
  for (const m of p.monitors) monitors[m.name] = states.map(m.fn);
  return {
    model: p.model.spec.name,
    method,
    t,
    states,
    loss,
    monitors,
    events: extra.events ?? [],
    dense: extra.dense,
    stats: extra.stats ?? {},
    conventions: { ...p.conventions, time: extra.timeConvention ?? p.conventions.time },
    status: extra.status ?? 'done',
  };
}

/** Index of the stored time closest to t. */
export function nearestIndex(tr: Trajectory, t: number): number {
  let lo = 0, hi = tr.t.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (tr.t[mid] <= t) lo = mid;
    else hi = mid;
  }
  return Math.abs(tr.t[lo] - t) <= Math.abs(tr.t[hi] - t) ? lo : hi;
}
