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
