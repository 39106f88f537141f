/**
 * Piecewise continuous extension shared by all integrators, plus the contract
 * between a stepping method and the common driver in index.ts.
 */
import { GradflowError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';

/** Writes the interpolated state at t (inside its step) into out. */
export type Interpolant = (t: number, out: Float64Array) => void;

/** One accepted step. yB and fB are fresh arrays the driver may keep. */
export interface Step {
  tA: number;
  tB: number;
  yB: Float64Array;
  fB: Float64Array;
  interp: Interpolant;
}

/** Produces accepted steps until it lands exactly on the final time. */
export interface Stepper {
  step(): Step;
  readonly rejected: number;
}

/** Options after validation and defaulting, as every method sees them. */
export interface StepConfig {
  rtol: number;
  atol: Float64Array;
  h0?: number;
  hmax: number;
  dt?: number;
}

export type StepperFactory = (
  f: OdeRhs,
  t0: number,
  y0: Float64Array,
  f0: Float64Array,
  t1: number,
  cfg: StepConfig,
) => Stepper;

/** Cubic Hermite on (yA, fA, yB, fB); the arrays are captured, not copied. */
export function hermite(
  tA: number,
  yA: Float64Array,
  fA: Float64Array,
  tB: number,
  yB: Float64Array,
  fB: Float64Array,
): Interpolant {
  const h = tB - tA;
  return (t, out) => {
    const s = (t - tA) / h;
    const s2 = s * s;
    const s3 = s2 * s;
    const h00 = 2 * s3 - 3 * s2 + 1;
    const h10 = s3 - 2 * s2 + s;
    const h01 = -2 * s3 + 3 * s2;
    const h11 = s3 - s2;
    for (let i = 0; i < out.length; i++) {
      out[i] = h00 * yA[i] + h * h10 * fA[i] + h01 * yB[i] + h * h11 * fB[i];
    }
  };
}

/**
 * Knot times/states plus one interpolant per step. Knots return the stored state
 * bit-for-bit so dense(t_k) agrees exactly with the solution arrays.
 */
export class DenseOutput {
  private readonly ts: number[];
  private readonly ys: Float64Array[];
  private readonly fns: Interpolant[] = [];

  constructor(t0: number, y0: Float64Array) {
    this.ts = [t0];
    this.ys = [y0];
  }

  get tEnd(): number {
    return this.ts[this.ts.length - 1];
  }

  append(tB: number, yB: Float64Array, interp: Interpolant): void {
    this.ts.push(tB);
    this.ys.push(yB);
    this.fns.push(interp);
  }

  /** Shortens the last step to end at t (terminal event); its interpolant stays valid there. */
  truncate(t: number, y: Float64Array): void {
    const k = this.ts.length - 1;
    this.ts[k] = t;
    this.ys[k] = y;
  }

  at(t: number): Float64Array {
    const ts = this.ts;
    const m = ts.length - 1;
    if (!(t >= ts[0] && t <= ts[m])) {
      throw new GradflowError(`dense output requested at t = ${t}, outside the solved interval [${ts[0]}, ${ts[m]}]`);
    }
    let lo = 0;
    let hi = m;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid] <= t) lo = mid;
      else hi = mid;
    }
    if (t === ts[lo]) return this.ys[lo].slice();
    if (t === ts[hi]) return this.ys[hi].slice();
    const out = new Float64Array(this.ys[0].length);
    this.fns[lo](t, out);
    return out;
  }
}
