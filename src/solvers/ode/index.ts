/**
 * Entry point of the ODE layer: validates options, runs a method's stepper, and
 * applies the method-independent parts (storage, tEval, events, stopWhen,
 * divergence and step-count checks) identically for every method. The loop allocates
 * nothing per step: states and dense output go to flat stores under one memory budget.
 */
import { DivergenceError, GradflowError, assertFiniteArray } from '../../util/errors.ts';
import type { OdeEventHit, OdeMethod, OdeOptions, OdeRhs, OdeSolution } from './types.ts';
import { DEFAULT_MAX_STORED, DenseOutput, FlatRecords, StorageBudget, hermiteCodec, type StepConfig, type StepperFactory } from './dense.ts';
import { EventTracker } from './events.ts';
import { dopri5Stepper } from './dopri5.ts';
import { dop853Stepper } from './dop853.ts';
import { gauss4Stepper, midpointStepper } from './gauss.ts';
import { rk4Stepper } from './rk4.ts';
import { gbsStepper } from './gbs.ts';
import { rkcStepper } from './rkc.ts';

export type { OdeEvent, OdeEventHit, OdeMethod, OdeOptions, OdeRhs, OdeSolution } from './types.ts';

const STEPPERS: Record<OdeMethod, StepperFactory> = {
  dopri5: dopri5Stepper,
  dop853: dop853Stepper,
  gauss4: gauss4Stepper,
  midpoint: midpointStepper,
  rk4: rk4Stepper,
  gbs: gbsStepper,
  rkc: rkcStepper,
};

/** About 45 ulp: tighter local error targets are below the round-off of a step's own arithmetic. */
export const RTOL_FLOOR = 1e-14;

function fail(message: string): never {
  throw new GradflowError(message);
}

function positive(value: number | undefined, what: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) fail(`ode: ${what} must be a positive finite number, got ${value}`);
}

function resolveConfig(method: OdeMethod, t0: number, y0: Float64Array, t1: number, opts: OdeOptions): StepConfig {
  if (!Object.prototype.hasOwnProperty.call(STEPPERS, method)) fail(`ode: unknown method '${String(method)}'`);
  if (!Number.isFinite(t0) || !Number.isFinite(t1)) fail(`ode: t0 and t1 must be finite, got t0 = ${t0}, t1 = ${t1}`);
  if (t1 < t0) fail(`ode: t1 (${t1}) is before t0 (${t0}); only forward integration is supported`);
  assertFiniteArray(y0, 'ode: initial state y0');
  const rtol = opts.rtol ?? 1e-8;
  if (!(Number.isFinite(rtol) && rtol > 0)) fail(`ode: rtol must be a positive finite number, got ${rtol}`);
  if (rtol < RTOL_FLOOR) fail(`ode: rtol = ${rtol} is below what double precision resolves (error estimates are round-off there); use rtol >= ${RTOL_FLOOR}`);
  positive(opts.h0, 'h0');
  positive(opts.hmax, 'hmax');
  positive(opts.dt, 'dt');
  const n = y0.length;
  let atol: Float64Array;
  if (opts.atol === undefined) {
    // relative to the initial scale: inits are often ~1e-6, where a fixed atol would swamp the solution
    let yMax = 0;
    for (let i = 0; i < n; i++) yMax = Math.max(yMax, Math.abs(y0[i]));
    atol = new Float64Array(n).fill(rtol * 1e-3 * Math.max(yMax, 1e-300));
  } else if (typeof opts.atol === 'number') {
    if (!(Number.isFinite(opts.atol) && opts.atol >= 0)) fail(`ode: atol must be a non-negative finite number, got ${opts.atol}`);
    atol = new Float64Array(n).fill(opts.atol);
  } else {
    if (opts.atol.length !== n) fail(`ode: atol has ${opts.atol.length} components but the state has ${n}`);
    for (let i = 0; i < n; i++) {
      if (!(Number.isFinite(opts.atol[i]) && opts.atol[i] >= 0)) fail(`ode: atol[${i}] must be non-negative and finite, got ${opts.atol[i]}`);
    }
    atol = opts.atol.slice();
  }
  if (opts.maxSteps !== undefined && !(Number.isInteger(opts.maxSteps) && opts.maxSteps > 0)) {
    fail(`ode: maxSteps must be a positive integer, got ${opts.maxSteps}`);
  }
  if (opts.maxStoredValues !== undefined && !(Number.isInteger(opts.maxStoredValues) && opts.maxStoredValues > 0)) {
    fail(`ode: maxStoredValues must be a positive integer, got ${opts.maxStoredValues}`);
  }
  if (opts.tEval) {
    let prev = -Infinity;
    for (const te of opts.tEval) {
      if (!(Number.isFinite(te) && te >= t0 && te <= t1)) fail(`ode: tEval time ${te} is outside [${t0}, ${t1}]`);
      if (te < prev) fail('ode: tEval times must be in non-decreasing order');
      prev = te;
    }
  }
  const denseNeeded = (opts.dense ?? true) || (opts.events?.length ?? 0) > 0 || (opts.tEval ?? []).some((te) => te > t0 && te < t1);
  return { rtol, atol, h0: opts.h0, hmax: opts.hmax ?? t1 - t0, dt: opts.dt, denseNeeded };
}

function isFiniteVec(y: Float64Array): boolean {
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) return false;
  return true;
}

/** The step budget of a run that sets no maxSteps. */
export const DEFAULT_MAX_STEPS = 1e6;

export function integrate(method: OdeMethod, rhs: OdeRhs, t0: number, y0: Float64Array, t1: number, opts: OdeOptions = {}): OdeSolution {
  const cfg = resolveConfig(method, t0, y0, t1, opts);
  const n = y0.length;
  let fevals = 0;
  const f: OdeRhs = (t, y, dydt) => {
    fevals++;
    rhs(t, y, dydt);
  };
  const yInit = y0.slice();
  const f0 = new Float64Array(n);
  f(t0, yInit, f0);
  const tracker = new EventTracker(opts.events ?? [], t0, yInit);
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  // a fixed step's count is known before the first one: refuse at once instead of failing after a million steps
  if (cfg.dt !== undefined && Math.ceil((t1 - t0) / cfg.dt - 1e-9) > maxSteps) {
    throw new GradflowError(`ode (${method}): the fixed step dt = ${cfg.dt} over [${t0}, ${t1}] is ${((t1 - t0) / cfg.dt).toPrecision(3)} steps, more than maxSteps = ${maxSteps}; give a larger dt or raise maxSteps`);
  }
  const tEval = opts.tEval;
  const saveSteps = opts.saveSteps ?? !tEval;
  const budget = new StorageBudget(opts.maxStoredValues ?? DEFAULT_MAX_STORED, `ode (${method})`);
  const stored = new FlatRecords(n, budget);
  const tOut: number[] = [];
  const evalOut: Float64Array[] = [];
  const hits: OdeEventHit[] = [];
  const keep = (t: number, y: Float64Array): void => {
    tOut.push(t);
    const { buf, off } = stored.append();
    buf.set(y, off);
  };
  // with tEval the output is exactly those times (up to tEnd); a terminal event's state is in events[]
  let kEval = 0;
  if (tEval) {
    budget.take(tEval.length * n);
    while (kEval < tEval.length && tEval[kEval] <= t0) {
      tOut.push(tEval[kEval++]);
      evalOut.push(yInit.slice());
    }
  } else if (saveSteps) keep(t0, yInit);

  let status: OdeSolution['status'] = 'done';
  let steps = 0;
  let rejected = 0;
  let tEndReached = t0;
  let yEnd = yInit;
  let dense: DenseOutput | null = null;
  if (t1 > t0) {
    const stepper = STEPPERS[method](f, t0, yInit, f0, t1, cfg);
    if (opts.dense ?? true) dense = new DenseOutput(t0, yInit, budget, stepper.codec ?? hermiteCodec(n));
    // the state and slope at the current step's start (for the Hermite store)
    const yA = yInit.slice(), fA = f0.slice();
    let tNow = t0;
    let lastY: Float64Array = yInit;
    while (tNow < t1) {
      if (steps >= maxSteps) {
        throw new GradflowError(`ode (${method}): exceeded maxSteps = ${maxSteps} at t = ${tNow} of [${t0}, ${t1}]; raise maxSteps or loosen rtol`);
      }
      const step = stepper.step();
      steps++;
      lastY = step.yB;
      rejected = stepper.rejected;
      if (!isFiniteVec(step.yB)) throw new DivergenceError(`ode (${method}): state became non-finite at t = ${step.tB}`);
      if (dense) dense.append(step, undefined, step.tB, yA, fA);
      let tStop = step.tB;
      let yStop = step.yB;
      if (tracker.active) {
        const r = tracker.check(step.tA, step.tB, step.yB, step.interp);
        for (const hit of r.hits) hits.push(hit);
        if (r.terminal) {
          status = 'event';
          tStop = r.terminal.t;
          yStop = r.terminal.y;
        }
      }
      if (tEval) {
        while (kEval < tEval.length && tEval[kEval] <= tStop) {
          const te = tEval[kEval++];
          const ye = new Float64Array(n);
          if (te === step.tB) ye.set(step.yB);
          else step.interp(te, ye);
          tOut.push(te);
          evalOut.push(ye);
        }
      } else if (saveSteps) keep(tStop, yStop);
      tNow = tStop;
      if (status === 'event') {
        lastY = yStop;
        break;
      }
      if (opts.stopWhen && opts.stopWhen(step.tB, step.yB, step.fB)) {
        status = 'stopped';
        break;
      }
      yA.set(step.yB);
      fA.set(step.fB);
    }
    tEndReached = tNow;
    yEnd = lastY.slice();
    if (dense) dense.finish(tEndReached, yEnd);
  }

  const y: Float64Array[] = tEval ? evalOut : Array.from({ length: stored.count }, (_, k) => stored.view(k));
  const finalDense = dense;
  return {
    t: tOut,
    y,
    events: hits,
    dense: (t: number) => {
      if (finalDense) return finalDense.at(t);
      if (tEndReached === t0 && (opts.dense ?? true)) {
        if (t === t0) return yInit.slice();
        throw new GradflowError(`dense output requested at t = ${t}, outside the solved interval [${t0}, ${t0}]`);
      }
      throw new GradflowError(`ode (${method}): dense output was turned off (dense: false)`);
    },
    stats: { steps, rejected, fevals },
    status,
    tEnd: tEndReached,
    method,
  };
}
