/**
 * Deep ReLU networks as chains of truncations (theory.md §8, Chen 2025). From the layers
 * (W_ℓ, b_ℓ) of a width-Q net:
 *   cumulative parameters  W^{(ℓ)} = W_ℓ⋯W_1,  b^{(ℓ)} = W_ℓ b^{(ℓ−1)} + b_ℓ,
 *   truncation maps        τ_ℓ(ξ) = (W^{(ℓ)})⁻¹(relu(W^{(ℓ)}ξ + b^{(ℓ)}) − b^{(ℓ)}),
 *   input-space features   ξ^{(0)} = x, ξ^{(ℓ)} = τ_ℓ(ξ^{(ℓ−1)}), so x^{(ℓ)} = W^{(ℓ)}ξ^{(ℓ)} + b^{(ℓ)},
 *   thresholds             β^{(ℓ)} = −(W^{(ℓ)})⁻¹b^{(ℓ)} (the point where layer ℓ's pre-activations vanish),
 *   pulled-back targets    ỹ_j = (W^{(L)})⁻¹(y_j − b^{(L)}),  C̃ = (1/2N) Σ_j ‖ξ_j^{(L−1)} − ỹ_j‖².
 * Every quantity used here (ξ, β, ỹ, C̃, the truncation sets) is invariant under the gauge
 * (W^{(ℓ)}, b^{(ℓ)}) → (D W^{(ℓ)}, D b^{(ℓ)}), D > 0 diagonal. With W^{(ℓ)} positive diagonal
 * (the aligned case) τ_ℓ(ξ) = max(ξ, β^{(ℓ)}) componentwise, so ξ^{(L−1)}_q = max(x_q, β^{(1)}_q, …),
 * and the Euclidean flow of C̃ in the thresholds is
 *   β̇^{(ℓ)}_q = −(1/N) Σ_{j ∈ T^{(ℓ)}_q} (β^{(ℓ)}_q − ỹ_{jq}) = −(N_T/N)(β^{(ℓ)}_q − mean_{T} ỹ_q),
 * with T^{(ℓ)}_q the samples whose component q ends at β^{(ℓ)}_q (truncated at ℓ, not after).
 */
import { GradflowError } from '../util/errors.ts';
import { solveLinear } from '../util/linalg.ts';
import type { Layout } from '../compile/layout.ts';
import { integrate } from '../solvers/ode/index.ts';
import { pseudoInverse, Matrix } from 'ml-matrix';

export interface Layers { L: number; Q: number; W: Float64Array[]; b: Float64Array[] }

export interface Cumulative extends Layers {
  /** β^{(ℓ)} for the hidden layers ℓ = 1 … L−1 (index ℓ − 1); null where W^{(ℓ)} is singular. */
  beta: (Float64Array | null)[];
}

/** The layers W1, b1, …, WL, bL of a relu-deep state. */
export function layersOf(layout: Layout, theta: Float64Array): Layers {
  const Q = layout.dims.Q;
  const W: Float64Array[] = [], b: Float64Array[] = [];
  for (let l = 1; ; l++) {
    const sw = layout.params.find((s) => s.name === `W${l}`);
    const sb = layout.params.find((s) => s.name === `b${l}`);
    if (!sw || !sb) break;
    W.push(theta.slice(sw.offset, sw.offset + Q * Q));
    b.push(theta.slice(sb.offset, sb.offset + Q));
  }
  if (W.length < 2 || !Number.isInteger(Q)) throw new GradflowError('truncation: the model must be a relu-deep network (parameters W1, b1, …, WL, bL with width Q)');
  return { L: W.length, Q, W, b };
}

function matmulSq(A: Float64Array, B: Float64Array, Q: number): Float64Array {
  const C = new Float64Array(Q * Q);
  for (let i = 0; i < Q; i++) for (let k = 0; k < Q; k++) {
    const a = A[i * Q + k];
    for (let j = 0; j < Q; j++) C[i * Q + j] += a * B[k * Q + j];
  }
  return C;
}

function matvecSq(A: Float64Array, x: ArrayLike<number>, Q: number): Float64Array {
  const y = new Float64Array(Q);
  for (let i = 0; i < Q; i++) { let s = 0; for (let k = 0; k < Q; k++) s += A[i * Q + k] * x[k]; y[i] = s; }
  return y;
}

/** Solve A x = r for a Q×Q cumulative weight; null when it is numerically singular. */
export function solveSq(A: Float64Array, r: ArrayLike<number>, Q: number): Float64Array | null {
  return solveLinear(A, r, Q, 1e-13);
}

export function cumulative(ly: Layers): Cumulative {
  const { L, Q } = ly;
  const W: Float64Array[] = [ly.W[0].slice()];
  const b: Float64Array[] = [ly.b[0].slice()];
  for (let l = 1; l < L; l++) {
    W.push(matmulSq(ly.W[l], W[l - 1], Q));
    const bb = matvecSq(ly.W[l], b[l - 1], Q);
    for (let q = 0; q < Q; q++) bb[q] += ly.b[l][q];
    b.push(bb);
  }
  const beta: (Float64Array | null)[] = [];
  for (let l = 0; l < L - 1; l++) {
    const s = solveSq(W[l], b[l], Q);
    beta.push(s ? s.map((v) => -v) : null);
  }
  return { L, Q, W, b, beta };
}

/** Largest |W_rc / W_rr| over r ≠ c for every hidden cumulative weight (0: aligned; row-gauge invariant). */
export function misalignment(c: Cumulative): number {
  let m = 0;
  for (let l = 0; l < c.L - 1; l++) for (let r = 0; r < c.Q; r++) for (let k = 0; k < c.Q; k++) {
    if (r === k) continue;
    m = Math.max(m, Math.abs(c.W[l][r * c.Q + k] / c.W[l][r * c.Q + r]));
  }
  return m;
}

export interface Chain {
  /** ξ^{(ℓ)} for ℓ = 0 … L−1, each n×Q. */
  xi: Float64Array[];
  /** For the hidden layers ℓ = 1 … L−1 (index ℓ − 1): 1 where component q of sample j is clipped at layer ℓ. */
  clipped: Uint8Array[];
}

export function inputChain(c: Cumulative, X: Float64Array, n: number): Chain {
  const { Q, L } = c;
  const xi: Float64Array[] = [X.slice(0, n * Q)];
  const clipped: Uint8Array[] = [];
  for (let l = 0; l < L - 1; l++) {
    const prev = xi[l];
    const next = new Float64Array(n * Q);
    const clip = new Uint8Array(n * Q);
    for (let j = 0; j < n; j++) {
      const z = matvecSq(c.W[l], prev.subarray(j * Q, (j + 1) * Q), Q);
      const r = new Float64Array(Q);
      for (let q = 0; q < Q; q++) {
        const pre = z[q] + c.b[l][q];
        if (pre <= 0) clip[j * Q + q] = 1;
        r[q] = Math.max(0, pre) - c.b[l][q];
      }
      const s = solveSq(c.W[l], r, Q);
      if (!s) throw new GradflowError(`truncation: the cumulative weight W^(${l + 1}) is singular, so the truncation map is undefined`);
      next.set(s, j * Q);
    }
    xi.push(next);
    clipped.push(clip);
  }
  return { xi, clipped };
}

/** ỹ_j = (W^{(L)})⁻¹(y_j − b^{(L)}). */
export function pulledBackTargets(c: Cumulative, Y: Float64Array, n: number): Float64Array {
  const { Q, L } = c;
  const out = new Float64Array(n * Q);
  for (let j = 0; j < n; j++) {
    const r = new Float64Array(Q);
    for (let q = 0; q < Q; q++) r[q] = Y[j * Q + q] - c.b[L - 1][q];
    const s = solveSq(c.W[L - 1], r, Q);
    if (!s) throw new GradflowError('truncation: the cumulative output weight W^(L) is singular');
    out.set(s, j * Q);
  }
  return out;
}

export function inputLayerCost(xiLast: Float64Array, yt: Float64Array, n: number): number {
  let s = 0;
  for (let k = 0; k < n * (xiLast.length / n); k++) s += (xiLast[k] - yt[k]) ** 2;
  return s / (2 * n);
}

/**
 * Aligned-case bookkeeping: which threshold each final component sits on. owner[j·Q + q] = ℓ ≥ 1
 * when ξ^{(L−1)}_{jq} = β^{(ℓ)}_q (the last layer that truncates it), 0 when it is still x_jq.
 * A layer whose cumulative gain W^{(ℓ)}_qq is negative (signs[ℓ][q] < 0) truncates from above:
 * τ(ξ) = min(ξ, β); the default is every gain positive, τ(ξ) = max(ξ, β).
 */
export function owners(beta: Float64Array[], X: Float64Array, n: number, Q: number, signs?: Float64Array[]): Int32Array {
  const own = new Int32Array(n * Q);
  for (let j = 0; j < n; j++) for (let q = 0; q < Q; q++) {
    let v = X[j * Q + q], o = 0;
    for (let l = 0; l < beta.length; l++) {
      const below = !signs || signs[l][q] > 0;
      if (below ? beta[l][q] >= v : beta[l][q] <= v) { v = beta[l][q]; o = l + 1; }
    }
    own[j * Q + q] = o;
  }
  return own;
}

/** Signs of the diagonal cumulative gains W^{(ℓ)}_qq of the hidden layers (gauge-invariant: D > 0). */
export function gainSigns(c: Cumulative): Float64Array[] {
  return c.W.slice(0, c.L - 1).map((W) => Float64Array.from({ length: c.Q }, (_, q) => Math.sign(W[q * c.Q + q])));
}

/** The effective (Euclidean, aligned) threshold velocity −∂C̃/∂β for every hidden layer. */
export function effectiveThresholdVelocity(beta: Float64Array[], X: Float64Array, yt: Float64Array, n: number, Q: number, signs?: Float64Array[]): Float64Array[] {
  const own = owners(beta, X, n, Q, signs);
  const v = beta.map(() => new Float64Array(Q));
  for (let j = 0; j < n; j++) for (let q = 0; q < Q; q++) {
    const o = own[j * Q + q];
    if (o > 0) v[o - 1][q] -= (beta[o - 1][q] - yt[j * Q + q]) / n;
  }
  return v;
}

export interface Plateau {
  layer: number;
  component: number;
  tStart: number;
  tEnd: number;
  /** N_T/N: the share of samples whose component sits on this threshold. */
  fraction: number;
  /** −d log|β − β*|/dt measured on the solution (β* = mean of ỹ over the truncated samples). */
  rate: number;
}

export interface EffectiveSolution {
  t: number[];
  beta: Float64Array[][];
  plateaus: Plateau[];
  dense: (t: number) => Float64Array[];
}

/**
 * Integrate the effective threshold flow β̇ = −∇_β C̃ (aligned case, ỹ fixed) with dopri5,
 * stopping at every change of the truncation sets and restarting, then measure the relaxation
 * rate of each threshold on each plateau from the integrated solution.
 */
export function solveEffectiveThresholds(beta0: Float64Array[], X: Float64Array, yt: Float64Array, n: number, Q: number, tEnd: number, rtol = 1e-12): EffectiveSolution {
  const Lh = beta0.length;
  const pack = (b: Float64Array[]): Float64Array => { const y = new Float64Array(Lh * Q); b.forEach((v, l) => y.set(v, l * Q)); return y; };
  const unpack = (y: Float64Array): Float64Array[] => Array.from({ length: Lh }, (_, l) => y.slice(l * Q, (l + 1) * Q));
  const segments: { t0: number; t1: number; own: Int32Array; dense: (t: number) => Float64Array }[] = [];
  const tOut: number[] = [0];
  const bOut: Float64Array[][] = [beta0.map((v) => v.slice())];
  let t = 0;
  let y = pack(beta0);
  for (let guard = 0; t < tEnd && guard < 10 * n * Q * Lh + 10; guard++) {
    const own = owners(unpack(y), X, n, Q);
    const rhs = (_t: number, yy: Float64Array, dy: Float64Array): void => {
      const b = unpack(yy);
      dy.fill(0);
      for (let j = 0; j < n; j++) for (let q = 0; q < Q; q++) {
        const o = own[j * Q + q];
        if (o > 0) dy[(o - 1) * Q + q] -= (b[o - 1][q] - yt[j * Q + q]) / n;
      }
    };
    // the frozen ownership stays right while no threshold meets a data value or another threshold
    const changed = (_t: number, yy: Float64Array): number => {
      const o2 = owners(unpack(yy), X, n, Q);
      for (let k = 0; k < o2.length; k++) if (o2[k] !== own[k]) return -1;
      return 1;
    };
    const sol = integrate('dopri5', rhs, t, y, tEnd, { rtol, atol: 1e-15, dense: true, events: [{ name: 'truncation set changes', g: changed, terminal: true }] });
    let t1 = sol.tEnd;
    let y1 = sol.y[sol.y.length - 1];
    if (sol.status === 'event') {
      // the sign-only event function localises to one step: bisect on the dense output for the switch
      let lo = sol.t[Math.max(0, sol.t.length - 2)], hi = sol.tEnd;
      for (let it = 0; it < 200 && hi - lo > 4 * Number.EPSILON * Math.max(1, hi); it++) {
        const mid = 0.5 * (lo + hi);
        if (changed(mid, sol.dense(mid)) < 0) hi = mid; else lo = mid;
      }
      t1 = hi;
      y1 = sol.dense(hi);
    }
    segments.push({ t0: t, t1, own, dense: sol.dense });
    for (let k = 1; k < sol.t.length; k++) if (sol.t[k] < t1) { tOut.push(sol.t[k]); bOut.push(unpack(sol.y[k])); }
    tOut.push(t1);
    bOut.push(unpack(y1));
    t = t1;
    y = y1;
  }
  const plateaus: Plateau[] = [];
  for (const s of segments) {
    // a switch located twice within round-off leaves a zero-length piece: nothing to measure there
    if (!(s.t1 - s.t0 > 1e-9 * Math.max(1, s.t1))) continue;
    for (let l = 0; l < Lh; l++) for (let q = 0; q < Q; q++) {
      let count = 0, mean = 0;
      for (let j = 0; j < n; j++) if (s.own[j * Q + q] === l + 1) { count++; mean += yt[j * Q + q]; }
      if (count === 0) continue;
      mean /= count;
      // measure while the gap is still far above round-off: at most ~5 e-folds of the expected rate
      const span = Math.min(s.t1 - s.t0, (5 * n) / count);
      const ta = s.t0 + 0.25 * span, tb = s.t0 + 0.75 * span;
      const ga = Math.abs(s.dense(ta)[l * Q + q] - mean), gb = Math.abs(s.dense(tb)[l * Q + q] - mean);
      const rate = ga > 0 && gb > 0 ? -Math.log(gb / ga) / (tb - ta) : NaN;
      plateaus.push({ layer: l + 1, component: q, tStart: s.t0, tEnd: s.t1, fraction: count / n, rate });
    }
  }
  const dense = (tt: number): Float64Array[] => {
    const s = segments.find((x) => tt >= x.t0 && tt <= x.t1) ?? segments[segments.length - 1];
    return unpack(s.dense(Math.min(tt, s.t1)));
  };
  return { t: tOut, beta: bOut, plateaus, dense };
}

export interface CollapseMetrics {
  /** tr(Σ_W Σ_B⁺)/K (NC1); NaN when the class means coincide (Σ_B = 0 to round-off). */
  nc1: number;
  /** Within-class variability tr Σ_W. */
  withinTrace: number;
  /** ‖G/‖G‖_F − G_ETF/‖G_ETF‖_F‖_F for the Gram G of the centred class means (NC2). */
  etfDistance: number;
}

export function collapseMetrics(F: Float64Array, labels: Int32Array, n: number, Q: number, K: number): CollapseMetrics {
  const mu = new Float64Array(K * Q), cnt = new Float64Array(K), g = new Float64Array(Q);
  for (let j = 0; j < n; j++) { cnt[labels[j]]++; for (let q = 0; q < Q; q++) { mu[labels[j] * Q + q] += F[j * Q + q]; g[q] += F[j * Q + q] / n; } }
  for (let k = 0; k < K; k++) for (let q = 0; q < Q; q++) mu[k * Q + q] /= Math.max(1, cnt[k]);
  const SW = new Matrix(Q, Q), SB = new Matrix(Q, Q);
  for (let j = 0; j < n; j++) for (let a = 0; a < Q; a++) for (let b = 0; b < Q; b++) {
    const k = labels[j];
    SW.set(a, b, SW.get(a, b) + ((F[j * Q + a] - mu[k * Q + a]) * (F[j * Q + b] - mu[k * Q + b])) / n);
  }
  for (let k = 0; k < K; k++) for (let a = 0; a < Q; a++) for (let b = 0; b < Q; b++) SB.set(a, b, SB.get(a, b) + ((mu[k * Q + a] - g[a]) * (mu[k * Q + b] - g[b])) / K);
  const P = pseudoInverse(SB, 1e-12);
  const prod = SW.mmul(P);
  let tr = 0, wt = 0, bt = 0, scale = 0;
  for (let a = 0; a < Q; a++) { tr += prod.get(a, a); wt += SW.get(a, a); bt += SB.get(a, a); }
  for (let j = 0; j < n * Q; j++) scale += F[j] * F[j] / n;
  // class means that coincide (every class truncated onto one point) leave NC1 undefined, not the
  // ratio of two round-off terms
  if (!(bt > 1e-24 * Math.max(scale, 1e-300))) tr = NaN;
  // Gram of centred means vs the simplex ETF Gram (K/(K−1))(I − 11ᵀ/K)
  const G = new Float64Array(K * K), E = new Float64Array(K * K);
  for (let k = 0; k < K; k++) for (let l = 0; l < K; l++) {
    let s = 0;
    for (let q = 0; q < Q; q++) s += (mu[k * Q + q] - g[q]) * (mu[l * Q + q] - g[q]);
    G[k * K + l] = s;
    E[k * K + l] = (k === l ? 1 : 0) - 1 / K;
  }
  const nf = (A: Float64Array): number => Math.sqrt(A.reduce((s, v) => s + v * v, 0));
  const ng = nf(G), ne = nf(E);
  let d = 0;
  for (let k = 0; k < K * K; k++) d += (G[k] / (ng || 1) - E[k] / ne) ** 2;
  return { nc1: tr / K, withinTrace: wt, etfDistance: Math.sqrt(d) };
}
