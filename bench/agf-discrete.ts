/**
 * AGF for gradient descent and heavy-ball momentum (solvers/agf/discrete.ts): predicted jump steps
 * against simulated runs (solvers/descent.ts), with the gradient-flow AGF mapped to steps
 * (k = t/η, or t(1 − m)/η) beside them — an accuracy table, not a timing: the README's table is
 * this script's output (`npx tsx bench/agf-discrete.ts`).
 *
 * err = (k − k_sim)·η_eff / log(1/α) (rescaled flow-time units; η_eff = η or η/(1 − m)); D = err·log(1/α)
 * is the offset in flow time: AGF's O(1) offset converges as α → 0, so err shrinks like 1/log(1/α),
 * while the flow mapping's err tends to an η-dependent constant.
 * Conventions: loss (1/2n)Σ(y − f)²; diagonal init u = √2·α, v = 0; linear a_i, w_i ~ α·N(0, I)/√dim;
 * λ̂ = the largest Hessian eigenvalue of L at the start and at the predicted end (power iteration).
 */
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { createProblem, type Problem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import type { AgfAlgorithm } from '../src/solvers/agf/discrete.ts';
import { compareDiscrete } from '../src/analysis/discrete-compare.ts';
import { hessianNormEstimate } from '../src/analysis/runs.ts';

const ALPHAS = [1e-4, 1e-8, 1e-16];
const f3 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : Math.abs(x) < 1e-3 ? x.toExponential(1) : x.toFixed(3));
const f1 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(1));
const worst = (xs: (number | null)[]): number => Math.max(...xs.map((x) => (x === null ? Infinity : Math.abs(x))));

function lamHatOf(p: Problem): number {
  const flow = solveAgf(p);
  return Math.max(hessianNormEstimate(p, p.theta0), hessianNormEstimate(p, Float64Array.from(flow.extra!.finalTheta as number[])));
}

/** Per (η, α): jump steps simulated vs predicted, and the worst rescaled errors over the jumps. */
function table(title: string, make: (alpha: number) => Problem, algos: [string, (lamHat: number) => AgfAlgorithm][]): void {
  console.log(`\n${title}\n`);
  console.log('| algorithm | α | jump steps: simulated | agf-discrete | agf-flow t/η_eff | max \\|err\\| agf-discrete | max \\|err\\| agf-flow | D = err·log(1/α): agf-discrete | agf-flow |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [label, algoOf] of algos) {
    for (const alpha of ALPHAS) {
      const p = make(alpha);
      const lamHat = lamHatOf(p);
      const c = compareDiscrete(p, algoOf(lamHat));
      const L = Math.log(1 / alpha);
      const miss = c.rows.filter((r) => r.neuronSim !== r.neuron).length;
      console.log(`| ${label} | ${alpha.toExponential(0)} | ${c.rows.map((r) => f1(r.stepSim)).join(', ')} | ${c.rows.map((r) => r.stepPredicted).join(', ')} | ${c.rows.map((r) => f1(r.stepFlowMapped)).join(', ')} | ${f3(worst(c.rows.map((r) => r.errPredicted)))} | ${f3(worst(c.rows.map((r) => r.errFlowMapped)))} | ${c.rows.map((r) => (r.errPredicted === null ? '—' : (r.errPredicted * L).toFixed(2))).join(', ')}${miss ? ` (${miss} neuron mismatch)` : ''} | ${c.rows.map((r) => (r.errFlowMapped === null ? '—' : (r.errFlowMapped * L).toFixed(2))).join(', ')} |`);
    }
  }
}

const diag = (alpha: number): Problem => createProblem(diagonal, { dims: { d: 3 }, alpha, seed: 2, options: { n: 9 } });
const lin = (alpha: number): Problem => createProblem(linear, { dims: { c: 3, d: 3, h: 3 }, alpha, seed: 2, options: { case: 2 } });
const gd = (c: number): [string, (l: number) => AgfAlgorithm] => [`gd η = ${c}/λ̂`, (l) => ({ kind: 'gd', lr: c / l })];
const hb = (m: number, c: number): [string, (l: number) => AgfAlgorithm] => [`momentum ${m}, η = ${c}/λ̂`, (l) => ({ kind: 'momentum', lr: c / l, momentum: m })];

const t0 = performance.now();
table('Diagonal network d = 3, n = 9 (seed 2): gradient descent', diag, [gd(0.001), gd(0.01), gd(0.1), gd(0.5)]);
table('Diagonal network d = 3, n = 9 (seed 2): heavy-ball momentum', diag, [hb(0.5, 0.1), hb(0.9, 0.01), hb(0.9, 0.1), hb(0.99, 0.01)]);
table('Two-layer linear network c = d = h = 3 (seed 2, non-commuting moments): gd and momentum', lin, [gd(0.01), gd(0.5), hb(0.9, 0.05)]);
console.log(`\n(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
