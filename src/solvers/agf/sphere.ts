/**
 * AGF for κ > 2 (theory.md §3): a dormant neuron's direction θ̄ performs projected gradient
 * ascent of its utility, dθ̄/dt = ‖θ‖^{κ−2} P⊥∇Û, while q = ‖θ‖^{2−κ} falls as dq/dt = −κ(κ−2)Û;
 * activation is q = 1. In flow time the direction is frozen for ~α^{2−κ} (a horizon of 1e300 at
 * α = 1e-100, κ = 3), so the ODE runs in a clock τ with dt = Q dτ, 1/Q = Σ_i 1/q_i over the
 * dormant neurons: every rate is then O(1) (the fastest neuron moves at unit speed), z_i = log q_i
 * replaces q_i, and the rescaled time u = t/T_κ(α) is integrated alongside. The ODE is solved in
 * chunks so memory stays bounded whatever the length of the plateau.
 */
import { MIN_ALPHA, type Problem } from '../../problem.ts';
import type { Jump, JumpSchedule } from '../../schedule.ts';
import { integrate } from '../ode/index.ts';
import { GradflowError } from '../../util/errors.ts';
import { scaledNorm, withWarning, type AgfOptions } from '../agf.ts';
import { rescalingSymmetries } from './rescaling.ts';
import { activeSet, bestSize, dataScale, fitActive, fitWithCollapses, unconvergedFitWarning, type CostOptions } from './cost.ts';
import { formatNumber } from '../../report/table.ts';

const CHUNK_STEPS = 400;
/** Newton polish of the fitRelax path: its FD Hessian costs 2N gradients and an N×N Cholesky. */
const NEWTON_MAX_PARAMS = 1200;
const MAX_CHUNKS = 500;

export function solveAgfSphere(p: Problem, kappa: number, theta0: Float64Array, opts: AgfOptions): JumpSchedule {
  const { H, P, c } = p.layout;
  const { X, n } = p.data;
  // The α → 0 limit: in the rescaled time u = t/T_κ(α) and q̃ = q/T_κ(α) the dormant ODE
  // is α-free, and α enters only through the activation level, q = 1, which is O(α) from the
  // limit's (and T_κ(α) = (α^{2−κ} − 1)/(κ − 2) is α^{2−κ}/(κ − 2) up to O(α^{κ−2})). So the
  // limit is this ODE started at the smallest α (MIN_ALPHA = 1e-300): its corrections are below
  // round-off. Flow times are then reported at the problem's α, as for κ = 2.
  const alpha = opts.limit ? MIN_ALPHA : p.alpha;
  const logShift = Math.log(alpha) - Math.log(p.alpha); // θ(0) is given at the problem's α
  const logT = Math.log(timeScale(kappa, alpha));
  const reportT = timeScale(kappa, p.alpha);
  const rtol = opts.rtol ?? 1e-10;
  const lossTol = opts.lossTol ?? 1e-12;
  const maxJumps = opts.maxJumps ?? 4 * H + 10;
  if (opts.fitRelax !== undefined && !(Number.isFinite(opts.fitRelax) && opts.fitRelax >= 0)) throw new GradflowError(`fitRelax must be a flow time ≥ 0 (got ${opts.fitRelax})`);
  if (opts.fitRtol !== undefined && !(opts.fitRtol > 0 && opts.fitRtol <= 0.1)) throw new GradflowError(`fitRtol must be a relative tolerance in (0, 0.1] (got ${opts.fitRtol})`);
  if (opts.fitRtol !== undefined && opts.fitRelax === undefined) throw new GradflowError('fitRtol sets the tolerance of the fitRelax masked flow: give fitRelax too');
  if (opts.fitNewton !== undefined && !(Number.isInteger(opts.fitNewton) && opts.fitNewton >= 0)) throw new GradflowError(`fitNewton must be an integer ≥ 0 (got ${opts.fitNewton})`);

  const rejected: number[] = []; // jumps (from 0) whose polished fit was dropped for the masked flow's end (cost.ts beyondFlow)
  const dir: Float64Array[] = [];
  const z = new Float64Array(H); // log q, q = ‖θ‖^{2−κ}
  const usable = new Uint8Array(H);
  for (let i = 0; i < H; i++) {
    const rho = scaledNorm(theta0.subarray(i * P, (i + 1) * P));
    usable[i] = rho > 0 ? 1 : 0;
    dir.push(Float64Array.from(theta0.subarray(i * P, (i + 1) * P), (x) => (rho > 0 ? x / rho : 0)));
    z[i] = (2 - kappa) * (Math.log(rho) + logShift);
  }
  const atActivation: ({ dir: Float64Array; z: number } | null)[] = new Array(H).fill(null);
  const set = activeSet(p);
  const { theta, mask: activeMask, residual } = set;
  const updateResidual = set.update;
  const initialLoss = updateResidual();
  const scale = Math.max(dataScale(p, initialLoss), 1e-300);
  const utilTol = (opts.utilTol ?? 1e-10) * scale;
  // κ > 2 fits have tiny Hessian eigenvalues (several neurons share a frequency); their end
  // point only sets the next residual, so a looser gradient tolerance is enough
  const cost: CostOptions = { gtol: (opts.gradTol ?? 1e-8) * scale * Math.max(1, Math.sqrt(2 * initialLoss)), collapseTol: 1e-14, initialLoss, kappa, newton: false, maxIter: opts.fitIter ?? 1000, ftol: 1e-10, ...(opts.fitRelax !== undefined ? { maskedFlow: { relax: opts.fitRelax, syms: rescalingSymmetries(p), newtonIter: opts.fitNewton ?? 40, newtonMaxParams: NEWTON_MAX_PARAMS, onReject: () => { rejected.push(fitGradNorms.length); }, ...(opts.fitRtol !== undefined ? { rtol: opts.fitRtol } : {}) } } : {}) };

  // fitRelax with neither L-BFGS nor Newton: each fit is the flow's transient by design, not a minimiser stopped short
  const transientOnly = opts.fitRelax !== undefined && cost.maxIter === 0 && (opts.fitNewton ?? 40) === 0;
  const packed = new Float64Array(H * P), grad = new Float64Array(H * P);
  const U = new Float64Array(H);
  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  const states: Float64Array[] = []; // active parameters after each jump (dormant entries 0), for per-jump read-outs
  let u = 0; // rescaled time t / T_κ(α)
  let status = 'max-jumps';
  let odeSteps = 0, costEvaluations = 0;
  const fitGradNorms: number[] = []; // ‖∇L‖ where each jump's cost minimisation stopped
  if (initialLoss === 0) status = 'zero-loss';
  if (opts.fitFinal !== undefined && !(Number.isInteger(opts.fitFinal) && opts.fitFinal >= 0)) throw new GradflowError(`fitFinal must be an integer ≥ 0 (got ${opts.fitFinal})`);
  let finalFit: { iterations: number; gradNorm: number; evaluations: number } | null = null;
  /** fitFinal: the last plateau's fit taken on to the minimum by L-BFGS (the collapse rule is not re-run). */
  const fitLast = (): void => {
    const iterations = opts.fitFinal ?? 0;
    if (!iterations || !jumps.length) return;
    const last = jumps.at(-1)!;
    const fin = fitActive(p, theta, activeMask, { ...cost, maxIter: iterations, maskedFlow: { relax: 0, syms: rescalingSymmetries(p), newtonIter: 0, newtonMaxParams: NEWTON_MAX_PARAMS } });
    costEvaluations += fin.evaluations;
    finalFit = { iterations, gradNorm: fin.gradNorm, evaluations: fin.evaluations };
    fitGradNorms[fitGradNorms.length - 1] = fin.gradNorm;
    last.lossAfter = updateResidual();
    states[states.length - 1] = Float64Array.from(theta, (v, q) => (activeMask[Math.floor(q / P)] ? v : 0));
    if (last.lossAfter <= lossTol * initialLoss) status = 'zero-loss';
  };

  while (status === 'max-jumps' && jumps.length < maxJumps) {
    const dormant: number[] = [];
    for (let i = 0; i < H; i++) if (usable[i] && !activeMask[i]) dormant.push(i);
    if (!dormant.length) { status = 'no-positive-utility'; fitLast(); break; }
    const m = dormant.length;
    const dmask = new Uint8Array(H);
    for (const i of dormant) dmask[i] = 1;
    const w = new Float64Array(m);
    const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => {
      packed.fill(0);
      for (let k = 0; k < m; k++) {
        let s = 0;
        for (let a = 0; a < P; a++) s += y[k * P + a] ** 2;
        const inv = 1 / Math.sqrt(s);
        for (let a = 0; a < P; a++) packed[dormant[k] * P + a] = y[k * P + a] * inv;
      }
      p.kernels.vjpMean(packed, X, residual, n, grad, dmask);
      let zmin = Infinity;
      for (let k = 0; k < m; k++) zmin = Math.min(zmin, y[m * P + k]);
      let sw = 0;
      for (let k = 0; k < m; k++) { w[k] = Math.exp(zmin - y[m * P + k]); sw += w[k]; }
      for (let k = 0; k < m; k++) {
        const i = dormant[k];
        let radial = 0, ny = 0;
        for (let a = 0; a < P; a++) { radial += grad[i * P + a] * packed[i * P + a]; ny += y[k * P + a] ** 2; }
        // Euler: ⟨∇U_i(θ̄), θ̄⟩ = κ U_i(θ̄) for a κ-homogeneous output, so U needs no forward pass
        U[i] = radial / kappa;
        const wk = w[k] / sw;
        const sc = Math.sqrt(ny) * wk;
        for (let a = 0; a < P; a++) dy[k * P + a] = sc * (grad[i * P + a] - radial * packed[i * P + a]);
        dy[m * P + k] = -kappa * (kappa - 2) * U[i] * wk;
      }
      // du/dτ = Q/T with 1/Q = Σ e^{−z}
      dy[m * P + m] = Math.exp(zmin - Math.log(sw) - logT);
    };
    let y: Float64Array = new Float64Array(m * P + m + 1);
    dormant.forEach((i, k) => { y.set(dir[i], k * P); y[m * P + k] = z[i]; });
    y[m * P + m] = 0;
    let hit = -1;
    let tau = 0;
    for (let chunk = 0; chunk < MAX_CHUNKS && hit < 0; chunk++) {
      let steps = 0;
      let stationary = false;
      const sol = integrate('dop853', rhs, tau, y, tau + 1e12, {
        rtol,
        // no continuous extension unless an event asks for it: dop853 forms it with 3 more evaluations per step
        dense: false,
        atol: rtol * 1e-3,
        events: [{ name: 'activation', g: (_t, yy) => { let mn = Infinity; for (let k = 0; k < m; k++) mn = Math.min(mn, yy[m * P + k]); return mn; }, direction: -1, terminal: true }],
        stopWhen: (_t, yy, dy) => {
          if (++steps >= CHUNK_STEPS) return true;
          // nothing left to grow: every dormant utility ≤ 0 and every direction stationary
          let moving = false;
          for (let k = 0; k < m && !moving; k++) {
            if (U[dormant[k]] > utilTol) moving = true;
            let g2 = 0;
            for (let a = 0; a < P; a++) g2 += dy[k * P + a] ** 2;
            if (Math.sqrt(g2) > utilTol) moving = true;
          }
          stationary = !moving;
          return stationary;
        },
      });
      odeSteps += sol.stats.steps;
      tau = sol.tEnd;
      y = sol.y[sol.y.length - 1].slice();
      opts.onProgress?.({ jumps: jumps.length, rescaledTime: u + y[m * P + m], loss: jumps.at(-1)?.lossAfter ?? initialLoss, initialLoss });
      if (sol.status === 'event') {
        const ev = sol.events.at(-1)!;
        y = ev.y.slice();
        let best = Infinity;
        for (let k = 0; k < m; k++) if (y[m * P + k] < best) { best = y[m * P + k]; hit = k; }
      } else if (stationary) break;
    }
    dormant.forEach((i, k) => {
      const d = y.subarray(k * P, (k + 1) * P);
      let s = 0;
      for (let a = 0; a < P; a++) s += d[a] * d[a];
      const inv = 1 / Math.sqrt(s);
      for (let a = 0; a < P; a++) dir[i][a] = d[a] * inv;
      z[i] = y[m * P + k];
    });
    if (hit < 0) { status = 'no-positive-utility'; fitLast(); break; }
    u += y[m * P + m];
    const iNew = dormant[hit];
    z[iNew] = 0;
    atActivation[iNew] = { dir: dir[iNew].slice(), z: 0 };
    activeMask[iNew] = 1;
    theta.set(dir[iNew], iNew * P);
    bestSize(p, theta, activeMask, iNew, kappa);
    const wasActive = Array.from({ length: H }, (_, i) => activeMask[i] === 1 && i !== iNew);
    const deactivated: number[] = [];
    const fit = fitWithCollapses(p, set, cost, (i) => {
      const back = atActivation[i]!;
      dir[i].set(back.dir);
      z[i] = back.z;
      if (wasActive[i]) deactivated.push(i);
    });
    costEvaluations += fit.evaluations;
    fitGradNorms.push(fit.gradNorm);
    for (let i = 0; i < H; i++) {
      if (!activeMask[i]) continue;
      let s = 0;
      for (let a = 0; a < P; a++) s += theta[i * P + a] ** 2;
      const rho = Math.sqrt(s);
      for (let a = 0; a < P; a++) dir[i][a] = theta[i * P + a] / rho;
      z[i] = (2 - kappa) * Math.log(rho);
    }
    const lossAfter = updateResidual();
    jumps.push({ time: u * reportT, rescaledTime: u, neuron: iNew, lossAfter, deactivated });
    opts.onProgress?.({ jumps: jumps.length, rescaledTime: u, loss: lossAfter, initialLoss });
    activeSets.push(Array.from({ length: H }, (_, i) => i).filter((i) => activeMask[i]));
    states.push(Float64Array.from(theta, (v, q) => (activeMask[Math.floor(q / P)] ? v : 0)));
    if (lossAfter <= lossTol * initialLoss) status = 'zero-loss';
  }
  if (status === 'max-jumps' && jumps.length < maxJumps) { status = 'no-positive-utility'; fitLast(); }
  return {
    model: p.model.spec.name,
    method: 'agf',
    conventions: {
      ...p.conventions,
      ...(opts.limit ? { alpha: 0 } : {}),
      time: opts.limit
        ? `alpha → 0 limit (the rescaled ODE started at alpha = ${MIN_ALPHA}, O(alpha) corrections below round-off): rescaledTime = t/T_κ(alpha) is primary; time = rescaledTime·T_κ(alpha) at the problem alpha, T_κ(alpha) = (alpha^(2−κ) − 1)/(κ − 2), κ = ${kappa}`
        : `flow time; rescaledTime = time / ((alpha^(2−κ) − 1)/(κ − 2)), κ = ${kappa}`,
    },
    initialLoss,
    jumps,
    extra: {
      kappa,
      solver: `direction flow on the sphere (dop853, rescaled clock)${opts.limit ? `, alpha → 0 limit (the rescaled ODE from alpha = ${MIN_ALPHA})` : ''}${opts.fitRelax !== undefined ? ` + cost minimisation: masked flow (${opts.fitRtol !== undefined ? `adaptive RKC, rtol ${opts.fitRtol}, stopped at a critical point` : 'RKC'}) for ${opts.fitRtol !== undefined ? 'at most ' : ''}${opts.fitRelax} flow-time units, ${cost.maxIter ? 'L-BFGS, ' : ''}${cost.maskedFlow?.newtonIter ? `≤ ${cost.maskedFlow.newtonIter} Newton steps (≤ ${NEWTON_MAX_PARAMS} active parameters), ` : ''}each neuron moved back along its rescaling orbits to its conserved quantities` : ' + L-BFGS cost minimisation'}${opts.fitFinal ? `; the last fit then ≤ ${opts.fitFinal} L-BFGS iterations` : ''}`,
      status,
      ...(status !== 'zero-loss' ? { stopReason: status === 'max-jumps' ? `stopped after maxJumps = ${maxJumps} jumps` : `no dormant neuron can still grow; the loss stays at ${formatNumber(jumps.at(-1)?.lossAfter ?? initialLoss)}` } : {}),
      ...withWarning([transientOnly ? transientFitNote(fitGradNorms, cost, opts.fitRelax!, finalFit) : unconvergedFitWarning(fitGradNorms, cost), rejectedNote(rejected)].filter((w) => w).join('; ') || undefined),
      ...(finalFit ? { finalFit } : {}),
      ...(rejected.length ? { rejectedPolish: rejected.map((k) => k + 1) } : {}),
      fitGradNorms,
      activeSets,
      odeSteps,
      costEvaluations,
      finalTheta: Array.from(theta),
      states,
      // every neuron's state: active ones their fit, dormant ones direction × ‖θ‖ = q^{1/(2−κ)} (its
      // size at the problem's alpha, or at MIN_ALPHA in the limit)
      finalDormant: Array.from({ length: H * P }, (_, q) => {
        const i = Math.floor(q / P);
        return activeMask[i] ? theta[q] : dir[i][q - i * P] * Math.exp(z[i] / (2 - kappa));
      }),
    },
  };
}

/** The fits-are-transients note: what each fit is, and how far from a critical point they ended. */
function transientFitNote(fitGradNorms: number[], o: CostOptions, relax: number, last: { iterations: number; gradNorm: number } | null): string | undefined {
  const earlier = last ? fitGradNorms.slice(0, -1) : fitGradNorms;
  const off = earlier.filter((g) => g > 100 * o.gtol);
  const lastOff = last !== null && last.gradNorm > 100 * o.gtol;
  if (!off.length && !lastOff) return undefined;
  const parts: string[] = [];
  if (off.length) parts.push(`each fit is the masked flow for ${relax} flow-time units only (no L-BFGS or Newton after it); ${off.length} of ${earlier.length} ended away from a critical point (‖∇L‖ up to ${formatNumber(Math.max(...off), 3)}; tolerance ${formatNumber(o.gtol, 3)}), so those plateau levels are the masked flow's after ${relax} time units, not a minimum's (agf --fit-relax ${relax}${o.maskedFlow?.rtol !== undefined ? ` --fit-rtol ${o.maskedFlow.rtol}` : ''} --fit-iter N --fit-newton M adds L-BFGS and Newton after it; --fit-final N takes the last fit to the minimum)`);
  if (last && lastOff) parts.push(`the last fit stopped after ${last.iterations} L-BFGS iterations at ‖∇L‖ = ${formatNumber(last.gradNorm, 3)} (tolerance ${formatNumber(o.gtol, 3)})`);
  return parts.join('; ');
}

function rejectedNote(rejected: number[]): string | undefined {
  if (!rejected.length) return undefined;
  const jumps = [...new Set(rejected.map((k) => k + 1))];
  return `at jump${jumps.length > 1 ? 's' : ''} ${jumps.join(', ')} L-BFGS/Newton left the masked flow's reach (a neuron grew past 4× its norm: no critical point in reach, the loss falls along a valley to infinity), so the fit kept the masked flow's end point`;
}

function timeScale(kappa: number, alpha: number): number {
  // (α^{2−κ} − 1)/(κ − 2) without overflow for tiny α: computed through its logarithm when large
  const l = (2 - kappa) * Math.log(alpha);
  return l > 700 ? Math.exp(l - Math.log(kappa - 2)) : Math.expm1(l) / (kappa - 2);
}
