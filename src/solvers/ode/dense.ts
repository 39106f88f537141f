/**
 * The contract between a stepping method and the common driver in index.ts, and the flat
 * storage of a continuous extension: one coefficient record per step in one growing
 * Float64Array, bounded by a budget shared with the stored states.
 */
import { GradflowError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';

/** Writes the interpolated state at t (inside its step) into out. */
export type Interpolant = (t: number, out: Float64Array) => void;

/**
 * One accepted step. yB, fB and interp may be the stepper's own buffers: they stay valid only
 * until the next step() call, so the driver copies what it keeps.
 */
export interface Step {
  tA: number;
  tB: number;
  yB: Float64Array;
  fB: Float64Array;
  interp: Interpolant;
}

/** A method's own continuous extension, stored as `width` doubles per step. */
export interface DenseCodec {
  readonly width: number;
  /** Coefficients of the step just returned by step(); yA, fA: the state and slope at its start. */
  write(out: Float64Array, off: number, yA: Float64Array, fA: Float64Array, step: Step): void;
  evaluate(buf: Float64Array, off: number, tA: number, tB: number, t: number, out: Float64Array): void;
}

/** Produces accepted steps until it lands exactly on the final time. */
export interface Stepper {
  step(): Step;
  readonly rejected: number;
  /** Absent: the driver stores a cubic Hermite extension from the step's end points. */
  readonly codec?: DenseCodec;
}

/** Options after validation and defaulting, as every method sees them. */
export interface StepConfig {
  rtol: number;
  atol: Float64Array;
  h0?: number;
  hmax: number;
  dt?: number;
  /**
   * Whether the run will interpolate (events, a dense store, checkpoints inside the interval);
   * a method whose extension costs extra per step forms it only then (absent: assume yes).
   */
  denseNeeded?: boolean;
}

export type StepperFactory = (
  f: OdeRhs,
  t0: number,
  y0: Float64Array,
  f0: Float64Array,
  t1: number,
  cfg: StepConfig,
) => Stepper;

function hermiteEval(yA: Float64Array, aOff: number, fA: Float64Array, faOff: number, yB: Float64Array, bOff: number, fB: Float64Array, fbOff: number, h: number, s: number, out: Float64Array): void {
  const s2 = s * s;
  const s3 = s2 * s;
  const h00 = 2 * s3 - 3 * s2 + 1;
  const h10 = s3 - 2 * s2 + s;
  const h01 = -2 * s3 + 3 * s2;
  const h11 = s3 - s2;
  for (let i = 0; i < out.length; i++) {
    out[i] = h00 * yA[aOff + i] + h * h10 * fA[faOff + i] + h01 * yB[bOff + i] + h * h11 * fB[fbOff + i];
  }
}

/** Cubic Hermite on (yA, fA, yB, fB); the arrays are captured, not copied. */
export function hermite(tA: number, yA: Float64Array, fA: Float64Array, tB: number, yB: Float64Array, fB: Float64Array): Interpolant {
  const h = tB - tA;
  return (t, out) => hermiteEval(yA, 0, fA, 0, yB, 0, fB, 0, h, (t - tA) / h, out);
}

/** Stored layout [yA, fA, yB, fB] (4n doubles), for methods without their own extension. */
export function hermiteCodec(n: number): DenseCodec {
  return {
    width: 4 * n,
    write(out, off, yA, fA, step) {
      out.set(yA, off);
      out.set(fA, off + n);
      out.set(step.yB, off + 2 * n);
      out.set(step.fB, off + 3 * n);
    },
    evaluate(buf, off, tA, tB, t, out) {
      const h = tB - tA;
      hermiteEval(buf, off, buf, off + n, buf, off + 2 * n, buf, off + 3 * n, h, (t - tA) / h, out);
    },
  };
}

/** Doubles every stored output of one integration may hold (2^23 = 64 MiB), states and dense output together: with the process itself a failing run stays under 200 MB. */
export const DEFAULT_MAX_STORED = 2 ** 23;

/** One budget for every store of a run, so that a run that cannot finish fails small. */
export class StorageBudget {
  private used = 0;
  constructor(
    readonly cap: number,
    private readonly what: string,
  ) {}

  take(count: number): void {
    this.used += count;
    if (this.used > this.cap) {
      throw new GradflowError(
        `${this.what}: stored output would exceed ${this.cap} values (${Math.round((this.cap * 8) / 2 ** 20)} MiB); ` +
          'store less (tEval checkpoints instead of every step, dense output off) or raise maxStoredValues',
      );
    }
  }
}

/** Doubles per chunk of a record store (512 KiB): growth allocates a chunk, never copies. */
const CHUNK = 2 ** 16;

/** Records of `width` doubles in fixed-size chunks: memory is what is stored plus at most one chunk. */
export class FlatRecords {
  private readonly chunks: Float64Array[] = [];
  private readonly perChunk: number;
  count = 0;

  constructor(
    readonly width: number,
    private readonly budget: StorageBudget,
  ) {
    this.perChunk = Math.max(1, Math.floor(CHUNK / Math.max(1, width)));
  }

  /** A new record: the chunk it lives in and its offset there (contents to be written by the caller). */
  append(): { buf: Float64Array; off: number } {
    this.budget.take(this.width);
    const c = Math.floor(this.count / this.perChunk);
    if (c === this.chunks.length) this.chunks.push(new Float64Array(this.perChunk * this.width));
    const off = (this.count % this.perChunk) * this.width;
    this.count++;
    return { buf: this.chunks[c], off };
  }

  /** Where record k lives. */
  locate(k: number): { buf: Float64Array; off: number } {
    return { buf: this.chunks[Math.floor(k / this.perChunk)], off: (k % this.perChunk) * this.width };
  }

  /** Record k as a view into its chunk. */
  view(k: number): Float64Array {
    const { buf, off } = this.locate(k);
    return buf.subarray(off, off + this.width);
  }
}

/**
 * The continuous extension over [t0, tEnd]: per-step coefficients in a FlatRecords store.
 * Step starts evaluate to their stored state exactly (every extension here is exact at its
 * left end); after finish(), tEnd returns the final state bit for bit.
 */
export class DenseOutput {
  /** Step starts, then the end of the solved interval. */
  private readonly knots: number[];
  /** Each step's own end (a step shown only up to an event keeps its interpolant's step). */
  private readonly stepEnds: number[] = [];
  private records: FlatRecords | null = null;
  private yEnd: Float64Array | null = null;
  private readonly y0: Float64Array;

  constructor(
    t0: number,
    y0: Float64Array,
    private readonly budget: StorageBudget = new StorageBudget(DEFAULT_MAX_STORED, 'dense output'),
    private codec: DenseCodec | null = null,
  ) {
    this.knots = [t0];
    this.y0 = y0.slice();
  }

  get tEnd(): number {
    return this.knots[this.knots.length - 1];
  }

  /**
   * Stores the step just taken (its coefficients in `codec`'s layout, the same for every step),
   * shown up to tStop ≤ step.tB; yA, fA: the state and slope at its start, for codecs that need them.
   */
  append(step: Step, codec: DenseCodec | null = this.codec, tStop = step.tB, yA?: Float64Array, fA?: Float64Array): void {
    if (!codec) throw new Error('DenseOutput.append: no codec');
    this.codec ??= codec;
    this.records ??= new FlatRecords(codec.width, this.budget);
    const { buf, off } = this.records.append();
    codec.write(buf, off, yA ?? step.yB, fA ?? step.fB, step);
    this.knots.push(tStop);
    this.stepEnds.push(step.tB);
  }

  /** The final time and state (the last step's end, or a terminal event inside it). */
  finish(t: number, y: Float64Array): void {
    this.knots[this.knots.length - 1] = t;
    this.yEnd = y.slice();
  }

  /** Ends the solved interval at t inside the last step (a terminal event) with state y. */
  truncate(t: number, y: Float64Array): void {
    this.finish(t, y);
  }

  at(t: number): Float64Array {
    const ts = this.knots;
    const m = ts.length - 1;
    if (!(t >= ts[0] && t <= ts[m])) {
      throw new GradflowError(`dense output requested at t = ${t}, outside the solved interval [${ts[0]}, ${ts[m]}]`);
    }
    if (t === ts[m] && this.yEnd) return this.yEnd.slice();
    if (m === 0 || !this.records || !this.codec) return this.y0.slice();
    let lo = 0;
    let hi = m;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid] <= t) lo = mid;
      else hi = mid;
    }
    if (lo === m) lo = m - 1;
    const out = new Float64Array(this.y0.length);
    const { buf, off } = this.records.locate(lo);
    this.codec.evaluate(buf, off, ts[lo], this.stepEnds[lo], t, out);
    return out;
  }
}
