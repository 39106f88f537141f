/**
 * RKC2, the second-order Runge–Kutta–Chebyshev method with error control (Sommeijer, Shampine &
 * Verwer 1997, damping ε = 2/13), as a stepper of the common ODE driver: for stiff problems whose
 * Jacobian has a real (or nearly real) spectrum — a gradient flow's is −∇²L, symmetric. An explicit
 * method at dopri5's stability limit h ≈ 3.3/λ pays ~6 evaluations per 3.3/λ of time; s stages of
 * RKC are stable for hλ ≤ β(s) ≈ 0.653 s², so a step of size h costs ≈ √(hλ/0.65) evaluations and
 * the step is set by accuracy, not by λ (modular p = 20 at α = 1e-2: λ ~ 1e3 on plateaus ~1e3 long).
 *
 * The stage count comes from the spectral radius λ of ∂f/∂y, estimated by warm-started power
 * iterations on finite-difference Jacobian–vector products (8 at the start, 2 every 4 accepted
 * steps and after a rejection). The local error estimate is the paper's
 * est = (12(yₙ − yₙ₊₁) + 6h(fₙ + fₙ₊₁))/15 (RMS-weighted like dopri5's), the step factor
 * 0.8·err^{−1/3} with the ratio of successive errors (their eq. 3.3). Second order only: for tight
 * tolerances on non-stiff flows dopri5 and dop853 are far cheaper. The continuous extension is the
 * driver's cubic Hermite on the step's end points.
 */
import { DivergenceError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';
import { hermite, type Step, type StepConfig, type Stepper } from './dense.ts';
import { errorNorm, initialStep } from './dopri5.ts';

const EPS = 2 / 13;

/** The recurrence coefficients of an s-stage RKC2 step (j = 2 … s), and its first stage's weight. */
export interface RkcCoefficients { mu: number[]; nu: number[]; mut: number[]; gt: number[]; mut1: number }
const cache = new Map<number, RkcCoefficients>();

export function rkcCoefficients(s: number): RkcCoefficients {
  const hit = cache.get(s);
  if (hit) return hit;
  const w0 = 1 + EPS / (s * s);
  const T = [1, w0], dT = [0, 1], ddT = [0, 0];
  for (let j = 2; j <= s; j++) {
    T[j] = 2 * w0 * T[j - 1] - T[j - 2];
    dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2];
    ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2];
  }
  const w1 = dT[s] / ddT[s];
  const b: number[] = [];
  for (let j = 2; j <= s; j++) b[j] = ddT[j] / (dT[j] * dT[j]);
  b[0] = b[2]; b[1] = b[2];
  const a = (j: number): number => 1 - b[j] * T[j];
  const mu: number[] = [], nu: number[] = [], mut: number[] = [], gt: number[] = [];
  for (let j = 2; j <= s; j++) {
    mu[j] = (2 * b[j] * w0) / b[j - 1];
    nu[j] = -b[j] / b[j - 2];
    mut[j] = (2 * b[j] * w1) / b[j - 1];
    gt[j] = -a(j - 1) * mut[j];
  }
  const c = { mu, nu, mut, gt, mut1: b[1] * w1 };
  cache.set(s, c);
  return c;
}

/** Stages for stability at hλ (with a 0.9 margin): β(s) ≈ 0.653 s² for ε = 2/13. */
export function rkcStagesFor(hl: number): number {
  return Math.max(2, Math.ceil(Math.sqrt((hl / 0.9) / 0.653)) + 1);
}

/**
 * Most stages per step: hλ ≈ 2.6e6. A stiffness estimate beyond it comes from a state that is
 * blowing up (λ grows without bound, and with it the stage count and the coefficient tables,
 * until the process dies), not from a fit: κ = 3 fits measured λ ≤ 1e5.
 */
export const RKC_MAX_STAGES = 2000;

/**
 * The spectral radius of ∂f/∂y at y (f0 = f(y)) by `iters` power iterations on finite-difference
 * Jacobian–vector products over the coordinates w.idx, warm-started from w.pv (kept between calls);
 * `field` writes f at a probe state into out. Costs `iters` evaluations of f. Coordinates outside
 * idx keep what w.probe holds (a masked fit's fixed neurons: their values).
 */
export function powerSpectralRadius(field: (y: Float64Array, out: Float64Array) => void, y: Float64Array, f0: Float64Array, w: { idx: Int32Array; pv: Float64Array; probe: Float64Array; out: Float64Array }, iters: number): number {
  const { idx, pv, probe, out } = w;
  let scale = 0;
  for (const q of idx) scale = Math.max(scale, Math.abs(y[q]));
  const eps = 1e-7 * Math.max(scale, 1e-3);
  let lambda = 0;
  for (let it = 0; it < iters; it++) {
    let nv = 0;
    for (const q of idx) nv += pv[q] * pv[q];
    nv = Math.sqrt(nv) || 1;
    for (const q of idx) probe[q] = y[q] + (eps * pv[q]) / nv;
    field(probe, out);
    let nh = 0;
    for (const q of idx) {
      pv[q] = (out[q] - f0[q]) / eps;
      nh += pv[q] * pv[q];
    }
    lambda = Math.sqrt(nh);
  }
  return lambda;
}

/**
 * Safety factor on the power-iteration λ (an estimate from below) in the stage count; a step that
 * is unstable anyway fails its error test and is redone with a fresh estimate.
 */
const STAB = 1.2;
const RECHECK = 4;

export function rkcStepper(f: OdeRhs, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper {
  const n = y0.length;
  const { rtol, atol, hmax, dt } = cfg;
  let t = t0;
  let y = y0.slice(), fy = f0.slice();
  let yNew = new Float64Array(n), fNew = new Float64Array(n);
  let Ym2 = new Float64Array(n), Ym1 = new Float64Array(n), Yj = new Float64Array(n);
  const Fj = new Float64Array(n), est = new Float64Array(n);
  // power iteration: warm-started direction and a scratch state, over every coordinate
  const all = Int32Array.from({ length: n }, (_, q) => q);
  const pv = Float64Array.from({ length: n }, (_, q) => Math.sin(q + 1)), probe = new Float64Array(n), fp = new Float64Array(n);
  const field = (yq: Float64Array, out: Float64Array): void => f(t, yq, out);
  const spectralRadius = (iters: number): number => powerSpectralRadius(field, y, fy, { idx: all, pv, probe, out: fp }, iters);
  /** One s-stage step of size h from (t, y) into yNew, fNew = f(t + h, yNew). */
  const attempt = (h: number, s: number): void => {
    const co = rkcCoefficients(s);
    for (let q = 0; q < n; q++) { Ym2[q] = y[q]; Ym1[q] = y[q] + co.mut1 * h * fy[q]; }
    // stage abscissae: θ_j = μ_j θ_{j−1} + ν_j θ_{j−2} + μ̃_j(1 − a_{j−1}), θ_0 = 0, θ_1 = μ̃_1 (θ_s = 1)
    let thm2 = 0, thm1 = co.mut1;
    for (let j = 2; j <= s; j++) {
      f(t + thm1 * h, Ym1, Fj);
      const mu = co.mu[j], nu = co.nu[j], mut = co.mut[j] * h, gt = co.gt[j] * h, one = 1 - mu - nu;
      for (let q = 0; q < n; q++) Yj[q] = one * y[q] + mu * Ym1[q] + nu * Ym2[q] + mut * Fj[q] + gt * fy[q];
      const th = mu * thm1 + nu * thm2 + co.mut[j] + co.gt[j];
      thm2 = thm1; thm1 = th;
      const r = Ym2; Ym2 = Ym1; Ym1 = Yj; Yj = r;
    }
    yNew.set(Ym1);
    f(t + h, yNew, fNew);
  };

  const span = t1 - t0;
  const nFixed = dt !== undefined ? Math.max(1, Math.ceil(span / dt - 1e-9)) : 0;
  let kFixed = 0;
  let h = dt !== undefined ? span / nFixed : Math.min(cfg.h0 ?? initialStep(f, t0, y0, f0, 2, cfg, span), hmax, span);
  let lambda = spectralRadius(8), sinceEstimate = 0;
  let rejected = 0, accepted = 0, errPrev = 1, hPrev = h, justRejected = false;
  const step: Step = { tA: t0, tB: t0, yB: y, fB: fy, interp: () => { throw new Error('rkc: no step yet'); } };

  return {
    get rejected() { return rejected; },
    step(): Step {
      for (;;) {
        if (sinceEstimate >= RECHECK) { lambda = spectralRadius(2); sinceEstimate = 0; }
        const last = dt !== undefined ? kFixed + 1 === nFixed : t + h >= t1 - 1e-12 * Math.max(1, Math.abs(t1));
        const hh = dt !== undefined ? span / nFixed : last ? t1 - t : h;
        const s = rkcStagesFor(STAB * lambda * hh);
        if (!(s <= RKC_MAX_STAGES)) {
          const hMax = ((RKC_MAX_STAGES - 1) ** 2 * 0.653 * 0.9) / (STAB * lambda);
          if (dt !== undefined || !(hMax > 0 && Number.isFinite(hMax))) {
            throw new DivergenceError(`ode (rkc) at t = ${t.toPrecision(6)}: the spectral radius of the Jacobian is ${lambda.toPrecision(3)}, which a step of ${hh.toPrecision(3)} cannot take with ${RKC_MAX_STAGES} Chebyshev stages`);
          }
          h = hMax;
          continue;
        }
        attempt(hh, s);
        for (let q = 0; q < n; q++) est[q] = (12 * (y[q] - yNew[q]) + 6 * hh * (fy[q] + fNew[q])) / 15;
        const err = errorNorm(est, y, yNew, rtol, atol);
        if (dt === undefined && !(err <= 1)) {
          rejected++;
          h = hh * (Number.isFinite(err) ? Math.max(0.1, 0.8 / Math.cbrt(err)) : 0.1);
          if (!(h > 1e-14 * Math.max(1, Math.abs(t)))) throw new DivergenceError(`ode (rkc): step size underflow at t = ${t}`);
          lambda = spectralRadius(2);
          sinceEstimate = 0;
          justRejected = true;
          continue;
        }
        // accepted: swap the buffers in (the driver copies what it keeps before the next call)
        const tA = t;
        t = last ? t1 : t + hh;
        kFixed++;
        accepted++;
        sinceEstimate++;
        let r = y; y = yNew; yNew = r;
        r = fy; fy = fNew; fNew = r;
        if (dt === undefined) {
          const e = Math.max(err, 1e-10);
          let fac = 0.8 / Math.cbrt(e);
          if (accepted > 1) fac = Math.min(fac, (0.8 * (hh / hPrev) * Math.cbrt(errPrev / e)) / Math.cbrt(e));
          hPrev = hh;
          errPrev = e;
          // no growth right after a rejection (Hairer's rule): on a kink or a fast transient the
          // 10× the controller allows was rejected again every other step (softmax-mlp, α = 0.3:
          // 126,127 steps and 90,068 rejections to t = 8, where dopri5 took 382)
          h = Math.min(hmax, hh * Math.min(justRejected ? 1 : 10, Math.max(0.1, fac)));
          justRejected = false;
        }
        step.tA = tA;
        step.tB = t;
        step.yB = y;
        step.fB = fy;
        // cubic Hermite on the step's end points (yNew/fNew hold its start until the next attempt)
        step.interp = hermite(tA, yNew, fNew, t, y, fy);
        return step;
      }
    },
  };
}
