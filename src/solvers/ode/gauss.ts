/**
 * Implicit Gauss–Legendre Runge–Kutta (2-stage order 4, and the 1-stage implicit
 * midpoint rule). Both are symplectic and conserve every quadratic invariant of
 * the flow, which is what conservation audits rely on; so the stage equations are
 * solved to machine precision and the state update uses compensated summation.
 */
import { DivergenceError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';
import { hermite, type Step, type StepConfig, type Stepper, type StepperFactory } from './dense.ts';
import { errorNorm, initialStep } from './dopri5.ts';

interface Tableau {
  c: number[];
  a: number[][];
  b: number[];
  order: number;
}

const R3 = Math.sqrt(3);
const GAUSS2: Tableau = {
  c: [0.5 - R3 / 6, 0.5 + R3 / 6],
  a: [
    [0.25, 0.25 - R3 / 6],
    [0.25 + R3 / 6, 0.25],
  ],
  b: [0.5, 0.5],
  order: 4,
};
const MIDPOINT: Tableau = { c: [0.5], a: [[0.5]], b: [1], order: 2 };

const EPS = Number.EPSILON;
const MAX_ITER = 100;

/**
 * Solves the stage equations Z_i = h Σ_j a_ij f(t + c_j h, y + Z_j) by fixed-point
 * iteration and writes the increment h Σ b_i F_i into inc. Returns false when the
 * iteration does not converge (the caller halves the step).
 */
function solveStages(f: OdeRhs, tab: Tableau, t: number, y: Float64Array, fy: Float64Array, h: number, inc: Float64Array): boolean {
  const n = y.length;
  const s = tab.c.length;
  const Z = tab.c.map((ci) => {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = ci * h * fy[i];
    return z;
  });
  const F = tab.c.map(() => new Float64Array(n));
  const Y = new Float64Array(n);
  let yMax = 0;
  for (let i = 0; i < n; i++) yMax = Math.max(yMax, Math.abs(y[i]));
  let dzPrev = Infinity;
  let polish = false;
  for (let iter = 0; iter <= MAX_ITER; iter++) {
    for (let j = 0; j < s; j++) {
      for (let i = 0; i < n; i++) Y[i] = y[i] + Z[j][i];
      f(t + tab.c[j] * h, Y, F[j]);
    }
    let dz = 0;
    let zMax = 0;
    for (let j = 0; j < s; j++) {
      const aj = tab.a[j];
      const zj = Z[j];
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let l = 0; l < s; l++) acc += aj[l] * F[l][i];
        const znew = h * acc;
        dz = Math.max(dz, Math.abs(znew - zj[i]));
        zMax = Math.max(zMax, Math.abs(znew));
        zj[i] = znew;
      }
    }
    if (!Number.isFinite(dz)) return false;
    const scale = Math.max(yMax, zMax, Number.MIN_VALUE);
    // a plateau a few ulps above the target is round-off, not failure to converge
    const converged = dz <= 4 * EPS * scale || (dz >= dzPrev && dz <= 1024 * EPS * scale);
    if (converged && !polish && dz > 0) {
      // The increment uses F at the previous iterate, so the invariant error per step is ~ h·|F|·dz,
      // with a consistent sign (4·eps·T over a run). One more sweep shrinks dz by the contraction factor.
      polish = true;
      continue;
    }
    if (converged || polish) {
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let l = 0; l < s; l++) acc += tab.b[l] * F[l][i];
        inc[i] = h * acc;
      }
      return true;
    }
    if (dz >= dzPrev && iter > 2) return false;
    dzPrev = dz;
  }
  return false;
}

/** y + inc with Kahan compensation c (the low-order bits lost so far); writes new y and c. */
function kahanAdd(y: Float64Array, c: Float64Array, inc: Float64Array, yOut: Float64Array, cOut: Float64Array): void {
  for (let i = 0; i < y.length; i++) {
    const d = inc[i] - c[i];
    const sum = y[i] + d;
    cOut[i] = sum - y[i] - d;
    yOut[i] = sum;
  }
}

function gaussFactory(tab: Tableau, name: string): StepperFactory {
  return (f: OdeRhs, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper => {
    const n = y0.length;
    const p = tab.order;
    let t = t0;
    let y: Float64Array = y0.slice();
    let comp: Float64Array = new Float64Array(n);
    let fy: Float64Array = f0.slice();
    let rejected = 0;
    const pending: Step[] = [];
    const inc = new Float64Array(n);
    const { dt, hmax } = cfg;
    const nFixed = dt !== undefined ? Math.max(1, Math.ceil((t1 - t0) / dt - 1e-9)) : 0;
    let kFixed = 0;
    let target = t0;
    let hSub = 0;
    let h = dt ?? cfg.h0 ?? initialStep(f, t0, y0, f0, p, cfg, t1 - t0);

    const tooSmall = (hh: number): void => {
      if (!(hh > 16 * EPS * Math.abs(t)) || !(hh > 0)) {
        throw new DivergenceError(`${name}: step size underflow at t = ${t} (stage equations do not converge; solution likely blows up)`);
      }
    };

    /** Makes a step record and advances the internal state (arrays are never mutated afterwards). */
    const advance = (tB: number, yB: Float64Array, cB: Float64Array, fB: Float64Array): Step => {
      const step: Step = { tA: t, tB, yB, fB, interp: hermite(t, y, fy, tB, yB, fB) };
      t = tB;
      y = yB;
      comp = cB;
      fy = fB;
      return step;
    };

    const fixedStep = (): Step => {
      if (t === target) {
        kFixed++;
        target = kFixed >= nFixed ? t1 : t0 + kFixed * (dt as number);
        hSub = target - t;
      }
      for (;;) {
        const rest = target - t;
        const hh = Math.min(hSub, rest);
        tooSmall(hh);
        if (!solveStages(f, tab, t, y, fy, hh, inc)) {
          hSub = hh / 2;
          rejected++;
          continue;
        }
        const tB = hh === rest ? target : t + hh;
        const yB = new Float64Array(n), cB = new Float64Array(n), fB = new Float64Array(n);
        kahanAdd(y, comp, inc, yB, cB);
        f(tB, yB, fB);
        return advance(tB, yB, cB, fB);
      }
    };

    const adaptiveStep = (): Step => {
      const yFull = new Float64Array(n), err = new Float64Array(n);
      for (;;) {
        h = Math.min(h, hmax);
        const last = t + 1.01 * h >= t1;
        if (last) h = t1 - t;
        tooSmall(h);
        const tB = last ? t1 : t + h;
        const tM = t + 0.5 * h;
        if (!solveStages(f, tab, t, y, fy, h, inc)) {
          h *= 0.5;
          rejected++;
          continue;
        }
        for (let i = 0; i < n; i++) yFull[i] = y[i] + inc[i];
        if (!solveStages(f, tab, t, y, fy, 0.5 * h, inc)) {
          h *= 0.5;
          rejected++;
          continue;
        }
        const yM = new Float64Array(n), cM = new Float64Array(n), fM = new Float64Array(n);
        kahanAdd(y, comp, inc, yM, cM);
        f(tM, yM, fM);
        if (!solveStages(f, tab, tM, yM, fM, tB - tM, inc)) {
          h *= 0.5;
          rejected++;
          continue;
        }
        const yB = new Float64Array(n), cB = new Float64Array(n);
        kahanAdd(yM, cM, inc, yB, cB);
        // Richardson: the two half steps err by about (full − halves)/(2^p − 1)
        const denom = 2 ** p - 1;
        for (let i = 0; i < n; i++) err[i] = (yFull[i] - yB[i]) / denom;
        const e = errorNorm(err, y, yB, cfg.rtol, cfg.atol);
        if (!Number.isFinite(e)) {
          h *= 0.1;
          rejected++;
          continue;
        }
        const fac = Math.min(5, Math.max(0.2, 0.9 * (e === 0 ? Infinity : e ** (-1 / (p + 1)))));
        if (e > 1) {
          h *= Math.min(fac, 0.9);
          rejected++;
          continue;
        }
        const fB = new Float64Array(n);
        f(tB, yB, fB);
        // report the halves as separate steps: the Hermite dense output then also interpolates through yM
        const first = advance(tM, yM, cM, fM);
        pending.push(advance(tB, yB, cB, fB));
        h *= fac;
        return first;
      }
    };

    return {
      get rejected() {
        return rejected;
      },
      step(): Step {
        const queued = pending.shift();
        if (queued) return queued;
        return dt !== undefined ? fixedStep() : adaptiveStep();
      },
    };
  };
}

export const gauss4Stepper = gaussFactory(GAUSS2, 'gauss4');
export const midpointStepper = gaussFactory(MIDPOINT, 'midpoint');
