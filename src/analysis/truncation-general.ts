/**
 * The general-case (non-aligned) effective equations for the cumulative parameters of a
 * relu-deep net (theory.md §8; printed by `gradflow derive relu-deep`), as numbers:
 *
 *   τ_ℓ(ξ) = W⁻¹(relu(Wξ + b) − b) = W⁻¹DWξ + W⁻¹(D − I)b,   W = W^{(ℓ)}, b = b^{(ℓ)}, D = diag(step(Wξ + b)),
 *   so for an upstream gradient g = ∂C/∂ξ^{(ℓ)} and u = W⁻ᵀg:
 *     ∂C/∂W^{(ℓ)} = Σ_j (D_j u_j ξ_j^{(ℓ−1)ᵀ} − u_j ξ_j^{(ℓ)ᵀ}),   ∂C/∂b^{(ℓ)} = −Σ_j (I − D_j) u_j,
 *     ∂C/∂ξ^{(ℓ−1)} = Wᵀ D u   (= J_ℓᵀ g, J_ℓ = W⁻¹DW).
 *
 * With g_j = (ξ_j^{(L−1)} − ỹ_j)/N this is ∇_c C̃ (the effective flow ċ = −∇_c C̃, output layer
 * fixed); with g_j = W^{(L)ᵀ}(f_j − y_j)/N it is ∇_c L, the loss the true flow descends, and
 * then Jᵀ∇_c L = ∇_θ L (J = ∂c/∂θ), which ties these formulas to the compiled gradient.
 * C̃ is invariant under the gauge (W^{(ℓ)}, b^{(ℓ)}) → (D W^{(ℓ)}, D b^{(ℓ)}) of each hidden layer, so
 * ∇_c C̃ has no component along the gauge orbit (row k of [W^{(ℓ)} | b^{(ℓ)}] scaled); the true
 * flow does move along it, so the two are compared after projecting the gauge out.
 */
import type { Cumulative, Layers } from './truncation.ts';
import { inputChain, pulledBackTargets, solveSq } from './truncation.ts';
import { GradflowError } from '../util/errors.ts';

/** A tangent vector in cumulative (or layer) coordinates: one Q×Q and one Q block per layer. */
export interface Blocks { W: Float64Array[]; b: Float64Array[] }

function transposeSolve(W: Float64Array, g: ArrayLike<number>, Q: number): Float64Array {
  const Wt = new Float64Array(Q * Q);
  for (let r = 0; r < Q; r++) for (let c = 0; c < Q; c++) Wt[c * Q + r] = W[r * Q + c];
  const u = solveSq(Wt, g, Q);
  if (!u) throw new GradflowError('truncation: a cumulative weight is singular, so the general-case gradient is undefined');
  return u;
}

/** Backpropagate an upstream gradient on ξ^{(L−1)} (n×Q) through the truncation chain: gradients for the hidden layers ℓ = 1 … L−1. */
export function chainGradient(c: Cumulative, X: Float64Array, n: number, upstream: Float64Array): Blocks {
  const { Q, L } = c;
  const ch = inputChain(c, X, n);
  const out: Blocks = { W: [], b: [] };
  for (let l = 0; l < L - 1; l++) { out.W.push(new Float64Array(Q * Q)); out.b.push(new Float64Array(Q)); }
  const g = upstream.slice();
  for (let l = L - 2; l >= 0; l--) {
    const W = c.W[l], prev = ch.xi[l], next = ch.xi[l + 1];
    for (let j = 0; j < n; j++) {
      const u = transposeSolve(W, g.subarray(j * Q, (j + 1) * Q), Q);
      const on = new Float64Array(Q);
      for (let q = 0; q < Q; q++) on[q] = ch.clipped[l][j * Q + q] ? 0 : 1;
      for (let r = 0; r < Q; r++) {
        for (let k = 0; k < Q; k++) out.W[l][r * Q + k] += on[r] * u[r] * prev[j * Q + k] - u[r] * next[j * Q + k];
        out.b[l][r] -= (1 - on[r]) * u[r];
      }
      // g ← Wᵀ D u
      for (let k = 0; k < Q; k++) { let s = 0; for (let r = 0; r < Q; r++) s += W[r * Q + k] * on[r] * u[r]; g[j * Q + k] = s; }
    }
  }
  return out;
}

/** ∇_c C̃ over the hidden cumulative parameters (the output layer is held fixed in the effective equations). */
export function inputCostGradient(c: Cumulative, X: Float64Array, Y: Float64Array, n: number): Blocks {
  const { Q, L } = c;
  const yt = pulledBackTargets(c, Y, n);
  const xi = inputChain(c, X, n).xi[L - 1];
  const up = new Float64Array(n * Q);
  for (let k = 0; k < n * Q; k++) up[k] = (xi[k] - yt[k]) / n;
  return chainGradient(c, X, n, up);
}

/** ∇_c L for L = (1/2N) Σ‖W^{(L)}ξ^{(L−1)} + b^{(L)} − y‖², all L layers (the last: the output layer's own cumulative block). */
export function lossGradientCumulative(c: Cumulative, X: Float64Array, Y: Float64Array, n: number): Blocks {
  const { Q, L } = c;
  const xi = inputChain(c, X, n).xi[L - 1];
  const WL = c.W[L - 1], bL = c.b[L - 1];
  const up = new Float64Array(n * Q);
  const gW = new Float64Array(Q * Q), gb = new Float64Array(Q);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(Q);
    for (let r = 0; r < Q; r++) {
      let f = bL[r];
      for (let k = 0; k < Q; k++) f += WL[r * Q + k] * xi[j * Q + k];
      e[r] = (f - Y[j * Q + r]) / n;
    }
    for (let r = 0; r < Q; r++) { gb[r] += e[r]; for (let k = 0; k < Q; k++) gW[r * Q + k] += e[r] * xi[j * Q + k]; }
    for (let k = 0; k < Q; k++) { let s = 0; for (let r = 0; r < Q; r++) s += WL[r * Q + k] * e[r]; up[j * Q + k] = s; }
  }
  const hidden = chainGradient(c, X, n, up);
  return { W: [...hidden.W, gW], b: [...hidden.b, gb] };
}

/** ċ = J θ̇: the velocity of (W^{(ℓ)}, b^{(ℓ)}) for layer velocities (Ẇ_ℓ, ḃ_ℓ) (forward mode of the cumulative products). */
export function cumulativeVelocity(ly: Layers, dly: Layers): Blocks {
  const { L, Q } = ly;
  const W: Float64Array[] = [], b: Float64Array[] = [], dW: Float64Array[] = [], db: Float64Array[] = [];
  W.push(ly.W[0].slice()); b.push(ly.b[0].slice()); dW.push(dly.W[0].slice()); db.push(dly.b[0].slice());
  for (let l = 1; l < L; l++) {
    const Wn = new Float64Array(Q * Q), dWn = new Float64Array(Q * Q), bn = ly.b[l].slice(), dbn = dly.b[l].slice();
    for (let r = 0; r < Q; r++) for (let k = 0; k < Q; k++) {
      const a = ly.W[l][r * Q + k], da = dly.W[l][r * Q + k];
      for (let m = 0; m < Q; m++) {
        Wn[r * Q + m] += a * W[l - 1][k * Q + m];
        dWn[r * Q + m] += da * W[l - 1][k * Q + m] + a * dW[l - 1][k * Q + m];
      }
      bn[r] += a * b[l - 1][k];
      dbn[r] += da * b[l - 1][k] + a * db[l - 1][k];
    }
    W.push(Wn); b.push(bn); dW.push(dWn); db.push(dbn);
  }
  return { W: dW, b: db };
}

/** Jᵀ v: a cotangent on the cumulative parameters pulled back to the layers (reverse mode of the products). */
export function cumulativeAdjoint(ly: Layers, v: Blocks): Blocks {
  const { L, Q } = ly;
  const cum: { W: Float64Array; b: Float64Array }[] = [];
  let W = ly.W[0].slice(), b = ly.b[0].slice();
  cum.push({ W, b });
  for (let l = 1; l < L; l++) {
    const Wn = new Float64Array(Q * Q), bn = ly.b[l].slice();
    for (let r = 0; r < Q; r++) for (let k = 0; k < Q; k++) { const a = ly.W[l][r * Q + k]; for (let m = 0; m < Q; m++) Wn[r * Q + m] += a * W[k * Q + m]; bn[r] += a * b[k]; }
    W = Wn; b = bn; cum.push({ W, b });
  }
  const VW = v.W.map((x) => x.slice()), Vb = v.b.map((x) => x.slice());
  const gW: Float64Array[] = new Array(L), gb: Float64Array[] = new Array(L);
  for (let l = L - 1; l >= 1; l--) {
    // W^{(l)} = W_l W^{(l−1)}, b^{(l)} = W_l b^{(l−1)} + b_l
    const g = new Float64Array(Q * Q);
    for (let r = 0; r < Q; r++) for (let k = 0; k < Q; k++) {
      let s = Vb[l][r] * cum[l - 1].b[k];
      for (let m = 0; m < Q; m++) s += VW[l][r * Q + m] * cum[l - 1].W[k * Q + m];
      g[r * Q + k] = s;
    }
    gW[l] = g;
    gb[l] = Vb[l].slice();
    for (let k = 0; k < Q; k++) for (let r = 0; r < Q; r++) {
      const a = ly.W[l][r * Q + k];
      for (let m = 0; m < Q; m++) VW[l - 1][k * Q + m] += a * VW[l][r * Q + m];
      Vb[l - 1][k] += a * Vb[l][r];
    }
  }
  gW[0] = VW[0];
  gb[0] = Vb[0];
  return { W: gW, b: gb };
}

/** Remove, in each hidden layer, the component along each gauge direction (row k of [W^{(ℓ)} | b^{(ℓ)}] scaled by itself). */
export function projectGauge(c: Cumulative, v: Blocks): Blocks {
  const { Q, L } = c;
  const out: Blocks = { W: v.W.map((x) => x.slice()), b: v.b.map((x) => x.slice()) };
  for (let l = 0; l < Math.min(L - 1, v.W.length); l++) for (let r = 0; r < Q; r++) {
    let dot = c.b[l][r] * v.b[l][r], nn = c.b[l][r] ** 2;
    for (let k = 0; k < Q; k++) { dot += c.W[l][r * Q + k] * v.W[l][r * Q + k]; nn += c.W[l][r * Q + k] ** 2; }
    if (!(nn > 0)) continue;
    const s = dot / nn;
    out.b[l][r] -= s * c.b[l][r];
    for (let k = 0; k < Q; k++) out.W[l][r * Q + k] -= s * c.W[l][r * Q + k];
  }
  return out;
}

/** Euclidean norm over the hidden blocks ℓ = 1 … upto. */
export function blockNorm(v: Blocks, upto = v.W.length): number {
  let s = 0;
  for (let l = 0; l < upto; l++) { for (const x of v.W[l]) s += x * x; for (const x of v.b[l]) s += x * x; }
  return Math.sqrt(s);
}

/** ‖a − b‖ over the first `upto` blocks. */
export function blockDistance(a: Blocks, b: Blocks, upto: number): number {
  let s = 0;
  for (let l = 0; l < upto; l++) {
    for (let k = 0; k < a.W[l].length; k++) s += (a.W[l][k] - b.W[l][k]) ** 2;
    for (let k = 0; k < a.b[l].length; k++) s += (a.b[l][k] - b.b[l][k]) ** 2;
  }
  return Math.sqrt(s);
}
