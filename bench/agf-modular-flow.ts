/**
 * κ = 3 AGF engines against the true gradient flow on a modular-addition instance small enough
 * to integrate (default p = 11, H = 9, alpha = 1e-2; `tsx bench/agf-modular-flow.ts [alpha p H]`):
 * agf-modular.ts, the generic engine (the model's own fits, modular.agfFit; L-BFGS fits) and the generic engine with the masked-flow
 * transient (fitRelax = 2: alone, and followed by L-BFGS and Newton to the basin's critical point), each with its frequency groups (first activation, neurons per
 * frequency, classified by the dominant frequency at the end), the loss after its last jump and
 * its wall time; the flow (RKC2, dt 0.02, λ re-estimated every step) from the same start, with the
 * same read-outs and its loss at a few times; the closed-form levels (modular-theory.ts).
 * Conventions: loss (1/2n) Σ ‖y − f‖², flow time, init ‖θ_i(0)‖ = alpha.
 */
import { createProblem } from '../src/problem.ts';
import { modular } from '../models/modular.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveAgfModular } from '../src/solvers/agf-modular.ts';
import { solveFlowRkc } from '../src/solvers/rkc-flow.ts';
import { groupByFrequency, scheduleActivations, trajectoryActivations } from '../models/modular-analysis.ts';
import { predictModular } from '../models/modular-theory.ts';
import { spectrumOf } from '../models/modular-data.ts';
import type { JumpSchedule } from '../src/schedule.ts';

const [alpha, p, H] = [Number(process.argv[2] ?? 1e-2), Number(process.argv[3] ?? 11), Number(process.argv[4] ?? 9)];
const pr = createProblem(modular, { alpha, dims: { p, h: H } });
const pred = predictModular(p, spectrumOf(pr.data.Y.subarray(0, p)), alpha);
console.log(`modular p = ${p}, H = ${H}, alpha = ${alpha}; loss (1/2n)Σ‖y − f‖², flow time; initial loss ${pred.initialLoss.toPrecision(6)}`);
console.log(`closed form: ${pred.order.map((o) => `ξ = ${o.freq}: τ aligned ${o.tau.toPrecision(4)}, level after ${o.levelAfter.toPrecision(5)}`).join('; ')}`);
const groupsLine = (g: { freq: number; times: number[]; neurons: number[] }[]): string => g.map((q) => `ξ = ${q.freq} first ${q.times[0].toPrecision(4)} #n ${q.neurons.length}`).join('; ');
let last = 0;
const runs: [string, () => JumpSchedule][] = [
  ['agf-modular', () => solveAgfModular(pr)],
  ['generic (the model\'s fits: masked flow ≤ 32 units, adaptive RKC rtol 1e-3)', () => solveAgf(pr)],
  ['generic (L-BFGS fits)', () => solveAgf(pr, { fitIter: 1000 })],
  ['generic (fitRelax 2, no L-BFGS, no Newton)', () => solveAgf(pr, { fitRelax: 2, fitIter: 0, fitNewton: 0 })],
  ['generic (fitRelax 2, L-BFGS 300, ≤ 40 Newton)', () => solveAgf(pr, { fitRelax: 2, fitIter: 300 })],
];
for (const [name, fn] of runs) {
  const t0 = performance.now();
  const s = fn();
  const sec = (performance.now() - t0) / 1000;
  const fin = Float64Array.from(s.extra!.finalDormant as number[]);
  last = Math.max(last, s.jumps.at(-1)?.time ?? 0);
  console.log(`${name}: ${sec.toFixed(1)} s, ${s.jumps.length} jumps, loss after the last ${s.jumps.at(-1)?.lossAfter.toPrecision(5)} (${String(s.extra?.status)}); ${groupsLine(groupByFrequency(p, fin, scheduleActivations(s)))}`);
  console.log(`  jumps (neuron: time → loss): ${s.jumps.map((j) => `${j.neuron}: ${j.time.toPrecision(4)} → ${j.lossAfter.toPrecision(4)}`).join(', ')}`);
}
const tEnd = Math.min(1.3 * last + 20, 20 / alpha);
const t0 = performance.now();
const tr = solveFlowRkc(pr, { tEnd, dt: 0.02, recheck: 1 });
const fin = tr.states[tr.states.length - 1];
console.log(`flow (RKC2 dt 0.02, ${tr.stats.gradEvals} gradients) to t = ${tEnd.toPrecision(4)}: ${((performance.now() - t0) / 1000).toFixed(1)} s, final loss ${tr.loss[tr.loss.length - 1].toPrecision(5)}; ${groupsLine(groupByFrequency(p, fin, trajectoryActivations(tr, pr.layout.P, H)))}`);
const at = (t: number): number => { let k = 0; while (k < tr.t.length - 1 && tr.t[k] < t) k++; return tr.loss[k]; };
console.log(`  flow loss: ${[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1].map((f) => `t = ${(f * tEnd).toPrecision(3)}: ${at(f * tEnd).toPrecision(5)}`).join(', ')}`);
