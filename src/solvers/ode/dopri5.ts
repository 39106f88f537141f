/**
 * Dormand–Prince 5(4) following Hairer & Wanner's DOPRI5: FSAL, PI step-size
 * control, and the 4th-order continuous extension.
 */
import { DivergenceError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';
import type { DenseCodec, Step, StepConfig, Stepper } from './dense.ts';

const C2 = 1 / 5, C3 = 3 / 10, C4 = 4 / 5, C5 = 8 / 9;
const A21 = 1 / 5;
const A31 = 3 / 40, A32 = 9 / 40;
const A41 = 44 / 45, A42 = -56 / 15, A43 = 32 / 9;
const A51 = 19372 / 6561, A52 = -25360 / 2187, A53 = 64448 / 6561, A54 = -212 / 729;
const A61 = 9017 / 3168, A62 = -355 / 33, A63 = 46732 / 5247, A64 = 49 / 176, A65 = -5103 / 18656;
const A71 = 35 / 384, A73 = 500 / 1113, A74 = 125 / 192, A75 = -2187 / 6784, A76 = 11 / 84;
const E1 = 71 / 57600, E3 = -71 / 16695, E4 = 71 / 1920, E5 = -17253 / 339200, E6 = 22 / 525, E7 = -1 / 40;
const D1 = -12715105075 / 11282082432, D3 = 87487479700 / 32700410799, D4 = -10690763975 / 1880347072,
  D5 = 701980252875 / 199316789632, D6 = -1453857185 / 822651844, D7 = 69997945 / 29380423;

// Hairer's defaults: safety 0.9, step ratio in [0.2, 10], PI coefficient beta = 0.04
const SAFE = 0.9;
const FACC1 = 1 / 0.2;
const FACC2 = 1 / 10;
const BETA = 0.04;
const EXPO1 = 0.2 - BETA * 0.75;

/** RMS of err_i / (atol_i + rtol·max(|y_i|, |ynew_i|)). */
export function errorNorm(err: Float64Array, y: Float64Array, ynew: Float64Array, rtol: number, atol: Float64Array): number {
  let s = 0;
  for (let i = 0; i < err.length; i++) {
    const sc = atol[i] + rtol * Math.max(Math.abs(y[i]), Math.abs(ynew[i]));
    const r = err[i] / sc;
    s += r * r;
  }
  return err.length === 0 ? 0 : Math.sqrt(s / err.length);
}

/** Hairer's HINIT: a first step from the size of y0, f0 and a finite-difference second derivative. */
export function initialStep(
  f: OdeRhs,
  t0: number,
  y0: Float64Array,
  f0: Float64Array,
  order: number,
  cfg: StepConfig,
  span: number,
): number {
  const n = y0.length;
  let dnf = 0;
  let dny = 0;
  for (let i = 0; i < n; i++) {
    const sk = cfg.atol[i] + cfg.rtol * Math.abs(y0[i]);
    dnf += (f0[i] / sk) ** 2;
    dny += (y0[i] / sk) ** 2;
  }
  let h = dnf <= 1e-10 || dny <= 1e-10 ? 1e-6 : Math.sqrt(dny / dnf) * 0.01;
  h = Math.min(h, cfg.hmax, span);
  const y1 = new Float64Array(n);
  for (let i = 0; i < n; i++) y1[i] = y0[i] + h * f0[i];
  const f1 = new Float64Array(n);
  f(t0 + h, y1, f1);
  let der2 = 0;
  for (let i = 0; i < n; i++) {
    const sk = cfg.atol[i] + cfg.rtol * Math.abs(y0[i]);
    der2 += ((f1[i] - f0[i]) / sk) ** 2;
  }
  der2 = Math.sqrt(der2) / h;
  const der12 = Math.max(Math.abs(der2), Math.sqrt(dnf));
  const h1 = der12 <= 1e-15 ? Math.max(1e-6, h * 1e-3) : (0.01 / der12) ** (1 / order);
  const hNew = Math.min(100 * h, h1, cfg.hmax, span);
  return Number.isFinite(hNew) && hNew > 0 ? hNew : Math.min(1e-6, span);
}

/**
 * Steps reuse a fixed set of buffers (no allocation per step); the continuous extension's
 * coefficients are formed only when an event, a tEval point or the dense store asks for them.
 */
export function dopri5Stepper(f: OdeRhs, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper {
  const n = y0.length;
  const { rtol, atol, hmax, dt } = cfg;
  let t = t0;
  // y/k1: state and slope at the step start; yNew/k7 the trial end. Accepting swaps them, so
  // the last step's start stays readable (for its extension) until the next step() call.
  let y: Float64Array = y0.slice();
  let k1: Float64Array = f0.slice();
  let yNew: Float64Array = new Float64Array(n);
  let k7: Float64Array = new Float64Array(n);
  const k2 = new Float64Array(n), k3 = new Float64Array(n), k4 = new Float64Array(n);
  const k5 = new Float64Array(n), k6 = new Float64Array(n);
  const ys = new Float64Array(n), err = new Float64Array(n);
  const r2 = new Float64Array(n), r3 = new Float64Array(n), r4 = new Float64Array(n), r5 = new Float64Array(n);
  let h = dt ?? cfg.h0 ?? initialStep(f, t0, y0, f0, 5, cfg, t1 - t0);
  let facold = 1e-4;
  let lastRejected = false;
  let rejected = 0;
  // fixed-step grid: t_k = t0 + k·dt so the nodes do not drift by accumulated addition
  const nFixed = dt !== undefined ? Math.max(1, Math.ceil((t1 - t0) / dt - 1e-9)) : 0;
  let kFixed = 0;

  /** Stages 2..7 of a step of size hh from (t, y): the 5th-order solution in yNew, its slope in k7. */
  const stages = (hh: number, tNew: number): void => {
    for (let i = 0; i < n; i++) ys[i] = y[i] + hh * A21 * k1[i];
    f(t + C2 * hh, ys, k2);
    for (let i = 0; i < n; i++) ys[i] = y[i] + hh * (A31 * k1[i] + A32 * k2[i]);
    f(t + C3 * hh, ys, k3);
    for (let i = 0; i < n; i++) ys[i] = y[i] + hh * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
    f(t + C4 * hh, ys, k4);
    for (let i = 0; i < n; i++) ys[i] = y[i] + hh * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
    f(t + C5 * hh, ys, k5);
    for (let i = 0; i < n; i++) ys[i] = y[i] + hh * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
    f(t + hh, ys, k6);
    for (let i = 0; i < n; i++) {
      yNew[i] = y[i] + hh * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i]);
    }
    f(tNew, yNew, k7);
  };

  // the accepted step, as the driver sees it; after accept(): yA = yNew, kA = k7 (swapped)
  const step: Step = { tA: t0, tB: t0, yB: y, fB: k1, interp: (tq, out) => interp(tq, out) };
  let hStep = 0;
  let coeffsFor = -1;
  let accepted = 0;
  const coefficients = (): void => {
    if (coeffsFor === accepted) return;
    const yA = yNew, kA = k7, kB = k1, yB = y;
    for (let i = 0; i < n; i++) {
      const ydiff = yB[i] - yA[i];
      const bspl = hStep * kA[i] - ydiff;
      r2[i] = ydiff;
      r3[i] = bspl;
      r4[i] = ydiff - hStep * kB[i] - bspl;
      r5[i] = hStep * (D1 * kA[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i] + D7 * kB[i]);
    }
    coeffsFor = accepted;
  };
  const interp = (tq: number, out: Float64Array): void => {
    coefficients();
    const yA = yNew;
    const th = (tq - step.tA) / hStep;
    const th1 = 1 - th;
    for (let i = 0; i < n; i++) out[i] = yA[i] + th * (r2[i] + th1 * (r3[i] + th * (r4[i] + th1 * r5[i])));
  };
  const codec: DenseCodec = {
    width: 5 * n,
    write(out, off) {
      coefficients();
      out.set(yNew, off);
      out.set(r2, off + n);
      out.set(r3, off + 2 * n);
      out.set(r4, off + 3 * n);
      out.set(r5, off + 4 * n);
    },
    evaluate(buf, off, tA, tB, tq, out) {
      const th = (tq - tA) / (tB - tA);
      const th1 = 1 - th;
      for (let i = 0; i < n; i++) {
        out[i] = buf[off + i] + th * (buf[off + n + i] + th1 * (buf[off + 2 * n + i] + th * (buf[off + 3 * n + i] + th1 * buf[off + 4 * n + i])));
      }
    },
  };

  const accept = (hh: number, tNew: number): Step => {
    step.tA = t;
    step.tB = tNew;
    hStep = hh;
    t = tNew;
    [y, yNew] = [yNew, y];
    [k1, k7] = [k7, k1];
    step.yB = y;
    step.fB = k1;
    accepted++;
    return step;
  };

  return {
    get rejected() {
      return rejected;
    },
    codec,
    step(): Step {
      if (dt !== undefined) {
        kFixed++;
        const tNew = kFixed >= nFixed ? t1 : t0 + kFixed * dt;
        const hh = tNew - t;
        stages(hh, tNew);
        return accept(hh, tNew);
      }
      for (;;) {
        h = Math.min(h, hmax);
        // stretch by up to 1% rather than leave a sliver of a last step
        const last = t + 1.01 * h >= t1;
        if (last) h = t1 - t;
        if (!(h > 16 * Number.EPSILON * Math.abs(t)) || !(h > 0)) {
          throw new DivergenceError(`dopri5: step size underflow at t = ${t} (solution likely blows up)`);
        }
        const tNew = last ? t1 : t + h;
        stages(h, tNew);
        for (let i = 0; i < n; i++) {
          err[i] = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
        }
        const e = errorNorm(err, y, yNew, rtol, atol);
        if (!Number.isFinite(e)) {
          // overflow inside a trial step: shrink hard and let the underflow check decide divergence
          h *= 0.1;
          rejected++;
          lastRejected = true;
          continue;
        }
        const fac11 = e ** EXPO1;
        if (e <= 1) {
          let fac = fac11 / facold ** BETA;
          fac = Math.max(FACC2, Math.min(FACC1, fac / SAFE));
          let hNew = h / fac;
          if (lastRejected) hNew = Math.min(hNew, h);
          facold = Math.max(e, 1e-4);
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
