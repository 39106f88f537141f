/**
 * Gradient flow with a second-order Runge–Kutta–Chebyshev method (Sommeijer, Shampine & Verwer
 * 1997, damping ε = 2/13), fixed step h and a stage count s chosen from the current largest
 * Hessian eigenvalue λ so that hλ ≤ 0.9·β(s), β(s) ≈ 0.653 s² (the real stability interval).
 *
 * Why: the Hessian of L is symmetric, so the flow's Jacobian −∇²L has a real spectrum — exactly
 * what Chebyshev methods are built for. Once κ = 3 neurons are active λ reaches O(10²–10³) while
 * the plateaus last O(10²) time units; dopri5 then crawls at its stability limit h ≈ 3.3/λ (6
 * gradients a step), RKC covers the same span with ≈ sqrt(hλ/0.65) gradients per step of size h.
 * λ is re-estimated every `recheck` steps by a few warm-started power iterations on
 * finite-difference Hessian-vector products.
 */
import type { Problem } from '../problem.ts';
import { buildTrajectory, type Trajectory } from '../trajectory.ts';
import { DivergenceError, GradflowError } from '../util/errors.ts';
import { powerSpectralRadius, rkcCoefficients, rkcStagesFor, RKC_MAX_STAGES } from './ode/rkc.ts';

export interface RkcFlowOptions {
  tEnd: number;
  /** Step (default 0.05). */
  dt?: number;
  /** Store every this many steps (default: about 2000 stored states). */
  recordEvery?: number;
  recheck?: number;
  theta0?: Float64Array;
  /** Only these neurons move (AGF cost minimisation over the active set); others stay fixed and are left out of f. */
  mask?: Uint8Array;
  /** Skip building a Trajectory: return only the final state (in states[0]). */
  finalOnly?: boolean;
  /** Called at the stored steps with the fraction done (a progress line; no effect on the result). */
  onProgress?: (fraction: number) => void;
}

export { rkcStagesFor, RKC_MAX_STAGES };

/** The flow's field F(θ) = −∇L(θ) into out; returns L(θ). */
export type FlowField = (theta: Float64Array, out: Float64Array) => number;

/**
 * Work arrays of RKC steps over the coordinates `idx` (the moving ones; all of them without a
 * mask). Only those are ever written: the stage buffers start as copies of θ(0), so the fixed
 * neurons' entries are carried unchanged — the Chebyshev weights sum to 1 only up to rounding.
 */
export class RkcWork {
  readonly pv: Float64Array;
  readonly tmp: Float64Array;
  readonly g1: Float64Array;
  readonly Fj: Float64Array;
  Ym2: Float64Array;
  Ym1: Float64Array;
  Yj: Float64Array;
  constructor(readonly idx: Int32Array, theta0: Float64Array) {
    const N = theta0.length;
    // the power-iteration vector, warm-started across estimates
    this.pv = new Float64Array(N);
    for (const q of idx) this.pv[q] = Math.sin(q + 1);
    this.tmp = Float64Array.from(theta0);
    this.g1 = new Float64Array(N);
    this.Fj = new Float64Array(N);
    this.Ym2 = Float64Array.from(theta0);
    this.Ym1 = Float64Array.from(theta0);
    this.Yj = Float64Array.from(theta0);
  }
}

/** Every coordinate of a state of N entries (no mask), or those of the neurons (P parameters each) a mask lets move. */
export function movingCoordinates(N: number, P: number, mask: Uint8Array | null): Int32Array {
  if (!mask) return Int32Array.from({ length: N }, (_, q) => q);
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) for (let a = 0; a < P; a++) out.push(i * P + a);
  return Int32Array.from(out);
}

/**
 * The largest Hessian eigenvalue of L around y by `iters` power iterations on finite-difference
 * Hessian-vector products over w.idx (F0 must hold F(y)); costs `iters` evaluations of F.
 */
export function rkcPowerLambda(F: FlowField, y: Float64Array, F0: Float64Array, w: RkcWork, iters: number): number {
  return powerSpectralRadius(F, y, F0, { idx: w.idx, pv: w.pv, probe: w.tmp, out: w.g1 }, iters);
}

/**
 * One RKC2 step of size h with s stages from y (F0 = F(y)) over w.idx; costs s − 1 evaluations of
 * F. Returns the buffer holding y_{n+1} (one of w's, overwritten by the next step).
 */
export function rkcStep(F: FlowField, y: Float64Array, F0: Float64Array, h: number, s: number, w: RkcWork): Float64Array {
  const { idx, Fj } = w;
  const co = rkcCoefficients(s);
  for (const q of idx) { w.Ym2[q] = y[q]; w.Ym1[q] = y[q] + co.mut1 * h * F0[q]; }
  for (let j = 2; j <= s; j++) {
    F(w.Ym1, Fj);
    const mu = co.mu[j], nu = co.nu[j], mut = co.mut[j] * h, gt = co.gt[j] * h, one = 1 - mu - nu;
    const { Ym1, Ym2, Yj } = w;
    for (const q of idx) Yj[q] = one * y[q] + mu * Ym1[q] + nu * Ym2[q] + mut * Fj[q] + gt * F0[q];
    w.Ym2 = Ym1; w.Ym1 = Yj; w.Yj = Ym2;
  }
  return w.Ym1;
}

/**
 * Step halvings before an unstable integration is reported. A Chebyshev stability polynomial
 * grows fast for positive-real z, so while neurons grow fast (large negative Hessian eigenvalues,
 * e.g. a fit started at alpha = 0.3 on modular p = 3) a step the stiffness estimate allows can
 * still blow the state up in one or two steps; the same flow at half the step is stable.
 */
export const RKC_MAX_HALVINGS = 5;

/**
 * The flow with RKC2 at step dt; when the integration becomes unstable (the loss rises, or the
 * stiffness estimate runs past RKC_MAX_STAGES), it is restarted from the start at half the step, at
 * most RKC_MAX_HALVINGS times. The step actually used is in stats.dt and the trajectory's time
 * convention.
 */
export function solveFlowRkc(p: Problem, opts: RkcFlowOptions): Trajectory {
  const h0 = opts.dt ?? 0.05;
  for (let halvings = 0; ; halvings++) {
    try {
      const tr = solveFlowRkcFixed(p, { ...opts, dt: h0 / 2 ** halvings });
      if (halvings > 0) tr.stats = { ...tr.stats, halvings };
      return tr;
    } catch (e) {
      if (!(e instanceof DivergenceError)) throw e;
      if (halvings === RKC_MAX_HALVINGS) throw new DivergenceError(`${e.message} — still unstable after halving the step ${halvings} times from ${h0}`);
    }
  }
}

function solveFlowRkcFixed(p: Problem, opts: RkcFlowOptions): Trajectory {
  const { tEnd } = opts;
  const h0 = opts.dt ?? 0.05;
  if (!(tEnd >= 0)) throw new GradflowError(`flow: the end time must be non-negative (got ${tEnd})`);
  if (!(h0 > 0)) throw new GradflowError(`flow: the step must be positive (got ${h0})`);
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const N = p.theta0.length;
  const y = Float64Array.from(opts.theta0 ?? p.theta0);
  const F = (th: Float64Array, out: Float64Array): number => {
    const L = kb.lossGrad(th, out, opts.mask ?? null);
    for (let q = 0; q < N; q++) out[q] = -out[q];
    return L;
  };
  const steps = Math.ceil(tEnd / h0 - 1e-12);
  const h = steps > 0 ? tEnd / steps : 0;
  const recordEvery = Math.max(1, opts.recordEvery ?? Math.ceil(steps / 2000));
  const recheck = opts.recheck ?? 4;
  const F0 = new Float64Array(N);
  // every coordinate, as this integrator always did (a masked fit's fixed neurons included)
  const work = new RkcWork(movingCoordinates(N, p.layout.P, null), y);
  let lambda = 0;
  const t: number[] = [0], states: Float64Array[] = [y.slice()], loss: number[] = [];
  let gradEvals = 0, s = 2, maxStages = 2;
  if (opts.finalOnly) loss.length = 0;
  else loss.push(kb.loss(y));
  // the loss of a gradient flow never increases; a step that raises it above the start, or 1 %
  // above its running minimum, comes from an unstable step (the state can blow up to 1e37 and stay
  // finite, so finiteness alone misses it; a non-finite loss fails the test too)
  let L0 = NaN, Lmin = Infinity;
  const checkLoss = (Lk: number, at: number): void => {
    if (Number.isNaN(L0)) L0 = Lk;
    if (!(Lk <= L0 * (1 + 1e-9) + 1e-300 && Lk <= 1.01 * Lmin + 1e-9 * L0)) {
      throw new DivergenceError(`flow (rkc) at t = ${at.toPrecision(4)}: the loss rose to ${Lk.toPrecision(3)} (start ${L0.toPrecision(3)}, lowest ${Lmin.toPrecision(3)}), which a gradient flow cannot do`);
    }
    Lmin = Math.min(Lmin, Lk);
  };
  for (let k = 0; k < steps; k++) {
    checkLoss(F(y, F0), k * h);
    if (k % recheck === 0) {
      const iters = k === 0 ? 8 : 2;
      lambda = rkcPowerLambda(F, y, F0, work, iters);
      gradEvals += iters;
      // 1.5: the estimate comes from few power iterations, and λ grows fast while a neuron jumps
      s = rkcStagesFor(1.5 * lambda * h);
      if (!(s <= RKC_MAX_STAGES)) {
        const need = `needs ${Number.isFinite(s) ? s : 'unboundedly many'} Chebyshev stages per step of ${h.toPrecision(3)} (at most ${RKC_MAX_STAGES})`;
        // at the first step nothing has grown yet: the given start is that stiff, not a diverging integration
        if (k === 0) throw new GradflowError(`flow (rkc): the starting state is too stiff for step ${h.toPrecision(3)}: the largest Hessian eigenvalue of L there is ${lambda.toPrecision(3)}, which ${need}; a smaller step would be needed (not a divergence)`);
        throw new DivergenceError(`flow (rkc) at t = ${(k * h).toPrecision(4)}: the largest Hessian eigenvalue of L reached ${lambda.toPrecision(3)}, which ${need}; the state is diverging at this step`);
      }
      maxStages = Math.max(maxStages, s);
    }
    y.set(rkcStep(F, y, F0, h, s, work));
    gradEvals += s;
    // a non-finite or growing state is caught by checkLoss at the next step or at the end
    if (opts.finalOnly) continue;
    if ((k + 1) % recordEvery === 0 || k + 1 === steps) {
      opts.onProgress?.((k + 1) / steps);
      const L = kb.loss(y);
      t.push((k + 1) * h);
      states.push(y.slice());
      loss.push(L);
    }
  }
  const Lend = kb.loss(y, opts.mask ?? null);
  if (steps > 0) checkLoss(Lend, tEnd);
  if (opts.finalOnly) return buildTrajectory(p, 'flow:rkc2', [tEnd], [y.slice()], { loss: [Lend], stats: { steps, dt: h, gradEvals, maxStages } });
  return buildTrajectory(p, 'flow:rkc2', t, states, {
    loss,
    stats: { steps, dt: h, gradEvals, maxStages, lambdaLast: lambda },
    timeConvention: `flow time (RKC2 fixed step ${h.toPrecision(3)})`,
  });
}
