/**
 * Neural collapse of separable clusters under the TRUE flow (issue 10), in the setting where the
 * truncation picture allows it: one input dimension, two separable classes, depth 3, and the start
 * adapted to the classes (`--opt start=1`: layer 1 truncates the lower class from below, layer 2,
 * gain −1, the upper class from above, both thresholds starting inside their clusters).
 *
 * Every check is against numbers computed here from the data and from the network's own hidden
 * activations — not from src/analysis/truncation*.ts, whose output is checked against them:
 * - NC1 (within- over between-class variance of the penultimate activations h₂, /K; NC1 is
 *   invariant under the affine map from h₂ to the input-space features ξ) falls below 1e-9 × the
 *   NC1 of the raw inputs;
 * - the thresholds converge to the data points that bound the classes: β⁽¹⁾ → max of the lower
 *   class, β⁽²⁾ → min of the upper class (each class then sits on one point);
 * - the within-class variance decays exponentially: log-linear over the second half of the run,
 *   at the rate `truncation` reports, which is 2λ with λ the smallest non-zero eigenvalue of the
 *   loss Hessian at the point the flow converges to (the linearisation).
 * Contrast: from the default start W ≈ I the chain can only truncate from below; on the same data
 * the flow truncates every point onto one threshold, so the output is constant and the loss stalls
 * at the constant predictor's (1/2n)Σ(y − ȳ)².
 */
import { describe, expect, it } from 'vitest';
import { createProblem, gradientOf, type Problem } from '../src/problem.ts';
import { symEig } from '../src/util/dense.ts';
import { reluDeep } from '../models/relu-deep.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { runTruncation } from '../src/analysis/truncation-run.ts';
import { expectBadInput } from './helpers/cli.ts';

const relu = (v: number): number => Math.max(0, v);
/** θ = (W1, b1, W2, b2, W3, b3) for Q = 1, depth 3. */
const hidden = (th: ArrayLike<number>, x: number): number => relu(th[2] * relu(th[0] * x + th[1]) + th[3]);

/** (within-class variance / between-class variance)/K of the values v, classes by target. */
function nc1(v: number[], y: number[]): number {
  const classes = [...new Set(y)];
  const n = v.length, mean = v.reduce((a, b) => a + b, 0) / n;
  let within = 0, between = 0;
  for (const c of classes) {
    const m = v.filter((_, j) => y[j] === c);
    const mu = m.reduce((a, b) => a + b, 0) / m.length;
    within += m.reduce((a, b) => a + (b - mu) ** 2, 0) / n;
    between += (mu - mean) ** 2 / classes.length;
  }
  return within / between / classes.length;
}

function classesOf(p: Problem): { lo: number[]; hi: number[]; x: number[]; y: number[] } {
  const x = Array.from(p.data.X), y = Array.from(p.data.Y);
  const labels = [...new Set(y)];
  const mean = (c: number): number => { const v = x.filter((_, j) => y[j] === c); return v.reduce((a, b) => a + b, 0) / v.length; };
  const [a, b] = labels.sort((u, w) => mean(u) - mean(w));
  return { lo: x.filter((_, j) => y[j] === a), hi: x.filter((_, j) => y[j] === b), x, y };
}

const options = { depth: 3, K: 2, classes: 2, start: 1 };

describe('neural collapse of two separable classes on a line under the true flow (adapted start)', () => {
  it('seed 0, α = 1e-3: NC1 ≤ 1e-9 × the raw inputs\' NC1, thresholds on the class-bounding points, exponential within-class decay at the reported rate', () => {
    const p = createProblem(reluDeep, { alpha: 1e-3, seed: 0, dims: { Q: 1 }, options });
    const { lo, hi, x, y } = classesOf(p);
    expect(Math.max(...lo)).toBeLessThan(Math.min(...hi)); // separable
    const run = runTruncation(p, { tEnd: 4000, points: 41 });
    const flow = solveFlow(p, { tEnd: 4000, rtol: 1e-10 });
    const th = flow.states[flow.states.length - 1];
    const h = x.map((v) => hidden(th, v));
    const raw = nc1(x, y), end = nc1(h, y);
    // thresholds by hand: layer 1 clips where W1 x + b1 = 0; layer 2 where W2 (W1 x + b1) + b2 = 0
    const beta1 = -th[1] / th[0], beta2 = (-th[3] / th[2] - th[1]) / th[0];
    console.log(`relu-deep collapse: NC1 ${raw.toExponential(3)} (inputs) → ${end.toExponential(3)} at t = 4000; β1 − max(lower) = ${(beta1 - Math.max(...lo)).toExponential(2)}, min(upper) − β2 = ${(Math.min(...hi) - beta2).toExponential(2)}; reported rate ${run.collapseRate}`);
    expect(end).toBeLessThanOrEqual(1e-9 * raw);
    expect(Math.abs(beta1 - Math.max(...lo))).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(beta2 - Math.min(...hi))).toBeLessThanOrEqual(1e-5);
    // the reported NC1 agrees with the hand-computed one where both are well above round-off
    const mid = run.samples[20];
    const hm = x.map((v) => hidden(flow.dense!(mid.t), v));
    expect(Math.abs(mid.collapse.nc1 - nc1(hm, y))).toBeLessThanOrEqual(1e-6 * nc1(hm, y));
    // exponential decay of the within-class variance (by hand, on h₂) over the second half, and the reported rate
    const late = run.samples.slice(20).map((s) => {
      const hv = x.map((v) => hidden(flow.dense!(s.t), v));
      const cls = [...new Set(y)];
      let w = 0;
      for (const c of cls) { const m = hv.filter((_, j) => y[j] === c); const mu = m.reduce((a, b) => a + b, 0) / m.length; w += m.reduce((a, b) => a + (b - mu) ** 2, 0); }
      return { t: s.t, lw: Math.log(w) };
    });
    const mt = late.reduce((a, s) => a + s.t, 0) / late.length, ml = late.reduce((a, s) => a + s.lw, 0) / late.length;
    const slope = late.reduce((a, s) => a + (s.t - mt) * (s.lw - ml), 0) / late.reduce((a, s) => a + (s.t - mt) ** 2, 0);
    const worst = Math.max(...late.map((s) => Math.abs(s.lw - (ml + slope * (s.t - mt)))));
    expect(slope).toBeLessThan(0);
    expect(worst).toBeLessThanOrEqual(0.02 * Math.abs(slope * (late.at(-1)!.t - late[0].t))); // straight on a log axis
    expect(Math.abs(run.collapseRate! + slope)).toBeLessThanOrEqual(0.02 * Math.abs(slope));
    // and the rate is the linearisation's: twice the smallest non-zero eigenvalue of the loss Hessian
    // (central differences, on the cone where the two class-bounding points are still active) at
    // the state the flow converges to — the two zero eigenvalues are the layer rescalings (gauge)
    const m = th.length, hh = 1e-8;
    const Hm = new Float64Array(m * m), gp = new Float64Array(m), gm = new Float64Array(m);
    for (let c = 0; c < m; c++) {
      const z = th.slice();
      z[c] += hh; gradientOf(p, z, gp);
      z[c] -= 2 * hh; gradientOf(p, z, gm);
      for (let r = 0; r < m; r++) Hm[r * m + c] = (gp[r] - gm[r]) / (2 * hh);
    }
    for (let r = 0; r < m; r++) for (let c = 0; c < r; c++) { const v = 0.5 * (Hm[r * m + c] + Hm[c * m + r]); Hm[r * m + c] = v; Hm[c * m + r] = v; }
    const ev = symEig(Hm, m).values;
    const lam = Math.min(...ev.filter((v) => v > 1e-6));
    expect(ev.filter((v) => v <= 1e-6).length).toBe(2);
    console.log(`relu-deep collapse: Hessian at the limit ${ev.map((v) => v.toExponential(3)).join(', ')}; 2λ_min = ${(2 * lam).toPrecision(5)} vs fitted ${run.collapseRate!.toPrecision(5)}`);
    expect(Math.abs(run.collapseRate! - 2 * lam)).toBeLessThanOrEqual(0.01 * 2 * lam);
  }, 60_000);

  it('contrast, default start W ≈ I on the same data: every point is truncated onto one threshold, the output is constant, the loss stalls at (1/2n)Σ(y − ȳ)²', () => {
    const p = createProblem(reluDeep, { alpha: 1e-3, seed: 0, dims: { Q: 1 }, options: { depth: 3, K: 2, classes: 2 } });
    const { x, y } = classesOf(p);
    const flow = solveFlow(p, { tEnd: 1000, rtol: 1e-10 });
    const th = flow.states[flow.states.length - 1];
    const h = x.map((v) => hidden(th, v));
    const ybar = y.reduce((a, b) => a + b, 0) / y.length;
    const constLoss = y.reduce((a, b) => a + (b - ybar) ** 2, 0) / (2 * y.length);
    expect(Math.max(...h) - Math.min(...h)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(flow.loss[flow.loss.length - 1] - constLoss)).toBeLessThanOrEqual(1e-6 * constLoss);
    // with the class means on one point NC1 is undefined, and `truncation` says so instead of printing a ratio of round-off
    const run = runTruncation(p, { tEnd: 1000, points: 5 });
    expect(Number.isNaN(run.samples.at(-1)!.collapse.nc1)).toBe(true);
  }, 60_000);

  it('the adapted start refuses what it is not defined for (one line, exit 2)', async () => {
    await expectBadInput(['truncation', 'relu-deep', '--opt', 'start=1'], /start=1 .*Q=1/);
    await expectBadInput(['truncation', 'relu-deep', '--dim', 'Q=1', '--opt', 'start=1', '--opt', 'K=3'], /exactly two classes/);
  });
});
