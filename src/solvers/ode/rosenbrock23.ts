/**
 * The L-stable Rosenbrock pair of Shampine & Reichelt ("The MATLAB ODE Suite", SIAM J. Sci.
 * Comput. 18, 1997; MATLAB's ode23s), for autonomous y' = f(y): order 2, with a third-order
 * error estimate and the method's own second-order continuous extension.
 *
 *   W = I − h·d·J, d = 1/(2 + √2), e32 = 6 + √2
 *   k1 = W⁻¹ f(y₀)
 *   k2 = W⁻¹ (f(y₀ + h k1/2) − k1) + k1,  y₁ = y₀ + h k2
 *   k3 = W⁻¹ (f(y₁) − e32 (k2 − f(y₀ + h k1/2)) − 2 (k1 − f(y₀)))
 *   error ≈ h (k1 − 2 k2 + k3)/6
 *   y(t₀ + s h) = y₀ + h (s(1 − s) k1 + s(s − 2d) k2)/(1 − 2d)
 *
 * Why here: a gradient flow near a minimum whose Hessian spans many decades (relu AGF fits:
 * eigenvalues 5e-7 … 67) is stiff for an explicit method, whose step is held at ~3/λ_max for the
 * whole slow relaxation (tens of thousands of steps). L-stability lets the step follow the slow
 * modes alone. The Jacobian is the caller's. The second-order solution keeps its order with any
 * matrix in W (a W-method: checked, the global error falls 4× per halved step with J, J/2 and
 * 0 in W), so J is kept across steps — formed again after REUSE accepted steps, or when a step
 * is rejected with an old J (the error estimate and the stiff damping rely on a good one).
 */
import { DivergenceError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';
import type { DenseCodec, Step, StepConfig, Stepper } from './dense.ts';
import { errorNorm, initialStep } from './dopri5.ts';

/** Writes ∂f/∂y at y (row-major n×n) into out; f(y) is given (fy) for one-sided differences. */
export type OdeJacobian = (t: number, y: Float64Array, fy: Float64Array, out: Float64Array) => void;

const D = 1 / (2 + Math.SQRT2);
/** Accepted steps one Jacobian serves. */
const REUSE = 20;
const E32 = 6 + Math.SQRT2;

/** LU with partial pivoting in place (row-major); false when a pivot is exactly zero. */
function luFactor(A: Float64Array, piv: Int32Array, n: number): boolean {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[p * n + c])) p = r;
    piv[c] = p;
    if (A[p * n + c] === 0 || !Number.isFinite(A[p * n + c])) return false;
    if (p !== c) for (let k = 0; k < n; k++) { const v = A[c * n + k]; A[c * n + k] = A[p * n + k]; A[p * n + k] = v; }
    const inv = 1 / A[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c] * inv;
      A[r * n + c] = f;
      if (f !== 0) for (let k = c + 1; k < n; k++) A[r * n + k] -= f * A[c * n + k];
    }
  }
  return true;
}

/** Solves with luFactor's result in place: the row swaps first (whole rows were swapped, multipliers too), then L, then U. */
function luSolve(A: Float64Array, piv: Int32Array, n: number, x: Float64Array): void {
  for (let c = 0; c < n; c++) {
    const p = piv[c];
    if (p !== c) { const v = x[c]; x[c] = x[p]; x[p] = v; }
  }
  for (let c = 0; c < n; c++) for (let r = c + 1; r < n; r++) x[r] -= A[r * n + c] * x[c];
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < n; k++) s -= A[c * n + k] * x[k];
    x[c] = s / A[c * n + c];
  }
}

export function rosenbrock23Stepper(f: OdeRhs, jac: OdeJacobian, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper {
  const n = y0.length;
  const { rtol, atol, hmax } = cfg;
  let t = t0;
  // y/fy: state and slope at the step start; yNew/fNew the trial end (swapped on acceptance, so
  // the accepted step's start stays readable for its extension until the next step() call)
  let y: Float64Array = y0.slice();
  let fy: Float64Array = f0.slice();
  let yNew: Float64Array = new Float64Array(n);
  let fNew: Float64Array = new Float64Array(n);
  const J = new Float64Array(n * n), W = new Float64Array(n * n), piv = new Int32Array(n);
  const k1 = new Float64Array(n), k2 = new Float64Array(n), k3 = new Float64Array(n);
  const f1 = new Float64Array(n), ys = new Float64Array(n), err = new Float64Array(n);
  // the accepted step's k1, k2 (for its extension)
  const e1 = new Float64Array(n), e2 = new Float64Array(n);
  let h = cfg.h0 ?? initialStep(f, t0, y0, f0, 2, cfg, t1 - t0);
  let rejected = 0;
  let jacAge = Infinity; // accepted steps since J was formed (0: at the current y)
  let hStep = 0;
  const step: Step = {
    tA: t0,
    tB: t0,
    yB: y,
    fB: fy,
    interp: (tq, out) => {
      const s = (tq - step.tA) / hStep;
      const c1 = (s * (1 - s)) / (1 - 2 * D), c2 = (s * (s - 2 * D)) / (1 - 2 * D);
      // after acceptance the step's start lives in yNew (swapped)
      for (let i = 0; i < n; i++) out[i] = yNew[i] + hStep * (c1 * e1[i] + c2 * e2[i]);
    },
  };
  // stored extension: [y₀, h·k1, h·k2] of each step
  const codec: DenseCodec = {
    width: 3 * n,
    write(out, off) {
      out.set(yNew, off);
      for (let i = 0; i < n; i++) { out[off + n + i] = hStep * e1[i]; out[off + 2 * n + i] = hStep * e2[i]; }
    },
    evaluate(buf, off, tA, tB, tq, out) {
      const s = (tq - tA) / (tB - tA);
      const c1 = (s * (1 - s)) / (1 - 2 * D), c2 = (s * (s - 2 * D)) / (1 - 2 * D);
      for (let i = 0; i < n; i++) out[i] = buf[off + i] + c1 * buf[off + n + i] + c2 * buf[off + 2 * n + i];
    },
  };
  return {
    get rejected() {
      return rejected;
    },
    codec,
    step(): Step {
      if (jacAge >= REUSE) { jac(t, y, fy, J); jacAge = 0; }
      for (;;) {
        h = Math.min(h, hmax);
        const last = t + 1.01 * h >= t1;
        if (last) h = t1 - t;
        if (!(h > 16 * Number.EPSILON * Math.abs(t)) || !(h > 0)) throw new DivergenceError(`rosenbrock23: step size underflow at t = ${t} (solution likely blows up)`);
        const tNew = last ? t1 : t + h;
        for (let q = 0; q < n * n; q++) W[q] = -h * D * J[q];
        for (let i = 0; i < n; i++) W[i * n + i] += 1;
        if (!luFactor(W, piv, n)) { h *= 0.5; rejected++; continue; }
        k1.set(fy);
        luSolve(W, piv, n, k1);
        for (let i = 0; i < n; i++) ys[i] = y[i] + 0.5 * h * k1[i];
        f(t + 0.5 * h, ys, f1);
        for (let i = 0; i < n; i++) k2[i] = f1[i] - k1[i];
        luSolve(W, piv, n, k2);
        for (let i = 0; i < n; i++) { k2[i] += k1[i]; yNew[i] = y[i] + h * k2[i]; }
        f(tNew, yNew, fNew);
        for (let i = 0; i < n; i++) k3[i] = fNew[i] - E32 * (k2[i] - f1[i]) - 2 * (k1[i] - fy[i]);
        luSolve(W, piv, n, k3);
        for (let i = 0; i < n; i++) err[i] = (h / 6) * (k1[i] - 2 * k2[i] + k3[i]);
        const e = errorNorm(err, y, yNew, rtol, atol);
        if (!Number.isFinite(e)) { h *= 0.1; rejected++; continue; }
        if (e <= 1) {
          step.tA = t;
          step.tB = tNew;
          hStep = h;
          e1.set(k1);
          e2.set(k2);
          t = tNew;
          [y, yNew] = [yNew, y];
          [fy, fNew] = [fNew, fy];
          step.yB = y;
          step.fB = fy;
          jacAge++;
          h *= Math.min(5, 0.8 * Math.max(e, 1e-12) ** (-1 / 3));
          return step;
        }
        h *= Math.max(0.2, 0.8 * e ** (-1 / 3));
        rejected++;
        if (jacAge > 0) { jac(t, y, fy, J); jacAge = 0; }
      }
    },
  };
}
