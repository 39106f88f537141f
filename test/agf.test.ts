/**
 * The generic AGF solver (src/solvers/agf.ts), checked against independent sources:
 * - the closed-form diagonal AGF (agf-diagonal.ts: cosh formulas, least squares, its own
 *   active → dormant rule) on random data, correlated data with deactivations and the 2-D
 *   worked example of theory.md §4;
 * - the Pesme–Flammarion algorithm (pf.ts, sign-constrained least squares) at α = 1e-100;
 * - the κ = 3 activation time τ = (1/‖θ(0)‖ − 1)/(3 Û*) (theory.md §3, §6) on a cubic model
 *   whose utility maximiser is known by symmetry;
 * - integrated gradient flow of the real network at α ∈ {1e-4, 1e-8, 1e-16}: the gap
 *   t_flow − t_AGF per jump stays bounded, so the rescaled error shrinks like 1/log(1/α).
 *
 * Conventions: loss (1/2n) Σ (y − f)²; times in flow time (unit learning rate), rescaled by
 * log(1/α); diagonal init u = √2·α, v = 0.
 */
import { describe, expect, it } from 'vitest';
import { diagonal, example2d } from '../models/diagonal.ts';
import { createProblem } from '../src/problem.ts';
import { makeDataset, type Dataset } from '../src/data.ts';
import type { ModelDefinition } from '../src/spec.ts';
import { agfTimeScale, solveAgf } from '../src/solvers/agf.ts';
import { solveAgfDiagonal } from '../src/solvers/agf-diagonal.ts';
import { solvePf } from '../src/solvers/pf.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { detectJumps } from '../src/analysis/jumps.ts';
import { compareSchedules } from '../src/analysis/compare.ts';
import { GradflowError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { correlatedData } from './helpers/data.ts';
import { expectSameSchedule } from './helpers/schedules.ts';

/** A 3-coordinate problem with well separated jumps and no sign flips (used for the α → 0 check). */
function separatedData(): Dataset {
  const X = Float64Array.from([1, 0.2, 0, 0, 1, 0.3, 0.1, 0, 1, 0.5, 0.5, 0.5]);
  const b = [2, -1, 0.5];
  const Y = Float64Array.from([0, 1, 2, 3].map((j) => X[3 * j] * b[0] + X[3 * j + 1] * b[1] + X[3 * j + 2] * b[2]));
  return makeDataset(X, Y, 4, 3, 1, 'test: 4×3, beta* = (2, -1, 0.5)');
}

describe('generic AGF = closed-form diagonal AGF', () => {
  it('random data, several seeds and α (≤ 1e-6 relative on every jump)', () => {
    const worst: string[] = [];
    for (const seed of [1, 2, 3, 4]) {
      for (const alpha of [1e-4, 1e-10]) {
        const p = createProblem(diagonal, { dims: { d: 6 }, alpha, seed, options: { n: 20 } });
        const g = solveAgf(p);
        const c = solveAgfDiagonal(p);
        expect(g.extra?.status).toBe('zero-loss');
        worst.push(`seed ${seed} α ${alpha}: ${expectSameSchedule(g, c).toExponential(2)}`);
      }
    }
    console.log(`generic vs closed-form AGF, worst relative time error per run:\n  ${worst.join('\n  ')}`);
  });

  it('correlated data with deactivations (α = 1e-4)', () => {
    let deactivations = 0;
    for (const seed of [1, 2, 5]) {
      const p = createProblem(diagonal, { data: correlatedData(seed, 12, 5), alpha: 1e-4 });
      const g = solveAgf(p);
      const c = solveAgfDiagonal(p);
      expectSameSchedule(g, c);
      deactivations += c.jumps.reduce((s, j) => s + j.deactivated.length, 0);
    }
    expect(deactivations).toBeGreaterThan(0); // the rule was exercised
  });

  it('the 2-D worked example of theory.md §4: three jumps, 0 first, 1 activates as 0 returns, 0 comes back with the other sign', () => {
    for (const alpha of [1e-3, 1e-4]) {
      const p = createProblem(diagonal, { data: example2d(), alpha });
      expect(p.kernels.loss(new Float64Array(4), p.data.X, p.data.Y, p.data.n)).toBeCloseTo(2.311099, 6);
      const g = solveAgf(p);
      const c = solveAgfDiagonal(p);
      const worst = expectSameSchedule(g, c);
      expect(g.jumps.map((j) => j.neuron)).toEqual([0, 1, 0]);
      expect(g.jumps[1].deactivated).toEqual([0]);
      expect(g.jumps[0].sign).toBe(1);
      expect(g.jumps[2].sign).toBe(-1);
      expect(g.jumps[2].lossAfter).toBeLessThan(1e-20);
      // the plateau after jump 2 is the 1-D fit on coordinate 1 alone, computed by hand
      const X = p.data.X, y = p.data.Y;
      const x1 = [X[1], X[3]];
      const b1 = (x1[0] * y[0] + x1[1] * y[1]) / (x1[0] ** 2 + x1[1] ** 2);
      const l1 = ((y[0] - b1 * x1[0]) ** 2 + (y[1] - b1 * x1[1]) ** 2) / 4;
      expect(g.jumps[1].lossAfter).toBeCloseTo(l1, 12);
      console.log(`2-D example, alpha = ${alpha}: generic AGF times ${g.jumps.map((j) => j.time.toFixed(6)).join(', ')} (rescaled ${g.jumps.map((j) => j.rescaledTime.toFixed(6)).join(', ')}); worst rel. diff to closed form ${worst.toExponential(2)}`);
    }
  });

  it('the 2-D worked example has all three jumps, with the deactivation, at every α (1e-2 … 1e-300)', () => {
    for (const alpha of [1e-2, 1e-4, 1e-8, 1e-16, 1e-100, 1e-300]) {
      const p = createProblem(diagonal, { data: example2d(), alpha });
      const g = solveAgf(p);
      const c = solveAgfDiagonal(p);
      expect(c.jumps.length).toBe(3);
      expectSameSchedule(g, c, 1e-9);
    }
  });
});

describe('generic AGF against Pesme–Flammarion at α = 1e-30 and 1e-100', () => {
  it('AGF times / log(1/α) = PF times to 1e-6 with the same neurons and loss levels, on every run', () => {
    let clean = 0;
    const lines: string[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      for (const alpha of [1e-30, 1e-100]) {
        const p = createProblem(diagonal, { dims: { d: 6 }, alpha, seed, options: { n: 20 } });
        const g = solveAgf(p);
        const pf = solvePf(p);
        let worst = 0;
        const sameOrder = g.jumps.length === pf.jumps.length && pf.jumps.every((q, k) => g.jumps[k].neuron === q.neuron);
        if (sameOrder) pf.jumps.forEach((q, k) => { worst = Math.max(worst, Math.abs(g.jumps[k].rescaledTime - q.rescaledTime) / q.rescaledTime); });
        lines.push(`seed ${seed} α ${alpha}: worst ${sameOrder ? worst.toExponential(1) : 'order differs'}`);
        {
          clean++;
          expect(sameOrder).toBe(true);
          expect(worst).toBeLessThan(1e-6);
          pf.jumps.forEach((q, k) => expect(Math.abs(g.jumps[k].lossAfter - q.lossAfter)).toBeLessThan(1e-9 * pf.initialLoss));
        }
      }
    }
    console.log(`generic AGF vs PF (rescaled time):\n  ${lines.join('\n  ')}`);
    expect(clean).toBe(16);
  });
});

describe('κ = 3: cubic diagonal neurons u·v·w·x_i', () => {
  const cubic: ModelDefinition = {
    spec: {
      name: 'cubic-diagonal', dims: { d: 3 }, params: { u: [], v: [], w: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd',
      template: 'u * v * w * x[i]',
      init: { u: { dist: 'constant' }, v: { dist: 'constant' }, w: { dist: 'constant' } },
    },
  };
  // X = I: coordinates decouple, so each positive-utility neuron's jump time is measured from t = 0
  const data = makeDataset(Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), Float64Array.from([3, 2, -1]), 3, 3, 1, 'identity inputs');

  it('jump times are (1/‖θ(0)‖ − 1)/(3 Û*) with Û* = c_i/(3√3); the negative-utility neuron never activates', () => {
    const alpha = 1e-3;
    const p = createProblem(cubic, { data, alpha });
    expect(p.derived.kappa).toBe(3);
    const s = solveAgf(p);
    const rho0 = Math.sqrt(3) * alpha; // u = v = w = α: already the utility maximiser's direction
    const tau = (c: number): number => (1 / rho0 - 1) / (3 * (c / (3 * Math.sqrt(3))));
    expect(s.jumps.map((j) => j.neuron)).toEqual([0, 1]);
    expect(Math.abs(s.jumps[0].time - tau(1)) / tau(1)).toBeLessThan(1e-8); // c_0 = E[x_0 y] = 3/3
    expect(Math.abs(s.jumps[1].time - tau(2 / 3)) / tau(2 / 3)).toBeLessThan(1e-8);
    expect(s.jumps[1].lossAfter).toBeCloseTo(1 / 6, 9); // only y_2 = −1 is left: (1/2n)·1
    expect(s.extra?.status).toBe('no-positive-utility');
    expect(s.jumps[0].rescaledTime).toBeCloseTo(s.jumps[0].time / agfTimeScale(3, alpha), 12);
    expect(agfTimeScale(3, alpha)).toBeCloseTo(1 / alpha - 1, 9);
  });

  it('the integrated flow of the cubic network jumps near the κ = 3 prediction', () => {
    const alpha = 1e-3;
    const p = createProblem(cubic, { data, alpha });
    const s = solveAgf(p);
    const tr = solveFlow(p, { tEnd: 1.2 * s.jumps[1].time });
    const d = detectJumps(p, tr, { predicted: s });
    expect(d.jumps.map((j) => j.neuron)).toEqual([0, 1]);
    // κ = 3 plateaus last ~1/α; the jump itself is O(1): a few percent at α = 1e-3
    for (let k = 0; k < 2; k++) expect(Math.abs(d.jumps[k].time - s.jumps[k].time) / s.jumps[k].time).toBeLessThan(0.02);
  });
});

describe('the solver refuses models AGF does not describe', () => {
  const make = (template: string): ModelDefinition => ({
    spec: { name: 'bad', dims: { d: 2 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template },
  });
  const data = makeDataset(Float64Array.from([1, 0, 0, 1]), Float64Array.from([1, 1]), 2, 2, 1, 'tiny');
  it('non-homogeneous neurons', () => {
    const p = createProblem(make('u * x[i] + u * v * x[i]'), { data, alpha: 1e-3 });
    expect(() => solveAgf(p)).toThrow(GradflowError);
    expect(() => solveAgf(p)).toThrow(/not a sum of homogeneous neurons/);
  });
  it('κ < 2', () => {
    const p = createProblem(make('(u + v) * x[i]'), { data, alpha: 1e-3 });
    expect(() => solveAgf(p)).toThrow(/κ = 1; AGF needs κ ≥ 2/);
  });
  it('a start outside the unit ball', () => {
    const p = createProblem(diagonal, { data: example2d(), alpha: 1 });
    expect(() => solveAgf(p)).toThrow(/norm .* ≥ 1/);
  });
});

describe('AGF vs integrated gradient flow as α → 0', () => {
  it('the gap t_flow − t_AGF stays bounded and the rescaled error shrinks', () => {
    const alphas = [1e-4, 1e-8, 1e-16];
    const gaps: number[][] = [];
    const errs: number[][] = [];
    const tAgf: number[][] = [];
    const lines = ['alpha   k  neuron  t_agf      t_flow     gap       t~_agf    t~_flow   rel.err(t~)'];
    for (const alpha of alphas) {
      const p = createProblem(diagonal, { data: separatedData(), alpha });
      const agf = solveAgf(p);
      const tr = solveFlow(p, { tEnd: 1.3 * agf.jumps[agf.jumps.length - 1].time + 20 });
      const flow = detectJumps(p, tr, { predicted: agf, method: 'flow' });
      const cmp = compareSchedules([agf, flow]);
      expect(cmp.jumps.every((j) => j.neuronAgrees.flow === true)).toBe(true);
      gaps.push(cmp.jumps.map((j) => j.gap.flow as number));
      errs.push(cmp.jumps.map((j) => j.relError.flow as number));
      tAgf.push(cmp.jumps.map((j) => j.time.agf as number));
      for (const j of cmp.jumps) {
        lines.push(`${alpha.toExponential(0).padEnd(7)} ${j.k}  ${j.neuron}       ${(j.time.agf as number).toFixed(4).padEnd(10)} ${(j.time.flow as number).toFixed(4).padEnd(10)} ${(j.gap.flow as number).toFixed(4).padEnd(9)} ${(j.rescaledTime.agf as number).toFixed(5)}   ${(j.rescaledTime.flow as number).toFixed(5)}   ${(j.relError.flow as number).toExponential(3)}`);
      }
    }
    console.log(`AGF vs gradient flow (loss 1/(2n) sum of squares; flow time; t~ = t/log(1/alpha); init u = sqrt(2)·alpha, v = 0)\n${lines.join('\n')}`);
    const K = gaps[0].length;
    expect(K).toBe(3);
    for (let k = 0; k < K; k++) {
      // bounded: the O(1) offset has converged (changes by < 5% + 0.05 between α = 1e-8 and 1e-16) and is O(1), not O(log 1/α)
      expect(Math.abs(gaps[2][k] - gaps[1][k])).toBeLessThan(0.05 + 0.05 * Math.abs(gaps[1][k]));
      expect(Math.abs(gaps[2][k])).toBeLessThan(0.15 * tAgf[2][k]); // O(1) next to t_AGF ∝ log(1/α)
      // shrinking like 1/log(1/α): each halving of log(α) roughly halves the error
      expect(errs[1][k]).toBeLessThan(0.6 * errs[0][k]);
      expect(errs[2][k]).toBeLessThan(0.6 * errs[1][k]);
    }
  });
});
