/**
 * Gradient descent, heavy-ball momentum and Nesterov momentum. Step k maps to flow time t = kη/(1 − m), the time
 * at which the matching gradient flow is compared. Backends implement one interface so a
 * TensorFlow.js backend can replace gradflow's Float64Array loop without touching callers.
 */
import { DivergenceError, GradflowError } from '../util/errors.ts';
import { CAPS, checkCap } from '../util/limits.ts';
import type { Problem } from '../problem.ts';
import { buildTrajectory, type Trajectory } from '../trajectory.ts';

export interface DescentOptions {
  lr: number;
  steps: number;
  momentum?: number;
  /**
   * Nesterov momentum (needs momentum > 0), in the form PyTorch's SGD(nesterov=True) uses:
   * b ← m·b + ∇L(θ), θ ← θ − η(∇L(θ) + m·b); with v = −η·b: v ← m·v − η∇L, θ ← θ + m·v − η∇L.
   * One gradient per step, at θ (the loss recorded is L(θ)).
   */
  nesterov?: boolean;
  /** Store every this many steps (the last step is always stored). */
  recordEvery?: number;
  backend?: DescentBackend;
  theta0?: Float64Array;
  /**
   * The momentum buffer v at step 0 (heavy ball / Nesterov; default 0), with recordVelocity: a run
   * restarted from a stored step is the same iteration (float64 backend only).
   */
  velocity0?: Float64Array;
  /** Keep v at the stored steps too (Trajectory.velocities; float64 backend only). */
  recordVelocity?: boolean;
  /** Called at the stored steps with the fraction k/steps done (a progress line; no effect on the result). */
  onProgress?: (fraction: number) => void;
}

export interface DescentRecord {
  step: number;
  theta: Float64Array;
  loss: number;
  /** The momentum buffer at this step, where asked for (float64 backend). */
  velocity?: Float64Array;
}

export interface DescentBackend {
  name: string;
  /** Run the iteration, calling record(k, θ_k, L(θ_k)) at the stored steps. */
  /** nesterov: only backends that list it in `nesterov` are given it (the others run heavy ball). */
  nesterov?: boolean;
  run(p: Problem, opts: Required<Pick<DescentOptions, 'lr' | 'steps' | 'momentum' | 'recordEvery'>> & { nesterov?: boolean; velocity0?: Float64Array; recordVelocity?: boolean }, theta0: Float64Array, record: (r: DescentRecord) => void): void;
}

/** gradflow's own double-precision loop over the compiled kernels. */
export const float64Backend: DescentBackend = {
  name: 'float64',
  nesterov: true,
  run(p, { lr, steps, momentum, recordEvery, nesterov, velocity0, recordVelocity }, theta0, record) {
    const { X, Y, n } = p.data;
    // the data bound once: no per-step fingerprint of X and Y (the same bits as kernels.lossGrad)
    const kb = p.kernels.bind(X, Y, n);
    const th = Float64Array.from(theta0);
    const g = new Float64Array(th.length);
    const v = velocity0 ? Float64Array.from(velocity0) : new Float64Array(th.length);
    for (let k = 0; k <= steps; k++) {
      const loss = kb.lossGrad(th, g);
      if (!Number.isFinite(loss)) throw new DivergenceError(`descent${momentum ? ` (${nesterov ? 'Nesterov' : 'heavy ball'}, m = ${momentum})` : ''} diverged at step ${k} (loss = ${loss}) at lr = ${lr}; give a smaller --lr`);
      if (k % recordEvery === 0 || k === steps) record({ step: k, theta: th.slice(), loss, ...(recordVelocity ? { velocity: v.slice() } : {}) });
      if (k === steps) break;
      if (momentum === 0) {
        for (let q = 0; q < th.length; q++) th[q] -= lr * g[q];
      } else if (nesterov) {
        for (let q = 0; q < th.length; q++) {
          v[q] = momentum * v[q] - lr * g[q];
          th[q] += momentum * v[q] - lr * g[q];
        }
      } else {
        for (let q = 0; q < th.length; q++) {
          v[q] = momentum * v[q] - lr * g[q];
          th[q] += v[q];
        }
      }
    }
  },
};

export function solveDescent(p: Problem, opts: DescentOptions): Trajectory {
  const { lr, steps } = opts;
  const momentum = opts.momentum ?? 0;
  if (!Number.isFinite(lr) || lr <= 0) throw new GradflowError(`descent: the learning rate must be positive (got ${lr})`);
  if (!Number.isInteger(steps) || steps < 0) throw new GradflowError(`descent: steps must be a non-negative integer (got ${steps})`);
  checkCap(CAPS.steps, steps, 'descent: steps');
  if (!(momentum >= 0 && momentum < 1)) throw new GradflowError(`descent: momentum must be in [0, 1) (got ${momentum})`);
  const nesterov = opts.nesterov === true;
  if (nesterov && !(momentum > 0)) throw new GradflowError('descent: Nesterov needs a momentum in (0, 1)');
  const recordEvery = Math.max(1, Math.floor(opts.recordEvery ?? Math.max(1, Math.ceil(steps / 2000))));
  const backend = opts.backend ?? float64Backend;
  if (nesterov && !backend.nesterov) throw new GradflowError(`descent: the ${backend.name} backend has no Nesterov momentum; use the float64 backend`);
  if ((opts.velocity0 || opts.recordVelocity) && backend !== float64Backend) throw new GradflowError(`descent: velocity0 and recordVelocity are options of the float64 backend (not ${backend.name})`);
  if (opts.velocity0 && opts.velocity0.length !== (opts.theta0 ?? p.theta0).length) throw new GradflowError(`descent: velocity0 has ${opts.velocity0.length} entries, the state ${(opts.theta0 ?? p.theta0).length}`);
  const t: number[] = [], states: Float64Array[] = [], loss: number[] = [], stepIdx: number[] = [], velocities: Float64Array[] = [];
  const timePerStep = lr / (1 - momentum);
  backend.run(p, { lr, steps, momentum, recordEvery, nesterov, velocity0: opts.velocity0, recordVelocity: opts.recordVelocity }, opts.theta0 ?? p.theta0, (r) => {
    opts.onProgress?.(steps > 0 ? r.step / steps : 1);
    t.push(r.step * timePerStep);
    states.push(r.theta);
    loss.push(r.loss);
    stepIdx.push(r.step);
    if (r.velocity) velocities.push(r.velocity);
  });
  const tr = buildTrajectory(p, nesterov ? 'nesterov' : momentum > 0 ? 'momentum' : 'gd', t, states, {
    loss,
    stats: { steps, lr, momentum, backend: backend.name, ...(nesterov ? { update: 'nesterov' } : {}) },
    timeConvention: momentum > 0 ? `flow time t = k·lr/(1 − momentum), lr = ${lr}, momentum = ${momentum}${nesterov ? ', Nesterov' : ''}` : `flow time t = k·lr, lr = ${lr}`,
  });
  tr.monitors.step = stepIdx;
  if (opts.recordVelocity) tr.velocities = velocities;
  return tr;
}
