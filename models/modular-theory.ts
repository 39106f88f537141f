/**
 * Closed forms for the quadratic network on modular addition (theory.md §6), in gradflow's
 * conventions (DFT and roll: models/modular-data.ts; loss L = (1/2n) Σ_j ‖y_j − f(x_j)‖², n = p²).
 *
 * Utility. With residual r = y and U(θ) = (1/n) Σ_j ⟨f_θ(x_j), r_j⟩ (what kernels.vjpMean's E = r
 * gives the gradient of), Parseval and the averages over a and b give, when X[0] = 0,
 *
 *     U(u, v, w) = (2/p³) Σ_ξ U[ξ] V[ξ] conj(W[ξ]) |X[ξ]|² conj(X[ξ])          (U, V, W = DFTs)
 *
 * (the squares (uᵀx_a)², (vᵀx_b)² average to zero against the target because X[0] = 0).
 * On ‖u‖² + ‖v‖² + ‖w‖² = 1 the maximum concentrates all mass on one class {ξ, p − ξ}
 * (Σ_ξ c_ξ s_ξ^{3/2} is maximised at a vertex of the simplex), splits it equally between u, v, w
 * (AM–GM) and locks the phases: u[k] = √(2/(3p)) cos(2πξk/p + φ_u), likewise v, w, with
 * φ_w = φ_u + φ_v − arg X[ξ]. Value, with x̂ = X/√p:
 *
 *     U*_ξ = √(2/27) |x̂[ξ]|³          for 0 < ξ < p/2   (= 2|X[ξ]|³ / (3√6 p^{3/2})),
 *     U*_ξ = (2/√27) |x̂[ξ]|³           for ξ = p/2 (even p: one real term instead of a conjugate pair).
 *
 * This is theory.md's constant, and it is the same in gradflow's convention: the utility does not
 * depend on how the loss is normalised, only the flow's speed does. Gradient flow on gradflow's
 * L has θ̇_i = ∇U_i exactly (dormant regime), so §3's κ = 3 threshold gives the aligned jump time
 * τ_ξ = (1/‖θ(0)‖ − 1)/(3U*_ξ) in gradflow flow time. Under torch's MSELoss (mean over the n·p
 * entries, no ½) the flow runs 2/p times as fast: L_torch = (2/p) L and t_torch = (p/2) t.
 *
 * Plateaus. The loss splits over output frequency classes: L = Σ_ξ L_ξ with, for the target,
 * L_ξ = (|X[ξ]|² + |X[p−ξ]|²)/(2p) (Nyquist: |X[p/2]|²/(2p)). Learning a frequency removes its
 * L_ξ; the plateau after the k-th learned frequency is the sum over the others.
 */
import type { SpectrumEntry } from './modular-data.ts';

export const ROOT_2_27 = Math.sqrt(2 / 27);

/** Closed-form maximal normalised utility at frequency ξ with |X[ξ]| = amp (gradflow's U; residual = target). */
export function utilityStar(p: number, freq: number, amp: number): number {
  const xhat = amp / Math.sqrt(p);
  const c = 2 * freq === p ? 2 / Math.sqrt(27) : ROOT_2_27;
  return c * xhat ** 3;
}

/** Loss carried by one frequency class, gradflow convention (1/2n)Σ‖·‖². */
export function classLoss(p: number, freq: number, amp: number): number {
  return (2 * freq === p ? 1 : 2) * amp * amp / (2 * p);
}

/** torch.nn.MSELoss (mean over samples and the p outputs, no ½) from gradflow's loss. */
export function toTorchLoss(p: number, L: number): number {
  return (2 / p) * L;
}

export interface FrequencyPrediction {
  freq: number;
  amp: number;
  /** U*_ξ (gradflow convention = theory.md's). */
  uStar: number;
  /** Aligned κ = 3 jump time (1/‖θ(0)‖ − 1)/(3U*_ξ), flow time. */
  tau: number;
  /** Loss plateau after this frequency is learned, gradflow convention and torch MSELoss. */
  levelAfter: number;
  levelAfterTorch: number;
}

export interface ModularPrediction {
  p: number;
  initialLoss: number;
  initialLossTorch: number;
  /** Frequencies in the order AGF learns them (decreasing U*_ξ, i.e. decreasing |X[ξ]| away from Nyquist). */
  order: FrequencyPrediction[];
}

/** Order, utilities, aligned jump times (initial neuron norm rho0) and plateau levels. */
export function predictModular(p: number, spectrum: SpectrumEntry[], rho0: number): ModularPrediction {
  const live = spectrum.filter((e) => e.amp > 0);
  const sorted = live.map((e) => ({ ...e, uStar: utilityStar(p, e.freq, e.amp) })).sort((a, b) => b.uStar - a.uStar || a.freq - b.freq);
  let level = live.reduce((s, e) => s + classLoss(p, e.freq, e.amp), 0);
  const initialLoss = level;
  const order: FrequencyPrediction[] = sorted.map((e) => {
    level = Math.max(0, level - classLoss(p, e.freq, e.amp));
    return { freq: e.freq, amp: e.amp, uStar: e.uStar, tau: (1 / rho0 - 1) / (3 * e.uStar), levelAfter: level, levelAfterTorch: toTorchLoss(p, level) };
  });
  return { p, initialLoss, initialLossTorch: toTorchLoss(p, initialLoss), order };
}

/** The closed-form maximiser at frequency ξ (phases φ_u = φ_v = 0, φ_w = −arg X[ξ]), flat (u, v, w), unit norm. */
export function maximiser(p: number, freq: number, argX: number): Float64Array {
  const th = new Float64Array(3 * p);
  const nyq = 2 * freq === p;
  const a = nyq ? Math.sqrt(1 / (3 * p)) : Math.sqrt(2 / (3 * p));
  for (let k = 0; k < p; k++) {
    const ang = (2 * Math.PI * ((freq * k) % p)) / p;
    th[k] = a * Math.cos(ang);
    th[p + k] = a * Math.cos(ang);
    th[2 * p + k] = a * Math.cos(ang - argX);
  }
  return th;
}
