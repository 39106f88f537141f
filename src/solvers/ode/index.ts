/**
 * Entry point of the ODE layer: validates options, runs a method's stepper, and
 * applies the method-independent parts (storage, tEval, events, stopWhen,
 * divergence and step-count checks) identically for every method.
 */
import { DivergenceError, GradflowError, assertFiniteArray } from '../../util/errors.ts';
import type { OdeEventHit, OdeMethod, OdeOptions, OdeRhs, OdeSolution } from './types.ts';
import { DenseOutput, type StepConfig, type StepperFactory } from './dense.ts';
import { EventTracker } from './events.ts';
import { dopri5Stepper } from './dopri5.ts';
import { gauss4Stepper, midpointStepper } from './gauss.ts';
import { rk4Stepper } from './rk4.ts';

export type { OdeEvent, OdeEventHit, OdeMethod, OdeOptions, OdeRhs, OdeSolution } from './types.ts';

const STEPPERS: Record<OdeMethod, StepperFactory> = {
  dopri5: dopri5Stepper,
  gauss4: gauss4Stepper,
  midpoint: midpointStepper,
  rk4: rk4Stepper,
};

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
  if (opts.tEval) {
    let prev = -Infinity;
    for (const te of opts.tEval) {
      if (!(Number.isFinite(te) && te >= t0 && te <= t1)) fail(`ode: tEval time ${te} is outside [${t0}, ${t1}]`);
      if (te < prev) fail('ode: tEval times must be in non-decreasing order');
      prev = te;
    }
  }
  return { rtol, atol, h0: opts.h0, hmax: opts.hmax ?? t1 - t0, dt: opts.dt };
}

function isFiniteVec(y: Float64Array): boolean {
  for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) return false;
  return true;
}

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
  const dense = new DenseOutput(t0, yInit.slice());
  const tracker = new EventTracker(opts.events ?? [], t0, yInit);
  const maxSteps = opts.maxSteps ?? 1e6;
  const tEval = opts.tEval;
  const tOut: number[] = [];
  const yOut: Float64Array[] = [];
  const hits: OdeEventHit[] = [];
  let kEval = 0;
  const storeEvalUpTo = (tMax: number): void => {
    if (!tEval) return;
    while (kEval < tEval.length && tEval[kEval] <= tMax) {
      tOut.push(tEval[kEval]);
      yOut.push(dense.at(tEval[kEval]));
      kEval++;
    }
  };
  // with tEval the output is exactly those times (up to tEnd); a terminal event's state is in events[]
  if (tEval) storeEvalUpTo(t0);
  else {
    tOut.push(t0);
    yOut.push(yInit.slice());
  }

  let status: OdeSolution['status'] = 'done';
  let steps = 0;
  let rejected = 0;
  if (t1 > t0) {
    const stepper = STEPPERS[method](f, t0, yInit, f0, t1, cfg);
    while (dense.tEnd < t1) {
      if (steps >= maxSteps) {
        throw new GradflowError(`ode (${method}): exceeded maxSteps = ${maxSteps} at t = ${dense.tEnd} of [${t0}, ${t1}]; raise maxSteps or loosen rtol`);
      }
      const step = stepper.step();
      steps++;
      rejected = stepper.rejected;
      if (!isFiniteVec(step.yB)) throw new DivergenceError(`ode (${method}): state became non-finite at t = ${step.tB}`);
      dense.append(step.tB, step.yB.slice(), step.interp);
      let tStop = step.tB;
      let yStop = step.yB;
      if (tracker.active) {
        const r = tracker.check(step.tA, step.tB, step.yB, step.interp);
        hits.push(...r.hits);
        if (r.terminal) {
          status = 'event';
          tStop = r.terminal.t;
          yStop = r.terminal.y.slice();
          dense.truncate(tStop, yStop.slice());
        }
      }
      if (tEval) storeEvalUpTo(tStop);
      else {
        tOut.push(tStop);
        yOut.push(yStop);
      }
      if (status === 'event') break;
      if (opts.stopWhen && opts.stopWhen(step.tB, step.yB.slice(), step.fB.slice())) {
        status = 'stopped';
        break;
      }
    }
  }

  return {
    t: tOut,
    y: yOut,
    events: hits,
    dense: (t: number) => dense.at(t),
    stats: { steps, rejected, fevals },
    status,
    tEnd: dense.tEnd,
    method,
  };
}
