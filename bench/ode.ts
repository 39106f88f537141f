/**
 * Integrators against each other on gradflow's own flows: CPU time and accuracy at each
 * tolerance, in one run (methods alternating, best of several), against a reference at rtol 1e-14.
 * CPU time of this process rather than wall time: the machine is shared, and a descheduled
 * process's wall clock measures the other tenants. Checkpoints are read from each method's dense
 * output, as the CLI reads them. These figures keep solveFlow's default (dopri5) at every
 * tolerance: dop853 and gbs take less CPU for the same rtol, but their checkpoint errors are
 * 5–70× larger; at equal checkpoint error dop853 is 0.7–1.0× dopri5's time and gbs is slower
 * (the figures of issue 14's closing note). `npx tsx bench/ode.ts [--quick]`
 */
import { createProblem } from '../src/problem.ts';
import type { Problem } from '../src/problem.ts';
import { singleNeuron } from '../models/single-neuron.ts';
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import type { OdeMethod } from '../src/solvers/ode/types.ts';
import { report } from './timing.ts';

const quick = process.argv.includes('--quick');
interface Case { name: string; p: Problem; tEnd: number; rounds: number }
const cases: Case[] = [
  { name: 'single neuron d = 10, α = 1e-4', p: createProblem(singleNeuron, { alpha: 1e-4, seed: 1, monitors: [] }), tEnd: 30, rounds: 5 },
  { name: 'diagonal d = 5, n = 40, α = 1e-4', p: createProblem(diagonal, { alpha: 1e-4, seed: 0, monitors: [] }), tEnd: 200, rounds: 5 },
  { name: 'linear c = d = h = 10, α = 1e-8', p: createProblem(linear, { dims: { c: 10, d: 10, h: 10 }, alpha: 1e-8, seed: 1, monitors: [] }), tEnd: 80, rounds: 5 },
  { name: 'diagonal d = 1000, n = 40, α = 1e-4', p: createProblem(diagonal, { dims: { d: 1000 }, alpha: 1e-4, seed: 0, monitors: [] }), tEnd: 100, rounds: 3 },
];
const METHODS: OdeMethod[] = ['dopri5', 'dop853', 'gbs'];
const RTOLS = quick ? [1e-8, 1e-12] : [1e-6, 1e-8, 1e-10, 1e-12];

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rows: string[][] = [];
for (const c of cases) {
  const tEval = Array.from({ length: 41 }, (_, k) => (c.tEnd * k) / 40);
  const ref = solveFlow(c.p, { tEnd: c.tEnd, method: 'dop853', rtol: 1e-14, tEval, dense: false }).states;
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
    for (let r = 0; r < (quick ? 2 : c.rounds); r++) {
      for (const method of r % 2 ? [...METHODS].reverse() : METHODS) {
        const t0 = cpuMs();
        const tr = solveFlow(c.p, { tEnd: c.tEnd, method, rtol, tEval, dense: false });
        const ms = cpuMs() - t0;
        best[method] = Math.min(best[method] ?? Infinity, ms);
        info[method] = { err: errOf(tr.states), fevals: Number(tr.stats.fevals) };
      }
    }
    const fastest = METHODS.reduce((a, b) => (best[a] <= best[b] ? a : b));
    rows.push([c.name, rtol.toExponential(0), ...METHODS.flatMap((m) => [best[m].toFixed(1), info[m].fevals.toString(), info[m].err.toExponential(1)]), fastest]);
  }
}
report('flows: CPU ms (best of alternating runs), RHS evaluations, max relative error of θ at 41 checkpoints vs dop853 at rtol 1e-14',
  ['problem', 'rtol', ...METHODS.flatMap((m) => [`${m} ms`, 'fevals', 'error']), 'fastest'], rows);
