/**
 * Predicted vs simulated t½ per frequency for heavy-ball momentum on the modular model (κ = 3), with
 * the gradient flow as a control: `compare modular`'s default (p = 20, H = 18, spectrum
 * 1:10,3:5,5:2.5; loss (1/2n)Σ‖y − f‖²; θ_i(0) = α·unit vector) at α = 0.3 (the default), 0.03 and
 * 0.01, m = 0.9. t½(ξ): the residual at output frequency ξ falls to half its initial value
 * (models/modular-compare.ts classCrossing), read at every recorded state, in flow time (t = k·lr/(1 − m)
 * for momentum).
 * Columns: the simulated flow (RKC2, error-controlled at rtol 1e-6, as compare modular runs it; 4001
 * equally spaced states) and the flow AGF (generic engine, sphere.ts; its t½ the time of the jump
 * whose state first has ξ at or below half: the state holds until the next jump) — the control: what AGF itself gets right at this α; the simulated heavy
 * ball and agf-momentum (solvers/agf/sphere-discrete.ts: the heavy ball on the dormant neurons in
 * scaled variables, each neuron joining the fit at ‖θ‖ = 0.31, each fit run by the heavy ball; t½ from
 * its trace); and the flow AGF read as a momentum prediction through t = kη/(1 − m) (the mapping).
 * An accuracy table, ~6 min on 2 cores (`npx tsx bench/agf-discrete-modular-half.ts`).
 */
import { modularProblem } from '../models/modular.ts';
import { parseSpectrum } from '../models/modular-data.ts';
import { classCrossing, FLOW_RTOL } from '../models/modular-compare.ts';
import { residualClassLoss } from '../models/modular-analysis.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveAgfSphereDiscrete } from '../src/solvers/agf/sphere-discrete.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import type { Problem } from '../src/problem.ts';

const FREQS = [1, 3, 5];
const f = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x.toFixed(2));
const rel = (a: number | null | undefined, b: number | null | undefined): string => (typeof a === 'number' && typeof b === 'number' ? `${(100 * (a - b) / b).toFixed(1)}%` : '—');

/** t½ per frequency from states at times t (≤ 2500 of them, evenly thinned), none beyond tEnd. */
function halves(pr: Problem, t: number[], states: Float64Array[], tEnd: number, steps = false): (number | null)[] {
  const idx = t.map((_, q) => q).filter((q) => t[q] <= tEnd);
  const stride = Math.max(1, Math.ceil(idx.length / 2500));
  const keep = idx.filter((_, q) => q % stride === 0);
  const s = { t: keep.map((q) => t[q]), cl: keep.map((q) => residualClassLoss(pr, states[q])), init: residualClassLoss(pr, new Float64Array(pr.theta0.length)), steps };
  return FREQS.map((x) => classCrossing(s, x, 0.5));
}

console.log('| α | lr | ξ | t½ flow (sim) | flow AGF | error | t½ momentum (sim) | agf-momentum | error | flow AGF at t = kη/(1 − m) | error |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const notes: string[] = [];
for (const [alpha, lrs, tEnd] of [[0.3, [0.003, 0.001], 40], [0.03, [0.003], 150], [0.01, [0.003], 400]] as const) {
  const make = (): Problem => modularProblem({ p: 20, H: 18, alpha, spectrum: parseSpectrum('1:10,3:5,5:2.5') });
  const pr = make();
  const t0 = performance.now();
  const fa = solveAgf(make());
  // the flow AGF's per-jump states hold until the next jump: its t½ is the jump that takes ξ below half
  const hAgf = halves(pr, fa.jumps.map((j) => j.time), fa.extra!.states as Float64Array[], Infinity, true);
  const flow = solveFlow(make(), { tEnd, method: 'rkc', rtol: FLOW_RTOL, tEval: Array.from({ length: 4001 }, (_, k) => (tEnd * k) / 4000), dense: false, maxSteps: 1e7 });
  const hFlow = halves(pr, flow.t, flow.states, tEnd);
  for (const lr of lrs) {
    const m = 0.9, per = lr / (1 - m), steps = Math.ceil(tEnd / per);
    const s = solveAgfSphereDiscrete(make(), 3, pr.theta0, { kind: 'momentum', lr, momentum: m }, { traceEvery: Math.max(1, Math.floor(steps / 4000)), maxSteps: Math.ceil(1.1 * steps) });
    const trace = s.extra!.trace as { steps: number[]; states: Float64Array[] };
    const hPred = halves(pr, trace.steps.map((k) => k * per), trace.states, tEnd);
    const sim = solveDescent(make(), { lr, momentum: m, steps, recordEvery: Math.max(1, Math.floor(steps / 2500)) });
    const hSim = halves(pr, sim.t, sim.states, tEnd);
    FREQS.forEach((x, q) => console.log(`| ${alpha} | ${lr} | ${x} | ${f(hFlow[q])} | ${f(hAgf[q])} | ${rel(hAgf[q], hFlow[q])} | ${f(hSim[q])} | ${f(hPred[q])} | ${rel(hPred[q], hSim[q])} | ${f(hAgf[q])} | ${rel(hAgf[q], hSim[q])} |`));
    const st = s.extra!;
    notes.push(`α = ${alpha}, lr = ${lr}: agf-momentum ${s.jumps.length} jumps, stopped: ${String(st.status)}${st.stopReason ? ` (${String(st.stopReason)})` : ''}`);
  }
  notes.push(`α = ${alpha}: ${((performance.now() - t0) / 1000).toFixed(0)} s (simulations to t = ${tEnd})`);
}
console.log(`\n${notes.join('\n')}`);
