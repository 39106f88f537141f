/**
 * runMethods' flow when storing every step would pass the store cap: it is kept at equally spaced
 * checkpoints instead, and its jump times must agree with the same flow stored step by step with
 * dense output (bisection on the interpolant) to within the checkpoint spacing.
 * Conventions: loss (1/2n)Σ(y − f)², flow time, diagonal init u = √2·α, v = 0.
 */
import { describe, expect, it } from 'vitest';
import { diagonal } from '../models/diagonal.ts';
import { runMethods } from '../src/analysis/runs.ts';
import { integrateWithinStore } from '../src/analysis/flow-store.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { createProblem, lossOf } from '../src/problem.ts';

describe('flow past the store cap', () => {
  it('diagonal d = 5, α = 1e-4: checkpointed jumps = dense jumps to within one spacing, and a note says so', () => {
    const p = createProblem(diagonal, { dims: { d: 5 }, alpha: 1e-4, seed: 1, options: { n: 20 } });
    const full = runMethods(p, { methods: ['agf', 'flow'] });
    const N = p.theta0.length;
    const cap = 4000 * N;
    const lean = runMethods(p, { methods: ['agf', 'flow'], maxStoredValues: cap });
    const a = full.schedules.find((s) => s.method === 'flow')!, b = lean.schedules.find((s) => s.method === 'flow')!;
    const note = lean.notes.find((n) => n.startsWith('flow: every step'));
    expect(note).toBeDefined();
    expect(full.notes.some((n) => n.startsWith('flow: every step'))).toBe(false);
    const G = Math.floor(cap / (2 * N));
    expect(lean.trajectories.flow.t.length).toBe(G);
    const spacing = full.horizon! / (G - 1);
    expect(b.jumps.map((j) => j.neuron)).toEqual(a.jumps.map((j) => j.neuron));
    expect(a.jumps.length).toBeGreaterThanOrEqual(3);
    const worst = Math.max(...a.jumps.map((j, k) => Math.abs(j.time - b.jumps[k].time)));
    console.log(`${a.jumps.length} jumps; checkpoints every ${spacing.toPrecision(3)}: worst |Δt| = ${worst.toExponential(2)}; ${note}`);
    expect(worst).toBeLessThanOrEqual(spacing);
  });

  it('a cap too small even for 101 checkpoints is the store error itself', () => {
    const p = createProblem(diagonal, { dims: { d: 5 }, alpha: 1e-4, seed: 1, options: { n: 20 } });
    expect(() => runMethods(p, { methods: ['agf', 'flow'], maxStoredValues: 100 * p.theta0.length })).toThrow(/stored output would exceed/);
  });
});

describe('integrateWithinStore (the flow command\'s fallback)', () => {
  it('named times are kept exactly, and the loss there is the dense run\'s (≤ 1e-8 relative)', () => {
    const p = createProblem(diagonal, { dims: { d: 5 }, alpha: 1e-4, seed: 1, options: { n: 20 } });
    const N = p.theta0.length;
    const T = 40;
    const keep = [0, 3.3, 17.77, 40];
    const full = solveFlow(p, { tEnd: T });
    const lean = integrateWithinStore(p, (o) => solveFlow(p, o), { tEnd: T, maxStoredValues: 1000 * N }, keep);
    expect(lean.note).toMatch(/stored at \d+ equally spaced times .* plus the 4 times the output names, kept exactly/);
    expect(lean.tr.dense).toBeUndefined();
    for (const t of keep) {
      const q = lean.tr.t.indexOf(t);
      expect(q).toBeGreaterThanOrEqual(0);
      const ref = lossOf(p, full.dense!(t));
      expect(Math.abs(lean.tr.loss[q] - ref)).toBeLessThanOrEqual(1e-8 * ref);
    }
    // without the cap nothing changes
    expect(integrateWithinStore(p, (o) => solveFlow(p, o), { tEnd: T }, keep).note).toBeNull();
  });
});

describe('flow step budget from the stability interval', () => {
  it('explicit steps from AGF\'s end state are at most EXPLICIT_STABILITY/λ̂ (dopri5, dop853), so a horizon past the budget is refused at once', async () => {
    const { modular } = await import('../models/modular.ts');
    const { solveAgf } = await import('../src/solvers/agf.ts');
    const { solveFlow } = await import('../src/solvers/flow.ts');
    const { hessianNormEstimate, runMethods, EXPLICIT_STABILITY } = await import('../src/analysis/runs.ts');
    const { createProblem } = await import('../src/problem.ts');
    const p = createProblem(modular, { alpha: 0.3, seed: 0, dims: { p: 7 } });
    const th = Float64Array.from(solveAgf(p).extra!.finalTheta as number[]);
    const lam = hessianNormEstimate(p, th);
    const T = 500 * EXPLICIT_STABILITY / lam;
    for (const method of ['dopri5', 'dop853'] as const) {
      const tr = solveFlow(p, { theta0: th, tEnd: T, rtol: 1e-10, method, dense: false, tEval: [T] });
      expect(Number(tr.stats.steps) + Number(tr.stats.rejected), method).toBeGreaterThanOrEqual(500);
    }
    const far = createProblem(modular, { alpha: 1e-4, seed: 0, dims: { p: 7 } });
    const t0 = performance.now();
    expect(() => runMethods(far, { methods: ['agf', 'flow'] })).toThrow(/^flow: at least .* steps needed from the last predicted jump .* past the flow's budget of 1000000 steps; give a larger --alpha/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 120_000);
});
