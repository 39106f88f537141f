/**
 * ReLU AGF's cost minimisation (agf/relu-fit.ts: the masked relu flow, then Newton in its
 * pattern) and the dormant state of a collapsed unit (cones.ts, collapsedDormantState), against
 * the true flow (relu-flow.ts, all units, from the problem's θ(0)) and a by-hand cone matrix.
 *
 * Setting: `relu` on the default cluster data (3 Gaussian clusters in d = 2, 3 classes, n = 12,
 * y = −1, 0, 1; 6 units with bias). Loss (1/2n)Σ(y − f)², flow time, initial entries α·N(0, 1).
 */
import { describe, expect, it } from 'vitest';
import { relu } from '../models/relu.ts';
import { createProblem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveReluFlow } from '../src/solvers/relu-flow.ts';
import { collapsedDormantState } from '../src/solvers/cones.ts';
import { expectBadInput } from './helpers/cli.ts';

/** The true flow's loss after tEnd flow-time units (no dense output: long runs). */
function flowLoss(alpha: number, seed: number, tEnd: number): number {
  const p = createProblem(relu, { alpha, seed });
  const f = solveReluFlow(p, { tEnd, rtol: 1e-10, dense: false, saveSteps: false });
  return f.loss[f.loss.length - 1];
}

describe('ReLU AGF fits where the flow fits (default cluster data)', () => {
  it('seed 2: the level after jump 2 is the flow\'s plateau, 6.94199e-2, at α = 1e-8 and 1e-12 (L-BFGS gave 7.03e-2 or 1.03e-1 depending on α)', () => {
    const levels = [1e-8, 1e-12].map((alpha) => {
      const a = solveAgf(createProblem(relu, { alpha, seed: 2 }));
      expect(a.jumps.length).toBe(2);
      return a.jumps[1].lossAfter;
    });
    // the true flow at α = 1e-8 has converged by t = 2500 (its loss falls 3e-8 between 1000 and 2500)
    const flow = flowLoss(1e-8, 2, 2500);
    console.log(`relu seed 2: AGF level after jump 2 ${levels.map((l) => l.toPrecision(10)).join(', ')} (α = 1e-8, 1e-12); true flow at α = 1e-8, t = 2500: ${flow.toPrecision(10)}`);
    for (const l of levels) expect(Math.abs(l - flow)).toBeLessThanOrEqual(1e-6 * flow);
    expect(Math.abs(levels[0] - levels[1])).toBeLessThanOrEqual(1e-9 * flow);
  }, 300_000);

  // Not met at α = 1e-4 (and 1e-3; measured, not run here: one AGF run takes minutes): AGF gives
  // 7.0217e-2, a Filippov-stationary point its masked flow creeps to (24,000 flow-time units, a
  // kink whose sliding weight → 1; Newton there: field 1.7e-16), while the true flow at α = 1e-4 and
  // 1e-3 reaches 6.9423e-2 by t = 800. AGF's first fit needs 192 flow-time units to settle and the
  // second unit arrives 6.7 units after the first (12 at α = 1e-8): the flow's second fit starts
  // before its first has finished, AGF's after, and this seed's second fit sits near a basin boundary.

  it('seed 1, α = 1e-8: two jumps and the flow\'s final level 9.283222e-3; no unit collapses and none returns (the flow has no third jump by t = 25000; the old fit collapsed unit 3 and brought it back at t = 20535)', () => {
    const a = solveAgf(createProblem(relu, { alpha: 1e-8, seed: 1 }));
    expect(a.jumps.length).toBe(2);
    expect(a.extra!.status).toBe('no-positive-utility');
    expect(a.jumps.every((j) => j.deactivated.length === 0)).toBe(true);
    // the flow creeps on (5.4e-9 between t = 2500 and 25000) but has no jump: the old engine's third one dropped the loss by 2 %
    const early = flowLoss(1e-8, 1, 2500), late = flowLoss(1e-8, 1, 25000);
    expect(Math.abs(late - early)).toBeLessThanOrEqual(1e-5 * late);
    expect(Math.abs(a.jumps[1].lossAfter - late)).toBeLessThanOrEqual(1e-6 * late);
  }, 300_000);
});

describe('collapsedDormantState: the growing component of a collapsed unit from a² − ‖w‖² − b² = Q', () => {
  // By hand: on a cone S (samples with wᵀx_j + b > 0) the dormant field is θ̇ = Mθ with
  // M = [[0, vᵀ], [v, 0]], v = (1/n) Σ_{j∈S} r_j (x_j, 1), eigenvalues ±‖v‖, eigenvectors e± = (1, ±v̂)/√2
  // and 0 on (0, u⊥), u⊥ ⟂ v. θ = c₊e₊ + c₋e₋ + (0, u⊥) has a² − ‖u‖² = 2c₊c₋ − ‖u⊥‖².
  const p = createProblem(relu, { alpha: 1e-12, seed: 0 });
  const { X, Y, n } = p.data;
  const r = Y; // the residual before any unit is active
  const vOf = (u: number[]): number[] => {
    const v = [0, 0, 0];
    for (let j = 0; j < n; j++) if (u[0] * X[2 * j] + u[1] * X[2 * j + 1] + u[2] > 0) { v[0] += (r[j] * X[2 * j]) / n; v[1] += (r[j] * X[2 * j + 1]) / n; v[2] += r[j] / n; }
    return v;
  };
  // a self-consistent cone: u ∝ v̂ of its own pattern; with c₋ < 0 dominant (a < 0, u ∝ +v̂) θ shrinks along e₋ on it
  let u = [0.3, -0.8, 0.2];
  for (let it = 0; it < 20; it++) { const w = vOf(u); const m = Math.hypot(...w); u = w.map((x) => x / m); }
  const v = vOf(u), nv = Math.hypot(...v), vh = v.map((x) => x / nv);
  const perp = [vh[1], -vh[0], 0].map((x) => x / Math.hypot(vh[1], vh[0]));
  const S = Float64Array.from([1, -1, -1, -1]);

  for (const [Q, du] of [[1e-24, 1e-12], [-5e-20, 0], [1e-16, 1e-9]] as [number, number][]) {
    it(`Q = ${Q}, ‖u⊥‖ = ${du}: the growing coordinate c₊ = (Q + ‖u⊥‖²)/(2c₋), far below the float vector's round-off`, () => {
      const cm = -1e-3;
      const cp = (Q + du * du) / (2 * cm);
      const s2 = Math.SQRT1_2;
      const theta = Float64Array.from([s2 * (cp + cm), ...vh.map((x, k) => s2 * (cp - cm) * x + du * perp[k])]);
      for (let j = 0; j < n; j++) expect(Math.sign(theta[1] * X[2 * j] + theta[2] * X[2 * j + 1] + theta[3])).toBe(Math.sign(u[0] * X[2 * j] + u[1] * X[2 * j + 1] + u[2]));
      const st = collapsedDormantState(p, 0, theta, r, S, Q);
      const g = st.values.findIndex((l) => l > 0);
      expect(st.values.filter((l) => l > 1e-12).length).toBe(1);
      expect(Math.abs(st.values[g] - nv)).toBeLessThanOrEqual(1e-12 * nv);
      // e₊ = (1, v̂)/√2 up to sign
      const dot = st.basis[g][0] * s2 + vh.reduce((acc, x, k) => acc + x * s2 * st.basis[g][1 + k], 0);
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-12);
      expect(st.sign[g] * Math.sign(dot)).toBe(Math.sign(cp));
      // the float vector holds u⊥'s coordinates to ε·‖θ‖ absolute: c₊ is determined to (2‖u⊥‖·ε‖θ‖ + ε|Q|)/(2|c₋|)
      const eps = Number.EPSILON, bound = (2 * du * eps * Math.hypot(...theta) + eps * Math.abs(Q)) / (2 * Math.abs(cm));
      expect(Math.abs(Math.exp(st.log[g]) - Math.abs(cp))).toBeLessThanOrEqual(10 * bound + 1e-12 * Math.abs(cp));
      // in the first case the float vector itself does not carry c₊ (|c₊| is below its round-off ε·‖θ‖)
      if (Q === 1e-24) expect(Math.abs(cp)).toBeLessThan(eps * Math.hypot(...theta));
    });
  }
});

describe('agf relu: the fit options of the polynomial engine are refused', () => {
  it('--fit-iter and --fit-relax: one line, exit 2 (the relu fit is the masked flow then Newton, with no L-BFGS budget)', async () => {
    await expectBadInput(['agf', 'relu', '--fit-iter', '10'], /--fit-iter is not an option for relu/);
    await expectBadInput(['agf', 'relu', '--fit-relax', '5'], /--fit-relax is not an option for relu/);
  });
});
