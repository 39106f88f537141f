/**
 * Integrators against each other on gradflow's own flows: time and accuracy at each tolerance,
 * in one run (alternating, best of several), against a reference at rtol 1e-14. These figures
 * choose solveFlow's default integrator per tolerance (src/solvers/flow.ts, defaultFlowMethod).
 */
import { createProblem } from '../src/problem.ts';
import type { Problem } from '../src/problem.ts';
import { singleNeuron } from '../models/single-neuron.ts';
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import type { OdeMethod } from '../src/solvers/ode/types.ts';
import { report } from './timing.ts';

interface Case { name: string; p: Problem; tEnd: number }
const cases: Case[] = [
  { name: 'single neuron d = 10, α = 1e-4', p: createProblem(singleNeuron, { alpha: 1e-4, seed: 1, monitors: [] }), tEnd: 30 },
  { name: 'diagonal d = 5, n = 40, α = 1e-4', p: createProblem(diagonal, { alpha: 1e-4, seed: 0, monitors: [] }), tEnd: 200 },
  { name: 'linear c = d = h = 10, α = 1e-8', p: createProblem(linear, { dims: { c: 10, d: 10, h: 10 }, alpha: 1e-8, seed: 1, monitors: [] }), tEnd: 80 },
];
const METHODS: OdeMethod[] = ['dopri5', 'dop853'];
const RTOLS = [1e-6, 1e-8, 1e-10, 1e-12];
const ROUNDS = 5;

const rows: string[][] = [];
for (const c of cases) {
  const tEval = Array.from({ length: 41 }, (_, k) => (c.tEnd * k) / 40);
  const ref = solveFlow(c.p, { tEnd: c.tEnd, method: 'dop853', rtol: 1e-14, tEval }).states;
  const errOf = (states: Float64Array[]): number => {
    let worst = 0;
    states.forEach((s, k) => {
      let d = 0, m = 0;
      for (let q = 0; q < s.length; q++) {
        d = Math.max(d, Math.abs(s[q] - ref[k][q]));
        m = Math.max(m, Math.abs(ref[k][q]));
      }
      worst = Math.max(worst, d / m);
    });
    return worst;
  };
  for (const rtol of RTOLS) {
    const best: Record<string, number> = {};
    const info: Record<string, { err: number; fevals: number }> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const method of r % 2 ? [...METHODS].reverse() : METHODS) {
        const t0 = performance.now();
        const tr = solveFlow(c.p, { tEnd: c.tEnd, method, rtol, tEval });
        const ms = performance.now() - t0;
        best[method] = Math.min(best[method] ?? Infinity, ms);
        info[method] = { err: errOf(tr.states), fevals: Number(tr.stats.fevals) };
      }
    }
    rows.push([c.name, rtol.toExponential(0), ...METHODS.flatMap((m) => [best[m].toFixed(2), info[m].fevals.toString(), info[m].err.toExponential(1)]), (best.dop853 / best.dopri5).toFixed(2)]);
  }
}
report('flows: best of 5 alternating runs (ms), RHS evaluations, max relative error of θ at 41 checkpoints vs dop853 at rtol 1e-14',
  ['problem', 'rtol', ...METHODS.flatMap((m) => [`${m} ms`, 'fevals', 'error']), 'dop853 ÷ dopri5'], rows);
