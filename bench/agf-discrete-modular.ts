/**
 * The modular run's momentum lag (κ = 3), measured and explained: `compare modular`'s default
 * (p = 20, H = 18, α = 0.3, spectrum 1:10,3:5,5:2.5) with heavy ball m = 0.9 at lr = 0.003 and
 * 0.001, first activation t1 per frequency (‖θ_i‖ crossing sqrt(‖θ_i(0)‖)) for the flow and for
 * momentum at t = k·lr/(1 − m), beside the heavy ball iterated on an aligned neuron's norm
 * (solvers/agf/discrete.ts alignedActivation) from the ρ₀ at which the flow's measured t1 is the
 * aligned flow time — the mapping t = kη/(1 − m) predicts the flow's t1; the aligned heavy ball
 * predicts the momentum run's. An accuracy table, minutes on 2 cores.
 */
import { modularProblem } from '../models/modular.ts';
import { runModular } from '../models/modular-compare.ts';
import { alignedActivation } from '../src/solvers/agf/discrete.ts';

const alpha = 0.3, m = 0.9, top = Math.sqrt(alpha);
console.log('| lr | ξ | U* | t1 flow | t1 momentum (measured) | t = kη/(1 − m) mapping: predicts | aligned heavy ball: predicts | t½ flow | t½ momentum |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const lr of [0.003, 0.001]) {
  const pr = modularProblem({ p: 20, H: 18, alpha });
  const run = runModular(pr, { lr, momentum: m });
  for (const r of run.rows) {
    const tf = r.first.flow, tm = r.first.momentum;
    let pred: number | null = null;
    if (tf !== null && tf !== undefined) {
      const rho0 = 1 / (3 * r.uStar * tf + 1 / top); // aligned flow: t1 = (1/ρ₀ − 1/top)/(3U*)
      pred = (alignedActivation(3, r.uStar, rho0, top, { kind: 'momentum', lr, momentum: m }) * lr) / (1 - m);
    }
    const f = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x.toFixed(3));
    console.log(`| ${lr} | ${r.freq} | ${r.uStar.toFixed(4)} | ${f(tf)} | ${f(tm)} | ${f(tf)} | ${f(pred)} | ${f(r.half.flow)} | ${f(r.half.momentum)} |`);
  }
}
