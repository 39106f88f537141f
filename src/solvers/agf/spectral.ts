/**
 * The dormant dynamics of a κ = 2 polynomial neuron on a plateau are linear: with the residual r
 * fixed, U_i(θ) = E⟨f_i(x; θ), r⟩ is a quadratic form and θ̇_i = ∇U_i = M_i θ_i, M_i its Hessian.
 * This module builds M_i from the compiled kernels (∇U is linear in θ, so its value at the unit
 * vector e_k is column k) and its eigenbasis, keeping eigenspaces — not eigenvectors — fixed across
 * plateaus: a new eigenspace that is spanned by vectors of the previous basis keeps them, so
 * overlaps that are zero by structure (each diagonal neuron's fixed 2×2 eigenvectors, the modes a
 * linear network has not learned yet) stay exactly zero instead of 1e-17 that e^{460} would swamp.
 */
import type { Problem } from '../../problem.ts';

/** Cyclic Jacobi eigen-decomposition of a symmetric P×P matrix (row-major); eigenvalues decreasing. */
export function jacobiEig(Ain: ArrayLike<number>, P: number): { values: Float64Array; vectors: Float64Array[] } {
  const A = Float64Array.from(Ain);
  const V = new Float64Array(P * P);
  for (let i = 0; i < P; i++) V[i * P + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < P; i++) {
      diag += A[i * P + i] ** 2;
      for (let j = i + 1; j < P; j++) off += A[i * P + j] ** 2;
    }
    if (off <= 1e-34 * Math.max(diag, 1e-300) || off === 0) break;
    for (let p = 0; p < P; p++) {
      for (let q = p + 1; q < P; q++) {
        const apq = A[p * P + q];
        if (apq === 0) continue;
        const app = A[p * P + p], aqq = A[q * P + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < P; k++) {
          const akp = A[k * P + p], akq = A[k * P + q];
          A[k * P + p] = c * akp - s * akq;
          A[k * P + q] = s * akp + c * akq;
        }
        for (let k = 0; k < P; k++) {
          const apk = A[p * P + k], aqk = A[q * P + k];
          A[p * P + k] = c * apk - s * aqk;
          A[q * P + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < P; k++) {
          const vkp = V[k * P + p], vkq = V[k * P + q];
          V[k * P + p] = c * vkp - s * vkq;
          V[k * P + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: P }, (_, k) => k).sort((a, b) => A[b * P + b] - A[a * P + a]);
  const values = Float64Array.from(order, (k) => A[k * P + k]);
  const vectors = order.map((k) => Float64Array.from({ length: P }, (_, r) => V[r * P + k]));
  return { values, vectors };
}

/**
 * Hessians of the utilities of every neuron slot against residual r: out[i] is M_i (P×P,
 * row-major, symmetrised). One vjp per parameter coordinate, all slots at once.
 */
export function utilityHessians(p: Problem, r: Float64Array, into?: Float64Array[]): Float64Array[] {
  const { H, P } = p.layout;
  const { X, n } = p.data;
  const packed = new Float64Array(H * P);
  const g = new Float64Array(H * P);
  // `into`: the previous plateau's matrices, overwritten (every entry is written below)
  const out = into ?? Array.from({ length: H }, () => new Float64Array(P * P));
  for (let k = 0; k < P; k++) {
    packed.fill(0);
    for (let i = 0; i < H; i++) packed[i * P + k] = 1;
    p.kernels.vjpMean(packed, X, r, n, g, null);
    for (let i = 0; i < H; i++) for (let a = 0; a < P; a++) out[i][a * P + k] = g[i * P + a];
  }
  for (const M of out) {
    for (let a = 0; a < P; a++) for (let b = a + 1; b < P; b++) {
      const v = 0.5 * (M[a * P + b] + M[b * P + a]);
      M[a * P + b] = v;
      M[b * P + a] = v;
    }
  }
  return out;
}

/** An orthonormal eigenbasis of a plateau's M with its eigenvalues (vectors[k] has rate values[k]). */
export interface Eigenbasis {
  values: Float64Array;
  vectors: Float64Array[];
}

export interface SpectralTolerances {
  /** Eigenvalues below zeroTol·scale are exactly 0 (a learned mode, a null direction). */
  zeroTol: number;
  /** Eigenvalues closer than clusterTol·scale form one eigenspace. */
  clusterTol: number;
  /** Projections below snapTol are structural zeros (eigenvector round-off, fit residue). */
  snapTol: number;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

/**
 * Eigenbasis of M whose eigenspaces reuse the previous basis's vectors wherever they lie inside
 * them (to snapTol), completed by Gram–Schmidt of M's own eigenvectors. With `inPlace`, a kept
 * basis in unchanged order is `previous` itself with its values overwritten (no allocation per
 * neuron and plateau): for callers that read a basis's rates only while it is current (flow
 * dynamics; not the discrete algorithms, whose caches key on bases).
 */
export function eigenbasis(M: Float64Array, P: number, scale: number, tol: SpectralTolerances, previous?: Eigenbasis, inPlace = false): Eigenbasis {
  const kept = previous ? keptBasis(M, P, scale, tol, previous, inPlace) : null;
  if (kept) return kept;
  const { values, vectors } = jacobiEig(M, P);
  for (let k = 0; k < P; k++) if (Math.abs(values[k]) <= tol.zeroTol * scale) values[k] = 0;
  // clusters of (nearly) equal eigenvalues: one eigenspace, one rate
  const clusters: number[][] = [];
  for (let k = 0; k < P; k++) {
    const last = clusters.at(-1);
    if (last && Math.abs(values[last[last.length - 1]] - values[k]) <= tol.clusterTol * scale) last.push(k);
    else clusters.push([k]);
  }
  const outV: Float64Array[] = [];
  const outL: number[] = [];
  const used = new Uint8Array(previous ? previous.vectors.length : 0);
  for (const cl of clusters) {
    const rate = cl.some((k) => values[k] === 0) ? 0 : cl.reduce((s, k) => s + values[k], 0) / cl.length;
    const B = cl.map((k) => vectors[k]);
    const chosen: Float64Array[] = [];
    if (previous) {
      previous.vectors.forEach((v, j) => {
        if (used[j] || chosen.length >= B.length) return;
        let inside = 0;
        for (const b of B) inside += dot(b, v) ** 2;
        if (1 - inside <= tol.snapTol) { chosen.push(v); used[j] = 1; }
      });
    }
    for (const b of B) {
      if (chosen.length >= B.length) break;
      const w = Float64Array.from(b);
      for (const c of chosen) {
        const d = dot(w, c);
        for (let a = 0; a < P; a++) w[a] -= d * c[a];
      }
      const nw = Math.sqrt(dot(w, w));
      if (nw < 0.5) continue; // b lies in the span already chosen
      for (let a = 0; a < P; a++) w[a] /= nw;
      chosen.push(w);
    }
    for (const c of chosen) { outV.push(c); outL.push(rate); }
  }
  return { values: Float64Array.from(outL), vectors: outV };
}

/**
 * The previous basis again, when each of its vectors is still an eigenvector of M to round-off
 * (‖Me − ρe‖ ≤ 1e-8 × the gap to the other eigenspaces, so ρ = eᵀMe is the eigenvalue to
 * ~1e-16 relative and eigenbasis would keep the same vectors): M's eigenvalues by Rayleigh
 * quotients, no Jacobi, and the vectors array itself shared when their order is unchanged, so the
 * engine can switch a dormant state to the new rates without re-expanding it. Null when any
 * vector moved or the eigenvalue clusters are not clear-cut (then eigenbasis decides).
 * This is the common case of a neuron whose invariant subspaces are fixed by structure (each
 * diagonal neuron's 2×2 block: M = [[0, c], [c, 0]] on every plateau).
 */
function keptBasis(M: Float64Array, P: number, scale: number, tol: SpectralTolerances, previous: Eigenbasis, inPlace: boolean): Eigenbasis | null {
  const V = previous.vectors;
  if (V.length !== P) return null;
  // scratch (this runs once per neuron per plateau: no allocations but the result's values)
  if (kRho.length < P) { kRho = new Float64Array(P); kRes = new Float64Array(P); kW = new Float64Array(P); kOrder = new Int32Array(P); kCluster = new Int32Array(P); }
  const rho = kRho, res = kRes, w = kW, order = kOrder, cluster = kCluster;
  const z = tol.zeroTol * scale;
  for (let k = 0; k < P; k++) {
    const e = V[k];
    let q = 0;
    for (let a = 0; a < P; a++) {
      let x = 0;
      for (let b = 0; b < P; b++) x += M[a * P + b] * e[b];
      w[a] = x;
      q += x * e[a];
    }
    let r = 0;
    for (let a = 0; a < P; a++) r += (w[a] - q * e[a]) ** 2;
    const aq = Math.abs(q);
    if (aq > 0.5 * z && aq < 2 * z) return null; // near the zero threshold: eigenbasis decides
    rho[k] = aq <= z ? 0 : q;
    res[k] = Math.sqrt(r);
  }
  // eigenbasis's order: decreasing value, ties (one eigenspace) in the previous basis's order (insertion sort: P is small)
  let same = true;
  for (let k = 0; k < P; k++) {
    let j = k;
    while (j > 0 && rho[order[j - 1]] < rho[k]) { order[j] = order[j - 1]; j--; }
    order[j] = k;
    if (j !== k) same = false;
  }
  const cut = tol.clusterTol * scale;
  cluster[0] = 0;
  for (let j = 1; j < P; j++) {
    const gap = rho[order[j - 1]] - rho[order[j]];
    if (gap <= 0.1 * cut) cluster[j] = cluster[j - 1];
    else if (gap > 10 * cut) cluster[j] = cluster[j - 1] + 1;
    else return null; // near the clustering threshold: let the full decomposition decide
  }
  for (let j = 0; j < P; j++) {
    // distance to the nearest eigenvalue of another cluster (Davis–Kahan: the angle is ≤ res/gap)
    let above = j, below = j;
    while (above >= 0 && cluster[above] === cluster[j]) above--;
    while (below < P && cluster[below] === cluster[j]) below++;
    const gap = Math.min(above >= 0 ? rho[order[above]] - rho[order[j]] : Infinity, below < P ? rho[order[j]] - rho[order[below]] : Infinity);
    const r = res[order[j]];
    if (!(r <= 1e-8 * gap || r === 0)) return null;
  }
  // one rate per cluster: 0 if any member is 0, else the mean
  const values = inPlace && same ? previous.values : new Float64Array(P);
  for (let j = 0; j < P;) {
    let k = j, sum = 0, zero = false;
    for (; k < P && cluster[k] === cluster[j]; k++) { sum += rho[order[k]]; zero ||= rho[order[k]] === 0; }
    for (let i = j; i < k; i++) values[i] = zero ? 0 : sum / (k - j);
    j = k;
  }
  if (values === previous.values) return previous;
  return { values, vectors: same ? V : Array.from(order.subarray(0, P), (k) => V[k]) };
}
let kRho = new Float64Array(0), kRes = new Float64Array(0), kW = new Float64Array(0), kOrder = new Int32Array(0), kCluster = new Int32Array(0);

/** Overlap O[n][m] = e_newₙ · e_oldₘ with structural zeros snapped to exactly 0 (a vector kept from the previous basis: exactly 1 with itself, 0 with the others). */
export function overlaps(next: Eigenbasis, prev: Eigenbasis, snapTol: number): Float64Array[] {
  return next.vectors.map((e) => {
    if (prev.vectors.includes(e)) return Float64Array.from(prev.vectors, (v) => (v === e ? 1 : 0));
    return Float64Array.from(prev.vectors, (v) => {
      const o = dot(e, v);
      return Math.abs(o) <= snapTol ? 0 : o;
    });
  });
}
