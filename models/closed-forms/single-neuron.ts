/**
 * Closed forms for the single linear neuron f(x) = a·wᵀx (theory.md §1), Saxe's
 * one-mode sigmoid (§2) and the Kunin et al. (2024) implicit-bias interpolant.
 * Everything here is a reference for the numerical solvers, so each formula is
 * written for accuracy (no cancellation, no overflow) rather than brevity.
 */
import { Matrix, SingularValueDecomposition, LuDecomposition } from 'ml-matrix';
import { GradflowError } from '../../src/util/errors.ts';
import type { Rng } from '../../src/util/rng.ts';
import { dotv } from '../../src/util/linalg.ts';

// ---------------------------------------------------------------------------
// a scaled norm: tiny initial states (‖w0‖ ~ 1e-12 and below) must not underflow

/** Euclidean norm, scaled so that vectors of 1e-200 or 1e200 do not under/overflow. */
function norm(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  if (m === 0 || !Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] / m;
    s += v * v;
  }
  return m * Math.sqrt(s);
}

function checkFiniteVec(x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new GradflowError(`${what} contains a non-finite value at index ${i}`);
  }
}

// ---------------------------------------------------------------------------
// 1. exact whitened solution

/**
 * e^{−Kt}·φ(k, t) with φ(k, t) = (e^{kt} − 1)/k, K = δ + R > 0 and k ∈ {δ+R, δ, δ−R}.
 * `gap` = K − k ≥ 0 is passed exactly (0, R, 2R) so that no exponent is formed as a
 * difference of large numbers. Scaling by e^{−Kt} keeps every term bounded as t → ∞.
 */
function scaledPhi(k: number, gap: number, K: number, t: number): number {
  if (k > 0) return Math.exp(-gap * t) * (-Math.expm1(-k * t) / k);
  if (k < 0) return Math.exp(-K * t) * (Math.expm1(k * t) / k);
  return t * Math.exp(-K * t);
}

/**
 * Exact gradient-flow trajectory of (a, w) for whitened input (Σ_xx = I, Σ_yx = β*).
 *
 * The brief's cosh/sinh branches with c = atanh(q0/R) (or atanh(R/q0)) collapse into
 * one expression: h(z)/h(c) = cosh τ + (q0/R) sinh τ with τ = Rt/2 in every branch
 * (including |q0| = R). Multiplying through by a0 removes the 1/a0 in ν0, so with
 * b = (δa0 + 2p0)/R and c_p = (2s²a0 − δp0)/R:
 *   a(t) = e^{δt/2}(a0 cosh τ + b sinh τ)/D,  p(t) = e^{δt/2}(p0 cosh τ + c_p sinh τ)/D,
 *   D² = 1 + 2∫₀ᵗ e^{δt'}(a0 cosh τ' + b sinh τ')² dt',  γ(t) = γ0/D.
 * This needs no atanh (which loses everything near |q0| = R), no separate a0 = 0
 * limit, and is evaluated scaled by e^{−(δ+R)t/2} so it never overflows for t ≥ 0.
 */
export function whitenedSolution(
  a0: number,
  w0: Float64Array,
  betaStar: Float64Array,
): (t: number) => { a: number; w: Float64Array } {
  const d = betaStar.length;
  if (w0.length !== d) throw new GradflowError(`whitenedSolution: w0 has length ${w0.length} but beta* has length ${d}`);
  if (!Number.isFinite(a0)) throw new GradflowError('whitenedSolution: a0 must be finite');
  checkFiniteVec(w0, 'whitenedSolution: w0');
  checkFiniteVec(betaStar, 'whitenedSolution: beta*');
  const s = norm(betaStar);
  if (!(s > 0)) throw new GradflowError('whitenedSolution: beta* must be nonzero (s = ‖β*‖ > 0)');

  const s2 = s * s;
  const bHat = new Float64Array(d);
  for (let i = 0; i < d; i++) bHat[i] = betaStar[i] / s;
  const p0 = dotv(w0, betaStar);
  const wPar = dotv(w0, bHat);
  const perp = new Float64Array(d);
  for (let i = 0; i < d; i++) perp[i] = w0[i] - wPar * bHat[i];
  // a second projection pass: the first leaves O(eps‖w0‖) of β̂* in perp, which
  // would dominate when w0 is almost parallel to β*
  const corr = dotv(perp, bHat);
  for (let i = 0; i < d; i++) perp[i] -= corr * bHat[i];
  const gamma0 = norm(perp);
  const ePerp = new Float64Array(d);
  if (gamma0 > 0) for (let i = 0; i < d; i++) ePerp[i] = perp[i] / gamma0;

  const wNorm = norm(w0);
  // δ from the factored form: a² − ‖w‖² directly cancels when |a| ≈ ‖w‖
  const delta = (Math.abs(a0) - wNorm) * (Math.abs(a0) + wNorm);
  const R = Math.hypot(delta, 2 * s);
  // R ± δ without cancellation: (R − δ)(R + δ) = 4s²
  const RplusD = delta >= 0 ? R + delta : (4 * s2) / (R - delta);
  const RminusD = delta >= 0 ? (4 * s2) / (R + delta) : R - delta;
  const K = RplusD; // decay rate of the scaling factor e^{−(δ+R)t}
  // two equivalent coefficient sets: (a0, b) multiply cosh τ, sinh τ; (u, v) multiply
  // e^{τ}, e^{−τ}. Near t = 0 the first reproduces a0, p0 exactly even when |b| ≫ |a0|;
  // for large t the second avoids cosh τ − sinh τ cancelling (e.g. on the saddle's
  // stable manifold u = 0 it is exact).
  const b = (delta * a0 + 2 * p0) / R;
  const cp = (2 * s2 * a0 - delta * p0) / R;
  const u = (a0 * RplusD + 2 * p0) / (2 * R);
  const v = (a0 * RminusD - 2 * p0) / (2 * R);
  const up = (p0 * RminusD + 2 * s2 * a0) / (2 * R);
  const vp = (p0 * RplusD - 2 * s2 * a0) / (2 * R);

  return (t: number) => {
    if (!Number.isFinite(t)) throw new GradflowError(`whitenedSolution: time must be finite (got ${t})`);
    const eR = Math.exp(-R * t);
    let numA: number; // e^{−τ}(a0 cosh τ + b sinh τ)
    let numP: number; // e^{−τ}(p0 cosh τ + c_p sinh τ)
    if (eR >= 0.5) {
      const ch = 0.5 * (1 + eR);
      const sh = -0.5 * Math.expm1(-R * t);
      numA = a0 * ch + b * sh;
      numP = p0 * ch + cp * sh;
    } else {
      numA = u + v * eR;
      numP = up + vp * eR;
    }
    // ∫₀ᵗ e^{δt'}(u e^{τ'} + v e^{−τ'})² dt' = u²φ(δ+R) + v²φ(δ−R) + 2uvφ(δ), scaled by e^{−Kt};
    // the cross term cannot dominate (Cauchy–Schwarz: φ(δ)² ≤ φ(δ+R)φ(δ−R))
    const fP = scaledPhi(RplusD, 0, K, t);
    const f0 = scaledPhi(delta, R, K, t);
    const fM = scaledPhi(-RminusD, 2 * R, K, t);
    const eK = Math.exp(-K * t);
    const D2 = eK + 2 * (u * u * fP + v * v * fM + 2 * u * v * f0);
    // D² is a positive quantity scaled by e^{−Kt}; once that factor is subnormal
    // (or the sum is not finite) the ratios below are no longer trustworthy. For t < 0
    // D² ≤ 0 means the backward flow blew up before t.
    if (!Number.isFinite(D2) || !(D2 > 1e-290) || !Number.isFinite(eK)) {
      throw new GradflowError(
        `whitenedSolution: the closed form overflows at t = ${t} (scaled denominator ${D2}); evaluate closer to t = 0`,
      );
    }
    const D = Math.sqrt(D2);
    const a = numA / D;
    const p = numP / D;
    // γ = γ0 e^{−Kt/2}/D_scaled, with the exponential split so it underflows gracefully
    const gamma = gamma0 > 0 ? (gamma0 * Math.exp(-0.5 * K * t)) / D : 0;
    const w = new Float64Array(d);
    const cPar = p / s2;
    for (let i = 0; i < d; i++) w[i] = cPar * betaStar[i] + gamma * ePerp[i];
    if (!Number.isFinite(a) || !Number.isFinite(cPar) || !Number.isFinite(gamma)) {
      throw new GradflowError(`whitenedSolution: the closed form overflows past t = ${t}`);
    }
    return { a, w };
  };
}

/** Mean-convention loss for whitened input: ½‖β − β*‖² + ½(Σ_yy − s²). */
export function whitenedLoss(beta: Float64Array, betaStar: Float64Array, residualVar: number): number {
  if (beta.length !== betaStar.length) {
    throw new GradflowError(`whitenedLoss: beta has length ${beta.length} but beta* has length ${betaStar.length}`);
  }
  let s = 0;
  for (let i = 0; i < beta.length; i++) {
    const r = beta[i] - betaStar[i];
    s += r * r;
  }
  return 0.5 * s + 0.5 * residualVar;
}

// ---------------------------------------------------------------------------
// 2. initialisation from (α, δ)

/**
 * (a0, w0) with ‖β0‖ = α², a0 > 0, a0² − ‖w0‖² = δ and w0 along `direction`
 * (normalised here). A0 = a0² solves A0(A0 − δ) = α⁴; the root and ‖w0‖² are each
 * formed from the non-cancelling branch of the quadratic formula.
 */
export function initFromAlphaDelta(
  alpha: number,
  delta: number,
  direction: Float64Array,
): { a0: number; w0: Float64Array } {
  if (!Number.isFinite(alpha) || !(alpha > 0)) throw new GradflowError(`initFromAlphaDelta: alpha must be positive and finite (got ${alpha})`);
  if (!Number.isFinite(delta)) throw new GradflowError(`initFromAlphaDelta: delta must be finite (got ${delta})`);
  checkFiniteVec(direction, 'initFromAlphaDelta: direction');
  const dn = norm(direction);
  if (!(dn > 0)) throw new GradflowError('initFromAlphaDelta: direction must be nonzero');
  const a2 = alpha * alpha;
  const alpha4 = a2 * a2;
  const root = Math.hypot(delta, 2 * a2); // sqrt(δ² + 4α⁴) without squaring δ
  let A0: number;
  let W2: number;
  if (delta >= 0) {
    A0 = 0.5 * (delta + root);
    W2 = alpha4 / A0;
  } else {
    A0 = (2 * alpha4) / (root - delta);
    W2 = A0 - delta;
  }
  const a0 = Math.sqrt(A0);
  const wn = Math.sqrt(W2);
  const w0 = new Float64Array(direction.length);
  for (let i = 0; i < direction.length; i++) w0[i] = (wn * direction[i]) / dn;
  return { a0, w0 };
}

// ---------------------------------------------------------------------------
// 3. exactly whitened data

/**
 * X (row-major n×d) with XᵀX/n = I to round-off and y = Xβ* (+ noise orthogonal to
 * the columns of X, so Σ_yx = β* is unchanged and Σ_yy = s² + ‖noise‖²/n).
 */
export function whitenedData(
  n: number,
  d: number,
  betaStar: Float64Array,
  rng: Rng,
  noise = 0,
): { X: Float64Array; y: Float64Array; n: number; d: number } {
  if (!Number.isInteger(n) || !Number.isInteger(d) || d < 1 || n < d) {
    throw new GradflowError(`whitenedData: need integers n ≥ d ≥ 1 (got n = ${n}, d = ${d})`);
  }
  if (betaStar.length !== d) throw new GradflowError(`whitenedData: beta* has length ${betaStar.length}, expected ${d}`);
  if (!Number.isFinite(noise) || noise < 0) throw new GradflowError(`whitenedData: noise must be ≥ 0 (got ${noise})`);
  checkFiniteVec(betaStar, 'whitenedData: beta*');

  // columns stored contiguously while orthonormalising
  const Q: Float64Array[] = [];
  for (let j = 0; j < d; j++) {
    const v = rng.normalArray(n);
    // two passes of modified Gram–Schmidt: one pass leaves O(eps·cond) loss of
    // orthogonality, the second brings it to O(eps)
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const c = dotv(Q[k], v);
        const q = Q[k];
        for (let i = 0; i < n; i++) v[i] -= c * q[i];
      }
      const nv = norm(v);
      if (!(nv > 1e-8)) throw new GradflowError('whitenedData: random columns are numerically dependent; try another seed (--seed)');
      for (let i = 0; i < n; i++) v[i] /= nv;
    }
    Q.push(v);
  }
  const sq = Math.sqrt(n);
  const X = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] = sq * Q[j][i];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += X[i * d + j] * betaStar[j];
    y[i] = v;
  }
  if (noise > 0) {
    if (n === d) throw new GradflowError('whitenedData: noise orthogonal to the columns of X needs n > d');
    const e = rng.normalArray(n, noise);
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < d; k++) {
        const c = dotv(Q[k], e);
        const q = Q[k];
        for (let i = 0; i < n; i++) e[i] -= c * q[i];
      }
    }
    for (let i = 0; i < n; i++) y[i] += e[i];
  }
  return { X, y, n, d };
}

// ---------------------------------------------------------------------------
// 4. Saxe, McClelland & Ganguli one-mode sigmoid

function checkSaxe(s: number, u0: number, fn: string): void {
  if (!Number.isFinite(s) || !(s > 0)) throw new GradflowError(`${fn}: s must be positive and finite (got ${s})`);
  if (!Number.isFinite(u0) || !(u0 > 0)) throw new GradflowError(`${fn}: u0 must be positive and finite (got ${u0})`);
}

/**
 * u(t) for u̇ = 2u(s − u), u(0) = u0 > 0. Dividing the textbook form
 * s e^{2st}/(e^{2st} − 1 + s/u0) by e^{2st} gives s/(1 + ((s − u0)/u0) e^{−2st}),
 * which cannot overflow for t ≥ 0.
 */
export function saxeMode(s: number, u0: number): (t: number) => number {
  checkSaxe(s, u0, 'saxeMode');
  const r = (s - u0) / u0;
  return (t: number) => {
    if (!Number.isFinite(t)) throw new GradflowError(`saxeMode: time must be finite (got ${t})`);
    return s / (1 + r * Math.exp(-2 * s * t));
  };
}

/** Time for the Saxe mode to go from u0 to uf: (1/2s) ln[uf(s − u0)/(u0(s − uf))]. */
export function saxeTime(s: number, u0: number, uf: number): number {
  checkSaxe(s, u0, 'saxeTime');
  if (!Number.isFinite(uf) || !(uf > 0)) throw new GradflowError(`saxeTime: uf must be positive and finite (got ${uf})`);
  // the flow is monotone towards s, so uf must lie on the same side of s as u0
  if ((u0 - s) * (uf - s) <= 0 && uf !== u0) {
    throw new GradflowError(`saxeTime: uf = ${uf} is not reached from u0 = ${u0} (the mode tends to s = ${s})`);
  }
  if (uf === u0) return 0;
  // split logs so that u0 ~ 1e-300 or uf ~ s do not overflow/underflow the product
  return (Math.log(uf / u0) + Math.log((s - u0) / (s - uf))) / (2 * s);
}

// ---------------------------------------------------------------------------
// 5. implicit bias (Kunin et al. 2024)

/**
 * q = sqrt(δ² + 4r) and q + δ, the latter via (q + δ)(q − δ) = 4r when δ < 0 so
 * that it keeps full relative accuracy for ‖β‖ ≪ |δ|.
 */
function qParts(r: number, delta: number): { q: number; qpd: number } {
  const q = Math.hypot(delta, 2 * Math.sqrt(r));
  const qpd = delta >= 0 ? q + delta : (4 * r) / (q - delta);
  return { q, qpd };
}

/** Ψ_δ(β) = ⅓(q − 2δ)·sqrt(q + δ), q = sqrt(δ² + 4‖β‖²). */
export function psiDelta(beta: Float64Array, delta: number): number {
  if (!Number.isFinite(delta)) throw new GradflowError('psiDelta: delta must be finite');
  checkFiniteVec(beta, 'psiDelta: beta');
  const nb = norm(beta);
  const { q, qpd } = qParts(nb * nb, delta);
  return ((q - 2 * delta) * Math.sqrt(qpd)) / 3;
}

/**
 * ∇Ψ_δ(β) = 2β/sqrt(q + δ) = sqrt(q − δ)·β/‖β‖. The second form is used for δ < 0,
 * where q + δ → 0 as β → 0 and the first form is 0/0; for δ ≥ 0 the first form is
 * the stable one (q − δ cancels) and is 0 at β = 0.
 */
export function gradPsiDelta(beta: Float64Array, delta: number): Float64Array {
  if (!Number.isFinite(delta)) throw new GradflowError('gradPsiDelta: delta must be finite');
  checkFiniteVec(beta, 'gradPsiDelta: beta');
  const nb = norm(beta);
  const out = new Float64Array(beta.length);
  if (delta < 0) {
    if (nb === 0) throw new GradflowError('gradPsiDelta: Ψ_δ is not differentiable at β = 0 for δ < 0');
    const q = Math.hypot(delta, 2 * nb);
    const f = Math.sqrt(q - delta) / nb;
    for (let i = 0; i < beta.length; i++) out[i] = f * beta[i];
    return out;
  }
  // for δ ≥ 0 the gradient tends to 0 at β = 0 (for δ = 0 it is sqrt(2‖β‖)·β̂)
  if (nb === 0) return out;
  const q = Math.hypot(delta, 2 * nb);
  const f = 2 / Math.sqrt(q + delta);
  for (let i = 0; i < beta.length; i++) out[i] = f * beta[i];
  return out;
}

/**
 * ∇Ψ = g(r)β with r = ‖β‖², g = 2(q + δ)^{−1/2}; dq/dr = 2/q gives
 * g'(r) = −2/(q (q + δ)^{3/2}), so ∇²Ψ = g I + 2g' ββᵀ = g I − 4ββᵀ/(q (q + δ)^{3/2}).
 * Its eigenvalues are g (⊥β) and sqrt(q + δ)/q (along β), both positive, so Ψ_δ is
 * strictly convex away from β = 0.
 */
function hessPsi(beta: Float64Array, delta: number): { grad: Float64Array; H: Matrix } {
  const d = beta.length;
  const nb = norm(beta);
  const r = nb * nb;
  const { q, qpd } = qParts(r, delta);
  if (!(q > 0) || !(qpd > 0)) {
    throw new GradflowError('implicitBiasInterpolant: Ψ_δ is not twice differentiable at β = 0 for δ ≤ 0');
  }
  const sq = Math.sqrt(qpd);
  const g = 2 / sq;
  const c = -4 / (q * qpd * sq);
  const grad = new Float64Array(d);
  for (let i = 0; i < d; i++) grad[i] = g * beta[i];
  const H = new Matrix(d, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) H.set(i, j, c * beta[i] * beta[j] + (i === j ? g : 0));
  }
  return { grad, H };
}

/**
 * argmin Ψ_δ(β) − ψ_δᵀβ subject to Xβ = y, ψ_δ = ∇Ψ_δ(β0): the limit of gradient
 * flow for the single neuron when the data can be interpolated. (d/dt ∇Ψ_δ(β) =
 * −sqrt(2a²)·Σ_xx-gradient, which lies in the row space of X, because ∇²Ψ_δ·M =
 * sqrt(2a²)·I for M = a²I + wwᵀ.)
 *
 * Newton on the KKT system [H V; Vᵀ 0], where the constraint Xβ = y is replaced by
 * the equivalent Vᵀβ = S⁻¹Uᵀy from the thin SVD Xᵀ = V S Uᵀ restricted to nonzero
 * singular values: same feasible set and same stationarity condition (row space of
 * X = span V), but the KKT matrix stays nonsingular when X has dependent rows.
 */
export function implicitBiasInterpolant(
  X: Float64Array,
  y: Float64Array,
  n: number,
  d: number,
  delta: number,
  beta0: Float64Array,
): Float64Array {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1) {
    throw new GradflowError(`implicitBiasInterpolant: n and d must be positive integers (got ${n}, ${d})`);
  }
  if (X.length !== n * d) throw new GradflowError(`implicitBiasInterpolant: X has ${X.length} entries, expected n·d = ${n * d}`);
  if (y.length !== n) throw new GradflowError(`implicitBiasInterpolant: y has length ${y.length}, expected n = ${n}`);
  if (beta0.length !== d) throw new GradflowError(`implicitBiasInterpolant: beta0 has length ${beta0.length}, expected d = ${d}`);
  if (!Number.isFinite(delta)) throw new GradflowError('implicitBiasInterpolant: delta must be finite');
  checkFiniteVec(X, 'implicitBiasInterpolant: X');
  checkFiniteVec(y, 'implicitBiasInterpolant: y');
  checkFiniteVec(beta0, 'implicitBiasInterpolant: beta0');
  const psi = gradPsiDelta(beta0, delta);

  // thin SVD of Xᵀ (d×n, tall or square) — ml-matrix wants rows ≥ columns
  const Xt = new Matrix(d, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) Xt.set(j, i, X[i * d + j]);
  const svd = new SingularValueDecomposition(Xt, { autoTranspose: true });
  const sv = svd.diagonal;
  const V = svd.leftSingularVectors; // d × k, spans the row space of X
  const U = svd.rightSingularVectors; // n × k
  const smax = sv.length > 0 ? Math.max(...sv) : 0;
  const tolS = Math.max(n, d) * Number.EPSILON * smax;
  const keep: number[] = [];
  for (let k = 0; k < sv.length; k++) if (sv[k] > tolS) keep.push(k);
  const m = keep.length;

  // constraint data c = S⁻¹Uᵀy, minimum-norm interpolant β = V c
  const cVec = new Float64Array(m);
  for (let kk = 0; kk < m; kk++) {
    const k = keep[kk];
    let v = 0;
    for (let i = 0; i < n; i++) v += U.get(i, k) * y[i];
    cVec[kk] = v / sv[k];
  }
  const Vr = new Matrix(d, m);
  for (let j = 0; j < d; j++) for (let kk = 0; kk < m; kk++) Vr.set(j, kk, V.get(j, keep[kk]));
  let beta = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let v = 0;
    for (let kk = 0; kk < m; kk++) v += Vr.get(j, kk) * cVec[kk];
    beta[j] = v;
  }
  // consistency: the minimum-norm least-squares solution must interpolate
  const ny = norm(y);
  let res2 = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += X[i * d + j] * beta[j];
    res2 += (v - y[i]) * (v - y[i]);
  }
  if (Math.sqrt(res2) > 1e-10 * (ny + smax * norm(beta)) + 1e-300) {
    throw new GradflowError(`implicitBiasInterpolant: Xβ = y has no solution (least-squares residual ${Math.sqrt(res2).toExponential(3)})`);
  }

  // λ is the multiplier of the reduced constraint; start from its least-squares value
  let lambda = new Float64Array(m);
  const residual = (b: Float64Array, lam: Float64Array): { F: Float64Array; scale: number; grad: Float64Array; H: Matrix } => {
    const { grad, H } = hessPsi(b, delta);
    const F = new Float64Array(d + m);
    for (let j = 0; j < d; j++) {
      let v = grad[j] - psi[j];
      for (let kk = 0; kk < m; kk++) v += Vr.get(j, kk) * lam[kk];
      F[j] = v;
    }
    for (let kk = 0; kk < m; kk++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += Vr.get(j, kk) * b[j];
      F[d + kk] = v - cVec[kk];
    }
    // the magnitudes whose round-off bounds the attainable residual
    const scale = norm(grad) + norm(psi) + norm(lam) + norm(b) + norm(cVec);
    return { F, scale, grad, H };
  };
  {
    const { grad } = hessPsi(beta, delta);
    for (let kk = 0; kk < m; kk++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += Vr.get(j, kk) * (psi[j] - grad[j]);
      lambda[kk] = v;
    }
  }

  const tol = 1e-13;
  let cur = residual(beta, lambda);
  let fn = norm(cur.F);
  for (let iter = 0; iter < 200; iter++) {
    if (fn <= tol * cur.scale) return beta;
    const Kkt = new Matrix(d + m, d + m);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) Kkt.set(i, j, cur.H.get(i, j));
    for (let j = 0; j < d; j++) {
      for (let kk = 0; kk < m; kk++) {
        Kkt.set(j, d + kk, Vr.get(j, kk));
        Kkt.set(d + kk, j, Vr.get(j, kk));
      }
    }
    const lu = new LuDecomposition(Kkt);
    if (lu.isSingular()) throw new GradflowError('implicitBiasInterpolant: singular KKT system');
    const rhs = new Matrix(d + m, 1);
    for (let i = 0; i < d + m; i++) rhs.set(i, 0, -cur.F[i]);
    const step = lu.solve(rhs);
    let tStep = 1;
    let accepted = false;
    for (let ls = 0; ls < 60; ls++) {
      const nb = new Float64Array(d);
      const nl = new Float64Array(m);
      for (let j = 0; j < d; j++) nb[j] = beta[j] + tStep * step.get(j, 0);
      for (let kk = 0; kk < m; kk++) nl[kk] = lambda[kk] + tStep * step.get(d + kk, 0);
      let trial: ReturnType<typeof residual> | null = null;
      try {
        trial = residual(nb, nl);
      } catch {
        trial = null; // stepped onto β = 0 where Ψ_δ is not smooth: shorten the step
      }
      if (trial !== null) {
        const tn = norm(trial.F);
        if (Number.isFinite(tn) && tn <= (1 - 1e-4 * tStep) * fn) {
          beta = nb;
          lambda = nl;
          cur = trial;
          fn = tn;
          accepted = true;
          break;
        }
      }
      tStep *= 0.5;
    }
    if (!accepted) {
      // Newton has reached the round-off floor of the residual; accept it if that
      // floor is within a small multiple of the requested tolerance
      if (fn <= 100 * tol * cur.scale) return beta;
      throw new GradflowError(
        `implicitBiasInterpolant: Newton stalled at relative KKT residual ${(fn / cur.scale).toExponential(3)}`,
      );
    }
  }
  if (fn <= tol * cur.scale) return beta;
  throw new GradflowError(`implicitBiasInterpolant: Newton did not converge (relative KKT residual ${(fn / cur.scale).toExponential(3)})`);
}
