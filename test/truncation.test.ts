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

describe('general-case (non-aligned) effective equations: ∇_c C̃ and the true flow in cumulative coordinates', async () => {
  const { inputCostGradient, lossGradientCumulative, cumulativeAdjoint, cumulativeVelocity, projectGauge, blockNorm, blockDistance } = await import('../src/analysis/truncation-general.ts');
  const { pulledBackTargets } = await import('../src/analysis/truncation.ts');
  // misaligned start: W_l = I + 0.3·N(0, 1) makes every W⁽ˡ⁾ non-diagonal, so D_j and J_j are not the aligned ones
  const p = createProblem(reluDeep, { alpha: 0.3, seed: 5, options: { depth: 4 }, dims: { Q: 3 } });
  const { X, Y, n } = p.data;
  const ly = layersOf(p.layout, p.theta0);
  const c = cumulative(ly);
  const costAt = (cc: typeof c): number => inputLayerCost(inputChain(cc, X, n).xi[cc.L - 1], pulledBackTargets(cc, Y, n), n);

  it('∇_c C̃ (general formula) against central differences of C̃(c): ≤ 1e-7 relative', () => {
    const g = inputCostGradient(c, X, Y, n);
    const h = 1e-6;
    let worst = 0, scale = blockNorm(g), clippedPairs = 0;
    for (const m of inputChain(c, X, n).clipped) clippedPairs += m.reduce((s, v) => s + v, 0);
    for (let l = 0; l < c.L - 1; l++) for (const [key, size] of [['W', c.Q * c.Q], ['b', c.Q]] as const) for (let k = 0; k < size; k++) {
      const shifted = (d: number): typeof c => {
        const cc = { ...c, W: c.W.map((w) => w.slice()), b: c.b.map((b) => b.slice()) };
        (key === 'W' ? cc.W : cc.b)[l][k] += d;
        return cc;
      };
      const fd = (costAt(shifted(h)) - costAt(shifted(-h))) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - (key === 'W' ? g.W : g.b)[l][k]));
    }
    expect(clippedPairs).toBeGreaterThan(0);
    expect(worst / scale).toBeLessThan(1e-7);
  });

  it('Jᵀ ∇_c L equals the compiled ∇_θ L (the cumulative gradient of the loss the true flow descends): ≤ 1e-11 relative', () => {
    const gc = lossGradientCumulative(c, X, Y, n);
    const gl = cumulativeAdjoint(ly, gc);
    const gt = new Float64Array(p.theta0.length);
    p.kernels.lossGrad(p.theta0, X, Y, n, gt);
    const ref = layersOf(p.layout, gt);
    expect(blockDistance(gl, ref, ly.L) / blockNorm(ref)).toBeLessThan(1e-11);
  });

  it('the true flow ċ = Jθ̇ against the effective ċ = −∇_c C̃ (gauge projected out): the error is measured, and it is O(1)', () => {
    const th = p.theta0;
    const gt = new Float64Array(th.length);
    p.kernels.lossGrad(th, X, Y, n, gt);
    const vel = cumulativeVelocity(ly, layersOf(p.layout, gt.map((v) => -v)));
    // ċ = Jθ̇ against a central difference of c along θ̇
    const h = 1e-6;
    const cp = cumulative(layersOf(p.layout, th.map((v, q) => v - h * gt[q])));
    const cm = cumulative(layersOf(p.layout, th.map((v, q) => v + h * gt[q])));
    const fd = { W: cp.W.map((w, l) => w.map((x, k) => (x - cm.W[l][k]) / (2 * h))), b: cp.b.map((b, l) => b.map((x, k) => (x - cm.b[l][k]) / (2 * h))) };
    expect(blockDistance(vel, fd, ly.L) / blockNorm(fd)).toBeLessThan(1e-7);
    const eff = inputCostGradient(c, X, Y, n);
    const effVel = { W: eff.W.map((w) => w.map((x) => -x)), b: eff.b.map((b) => b.map((x) => -x)) };
    // C̃ is gauge invariant, so −∇_c C̃ has no gauge component (projecting leaves it unchanged)
    expect(blockDistance(projectGauge(c, effVel), effVel, c.L - 1) / blockNorm(effVel)).toBeLessThan(1e-12);
    const err = blockDistance(projectGauge(c, vel), effVel, c.L - 1) / blockNorm(effVel);
    console.log(`general-case effective equations at a misaligned start (L = 4, Q = 3): ‖P⊥ċ_true − (−∇_c C̃)‖/‖∇_c C̃‖ = ${err.toFixed(3)}`);
    expect(Number.isFinite(err)).toBe(true);
  });
});
