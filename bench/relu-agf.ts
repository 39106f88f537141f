/**
 * ReLU AGF (agf/relu-cones.ts + relu-fit.ts) against the true relu flow (relu-flow.ts) it
 * predicts, on the default cluster data (3 or 4 clusters in d = 2, 6 units with bias) and the
 * 2-D teacher–student data (bias-free teacher). CPU seconds of one run each (process user +
 * system; the machine is shared, so ratios within this run are what to compare). The flow runs
 * from θ(0) to 1.3 × AGF's last jump + 40 flow-time units at rtol 1e-10.
 * Conventions: loss (1/2n) Σ (y − f)², flow time, initial entries α·N(0, 1).
 */
import { relu } from '../models/relu.ts';
import { createProblem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveReluFlow } from '../src/solvers/relu-flow.ts';
import { report } from './timing.ts';

const cpu = (fn: () => unknown): number => {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

const cases: [string, number, number, Record<string, number>][] = [
  ['clusters K = 4, seed 1', 1e-4, 1, { K: 4 }],
  ['clusters K = 4, seed 1', 1e-8, 1, { K: 4 }],
  ['clusters K = 3, seed 2', 1e-8, 2, {}],
  ['clusters K = 3, seed 2', 1e-4, 2, {}],
  ['teacher–student, no bias, seed 0', 1e-8, 0, { data: 1, bias: 0 }],
];
const rows: string[][] = [];
for (const [name, alpha, seed, options] of cases) {
  const p = createProblem(relu, { alpha, seed, options });
  let agf = solveAgf(p);
  const tAgf = cpu(() => { agf = solveAgf(p); });
  const tEnd = 1.3 * (agf.jumps.at(-1)?.time ?? 0) + 40;
  const tFlow = cpu(() => solveReluFlow(p, { tEnd, rtol: 1e-10, dense: false, saveSteps: false }));
  rows.push([name, String(alpha), String(agf.jumps.length), agf.jumps.map((j) => j.lossAfter.toPrecision(7)).join(', '), Number(agf.extra!.fitFlowTime).toFixed(0), `${tAgf.toFixed(2)} s`, `${tFlow.toFixed(2)} s`, (tFlow / tAgf).toFixed(2)]);
}
report('relu AGF vs the relu flow (CPU s, one run each)', ['data', 'α', 'jumps', 'levels after each jump', 'fit flow time', 'AGF', 'flow', 'flow ÷ AGF'], rows);
