/**
 * Issue 3 benchmarks, every ratio against a reference measured in the same run:
 * 1. AGF schedule vs integrating the gradient flow it predicts (to 1.3 × the last predicted
 *    jump + 20), diagonal network at α = 1e-8: generic AGF (solvers/agf.ts), the closed form
 *    (agf-diagonal.ts) and PF, each as a ratio flow ÷ schedule.
 * 2. Gradient-descent steps per second, diagonal network d = 100, n = 40: the compiled
 *    kernel through solveDescent's float64 backend vs a hand-written fused loop (ratio
 *    compiled ÷ hand in time per step; ≤ 1.2 is the DESIGN.md target).
 * Conventions: loss (1/2n) Σ (y − f)², flow time, init u = √2·α, v = 0.
 */
import { diagonal, example2d } from '../models/diagonal.ts';
import { createProblem, type Problem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveAgfDiagonal } from '../src/solvers/agf-diagonal.ts';
import { solvePf } from '../src/solvers/pf.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { timeIt, report } from './timing.ts';

/** Median of a few runs: these solves take up to seconds, too long for timeIt's 20 warm-up calls. */
function timeFew(fn: () => unknown, runs = 3): number {
  fn();
  const t: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    fn();
    t.push((performance.now() - t0) / 1000);
  }
  return t.sort((a, b) => a - b)[runs >> 1];
}

// ---- 1. schedule vs flow
const alpha = 1e-8;
const problems: [string, Problem][] = [
  ['2-D example (theory §4)', createProblem(diagonal, { data: example2d(), alpha: 1e-4 })],
  ['random d = 10, n = 40 (seed 1)', createProblem(diagonal, { dims: { d: 10 }, alpha, seed: 1 })],
  ['random d = 20, n = 40 (seed 2)', createProblem(diagonal, { dims: { d: 20 }, alpha, seed: 2 })],
];
const rows1: string[][] = [];
for (const [name, p] of problems) {
  const closed = solveAgfDiagonal(p);
  const horizon = 1.3 * closed.jumps[closed.jumps.length - 1].time + 20;
  const tFlow = timeFew(() => solveFlow(p, { tEnd: horizon }));
  const tGeneric = timeFew(() => solveAgf(p));
  const tClosed = timeIt(() => solveAgfDiagonal(p), 200);
  const tPf = timeIt(() => solvePf(p), 200);
  const fmt = (s: number): string => `${(s * 1e3).toPrecision(3)} ms`;
  rows1.push([`${name}, α = ${p.alpha}`, String(closed.jumps.length), fmt(tFlow), fmt(tGeneric), (tFlow / tGeneric).toFixed(1), fmt(tClosed), (tFlow / tClosed).toFixed(0), fmt(tPf), (tFlow / tPf).toFixed(0)]);
}
report('AGF schedule vs integrating the flow it predicts (dopri5, rtol 1e-10); ratio = flow time ÷ schedule time',
  ['problem', 'jumps', 'flow', 'agf generic', 'ratio', 'agf closed', 'ratio', 'pf', 'ratio'], rows1);
console.log('(the 2-D example runs at α = 1e-4: its third jump needs α ≳ 1e-5 in double precision, see src/solvers/agf.ts)');

// ---- 2. GD steps per second, d = 100, n = 40
const d = 100, n = 40;
const p = createProblem(diagonal, { dims: { d }, alpha: 1e-3, seed: 3, options: { n } });
const { X, Y } = p.data;
const lr = 1e-3, steps = 2000;

function handGd(theta0: Float64Array, k: number): Float64Array {
  const th = Float64Array.from(theta0);
  const g = new Float64Array(2 * d);
  const r = new Float64Array(n);
  for (let s = 0; s < k; s++) {
    for (let j = 0; j < n; j++) {
      let f = 0;
      const xo = j * d;
      for (let i = 0; i < d; i++) f += th[2 * i] * th[2 * i + 1] * X[xo + i];
      r[j] = f - Y[j];
    }
    g.fill(0);
    for (let j = 0; j < n; j++) {
      const xo = j * d, e = r[j];
      for (let i = 0; i < d; i++) {
        const ex = e * X[xo + i];
        g[2 * i] += ex * th[2 * i + 1];
        g[2 * i + 1] += ex * th[2 * i];
      }
    }
    for (let q = 0; q < 2 * d; q++) th[q] -= (lr * g[q]) / n;
  }
  return th;
}

// same iterates: the comparison is only meaningful if both loops compute the same thing
const a = handGd(p.theta0, 50);
const b = solveDescent(p, { lr, steps: 50, recordEvery: 50 }).states.at(-1) as Float64Array;
let diff = 0;
for (let q = 0; q < a.length; q++) diff = Math.max(diff, Math.abs(a[q] - b[q]));
const tCompiled = timeIt(() => solveDescent(p, { lr, steps, recordEvery: steps }), 500) / steps;
const tHand = timeIt(() => handGd(p.theta0, steps), 500) / steps;
report(`Gradient descent, diagonal network d = ${d}, n = ${n} (max |θ_compiled − θ_hand| after 50 steps: ${diff.toExponential(1)})`,
  ['loop', 'steps/s', 'µs/step', 'ratio (÷ hand)'],
  [
    ['compiled kernel (solveDescent, float64 backend)', (1 / tCompiled).toFixed(0), (tCompiled * 1e6).toFixed(2), (tCompiled / tHand).toFixed(2)],
    ['hand-written fused loop', (1 / tHand).toFixed(0), (tHand * 1e6).toFixed(2), '1.00'],
  ]);
