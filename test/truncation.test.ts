import { describe, expect, it } from 'vitest';
import { createProblem } from '../src/problem.ts';
import { reluDeep } from '../models/relu-deep.ts';
import {
  cumulative, effectiveThresholdVelocity, inputChain, inputLayerCost, layersOf, solveEffectiveThresholds, type Layers,
} from '../src/analysis/truncation.ts';
import { expectBadInput, run } from './helpers/cli.ts';

function forwardLayers(ly: Layers, x: Float64Array): Float64Array[] {
  const { Q, L } = ly;
  const out: Float64Array[] = [];
  let h = x;
  for (let l = 0; l < L; l++) {
    const z = new Float64Array(Q);
    for (let r = 0; r < Q; r++) { let s = ly.b[l][r]; for (let c = 0; c < Q; c++) s += ly.W[l][r * Q + c] * h[c]; z[r] = l < L - 1 ? Math.max(0, s) : s; }
    out.push(z);
    h = z;
  }
  return out;
}

describe('cumulative coordinates and truncation maps', () => {
  const p = createProblem(reluDeep, { alpha: 0.3, seed: 3, options: { depth: 4 }, dims: { Q: 3 } });
  const ly = layersOf(p.layout, p.theta0);
  const c = cumulative(ly);
  const { X, n } = p.data;
  const Q = 3;

  it('x⁽ˡ⁾ = W⁽ˡ⁾ξ⁽ˡ⁾ + b⁽ˡ⁾ against a plain forward pass, and f = W⁽ᴸ⁾ξ⁽ᴸ⁻¹⁾ + b⁽ᴸ⁾ against the compiled model', () => {
    const chain = inputChain(c, X, n);
    const f = new Float64Array(n * Q);
    p.kernels.forward(p.theta0, X, n, f);
    let clipped = 0;
    for (let j = 0; j < n; j++) {
      const acts = forwardLayers(ly, X.slice(j * Q, (j + 1) * Q));
      for (let l = 0; l < c.L; l++) {
        const xi = chain.xi[Math.min(l + 1, c.L - 1)].subarray(j * Q, (j + 1) * Q);
        for (let r = 0; r < Q; r++) {
          let s = c.b[l][r];
          for (let k = 0; k < Q; k++) s += c.W[l][r * Q + k] * xi[k];
          expect(Math.abs(s - acts[l][r])).toBeLessThan(1e-12);
          if (l === c.L - 1) expect(Math.abs(s - f[j * Q + r])).toBeLessThan(1e-12);
        }
      }
      for (const cl of chain.clipped) for (let q = 0; q < Q; q++) clipped += cl[j * Q + q];
    }
    expect(clipped).toBeGreaterThan(0);
  });

  it('thresholds and input-space features are gauge invariant (W_l → D W_l, b_l → D b_l, W_{l+1} → W_{l+1} D⁻¹)', () => {
    const D = [0.3, 2.5, 1.7];
    const g: Layers = { ...ly, W: ly.W.map((w) => w.slice()), b: ly.b.map((b) => b.slice()) };
    for (let r = 0; r < Q; r++) {
      for (let k = 0; k < Q; k++) { g.W[1][r * Q + k] *= D[r]; g.W[2][k * Q + r] /= D[r]; }
      g.b[1][r] *= D[r];
    }
    const c2 = cumulative(g);
    const a = inputChain(c, X, n), b = inputChain(c2, X, n);
    for (let l = 0; l < c.L - 1; l++) for (let q = 0; q < Q; q++) expect(Math.abs(c.beta[l]![q] - c2.beta[l]![q])).toBeLessThan(1e-12 * (1 + Math.abs(c.beta[l]![q])));
    for (let l = 0; l < a.xi.length; l++) for (let k = 0; k < a.xi[l].length; k++) expect(Math.abs(a.xi[l][k] - b.xi[l][k])).toBeLessThan(1e-12);
    // while the raw cumulative weight itself changes
    expect(Math.abs(c.W[1][0] - c2.W[1][0])).toBeGreaterThan(1e-3);
  });

  it('aligned case: the threshold velocity −∂C̃/∂β matches finite differences of C̃ through the truncation chain', () => {
    const beta = [Float64Array.from([0.1, -0.2, 0.3]), Float64Array.from([0.25, -0.5, 0.05])];
    const yt = Float64Array.from({ length: n * Q }, (_, k) => 0.5 * Math.sin(k));
    // diagonal cumulative weights with these thresholds: W⁽ˡ⁾ = diag(s), b⁽ˡ⁾ = −s ⊙ β⁽ˡ⁾
    const s = [2, 0.5, 1.5];
    const costOf = (bt: Float64Array[]): number => {
      const W = bt.map(() => Float64Array.from({ length: Q * Q }, (_, k) => (k % (Q + 1) === 0 ? s[k / (Q + 1)] : 0)));
      const b = bt.map((v) => v.map((x, q) => -s[q] * x));
      const cc = { L: 3, Q, W: [...W, W[0]], b: [...b, b[0]], beta: bt };
      return inputLayerCost(inputChain(cc, X, n).xi[2], yt, n);
    };
    const v = effectiveThresholdVelocity(beta, X, yt, n, Q);
    const h = 1e-6;
    for (let l = 0; l < 2; l++) for (let q = 0; q < Q; q++) {
      const up = beta.map((x) => x.slice()), dn = beta.map((x) => x.slice());
      up[l][q] += h; dn[l][q] -= h;
      expect(Math.abs(-(costOf(up) - costOf(dn)) / (2 * h) - v[l][q])).toBeLessThan(1e-8);
    }
  });
});

describe('1-D Euclidean input-layer flow: β̇ = −(N_T/N)(β − ỹ)', () => {
  const X = Float64Array.from([0.1, 0.22, 0.35, 0.41, 0.57, 0.66, 0.8, 0.95]);
  const n = X.length, target = 0.9, beta0 = 0.15;
  const sol = solveEffectiveThresholds([Float64Array.from([beta0])], X, new Float64Array(n).fill(target), n, 1, 30);

  it('the measured relaxation rate equals N_T/N to 1e-6 on every plateau of N_T', () => {
    const ps = sol.plateaus;
    expect(ps.map((q) => q.fraction)).toEqual([1, 2, 3, 4, 5, 6, 7].map((k) => k / n));
    for (const q of ps) expect(Math.abs(q.rate - q.fraction)).toBeLessThan(1e-6);
  });

  it('the threshold reaches data point k at the closed-form time Σ (N/k) log(|β_k−1 − ỹ| / |x_k − ỹ|)', () => {
    let t = 0, b = beta0;
    const crossings = X.filter((x) => x > beta0 && x < target);
    crossings.forEach((x, k) => {
      t += (n / (k + 1)) * Math.log(Math.abs(b - target) / Math.abs(x - target));
      b = x;
      expect(Math.abs(sol.plateaus[k].tEnd - t)).toBeLessThan(1e-8);
    });
  });
});

describe('gradflow truncation', () => {
  it('prints the time table and the plateau table; --json has kind truncation', async () => {
    const r = await run('truncation', 'relu-deep', '--t', '20', '--points', '41', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.kind).toBe('truncation');
    expect(j.samples).toHaveLength(41);
    expect(j.plateaus.length).toBeGreaterThan(0);
    const t = await run('truncation', 'relu-deep', '--t', '20', '--points', '41');
    expect(t.out).toMatch(/N_T\/N ℓ=1/);
    expect(t.out).toMatch(/measured \/ effective/);
    await expectBadInput(['truncation', 'relu-deep', '--points', '1'], /--points must be an integer/);
    await expectBadInput(['truncation', 'relu'], /relu-deep network/);
  });
});
