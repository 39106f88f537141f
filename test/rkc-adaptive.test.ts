/**
 * RKC2 with error control (src/solvers/rkc-adaptive.ts) against independent references:
 * dopri5 at a tolerance far below the one asked (a second solver), the fixed-step RKC with a
 * mask (the same masked flow, another step rule), and the least-squares solution (normal
 * equations) where the flow converges to it. Conventions: loss (1/2n)Σ‖y − f‖², flow time.
 */
import { describe, expect, it } from 'vitest';
import { modularProblem } from '../models/modular.ts';
import { parseSpectrum } from '../models/modular-data.ts';
import { diagonal } from '../models/diagonal.ts';
import { createProblem } from '../src/problem.ts';
import { solveFlowRkcAdaptive } from '../src/solvers/rkc-adaptive.ts';
import { solveFlowRkc } from '../src/solvers/rkc-flow.ts';
import { solveFlow } from '../src/solvers/flow.ts';

function relDiff(a: Float64Array, b: Float64Array): number {
  let d = 0, s = 0;
  for (let q = 0; q < a.length; q++) { d += (a[q] - b[q]) ** 2; s += b[q] ** 2; }
  return Math.sqrt(d / s);
}

describe('adaptive RKC gradient flow', () => {
  // p = 11, H = 9, α = 1e-2: stiff (the fixed step 0.1 blows up near t = 10, see modular.test.ts)
  const pr = modularProblem({ p: 11, H: 9, alpha: 1e-2, spectrum: parseSpectrum('1:10,3:5'), initSeed: 0 });
  const ref = solveFlow(pr, { tEnd: 10, rtol: 1e-11, tEval: [10], dense: false });
  const thRef = ref.states[ref.states.length - 1];

  it('converges to dopri5 (rtol 1e-11) at t = 10 as its tolerance shrinks', () => {
    const errs: number[] = [];
    for (const rtol of [1e-3, 1e-5, 1e-7]) {
      const r = solveFlowRkcAdaptive(pr, { tEnd: 10, rtol });
      expect(r.stop).toBe('tEnd');
      expect(r.t).toBeCloseTo(10, 12);
      errs.push(relDiff(r.theta, thRef));
      console.log(`rtol ${rtol}: ${r.steps} steps (${r.rejected} rejected), ${r.gradEvals} gradients, ≤ ${r.maxStages} stages; ‖θ − θ_dopri5‖/‖θ‖ = ${errs.at(-1)!.toExponential(2)}`);
    }
    // the control is per step and the escape from the saddle amplifies early errors, so the
    // global error is well above rtol (≈0.1 at 1e-3, dopri5's 1e-3); what must hold is convergence
    expect(errs[0]).toBeLessThan(0.3);
    expect(errs[1]).toBeLessThan(errs[0] / 10);
    expect(errs[2]).toBeLessThan(errs[1] / 10);
    expect(errs[2]).toBeLessThan(1e-3);
  });

  it('with a mask: the other neurons stay where they are and the moving ones follow the fixed-step RKC', () => {
    const mask = new Uint8Array(9);
    mask[0] = mask[3] = mask[4] = 1;
    const P = pr.layout.P;
    const start = pr.theta0.map((x) => 30 * x);
    const a = solveFlowRkcAdaptive(pr, { tEnd: 4, rtol: 1e-7, mask, theta0: start });
    const b = solveFlowRkc(pr, { tEnd: 4, dt: 0.0025, mask, theta0: start, finalOnly: true });
    for (let i = 0; i < 9; i++) if (!mask[i]) for (let q = i * P; q < (i + 1) * P; q++) expect(a.theta[q]).toBe(start[q]);
    const d = relDiff(a.theta, b.states[0]);
    console.log(`masked (3 of 9 neurons), t = 4: adaptive vs fixed dt 0.0025 ${d.toExponential(2)}; loss ${a.loss.toPrecision(8)}`);
    expect(d).toBeLessThan(1e-4);
  });

  it('stops at a critical point: ‖∇L‖ ≤ gtol at the least-squares solution (normal equations)', () => {
    const p = createProblem(diagonal, { dims: { d: 5 }, alpha: 0.1, seed: 2, options: { n: 40 } });
    const gtol = 1e-10;
    const r = solveFlowRkcAdaptive(p, { tEnd: 1e6, rtol: 1e-8, gtol });
    expect(r.stop).toBe('gtol');
    expect(r.gradNorm).toBeLessThanOrEqual(gtol);
    expect(r.t).toBeLessThan(1e6);
    // β = u∘v against (XᵀX)⁻¹Xᵀy by Gaussian elimination
    const { X, Y, n } = p.data;
    const d = 5;
    const A = Array.from({ length: d }, (_, i) => Array.from({ length: d + 1 }, (_, j) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += X[k * d + i] * (j < d ? X[k * d + j] : Y[k]);
      return s;
    }));
    for (let c = 0; c < d; c++) for (let r2 = c + 1; r2 < d; r2++) { const f = A[r2][c] / A[c][c]; for (let j = c; j <= d; j++) A[r2][j] -= f * A[c][j]; }
    const beta = new Array<number>(d).fill(0);
    for (let i = d - 1; i >= 0; i--) { let s = A[i][d]; for (let j = i + 1; j < d; j++) s -= A[i][j] * beta[j]; beta[i] = s / A[i][i]; }
    const P = p.layout.P;
    for (let i = 0; i < d; i++) expect(r.theta[i * P] * r.theta[i * P + 1]).toBeCloseTo(beta[i], 7);
    console.log(`diagonal d = 5, α = 0.1: critical point at t = ${r.t.toPrecision(4)} after ${r.steps} steps, loss ${r.loss.toExponential(2)}`);
  });

  it('rejects what it cannot integrate', () => {
    expect(() => solveFlowRkcAdaptive(pr, { tEnd: -1, rtol: 1e-3 })).toThrow(/end time must be non-negative/);
    expect(() => solveFlowRkcAdaptive(pr, { tEnd: 1, rtol: 0 })).toThrow(/tolerances must be positive/);
    expect(() => solveFlowRkcAdaptive(pr, { tEnd: 1, rtol: Number.NaN })).toThrow(/tolerances must be positive/);
    const r = solveFlowRkcAdaptive(pr, { tEnd: 100, rtol: 1e-6, maxSteps: 5 });
    expect(r.stop).toBe('maxSteps');
    expect(r.steps + r.rejected).toBe(5);
  });
});
