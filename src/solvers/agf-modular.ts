/**
 * AGF for the quadratic modular-addition network (κ = 3, theory.md §3 and §6), model-specific
 * in its cost-minimisation step only; everything else goes through the compiled kernels.
 *
 * Why not solvers/agf.ts: its cost minimisation is the masked flow run to ‖∇L‖ ≈ 0, which for
 * this model creeps for thousands of time units along near-flat directions (a frequency with
 * too few neurons to be removed), and with a faster minimiser its collapse rule re-activated a
 * collapsed neuron at once, looping. Here:
 * - Dormant phase: θ̇_i = ∇_θ U_i(θ_i; r) for every dormant neuron (the exact dormant dynamics
 *   of §3, in unnormalised coordinates: norm and direction together), integrated with dopri5
 *   until the first ‖θ_i‖ reaches 1 (κ = 3: accumulated utility 1/‖θ_i(0)‖ − 1).
 * - Cost minimisation: masked gradient flow (RKC2, step 0.05, stiffness re-estimated every 2 steps: the new neuron's growth raises it fast;
 *   step 0.1 diverged at p = 11) for `relax` = 2 time units through
 *   the fast transient (so the fit lands in the basin the flow reaches; optionally polished by
 *   L-BFGS, costIter > 0), then each active neuron is moved along
 *   its rescaling orbit (su, sv, w/s²) back to the value of Q_i = ‖u_i‖² + ‖v_i‖² − 2‖w_i‖² it had
 *   when cost minimisation started (the flow conserves Q_i; the function is unchanged).
 * - Collapse: an active neuron left with norm < sqrt(‖θ_i(0)‖) returns to the dormant set with
 *   that state (it keeps growing or shrinking under its own utility from there).
 * - Stop when the loss is below lossTol·L(0), when no dormant neuron reaches norm 1 before
 *   tMax, or after maxJumps.
 * Times are flow time under gradflow's loss (1/2n)Σ‖r‖²; rescaledTime = t/(1/alpha − 1)
 * (the κ = 3 time scale of solvers/agf.ts).
 */
import type { Problem } from '../problem.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';
import { integrate } from './ode/index.ts';
import type { OdeEvent } from './ode/types.ts';
import { lbfgs } from './lbfgs.ts';
import { solveFlowRkc } from './rkc-flow.ts';
import { balanceOf, rebalance } from '../../models/modular.ts';
import type { JumpProgress } from '../util/progress.ts';

export interface AgfModularOptions {
  maxJumps?: number;
  lossTol?: number;
  /** A dormant phase gives up after max(4·(time so far), 20/alpha) of flow time (or this, if given). */
  tMax?: number;
  /** L-BFGS iterations after the masked flow in each cost minimisation (default 0: none — L-BFGS
   *  wanders along near-flat directions to large-norm, stiff fits that make later flows expensive). */
  costIter?: number;
  rtol?: number;
  theta0?: Float64Array;
  /** Masked-flow time of each cost minimisation (default 2: the active set's fast transient;
   *  plateaus are O(1/alpha) long, so the slow creep after it is left to the following dormant phase's scale). */
  relax?: number;
  /** Called after each jump (a progress line; no effect on the result). */
  onProgress?: (at: JumpProgress) => void;
}

export function solveAgfModular(pr: Problem, opts: AgfModularOptions = {}): JumpSchedule {
  const { H, P } = pr.layout;
  const p = pr.layout.dims.p;
  const { X, Y, n } = pr.data;
  const kb = pr.kernels.bind(X, Y, n);
  const c = pr.layout.c;
  const theta = Float64Array.from(opts.theta0 ?? pr.theta0);
  const norm = (v: Float64Array, i: number): number => {
    let s = 0;
    for (let a = 0; a < P; a++) s += v[i * P + a] ** 2;
    return Math.sqrt(s);
  };
  const rho0 = Float64Array.from({ length: H }, (_, i) => norm(theta, i));
  const collapse = Float64Array.from(rho0, (r) => Math.sqrt(r));
  const active = new Uint8Array(H);
  const resid = new Float64Array(n * c);
  const fwd = new Float64Array(n * c);
  const updateResidual = (): void => {
    pr.kernels.forward(theta, X, n, fwd, active);
    for (let q = 0; q < n * c; q++) resid[q] = Y[q] - fwd[q];
  };
  const initialLoss = kb.loss(theta, new Uint8Array(H));
  const lossTol = (opts.lossTol ?? 1e-3) * initialLoss;
  const maxJumps = opts.maxJumps ?? 3 * H;
  const rtol = opts.rtol ?? 1e-8;
  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  /** Active parameters after each jump (dormant entries 0), for read-outs such as per-frequency residuals. */
  const states: Float64Array[] = [];
  let time = 0;
  let status = 'max-jumps';
  let costIters = 0, odeSteps = 0, tDormant = 0, tRelax = 0, tLbfgs = 0;
  updateResidual();
  const grad = new Float64Array(H * P);
  while (jumps.length < maxJumps) {
    const dormant: number[] = [];
    for (let i = 0; i < H; i++) if (!active[i] && rho0[i] > 0) dormant.push(i);
    if (dormant.length === 0) { status = 'no-dormant-neuron'; break; }
    const dmask = new Uint8Array(H);
    for (const i of dormant) dmask[i] = 1;
    const m = dormant.length;
    const y0 = new Float64Array(m * P);
    dormant.forEach((i, k) => y0.set(theta.subarray(i * P, (i + 1) * P), k * P));
    const full = new Float64Array(H * P);
    const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => {
      dormant.forEach((i, k) => full.set(y.subarray(k * P, (k + 1) * P), i * P));
      pr.kernels.vjpMean(full, X, resid, n, grad, dmask);
      dormant.forEach((i, k) => dy.set(grad.subarray(i * P, (i + 1) * P), k * P));
    };
    const events: OdeEvent[] = dormant.map((i, k) => ({
      name: String(i),
      g: (_t: number, y: Float64Array) => {
        let s = 0;
        for (let a = 0; a < P; a++) s += y[k * P + a] ** 2;
        return s - 1;
      },
      direction: 1 as const,
      terminal: true,
    }));
    let minRho = Infinity;
    for (const i of dormant) minRho = Math.min(minRho, norm(theta, i));
    const tMax = opts.tMax ?? Math.max(4 * time, 20 / pr.alpha);
    let c0 = performance.now();
    const sol = integrate('dopri5', rhs, 0, y0, tMax, { rtol, atol: rtol * 1e-2 * minRho, events, maxSteps: 200_000 });
    odeSteps += sol.stats.steps;
    tDormant += performance.now() - c0;
    if (sol.status !== 'event') { status = 'no-activation-before-tMax'; break; }
    const hit = sol.events[sol.events.length - 1];
    time += hit.t;
    dormant.forEach((i, k) => theta.set(hit.y.subarray(k * P, (k + 1) * P), i * P));
    const iNew = Number(hit.name);
    active[iNew] = 1;
    // cost minimisation over the active set
    const q0 = Array.from({ length: H }, (_, i) => balanceOf(theta, p, i).Q);
    const dThetaDormant = new Float64Array(H * P);
    for (const i of dormant) if (i !== iNew) dThetaDormant.set(theta.subarray(i * P, (i + 1) * P), i * P);
    const start = theta.slice();
    for (const i of dormant) if (i !== iNew) start.fill(0, i * P, (i + 1) * P);
    // the masked flow through the fast transient picks the basin the real flow falls into
    // (L-BFGS's first steps from the saddle can land in another one), then L-BFGS polishes
    c0 = performance.now();
    const relaxed = solveFlowRkc(pr, { tEnd: opts.relax ?? 2, dt: 0.05, recheck: 2, mask: active, theta0: start, finalOnly: true }).states[0];
    tRelax += performance.now() - c0;
    c0 = performance.now();
    const res = (opts.costIter ?? 0) > 0
      ? lbfgs((x, g) => kb.lossGrad(x, g, active), relaxed, { gtol: 1e-8, ftol: 1e-12, maxIter: opts.costIter ?? 0 })
      : { x: relaxed, iterations: 0 };
    costIters += res.iterations;
    tLbfgs += performance.now() - c0;
    const deactivated: number[] = [];
    for (let i = 0; i < H; i++) {
      if (!active[i]) continue;
      theta.set(res.x.subarray(i * P, (i + 1) * P), i * P);
      rebalance(theta, p, i, q0[i]);
      if (norm(theta, i) < collapse[i]) {
        active[i] = 0;
        deactivated.push(i);
      }
    }
    for (const i of dormant) if (i !== iNew) theta.set(dThetaDormant.subarray(i * P, (i + 1) * P), i * P);
    updateResidual();
    const lossAfter = kb.loss(theta, active);
    jumps.push({ time, rescaledTime: time / (1 / pr.alpha - 1), neuron: iNew, lossAfter, deactivated });
    opts.onProgress?.({ jumps: jumps.length, rescaledTime: time / (1 / pr.alpha - 1), loss: lossAfter, initialLoss });
    const act: number[] = [];
    for (let i = 0; i < H; i++) if (active[i]) act.push(i);
    activeSets.push(act);
    const st = theta.slice();
    for (let i = 0; i < H; i++) if (!active[i]) st.fill(0, i * P, (i + 1) * P);
    states.push(st);
    if (lossAfter <= lossTol) { status = 'zero-loss'; break; }
  }
  const finalTheta = theta.slice();
  for (let i = 0; i < H; i++) if (!active[i]) finalTheta.fill(0, i * P, (i + 1) * P);
  return {
    model: pr.model.spec.name,
    method: 'agf',
    conventions: { ...pr.conventions, time: 'flow time; rescaledTime = time / (1/alpha − 1) (κ = 3)' },
    initialLoss,
    jumps,
    extra: { states, kappa: 3, solver: 'agf-modular (dormant flow θ̇ = ∇U + L-BFGS cost minimisation)', status, activeSets, odeSteps, costIterations: costIters, seconds: { dormant: tDormant / 1000, relax: tRelax / 1000, lbfgs: tLbfgs / 1000 }, finalTheta: Array.from(finalTheta), finalDormant: Array.from(theta) },
  };
}
