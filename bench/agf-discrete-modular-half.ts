/**
 * Predicted vs simulated t½ per frequency for heavy-ball momentum on the modular model (κ = 3):
 * `compare modular`'s default (p = 20, H = 18, α = 0.3, spectrum 1:10,3:5,5:2.5; loss (1/2n)Σ‖y − f‖²),
 * m = 0.9 at lr = 0.003 and 0.001. t½(ξ): the residual at output frequency ξ falls to half its
 * initial value (models/modular-compare.ts classCrossing), in flow time t = k·lr/(1 − m).
 * agf-momentum: the κ = 3 AGF schedule in steps (solvers/agf/sphere-discrete.ts: the heavy ball
 * iterated on the dormant neurons, each fit run by the heavy ball itself), its t½ read off its
 * per-jump states; agf (flow): the gradient-flow AGF, whose t½ in flow time is what the mapping
 * t = kη/(1 − m) predicts for the momentum run. An accuracy table (`npx tsx bench/agf-discrete-modular-half.ts`, ~2 min on 2 cores).
 */
import { modularProblem } from '../models/modular.ts';
import { parseSpectrum } from '../models/modular-data.ts';
import { classCrossing, classLossSeries, runModular } from '../models/modular-compare.ts';
import { solveAgf } from '../src/solvers/agf.ts';

const f = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x.toFixed(2));
const rel = (a: number | null | undefined, b: number | null | undefined): string => (typeof a === 'number' && typeof b === 'number' ? `${(100 * (a - b) / b).toFixed(1)}%` : '—');
console.log('| lr | ξ | t½ momentum (simulated) | t½ agf-momentum (predicted) | error | t½ agf flow (t = kη/(1 − m)) | error |');
console.log('|---|---|---|---|---|---|---|');
for (const lr of [0.003, 0.001]) {
  const make = () => modularProblem({ p: 20, H: 18, alpha: 0.3, spectrum: parseSpectrum('1:10,3:5,5:2.5') });
  const pr = make();
  const run = runModular(pr, { lr, momentum: 0.9, methods: ['momentum'] });
  const s = solveAgf(make(), { algorithm: { kind: 'momentum', lr, momentum: 0.9 } });
  // read off as runModular reads the flow AGF's t½ (its per-jump states at the jump times)
  const series = classLossSeries(pr, s.jumps.map((j) => j.time), s.extra!.states as Float64Array[]);
  for (const r of run.rows) {
    const sim = r.half.momentum, pred = classCrossing(series, r.freq, 0.5), flow = r.half.agf;
    console.log(`| ${lr} | ${r.freq} | ${f(sim)} | ${f(pred)} | ${rel(pred, sim)} | ${f(flow)} | ${rel(flow, sim)} |`);
  }
}
