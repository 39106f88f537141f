/**
 * Sign-constrained least squares, the cost step of the Pesme–Flammarion algorithm (theory.md §4):
 *
 *   minimise (1/2n)‖y − Xβ‖²  subject to  β_i ≥ 0 (i ∈ P), β_i ≤ 0 (i ∈ N), β_i = 0 (i ∈ Z),
 *   β_i free (i ∈ F).
 *
 * Reduced to NNLS with free variables: Z columns are dropped, N columns are negated (β_i = −γ_i,
 * γ_i ≥ 0), and the Lawson–Hanson active-set method runs on the rest with the F coordinates
 * permanently in the passive set. Every sub-problem is an unconstrained least squares on the
 * passive columns, solved by pivoted QR (lsq.ts), so rank-deficient passive sets (n < d,
 * collinear columns) are handled. Tolerances are relative to the problem's own scale
 * (‖X‖, ‖y‖), so rescaling X or y does not change which constraints are judged active.
 */
import { GradflowError } from '../util/errors.ts';
import { lsqPivoted } from './lsq.ts';

const EPS = 2.220446049250313e-16;

/** +1: β_i ≥ 0, −1: β_i ≤ 0, 0: β_i = 0, 'free': unconstrained. */
export type SignConstraint = 1 | -1 | 0 | 'free';

export interface SignLsqInput {
  /** n×d, row-major. */
  X: Float64Array;
  y: ArrayLike<number>;
  n: number;
  d: number;
  constraints: ArrayLike<SignConstraint>;
}

export interface SignLsqOptions {
  /** Dual-feasibility tolerance, relative to ‖X‖·‖y‖/n (default 10·max(n, d)·ε). */
  tol?: number;
  /** Iteration cap (default 5·d + 20 passive-set changes). */
  maxIter?: number;
  /**
   * A feasible starting point (e.g. the previous PF step's β): its non-zero, sign-feasible
   * coordinates start in the passive set, so a sequence of nearby problems costs one or two
   * passive-set changes each instead of a cold start.
   */
  warmStart?: ArrayLike<number>;
}

export interface SignLsqResult {
  beta: Float64Array;
  /** (1/2n)‖y − Xβ‖². */
  loss: number;
  /** ∇_β L = −Xᵀ(y − Xβ)/n at the solution. */
  gradient: Float64Array;
  /** Passive-set changes taken. */
  iterations: number;
  /** The absolute dual tolerance used (same units as `gradient`). */
  tolerance: number;
}

export function residualLossGrad(X: Float64Array, y: ArrayLike<number>, n: number, d: number, beta: ArrayLike<number>, grad?: Float64Array): number {
  let loss = 0;
  if (grad) grad.fill(0);
  for (let j = 0; j < n; j++) {
    let f = 0;
    for (let i = 0; i < d; i++) f += X[j * d + i] * beta[i];
    const r = y[j] - f;
    loss += r * r;
    if (grad) for (let i = 0; i < d; i++) grad[i] -= (X[j * d + i] * r) / n;
  }
  return loss / (2 * n);
}

/** Column i of the n×d row-major X, multiplied by `s`. */
function column(X: Float64Array, n: number, d: number, i: number, s: number): Float64Array {
  const c = new Float64Array(n);
  for (let j = 0; j < n; j++) c[j] = s * X[j * d + i];
  return c;
}

/** The problem's own scale for dual (gradient) values: max column norm · ‖y‖ / n. */
export function dualScale(X: Float64Array, y: ArrayLike<number>, n: number, d: number): number {
  let cmax = 0;
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += X[j * d + i] ** 2;
    cmax = Math.max(cmax, Math.sqrt(s));
  }
  let yn = 0;
  for (let j = 0; j < n; j++) yn += y[j] * y[j];
  return (cmax * Math.sqrt(yn)) / n;
}

export function signLsq(input: SignLsqInput, opts: SignLsqOptions = {}): SignLsqResult {
  const { X, y, n, d, constraints } = input;
  if (X.length !== n * d) throw new GradflowError(`sign-lsq: X has ${X.length} entries, expected n·d = ${n}·${d}`);
  if (y.length !== n) throw new GradflowError(`sign-lsq: y has ${y.length} entries, X has ${n} rows`);
  if (constraints.length !== d) throw new GradflowError(`sign-lsq: ${constraints.length} constraints for ${d} coordinates`);
  for (let q = 0; q < X.length; q++) if (!Number.isFinite(X[q])) throw new GradflowError('sign-lsq: X has a non-finite entry');
  for (let j = 0; j < n; j++) if (!Number.isFinite(y[j])) throw new GradflowError('sign-lsq: y has a non-finite entry');

  // flipped problem: coordinate i ↦ column flip[i]·X_i, variable γ_i = flip[i]·β_i
  const flip = new Float64Array(d);
  const isFree = new Uint8Array(d);
  const usable: number[] = [];
  for (let i = 0; i < d; i++) {
    const c = constraints[i];
    if (c === 0) continue;
    if (c === 'free') { isFree[i] = 1; flip[i] = 1; }
    else if (c === 1 || c === -1) flip[i] = c;
    else throw new GradflowError(`sign-lsq: constraint ${String(c)} at ${i} (use 1, -1, 0 or 'free')`);
    usable.push(i);
  }
  const cols: Float64Array[] = new Array(d);
  for (const i of usable) cols[i] = column(X, n, d, i, flip[i]);

  const scale = dualScale(X, y, n, d);
  const tolW = (opts.tol ?? 10 * Math.max(n, d) * EPS) * scale;
  const maxIter = opts.maxIter ?? 5 * d + 20;

  const gamma = new Float64Array(d);
  const passive = new Uint8Array(d);
  const grad = new Float64Array(d);
  let iterations = 0;

  const solvePassive = (): Float64Array => {
    const idx = usable.filter((i) => passive[i]);
    const sol = lsqPivoted(idx.map((i) => cols[i]), y);
    const z = new Float64Array(d);
    idx.forEach((i, q) => { z[i] = sol.x[q]; });
    return z;
  };
  /** Inner Lawson–Hanson loop: from feasible γ, reach the LSQ optimum on a passive set where every constrained γ is > 0. */
  const inner = (): void => {
    for (;;) {
      if (++iterations > maxIter) throw new GradflowError(`sign-lsq: no convergence after ${maxIter} active-set changes (ill-conditioned X?)`);
      const z = solvePassive();
      let step = 1;
      let blocking = -1;
      for (const i of usable) {
        if (!passive[i] || isFree[i] || z[i] > 0) continue;
        const denom = gamma[i] - z[i];
        const s = denom > 0 ? gamma[i] / denom : 0;
        if (s < step) { step = s; blocking = i; }
      }
      if (blocking < 0) {
        gamma.set(z);
        return;
      }
      for (const i of usable) if (passive[i]) gamma[i] += step * (z[i] - gamma[i]);
      // the blocking coordinate lands exactly on its bound; others that reached it by round-off go too
      gamma[blocking] = 0;
      let gmax = 0;
      for (const i of usable) gmax = Math.max(gmax, Math.abs(gamma[i]));
      for (const i of usable) {
        if (passive[i] && !isFree[i] && gamma[i] <= 8 * EPS * gmax) { passive[i] = 0; gamma[i] = 0; }
      }
    }
  };

  for (const i of usable) if (isFree[i]) passive[i] = 1;
  if (opts.warmStart) {
    const w = opts.warmStart;
    if (w.length !== d) throw new GradflowError(`sign-lsq: warm start has ${w.length} entries for ${d} coordinates`);
    for (const i of usable) {
      const gi = flip[i] * w[i];
      if (isFree[i]) gamma[i] = w[i];
      else if (gi > 0 && Number.isFinite(gi)) { gamma[i] = gi; passive[i] = 1; }
    }
  }
  if (usable.some((i) => passive[i])) inner();
  // coordinates that were just added and immediately bounced (dual > tol only by round-off) are
  // skipped until the passive set changes otherwise; this is what prevents LH's classic cycling
  const skip = new Set<number>();
  for (;;) {
    const beta = new Float64Array(d);
    for (const i of usable) beta[i] = flip[i] * gamma[i];
    residualLossGrad(X, y, n, d, beta, grad);
    let best = -1, bestW = tolW;
    for (const i of usable) {
      if (passive[i] || skip.has(i)) continue;
      const w = -flip[i] * grad[i]; // dual of the flipped problem: −∂L/∂γ_i
      if (w > bestW) { bestW = w; best = i; }
    }
    if (best < 0) break;
    passive[best] = 1;
    inner();
    if (!passive[best]) skip.add(best);
    else skip.clear();
  }
  const beta = new Float64Array(d);
  for (const i of usable) beta[i] = flip[i] * gamma[i];
  const loss = residualLossGrad(X, y, n, d, beta, grad);
  return { beta, loss, gradient: grad, iterations, tolerance: tolW };
}

/**
 * Largest violation of the KKT conditions of the sign-constrained problem at β, relative to
 * the dual scale ‖X‖·‖y‖/n (primal violations relative to max(|β|, ‖y‖/‖X‖)): used by tests
 * and as a self-check.
 */
export function signLsqKkt(input: SignLsqInput, beta: ArrayLike<number>): number {
  const { X, y, n, d, constraints } = input;
  const g = new Float64Array(d);
  residualLossGrad(X, y, n, d, beta, g);
  const scale = dualScale(X, y, n, d) || 1;
  let bmax = 0;
  for (let i = 0; i < d; i++) bmax = Math.max(bmax, Math.abs(beta[i]));
  const bscale = Math.max(bmax, 1e-300);
  let v = 0;
  for (let i = 0; i < d; i++) {
    const c = constraints[i];
    const gi = g[i] / scale;
    const bi = beta[i] / bscale;
    if (c === 0) v = Math.max(v, Math.abs(bi));
    else if (c === 'free') v = Math.max(v, Math.abs(gi));
    else {
      // primal c·β ≥ 0; dual c·g ≥ 0 (moving β_i off its bound cannot lower the loss); complementarity β_i·g_i = 0
      v = Math.max(v, Math.max(0, -c * bi), Math.max(0, -c * gi), Math.abs(bi) > 1e-12 ? Math.abs(gi) : 0);
    }
  }
  return v;
}
