/**
 * κ > 2: the discrete algorithm (gd, heavy ball, Nesterov) applied to the dormant neurons of one
 * plateau, step by step — the discrete counterpart of sphere.ts's direction/norm ODE. A dormant
 * neuron θ = ρu (‖u‖ = 1) of a κ-homogeneous model with the plateau's residual r feels
 * −∇L = ρ^{κ−1}∇U(u) (∇U (κ−1)-homogeneous, U(u) = ⟨r, f(x; u)⟩/n), so one step is, with
 * ε = ηρ^{κ−2} and the buffer w = v/ρ,
 *   gd:        θ' = ρ(u + εg)
 *   heavy ball: w̃ = m·w + εg, θ' = ρ(u + w̃)
 *   Nesterov:   w̃ = m·w + εg, θ' = ρ(u + m·w̃ + εg)
 * g = ∇U(u); then ρ' = ρ‖ũ‖, u' = ũ/‖ũ‖, w' = w̃/‖ũ‖. The norm is carried as log ρ and the
 * direction and buffer relative to it, so the iteration is exact at any α (no underflow of θ);
 * it is not abbreviated: it costs one utility gradient per step for all dormant neurons.
 * The residual is held at the plateau's (the dormant neurons' own output, O(ρ^κ), is neglected
 * until activation, as in AGF), and activation is the first step at which a neuron has ρ ≥ 1
 * (or a given threshold).
 * The step count grows like α^{2−κ}/η: the iteration is capped (CAPS.steps).
 */
import { GradflowError } from '../../util/errors.ts';
import { CAPS } from '../../util/limits.ts';
import type { Problem } from '../../problem.ts';
import { checkAlgorithm, hasMomentum, type AgfAlgorithm } from './discrete.ts';

export interface DiscreteActivation {
  /** The first neuron to reach ‖θ‖ ≥ 1 and the step at which it does (Infinity: none within the cap). */
  neuron: number;
  step: number;
  /** log ‖θ_i‖ of every neuron at that step (−Infinity for a zero neuron). */
  logNorms: Float64Array;
}

export interface DiscreteActivationOptions {
  /** The plateau's residual E (n × c, y − f at the saddle); default: Y (the origin). */
  residual?: Float64Array;
  /** Neurons taking part (default: all with θ_i ≠ 0). */
  mask?: Uint8Array;
  /** Activation level: the first step with ‖θ_i‖ ≥ threshold (default 1, AGF's; a simulation is compared at a level below its fit's norms). */
  threshold?: number;
  /** Most steps (default CAPS.steps). */
  maxSteps?: number;
}

/** The first activation under a discrete algorithm from the neurons' state theta (the dormant plateau dynamics above). */
export function discreteActivation(p: Problem, theta: Float64Array, algo: AgfAlgorithm, opts: DiscreteActivationOptions = {}): DiscreteActivation {
  if (algo.kind === 'flow') throw new GradflowError('discreteActivation: give gd, momentum or nesterov (the flow is sphere.ts)');
  checkAlgorithm(algo);
  const kappa = p.derived.kappa;
  if (kappa === null || !(kappa > 2)) throw new GradflowError(`discreteActivation: for κ > 2 models (got ${kappa === null ? 'no homogeneity degree' : `κ = ${kappa}`}; κ = 2 has the exact per-step factors of discrete.ts)`);
  const { H, P } = p.layout;
  const { X, Y, n } = p.data;
  const E = opts.residual ?? Y;
  const maxSteps = opts.maxSteps ?? CAPS.steps.value;
  const level = Math.log(opts.threshold ?? 1);
  if (!Number.isFinite(level)) throw new GradflowError(`discreteActivation: the threshold must be a positive number (got ${opts.threshold})`);
  const m = hasMomentum(algo) ? algo.momentum : 0;
  const nesterov = algo.kind === 'nesterov';
  const lr = algo.lr;
  const mask = new Uint8Array(H);
  const logRho = new Float64Array(H).fill(-Infinity);
  const u = new Float64Array(H * P), w = new Float64Array(H * P), g = new Float64Array(H * P);
  for (let i = 0; i < H; i++) {
    if (opts.mask && !opts.mask[i]) continue;
    let s = 0;
    for (let a = 0; a < P; a++) s += theta[i * P + a] ** 2;
    if (!(s > 0)) continue;
    const r = Math.sqrt(s);
    mask[i] = 1;
    logRho[i] = Math.log(r);
    for (let a = 0; a < P; a++) u[i * P + a] = theta[i * P + a] / r;
  }
  const active = (): number => { let b = -1; for (let i = 0; i < H; i++) if (mask[i] && (b < 0 || logRho[i] > logRho[b])) b = i; return b; };
  let lead = active();
  if (lead < 0) return { neuron: -1, step: Infinity, logNorms: logRho };
  if (logRho[lead] >= level) return { neuron: lead, step: 0, logNorms: logRho };
  const ut = new Float64Array(P), wt = new Float64Array(P);
  for (let k = 1; k <= maxSteps; k++) {
    p.kernels.vjpMean(u, X, E, n, g, mask);
    for (let i = 0; i < H; i++) {
      if (!mask[i]) continue;
      const eps = lr * Math.exp((kappa - 2) * logRho[i]);
      let s = 0;
      for (let a = 0; a < P; a++) {
        const q = i * P + a, step = eps * g[q];
        if (m === 0) { ut[a] = u[q] + step; wt[a] = 0; }
        else {
          wt[a] = m * w[q] + step;
          ut[a] = nesterov ? u[q] + m * wt[a] + step : u[q] + wt[a];
        }
        s += ut[a] * ut[a];
      }
      const nr = Math.sqrt(s);
      if (!(nr > 0) || !Number.isFinite(nr)) throw new GradflowError(`discreteActivation: neuron ${i} left the finite range at step ${k}; lower the learning rate`);
      logRho[i] += Math.log(nr);
      for (let a = 0; a < P; a++) { u[i * P + a] = ut[a] / nr; w[i * P + a] = wt[a] / nr; }
    }
    lead = active();
    if (logRho[lead] >= level) return { neuron: lead, step: k, logNorms: logRho };
  }
  return { neuron: lead, step: Infinity, logNorms: logRho };
}
