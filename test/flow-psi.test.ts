/**
 * solveFlowPsi: the diagonal network's gradient flow in exact ψ coordinates
 * (u = √c cosh(ψ/2), v = √c sinh(ψ/2)). Checked against an independent second solver (the
 * (u, v) flow, where it is accurate), the closed-form AGF schedule (the gap per jump is O(1) in
 * flow time, so the rescaled gap shrinks like 1/log(1/α)), and the conservation law it is built on.
 * Conventions: loss 1/(2n) sum of squares; time = flow time; init u = √2·α, v = 0.
 */
import { describe, expect, it } from 'vitest';
import { diagonal, example2d } from '../models/diagonal.ts';
import { singleNeuron } from '../models/single-neuron.ts';
import { createProblem } from '../src/problem.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveFlowPsi } from '../src/solvers/flow-psi.ts';
import { solveAgfDiagonal } from '../src/solvers/agf-diagonal.ts';
import { detectJumps } from '../src/analysis/jumps.ts';
import { runMethods } from '../src/analysis/runs.ts';
import { correlatedData } from './helpers/data.ts';
import { expectGradflowError } from './helpers/errors.ts';


const betaOf = (th: Float64Array): Float64Array => Float64Array.from({ length: th.length / 2 }, (_, i) => th[2 * i] * th[2 * i + 1]);

describe('ψ-flow vs the (u, v) flow (an independent solver) where the latter is accurate', () => {
  it('α = 1e-3, random correlated data (n = 8, d = 4): β agrees to 1e-7 relative over the whole run', () => {
    const p = createProblem(diagonal, { data: correlatedData(3, 8, 4, 0.8, 0.1), alpha: 1e-3 });
    const agf = solveAgfDiagonal(p);
    const tEnd = 1.3 * agf.jumps.at(-1)!.time + 10;
    const tEval = Array.from({ length: 401 }, (_, k) => (k * tEnd) / 400);
    const uv = solveFlow(p, { tEnd, tEval, rtol: 1e-12 });
    const ps = solveFlowPsi(p, { tEnd, tEval });
    expect(ps.method).toBe('flow:psi-dopri5');
    expect(ps.t.length).toBe(uv.t.length);
    let worst = 0;
    for (let k = 0; k < tEval.length; k++) {
      const a = betaOf(ps.states[k]), b = betaOf(uv.states[k]);
      let diff = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      if (scale > 0) worst = Math.max(worst, diff / scale);
      // the loss from β exactly equals the compiled kernel's loss of the reconstructed θ
      expect(Math.abs(ps.loss[k] - uv.loss[k])).toBeLessThanOrEqual(1e-7 * uv.loss[0]);
    }
    expect(worst).toBeLessThan(1e-7);
    // dense output maps ψ → θ the same way as the stored states
    const mid = 0.37 * tEnd;
    const d = betaOf(ps.dense!(mid)), e = betaOf(uv.dense!(mid));
    for (let i = 0; i < d.length; i++) expect(Math.abs(d[i] - e[i])).toBeLessThan(1e-6 * Math.max(...e.map(Math.abs)));
  });
});

describe('ψ-flow vs closed-form AGF on the 2-D worked example, α ∈ {1e-4, 1e-8, 1e-16}', () => {
  it('all three jumps happen (loss → 0); the flow-time gap per jump stays bounded, the rescaled gap shrinks', () => {
    const rows: string[] = [];
    const gaps: number[][] = [];
    const alphas = [1e-4, 1e-8, 1e-16];
    for (const alpha of alphas) {
      const p = createProblem(diagonal, { data: example2d(), alpha });
      const agf = solveAgfDiagonal(p);
      expect(agf.jumps.length).toBe(3);
      const tr = solveFlowPsi(p, { tEnd: 1.3 * agf.jumps.at(-1)!.time + 10 });
      expect(tr.loss.at(-1)!).toBeLessThan(1e-10 * tr.loss[0]);
      const det = detectJumps(p, tr, { predicted: agf });
      expect(det.jumps.length).toBe(3);
      const L = Math.log(1 / alpha);
      const g = det.jumps.map((j, k) => j.time - agf.jumps[k].time);
      gaps.push(g);
      det.jumps.forEach((j, k) => {
        expect(j.neuron).toBe(agf.jumps[k].neuron);
        rows.push(`  α=${alpha.toExponential(0)} jump ${k + 1} (neuron ${j.neuron}): ψ-flow ${j.time.toFixed(4)}  agf ${agf.jumps[k].time.toFixed(4)}  gap ${g[k].toFixed(4)}  rescaled gap ${(g[k] / L).toFixed(5)}`);
      });
    }
    console.log(`2-D example, ψ-coordinate flow vs closed-form AGF (flow time; rescaled = /log(1/α); loss 1/(2n); init u = √2α, v = 0; jump = loss crossing the geometric midpoint of AGF levels):\n${rows.join('\n')}`);
    for (let k = 0; k < 3; k++) {
      const absGaps = gaps.map((gk) => Math.abs(gk[k]));
      // bounded in flow time: O(1) and the same at every α, while log(1/α) grows 4×
      expect(Math.max(...absGaps)).toBeLessThan(3);
      expect(Math.abs(gaps[2][k] - gaps[0][k])).toBeLessThan(0.01);
      // so the rescaled error shrinks like 1/log(1/α): ×1/4 from α = 1e-4 to 1e-16
      const resc = absGaps.map((x, a) => x / Math.log(1 / alphas[a]));
      expect(resc[2]).toBeLessThan(resc[0] / 3 + 1e-4);
      expect(resc[2]).toBeLessThan(0.06);
    }
  });

  it('runMethods uses ψ coordinates for the diagonal flow at small α and says so', () => {
    const p = createProblem(diagonal, { data: example2d(), alpha: 1e-8 });
    const run = runMethods(p, { methods: ['agf', 'flow'] });
    expect(run.trajectories.flow.method).toBe('flow:psi-dopri5');
    expect(run.notes.some((s) => /flow: .*ψ coordinates/.test(s))).toBe(true);
    const flow = run.schedules.find((s) => s.method === 'flow')!;
    expect(flow.jumps.length).toBe(3);
  });
});

describe('conservation law and bad starts', () => {
  it('c_i = u_i² − v_i² = 2α² on every reconstructed state (to rounding of cosh² − sinh²)', () => {
    for (const alpha of [1e-3, 1e-8]) {
      const p = createProblem(diagonal, { data: example2d(), alpha });
      const tr = solveFlowPsi(p, { tEnd: 60 });
      const c = 2 * alpha * alpha;
      let checkedTight = 0;
      for (const s of tr.states) {
        for (let i = 0; i < 2; i++) {
          const u = s[2 * i], v = s[2 * i + 1];
          expect(u).toBeGreaterThan(0);
          // the difference of two squares is only as accurate as the squares themselves
          expect(Math.abs(u * u - v * v - c)).toBeLessThanOrEqual(1e-14 * (u * u + v * v));
          if (u * u + v * v < 100 * c) {
            expect(Math.abs((u - v) * (u + v) - c) / c).toBeLessThan(1e-13);
            checkedTight++;
          }
        }
      }
      expect(checkedTight).toBeGreaterThan(0);
    }
  });

  it('refuses other models and starts with u ≤ 0 or u² − v² ≤ 0, with one line', () => {
    expectGradflowError(() => solveFlowPsi(createProblem(singleNeuron, { alpha: 1e-3 }), { tEnd: 1 }), /diagonal model only/);
    const p = createProblem(diagonal, { data: example2d(), alpha: 1e-3 });
    expectGradflowError(() => solveFlowPsi(p, { tEnd: 1, theta0: Float64Array.from([1e-3, 1e-3, 1e-3, 0]) }), /neuron 0 .*u² − v² > 0/);
    expectGradflowError(() => solveFlowPsi(p, { tEnd: 1, theta0: Float64Array.from([1e-3, 0, -1e-3, 0]) }), /neuron 1 .*u > 0/);
    expectGradflowError(() => solveFlowPsi(p, { tEnd: 1, theta0: Float64Array.from([1e-3, 0, 1e-3, 2e-3]) }), /neuron 1/);
    expectGradflowError(() => solveFlowPsi(p, { tEnd: -1 }), /end time/);
  });
});
