/**
 * Gradient flow of the two-layer linear network, c = H = d = 10, alpha = 1e-12, through all ten
 * jumps (σ_k = 1/k, so the last jump is at rescaled time 10, flow time ≈ 276; integrated to 1.5×).
 * Reference measured in the same run: a hand-written right-hand side in moment form
 * (G = Σ_yx − A W Σ_xx, Ȧ = G Wᵀ, Ẇ = Aᵀ G) under the same dopri5 integrator and tolerances;
 * the ratio is solveFlow (compiled kernels on the equivalent n = 10 dataset) ÷ hand.
 * Conventions: loss (1/2n)Σ‖y − f‖² = population loss; flow time; per-factor init scale alpha.
 */
import { linear } from '../models/linear.ts';
import { createProblem } from '../src/problem.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { integrate } from '../src/solvers/ode/index.ts';
import { predictLinear, momentsOfProblem } from '../src/solvers/agf-linear.ts';
import { flowJumpsAtLevels } from '../src/analysis/level-crossings.ts';
import { report } from './timing.ts';

const alpha = 1e-12;
const rows: string[][] = [];
for (const kind of [0, 2]) {
  const p = createProblem(linear, { dims: { c: 10, d: 10, h: 10 }, alpha, seed: 1, options: { case: kind }, monitors: [] });
  const pred = predictLinear(p);
  const tEnd = 1.5 * pred.rescaledTimes[pred.rescaledTimes.length - 1] * Math.log(1 / alpha);
  const m = momentsOfProblem(p);
  const { c, d } = m;
  const H = p.layout.H, P = p.layout.P;
  // hand RHS in factor form; θ layout neuron-major (a_i then w_i), as the kernels use
  const G = new Float64Array(c * d), B = new Float64Array(c * d), BS = new Float64Array(c * d);
  const rhs = (_t: number, th: Float64Array, dth: Float64Array): void => {
    B.fill(0);
    for (let i = 0; i < H; i++) for (let k = 0; k < c; k++) {
      const a = th[i * P + k];
      for (let j = 0; j < d; j++) B[k * d + j] += a * th[i * P + c + j];
    }
    BS.fill(0);
    for (let k = 0; k < c; k++) for (let q = 0; q < d; q++) {
      const b = B[k * d + q];
      for (let j = 0; j < d; j++) BS[k * d + j] += b * m.Sxx[q * d + j];
    }
    for (let q = 0; q < c * d; q++) G[q] = m.Syx[q] - BS[q];
    for (let i = 0; i < H; i++) {
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += G[k * d + j] * th[i * P + c + j];
        dth[i * P + k] = s;
      }
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += G[k * d + j] * th[i * P + k];
        dth[i * P + c + j] = s;
      }
    }
  };
  const rtol = 1e-10;
  let minAbs = Infinity;
  for (const x of p.theta0) if (x !== 0) minAbs = Math.min(minAbs, Math.abs(x));
  const atol = 1e-3 * rtol * minAbs;
  const med = (fn: () => void): number => {
    const xs: number[] = [];
    for (let r = 0; r < 5; r++) { const t0 = performance.now(); fn(); xs.push(performance.now() - t0); }
    return xs.sort((a, b) => a - b)[2];
  };
  let steps = 0, handSteps = 0;
  const tFlow = med(() => { steps = solveFlow(p, { tEnd, rtol, atol }).stats.steps as number; });
  const tHand = med(() => { handSteps = integrate('dopri5', rhs, 0, Float64Array.from(p.theta0), tEnd, { rtol, atol }).stats.steps; });
  const jumps = flowJumpsAtLevels(p, pred.initialLoss, pred.levels, { tEnd, rtol, atol }).schedule.jumps.length;
  rows.push([kind === 0 ? 'whitened' : 'non-commuting', String(jumps), String(steps), `${tFlow.toFixed(1)} ms`, String(handSteps), `${tHand.toFixed(1)} ms`, (tFlow / tHand).toFixed(2)]);
}
report(`linear network flow, c = H = d = 10, alpha = ${alpha}, dopri5 rtol 1e-10, t ∈ [0, 1.5 × last predicted jump] (median of 5)`,
  ['data', 'jumps found', 'solveFlow steps', 'solveFlow', 'hand steps', 'hand moment-form', 'ratio'], rows);
