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
import { gradientOf, type Problem } from '../problem.ts';
import type { JumpSchedule } from '../schedule.ts';
import type { Trajectory } from '../trajectory.ts';
import { solveAgf } from '../solvers/agf.ts';
import { solveAgfDiagonal } from '../solvers/agf-diagonal.ts';
import { solvePf } from '../solvers/pf.ts';
import { solveFlow, type FlowOptions } from '../solvers/flow.ts';
import { DEFAULT_MAX_STEPS } from '../solvers/ode/index.ts';
import { integrateWithinStore } from './flow-store.ts';
import { formatNumber } from '../report/table.ts';
import { CAPS } from '../util/limits.ts';
import { solveFlowPsi } from '../solvers/flow-psi.ts';
import { solveDescent } from '../solvers/descent.ts';
import { detectJumps } from './jumps.ts';
import { checkAlgorithm, checkDiscreteModel, type AgfAlgorithm } from '../solvers/agf/discrete.ts';
import { simulationSteps } from './discrete-compare.ts';

/**
 * agf-gd / agf-momentum / agf-nesterov: AGF for the discrete algorithm itself (solvers/agf/discrete.ts;
 * κ = 2 polynomial models), in steps, with the same lr (and momentum) as the simulated gd /
 * momentum (heavy ball) / nesterov run.
 */
export const METHODS = ['agf', 'pf', 'flow', 'gd', 'agf-gd', 'momentum', 'agf-momentum', 'nesterov', 'agf-nesterov'] as const;
const STEPPED = ['gd', 'momentum', 'nesterov'] as const;
export type MethodName = (typeof METHODS)[number];

export interface RunOptions {
  methods: string[];
  /** Gradient-descent step (default: 0.01/λ̂, see the header). */
  lr?: number;
  /** Momentum coefficient m in (0, 1) of the momentum / nesterov methods and their AGF (heavy ball v ← m·v − η∇L, θ ← θ + v; Nesterov as descent.ts). */
  momentum?: number;
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
  /** Store cap of the flow (default 2^23 doubles); past it the flow is kept at checkpoints instead. */
  maxStoredValues?: number;
}

export interface MethodRuns {
  schedules: JumpSchedule[];
  trajectories: Record<string, Trajectory>;
  notes: string[];
  lr?: number;
  horizon?: number;
  /** The discrete AGF schedules next to their simulated runs (agf-gd with gd, agf-momentum with momentum), for step tables. */
  discrete: DiscretePair[];
}

export interface DiscretePair {
  algorithm: Exclude<AgfAlgorithm, { kind: 'flow' }>;
  predicted: JumpSchedule;
  /** The simulated run of the same algorithm (null when not among the methods). */
  simulated: JumpSchedule | null;
  steps: number;
}

/**
 * Largest Hessian eigenvalue of L at theta (power iteration, finite-difference Hessian-vector
 * products). Where ∇L jumps at theta — a relu unit's kink on a data point, where AGF's fits end
 * (sliding) — a difference quotient across the jump grows like 1/h and is no curvature (compare
 * relu --opt K=4 --alpha 1e-6 got λ̂ ≈ 9e4 and a default step of 1e-7, 3e9 steps): the estimate
 * is then repeated a hair off the kink (1e-4 of the scale, in a fixed direction) with steps far
 * below that distance, which gives the curvature of the pattern on that side.
 */
export function hessianNormEstimate(p: Problem, theta: Float64Array, iterations = 30): number {
  let scale = 0;
  for (let q = 0; q < theta.length; q++) scale = Math.max(scale, Math.abs(theta[q]));
  const unit = Math.max(scale, 1), h = 1e-6 * unit;
  const at = powerIteration(p, theta, h, iterations);
  if (!(at.lambda > 0)) return 0;
  const wide = hessianVector(p, theta, at.g0, at.v, 10 * h).norm;
  if (Math.abs(wide - at.lambda) <= 0.1 * Math.max(wide, at.lambda)) return at.lambda;
  const off = theta.map((x, q) => x + 1e-4 * unit * Math.sin(1 + q * 0.7548776662));
  return powerIteration(p, off, 1e-9 * unit, iterations).lambda;
}

/** (∇L(θ + h·v/‖v‖) − g0)/h, g0 = ∇L(θ), and its norm. */
function hessianVector(p: Problem, theta: Float64Array, g0: Float64Array, v: Float64Array, h: number): { hv: Float64Array; norm: number } {
  const N = theta.length;
  const g1 = new Float64Array(N);
  let nv = 0;
  for (let q = 0; q < N; q++) nv += v[q] * v[q];
  nv = Math.sqrt(nv);
  gradientOf(p, theta.map((x, q) => x + (h * v[q]) / nv), g1);
  const hv = g1.map((x, q) => (x - g0[q]) / h);
  let nh = 0;
  for (let q = 0; q < N; q++) nh += hv[q] * hv[q];
  return { hv, norm: Math.sqrt(nh) };
}

function powerIteration(p: Problem, theta: Float64Array, h: number, iterations: number): { lambda: number; v: Float64Array; g0: Float64Array } {
  const g0 = new Float64Array(theta.length);
  gradientOf(p, theta, g0);
  let v: Float64Array = new Float64Array(theta.length).map((_, q) => 1 + ((q * 7919) % 13) / 13); // fixed, not aligned with any axis
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    const r = hessianVector(p, theta, g0, v, h);
    lambda = r.norm;
    if (!(lambda > 0)) return { lambda: 0, v, g0 };
    v = r.hv;
  }
  return { lambda, v, g0 };
}



export function defaultStep(p: Problem, states: Float64Array[]): number {
  return stepFromCurvatures(states.map((s) => hessianNormEstimate(p, s)));
}

/** 0.01 over the largest of the curvatures λ̂ (defaultStep, once they are known). */
function stepFromCurvatures(lams: number[]): number {
  let lam = 0;
  for (const l of lams) lam = Math.max(lam, l);
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
  const want = new Set(opts.methods);
  const wantMomentum = ['momentum', 'agf-momentum', 'nesterov', 'agf-nesterov'].some((m) => want.has(m));
  if (wantMomentum && opts.momentum === undefined) throw new GradflowError('methods momentum, nesterov, agf-momentum and agf-nesterov need --momentum m, m in (0, 1)');
  if (!wantMomentum && opts.momentum !== undefined) throw new GradflowError('--momentum is for the methods momentum, nesterov, agf-momentum and agf-nesterov (add them to --methods)');
  // bad options and models fail before any solve
  if (opts.lr !== undefined) checkAlgorithm({ kind: 'gd', lr: opts.lr });
  if (wantMomentum) checkAlgorithm({ kind: 'momentum', lr: opts.lr ?? 1, momentum: opts.momentum! });
  for (const kind of STEPPED) if (want.has(`agf-${kind}`)) checkDiscreteModel(p, algorithmOf(kind, 1, opts.momentum));
  const notes: string[] = [];
  const schedules: JumpSchedule[] = [];
  const trajectories: Record<string, Trajectory> = {};
  const discrete: DiscretePair[] = [];
  const needPrediction = want.has('flow') || STEPPED.some((k) => want.has(k) || want.has(`agf-${k}`));
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
  if (!needPrediction) return { schedules, trajectories, notes, discrete };
  const last = predicted && predicted.jumps.length ? predicted.jumps[predicted.jumps.length - 1].time : 0;
  const horizon = opts.horizon ?? 1.3 * last + 20;
  const finalTheta = finalState(p, agf);
  const wantsStep = STEPPED.some((k) => want.has(k) || want.has(`agf-${k}`));
  // λ̂ at AGF's end state serves the default step and the flow's step budget: estimated once
  let lamEndMemo: number | undefined;
  const lamEnd = (th: Float64Array): number => (lamEndMemo ??= hessianNormEstimate(p, th));
  const lr = wantsStep ? opts.lr ?? stepFromCurvatures([hessianNormEstimate(p, p.theta0), ...(finalTheta ? [lamEnd(finalTheta)] : [])]) : undefined;
  const lrNote = opts.lr ? 'given' : '0.01/λ̂, λ̂ the largest Hessian eigenvalue at the start and at the predicted end';
  // the discrete AGF predictions: after agf/pf, before the simulations, in method order
  for (const kind of STEPPED) {
    if (!want.has(`agf-${kind}`)) continue;
    const algorithm = algorithmOf(kind, lr!, opts.momentum);
    const s = solveAgf(p, { algorithm });
    schedules.push(s);
    discrete.push({ algorithm, predicted: s, simulated: null, steps: 0 });
    if (s.extra?.status === 'unstable') notes.push(`${s.method}: stopped, ${String(s.extra.stopReason)}`);
  }
  // the simulated descents' lengths are known now: refuse before the flow runs, not after it
  const steppedSteps = (kind: (typeof STEPPED)[number]): number => {
    const perStep = lr! / (1 - (kind === 'gd' ? 0 : opts.momentum!));
    const pair = discrete.find((d) => d.algorithm.kind === kind);
    // long enough for the flow prediction's horizon and, when it is here, the discrete prediction's last jump (with the heavy ball's ringing)
    const steps = Math.max(Math.ceil(horizon / perStep), pair && !opts.horizon ? simulationSteps(pair.predicted, pair.algorithm) : 0);
    if (steps > CAPS.steps.value) throw new GradflowError(`${kind}: ${steps} steps needed for flow time ${(steps * perStep).toPrecision(4)} at lr = ${lr} (cap ${CAPS.steps.value}, GRADFLOW_MAX_STEPS); give a larger --lr or --alpha, or leave ${kind} out (--methods)`);
    return steps;
  };
  const stepsOf = new Map(STEPPED.filter((kind) => want.has(kind)).map((kind) => [kind, steppedSteps(kind)] as const));
  if (want.has('flow') && finalTheta) checkFlowSteps(() => lamEnd(finalTheta), last, horizon);
  if (want.has('flow')) {
    const psi = usePsiFlow(p);
    const flowOpts: FlowOptions = { tEnd: horizon, rtol: opts.rtol ?? 1e-10, onProgress: opts.progress?.('flow'), maxStoredValues: opts.maxStoredValues };
    const integrate = (o: FlowOptions): Trajectory => (psi ? solveFlowPsi(p, o) : solveFlow(p, o));
    const { tr, note } = integrateWithinStore(p, integrate, flowOpts);
    if (note) notes.push(note);
    if (psi) notes.push(`flow: integrated in exact ψ coordinates (u = √c·cosh(ψ/2), v = √c·sinh(ψ/2), c = u² − v² = 2α² conserved; solvers/flow-psi.ts) because at alpha = ${p.alpha} < ${PSI_FLOW_BELOW_ALPHA.toExponential(0)} the (u, v) coordinates cannot resolve a neuron shrinking through 0 (u − v ~ α² below one ulp of u)`);
    trajectories.flow = tr;
    const sim = detectJumps(p, tr, { predicted, method: 'flow' });
    schedules.push(sim);
    const unsettled = unsettledNote(tr, sim);
    if (unsettled) notes.push(unsettled);
  }
  for (const kind of STEPPED) {
    if (!want.has(kind)) continue;
    const m = kind === 'gd' ? 0 : opts.momentum!;
    const pair = discrete.find((d) => d.algorithm.kind === kind);
    const steps = stepsOf.get(kind)!;
    const tr = solveDescent(p, { lr: lr!, momentum: m, nesterov: kind === 'nesterov', steps, recordEvery: Math.max(1, Math.floor(steps / 20000)), onProgress: opts.progress?.(kind) });
    trajectories[kind] = tr;
    // a heavy ball's arriving neuron rings (its ‖θ_i‖² swings down as the next one rises): pair by growth since the last jump
    const sim = detectJumps(p, tr, { predicted, method: kind, ...(m ? { arrival: 'growth' as const } : {}) });
    schedules.push(sim);
    if (pair) Object.assign(pair, { simulated: sim, steps });
    const unsettled = unsettledNote(tr, sim);
    notes.push(kind === 'gd'
      ? `gd: lr = ${lr!.toPrecision(4)} (${lrNote}), ${steps} steps, time t = k·lr`
      : `${kind}: ${kind === 'momentum' ? 'heavy ball v ← m·v − lr·∇L, θ ← θ + v' : 'Nesterov v ← m·v − lr·∇L, θ ← θ + m·v − lr·∇L'}, m = ${m}, lr = ${lr!.toPrecision(4)} (${lrNote}), ${steps} steps, time t = k·lr/(1 − m)`);
    if (unsettled) notes.push(unsettled);
  }
  if (!STEPPED.some((k) => want.has(k)) && lr !== undefined) notes.push(`lr = ${lr.toPrecision(4)} (${lrNote})`);
  return { schedules, trajectories, notes, lr, horizon, discrete };
}

/**
 * A simulation's last "loss after" is its final loss (analysis/jumps.ts): the level of the last
 * plateau only where the run has settled on it. A fit can relax slowly — relu, default data,
 * α = 1e-6: at the default horizon (t = 125) the flow's loss is 0.019221 and still falling; it
 * levels at 0.0166383, AGF's level, after ~2000 flow-time units. So where the loss fell over the
 * run's last tenth by more than UNSETTLED_DROP of the last jump's own drop (from the level before
 * it), a note says that the number is read at the horizon and how to run longer. (Against the
 * last jump's drop, not the final loss: a run converging to zero loss keeps falling relatively
 * — 3e-9 to 3e-11 on the diagonal default — at a level that is zero on the jumps' scale.)
 */
export const UNSETTLED_DROP = 1e-3;

export function unsettledNote(tr: Trajectory, sim: JumpSchedule): string | null {
  const n = tr.t.length;
  if (n < 3) return null;
  const tEnd = tr.t[n - 1], t0 = tr.t[0];
  const q = tr.t.findIndex((t) => t >= tEnd - 0.1 * (tEnd - t0));
  if (q < 0 || q >= n - 1) return null;
  const a = tr.loss[q], b = tr.loss[n - 1];
  const k = sim.jumps.length;
  const before = k >= 2 ? sim.jumps[k - 2].lossAfter : sim.initialLoss;
  if (!(a - b > UNSETTLED_DROP * (before - b))) return null;
  return `${sim.method}: still descending at the end of the run (loss ${formatNumber(a, 6)} at t = ${formatNumber(tr.t[q], 4)}, ${formatNumber(b, 6)} at t = ${formatNumber(tEnd, 4)}): the last jump's loss after is read there, not at the level the run settles on; give a longer --t`;
}

/**
 * The flow is explicit Runge–Kutta (dopri5 / dop853, relu events): after the last predicted jump
 * the network sits where AGF's final state puts it, whose stiffest curvature λ̂ holds each step
 * below the method's stability interval, at most EXPLICIT_STABILITY/λ̂ (measured from AGF's end
 * state of modular p = 7: dop853 h·λ̂ ≈ 6.4, dopri5 ≈ 3.3; 7 keeps the bound a bound). So
 * (horizon − last jump)·λ̂/EXPLICIT_STABILITY is a lower bound on the steps; past the flow's step
 * budget the run could only fail, after minutes — sweep modular
 * on its default alphas (κ = 3: horizons ∝ 1/α, λ̂ ≈ 1.4e3 at α = 1e-2) ran 0 of 4 cells in
 * 160 s. Refused up front, in one line.
 */
export const EXPLICIT_STABILITY = 7;

function checkFlowSteps(curvature: () => number, last: number, horizon: number): void {
  const tail = horizon - last;
  if (!(tail > 0)) return;
  const lam = curvature();
  const minSteps = (tail * lam) / EXPLICIT_STABILITY;
  if (minSteps > DEFAULT_MAX_STEPS) {
    throw new GradflowError(`flow: at least ${minSteps.toPrecision(3)} steps needed from the last predicted jump (t = ${last.toPrecision(4)}) to t = ${horizon.toPrecision(4)}: the final state's curvature λ̂ = ${lam.toPrecision(3)} holds an explicit step below ${EXPLICIT_STABILITY}/λ̂, past the flow's budget of ${DEFAULT_MAX_STEPS} steps; give a larger --alpha or a shorter --t, or leave flow out (--methods)`);
  }
}

function algorithmOf(kind: (typeof STEPPED)[number], lr: number, momentum: number | undefined): Exclude<AgfAlgorithm, { kind: 'flow' }> {
  return kind === 'gd' ? { kind, lr } : { kind, lr, momentum: momentum! };
}
