/**
 * Gradient descent for many cells of one model at once (a sweep's seeds): the parameters of all
 * runs in one B × N array (the run as the leading dimension), stepped together, each run with its
 * own problem (its data), step and step count. The result of every run is the bytes solveDescent
 * gives for it alone: each run's gradient is the same compiled kernel arithmetic in the same
 * order (below), its update θ ← θ − η∇L is the float64 loop's, and its trajectory is built by
 * solveDescent itself from the recorded states (a replaying backend). Tested cell for cell against
 * the unbatched sweep.
 *
 * What batching saves on a CPU is the per-call work around the arithmetic, not the arithmetic:
 * each run's data is bound once (Kernels.bind: its path — moments / WebAssembly data pass /
 * per-sample kernel — and what that path derives from the data found once, no fingerprint of X
 * and y per call), and the runs' steps share one loop.
 */
import type { Problem } from '../problem.ts';
import { DivergenceError, GradflowError } from '../util/errors.ts';
import { solveDescent, type DescentBackend, type DescentRecord } from '../solvers/descent.ts';
import type { Trajectory } from '../trajectory.ts';

/** One run of a batch: what solveDescent takes (plain gradient descent, momentum 0). */
export interface GdJob {
  p: Problem;
  lr: number;
  steps: number;
  recordEvery: number;
}

type LossGrad = (th: Float64Array, g: Float64Array) => number;

/** ∇L and L of one run's fixed data: Kernels.lossGrad's path and bits, with the data bound once. */
export function fixedDataLossGrad(p: Problem): LossGrad {
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  return (th, g) => kb.lossGrad(th, g);
}

/** Replays a batch run's records through solveDescent, so its trajectory is built by the same code as an unbatched run's. */
function replay(records: DescentRecord[]): DescentBackend {
  return {
    name: 'float64-batched',
    run(_p, _opts, _theta0, record) {
      for (const r of records) record(r);
    },
  };
}

/** solveDescent's option checks alone: it checks, then calls its backend, which stops it here. */
const CHECKED = Symbol('checked');
const checkOnly: DescentBackend = {
  name: 'check',
  run() {
    throw CHECKED;
  },
};

/**
 * Runs every job's gradient descent, all of them step by step together. Returns per job its
 * trajectory, or the error solveDescent would have thrown for it alone (bad options, a
 * divergence: the other runs go on).
 */
export function batchedDescent(jobs: GdJob[]): (Trajectory | GradflowError)[] {
  const out: (Trajectory | GradflowError | null)[] = jobs.map(() => null);
  const B = jobs.length;
  const N = B ? jobs[0].p.theta0.length : 0;
  const live: number[] = [];
  // a job solveDescent would refuse fails the same way, before any step
  for (const [b, j] of jobs.entries()) {
    if (j.p.theta0.length !== N) throw new Error('batchedDescent: the runs of a batch must share one parameter layout');
    try {
      solveDescent(j.p, { lr: j.lr, steps: j.steps, recordEvery: j.recordEvery, backend: checkOnly });
    } catch (err) {
      if (err === CHECKED) live.push(b);
      else if (err instanceof GradflowError) out[b] = err;
      else throw err;
    }
  }
  const TH = new Float64Array(B * N), G = new Float64Array(B * N);
  // run b's θ and ∇L are rows b of TH and G (views made once)
  const th = jobs.map((_, b) => TH.subarray(b * N, (b + 1) * N)), g = jobs.map((_, b) => G.subarray(b * N, (b + 1) * N));
  for (const [b, j] of jobs.entries()) th[b].set(j.p.theta0);
  const lossGrad = jobs.map((j) => fixedDataLossGrad(j.p));
  const records: DescentRecord[][] = jobs.map(() => []);
  const lr = jobs.map((j) => j.lr), steps = jobs.map((j) => j.steps), every = jobs.map((j) => Math.max(1, Math.floor(j.recordEvery)));
  let active = live.slice();
  for (let k = 0; active.length; k++) {
    let finished = false;
    for (const b of active) {
      const t = th[b], gb = g[b];
      // the float64 backend's step (solvers/descent.ts), momentum 0
      const loss = lossGrad[b](t, gb);
      if (!Number.isFinite(loss)) {
        out[b] = new DivergenceError(`descent diverged at step ${k} (loss = ${loss}) at lr = ${lr[b]}; give a smaller --lr`);
        steps[b] = -1;
        finished = true;
        continue;
      }
      if (k % every[b] === 0 || k === steps[b]) records[b].push({ step: k, theta: t.slice(), loss });
      if (k === steps[b]) {
        finished = true;
        continue;
      }
      const h = lr[b];
      for (let q = 0; q < N; q++) t[q] -= h * gb[q];
    }
    if (finished) active = active.filter((b) => out[b] === null && k < steps[b]);
  }
  return jobs.map((j, b) => out[b] ?? solveDescent(j.p, { lr: j.lr, steps: j.steps, recordEvery: j.recordEvery, backend: replay(records[b]) }));
}
