/**
 * The ODE layer is model-agnostic: a right-hand side over Float64Array and options.
 * Every integrator returns the same OdeSolution so they are interchangeable.
 */
export type OdeRhs = (t: number, y: Float64Array, dydt: Float64Array) => void;

export interface OdeEvent {
  name: string;
  /** Event function; an event fires where g changes sign between accepted steps, located on the dense output. */
  g: (t: number, y: Float64Array) => number;
  /** +1: only upward crossings, -1: only downward, 0 (default): both. */
  direction?: 1 | -1 | 0;
  /** Stop the integration at this event. */
  terminal?: boolean;
}

export interface OdeOptions {
  /** Relative tolerance (per component). */
  rtol?: number;
  /** Absolute tolerance (scalar or per component). Must sit far below the state's scale (small inits!). */
  atol?: number | Float64Array;
  /** Initial step; chosen automatically when absent. */
  h0?: number;
  hmax?: number;
  /** Fixed step size (disables adaptivity) where the method supports it. */
  dt?: number;
  maxSteps?: number;
  events?: OdeEvent[];
  /** Store the solution exactly at these times (from dense output) instead of at every accepted step. */
  tEval?: number[];
  /** Store the state at every accepted step (default: only when tEval is absent). */
  saveSteps?: boolean;
  /**
   * Keep the continuous extension over the whole interval for sol.dense(t) (default true, as
   * callers of integrate expect; false for a lean run: events and tEval work without it).
   */
  dense?: boolean;
  /** Cap on the doubles stored (states + dense output, default 2^23 = 64 MiB); past it the run fails with a message. */
  maxStoredValues?: number;
  /**
   * Checked after each accepted step; returning true stops the integration with status 'stopped'.
   * y and dydt are the integrator's buffers: read them, do not keep them.
   */
  stopWhen?: (t: number, y: Float64Array, dydt: Float64Array) => boolean;
}

export interface OdeEventHit {
  name: string;
  t: number;
  y: Float64Array;
}

export interface OdeSolution {
  /** Stored times (accepted steps, or tEval points) including t0 and the final time. */
  t: number[];
  y: Float64Array[];
  events: OdeEventHit[];
  /** Continuous extension over [t[0], tEnd]; throws when the run turned it off (dense: false). */
  dense(t: number): Float64Array;
  stats: { steps: number; rejected: number; fevals: number };
  status: 'done' | 'event' | 'stopped';
  tEnd: number;
  method: OdeMethod;
}

export type OdeMethod = 'dopri5' | 'dop853' | 'gbs' | 'gauss4' | 'midpoint' | 'rk4' | 'rkc';
