/**
 * Rescaling symmetries found from the kernels (src/solvers/agf/rescaling.ts) against the
 * closed forms each template implies by counting degrees (diagonal u·v·x: (1, −1); modular
 * w(uᵀx_a + vᵀx_b)²: (1, 1, −2); three-factor u·v·w·x: the plane Σ a_g = 0), the conserved
 * quantity against a tightly integrated gradient flow (dopri5, rtol 1e-11), and rebalancing
 * against its two defining properties (f unchanged, invariants hit).
 */
import { describe, expect, it } from 'vitest';
import { diagonal } from '../models/diagonal.ts';
import { modular, modularData } from '../models/modular.ts';
import { parseSpectrum } from '../models/modular-data.ts';
import { createProblem, type Problem } from '../src/problem.ts';
import { readSpec } from '../src/specfile.ts';
import { integrate } from '../src/solvers/ode/index.ts';
import { conservedOf, rebalanceNeuron, rescalingSymmetries } from '../src/solvers/agf/rescaling.ts';
import { Rng } from '../src/util/rng.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveReluFlow } from '../src/solvers/relu-flow.ts';
import { relu } from '../models/relu.ts';
import { expectBadInput } from './helpers/cli.ts';

/** |cos| between a found symmetry and the closed form. */
function alignment(a: number[], b: number[]): number {
  const dot = a.reduce((s, v, k) => s + v * b[k], 0);
  return Math.abs(dot) / Math.hypot(...a) / Math.hypot(...b);
}

function outputs(p: Problem, theta: Float64Array): Float64Array {
  const out = new Float64Array(p.layout.H * p.data.n * p.layout.c);
  p.kernels.neuronOutputs(theta, p.data.X, p.data.n, out);
  return out;
}

describe('rescaling symmetries from the kernels', () => {
  it('diagonal (1, −1), modular (1, 1, −2), three-factor the plane Σ a = 0', () => {
    const d = rescalingSymmetries(createProblem(diagonal, { dims: { d: 3 }, options: { n: 6 } }));
    expect(d.length).toBe(1);
    expect(alignment(d[0], [1, -1])).toBeGreaterThan(1 - 1e-9);
    const m = rescalingSymmetries(createProblem(modular, { dims: { p: 7, h: 3 } }));
    expect(m.length).toBe(1);
    expect(alignment(m[0], [1, 1, -2])).toBeGreaterThan(1 - 1e-9);
    const t = rescalingSymmetries(createProblem(readSpec('examples/three-factor-diagonal.json'), {}));
    expect(t.length).toBe(2);
    for (const a of t) expect(Math.abs(a[0] + a[1] + a[2])).toBeLessThan(1e-8);
  });

  it('relu a·relu(wᵀx + b) on clustered data: exactly the one symmetry (1, −1, −1) on every seed (two fixed draws found 0 or 2 on 14 of 40)', () => {
    // degree counting: a → e^s a, (w, b) → e^{−s}(w, b) keeps a·relu(wᵀx + b); no other rescaling does
    for (const options of [{}, { K: 4 }] as Record<string, number>[]) for (let seed = 0; seed < 40; seed++) {
      const s = rescalingSymmetries(createProblem(relu, { alpha: 1e-4, seed, options }));
      expect(s.length, `seed ${seed} ${JSON.stringify(options)}`).toBe(1);
      expect(alignment(s[0], [1, -1, -1])).toBeGreaterThan(1 - 1e-9);
    }
  });

  it('relu, default data, seed 11, α = 1e-12: the fitted unit keeps its output (a spurious second symmetry had rebalanced it to norm 1e-12, the loss back at its start) and ends at the true flow\'s level to 1e-9', () => {
    const p = createProblem(relu, { alpha: 1e-12, seed: 11 });
    const a = solveAgf(p);
    const flow = solveReluFlow(p, { tEnd: 12000, rtol: 1e-10, dense: false, saveSteps: false });
    const last = a.jumps[a.jumps.length - 1].lossAfter;
    expect(last).toBeLessThan(0.9 * a.initialLoss);
    expect(Math.abs(last - flow.loss[flow.loss.length - 1])).toBeLessThanOrEqual(1e-9 * last);
  });

  it('modular: Σ a_g‖θ_g‖² is conserved by the gradient flow (dopri5, rtol 1e-11) to ≤ 1e-8 of its scale', () => {
    const p = createProblem(modular, { dims: { p: 7, h: 3 }, alpha: 0.5, seed: 3 });
    const syms = rescalingSymmetries(p);
    const { X, Y, n } = p.data;
    const g = new Float64Array(p.theta0.length);
    const sol = integrate('dopri5', (_t, y, dy) => { p.kernels.lossGrad(y, X, Y, n, g); for (let k = 0; k < y.length; k++) dy[k] = -g[k]; }, 0, p.theta0, 3, { rtol: 1e-11, atol: 1e-13 });
    const end = sol.y[sol.y.length - 1];
    let moved = 0;
    for (let i = 0; i < p.layout.H; i++) {
      const c0 = conservedOf(p, p.theta0, i, syms)[0], c1 = conservedOf(p, end, i, syms)[0];
      let r0 = 0, r1 = 0;
      for (let a = 0; a < p.layout.P; a++) { r0 += p.theta0[i * p.layout.P + a] ** 2; r1 += end[i * p.layout.P + a] ** 2; }
      moved = Math.max(moved, Math.abs(r1 - r0) / r0);
      expect(Math.abs(c1 - c0)).toBeLessThan(1e-8 * Math.max(r0, r1));
    }
    expect(moved).toBeGreaterThan(1e-2); // the flow did move the neurons
  });

  it('rebalanceNeuron hits the targets and leaves every output unchanged (one and two symmetries)', () => {
    const rng = new Rng(5);
    for (const p of [createProblem(modular, { dims: { p: 7, h: 2 } }), createProblem(readSpec('examples/three-factor-diagonal.json'), {})]) {
      const syms = rescalingSymmetries(p);
      const theta = Float64Array.from(p.theta0, () => rng.normal());
      const before = outputs(p, theta);
      const target = syms.map((_, j) => (j === 0 ? 0.3 : -0.2));
      rebalanceNeuron(p, theta, 1, syms, target);
      const c = conservedOf(p, theta, 1, syms);
      c.forEach((v, j) => expect(Math.abs(v - target[j])).toBeLessThan(1e-9));
      const after = outputs(p, theta);
      let top = 0, err = 0;
      before.forEach((v, q) => { top = Math.max(top, Math.abs(v)); err = Math.max(err, Math.abs(v - after[q])); });
      expect(err).toBeLessThan(1e-9 * top);
    }
  });
});

describe('κ > 2 cost minimisation with the masked-flow transient (fitRelax)', () => {
  it('three-factor spec: the same activations, times and levels as the L-BFGS-only fit (a second minimiser to the same isolated critical point), to ≤ 1e-6', () => {
    const p = createProblem(readSpec('examples/three-factor-diagonal.json'), { alpha: 1e-4, seed: 0 });
    const a = solveAgf(p, {}), b = solveAgf(p, { fitRelax: 2 });
    expect(b.extra?.status).toBe('zero-loss');
    expect(b.jumps.map((j) => j.neuron)).toEqual(a.jumps.map((j) => j.neuron));
    b.jumps.forEach((j, k) => {
      expect(Math.abs(j.rescaledTime / a.jumps[k].rescaledTime - 1)).toBeLessThan(1e-6);
      expect(Math.abs(j.lossAfter - a.jumps[k].lossAfter)).toBeLessThan(1e-6 * a.initialLoss);
    });
    expect(String(b.extra?.solver)).toMatch(/masked flow \(RKC\) for 2 flow-time units, L-BFGS, ≤ 40 Newton steps/);
  });

  it('three-factor spec, fitRelax path (masked flow, L-BFGS, Newton): each fit is the least-squares fit on its active coordinates (normal equations solved here) and ‖∇L‖ recomputed by hand at each fit below the fit tolerance', () => {
    const p = createProblem(readSpec('examples/three-factor-diagonal.json'), { alpha: 1e-4, seed: 0 });
    const s = solveAgf(p, { fitRelax: 2 });
    const { X, Y, n } = p.data;
    const d = p.layout.H;
    const states = s.extra!.states as Float64Array[];
    const sets = s.extra!.activeSets as number[][];
    s.jumps.forEach((j, k) => {
      const th = states[k], S = sets[k];
      // f = Σ_i u_i v_i w_i x_i: the fit's β_S solves X_Sᵀ X_S β = X_Sᵀ y (Gaussian elimination)
      const m = S.length;
      const A = Array.from({ length: m }, (_, a) => Array.from({ length: m + 1 }, (_, b) => {
        let t = 0;
        for (let q = 0; q < n; q++) t += X[q * d + S[a]] * (b < m ? X[q * d + S[b]] : Y[q]);
        return t;
      }));
      for (let c = 0; c < m; c++) for (let r = c + 1; r < m; r++) { const f = A[r][c] / A[c][c]; for (let b = c; b <= m; b++) A[r][b] -= f * A[c][b]; }
      const beta = new Float64Array(m);
      for (let c = m - 1; c >= 0; c--) { let t = A[c][m]; for (let b = c + 1; b < m; b++) t -= A[c][b] * beta[b]; beta[c] = t / A[c][c]; }
      let lsq = 0;
      const r = new Float64Array(n);
      for (let q = 0; q < n; q++) {
        let f = 0, fb = 0;
        for (let i = 0; i < d; i++) f += th[3 * i] * th[3 * i + 1] * th[3 * i + 2] * X[q * d + i];
        S.forEach((i, a) => { fb += beta[a] * X[q * d + i]; });
        r[q] = Y[q] - f;
        lsq += (Y[q] - fb) ** 2 / (2 * n);
      }
      expect(Math.abs(j.lossAfter - lsq)).toBeLessThan(1e-9 * s.initialLoss);
      // ∂L/∂u_i = −(1/n) Σ_q r_q v_i w_i x_qi (likewise v, w), over the active coordinates
      let g2 = 0;
      for (const i of S) {
        const [u, v, w] = [th[3 * i], th[3 * i + 1], th[3 * i + 2]];
        let c = 0;
        for (let q = 0; q < n; q++) c += r[q] * X[q * d + i];
        c /= n;
        g2 += (c * v * w) ** 2 + (c * u * w) ** 2 + (c * u * v) ** 2;
      }
      // the engine's fit tolerance: 1e-8 · rms(y)·rms(x)·√2 · max(1, √(2L(0))) (sphere.ts), computed here from the data
      let xx = 0, yy = 0;
      for (const v of X) xx += v * v;
      for (const v of Y) yy += v * v;
      const gtol = 1e-8 * Math.sqrt(yy / n) * Math.sqrt(xx / n) * Math.max(1, Math.sqrt(2 * s.initialLoss));
      expect(Math.sqrt(g2)).toBeLessThan(gtol);
      expect(Math.abs(Math.sqrt(g2) - (s.extra!.fitGradNorms as number[])[k])).toBeLessThan(1e-3 * gtol);
    });
  });

  it('fitNewton must be an integer ≥ 0', () => {
    const p = createProblem(readSpec('examples/three-factor-diagonal.json'), { alpha: 1e-4, seed: 0 });
    expect(() => solveAgf(p, { fitRelax: 2, fitNewton: -1 })).toThrow(/fitNewton must be an integer ≥ 0/);
  });

  it('bad input: --fit-relax < 0, --fit-relax with compare modular --agf closed, an unknown --agf', async () => {
    await expectBadInput(['agf', '--spec', 'examples/three-factor-diagonal.json', '--fit-relax', '-1'], /--fit-relax must be a flow time/);
    await expectBadInput(['compare', 'modular', '--agf', 'closed', '--fit-relax', '2'], /--fit-relax is an option of the generic engine; drop --agf closed/);
    await expectBadInput(['compare', 'modular', '--agf', 'fast'], /compare modular --agf: use generic/);
    await expectBadInput(['agf', 'modular', '--fit-newton', '0'], /--fit-newton is an option of the --fit-relax path/);
    await expectBadInput(['agf', 'modular', '--fit-final', '-3'], /--fit-final must be an integer/);
    await expectBadInput(['agf', 'diagonal', '--fit-final', '10'], /--fit-final is for κ > 2 models/);
    await expectBadInput(['agf', 'modular', '--fit-rtol', '1e-3'], /--fit-rtol is an option of the --fit-relax path/);
    for (const r of ['0', '-1e-3', '0.5', 'nan']) await expectBadInput(['agf', 'modular', '--fit-relax', '8', '--fit-rtol', r], /--fit-rtol must be a relative tolerance in \(0, 0\.1\]|--fit-rtol/);
    await expectBadInput(['agf', 'relu', '--fit-rtol', '1e-3'], /--fit-rtol is not an option for relu/);
  });

  it('modular p = 7, H = 8, spectrum 1:4,2:2, α = 1e-2, seed 4 (a DivergenceError before): L-BFGS/Newton polishes that follow a valley past the flow are dropped, every fit stays within reach of the masked flow', () => {
    // the polished fit after jump 2 had two neurons at norm 10.7 cancelling each other, after jump 4
    // two at 110 (λ of L 3.6e9 at the next fit's start, beyond the RKC stage cap): the loss has no
    // critical point there, it falls along the valley to infinity. The masked flow of the same
    // fits, by hand: its neurons stay near norm 1
    const data = modularData({ p: 7, spectrum: parseSpectrum('1:4,2:2'), phases: 'zero', seed: 4 });
    const pr = createProblem(modular, { data, dims: { p: 7, h: 8 }, alpha: 1e-2, seed: 4 });
    const s = solveAgf(pr, { fitRelax: 2 });
    expect(s.jumps.length).toBe(8);
    expect(s.extra!.rejectedPolish as number[]).toContain(2);
    expect(String(s.extra!.warning)).toMatch(/left the masked flow's reach/);
    const fin = s.extra!.finalTheta as number[];
    const P = pr.layout.P;
    const norms = Array.from({ length: 8 }, (_, i) => Math.hypot(...fin.slice(i * P, (i + 1) * P)));
    // the true flow's neurons at the end of its run (compare modular, t = 1401): all below 3
    expect(Math.max(...norms)).toBeLessThan(8);
    // loss levels decrease and stay finite
    s.jumps.forEach((j, k) => expect(j.lossAfter).toBeLessThan(k ? s.jumps[k - 1].lossAfter : s.initialLoss));
  });
});
