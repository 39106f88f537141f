/**
 * What AGF and the utility do under a loss other than the mean squared one, and the note compare
 * adds where a simulation has not settled on its last plateau.
 *
 * - AGF's engine is built on the squared loss (residual y − f, least-squares fits): for the
 *   cross-entropy models it printed that loss's schedule under the cross-entropy label (softmax-mlp:
 *   initial loss 0.5 where log 3 = 1.0986, levels up to 1531). Now it refuses in one line.
 * - The utility's start-of-training residual is −∇_z ℓ at z = 0: for cross-entropy y − 1/V (closed
 *   form), checked against a brute-force maximisation of Û on the circle of directions (d = 2).
 * - compare's last "loss after" is the run's final loss: checked against the same flow run long
 *   enough to level.
 * Conventions: loss (1/2n)Σ(y − f)² (mse) or the mean cross-entropy in nats; flow time.
 */
import { describe, expect, it } from 'vitest';
import { relu } from '../models/relu.ts';
import { softmaxMlp } from '../models/softmax.ts';
import { tinyLm } from '../models/tiny-lm.ts';
import { diagonal } from '../models/diagonal.ts';
import { createProblem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { maximiseUtility, startResidual } from '../src/analysis/utility.ts';
import { runMethods, unsettledNote } from '../src/analysis/runs.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { GradflowError } from '../src/util/errors.ts';
import { expectBadInput } from './helpers/cli.ts';

describe('AGF under a non-squared loss', () => {
  it('solveAgf refuses the cross-entropy models (softmax-mlp, tiny-lm) with a GradflowError naming the loss', () => {
    for (const def of [softmaxMlp, tinyLm]) {
      const p = createProblem(def, { alpha: 1e-4, seed: 1 });
      expect(() => solveAgf(p)).toThrow(GradflowError);
      expect(() => solveAgf(p)).toThrow(/trains under cross-entropy .* no jump schedule for this loss/);
    }
  });

  it('the CLI: agf, compare and sweep on softmax-mlp give one line and exit 2', async () => {
    await expectBadInput(['agf', 'softmax-mlp'], /agf: model 'softmax-mlp' trains under cross-entropy/);
    await expectBadInput(['compare', 'tiny-lm'], /agf: model 'tiny-lm' trains under cross-entropy/);
    await expectBadInput(['sweep', 'softmax-mlp', '--alphas', '1e-3', '--seeds', '0'], /trains under cross-entropy/);
  }, 60_000);
});

describe('utility: the residual at the start of training', () => {
  it('squared loss: the targets themselves; cross-entropy: y − 1/V (one-hot targets)', () => {
    const pm = createProblem(diagonal, { alpha: 1e-4, seed: 0 });
    expect(startResidual(pm)).toBe(pm.data.Y);
    const p = createProblem(softmaxMlp, { alpha: 1e-4, seed: 1 });
    const { n } = p.data, V = p.layout.c;
    const r = startResidual(p);
    for (let j = 0; j < n; j++) for (let v = 0; v < V; v++) expect(r[j * V + v]).toBeCloseTo(p.data.Y[j * V + v] - 1 / V, 15);
  });

  it('softmax-mlp: the best Û equals ½·max over unit w of ‖(1/n)Σ_j relu(wᵀx_j) r_j‖ (brute force on the circle, d = 2)', () => {
    const p = createProblem(softmaxMlp, { alpha: 1e-4, seed: 1 });
    const { n, X } = p.data, V = p.layout.c, d = p.layout.dIn;
    expect(d).toBe(2);
    // f = a·relu(wᵀx), ‖a‖² + ‖w‖² = 1: for a direction ŵ the best a is along g(ŵ), and a, w of norm 1/√2 each
    const r = startResidual(p);
    const half = (phi: number): number => {
      const w = [Math.cos(phi), Math.sin(phi)];
      const g = new Float64Array(V);
      for (let j = 0; j < n; j++) {
        const z = Math.max(0, w[0] * X[j * d] + w[1] * X[j * d + 1]);
        for (let v = 0; v < V; v++) g[v] += (z * r[j * V + v]) / n;
      }
      return 0.5 * Math.hypot(...g);
    };
    let best = -Infinity, at = 0;
    const N = 20_000;
    for (let k = 0; k < N; k++) { const v = half((2 * Math.PI * k) / N); if (v > best) { best = v; at = (2 * Math.PI * k) / N; } }
    // refine by golden section in the bracketing cell
    let lo = at - (2 * Math.PI) / N, hi = at + (2 * Math.PI) / N;
    const gr = (Math.sqrt(5) - 1) / 2;
    for (let it = 0; it < 80; it++) {
      const m1 = hi - gr * (hi - lo), m2 = lo + gr * (hi - lo);
      if (half(m1) > half(m2)) hi = m2; else lo = m1;
    }
    best = Math.max(best, half(0.5 * (lo + hi)));
    const res = maximiseUtility(p, { starts: 32, seed: 3 });
    const got = res.values[res.best];
    console.log(`softmax-mlp utility: maximiser ${got}, brute force ${best}; with r = y (the old residual) the brute force would be ${(() => { const y = p.data.Y; let b = 0; for (let k = 0; k < N; k++) { const phi = (2 * Math.PI * k) / N; const g = new Float64Array(V); for (let j = 0; j < n; j++) { const z = Math.max(0, Math.cos(phi) * X[j * d] + Math.sin(phi) * X[j * d + 1]); for (let v = 0; v < V; v++) g[v] += (z * y[j * V + v]) / n; } b = Math.max(b, 0.5 * Math.hypot(...g)); } return b; })()}`);
    expect(Math.abs(got - best)).toBeLessThanOrEqual(1e-8 * best);
  });
});

describe('compare: a simulation still descending at its horizon says so', () => {
  it('relu default data, α = 1e-6: at the default horizon the flow is above its level (the same flow run to t = 4000) and the note says so; run to t = 3000 it has levelled and there is no note', () => {
    const p = createProblem(relu, { alpha: 1e-6, seed: 0 });
    const long = solveFlow(p, { tEnd: 4000, rtol: 1e-10, dense: false });
    const level = long.loss[long.loss.length - 1];
    const short = runMethods(p, { methods: ['agf', 'flow'] });
    const tr = short.trajectories.flow;
    const end = tr.loss[tr.loss.length - 1];
    expect((end - level) / level).toBeGreaterThan(0.1);
    expect(short.notes.some((s) => /^flow: still descending at the end of the run/.test(s))).toBe(true);
    const settled = runMethods(p, { methods: ['agf', 'flow'], horizon: 3000 });
    const tr2 = settled.trajectories.flow;
    expect(Math.abs(tr2.loss[tr2.loss.length - 1] - level)).toBeLessThanOrEqual(1e-4 * level);
    expect(settled.notes.some((s) => /still descending/.test(s))).toBe(false);
  }, 120_000);

  it('a run converging to zero loss on the jumps\' scale is not flagged (diagonal default: 3e-9 → 3e-11 over the last tenth)', () => {
    const p = createProblem(diagonal, { alpha: 1e-4, seed: 0 });
    const runs = runMethods(p, { methods: ['agf', 'flow'] });
    const tr = runs.trajectories.flow;
    const flow = runs.schedules.find((s) => s.method === 'flow')!;
    expect(tr.loss[tr.loss.length - 1]).toBeLessThan(1e-6 * tr.loss[0]);
    expect(unsettledNote(tr, flow)).toBeNull();
  }, 60_000);
});
