/**
 * The L-stable Rosenbrock pair (src/solvers/ode/rosenbrock23.ts) against closed forms, and the
 * stiff relu flow (solveReluFlow { stiff: true }) against the dopri5 relu flow.
 */
import { describe, expect, it } from 'vitest';
import { rosenbrock23Stepper, type OdeJacobian } from '../src/solvers/ode/rosenbrock23.ts';
import type { OdeRhs } from '../src/solvers/ode/types.ts';
import { relu } from '../models/relu.ts';
import { createProblem } from '../src/problem.ts';
import { solveReluFlow } from '../src/solvers/relu-flow.ts';

function run(f: OdeRhs, jac: OdeJacobian, y0: number[], t1: number, o: { rtol?: number; h?: number; mid?: (t: number, y: Float64Array) => void }): { y: Float64Array; steps: number } {
  const y = Float64Array.from(y0), f0 = new Float64Array(y.length);
  f(0, y, f0);
  const rtol = o.rtol ?? 1e10;
  const st = rosenbrock23Stepper(f, jac, 0, y, f0, t1, { rtol, atol: new Float64Array(y.length).fill(o.rtol ? rtol * 1e-3 : 1e10), hmax: o.h ?? t1, ...(o.h ? { h0: o.h } : {}) });
  let s, steps = 0;
  const buf = new Float64Array(y.length);
  do {
    s = st.step();
    steps++;
    if (o.mid) { const tm = 0.5 * (s.tA + s.tB); s.interp(tm, buf); o.mid(tm, buf); }
  } while (s.tB < t1);
  return { y: s.yB.slice(), steps };
}

describe('rosenbrock23: order 2 with any W (a W-method), L-stable, adaptive to the tolerance', () => {
  // y₁' = −y₁² + 0.3 y₂, y₂' = −5 (y₂ − sin y₁): fixed steps h, 2h, 4h, the differences of the end
  // values fall by 2² = 4 per halving (Richardson) with the true J, J/2 and 0 in W
  const f: OdeRhs = (_t, y, d) => { d[0] = -y[0] * y[0] + 0.3 * y[1]; d[1] = -5 * (y[1] - Math.sin(y[0])); };
  for (const c of [1, 0.5, 0]) {
    it(`W built from ${c}·J: order 2`, () => {
      const jac: OdeJacobian = (_t, y, _f, J) => { J[0] = -2 * c * y[0]; J[1] = 0.3 * c; J[2] = 5 * c * Math.cos(y[0]); J[3] = -5 * c; };
      const e = [0.004, 0.002, 0.001].map((h) => run(f, jac, [1, 0], 2, { h }).y[0]);
      const ratio = (e[0] - e[1]) / (e[1] - e[2]);
      // 2² = 4 (order 1 gives 2, order 3 gives 8); not closer: J is formed every 20 steps, at
      // points that move with h, so the error constant drifts a little between the three runs
      expect(ratio).toBeGreaterThan(3.5);
      expect(ratio).toBeLessThan(4.6);
    });
  }

  it('y\' = −y², stiff y₂\' = −10⁴ (y₂ − y₁): y₁ = 1/(1 + t) to the tolerance; the step is not held at 2/10⁴ (L-stable)', () => {
    const g: OdeRhs = (_t, y, d) => { d[0] = -y[0] * y[0]; d[1] = -1e4 * (y[1] - y[0]); };
    const jac: OdeJacobian = (_t, y, _f, J) => { J[0] = -2 * y[0]; J[1] = 0; J[2] = 1e4; J[3] = -1e4; };
    for (const rtol of [1e-6, 1e-9]) {
      let worstMid = 0;
      const r = run(g, jac, [1, 0], 10, { rtol, mid: (t, y) => { worstMid = Math.max(worstMid, Math.abs(y[0] - 1 / (1 + t))); } });
      expect(Math.abs(r.y[0] - 1 / 11)).toBeLessThanOrEqual(100 * rtol);
      // y₂ follows y₁ with lag y₁'/10⁴: y₂ = y₁ + y₁²/10⁴ + O(10⁻⁸)
      expect(Math.abs(r.y[1] - (1 / 11 + 1 / 121 / 1e4))).toBeLessThanOrEqual(1e-8 + 100 * rtol);
      expect(r.steps).toBeLessThan(10 / (2 / 1e4) / 10);
      // the continuous extension at mid-steps, to the same order
      expect(worstMid).toBeLessThanOrEqual(1000 * rtol);
    }
  });

  it('a linear system with pivoting in W (non-symmetric, eigenvalues −100 … −0.01): matches the exact solution by eigen-decomposition', () => {
    // A = S Λ S⁻¹ with S = [[1, 2], [3, 1]]: y(t) = S e^{Λt} S⁻¹ y₀
    const lam = [-100, -0.01];
    const S = [[1, 2], [3, 1]], det = 1 - 6, Si = [[1 / det, -2 / det], [-3 / det, 1 / det]];
    const A = [0, 1].map((i) => [0, 1].map((j) => S[i][0] * lam[0] * Si[0][j] + S[i][1] * lam[1] * Si[1][j]));
    const f2: OdeRhs = (_t, y, d) => { d[0] = A[0][0] * y[0] + A[0][1] * y[1]; d[1] = A[1][0] * y[0] + A[1][1] * y[1]; };
    const jac: OdeJacobian = (_t, _y, _f, J) => J.set([A[0][0], A[0][1], A[1][0], A[1][1]]);
    const y0 = [1, -1], T = 50;
    const c = [Si[0][0] * y0[0] + Si[0][1] * y0[1], Si[1][0] * y0[0] + Si[1][1] * y0[1]].map((v, k) => v * Math.exp(lam[k] * T));
    const exact = [S[0][0] * c[0] + S[0][1] * c[1], S[1][0] * c[0] + S[1][1] * c[1]];
    const r = run(f2, jac, y0, T, { rtol: 1e-9 });
    for (let i = 0; i < 2; i++) expect(Math.abs(r.y[i] - exact[i])).toBeLessThanOrEqual(1e-6 * Math.abs(exact[i]));
  });
});

describe('relu flow with the stiff stepper: the same trajectory as dopri5 between the same kinks', () => {
  it('default cluster data, seed 2, α = 1e-4, t = 60 (kinks crossed and pinned): states to 1e-6 relative at rtol 1e-10, the same kink events', () => {
    const p = createProblem(relu, { alpha: 1e-4, seed: 2 });
    const a = solveReluFlow(p, { tEnd: 60, rtol: 1e-11, tEval: [60], dense: false });
    const b = solveReluFlow(p, { tEnd: 60, rtol: 1e-10, tEval: [60], dense: false, stiff: true });
    const ya = a.states[a.states.length - 1], yb = b.states[b.states.length - 1];
    let d = 0, n = 0;
    for (let q = 0; q < ya.length; q++) { d += (ya[q] - yb[q]) ** 2; n += ya[q] ** 2; }
    expect(Math.sqrt(d / n)).toBeLessThanOrEqual(1e-6);
    expect(b.kinkEvents.map((k) => `${k.kind} ${k.neuron} ${k.sample}`)).toEqual(a.kinkEvents.map((k) => `${k.kind} ${k.neuron} ${k.sample}`));
  }, 120_000);
});
