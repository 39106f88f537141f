/**
 * Event detection shared by all integrators: sign changes of g between accepted
 * steps, located on that step's continuous extension so that the event time is
 * as accurate as the interpolant, not as coarse as the step.
 */
import type { OdeEvent, OdeEventHit } from './types.ts';
import type { Interpolant } from './dense.ts';

const EPS = Number.EPSILON;

/** Brent's zeroin on [a, b] where fa, fb bracket a root. */
export function brentRoot(fn: (t: number) => number, a: number, b: number, fa: number, fb: number, xtol: number): number {
  if (fa === 0) return a;
  if (fb === 0) return b;
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iter = 0; iter < 200; iter++) {
    if (Math.sign(fb) === Math.sign(fc)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol = 2 * EPS * Math.abs(b) + 0.5 * xtol;
    const m = 0.5 * (c - b);
    if (Math.abs(m) <= tol || fb === 0) return b;
    if (Math.abs(e) >= tol && Math.abs(fa) > Math.abs(fb)) {
      // inverse quadratic (or secant) step, kept only if it stays well inside the bracket
      const s = fb / fa;
      let p: number;
      let q: number;
      if (a === c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        const qq = fa / fc;
        const r = fb / fc;
        p = s * (2 * m * qq * (qq - r) - (b - a) * (r - 1));
        q = (qq - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * m * q - Math.abs(tol * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = m;
      }
    } else {
      d = m;
      e = m;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol ? d : m > 0 ? tol : -tol;
    fb = fn(b);
  }
  return b;
}

export interface EventCheck {
  hits: OdeEventHit[];
  /** Earliest terminal hit in this step, if any; hits after it are already dropped. */
  terminal: OdeEventHit | null;
}

const NO_HITS: EventCheck = { hits: [], terminal: null };

export class EventTracker {
  private readonly gPrev: number[];
  private readonly gNow: number[];
  private readonly yTmp: Float64Array;

  constructor(
    private readonly events: OdeEvent[],
    t0: number,
    y0: Float64Array,
  ) {
    this.gPrev = events.map((ev) => ev.g(t0, y0));
    this.gNow = this.gPrev.slice();
    this.yTmp = new Float64Array(y0.length);
  }

  get active(): boolean {
    return this.events.length > 0;
  }

  private crosses(k: number, gA: number, gB: number): boolean {
    // a zero at the step start was reported already (or is the initial point), so it needs a strict sign on the left
    const up = gA < 0 && gB >= 0;
    const down = gA > 0 && gB <= 0;
    const dir = this.events[k].direction ?? 0;
    return (up && dir !== -1) || (down && dir !== 1);
  }

  /**
   * Call once per accepted step [tA, tB] with its end state and interpolant (both may be the
   * integrator's buffers; hits get their own copies). No allocation unless an event fires.
   */
  check(tA: number, tB: number, yB: Float64Array, interp: Interpolant): EventCheck {
    const nEv = this.events.length;
    let any = false;
    for (let k = 0; k < nEv; k++) {
      this.gNow[k] = this.events[k].g(tB, yB);
      if (this.crosses(k, this.gPrev[k], this.gNow[k])) any = true;
    }
    if (!any) {
      for (let k = 0; k < nEv; k++) this.gPrev[k] = this.gNow[k];
      return NO_HITS;
    }
    const found: { hit: OdeEventHit; terminal: boolean }[] = [];
    const yTmp = this.yTmp;
    const xtol = 4 * EPS * Math.max(Math.abs(tA), Math.abs(tB), tB - tA);
    for (let k = 0; k < nEv; k++) {
      const ev = this.events[k];
      const gA = this.gPrev[k];
      const gB = this.gNow[k];
      this.gPrev[k] = gB;
      if (!this.crosses(k, gA, gB)) continue;
      const gOf = (t: number): number => {
        if (t === tB) return gB;
        interp(t, yTmp);
        return ev.g(t, yTmp);
      };
      const te = brentRoot(gOf, tA, tB, gA, gB, xtol);
      let ye: Float64Array;
      if (te === tB) ye = yB.slice();
      else {
        ye = new Float64Array(yB.length);
        interp(te, ye);
      }
      found.push({ hit: { name: ev.name, t: te, y: ye }, terminal: ev.terminal === true });
    }
    found.sort((p, q) => p.hit.t - q.hit.t);
    const iTerm = found.findIndex((x) => x.terminal);
    if (iTerm < 0) return { hits: found.map((x) => x.hit), terminal: null };
    const tTerm = found[iTerm].hit.t;
    return { hits: found.filter((x) => x.hit.t <= tTerm).map((x) => x.hit), terminal: found[iTerm].hit };
  }
}
