/**
 * Gradient flow θ̇ = −∇L(θ), integrated by any OdeMethod. Tolerances are relative to the
 * state: small initialisations put the interesting dynamics at |θ| ~ α, so the default
 * absolute tolerance sits far below the smallest non-zero initial component.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { buildTrajectory, type Trajectory } from '../trajectory.ts';
import { integrate } from './ode/index.ts';
import type { OdeEvent, OdeMethod, OdeOptions } from './ode/types.ts';
import { solveReluFlow } from './relu-flow.ts';
import { isPiecewiseLinear } from './relu-pattern.ts';

export interface FlowEvent {
  name: string;
  g: (t: number, theta: Float64Array) => number;
  direction?: 1 | -1 | 0;
  terminal?: boolean;
}

export interface FlowOptions {
  tEnd: number;
  method?: OdeMethod;
  rtol?: number;
  atol?: number;
  /** Fixed step (gauss4/midpoint/rk4). */
  dt?: number;
  tEval?: number[];
  /** Keep the continuous extension for Trajectory.dense (default true; false for a lean run). */
  dense?: boolean;
  /** Store θ at every accepted step (default: only when tEval is absent). */
  saveSteps?: boolean;
  events?: FlowEvent[];
  /** Stop once ‖∇L‖∞ falls below this (a stationary point has been reached). */
  untilGradNorm?: number;
  maxSteps?: number;
  /** Start from this state instead of the problem's θ(0). */
  theta0?: Float64Array;
  /** Cap on the doubles the run stores, states and dense output together (default 2^23, 64 MiB). */
  maxStoredValues?: number;
  /** Called after accepted steps with the fraction t/tEnd integrated (a progress line; no effect on the result). */
  onProgress?: (fraction: number) => void;
}

/** Calls onProgress(t/tEnd) after every accepted step, keeping any stop rule already set. */
export function withProgress(ode: OdeOptions, onProgress: ((fraction: number) => void) | undefined, tEnd: number): void {
  if (!onProgress) return;
  const stop = ode.stopWhen;
  ode.stopWhen = (t, y, dy) => {
    onProgress(tEnd > 0 ? t / tEnd : 1);
    return stop ? stop(t, y, dy) : false;
  };
}

export const FLOW_METHODS: OdeMethod[] = ['dop853', 'dopri5', 'gbs', 'gauss4', 'midpoint', 'rk4', 'rkc'];

/** Smallest non-zero magnitude in the state, the scale absolute tolerances must respect. */
export function stateScale(y: Float64Array): number {
  let m = Infinity;
  for (let q = 0; q < y.length; q++) {
    const a = Math.abs(y[q]);
    if (a > 0 && a < m) m = a;
  }
  return Number.isFinite(m) ? m : 1;
}

/** The checked end time and integrator of a flow request (shared by every coordinate system). */
export function flowMethod(opts: FlowOptions): OdeMethod {
  if (!Number.isFinite(opts.tEnd) || opts.tEnd < 0) throw new GradflowError(`flow: the end time must be a non-negative number (got ${opts.tEnd})`);
  const method = opts.method ?? 'dopri5';
  if (!FLOW_METHODS.includes(method)) throw new GradflowError(`flow: unknown method '${method}' (use ${FLOW_METHODS.join(', ')})`);
  return method;
}

/** ODE options of a flow request; events always see θ, so integrators in other coordinates pass thetaOf. */
export function flowOdeOptions(opts: FlowOptions, rtol: number, atol: number, thetaOf?: (y: Float64Array) => Float64Array): OdeOptions {
  const ode: OdeOptions = { rtol, atol, dt: opts.dt, tEval: opts.tEval, maxSteps: opts.maxSteps, dense: opts.dense ?? true, saveSteps: opts.saveSteps, maxStoredValues: opts.maxStoredValues };
  if (opts.events) {
    ode.events = opts.events.map((e): OdeEvent => ({ name: e.name, g: thetaOf ? (t, y) => e.g(t, thetaOf(y)) : e.g, direction: e.direction, terminal: e.terminal }));
  }
  return ode;
}

export function solveFlow(p: Problem, opts: FlowOptions): Trajectory {
  const { tEnd } = opts;
  const method = flowMethod(opts);
  // piecewise-linear templates: kink-by-kink integration (a smooth method chatters at the kinks)
  if (method === 'dopri5' && opts.dt === undefined && isPiecewiseLinear(p.derived)) return solveReluFlow(p, opts);
  const y0 = Float64Array.from(opts.theta0 ?? p.theta0);
  const rtol = opts.rtol ?? 1e-10;
  const atol = opts.atol ?? rtol * 1e-3 * stateScale(y0);
  const { X, Y, n } = p.data;
  // −∇L written straight into the stepper's stage vector (no gradient copy and negation pass), on
  // the data bound once (no per-call fingerprint of X and Y: ≈ 6 % of a small flow)
  const kb = p.kernels.bind(X, Y, n);
  const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => kb.velocity(y, dy);
  const ode = flowOdeOptions(opts, rtol, atol);
  if (opts.untilGradNorm !== undefined) {
    const tol = opts.untilGradNorm;
    ode.stopWhen = (_t, _y, dy) => {
      let m = 0;
      for (let q = 0; q < dy.length; q++) m = Math.max(m, Math.abs(dy[q]));
      return m < tol;
    };
  }
  withProgress(ode, opts.onProgress, tEnd);
  let sol: ReturnType<typeof integrate>;
  try {
    sol = integrate(method, rhs, 0, y0, tEnd, ode);
  } catch (e) {
    // a smooth method asked for on a relu model: say what runs it (`flow relu --method rkc` spent its 1e6 steps by t = 4.2)
    if (e instanceof GradflowError && /exceeded maxSteps|step size underflow/.test(e.message) && isPiecewiseLinear(p.derived)) {
      throw new GradflowError(`${e.message} — this model is piecewise linear (relu kinks), where a smooth integrator chatters at the kinks; the default method (dopri5, no --dt) integrates it kink by kink`);
    }
    throw e;
  }
  opts.onProgress?.(1);
  return buildTrajectory(p, `flow:${method}`, sol.t, sol.y, {
    events: sol.events.map((e) => ({ name: e.name, t: e.t, state: e.y })),
    dense: ode.dense ? (t) => sol.dense(t) : undefined,
    stats: { steps: sol.stats.steps, rejected: sol.stats.rejected, fevals: sol.stats.fevals, rtol, atol, tEnd: sol.tEnd },
    status: sol.status,
  });
}
