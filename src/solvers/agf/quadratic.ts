/**
 * A κ = 2 polynomial neuron is a quadratic form in its own parameters: f_i(x; sθ) = s² f_i(x; θ)
 * and f_i is a polynomial in θ, so f_i(x_j; θ_i)_o = Σ_{a≤b} C_{ijo,ab} θ_ia θ_ib with coefficients
 * fixed by the data. This module tabulates C once per solve from the compiled kernels (neuronOutputs
 * at e_a and e_a + e_b, every neuron at once: P(P+1)/2 passes, polarisation) and then evaluates the
 * outputs and the exact Jacobian of any few neurons in O(n·c·P²) each. AGF's cost minimisation
 * touches only the active neurons, a few of H (diagonal d = 1000: ≤ 40), while every kernel pass
 * costs O(H·n): with the table a Gauss–Newton fit costs what its active set does.
 * Built only when it is small (H·n·c·P(P+1)/2 entries) and checked against the kernel at a
 * generic θ; otherwise the caller keeps using the kernels.
 */
import type { Problem } from '../../problem.ts';

export interface QuadForms {
  H: number;
  P: number;
  /** Outputs per neuron: n·c. */
  nc: number;
  /** Number of monomials θ_aθ_b, a ≤ b. */
  T: number;
  /** Monomial t is θ_{pa[t]}·θ_{pb[t]}. */
  pa: Int32Array;
  pb: Int32Array;
  /** C[(i·nc + q)·T + t]: coefficient of monomial t in output q of neuron i. */
  C: Float64Array;
}

/** The table, or null when it would exceed maxEntries or does not reproduce the kernel's outputs. */
export function quadForms(p: Problem, maxEntries = 1 << 22): QuadForms | null {
  const { H, P, c } = p.layout;
  const { X, n } = p.data;
  const nc = n * c, T = (P * (P + 1)) / 2;
  if (H * nc * T > maxEntries || p.kernels.lossForm.choice.name !== 'mse') return null;
  const pa = new Int32Array(T), pb = new Int32Array(T);
  for (let a = 0, t = 0; a < P; a++) for (let b = a; b < P; b++, t++) { pa[t] = a; pb[t] = b; }
  const th = new Float64Array(H * P);
  const diag = Array.from({ length: P }, () => new Float64Array(H * nc));
  const out = new Float64Array(H * nc);
  const C = new Float64Array(H * nc * T);
  for (let t = 0; t < T; t++) {
    const a = pa[t], b = pb[t];
    th.fill(0);
    for (let i = 0; i < H; i++) { th[i * P + a] = 1; th[i * P + b] = 1; }
    p.kernels.neuronOutputs(th, X, n, a === b ? diag[a] : out);
    for (let i = 0; i < H; i++) {
      for (let q = 0; q < nc; q++) {
        const k = i * nc + q;
        C[k * T + t] = a === b ? diag[a][k] : out[k] - diag[a][k] - diag[b][k];
      }
    }
  }
  const Q: QuadForms = { H, P, nc, T, pa, pb, C };
  // the premise (outputs quadratic in θ_i) checked at a generic point, to round-off
  for (let k = 0; k < H * P; k++) th[k] = Math.sin(1.7 * k + 0.3);
  p.kernels.neuronOutputs(th, X, n, out);
  const f = new Float64Array(nc);
  let err = 0, size = 0;
  for (let i = 0; i < H; i++) {
    neuronOutput(Q, th, i, f);
    for (let q = 0; q < nc; q++) { err = Math.max(err, Math.abs(f[q] - out[i * nc + q])); size = Math.max(size, Math.abs(out[i * nc + q])); }
  }
  return err <= 1e-10 * Math.max(size, 1e-300) ? Q : null;
}

let mono = new Float64Array(0);
/** A reused buffer for one neuron's monomials (these functions run once per active neuron and evaluation). */
function monoScratch(T: number): Float64Array {
  if (mono.length < T) mono = new Float64Array(T);
  return mono;
}

/** f_i at every output (length nc) for θ_i = theta[i·P …]. */
export function neuronOutput(Q: QuadForms, theta: ArrayLike<number>, i: number, out: Float64Array): void {
  const { P, nc, T, pa, pb, C } = Q;
  const o = i * P;
  const mono = monoScratch(T);
  for (let t = 0; t < T; t++) mono[t] = theta[o + pa[t]] * theta[o + pb[t]];
  const base = i * nc * T;
  for (let q = 0; q < nc; q++) {
    let s = 0;
    const k = base + q * T;
    for (let t = 0; t < T; t++) s += C[k + t] * mono[t];
    out[q] = s;
  }
}

/** ∂f_i/∂θ_ia at every output (length nc): exact, the derivative of the quadratic form. */
export function neuronJacobianColumn(Q: QuadForms, theta: ArrayLike<number>, i: number, a: number, out: Float64Array): void {
  const { P, nc, T, pa, pb, C } = Q;
  const o = i * P;
  const d = monoScratch(T); // ∂(θ_{pa}θ_{pb})/∂θ_a
  for (let t = 0; t < T; t++) d[t] = (pa[t] === a ? theta[o + pb[t]] : 0) + (pb[t] === a ? theta[o + pa[t]] : 0);
  const base = i * nc * T;
  for (let q = 0; q < nc; q++) {
    let s = 0;
    const k = base + q * T;
    for (let t = 0; t < T; t++) s += C[k + t] * d[t];
    out[q] = s;
  }
}

let fScratch = new Float64Array(0);
/** Σ of the masked neurons' outputs (length nc): the model's forward pass over a few neurons. */
export function maskedForward(Q: QuadForms, theta: ArrayLike<number>, mask: Uint8Array, out: Float64Array): void {
  out.fill(0);
  if (fScratch.length < Q.nc) fScratch = new Float64Array(Q.nc);
  const f = fScratch;
  for (let i = 0; i < Q.H; i++) {
    if (!mask[i]) continue;
    neuronOutput(Q, theta, i, f);
    for (let q = 0; q < Q.nc; q++) out[q] += f[q];
  }
}

/** The masked neurons' outputs into out (H·nc, neuron-major as neuronOutputs; other neurons untouched). */
export function maskedNeuronOutputs(Q: QuadForms, theta: ArrayLike<number>, mask: Uint8Array, out: Float64Array): void {
  for (let i = 0; i < Q.H; i++) if (mask[i]) neuronOutput(Q, theta, i, out.subarray(i * Q.nc, (i + 1) * Q.nc));
}
