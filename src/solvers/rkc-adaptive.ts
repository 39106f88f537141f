/**
 * Gradient flow by RKC2 with error control (Sommeijer, Shampine & Verwer 1997, §3: the embedded
 * estimate est = (12(yₙ − yₙ₊₁) + 6h(Fₙ + Fₙ₊₁))/15, step factor 0.8·err^{−1/3}), for AGF's κ > 2
 * fits. Why not the fixed step of rkc-flow.ts: a fit's masked flow is fast for O(1) time units and
 * then creeps towards its limit for hundreds (saddles inside the fit, degenerate valleys), where a
 * fixed h = 0.05 pays ~√(hλ) gradients per 0.05 units the whole way. With error control h grows as
 * the flow slows; Chebyshev stages keep the stiff modes (λ ~ 1e3–1e4) stable at s ≈ √(hλ/0.65).
 * The flow stops early once ‖∇L‖ over the moving parameters is below `gtol` (a critical point:
 * nothing is left to flow).
 */
import type { Problem } from '../problem.ts';
import { DivergenceError, GradflowError } from '../util/errors.ts';
import { movingCoordinates, rkcPowerLambda, rkcStagesFor, rkcStep, RkcWork, RKC_MAX_STAGES } from './rkc-flow.ts';

export interface RkcAdaptiveOptions {
  tEnd: number;
  rtol: number;
  /** Absolute tolerance (default rtol·1e-3). */
  atol?: number;
  /** Stop once ‖∇L‖ (over the moving parameters) ≤ gtol (default 0: run to tEnd). */
  gtol?: number;
  theta0?: Float64Array;
  /** Only these neurons move; others stay fixed and are left out of f. */
  mask?: Uint8Array;
  /** First step (default 1e-3). */
  h0?: number;
  /** Most accepted + rejected steps (default 1e5): a bound on the work whatever the flow does. */
  maxSteps?: number;
}

export interface RkcAdaptiveResult {
  theta: Float64Array;
  t: number;
  loss: number;
  gradNorm: number;
  steps: number;
  rejected: number;
  gradEvals: number;
  maxStages: number;
  /** 'tEnd' | 'gtol' | 'maxSteps' */
  stop: string;
}

/**
 * Safety factor on the power-iteration λ (an estimate from below, warm-started across steps) in the
 * stage count; a step that is unstable anyway raises the loss and is rejected. 1.2 rather than the
 * fixed-step RKC's 1.5: the stage count is what the fits pay for (modular p = 20: 25.1k gradients
 * against 27.6k; the same neurons in the same order, the levels to 6 digits through the ξ = 3
 * plateau and within 0.6 % down to a loss of 0.1 — below that the late fits are tolerance-sensitive).
 */
const STAB = 1.2;
export function solveFlowRkcAdaptive(p: Problem, opts: RkcAdaptiveOptions): RkcAdaptiveResult {
  const { tEnd, rtol } = opts;
  const atol = opts.atol ?? rtol * 1e-3;
  if (!(tEnd >= 0)) throw new GradflowError(`flow (rkc, adaptive): the end time must be non-negative (got ${tEnd})`);
  if (!(rtol > 0 && atol > 0)) throw new GradflowError(`flow (rkc, adaptive): tolerances must be positive (got rtol ${rtol}, atol ${atol})`);
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const N = p.theta0.length;
  const mask = opts.mask ?? null;
  const y = Float64Array.from(opts.theta0 ?? p.theta0);
  const work = new RkcWork(movingCoordinates(N, p.layout.P, mask), y);
  // error norm and gradient norm over the moving coordinates only
  const moving = work.idx;
  let gradEvals = 0;
  const F = (th: Float64Array, out: Float64Array): number => {
    gradEvals++;
    const L = kb.lossGrad(th, out, mask);
    for (let q = 0; q < N; q++) out[q] = -out[q];
    return L;
  };
  const F0 = new Float64Array(N), F1 = new Float64Array(N);
  const gnorm = (g: Float64Array): number => { let s = 0; for (const q of moving) s += g[q] * g[q]; return Math.sqrt(s); };
  let L = F(y, F0);
  const L0 = L;
  const maxSteps = opts.maxSteps ?? 1e5;
  const gtol = opts.gtol ?? 0;
  let t = 0, h = Math.min(opts.h0 ?? 1e-3, tEnd), steps = 0, rejected = 0, maxStages = 2;
  let errPrev = 1, hPrev = h;
  let stop = 'tEnd';
  if (gtol > 0 && gnorm(F0) <= gtol) stop = 'gtol';
  let lambda = rkcPowerLambda(F, y, F0, work, 8);
  let sinceEstimate = 0;
  while (stop === 'tEnd' && t < tEnd) {
    if (steps + rejected >= maxSteps) { stop = 'maxSteps'; break; }
    if (sinceEstimate >= 4) { lambda = rkcPowerLambda(F, y, F0, work, 2); sinceEstimate = 0; }
    h = Math.min(h, tEnd - t);
    const s = rkcStagesFor(STAB * lambda * h);
    if (!(s <= RKC_MAX_STAGES)) {
      // the stiffness bounds the step through the stage count only: cap the step instead of failing
      const hMax = (RKC_MAX_STAGES - 1) ** 2 * 0.653 * 0.9 / (STAB * lambda);
      if (!(hMax > 0 && Number.isFinite(hMax))) throw new DivergenceError(`flow (rkc, adaptive) at t = ${t.toPrecision(4)}: the largest Hessian eigenvalue of L is ${lambda.toPrecision(3)}`);
      h = hMax;
      continue;
    }
    maxStages = Math.max(maxStages, s);
    const Ym1 = rkcStep(F, y, F0, h, s, work);
    const L1 = F(Ym1, F1);
    let e2 = 0;
    for (const q of moving) {
      const est = (12 * (y[q] - Ym1[q]) + 6 * h * (F0[q] + F1[q])) / 15;
      const sc = atol + rtol * Math.max(Math.abs(y[q]), Math.abs(Ym1[q]));
      e2 += (est / sc) ** 2;
    }
    const err = Math.sqrt(e2 / Math.max(1, moving.length));
    // a gradient flow's loss never rises: a step that raises it is rejected whatever its error estimate
    const rose = !(L1 <= L * (1 + 1e-12) + 1e-300);
    if (!Number.isFinite(err) || err > 1 || rose) {
      rejected++;
      h *= Number.isFinite(err) && err > 1 ? Math.max(0.1, 0.8 / Math.cbrt(err)) : 0.1;
      if (!(h > 1e-12 * Math.max(1, t))) throw new DivergenceError(`flow (rkc, adaptive) at t = ${t.toPrecision(4)}: step size underflow (loss ${L.toPrecision(3)}, start ${L0.toPrecision(3)})`);
      continue;
    }
    t += h;
    steps++;
    sinceEstimate++;
    y.set(Ym1);
    F0.set(F1);
    L = L1;
    if (gtol > 0 && gnorm(F0) <= gtol) { stop = 'gtol'; break; }
    // the controller of Sommeijer et al. (their eq. 3.3): the ratio of successive errors as well
    const e = Math.max(err, 1e-10);
    let fac = 0.8 / Math.cbrt(e);
    if (steps > 1) fac = Math.min(fac, 0.8 * (h / hPrev) * Math.cbrt(errPrev / e) / Math.cbrt(e));
    hPrev = h;
    errPrev = e;
    h *= Math.min(10, Math.max(0.1, fac));
  }
  return { theta: y, t, loss: L, gradNorm: gnorm(F0), steps, rejected, gradEvals, maxStages, stop };
}
