/**
 * Runs several methods on one Problem and returns their jump schedules side by side: the
 * predictions (agf, pf) first, then simulations (flow, gd) whose jumps are detected with the
 * prediction's plateau levels (analysis/jumps.ts). The CLI's compare and sweep are thin
 * wrappers around this.
 *
 * Default gradient-descent step: η = 0.01 / λ̂, λ̂ the largest Hessian eigenvalue of L at the
 * start and at the predicted final state (power iteration on finite-difference Hessian-vector
 * products). Backward error analysis: descent follows the flow of L + (η/4)‖∇L‖², whose rates
 * differ from the flow's by a relative O(ηλ); for a dormant neuron growing like (1 + η|g|)^k
 * instead of e^{|g|t} the rate is |g|(1 − η|g|/2 + …). So with ηλ̂ = 0.01 every plateau, and
 * hence every jump time, is within about ηλ̂/2 = 0.5% of the flow's, comfortably below the
 * O(1/log(1/α)) AGF-vs-flow differences being measured, at a cost of ~100·λ̂·t_end steps.
 */
import type { JumpReporter, Progress } from '../util/progress.ts';
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import type { JumpSchedule } from '../schedule.ts';
import type { Trajectory } from '../trajectory.ts';
import { solveAgf } from '../solvers/agf.ts';
import { solveAgfDiagonal } from '../solvers/agf-diagonal.ts';
import { solvePf } from '../solvers/pf.ts';
import { solveFlow } from '../solvers/flow.ts';
import { solveFlowPsi } from '../solvers/flow-psi.ts';
import { solveDescent } from '../solvers/descent.ts';
import { detectJumps } from './jumps.ts';

export const METHODS = ['agf', 'pf', 'flow', 'gd'] as const;
export type MethodName = (typeof METHODS)[number];

export interface RunOptions {
  methods: string[];
  /** Gradient-descent step (default: 0.01/λ̂, see the header). */
  lr?: number;
  /** Flow integration tolerance (default 1e-10). */
  rtol?: number;
  /** Simulated flow time (default: 1.3 × the last predicted jump + 20/λ̂-independent margin of 20). */
  horizon?: number;
  /** AGF solver: 'generic' (solvers/agf.ts, the default; 'auto' is the same) or 'closed' (the diagonal closed form, a cross-check). */
  agf?: 'generic' | 'closed' | 'auto';
  /** A progress line per simulated method (flow, gd), e.g. the CLI's when stderr is a terminal or --progress. */
  progress?: (method: string) => Progress;
  /** A jump-by-jump progress line for the generic AGF engine. */
  agfProgress?: JumpReporter;
}

export interface MethodRuns {
  schedules: JumpSchedule[];
  trajectories: Record<string, Trajectory>;
  notes: string[];
  lr?: number;
  horizon?: number;
}

/** Largest Hessian eigenvalue of L at theta (power iteration, finite-difference Hessian-vector products). */
export function hessianNormEstimate(p: Problem, theta: Float64Array, iterations = 30): number {
  const N = theta.length;
  const { X, Y, n } = p.data;
  let v = new Float64Array(N).map((_, q) => 1 + ((q * 7919) % 13) / 13); // fixed, not aligned with any axis
  const g0 = new Float64Array(N), g1 = new Float64Array(N);
  p.kernels.lossGrad(theta, X, Y, n, g0);
  let scale = 0;
  for (let q = 0; q < N; q++) scale = Math.max(scale, Math.abs(theta[q]));
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    let nv = 0;
    for (let q = 0; q < N; q++) nv += v[q] * v[q];
    nv = Math.sqrt(nv);
    const h = 1e-6 * Math.max(scale, 1);
    const th = theta.map((x, q) => x + (h * v[q]) / nv);
    p.kernels.lossGrad(th, X, Y, n, g1);
    const hv = g1.map((x, q) => (x - g0[q]) / h);
    let nh = 0;
    for (let q = 0; q < N; q++) nh += hv[q] * hv[q];
    lambda = Math.sqrt(nh);
    if (!(lambda > 0)) return 0;
    v = hv;
  }
  return lambda;
}

export function defaultStep(p: Problem, states: Float64Array[]): number {
  let lam = 0;
  for (const s of states) lam = Math.max(lam, hessianNormEstimate(p, s));
  if (!(lam > 0)) throw new GradflowError('gd: could not estimate the Hessian scale for a default step; give --lr');
  return 0.01 / lam;
}

function finalState(p: Problem, agf: JumpSchedule | undefined): Float64Array | null {
  const th = agf?.extra?.finalTheta;
  return Array.isArray(th) && th.length === p.theta0.length ? Float64Array.from(th as number[]) : null;
}

/** Below this α the diagonal flow is integrated in ψ coordinates (solvers/flow-psi.ts); above it the (u, v) flow is accurate and kept. */
export const PSI_FLOW_BELOW_ALPHA = 1e-6;

/** The diagonal model from its standard start u = √2α, v = 0, at an α where (u, v) loses the shrinking neurons. */
function usePsiFlow(p: Problem): boolean {
  if (p.model.spec.name !== 'diagonal' || !(p.alpha < PSI_FLOW_BELOW_ALPHA) || p.layout.P !== 2) return false;
  const u0 = Math.SQRT2 * p.alpha;
  for (let i = 0; i < p.layout.H; i++) {
    const u = p.theta0[2 * i], v = p.theta0[2 * i + 1];
    if (v !== 0 || !(Math.abs(u - u0) <= 1e-12 * u0)) return false;
  }
  return true;
}

export function runMethods(p: Problem, opts: RunOptions): MethodRuns {
  for (const m of opts.methods) if (!(METHODS as readonly string[]).includes(m)) throw new GradflowError(`unknown method '${m}' (use ${METHODS.join(', ')})`);
  if (!(p.alpha > 0 && p.alpha < 1)) throw new GradflowError(`alpha must lie in (0, 1) (got ${p.alpha}); it is the initial scale and log(1/alpha) the time unit`);
  const notes: string[] = [];
  const schedules: JumpSchedule[] = [];
  const trajectories: Record<string, Trajectory> = {};
  const want = new Set(opts.methods);
  const needPrediction = want.has('flow') || want.has('gd');
  let agf: JumpSchedule | undefined;
  if (want.has('agf') || needPrediction) {
    const mode = opts.agf ?? 'auto';
    if (mode === 'closed') agf = solveAgfDiagonal(p);
    else {
      agf = solveAgf(p, { onProgress: opts.agfProgress });
      opts.agfProgress?.finish(agf);
    }
    if (want.has('agf')) schedules.push(agf);
  }
  let pf: JumpSchedule | undefined;
  if (want.has('pf')) {
    pf = solvePf(p);
    schedules.push(pf);
  }
  const predicted = agf ?? pf;
  if (!needPrediction) return { schedules, trajectories, notes };
  const last = predicted && predicted.jumps.length ? predicted.jumps[predicted.jumps.length - 1].time : 0;
  const horizon = opts.horizon ?? 1.3 * last + 20;
  const finalTheta = finalState(p, agf);
  if (want.has('flow')) {
    const psi = usePsiFlow(p);
    const flowOpts = { tEnd: horizon, rtol: opts.rtol ?? 1e-10, onProgress: opts.progress?.('flow') };
    const tr = psi ? solveFlowPsi(p, flowOpts) : solveFlow(p, flowOpts);
    if (psi) notes.push(`flow: integrated in exact ψ coordinates (u = √c·cosh(ψ/2), v = √c·sinh(ψ/2), c = u² − v² = 2α² conserved; solvers/flow-psi.ts) because at alpha = ${p.alpha} < ${PSI_FLOW_BELOW_ALPHA.toExponential(0)} the (u, v) coordinates cannot resolve a neuron shrinking through 0 (u − v ~ α² below one ulp of u)`);
    trajectories.flow = tr;
    schedules.push(detectJumps(p, tr, { predicted, method: 'flow' }));
  }
  let lr: number | undefined;
  if (want.has('gd')) {
    lr = opts.lr ?? defaultStep(p, finalTheta ? [p.theta0, finalTheta] : [p.theta0]);
    const steps = Math.ceil(horizon / lr);
    if (steps > 5e7) throw new GradflowError(`gd: ${steps} steps needed for flow time ${horizon} at lr = ${lr}; give a larger --lr`);
    const tr = solveDescent(p, { lr, steps, recordEvery: Math.max(1, Math.floor(steps / 20000)), onProgress: opts.progress?.('gd') });
    trajectories.gd = tr;
    schedules.push(detectJumps(p, tr, { predicted, method: 'gd' }));
    notes.push(`gd: lr = ${lr.toPrecision(4)} (${opts.lr ? 'given' : '0.01/λ̂, λ̂ the largest Hessian eigenvalue at the start and at the predicted end'}), ${steps} steps, time t = k·lr`);
  }
  return { schedules, trajectories, notes, lr, horizon };
}
