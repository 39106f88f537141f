/**
 * A dormant neuron on a plateau, exactly: θ(t) = Σₙ sₙ e^{lₙ + λₙ t} eₙ in the plateau's
 * eigenbasis (spectral.ts), each coordinate a sign and a log-magnitude (logscale.ts). Inside a
 * plateau nothing is integrated: lₙ advances by λₙ t. Between plateaus the coordinates are
 * re-expanded into the next basis with signed log-sum-exp over the snapped overlaps, so an
 * exponentially small coordinate survives next to an exponentially large one. The neuron
 * activates when ‖θ‖ = 1, the root of the convex function F(t) = log Σₙ e^{2(lₙ + λₙ t)}.
 */
import { type LogArith, logOf, signedAdd } from './logscale.ts';
import type { Eigenbasis } from './spectral.ts';

export interface GradedState {
  basis: Eigenbasis;
  s: Float64Array;
  l: Float64Array;
}

const tmp = new Float64Array(2);

/** Coordinates of base·v (v an O(1) vector, base = e^{baseLog}) in basis; |eₙ·v| ≤ snapTol‖v‖ is a structural 0. */
export function gradedFromVector(ar: LogArith, basis: Eigenbasis, v: ArrayLike<number>, baseLog: number, snapTol: number): GradedState {
  const P = basis.vectors.length;
  let nv = 0;
  for (let a = 0; a < v.length; a++) nv += v[a] * v[a];
  nv = Math.sqrt(nv);
  const s = new Float64Array(P), l = new Float64Array(P).fill(-Infinity);
  basis.vectors.forEach((e, k) => {
    let c = 0;
    for (let a = 0; a < e.length; a++) c += e[a] * v[a];
    if (Math.abs(c) <= snapTol * nv) return;
    s[k] = Math.sign(c);
    l[k] = baseLog + logOf(ar, c);
  });
  return { basis, s, l };
}

export function advance(st: GradedState, t: number): void {
  if (t === 0) return;
  const { values } = st.basis;
  for (let k = 0; k < st.l.length; k++) if (st.s[k] !== 0) st.l[k] += values[k] * t;
}

export function cloneGraded(st: GradedState): GradedState {
  return { basis: st.basis, s: st.s.slice(), l: st.l.slice() };
}

/** The same vector in basis `next`, given O[n][m] = e_nextₙ · e_prevₘ (structural zeros exact). */
export function reexpand(ar: LogArith, st: GradedState, next: Eigenbasis, O: Float64Array[]): GradedState {
  const P = next.vectors.length;
  const s = new Float64Array(P), l = new Float64Array(P).fill(-Infinity);
  for (let n = 0; n < P; n++) {
    const row = O[n];
    let cs = 0, cl = -Infinity;
    for (let m = 0; m < row.length; m++) {
      if (row[m] === 0 || st.s[m] === 0) continue;
      signedAdd(ar, cs, cl, st.s[m] * Math.sign(row[m]), st.l[m] + logOf(ar, row[m]), tmp);
      cs = tmp[0];
      cl = tmp[1];
    }
    s[n] = cs;
    l[n] = cs === 0 ? -Infinity : cl;
  }
  return { basis: next, s, l };
}

/** log‖θ(t)‖ (F(t)/2). */
export function logNorm(ar: LogArith, st: GradedState, t = 0): number {
  const { values } = st.basis;
  let m = -Infinity;
  for (let k = 0; k < st.l.length; k++) if (st.s[k] !== 0) m = Math.max(m, st.l[k] + values[k] * t);
  if (m === -Infinity || ar.tropical) return m;
  let sum = 0;
  for (let k = 0; k < st.l.length; k++) if (st.s[k] !== 0) sum += Math.exp(2 * (st.l[k] + values[k] * t - m));
  return m + 0.5 * Math.log(sum);
}

/** d log‖θ‖/dt = Σ wₙ λₙ with softmax weights wₙ ∝ e^{2(lₙ+λₙt)} (in the limit: the rate of the largest). */
function logNormRate(ar: LogArith, st: GradedState, t: number): number {
  const { values } = st.basis;
  let m = -Infinity, best = -Infinity;
  for (let k = 0; k < st.l.length; k++) {
    if (st.s[k] === 0) continue;
    const v = st.l[k] + values[k] * t;
    if (v > m || (v === m && values[k] > best)) { m = v; best = values[k]; }
  }
  if (m === -Infinity) return 0;
  if (ar.tropical) return best;
  let w = 0, wl = 0;
  for (let k = 0; k < st.l.length; k++) {
    if (st.s[k] === 0) continue;
    const e = Math.exp(2 * (st.l[k] + values[k] * t - m));
    w += e;
    wl += e * values[k];
  }
  return wl / w;
}

/**
 * First t ≥ 0 at which the neuron reaches norm 1 on its way up (Infinity if it never does).
 * log‖θ(t)‖ is convex in t, so the answer is the start of its final rising branch where it is ≥ 0.
 */
export function activationTime(ar: LogArith, st: GradedState): number {
  const { values } = st.basis;
  let reach = Infinity;
  for (let k = 0; k < st.l.length; k++) {
    if (st.s[k] === 0 || !(values[k] > 0)) continue;
    reach = Math.min(reach, Math.max(0, -st.l[k] / values[k]));
  }
  if (reach === Infinity) return Infinity;
  if (ar.tropical) return reach;
  // the minimum of the convex log-norm on [0, ∞)
  let tMin = 0;
  if (logNormRate(ar, st, 0) < 0) {
    let hi = Math.max(reach, 1);
    for (let k = 0; k < 2000 && logNormRate(ar, st, hi) < 0; k++) hi *= 2;
    let lo = 0;
    for (let k = 0; k < 200 && hi - lo > 1e-15 * hi; k++) {
      const mid = 0.5 * (lo + hi);
      if (logNormRate(ar, st, mid) < 0) lo = mid; else hi = mid;
    }
    tMin = hi;
  }
  if (logNorm(ar, st, tMin) >= 0) return tMin;
  // Newton from the right on the rising branch: monotone for a convex function
  let t = Math.max(reach, tMin);
  for (let k = 0; k < 100; k++) {
    const f = logNorm(ar, st, t);
    const fp = logNormRate(ar, st, t);
    if (!(fp > 0)) break;
    const next = t - f / fp;
    if (!(next < t) || next <= tMin) { if (next <= tMin) t = tMin; break; }
    if (t - next <= 1e-16 * t) { t = next; break; }
    t = next;
  }
  return t;
}

/**
 * A lower bound on activationTime, in O(P) and without root finding: ‖θ(t)‖² ≤ m·maxₙ e^{2(lₙ+λₙt)}
 * (m nonzero coordinates), so the norm cannot reach 1 before some lₙ + λₙt reaches −½log m. The
 * engine computes the exact root only for neurons whose bound can beat the earliest found so far.
 */
export function activationLowerBound(ar: LogArith, st: GradedState): number {
  const { values } = st.basis;
  let m = 0;
  for (let k = 0; k < st.l.length; k++) if (st.s[k] !== 0) m++;
  const h = ar.tropical ? 0 : 0.5 * Math.log(m);
  let lo = Infinity;
  for (let k = 0; k < st.l.length; k++) {
    if (st.s[k] === 0) continue;
    if (st.l[k] >= -h) return 0;
    if (values[k] > 0) lo = Math.min(lo, (-h - st.l[k]) / values[k]);
  }
  return lo;
}

/** θ as floats (entries below e^{-745} underflow to 0, harmlessly at norm ~1). In the limit: the unit vector of the leading coordinates. */
export function toVector(ar: LogArith, st: GradedState, P: number): Float64Array {
  const out = new Float64Array(P);
  const { vectors } = st.basis;
  let m = -Infinity;
  for (let k = 0; k < st.l.length; k++) if (st.s[k] !== 0) m = Math.max(m, st.l[k]);
  for (let k = 0; k < st.l.length; k++) {
    if (st.s[k] === 0) continue;
    const w = ar.tropical ? (st.l[k] >= m - 1e-9 * Math.max(1, Math.abs(m)) ? 1 : 0) : Math.exp(st.l[k]);
    if (w === 0) continue;
    const e = vectors[k];
    for (let a = 0; a < P; a++) out[a] += st.s[k] * w * e[a];
  }
  if (ar.tropical) {
    let nn = 0;
    for (let a = 0; a < P; a++) nn += out[a] * out[a];
    const sc = Math.exp(m) / Math.sqrt(nn || 1); // m = 0 at activation: a unit vector
    for (let a = 0; a < P; a++) out[a] *= sc;
  }
  return out;
}

/**
 * Givens rotation of two dormant neurons (same basis) that zeroes coordinate n of b exactly:
 * a ← c·a + s·b, b ← −s·a + c·b with c = aₙ/r, s = bₙ/r, r = √(aₙ² + bₙ²), all in log form.
 * Returns (c, s) as floats for the neuron-space vectors.
 */
export function givens(ar: LogArith, a: GradedState, b: GradedState, n: number): [number, number] {
  if (b.s[n] === 0) return [1, 0];
  const lr = a.s[n] === 0 ? b.l[n] : ar.tropical ? Math.max(a.l[n], b.l[n]) : 0.5 * logSum2(2 * a.l[n], 2 * b.l[n]);
  const cS = a.s[n], cL = a.l[n] - lr; // c = cS·e^{cL}
  const sS = b.s[n], sL = b.l[n] - lr;
  const P = a.l.length;
  const t2 = new Float64Array(2);
  for (let k = 0; k < P; k++) {
    if (k === n) continue;
    const as = a.s[k], al = a.l[k], bs = b.s[k], bl = b.l[k];
    signedAdd(ar, cS * as, cL + al, sS * bs, sL + bl, t2);
    const nas = t2[0], nal = t2[1];
    signedAdd(ar, -sS * as, sL + al, cS * bs, cL + bl, t2);
    a.s[k] = nas; a.l[k] = nas === 0 ? -Infinity : nal;
    b.s[k] = t2[0]; b.l[k] = t2[0] === 0 ? -Infinity : t2[1];
  }
  a.s[n] = 1; a.l[n] = lr;
  b.s[n] = 0; b.l[n] = -Infinity;
  return [cS === 0 ? 0 : cS * Math.exp(cL), sS * Math.exp(sL)];
}

function logSum2(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}
