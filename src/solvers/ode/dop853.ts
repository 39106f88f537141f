/**
 * DOP853 (Hairer, Nørsett & Wanner, Solving ODEs I, §II.10): the explicit Runge–Kutta pair of
 * orders 8(5,3) with its 7th-order continuous extension. At tight tolerances it needs several
 * times fewer right-hand-side evaluations than dopri5. The extension costs three more
 * evaluations per step, so it is formed only for steps an event, a tEval point or the dense
 * store asks about. No allocation per step.
 */
import { DivergenceError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';
import type { DenseCodec, Step, StepConfig, Stepper } from './dense.ts';
import { initialStep } from './dopri5.ts';
import { A, B, C, D, E3, E5, N_STAGES } from './dop853-tableau.ts';
import { combination, errorSums } from './lincomb.ts';
import { stageArena } from './wasm-stages.ts';

// Hairer's defaults for DOP853: safety 0.9, step ratio in [1/3, 6], no PI term
const SAFE = 0.9;
const FACC1 = 3;
const FACC2 = 1 / 6;
const EXPO = 1 / 8;
const N_EXT = 16;

export function dop853Stepper(f: OdeRhs, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper {
  const n = y0.length;
  const { rtol, atol, hmax, dt } = cfg;
  let t = t0;
  // K[0]: slope at the step start, K[12]: at the trial end (FSAL), K[13..15]: the extension's
  // stages; with many components these and the states live in WebAssembly memory (wasm-stages.ts)
  const arena = stageArena(N_EXT + 3, n);
  const vectors = arena ? arena.vectors : Array.from({ length: N_EXT + 3 }, () => new Float64Array(n));
  const K: Float64Array[] = vectors.slice(0, N_EXT);
  K[0].set(f0);
  let y: Float64Array = vectors[N_EXT];
  y.set(y0);
  let yNew: Float64Array = vectors[N_EXT + 1];
  const ys = vectors[N_EXT + 2];
  const F = Array.from({ length: 7 }, () => new Float64Array(n));
  let h = dt ?? cfg.h0 ?? initialStep(f, t0, y0, f0, 8, cfg, t1 - t0);
  let lastRejected = false;
  let rejected = 0;
  const nFixed = dt !== undefined ? Math.max(1, Math.ceil((t1 - t0) / dt - 1e-9)) : 0;
  let kFixed = 0;

  // the tableau's combinations: f64x2 in the arena, else generated straight-line loops (lincomb.ts)
  const stageComb = A.map((row) => (arena ? arena.combination(row) : combination(row)));
  const solutionComb = arena ? arena.combination(B) : combination(B);
  const denseComb = D.map((row) => combination(row));
  const errSums = errorSums(E5, E3);
  const sums = new Float64Array(2);

  const stages = (hh: number, tNew: number): void => {
    for (let s = 1; s < N_STAGES; s++) {
      stageComb[s](ys, y, K, hh, n);
      f(t + C[s] * hh, ys, K[s]);
    }
    solutionComb(yNew, y, K, hh, n);
    f(tNew, yNew, K[12]);
  };

  /** Hairer's combined 5th/3rd-order error estimate (RMS over components). */
  const errorEstimate = (hh: number): number => {
    errSums(sums, K, y, yNew, atol, rtol, n);
    const e5 = sums[0], e3 = sums[1];
    if (e5 === 0 && e3 === 0) return 0;
    return (Math.abs(hh) * e5) / Math.sqrt((e5 + 0.01 * e3) * n);
  };

  // the accepted step; after accept() the start state lives in yNew (swapped) and K[0] still holds its slope
  const step: Step = { tA: t0, tB: t0, yB: y, fB: K[12], interp: (tq, out) => interp(tq, out) };
  let hStep = 0;
  let accepted = 0;
  let coeffsFor = -1;
  const coefficients = (): void => {
    if (coeffsFor === accepted) return;
    const yA = yNew;
    for (let s = N_STAGES + 1; s < N_EXT; s++) {
      stageComb[s](ys, yA, K, hStep, n);
      f(step.tA + C[s] * hStep, ys, K[s]);
    }
    for (let i = 0; i < n; i++) {
      const dy = y[i] - yA[i];
      F[0][i] = dy;
      F[1][i] = hStep * K[0][i] - dy;
      F[2][i] = 2 * dy - hStep * (K[12][i] + K[0][i]);
    }
    for (let r = 0; r < 4; r++) denseComb[r](F[3 + r], null, K, hStep, n);
    current.set(yA, 0);
    for (let k = 0; k < 7; k++) current.set(F[k], (k + 1) * n);
    coeffsFor = accepted;
  };
  /** y = yA + x(F0 + (1−x)(F1 + x(F2 + (1−x)(F3 + x(F4 + (1−x)(F5 + x·F6)))))), record [yA, F0..F6] at off */
  const horner = (buf: Float64Array, off: number, x: number, out: Float64Array): void => {
    const x1 = 1 - x;
    for (let i = 0; i < n; i++) {
      const o = off + i;
      let v = buf[o + 7 * n] * x;
      v = (v + buf[o + 6 * n]) * x1;
      v = (v + buf[o + 5 * n]) * x;
      v = (v + buf[o + 4 * n]) * x1;
      v = (v + buf[o + 3 * n]) * x;
      v = (v + buf[o + 2 * n]) * x1;
      v = (v + buf[o + n]) * x;
      out[i] = buf[o] + v;
    }
  };
  // the last step's record, for interpolation inside it
  const current = new Float64Array(8 * n);
  const interp = (tq: number, out: Float64Array): void => {
    coefficients();
    horner(current, 0, (tq - step.tA) / hStep, out);
  };
  const codec: DenseCodec = {
    width: 8 * n,
    write(out, off) {
      coefficients();
      out.set(current, off);
    },
    evaluate(buf, off, tA, tB, tq, out) {
      horner(buf, off, (tq - tA) / (tB - tA), out);
    },
  };

  const accept = (hh: number, tNew: number): Step => {
    step.tA = t;
    step.tB = tNew;
    hStep = hh;
    t = tNew;
    [y, yNew] = [yNew, y];
    // K[0] keeps the start slope until the next step begins (the extension needs it); the
    // next step() moves K[12] into K[0] first
    step.yB = y;
    step.fB = K[12];
    accepted++;
    pendingSlope = true;
    return step;
  };
  let pendingSlope = false;
  const beginStep = (): void => {
    if (pendingSlope) {
      K[0].set(K[12]);
      pendingSlope = false;
    }
  };

  return {
    get rejected() {
      return rejected;
    },
    codec,
    step(): Step {
      beginStep();
      if (dt !== undefined) {
        kFixed++;
        const tNew = kFixed >= nFixed ? t1 : t0 + kFixed * dt;
        const hh = tNew - t;
        stages(hh, tNew);
        return accept(hh, tNew);
      }
      for (;;) {
        h = Math.min(h, hmax);
        const last = t + 1.01 * h >= t1;
        if (last) h = t1 - t;
        if (!(h > 16 * Number.EPSILON * Math.abs(t)) || !(h > 0)) {
          throw new DivergenceError(`dop853: step size underflow at t = ${t} (solution likely blows up)`);
        }
        const tNew = last ? t1 : t + h;
        stages(h, tNew);
        const e = errorEstimate(h);
        if (!Number.isFinite(e)) {
          h *= 0.1;
          rejected++;
          lastRejected = true;
          continue;
        }
        const fac11 = e ** EXPO;
        if (e <= 1) {
          const fac = Math.max(FACC2, Math.min(FACC1, fac11 / SAFE));
          let hNew = h / fac;
          if (lastRejected) hNew = Math.min(hNew, h);
          lastRejected = false;
          const hUsed = h;
          h = hNew;
          return accept(hUsed, tNew);
        }
        h = h / Math.min(FACC1, fac11 / SAFE);
        rejected++;
        lastRejected = true;
      }
    },
  };
}
