/**
 * Numerical maximisation of a neuron's normalised utility Û(θ) = U(θ/‖θ‖; r),
 * U(θ; r) = (1/n) Σ_j ⟨f_θ(x_j), r_j⟩ (theory.md §3), on the unit sphere, for any model —
 * through the compiled kernels only: neuronOutputs for values, vjpMean with E = r for ∇U.
 *
 * The H neurons of the compiled model are H independent starts run side by side (one kernel call
 * evaluates all of them). Riemannian gradient ascent: step along the tangent gradient
 * g⊥ = ∇U − ⟨θ, ∇U⟩θ, retract by normalising, per-start Armijo backtracking (halve on failure,
 * grow by 1.5 on success). Stops a start when ‖g⊥‖ ≤ tol·max(‖∇U‖, …): near a non-degenerate
 * maximum the value error is O(‖g⊥‖²), so tol = 1e-9 puts it at round-off.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { Rng } from '../util/rng.ts';

export interface UtilityMaxOptions {
  /** Residual r (n×c); default startResidual(p), the utility at the start of training. */
  residual?: Float64Array;
  /** Number of random starts (default H, the compiled width; more run in batches of H). */
  starts?: number;
  seed?: number;
  /** Starting directions (flat, neuron-major, any norm); overrides random starts. */
  init?: Float64Array;
  maxIter?: number;
  /** Relative tangent-gradient tolerance (default 1e-9). */
  tol?: number;
}

export interface UtilityMaxResult {
  /** Unit-norm maximisers, one per start. */
  directions: Float64Array[];
  values: number[];
  iterations: number[];
  converged: boolean[];
  /** ‖g⊥‖ at the end of each start. */
  tangentGrad: number[];
  /** Index of the start with the largest value. */
  best: number;
}

function batch(p: Problem, r: Float64Array, th: Float64Array, maxIter: number, tol: number, active: number): { values: Float64Array; iters: Int32Array; done: Uint8Array; gt: Float64Array } {
  const { H, P, c } = p.layout;
  const { X, n } = p.data;
  const outs = new Float64Array(H * n * c);
  const grad = new Float64Array(H * P);
  const trial = new Float64Array(H * P);
  const values = new Float64Array(H);
  const tv = new Float64Array(H);
  const eta = new Float64Array(H);
  const iters = new Int32Array(H);
  const done = new Uint8Array(H);
  const gtn = new Float64Array(H);
  const mask = new Uint8Array(H);
  for (let i = 0; i < active; i++) mask[i] = 1;
  const evalValues = (t: Float64Array, into: Float64Array): void => {
    p.kernels.neuronOutputs(t, X, n, outs);
    for (let i = 0; i < active; i++) {
      let s = 0;
      const b = i * n * c;
      for (let q = 0; q < n * c; q++) s += outs[b + q] * r[q];
      into[i] = s / n;
    }
  };
  evalValues(th, values);
  const gradients = (): void => {
    p.kernels.vjpMean(th, X, r, n, grad, mask);
    for (let i = 0; i < active; i++) {
      if (done[i]) continue;
      let radial = 0, gn = 0;
      for (let a = 0; a < P; a++) radial += grad[i * P + a] * th[i * P + a];
      for (let a = 0; a < P; a++) {
        grad[i * P + a] -= radial * th[i * P + a];
        gn += grad[i * P + a] ** 2;
      }
      gtn[i] = Math.sqrt(gn);
      // radial = κÛ for homogeneous neurons: the natural scale of the gradient
      const scale = Math.max(Math.abs(radial), gtn[i], 1e-300);
      if (gtn[i] <= tol * scale) done[i] = 1;
    }
  };
  gradients();
  for (let i = 0; i < active; i++) eta[i] = 1 / Math.max(gtn[i], 1e-12) * 0.1;
  for (let it = 0; it < maxIter; it++) {
    let left = 0;
    for (let i = 0; i < active; i++) if (!done[i]) left++;
    if (left === 0) break;
    trial.set(th);
    for (let i = 0; i < active; i++) {
      if (done[i]) continue;
      let s = 0;
      for (let a = 0; a < P; a++) {
        const v = th[i * P + a] + eta[i] * grad[i * P + a];
        trial[i * P + a] = v;
        s += v * v;
      }
      const inv = 1 / Math.sqrt(s);
      for (let a = 0; a < P; a++) trial[i * P + a] *= inv;
    }
    evalValues(trial, tv);
    for (let i = 0; i < active; i++) {
      if (done[i]) continue;
      iters[i]++;
      if (tv[i] >= values[i] + 1e-4 * eta[i] * gtn[i] * gtn[i]) {
        th.set(trial.subarray(i * P, (i + 1) * P), i * P);
        values[i] = tv[i];
        eta[i] *= 1.5;
      } else {
        eta[i] *= 0.5;
        // the step cannot change the value in floating point any more: converged to round-off
        if (eta[i] * gtn[i] < 1e-15) done[i] = 1;
      }
    }
    gradients();
  }
  return { values, iters, done, gt: gtn };
}

/**
 * The residual at the start of training, r_j = −∇_z ℓ(z_j, t_j) at the outputs z = f(x_j; 0) = 0
 * of homogeneous neurons: the targets y for the squared loss; for cross-entropy y − softmax(0) =
 * y − 1/V (using y there gave softmax-mlp another maximiser, along the all-ones logit direction
 * that softmax ignores).
 */
export function startResidual(p: Problem): Float64Array {
  if (p.kernels.lossForm.choice.name === 'mse') return p.data.Y;
  const { n } = p.data, c = p.layout.c;
  const G = new Float64Array(n * c);
  p.kernels.outputLoss(new Float64Array(n * c), p.data.Y, n, G);
  for (let k = 0; k < G.length; k++) G[k] = -G[k];
  return G;
}

export function maximiseUtility(p: Problem, opts: UtilityMaxOptions = {}): UtilityMaxResult {
  const { H, P, c } = p.layout;
  const { n } = p.data;
  const r = opts.residual ?? startResidual(p);
  if (r.length !== n * c) throw new GradflowError(`utility: the residual has ${r.length} entries, expected n·c = ${n * c}`);
  const starts = opts.init ? opts.init.length / P : opts.starts ?? H;
  if (!Number.isInteger(starts) || starts < 1) throw new GradflowError(`utility: the number of starts must be a positive integer (got ${starts})`);
  const rng = new Rng(opts.seed ?? 0);
  const maxIter = opts.maxIter ?? 20_000;
  const tol = opts.tol ?? 1e-9;
  const res: UtilityMaxResult = { directions: [], values: [], iterations: [], converged: [], tangentGrad: [], best: 0 };
  for (let s0 = 0; s0 < starts; s0 += H) {
    const m = Math.min(H, starts - s0);
    const th = new Float64Array(H * P);
    for (let i = 0; i < m; i++) {
      const d = opts.init ? opts.init.subarray((s0 + i) * P, (s0 + i + 1) * P) : rng.unitVector(P);
      let s = 0;
      for (let a = 0; a < P; a++) s += d[a] * d[a];
      if (!(s > 0)) throw new GradflowError(`utility: start ${s0 + i} is the zero vector`);
      for (let a = 0; a < P; a++) th[i * P + a] = d[a] / Math.sqrt(s);
    }
    const b = batch(p, r, th, maxIter, tol, m);
    for (let i = 0; i < m; i++) {
      res.directions.push(th.slice(i * P, (i + 1) * P));
      res.values.push(b.values[i]);
      res.iterations.push(b.iters[i]);
      res.converged.push(b.done[i] === 1);
      res.tangentGrad.push(b.gt[i]);
    }
  }
  res.best = res.values.reduce((bi, v, i, a) => (v > a[bi] ? i : bi), 0);
  return res;
}
