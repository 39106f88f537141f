/**
 * Force analysis of softmax models (theory.md §9; Ren & Sutherland, ICLR 2025). One gradient step
 * of size η on example x_u changes the log-probabilities on another input x_o by
 *
 *     Δ log π(x_o) = −η A(x_o) K(x_o, x_u) G(x_u) + O(η²),
 *     A = I − 1πᵀ,   K = J(x_o) J(x_u)ᵀ (empirical NTK, V × V),   G = ∇_z ℓ(z(x_u), t_u).
 *
 * Every term comes from the compiled model: J(x) row by row from the vector-Jacobian kernel
 * (J_kᵀ = ∇_θ⟨e_k, f(x)⟩), G from the compiled loss, π from the forward kernel. The true change is
 * measured by taking the step and re-running the forward pass.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { logSumExp } from '../symbolic/evaluate.ts';

/** J(x) (V × D, row-major) of the model output at one input row. */
export function jacobian(p: Problem, theta: Float64Array, x: Float64Array): Float64Array {
  const { c, H, P } = p.layout;
  const D = H * P;
  const J = new Float64Array(c * D);
  const E = new Float64Array(c);
  const row = new Float64Array(D);
  for (let k = 0; k < c; k++) {
    E.fill(0);
    E[k] = 1;
    p.kernels.vjpMean(theta, x, E, 1, row);
    J.set(row, k * D);
  }
  return J;
}

export function logits(p: Problem, theta: Float64Array, x: Float64Array): Float64Array {
  const z = new Float64Array(p.layout.c);
  p.kernels.forward(theta, x, 1, z);
  return z;
}

export function logSoftmax(z: ArrayLike<number>): Float64Array {
  const l = logSumExp(z);
  return Float64Array.from(z, (v) => v - l);
}

export function softmaxOf(z: ArrayLike<number>): Float64Array {
  return logSoftmax(z).map(Math.exp);
}

/** A(x_o) = ∇_z log π = I − 1πᵀ (V × V): A[m][k] = δ_mk − π_k. */
export function aMatrix(pi: ArrayLike<number>): Float64Array {
  const V = pi.length;
  const A = new Float64Array(V * V);
  for (let m = 0; m < V; m++) for (let k = 0; k < V; k++) A[m * V + k] = (m === k ? 1 : 0) - pi[k];
  return A;
}

/** K = J_o J_uᵀ (V × V). */
export function ntk(Jo: Float64Array, Ju: Float64Array, V: number): Float64Array {
  const D = Jo.length / V;
  const K = new Float64Array(V * V);
  for (let m = 0; m < V; m++) {
    for (let l = 0; l < V; l++) {
      let s = 0;
      for (let q = 0; q < D; q++) s += Jo[m * D + q] * Ju[l * D + q];
      K[m * V + l] = s;
    }
  }
  return K;
}

/** G = ∇_z ℓ(z, t) of one sample, and ℓ, from the compiled loss. */
export function lossGradAt(p: Problem, z: Float64Array, target: Float64Array): { G: Float64Array; loss: number } {
  const G = new Float64Array(p.layout.c);
  const loss = p.kernels.outputLoss(z, target, 1, G);
  return { G, loss };
}

const matvec = (M: Float64Array, v: ArrayLike<number>, V: number): Float64Array => {
  const out = new Float64Array(V);
  for (let m = 0; m < V; m++) {
    let s = 0;
    for (let k = 0; k < V; k++) s += M[m * V + k] * v[k];
    out[m] = s;
  }
  return out;
};

const frob = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * a[k];
  return Math.sqrt(s);
};

export interface ForceTerms {
  observed: number;
  update: number;
  eta: number;
  V: number;
  /** π(x_o) before the step. */
  pi: Float64Array;
  A: Float64Array;
  K: Float64Array;
  G: Float64Array;
  /** −η A K G: the first-order Δ log π(x_o), every class. */
  predicted: Float64Array;
  /** log π(x_o) after θ ← θ − η ∇_θ ℓ(x_u) minus before. */
  actual: Float64Array;
  norms: { A: number; K: number; G: number };
  /** ‖actual − predicted‖₂. */
  error: number;
}

function checkExample(p: Problem, j: number, what: string): void {
  if (!Number.isInteger(j) || j < 0 || j >= p.data.n) throw new GradflowError(`${what} ${j} is out of range: the data have ${p.data.n} examples (0 … ${p.data.n - 1})`);
}

function rowOf(a: Float64Array, j: number, w: number): Float64Array {
  return a.slice(j * w, (j + 1) * w);
}

/** The decomposition for one observed example o and one update example u, and the step's true effect. */
export function forceTerms(p: Problem, theta: Float64Array, o: number, u: number, eta: number): ForceTerms {
  checkExample(p, o, 'observed example');
  checkExample(p, u, 'update example');
  if (!(eta > 0 && Number.isFinite(eta))) throw new GradflowError(`eta must be a positive number (got ${eta})`);
  const V = p.layout.c, dIn = p.data.dIn, TW = p.kernels.targetWidth;
  const xo = rowOf(p.data.X, o, dIn), xu = rowOf(p.data.X, u, dIn);
  const zo = logits(p, theta, xo), zu = logits(p, theta, xu);
  const pi = softmaxOf(zo);
  const A = aMatrix(pi);
  const Jo = jacobian(p, theta, xo), Ju = o === u ? Jo : jacobian(p, theta, xu);
  const K = ntk(Jo, Ju, V);
  const { G } = lossGradAt(p, zu, rowOf(p.data.Y, u, TW));
  const predicted = matvec(A, matvec(K, G, V), V).map((v) => -eta * v);
  // the step itself: θ' = θ − η J_uᵀ G (the gradient of ℓ_u alone)
  const D = theta.length;
  const next = Float64Array.from(theta);
  for (let l = 0; l < V; l++) for (let q = 0; q < D; q++) next[q] -= eta * Ju[l * D + q] * G[l];
  const before = logSoftmax(zo), after = logSoftmax(logits(p, next, xo));
  const actual = after.map((v, k) => v - before[k]);
  return {
    observed: o, update: u, eta, V, pi, A, K, G, predicted, actual,
    norms: { A: frob(A), K: frob(K), G: frob(G) },
    error: frob(actual.map((v, k) => v - predicted[k])),
  };
}

export interface EtaSweep {
  etas: number[];
  errors: number[];
  /** Least-squares slope of log error against log η (2 for a first-order-exact prediction). */
  slope: number;
}

/**
 * Least-squares slope of log y against log x over the points with y > 0; NaN with fewer than two
 * (an exact prediction: at a saturated π, G = 0, every error is 0 and there is nothing to fit).
 */
export function logLogSlope(xsAll: number[], ysAll: number[]): number {
  const keep = ysAll.map((y, k) => (y > 0 && Number.isFinite(y) ? k : -1)).filter((k) => k >= 0);
  if (keep.length < 2) return NaN;
  const lx = keep.map((k) => Math.log(xsAll[k])), ly = keep.map((k) => Math.log(ysAll[k]));
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length, my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let sxy = 0, sxx = 0;
  for (let k = 0; k < lx.length; k++) { sxy += (lx[k] - mx) * (ly[k] - my); sxx += (lx[k] - mx) ** 2; }
  return sxy / sxx;
}

/** The first-order error ‖Δ log π_actual − (−ηAKG)‖ over η log-spaced in [lo, hi]. */
export function etaSweep(p: Problem, theta: Float64Array, o: number, u: number, lo = 1e-4, hi = 1e-1, points = 7): EtaSweep {
  const etas = Array.from({ length: points }, (_, k) => lo * (hi / lo) ** (k / (points - 1)));
  const errors = etas.map((eta) => forceTerms(p, theta, o, u, eta).error);
  return { etas, errors, slope: logLogSlope(etas, errors) };
}

export interface Influence {
  /** Observed examples (rows). */
  observed: number[];
  /** influence[r][u] = −(η/n)[A_o K_ou G_u] at the observed example's label: how example u moves log π(y_o | x_o). */
  influence: number[][];
  /** Σ_u influence: the first-order change of log π(y_o | x_o) under one full-batch step. */
  predicted: number[];
  /** The change measured after θ ← θ − η ∇L. */
  actual: number[];
  /** The class whose log-probability is tracked for each observed example (its label). */
  labels: number[];
}

/** The label of example j: the argmax of its target (the chosen response for preference data). */
export function labelOf(p: Problem, j: number): number {
  const TW = p.kernels.targetWidth, V = p.layout.c;
  let best = 0;
  for (let k = 1; k < V; k++) if (p.data.Y[j * TW + k] > p.data.Y[j * TW + best]) best = k;
  return best;
}

/** Which training examples push which observed example's label up or down under one full-batch GD step. */
export function influenceMatrix(p: Problem, theta: Float64Array, observed: number[], eta: number): Influence {
  for (const o of observed) checkExample(p, o, 'observed example');
  const { n, dIn } = p.data;
  const V = p.layout.c, TW = p.kernels.targetWidth;
  const Js: Float64Array[] = [], Gs: Float64Array[] = [];
  for (let u = 0; u < n; u++) {
    const x = rowOf(p.data.X, u, dIn);
    Js.push(jacobian(p, theta, x));
    Gs.push(lossGradAt(p, logits(p, theta, x), rowOf(p.data.Y, u, TW)).G);
  }
  const g = new Float64Array(theta.length);
  p.kernels.lossGrad(theta, p.data.X, p.data.Y, n, g);
  const next = theta.map((v, q) => v - eta * g[q]);
  const influence: number[][] = [], predicted: number[] = [], actual: number[] = [], labels: number[] = [];
  for (const o of observed) {
    const xo = rowOf(p.data.X, o, dIn);
    const zo = logits(p, theta, xo);
    const A = aMatrix(softmaxOf(zo));
    const y = labelOf(p, o);
    const row = Js.map((Ju, u) => (-eta / n) * matvec(A, matvec(ntk(Js[o], Ju, V), Gs[u], V), V)[y]);
    influence.push(row);
    predicted.push(row.reduce((a, b) => a + b, 0));
    actual.push(logSoftmax(logits(p, next, xo))[y] - logSoftmax(zo)[y]);
    labels.push(y);
  }
  return { observed, influence, predicted, actual, labels };
}

// ---------------------------------------------------------------- the squeezing effect

export interface SqueezeCase {
  /** The class the step is about and where it ranks: 'low' (least likely), 'median', 'high' (argmax). */
  label: number;
  rank: 'low' | 'median' | 'high';
  /** 'negative': a descent step on +log π(label) (pushes it down); 'positive': on −log π(label). */
  sign: 'negative' | 'positive';
  piLabel: number;
  eta: number;
  /** Δπ measured by the step on the compiled model. */
  measured: Float64Array;
  /** Δπ from the one-step closed form π' = softmax(z − η K G) (exact when z is linear in θ). */
  closedForm: Float64Array;
  /** max_k |measured − closedForm| / max_k |closedForm|. */
  relError: number;
  /** Fraction of the V classes whose probability falls: measured, and by the first-order rule. */
  fallFraction: number;
  fallFractionFirstOrder: number;
  argmax: number;
  argmaxGain: number;
  argmaxGainClosedForm: number;
}

/**
 * First-order rule for a negative step with K = κI (free logits scaled by κ): Δ log π_k =
 * ηκ(π_k − δ_{k,y⁻} + π_{y⁻} − ‖π‖²), so a class other than y⁻ falls iff π_k < ‖π‖² − π_{y⁻};
 * for a positive step the signs flip.
 */
export function firstOrderFalls(pi: ArrayLike<number>, label: number, sign: 'negative' | 'positive'): boolean[] {
  let sq = 0;
  for (let k = 0; k < pi.length; k++) sq += pi[k] * pi[k];
  const s = sign === 'negative' ? 1 : -1;
  return Array.from(pi, (pk, k) => s * (pk - (k === label ? 1 : 0) + pi[label] - sq) < 0);
}

/** One GD step of size η on example j with G = ±(e_y − π) for y of low, median and high probability. */
export function squeezing(p: Problem, theta: Float64Array, j: number, eta: number): SqueezeCase[] {
  checkExample(p, j, 'example');
  const V = p.layout.c, D = theta.length;
  const x = rowOf(p.data.X, j, p.data.dIn);
  const z = logits(p, theta, x);
  const pi = softmaxOf(z);
  const J = jacobian(p, theta, x);
  const K = ntk(J, J, V);
  const order = Array.from(pi, (_, k) => k).sort((a, b) => pi[a] - pi[b] || a - b);
  const argmax = order[V - 1];
  const picks: [number, SqueezeCase['rank']][] = [[order[0], 'low'], [order[Math.floor((V - 1) / 2)], 'median'], [argmax, 'high']];
  const out: SqueezeCase[] = [];
  for (const sign of ['negative', 'positive'] as const) {
    for (const [y, rank] of picks) {
      // ∇_z of +log π(y) is e_y − π (negative step descends on it); of −log π(y) it is π − e_y
      const G = Float64Array.from(pi, (pk, k) => (sign === 'negative' ? 1 : -1) * ((k === y ? 1 : 0) - pk));
      const next = Float64Array.from(theta);
      for (let l = 0; l < V; l++) for (let q = 0; q < D; q++) next[q] -= eta * J[l * D + q] * G[l];
      const measured = softmaxOf(logits(p, next, x)).map((v, k) => v - pi[k]);
      const KG = matvec(K, G, V);
      const closedForm = softmaxOf(z.map((v, k) => v - eta * KG[k])).map((v, k) => v - pi[k]);
      let num = 0, den = 0;
      for (let k = 0; k < V; k++) { num = Math.max(num, Math.abs(measured[k] - closedForm[k])); den = Math.max(den, Math.abs(closedForm[k])); }
      const falls = firstOrderFalls(pi, y, sign);
      out.push({
        label: y, rank, sign, piLabel: pi[y], eta, measured, closedForm, relError: num / den,
        fallFraction: measured.filter((v) => v < 0).length / V,
        fallFractionFirstOrder: falls.filter(Boolean).length / V,
        argmax, argmaxGain: measured[argmax], argmaxGainClosedForm: closedForm[argmax],
      });
    }
  }
  return out;
}
