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
  /** Descent with momentum and recordVelocity: the momentum buffer at each stored step (a run restarts there exactly). */
  velocities?: Float64Array[];
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
  const tr: Trajectory = {
    model: p.model.spec.name,
    method,
    t,
    states,
    loss: extra.loss ?? [],
    monitors: {},
    events: extra.events ?? [],
    dense: extra.dense,
    stats: extra.stats ?? {},
    conventions: { ...p.conventions, time: extra.timeConvention ?? p.conventions.time },
    status: extra.status ?? 'done',
  };
  // loss and monitors at every stored state cost a pass over the data each: evaluated on first
  // read (a run reported at a few checkpoints never pays for them)
  if (!extra.loss) lazy(tr, 'loss', () => states.map((s) => p.kernels.loss(s, p.data.X, p.data.Y, p.data.n)));
  lazy(tr, 'monitors', () => {
    const monitors: Record<string, number[]> = {};
    for (const m of p.monitors) monitors[m.name] = states.map(m.fn);
    return monitors;
  });
  return tr;
}

/** Replaces a field by a getter that computes it once (enumerable, so spreads and JSON see it; assignable). */
function lazy<K extends 'loss' | 'monitors'>(tr: Trajectory, key: K, compute: () => Trajectory[K]): void {
  let value: Trajectory[K] | undefined;
  Object.defineProperty(tr, key, {
    enumerable: true,
    configurable: true,
    get: () => (value ??= compute()),
    set: (v: Trajectory[K]) => {
      value = v;
    },
  });
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
