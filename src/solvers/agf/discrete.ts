/**
 * Dormant dynamics of the algorithm being predicted — gradient flow, gradient descent or heavy-ball
 * momentum — for the κ = 2 AGF engine (agf.ts). On a plateau a dormant neuron obeys θ̇ = Mθ under
 * the flow; the discrete algorithms apply the same linear map step by step, so each eigen-coordinate
 * of M (rate λ) evolves exactly:
 *  - flow: c(t) = e^{λt} c(0) (graded.ts);
 *  - gradient descent, step η: c_k = (1 + ηλ)^k c_0 — log-rate log|1 + ηλ| per step, and a sign
 *    flip per step where 1 + ηλ < 0;
 *  - heavy ball (v ← m v − η∇L, θ ← θ + v, the loop of descent.ts): per coordinate the pair
 *    (position c, buffer v) obeys (c, v) ← A(c, v), A = [[1 + ηλ, m], [ηλ, m]], whose roots are
 *    those of z² − (1 + m + ηλ) z + m = 0. The buffer is part of the dormant state: it is carried
 *    across plateaus and re-expanded with the position, which gives the O(1) transient at every
 *    plateau change (the buffer sits in the old plateau's growing mode, not the new one's).
 * Time is counted in steps for the discrete algorithms; activations happen at integer steps (the
 * first step at which ‖θ‖ ≥ 1), so sign flips stay exact.
 *
 * Momentum state per coordinate, both parts as signed log-magnitudes (logscale.ts):
 *  - λ ≥ 0 (real roots z₊ ≥ 1 > m ≥ z₋ > 0): the coefficients of the two modes, x = a₊, y = a₋,
 *    with c = a₊ + a₋ and v = a₊w₊ + a₋w₋, w = 1 − 1/z. The growing mode is kept by itself so the
 *    graded form of interchangeable neurons (agf.ts regrade) can zero it exactly;
 *  - λ < 0 (decaying, roots real or complex): x = c, y = v, advanced by A^k = U_k A − m U_{k−1} I
 *    (Cayley–Hamilton, U_k the Chebyshev-like sequence U_{k+1} = T U_k − m U_{k−1}) in log form.
 */
import { GradflowError } from '../../util/errors.ts';
import type { Problem } from '../../problem.ts';
import { FINITE, type LogArith, logOf, signedAdd } from './logscale.ts';
import { eigenbasis, jacobiEig, overlaps, utilityHessians, type Eigenbasis, type SpectralTolerances } from './spectral.ts';
import { activationLowerBound as flowActivationLowerBound, activationTime as flowActivationTime, advance as flowAdvance, cloneGraded, givens as flowGivens, gradedFromVector, logNorm as flowLogNorm, reexpand as flowReexpand, toVector as flowToVector, type GradedState } from './graded.ts';

/** The algorithm whose jump schedule AGF predicts. */
export type AgfAlgorithm =
  | { kind: 'flow' }
  | { kind: 'gd'; lr: number }
  | { kind: 'momentum'; lr: number; momentum: number }
  | { kind: 'nesterov'; lr: number; momentum: number };

/** The algorithms with a momentum buffer. */
export type MomentumAlgorithm = Extract<AgfAlgorithm, { momentum: number }>;
export const hasMomentum = (a: AgfAlgorithm): a is MomentumAlgorithm => a.kind === 'momentum' || a.kind === 'nesterov';

/** A dormant state: position coordinates (s, l); momentum adds the second part of each coordinate (ys, yl). */
export interface DormantState extends GradedState {
  ys?: Float64Array;
  yl?: Float64Array;
}

/** What the engine does with a dormant neuron; times are flow time (flow) or steps (gd, momentum). */
export interface DormantDynamics {
  readonly algorithm: AgfAlgorithm;
  /** Flow time per unit of the dynamics' time: 1 (flow), η (gd), η/(1 − m) (momentum: the descent.ts convention). */
  readonly flowTimePerUnit: number;
  fromVector(basis: Eigenbasis, v: ArrayLike<number>, baseLog: number, snapTol: number): DormantState;
  reexpand(st: DormantState, next: Eigenbasis, O: Float64Array[]): DormantState;
  activationTime(st: DormantState): number;
  /** A cheap lower bound on activationTime (optional: the engine then skips neurons that cannot be first). */
  activationLowerBound?(st: DormantState): number;
  /** st itself, moved to basis `next`, when next has the same vectors in the same order as st.basis (optional: only the rates changed, nothing to re-expand). */
  rebase?(st: DormantState, next: Eigenbasis): DormantState;
  advance(st: DormantState, t: number): void;
  clone(st: DormantState): DormantState;
  toVector(st: DormantState, P: number): Float64Array;
  logNorm(st: DormantState): number;
  /**
   * The dormant state a collapsing neuron returns to, from its state at activation (default: that state).
   * Heavy ball: the buffer relaxed into the position, as while the neuron sat at a fit (zero gradient).
   */
  restore?(atActivation: DormantState): DormantState;
  /** Rotation of two dormant neurons zeroing the growing part of coordinate n of b; (c, s) as floats for the neuron-space vectors. */
  givens(a: DormantState, b: DormantState, n: number): [number, number];
}

/**
 * The discrete algorithms: polynomial κ = 2 models (the exact linear dormant dynamics here) and
 * κ > 2 models (the algorithm iterated on the dormant neurons, sphere-discrete.ts); not relu units.
 */
export function checkDiscreteModel(p: Problem, a: AgfAlgorithm): void {
  if (a.kind === 'flow') return;
  const kappa = p.derived.kappa;
  if ((kappa === 2 && p.derived.polynomial) || (kappa !== null && kappa > 2)) return;
  throw new GradflowError(`agf: predictions for ${a.kind === 'gd' ? 'gradient descent' : a.kind === 'nesterov' ? 'Nesterov momentum' : 'momentum'} are implemented for polynomial κ = 2 models (diagonal, linear networks, factorisations) and κ > 2 models (modular); '${p.model.spec.name}' has ${kappa === null ? 'no homogeneity degree' : kappa < 2 ? `κ = ${kappa}` : 'relu units'} (use the gradient-flow AGF, --for flow, and the time mapping t = k·lr/(1 − momentum))`);
}

export function checkAlgorithm(a: AgfAlgorithm): void {
  if (a.kind === 'flow') return;
  if (!(Number.isFinite(a.lr) && a.lr > 0)) throw new GradflowError(`agf: the learning rate must be a positive number (got ${a.lr})`);
  if (hasMomentum(a) && !(a.momentum > 0 && a.momentum < 1)) throw new GradflowError(`agf: momentum must lie in (0, 1) (got ${a.momentum}; momentum 0 is --for gd)`);
}

/** Flow time per step: η for gd, η/(1 − m) for momentum (the time descent.ts stamps on step k). */
export function flowTimePerStep(a: AgfAlgorithm): number {
  return a.kind === 'flow' ? 1 : a.kind === 'gd' ? a.lr : a.lr / (1 - a.momentum);
}

export function algorithmLabel(a: AgfAlgorithm): string {
  const lr = a.kind === 'flow' ? '' : String(Number(a.lr.toPrecision(6)));
  return a.kind === 'flow' ? 'gradient flow' : a.kind === 'gd' ? `gradient descent, lr = ${lr}` : `${a.kind === 'nesterov' ? 'Nesterov' : 'heavy-ball'} momentum, lr = ${lr}, momentum = ${a.momentum}`;
}

export function dormantDynamics(a: AgfAlgorithm, ar: LogArith): DormantDynamics {
  checkAlgorithm(a);
  if (a.kind === 'flow') return flowDynamics(ar);
  if (ar.tropical) throw new GradflowError('agf: the alpha → 0 limit is computed for gradient flow only; give a positive alpha with --for gd|momentum');
  return a.kind === 'gd' ? gdDynamics(a.lr) : momentumDynamics(a.lr, a.momentum, a.kind === 'nesterov');
}

function flowDynamics(ar: LogArith): DormantDynamics {
  return {
    algorithm: { kind: 'flow' },
    flowTimePerUnit: 1,
    fromVector: (basis, v, baseLog, snapTol) => gradedFromVector(ar, basis, v, baseLog, snapTol),
    reexpand: (st, next, O) => flowReexpand(ar, st, next, O),
    activationTime: (st) => flowActivationTime(ar, st),
    activationLowerBound: (st) => flowActivationLowerBound(ar, st),
    rebase: (st, next) => { st.basis = next; return st; },
    advance: (st, t) => flowAdvance(st, t),
    clone: (st) => cloneGraded(st),
    toVector: (st, P) => flowToVector(ar, st, P),
    logNorm: (st) => flowLogNorm(ar, st),
    givens: (a, b, n) => flowGivens(ar, a, b, n),
  };
}

/** The first integer step at which a norm that first reaches 1 at real step s is ≥ 1 (s = 5 − 1e-12 is step 5). */
function firstStep(s: number): number {
  if (!Number.isFinite(s)) return s;
  return Math.max(0, Math.ceil(s - 1e-9 * Math.max(1, s)));
}

/** A basis with the same vectors and per-step log-rates `values` (shared by every state of one plateau). */
function shadowCache(rate: (lambda: number) => number): (b: Eigenbasis) => Eigenbasis {
  const cache = new WeakMap<Eigenbasis, Eigenbasis>();
  return (b) => {
    let s = cache.get(b);
    if (!s) {
      s = { values: Float64Array.from(b.values, rate), vectors: b.vectors };
      cache.set(b, s);
    }
    return s;
  };
}

/**
 * Gradient descent: coordinate n multiplies by (1 + ηλₙ) per step. The norm at integer k is that of
 * a flow with rates log|1 + ηλₙ|, so graded.ts finds the real root and the activation is its ceiling.
 */
function gdDynamics(lr: number): DormantDynamics {
  const ar = FINITE;
  const stepRates = shadowCache((lam) => Math.log(Math.abs(1 + lr * lam)));
  const shadow = (st: GradedState): GradedState => ({ basis: stepRates(st.basis), s: st.s, l: st.l });
  return {
    algorithm: { kind: 'gd', lr },
    flowTimePerUnit: lr,
    fromVector: (basis, v, baseLog, snapTol) => gradedFromVector(ar, basis, v, baseLog, snapTol),
    reexpand: (st, next, O) => flowReexpand(ar, st, next, O),
    activationTime: (st) => firstStep(flowActivationTime(ar, shadow(st))),
    activationLowerBound: (st) => Math.floor(flowActivationLowerBound(ar, shadow(st))),
    rebase: (st, next) => { st.basis = next; return st; },
    advance(st, k) {
      if (k === 0) return;
      checkSteps(k);
      const { values } = st.basis;
      for (let n = 0; n < st.l.length; n++) {
        if (st.s[n] === 0) continue;
        const f = 1 + lr * values[n];
        if (f === 0) { st.s[n] = 0; st.l[n] = -Infinity; continue; }
        st.l[n] += k * Math.log(Math.abs(f));
        if (f < 0 && k % 2 === 1) st.s[n] = -st.s[n];
      }
    },
    clone: (st) => cloneGraded(st),
    toVector: (st, P) => flowToVector(ar, st, P),
    logNorm: (st) => flowLogNorm(ar, st),
    givens: (a, b, n) => flowGivens(ar, a, b, n),
  };
}

function checkSteps(k: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new GradflowError(`agf: a discrete algorithm advances by whole steps (got ${k}); the plateau needs more than 2^53 steps — raise the learning rate (--lr)`);
}

/**
 * Roots and mode data of one momentum coordinate of rate λ, (c, v) ← A(c, v) with v the displacement
 * buffer: heavy ball A = [[1 + ηλ, m], [ηλ, m]]; Nesterov (b ← m·b + ∇L, θ ← θ − η(∇L + m·b), v = −ηb)
 * A = [[1 + ηλ(1 + m), m²], [ηλ, m]], trace (1 + m)(1 + ηλ), determinant m(1 + ηλ).
 */
interface Coord {
  /** λ ≥ 0: stored as mode coefficients (a₊, a₋); else raw (c, v). */
  modes: boolean;
  /** A = [[a11, a12], [a21, m]] and det A. */
  a11: number;
  a12: number;
  a21: number;
  det: number;
  /** Mode form: log z₊, log z₋ and w± = 1 − 1/z±. */
  lzp: number;
  lzm: number;
  wp: number;
  wm: number;
}

function coordOf(lr: number, m: number, lam: number, nesterov = false): Coord {
  const a21 = lr * lam;
  const a11 = nesterov ? 1 + a21 * (1 + m) : 1 + a21, a12 = nesterov ? m * m : m;
  const det = nesterov ? m * (1 + a21) : m;
  if (!(lam >= 0)) return { modes: false, a11, a12, a21, det, lzp: NaN, lzm: NaN, wp: NaN, wm: NaN };
  const T = a11 + m;
  const sq = Math.sqrt(T * T - 4 * det); // ≥ 1 − m > 0 for λ ≥ 0
  const zp = 0.5 * (T + sq);
  const zm = det / zp; // the product of the roots is det A (no cancellation)
  // mode vectors (1, w): w = (z − a11)/a12 (heavy ball: 1 − 1/z); a11 − z₋ = z₊ − m > 0 without cancellation
  return { modes: true, a11, a12, a21, det, lzp: Math.log(zp), lzm: Math.log(zm), wp: (zp - a11) / a12, wm: -(zp - m) / a12 };
}

/**
 * log|U_k| and its sign, U_k = Σ_{j<k} z₁^j z₂^{k−1−j} for the roots of z² − Tz + m (so that
 * A^k = U_k A − m U_{k−1} I, m = det A); real or complex roots, k a non-negative integer. m ≤ 0
 * (Nesterov past 1 + ηλ = 0): real roots of opposite signs (or one zero root).
 */
function chebU(T: number, m: number, k: number, out: Float64Array): void {
  if (k === 0) { out[0] = 0; out[1] = -Infinity; return; }
  if (k === 1) { out[0] = 1; out[1] = 0; return; }
  if (m === 0) {
    // roots T and 0: U_k = T^{k−1}
    out[0] = T === 0 ? 0 : T < 0 && (k - 1) % 2 === 1 ? -1 : 1;
    out[1] = T === 0 ? -Infinity : (k - 1) * Math.log(Math.abs(T));
    return;
  }
  if (m < 0) {
    // z_a (|z_a| > |z_b|, sign of T; T = 0 gives ±√−m) and z_b = m/z_a: U_k = z_a^{k−1}(1 − ρ^k)/(1 − ρ), ρ = z_b/z_a ∈ [−1, 0)
    const za = 0.5 * (Math.abs(T) + Math.sqrt(T * T - 4 * m)) * (T < 0 ? -1 : 1);
    const rho = m / (za * za);
    const ratio = (1 - Math.pow(rho, k)) / (1 - rho);
    out[0] = ratio === 0 ? 0 : (za < 0 && (k - 1) % 2 === 1 ? -1 : 1);
    out[1] = ratio === 0 ? -Infinity : (k - 1) * Math.log(Math.abs(za)) + Math.log(ratio);
    return;
  }
  const disc = T * T - 4 * m;
  const r = Math.sqrt(m);
  if (disc < 0) {
    // z = r e^{±iφ}: U_k = r^{k−1} sin(kφ)/sin φ
    const phi = Math.acos(Math.max(-1, Math.min(1, T / (2 * r))));
    const s = Math.sin(k * phi) / Math.sin(phi);
    out[0] = Math.sign(s);
    out[1] = s === 0 ? -Infinity : (k - 1) * Math.log(r) + Math.log(Math.abs(s));
    return;
  }
  // real roots of the sign of T: |z_a| ≥ |z_b|, U_k = sgn^{k−1} |z_a|^{k−1} (1 − ρ^k)/(1 − ρ), ρ = |z_b|/|z_a| ∈ (0, 1]
  const sgn = T >= 0 ? 1 : -1;
  const ya = 0.5 * (Math.abs(T) + Math.sqrt(disc));
  const yb = m / ya;
  const lrho = Math.log(yb / ya);
  const ratio = lrho === 0 ? k : Math.expm1(k * lrho) / Math.expm1(lrho);
  out[0] = sgn < 0 && (k - 1) % 2 === 1 ? -1 : 1;
  out[1] = (k - 1) * Math.log(ya) + Math.log(ratio);
}

function momentumDynamics(lr: number, m: number, nesterov: boolean): DormantDynamics {
  const ar = FINITE;
  const coordCache = new WeakMap<Eigenbasis, Coord[]>();
  const coords = (b: Eigenbasis): Coord[] => {
    let c = coordCache.get(b);
    if (!c) { c = Array.from(b.values, (lam) => coordOf(lr, m, lam, nesterov)); coordCache.set(b, c); }
    return c;
  };
  // the growing modes alone: log-convex in the step count, so graded.ts locates where they reach norm 1
  const plusRates = shadowCache((lam) => (lam >= 0 ? coordOf(lr, m, lam, nesterov).lzp : -Infinity));
  const t2 = new Float64Array(2), u1 = new Float64Array(2), u0 = new Float64Array(2);
  const lm = Math.log(m);

  /** (c, v) of coordinate n, sign and log each, written into out = [cs, cl, vs, vl]. */
  const raw = (st: DormantState, n: number, C: Coord, out: Float64Array): void => {
    const xs = st.s[n], xl = st.l[n], ys = st.ys![n], yl = st.yl![n];
    if (!C.modes) { out[0] = xs; out[1] = xl; out[2] = ys; out[3] = yl; return; }
    signedAdd(ar, xs, xl, ys, yl, t2);
    out[0] = t2[0]; out[1] = t2[1];
    signedAdd(ar, xs * Math.sign(C.wp), xl + logOf(ar, C.wp), ys * Math.sign(C.wm), yl + logOf(ar, C.wm), t2);
    out[2] = t2[0]; out[3] = t2[1];
  };
  /** Stores (c, v) into coordinate n in its representation. */
  const store = (st: DormantState, n: number, C: Coord, cs: number, cl: number, vs: number, vl: number): void => {
    if (!C.modes) { st.s[n] = cs; st.l[n] = cs === 0 ? -Infinity : cl; st.ys![n] = vs; st.yl![n] = vs === 0 ? -Infinity : vl; return; }
    const ld = Math.log(C.wp - C.wm); // w₊ − w₋ = 1/z₋ − 1/z₊ > 0
    // a₊ = (v − w₋c)/(w₊ − w₋), a₋ = (w₊c − v)/(w₊ − w₋)
    signedAdd(ar, vs, vl, -cs * Math.sign(C.wm), cl + logOf(ar, C.wm), t2);
    st.s[n] = t2[0]; st.l[n] = t2[0] === 0 ? -Infinity : t2[1] - ld;
    signedAdd(ar, cs * Math.sign(C.wp), cl + logOf(ar, C.wp), -vs, vl, t2);
    st.ys![n] = t2[0]; st.yl![n] = t2[0] === 0 ? -Infinity : t2[1] - ld;
  };
  const tmp4 = new Float64Array(4);

  /** Position of coordinate n after k more steps (integer k; real k for mode coordinates). */
  const positionAfter = (st: DormantState, n: number, C: Coord, k: number, out: Float64Array): void => {
    if (C.modes) {
      signedAdd(ar, st.s[n], st.l[n] + k * C.lzp, st.ys![n], st.yl![n] + k * C.lzm, out);
      return;
    }
    stepRaw(st.s[n], st.l[n], st.ys![n], st.yl![n], C, k, tmp4);
    out[0] = tmp4[0]; out[1] = tmp4[1];
  };
  /** A^k (c, v) in log form for a raw coordinate: c' = U_k c₁ − d U_{k−1} c, v' = U_k v₁ − d U_{k−1} v, (c₁, v₁) = A(c, v), d = det A. */
  const stepRaw = (cs: number, cl: number, vs: number, vl: number, C: Coord, k: number, out: Float64Array): void => {
    if (k === 0) { out[0] = cs; out[1] = cl; out[2] = vs; out[3] = vl; return; }
    const T = C.a11 + m;
    const sd = Math.sign(C.det), ld = logOf(ar, C.det), l12 = Math.log(C.a12);
    signedAdd(ar, cs * Math.sign(C.a11), cl + logOf(ar, C.a11), vs, vl + l12, t2);
    const c1s = t2[0], c1l = t2[1];
    signedAdd(ar, cs * Math.sign(C.a21), cl + logOf(ar, C.a21), vs, vl + lm, t2);
    const v1s = t2[0], v1l = t2[1];
    chebU(T, C.det, k, u1);
    chebU(T, C.det, k - 1, u0);
    signedAdd(ar, u1[0] * c1s, u1[1] + c1l, -sd * u0[0] * cs, ld + u0[1] + cl, t2);
    out[0] = t2[0]; out[1] = t2[0] === 0 ? -Infinity : t2[1];
    signedAdd(ar, u1[0] * v1s, u1[1] + v1l, -sd * u0[0] * vs, ld + u0[1] + vl, t2);
    out[2] = t2[0]; out[3] = t2[0] === 0 ? -Infinity : t2[1];
  };
  const pos = new Float64Array(2);
  /** log‖position‖ after k more steps. */
  const logNormAfter = (st: DormantState, k: number): number => {
    const C = coords(st.basis);
    const ls: number[] = [];
    for (let n = 0; n < st.l.length; n++) {
      positionAfter(st, n, C[n], k, pos);
      if (pos[0] !== 0) ls.push(pos[1]);
    }
    if (!ls.length) return -Infinity;
    const mx = Math.max(...ls);
    let s = 0;
    for (const l of ls) s += Math.exp(2 * (l - mx));
    return mx + 0.5 * Math.log(s);
  };
  const empty = (basis: Eigenbasis, P: number): DormantState => ({ basis, s: new Float64Array(P), l: new Float64Array(P).fill(-Infinity), ys: new Float64Array(P), yl: new Float64Array(P).fill(-Infinity) });

  return {
    algorithm: { kind: nesterov ? 'nesterov' : 'momentum', lr, momentum: m },
    flowTimePerUnit: lr / (1 - m),
    fromVector(basis, v, baseLog, snapTol) {
      // the buffer starts at 0, as in descent.ts
      const g = gradedFromVector(ar, basis, v, baseLog, snapTol);
      const st = empty(basis, g.l.length);
      const C = coords(basis);
      for (let n = 0; n < g.l.length; n++) if (g.s[n] !== 0) store(st, n, C[n], g.s[n], g.l[n], 0, -Infinity);
      return st;
    },
    reexpand(st, next, O) {
      const Cold = coords(st.basis), Cnew = coords(next);
      const P = next.vectors.length;
      const out = empty(next, P);
      const rc = Array.from(st.l, (_, mIdx) => { const r = new Float64Array(4); raw(st, mIdx, Cold[mIdx], r); return r; });
      for (let n = 0; n < P; n++) {
        const row = O[n];
        const nz: number[] = [];
        for (let j = 0; j < row.length; j++) if (row[j] !== 0) nz.push(j);
        // a coordinate carried over with its rate: copy its representation (keeps a zero growing mode exactly 0)
        if (nz.length === 1 && st.basis.values[nz[0]] === next.values[n]) {
          const j = nz[0], sg = Math.sign(row[j]), lo = logOf(ar, row[j]);
          out.s[n] = sg * st.s[j]; out.l[n] = st.s[j] === 0 ? -Infinity : st.l[j] + lo;
          out.ys![n] = sg * st.ys![j]; out.yl![n] = st.ys![j] === 0 ? -Infinity : st.yl![j] + lo;
          continue;
        }
        let cs = 0, cl = -Infinity, vs = 0, vl = -Infinity;
        for (const j of nz) {
          const sg = Math.sign(row[j]), lo = logOf(ar, row[j]), r = rc[j];
          if (r[0] !== 0) { signedAdd(ar, cs, cl, sg * r[0], r[1] + lo, t2); cs = t2[0]; cl = t2[1]; }
          if (r[2] !== 0) { signedAdd(ar, vs, vl, sg * r[2], r[3] + lo, t2); vs = t2[0]; vl = t2[1]; }
        }
        if (cs !== 0 || vs !== 0) store(out, n, Cnew[n], cs, cl, vs, vl);
      }
      return out;
    },
    activationTime(st) {
      // the growing modes reach norm 1 at real step s₊; the exact position norm (with the decaying modes and the
      // buffer's transient) is checked at integer steps around it
      const plus: GradedState = { basis: plusRates(st.basis), s: st.s.map((x, n) => (st.basis.values[n] >= 0 ? x : 0)), l: st.l };
      const sPlus = flowActivationTime(ar, plus);
      if (!Number.isFinite(sPlus)) return Infinity;
      const ok = (k: number): boolean => logNormAfter(st, k) >= 0;
      /** First j in (a, b] with ok(j), given !ok(a) and ok(b) (monotone there). */
      const bisect = (a: number, b: number): number => {
        while (b - a > 1) { const mid = Math.floor((a + b) / 2); if (ok(mid)) b = mid; else a = mid; }
        return b;
      };
      const k = firstStep(sPlus);
      if (!ok(k)) {
        let step = 1;
        while (!ok(k + step)) {
          step *= 2;
          if (!(k + step < 2 ** 53)) return Infinity;
        }
        return bisect(step === 1 ? k : k + step / 2, k + step);
      }
      // earlier steps qualify only after the norm's last dip below 1 (a returning neuron starts at norm 1 and
      // first shrinks): scan [0, k] densely from the top for a step below 1, then bisect; without a dip the
      // activation is where the norm is smallest (as graded.ts does for the flow)
      const stride = Math.max(1, Math.ceil(k / 256));
      let prevOk = k, best = k, bestLog = logNormAfter(st, k);
      for (let a = k - stride; ; a -= stride) {
        const j = Math.max(0, a);
        const g = logNormAfter(st, j);
        if (g < 0) return bisect(j, prevOk);
        if (g <= bestLog) { bestLog = g; best = j; }
        prevOk = j;
        if (j === 0) break;
      }
      return best;
    },
    advance(st, k) {
      if (k === 0) return;
      checkSteps(k);
      const C = coords(st.basis);
      for (let n = 0; n < st.l.length; n++) {
        const c = C[n];
        if (c.modes) {
          if (st.s[n] !== 0) st.l[n] += k * c.lzp;
          if (st.ys![n] !== 0) st.yl![n] += k * c.lzm;
          continue;
        }
        if (st.s[n] === 0 && st.ys![n] === 0) continue;
        stepRaw(st.s[n], st.l[n], st.ys![n], st.yl![n], c, k, tmp4);
        st.s[n] = tmp4[0]; st.l[n] = tmp4[1]; st.ys![n] = tmp4[2]; st.yl![n] = tmp4[3];
      }
    },
    clone: (st) => ({ basis: st.basis, s: st.s.slice(), l: st.l.slice(), ys: st.ys!.slice(), yl: st.yl!.slice() }),
    restore(st) {
      // at a fit the gradient on the neuron is 0: v ← m·v, θ ← θ + a12·v sums the buffer into the position, θ + a12·v/(1 − m) (a12 = m heavy ball, m² Nesterov)
      const C = coords(st.basis);
      const out = empty(st.basis, st.l.length);
      const lk = Math.log((nesterov ? m * m : m) / (1 - m));
      for (let n = 0; n < st.l.length; n++) {
        raw(st, n, C[n], tmp4);
        signedAdd(ar, tmp4[0], tmp4[1], tmp4[2], tmp4[3] + lk, t2);
        if (t2[0] !== 0) store(out, n, C[n], t2[0], t2[1], 0, -Infinity);
      }
      return out;
    },
    toVector(st, P) {
      const C = coords(st.basis);
      const out = new Float64Array(P);
      for (let n = 0; n < st.l.length; n++) {
        positionAfter(st, n, C[n], 0, pos);
        if (pos[0] === 0) continue;
        const w = pos[0] * Math.exp(pos[1]);
        const e = st.basis.vectors[n];
        for (let a = 0; a < P; a++) out[a] += w * e[a];
      }
      return out;
    },
    logNorm: (st) => logNormAfter(st, 0),
    givens(a, b, n) {
      // the rotation that zeroes b's growing mode in coordinate n, applied to both parts of every coordinate
      if (b.s[n] === 0) return [1, 0];
      const lr2 = a.s[n] === 0 ? b.l[n] : 0.5 * logSum2(2 * a.l[n], 2 * b.l[n]);
      const cS = a.s[n], cL = a.l[n] - lr2, sS = b.s[n], sL = b.l[n] - lr2;
      const rot = flowGivens(ar, a, b, n);
      const ya = a.ys!, yla = a.yl!, yb = b.ys!, ylb = b.yl!;
      for (let k = 0; k < ya.length; k++) {
        const as = ya[k], al = yla[k], bs = yb[k], bl = ylb[k];
        signedAdd(ar, cS * as, cL + al, sS * bs, sL + bl, t2);
        const nas = t2[0], nal = t2[1];
        signedAdd(ar, -sS * as, sL + al, cS * bs, cL + bl, t2);
        ya[k] = nas; yla[k] = nas === 0 ? -Infinity : nal;
        yb[k] = t2[0]; ylb[k] = t2[0] === 0 ? -Infinity : t2[1];
      }
      return rot;
    },
  };
}

function logSum2(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const mx = Math.max(x, y);
  return mx + Math.log(Math.exp(x - mx) + Math.exp(y - mx));
}

/**
 * The stable range of an algorithm on a quadratic of curvature h > 0: ηh < 2 (gd), ηh < 2(1 + m)
 * (heavy ball), ηh < 2(1 + m)/(1 + 2m) (Nesterov: its characteristic polynomial at z = −1 is
 * 1 + (1 + 2m)(1 − ηh)).
 */
export function stabilityLimit(a: AgfAlgorithm): number {
  return a.kind === 'gd' ? 2 : a.kind === 'momentum' ? 2 * (1 + a.momentum) : a.kind === 'nesterov' ? (2 * (1 + a.momentum)) / (1 + 2 * a.momentum) : Infinity;
}

const boundText = (a: AgfAlgorithm, limit: number): string => (a.kind === 'gd' ? '2' : a.kind === 'momentum' ? `2(1 + momentum) = ${limit}` : `2(1 + momentum)/(1 + 2·momentum) = ${limit.toPrecision(6)}`);

export interface SaddleStability {
  /** 0 = the origin, k = the saddle after jump k. */
  saddle: number;
  /** Largest Hessian eigenvalue of L at the saddle: active block (finite differences) or a dormant neuron's −λ. */
  lambdaMax: number;
  /** Where it comes from. */
  block: 'active' | 'dormant';
  /** η·λ_max and the algorithm's bound on it. */
  etaLambda: number;
  limit: number;
  stable: boolean;
}

/**
 * Curvature at a saddle. The Hessian of L is block diagonal there (a κ = 2 dormant neuron at θ = 0
 * enters L quadratically, so the cross terms vanish): the active block by central differences of ∇L
 * on the active coordinates, each dormant neuron's block −M (curvature −λ of its rates λ).
 */
export function saddleStability(p: Problem, theta: Float64Array, mask: Uint8Array, dormantRates: ArrayLike<number>[], a: AgfAlgorithm, saddle: number): SaddleStability {
  let lambdaMax = 0, block: 'active' | 'dormant' = 'dormant';
  for (const vals of dormantRates) for (let k = 0; k < vals.length; k++) if (-vals[k] > lambdaMax) lambdaMax = -vals[k];
  const act = activeCurvature(p, theta, mask);
  if (act > lambdaMax) { lambdaMax = act; block = 'active'; }
  const eta = a.kind === 'flow' ? 0 : a.lr;
  const limit = stabilityLimit(a);
  return { saddle, lambdaMax, block, etaLambda: eta * lambdaMax, limit, stable: eta * lambdaMax < limit };
}

/** Largest eigenvalue of the active block of ∇²L (0 with no active neuron). */
function activeCurvature(p: Problem, theta: Float64Array, mask: Uint8Array): number {
  const { H, P } = p.layout;
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const idx: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) for (let q = 0; q < P; q++) idx.push(i * P + q);
  const N = idx.length;
  if (N === 0) return 0;
  const th = theta.slice(), gp = new Float64Array(theta.length), gm = new Float64Array(theta.length);
  const hvp = (v: Float64Array, out: Float64Array): void => {
    let nv = 0;
    for (let k = 0; k < N; k++) nv = Math.max(nv, Math.abs(v[k]));
    let sc = 0;
    for (const q of idx) sc = Math.max(sc, Math.abs(theta[q]));
    const h = 1e-5 * Math.max(sc, 1) / (nv || 1);
    idx.forEach((q, k) => { th[q] = theta[q] + h * v[k]; });
    kb.lossGrad(th, gp, mask);
    idx.forEach((q, k) => { th[q] = theta[q] - h * v[k]; });
    kb.lossGrad(th, gm, mask);
    idx.forEach((q, k) => { th[q] = theta[q]; out[k] = (gp[q] - gm[q]) / (2 * h); });
  };
  if (N <= 120) {
    const Hm = new Float64Array(N * N), e = new Float64Array(N), col = new Float64Array(N);
    for (let c = 0; c < N; c++) {
      e.fill(0); e[c] = 1;
      hvp(e, col);
      for (let r = 0; r < N; r++) Hm[r * N + c] = col[r];
    }
    for (let r = 0; r < N; r++) for (let c = r + 1; c < N; c++) { const v = 0.5 * (Hm[r * N + c] + Hm[c * N + r]); Hm[r * N + c] = v; Hm[c * N + r] = v; }
    return Math.max(0, jacobiEig(Hm, N).values[0]);
  }
  // larger active sets: power iteration on H + σI, σ an upper bound of |λ_min| (Gershgorin-free: σ = ‖H‖ from a first power run)
  const power = (shift: number): number => {
    let v = Float64Array.from({ length: N }, (_, k) => 1 + ((k * 7919) % 13) / 13);
    const w = new Float64Array(N);
    let lam = 0;
    for (let it = 0; it < 200; it++) {
      let nv = 0;
      for (let k = 0; k < N; k++) nv += v[k] * v[k];
      nv = Math.sqrt(nv);
      for (let k = 0; k < N; k++) v[k] /= nv;
      hvp(v, w);
      let r = 0;
      for (let k = 0; k < N; k++) { w[k] += shift * v[k]; r += w[k] * v[k]; }
      if (Math.abs(r - lam) <= 1e-10 * Math.abs(r)) { lam = r; break; }
      lam = r;
      v = w.slice();
    }
    return lam - shift;
  };
  const norm = Math.abs(power(0));
  return Math.max(0, power(norm));
}

/** The `conventions.time` text of a schedule in steps. */
export function stepConvention(a: AgfAlgorithm, transient = false): string {
  if (a.kind === 'flow') return 'flow time; rescaledTime = time / log(1/alpha)';
  const per = a.kind === 'gd' ? `k·lr (lr = ${a.lr})` : `k·lr/(1 − momentum) (lr = ${a.lr}, momentum = ${a.momentum})`;
  const fits = transient ? '; each fit runs in the algorithm\'s own steps from the arriving neuron\'s ‖θ‖ = 1e-3, and they count' : '';
  return `${a.kind === 'gd' ? 'gradient-descent' : a.kind === 'nesterov' ? 'Nesterov' : 'heavy-ball'} steps: jump.step = k, the first step at which the arriving neuron's dormant dynamics reach ‖θ‖ ≥ 1 (primary)${fits}; time = ${per}, the flow-time equivalent descent.ts stamps on step k; rescaledTime = time / log(1/alpha)`;
}

/** Why a discrete schedule stops at an unstable saddle. */
export function unstableReason(s: SaddleStability, a: AgfAlgorithm, jump?: { step?: number }): string {
  const name = a.kind === 'gd' ? `gradient descent (lr = ${a.lr})` : hasMomentum(a) ? `${a.kind === 'nesterov' ? 'Nesterov' : 'heavy-ball'} momentum (lr = ${a.lr}, momentum = ${a.momentum})` : 'gradient flow';
  const where = s.saddle === 0 ? 'at the origin (the first plateau)' : `at the saddle after jump ${s.saddle}${jump?.step !== undefined ? ` (reached at step ≈ ${jump.step}; that jump is not reported)` : ''}`;
  const bound = boundText(a, s.limit);
  return `${name} is unstable ${where}: lr·λ_max = ${s.etaLambda.toPrecision(4)} > ${bound}, λ_max = ${s.lambdaMax.toPrecision(6)} the largest Hessian eigenvalue of L there (${s.block} block); no prediction past it — lower the learning rate below ${(s.limit / s.lambdaMax).toPrecision(4)} (--lr)`;
}

/** One line on the stability of a discrete schedule: the worst saddle, or why it stopped. */
export function stabilityNote(extra: Record<string, unknown> | undefined): string | null {
  const list = extra?.stability as SaddleStability[] | undefined;
  if (!list || !list.length) return null;
  const worst = list.reduce((a, b) => (b.etaLambda > a.etaLambda ? b : a));
  const bad = list.find((s) => !s.stable);
  const lim = (x: number): string => String(Number(x.toPrecision(6)));
  if (bad) return `stability: unstable at saddle ${bad.saddle} (lr·λ_max = ${bad.etaLambda.toPrecision(4)} ≥ ${lim(bad.limit)}); the schedule stops there`;
  return `stability: stable at all ${list.length} saddles visited; largest lr·λ_max = ${worst.etaLambda.toPrecision(4)} (saddle ${worst.saddle}, ${worst.block} block) < ${lim(worst.limit)}`;
}

/**
 * κ-homogeneous neuron on its utility maximiser: the maximiser is a critical point of Û on the
 * sphere, so the neuron stays on its ray while dormant and its norm obeys ρ̇ = κρ^{κ−1}U* (flow);
 * the discrete algorithm applied to the same ray is ρ ← ρ + ηκρ^{κ−1}U* (gd) or
 * v ← m·v + ηκρ^{κ−1}U*, ρ ← ρ + v (heavy ball, buffer at rest). Returns the first step at which
 * ρ ≥ rho1 (Infinity past maxSteps); flow: the flow time, closed form. This is the κ > 2 analogue of
 * the per-step factors above for an aligned start (the modular model's τ_ξ); from a random start the
 * direction also moves, which it does not model.
 */
export function alignedActivation(kappa: number, uStar: number, rho0: number, rho1: number, a: AgfAlgorithm, maxSteps = 1e8): number {
  if (!(uStar > 0 && rho0 > 0 && rho1 > rho0)) throw new GradflowError(`alignedActivation: need U* > 0 and 0 < rho0 < rho1 (got ${uStar}, ${rho0}, ${rho1})`);
  if (a.kind === 'flow') return kappa === 2 ? Math.log(rho1 / rho0) / (2 * uStar) : (Math.pow(rho0, 2 - kappa) - Math.pow(rho1, 2 - kappa)) / ((kappa - 2) * kappa * uStar);
  checkAlgorithm(a);
  const m = hasMomentum(a) ? a.momentum : 0;
  let rho = rho0, v = 0;
  for (let k = 1; k <= maxSteps; k++) {
    const g = a.lr * kappa * Math.pow(rho, kappa - 1) * uStar;
    v = m * v + g;
    rho += a.kind === 'nesterov' ? m * v + g : v;
    if (rho >= rho1) return k;
  }
  return Infinity;
}

/** One neuron of a fit transient: its state (position and buffer), its slot in θ and its group; active neurons make the residual. */
export interface TransientMember {
  state: DormantState;
  slot: number;
  group: number;
  active: boolean;
  /**
   * The fit removes it: it makes the residual until ‖θ‖ < 1e-4 (output below 1e-8), or until it is
   * its output has turned against its output at the start (it passed through 0), or it is visibly
   * regrowing after it shrank (the max of its log-norm over the last `window` steps — the envelope of
   * its ringing — 10× below its peak, then 4× above its minimum: at moderate α the regrowing mode
   * catches up before the norm gets that small); then it is dormant, and may re-enter.
   */
  collapsing?: boolean;
  /**
   * A ghost: the arriving neuron's linearised copy (no output, never active), carried through the
   * transient with the rates of the residual of the others, M(r_k + f_slot(θ_slot)), so its jump is
   * stamped where AGF stamps it — the first step at which the neuron's dormant dynamics reach
   * ‖θ‖ ≥ 1 — with the rates the simulated fit of the other neurons supplies (TransientResult.crossings).
   */
  ghost?: boolean;
  /** A ghost whose rates are frozen: its neuron has grown past GHOST_FREEZE, so the others' residual now answers it (a response AGF's dormant dynamics do not have). */
  frozen?: boolean;
}

/** Norm of a ghost's neuron past which its output (1%) starts to move the others: the ghost keeps the rates it had there. */
const GHOST_FREEZE = 0.1;

/** Norm below which a collapsing member's output (O(‖θ‖²)) leaves the residual. */
const COLLAPSED = Math.log(1e-4);

/**
 * log of the norm at which a dormant neuron enters the fit transient (its output, O(‖θ‖²) = 1e-6,
 * starts to move the residual). Starting the simulated fit there rather than at ‖θ‖ = 1 matters
 * for momentum: the arriving neuron's own output bends the rates in the last steps before ‖θ‖ = 1,
 * an O(1) phase shift of every rotating coordinate that no α → 0 limit removes.
 */
export const TRANSIENT_ENTRY = Math.log(1e-3);

/** The same dormant state times e^{dl} (the dynamics are linear: activation at norm e^{−dl} is activation of this at norm 1). */
export function scaledState<S extends DormantState>(st: S, dl: number): S {
  const out = { ...st, l: st.l.map((x) => x + dl) };
  if (st.yl) out.yl = st.yl.map((x) => x + dl);
  return out;
}

export interface TransientOptions {
  /** Slots of each group of interchangeable neurons (one M per group: that of its first slot). */
  groups: number[][];
  /** M* per slot: the utility Hessians at the fit's residual (the next plateau's dormant dynamics). */
  target: Float64Array[];
  /** Rate scale of the run (largest initial growth rate) and the spectral tolerances. */
  scale: number;
  tol: SpectralTolerances;
  /** Stop when max|M_k − M*| ≤ relTol·scale for `window` consecutive steps (the ringing of a momentum run passes through 0). */
  relTol: number;
  window: number;
  maxSteps: number;
}

export interface TransientResult {
  /** Steps taken. */
  steps: number;
  converged: boolean;
  /** max|M_k − M*|/scale where it stopped. */
  deviation: number;
  /** A dormant member reached the entry norm during the fit: the next jump starts where the transient stopped. */
  activated: boolean;
  /** Per member: the first step at which a ghost has ‖θ‖ ≥ 1 (−1: not in this transient). */
  crossings: number[];
}

/**
 * The fit in the discrete algorithm's own steps. AGF's cost minimisation is instantaneous in flow
 * time, but it lasts O(1/η_eff) steps of a discrete run, and the dormant neurons do not wait: a
 * shrinking heavy-ball coordinate with complex roots (ηλ > (1 − √m)²) keeps rotating through the
 * fit at modulus √m per step, so its phase (and so the seed it re-enters from) at the fit's end is
 * set by the fit's path, not by the state at activation. A κ = 2 polynomial neuron is a quadratic
 * form in its parameters, so −∇_{θ_i}L = M(r)θ_i exactly for every neuron, active or dormant, with
 * M(r) the utility Hessian at the current residual: the algorithm's step on neuron i is the per-step
 * map of this module with the rates of M(r_k). This iterates that map on every member — the active
 * neurons (the arriving one with the buffer it arrived with, the others from their last fit) make
 * r_k; the dormant ones, in log-magnitudes, are carried without underflow — re-expanding each
 * step into M(r_k)'s eigenbasis (exact overlaps, snapped only at round-off), until the rates are
 * the next plateau's (M(r_k) = M* to relTol), or until a dormant member reaches the entry norm
 * e^{TRANSIENT_ENTRY} (the fit's ringing outlasts the next plateau, e.g. heavy ball m = 0.9 at
 * moderate α: that neuron's jump then starts where this transient stopped). A collapsing
 * neuron stays a member and shrinks as the algorithm makes it, so its state at the end is the
 * discrete map's, buffer included.
 * Mutates each member's state in place of the old object.
 */
export function fitTransient(p: Problem, dyn: DormantDynamics, members: TransientMember[], o: TransientOptions): TransientResult {
  const { H, P, c } = p.layout;
  const { X, Y, n } = p.data;
  const theta = new Float64Array(H * P), mask = new Uint8Array(H);
  const f = new Float64Array(n * c), r = new Float64Array(n * c), rg = new Float64Array(n * c);
  const outs = new Float64Array(H * n * c);
  const needOuts = members.some((u) => u.ghost || u.collapsing);
  let outs0: Float64Array | null = null; // the members' outputs at the start (a collapsing one that reverses its output has passed through 0)
  // stationarity is judged over a block of at least one rate time 1/scale of flow time (and `window` steps):
  // per step, a slow fit (η_eff·scale ≪ 1) moves M by less than relTol and would pass for stationary at once
  const block = Math.max(o.window, Math.ceil(1 / (flowTimePerStep(dyn.algorithm) * o.scale)));
  let anchor: Float64Array[] | null = null, anchorStep = 0;
  const ghostRates = new Map<TransientMember, Float64Array[]>();
  const bases: (Eigenbasis | null)[] = o.groups.map(() => null);
  let run = 0, deviation = Infinity;
  const crossings = members.map(() => -1);
  const recent = members.map(() => [] as number[]), envMin = members.map(() => Infinity), envMax = members.map(() => -Infinity);
  for (let k = 0; ; k++) {
    theta.fill(0);
    mask.fill(0);
    members.forEach((u, j) => {
      if (u.ghost && crossings[j] < 0 && dyn.logNorm(u.state) >= 0) crossings[j] = k;
      if (!(u.collapsing && u.active)) return;
      const ln = dyn.logNorm(u.state);
      recent[j].push(ln);
      if (recent[j].length > o.window) recent[j].shift();
      const env = Math.max(...recent[j]);
      envMax[j] = Math.max(envMax[j], env);
      if (recent[j].length === o.window) envMin[j] = Math.min(envMin[j], env);
      let reversed = false;
      if (outs0 && k > 0) {
        let d = 0;
        for (let q = 0; q < n * c; q++) d += outs[u.slot * n * c + q] * outs0[u.slot * n * c + q];
        reversed = d <= 0;
      }
      if (ln < COLLAPSED || reversed || (envMin[j] < envMax[j] - Math.log(10) && env > envMin[j] + Math.log(4))) u.active = false;
    });
    for (const u of members) {
      if (!u.active) continue;
      theta.set(dyn.toVector(u.state, P), u.slot * P);
      mask[u.slot] = 1;
    }
    p.kernels.forward(theta, X, n, f, mask);
    for (let q = 0; q < n * c; q++) r[q] = Y[q] - f[q];
    const Ms = utilityHessians(p, r);
    deviation = 0;
    for (const g of o.groups) {
      const M = Ms[g[0]], T = o.target[g[0]];
      for (let q = 0; q < M.length; q++) deviation = Math.max(deviation, Math.abs(M[q] - T[q]));
    }
    deviation /= o.scale;
    if (!Number.isFinite(deviation)) throw new GradflowError(`agf: the ${algorithmLabel(dyn.algorithm)} run leaves the finite range during the fit after a jump (step ${k} of the fit); lower the learning rate (--lr)`);
    // settled where the fit put it, or (the path found another critical point, e.g. a collapsing neuron through 0 and out with the other sign) stationary over the window
    const cur = o.groups.map((g) => Ms[g[0]]);
    let still = false;
    if (!anchor) { anchor = cur; anchorStep = k; }
    else if (k - anchorStep >= block) {
      let drift = 0;
      anchor.forEach((M0, gi) => { const M1 = cur[gi]; for (let q = 0; q < M0.length; q++) drift = Math.max(drift, Math.abs(M1[q] - M0[q])); });
      still = drift / o.scale <= o.relTol;
      anchor = cur;
      anchorStep = k;
    }
    run = deviation <= o.relTol ? run + 1 : 0;
    if (run >= o.window || still) return { steps: k, converged: true, deviation, activated: false, crossings };
    if (k > 0 && members.some((u) => !u.active && !u.ghost && dyn.logNorm(u.state) >= TRANSIENT_ENTRY)) return { steps: k, converged: false, deviation, activated: true, crossings };
    if (k >= o.maxSteps) return { steps: k, converged: false, deviation, activated: false, crossings };
    o.groups.forEach((g, gi) => {
      const prev = bases[gi] ?? members.find((u) => u.group === gi)?.state.basis;
      const B = eigenbasis(Ms[g[0]], P, o.scale, o.tol, prev);
      bases[gi] = B;
      const O = new Map<Eigenbasis, Float64Array[]>();
      for (const u of members) {
        if (u.group !== gi || u.ghost) continue;
        let st = u.state;
        if (st.basis !== B) {
          let ov = O.get(st.basis);
          if (!ov) { ov = overlaps(B, st.basis, o.tol.snapTol); O.set(st.basis, ov); }
          st = dyn.reexpand(st, B, ov);
        }
        dyn.advance(st, 1);
        u.state = st;
      }
    });
    if (needOuts) {
      p.kernels.neuronOutputs(theta, X, n, outs);
      if (!outs0) outs0 = outs.slice();
    }
    for (const u of members) {
      if (!u.ghost) continue;
      let nw = 0;
      for (let a = 0; a < P; a++) nw += theta[u.slot * P + a] ** 2;
      const hist = ghostRates.get(u) ?? [];
      ghostRates.set(u, hist);
      let M: Float64Array;
      if (!u.frozen && mask[u.slot] && Math.sqrt(nw) >= GHOST_FREEZE && hist.length) {
        // frozen at the mean over the last window of the others' ringing (a phase-free rate)
        u.frozen = true;
        M = new Float64Array(P * P);
        for (const h of hist) for (let q = 0; q < M.length; q++) M[q] += h[q] / hist.length;
        const B = eigenbasis(M, P, o.scale, o.tol, u.state.basis);
        u.state = dyn.reexpand(u.state, B, overlaps(B, u.state.basis, o.tol.snapTol));
      }
      if (u.frozen) { dyn.advance(u.state, 1); continue; }
      // the residual without the ghost's own neuron (zero where that neuron is not in the residual)
      for (let q = 0; q < n * c; q++) rg[q] = r[q] + (mask[u.slot] ? outs[u.slot * n * c + q] : 0);
      M = utilityHessians(p, rg)[o.groups[u.group][0]];
      hist.push(M);
      if (hist.length > o.window) hist.shift();
      const B = eigenbasis(M, P, o.scale, o.tol, u.state.basis);
      const st = dyn.reexpand(u.state, B, overlaps(B, u.state.basis, o.tol.snapTol));
      dyn.advance(st, 1);
      u.state = st;
    }
  }
}
