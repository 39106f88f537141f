/**
 * JumpSchedule: the one result shape for saddle-to-saddle predictions and for jumps detected
 * in simulations (DESIGN.md, "Machine-readable results"). Neuron indices are 0-based.
 */
import type { Conventions } from './problem.ts';

export interface Jump {
  /** Flow time of the jump. */
  time: number;
  /** time / log(1/alpha) (κ = 2); for the α → 0 limit methods (pf) this is the primary value. */
  rescaledTime: number;
  /** Neuron that activated (or moved) at this jump. */
  neuron: number;
  /** Sign of the neuron's contribution after the jump (e.g. sign of β_i), when meaningful. */
  sign?: number;
  /** Discrete algorithms (gd, momentum): the step of the jump; `time` is then its flow-time equivalent (k·lr, or k·lr/(1 − momentum)). */
  step?: number;
  /** Loss on the plateau after the jump. */
  lossAfter: number;
  /** Neurons that returned to the dormant set at this jump. */
  deactivated: number[];
}

export interface JumpSchedule {
  model: string;
  /** agf | pf | flow | gd | momentum | exact | … */
  method: string;
  conventions: Conventions;
  initialLoss: number;
  jumps: Jump[];
  /** Method-specific extras (active set after each jump, iterations, …). */
  extra?: Record<string, unknown>;
}

/** t / log(1/alpha): the time unit in which AGF's κ = 2 predictions are α-independent. */
export function rescale(t: number, alpha: number): number {
  return t / Math.log(1 / alpha);
}

/**
 * The unit of `rescaledTime`: T_κ(α) = ∫_α^1 s^{1−κ} ds, the time a unit-utility neuron of norm α
 * needs to reach norm 1 — log(1/α) for κ = 2 and (α^{2−κ} − 1)/(κ − 2) for κ > 2 (Kunin et al.,
 * AGF). Labels come from here so a κ = 3 number is never printed under a t/log(1/α) header.
 */
export interface TimeUnit {
  kappa: number;
  alpha: number;
  /** T_κ(α); rescaledTime = time / scale. */
  scale: number;
  /** Machine-readable formula, ASCII: 'log(1/alpha)' or '(alpha^(2-kappa)-1)/(kappa-2)'. */
  formula: string;
  /** Axis and column label, Unicode: 't/log(1/α)' or 't/T₃(α)'. */
  label: string;
  /** The same label in LaTeX math. */
  latex: string;
  /** One line for a table's notes. */
  note: string;
  /** The unit's definition for an axis label ('' for log(1/α), which defines itself). */
  definition: string;
}

const SUBSCRIPT = '₀₁₂₃₄₅₆₇₈₉';

export function timeUnit(kappa: number | null, alpha: number): TimeUnit {
  const k = kappa ?? 2;
  if (k === 2) {
    return { kappa: 2, alpha, scale: Math.log(1 / alpha), formula: 'log(1/alpha)', label: 't/log(1/α)', latex: 't/\\log(1/\\alpha)', definition: '', note: `rescaled time t/log(1/α), log(1/α) = ${Math.log(1 / alpha).toPrecision(6)}` };
  }
  const sub = Number.isInteger(k) && k >= 0 && k < 10 ? SUBSCRIPT[k] : `_${k}`;
  const scale = (Math.pow(alpha, 2 - k) - 1) / (k - 2);
  return {
    kappa: k, alpha, scale,
    formula: '(alpha^(2-kappa)-1)/(kappa-2)',
    label: `t/T${sub}(α)`,
    latex: `t/T_{${k}}(\\alpha)`,
    definition: k === 3 ? 'T₃(α) = 1/α − 1' : `T${sub}(α) = (α^(${2 - k}) − 1)/${k - 2}`,
    note: `rescaled time t/T${sub}(α), T${sub}(α) = (α^${2 - k < 0 ? `(${2 - k})` : 2 - k} − 1)/${k - 2} = ${scale.toPrecision(6)} (κ = ${k})`,
  };
}
