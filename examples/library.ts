/**
 * gradflow as a library: one Problem, interchangeable solvers, one result type.
 * Run with: npx tsx examples/library.ts (it imports the package by name: the build in dist/,
 * `npm run build`; an installed gradflow works the same)
 */
import { createProblem, equations, models, relDiff, solveAgf, solveDescent, solveExact, solveFlow, solvePf } from 'gradflow';

const { singleNeuron, diagonal } = models;
// 1. a problem: model + data (generated, seeded) + initial state of scale alpha
const p = createProblem(singleNeuron, { alpha: 1e-4, seed: 1, options: { delta: 0 } });
for (const e of equations(p.derived)) console.log(e.text);

// 2. the same problem through three solvers; every answer is a Trajectory
const flow = solveFlow(p, { tEnd: 20, rtol: 1e-12 });
const exact = solveExact(p, { tEnd: 20 });
const gd = solveDescent(p, { lr: 1e-3, steps: 20_000 });
console.log(`flow vs closed form at t = 10: relative error ${relDiff(flow.dense!(10), exact.dense!(10)).toExponential(2)}`);
console.log(`final loss: flow ${flow.loss.at(-1)!.toExponential(3)}, GD ${gd.loss.at(-1)!.toExponential(3)} (${p.conventions.loss})`);

// 3. saddle-to-saddle predictions are JumpSchedules, whatever the method
const q = createProblem(diagonal, { alpha: 1e-6, seed: 0 });
const agf = solveAgf(q);
const pf = solvePf(q);
agf.jumps.forEach((j, k) => console.log(`jump ${k + 1}: neuron ${j.neuron}, t/log(1/α) = ${j.rescaledTime.toFixed(6)} (AGF), ${pf.jumps[k].rescaledTime.toFixed(6)} (PF), loss after ${j.lossAfter.toExponential(3)}`));
