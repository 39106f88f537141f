/**
 * Jumps of an integrated flow located against known plateau levels: jump k is the time the loss
 * crosses the midpoint between levels k − 1 and k. Gradient flow decreases the loss monotonically,
 * so each midpoint is crossed exactly once and the event is unambiguous. The levels are saddle
 * values (exact critical values, e.g. reduced-rank regression), not timing predictions, so the
 * detected times are an independent measurement to compare the predictions with.
 */
import type { Problem } from '../problem.ts';
import { solveFlow, type FlowOptions } from '../solvers/flow.ts';
import type { Trajectory } from '../trajectory.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';

export interface LevelCrossingResult {
  schedule: JumpSchedule;
  trajectory: Trajectory;
  /** Loss measured mid-plateau after each detected jump (NaN when the jump was not reached). */
  plateaus: number[];
}

export function flowJumpsAtLevels(
  p: Problem,
  initialLoss: number,
  levels: number[],
  opts: Omit<FlowOptions, 'events'> & { label?: string },
): LevelCrossingResult {
  const { X, Y, n } = p.data;
  const all = [initialLoss, ...levels];
  const events = levels.map((_, k) => {
    const mid = 0.5 * (all[k] + all[k + 1]);
    return { name: `jump${k + 1}`, g: (_t: number, th: Float64Array) => p.kernels.loss(th, X, Y, n) - mid, direction: -1 as const };
  });
  const tr = solveFlow(p, { ...opts, events });
  const L = Math.log(1 / p.alpha);
  const times = levels.map((_, k) => tr.events.find((e) => e.name === `jump${k + 1}`)?.t ?? NaN);
  const tEnd = tr.t[tr.t.length - 1];
  const at = (t: number): number => p.kernels.loss(tr.dense ? tr.dense(t) : tr.states[tr.states.length - 1], X, Y, n);
  const plateaus = times.map((t, k) => {
    if (!Number.isFinite(t)) return NaN;
    const next = times[k + 1];
    // the middle of the plateau in log-time terms is far from both jumps; the arithmetic midpoint suffices
    return at(Number.isFinite(next) ? 0.5 * (t + next) : tEnd);
  });
  const jumps: Jump[] = [];
  times.forEach((t, k) => {
    if (Number.isFinite(t)) jumps.push({ time: t, rescaledTime: t / L, neuron: k, lossAfter: plateaus[k], deactivated: [] });
  });
  return {
    schedule: {
      model: p.model.spec.name,
      method: opts.label ?? tr.method,
      conventions: { ...p.conventions, time: 'flow time (rescaledTime = t / log(1/alpha)); jump = loss crossing the midpoint between consecutive saddle levels' },
      initialLoss: p.kernels.loss(p.theta0, X, Y, n),
      jumps,
      extra: { steps: tr.stats.steps, fevals: tr.stats.fevals },
    },
    trajectory: tr,
    plateaus,
  };
}
