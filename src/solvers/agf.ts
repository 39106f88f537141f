/**
 * Generic Alternating Gradient Flows (theory.md §3) for any model that is a sum of
 * κ-homogeneous neurons, written against the Kernels API only (neuronOutputs for utilities,
 * vjpMean with E = r for their gradients, lossGrad with a mask for cost minimisation).
 *
 * State per neuron: a unit direction θ̄_i, a radial coordinate q_i and an active flag.
 *   κ = 2: q = log‖θ‖,       dq/dt = 2Û,            activation at q = 0   (‖θ‖ = 1)
 *   κ > 2: q = ‖θ‖^{2−κ},     dq/dt = −κ(κ−2)Û,      activation at q = 1
 * and dθ̄/dt = ‖θ‖^{κ−2} P⊥∇Û (theory.md §3). Accumulated utility S_i = ∫κÛ is q − q(0) (κ = 2)
 * or (q(0) − q)/(κ − 2) (κ > 2), so the threshold S_i = −log‖θ_i(0)‖ (resp.
 * (‖θ_i(0)‖^{2−κ} − 1)/(κ − 2)) is the event q = q*. Tracking q instead of ‖θ‖ keeps α = 1e-100
 * representable.
 *
 * Rules this solver fixes (theory.md leaves them open):
 * - An activating neuron enters cost minimisation at ‖θ‖ = 1 along its direction.
 * - Cost minimisation is the masked gradient flow over the active set (or the model's
 *   agfCostMin hook), polished by Newton steps once the flow is in the basin. Its duration is
 *   not counted: it is instantaneous on the slow time scale.
 * - Collapse: an active neuron whose norm falls below ρ_c,i = max(sqrt(‖θ_i(0)‖), 1e-3) (the
 *   geometric mean of its initial α-scale and the activation scale 1, floored above the level
 *   integrator drift lets a collapsing neuron reach; see AGF_COLLAPSE_FLOOR) during cost
 *   minimisation — or is seen heading there (collapsingNeuron) — returns to the dormant set
 *   keeping its accumulated state. The shrinking itself takes O(log 1/α) flow
 *   time, so it belongs to the slow time scale: it is replayed by the dormant dynamics (its
 *   utility is now negative, so it shrinks, turns and regrows) rather than skipped. Which state
 *   it resumes from is `returnState`:
 *     'activation' (default): the dormant state it had when it activated (direction θ̄_i and
 *       S_i at the threshold, norm 1) — theory.md's "keeping their accumulated state", and the
 *       bookkeeping of the closed-form diagonal AGF (agf-diagonal.ts: ψ_i = σ_i·A, c_i = −A);
 *     'saddle': its direction and norm at the saddle before this cost minimisation — what the
 *       real flow does (for the diagonal model ‖θ_i‖² = 2|β_i| there), an O(1) flow-time shift.
 *   The fit then continues without it; repeated until no active neuron collapses.
 * - Stop when no dormant neuron has positive utility and every dormant direction is stationary
 *   (to utilTol relative to the larger of the initial utility gradients and rms(y)·rms(x)),
 *   when the loss is below
 *   lossTol·L(0), or after maxJumps jumps.
 *
 * Limitation (floating point, not the method): a neuron whose utility turns negative after it
 * has grown to norm ρ — one returned to the dormant set, or a dormant one whose residual
 * correlation changed sign — sits O((ρ0/ρ)²) away from the minimiser of its new utility on the
 * sphere (diagonal model: cos 2φ = 2α²/ρ², fixed by the conserved u² − v²). Its escape time
 * depends on that offset, which double precision (and the ODE's absolute tolerance) resolves to
 * 1e-6 of a plateau only while ρ/ρ0 ≲ 3e3. So re-activation after a deactivation is reliable
 * for α ≳ 1e-5, and a sign change of a dormant neuron's utility for modest growth; activations
 * of neurons whose utility never changes sign are exact for any α (tested to α = 1e-100). Both cases are detected and flagged
 * (extra.precisionLimited, extra.warning; status 'precision-limited' when a neuron stalls).
 *
 * Times: flow time (unit learning rate, loss (1/2n)Σ‖r‖²). rescaledTime = time / T_κ(α) with
 * T_κ(α) = ∫_α^1 s^{1−κ} ds: log(1/α) for κ = 2 and (α^{2−κ} − 1)/(κ − 2) for κ > 2, the time a
 * unit-utility neuron of norm α needs to reach norm 1, so rescaled times have an α → 0 limit.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';
import { Matrix, pseudoInverse } from 'ml-matrix';
import { integrate } from './ode/index.ts';
import type { OdeEvent } from './ode/types.ts';

/**
 * Collapse level floor: a collapsing neuron bottoms out at the square root of its conserved
 * quantity (u² − v² for the diagonal model), and an explicit integrator's drift of that
 * quantity (~1e-8 over a cost minimisation at rtol 1e-12) puts the bottom near 1e-4 whatever
 * α is. 1e-3 stays above it and far below any fitted neuron that matters (‖θ‖² = 2|β| ≥ 2e-6).
 */
export const AGF_COLLAPSE_FLOOR = 1e-3;
/** The masked flow stops once relative gradients fall this far below their value at the start; Newton polishes the rest. */
const POLISH_FROM = 1e-2;
/** Steps between checks that the masked loss is still decreasing. */
const STALL_WINDOW = 2000;
/** Newton steps longer than this fraction of a neuron's norm are refused (basin safeguard). */
const NEWTON_MAX_STEP = 0.25;
/** Offsets from a utility minimiser below this are resolved too coarsely for 1e-6 jump times. */
const SUSPECT_OFFSET = 1e-7;

export interface AgfOptions {
  /** Stop after this many jumps (default 4·H + 10). */
  maxJumps?: number;
  /** Relative tolerance of the utility-maximisation and cost-minimisation ODEs (default 1e-12). */
  rtol?: number;
  /** Dormant utilities and sphere gradients below utilTol·(initial scale) count as zero (default 1e-12). */
  utilTol?: number;
  /** Loss below lossTol·L(0) counts as zero (default 1e-12). */
  lossTol?: number;
  /** Cost minimisation stops when every active neuron has ‖∇_i L‖/‖θ_i‖ ≤ gradTol·(scale) (default 1e-11). */
  gradTol?: number;
  /** Initial state (default p.theta0). */
  theta0?: Float64Array;
  /** Use the model's agfCostMin hook when it has one (default true). */
  useHook?: boolean;
  /** State a collapsed neuron resumes from (see the header): 'activation' (default) or 'saddle'. */
  returnState?: 'activation' | 'saddle';
}

export interface AgfNeuronState {
  active: boolean;
  /** Unit direction θ̄_i. */
  direction: Float64Array;
  /** log‖θ_i‖ (κ = 2) or ‖θ_i‖^{2−κ} (κ > 2). */
  q: number;
  /** Accumulated utility S_i = ∫ κ Û_i dt since t = 0. */
  S: number;
}

/** T_κ(α) = ∫_α^1 s^{1−κ} ds: log(1/α) for κ = 2, (α^{2−κ} − 1)/(κ − 2) for κ > 2. */
export function agfTimeScale(kappa: number, alpha: number): number {
  if (kappa === 2) return Math.log(1 / alpha);
  return (Math.pow(alpha, 2 - kappa) - 1) / (kappa - 2);
}

/** Activation threshold on accumulated utility for a neuron of initial norm rho0 (theory.md §3). */
export function activationThreshold(kappa: number, rho0: number): number {
  return kappa === 2 ? -Math.log(rho0) : (Math.pow(rho0, 2 - kappa) - 1) / (kappa - 2);
}

function checkModel(p: Problem): number {
  const kappa = p.derived.kappa;
  if (kappa === null) throw new GradflowError(`agf: model '${p.model.spec.name}' is not a sum of homogeneous neurons (f_i(x; sθ) ≠ s^κ f_i(x; θ)); AGF needs κ-homogeneous neurons`);
  if (!(kappa >= 2)) throw new GradflowError(`agf: model '${p.model.spec.name}' has homogeneity degree κ = ${kappa}; AGF needs κ ≥ 2 (κ < 2 neurons do not plateau near the origin)`);
  return kappa;
}

/** Scalar-parameter neurons (diagonal: u·v) carry a sign: that of the product of their parameters. */
function neuronSign(p: Problem, theta: Float64Array, i: number): number | undefined {
  const { P, params } = p.layout;
  if (!params.every((s) => s.size === 1)) return undefined;
  let prod = 1;
  for (let k = 0; k < P; k++) prod *= theta[i * P + k];
  return Math.sign(prod);
}

interface Workspace {
  packed: Float64Array;
  grad: Float64Array;
  outs: Float64Array;
}

/** Û_i and ∇Û_i at unit directions (packed neuron-major), for the neurons in mask, against residual r. */
function utilities(p: Problem, packed: Float64Array, r: Float64Array, mask: Uint8Array, ws: Workspace, U: Float64Array): void {
  const { X, n } = p.data;
  const { H, c } = p.layout;
  p.kernels.neuronOutputs(packed, X, n, ws.outs);
  for (let i = 0; i < H; i++) {
    if (!mask[i]) continue;
    let s = 0;
    const base = i * n * c;
    for (let q = 0; q < n * c; q++) s += ws.outs[base + q] * r[q];
    U[i] = s / n;
  }
  p.kernels.vjpMean(packed, X, r, n, ws.grad, mask);
}

export function solveAgf(p: Problem, opts: AgfOptions = {}): JumpSchedule {
  const kappa = checkModel(p);
  const { H, P } = p.layout;
  const { X, Y, n } = p.data;
  const c = p.layout.c;
  const rtol = opts.rtol ?? 1e-12;
  const utilTolRel = opts.utilTol ?? 1e-12;
  const lossTolRel = opts.lossTol ?? 1e-12;
  const gradTolRel = opts.gradTol ?? 1e-11;
  const maxJumps = opts.maxJumps ?? 4 * H + 10;
  const qStar = kappa === 2 ? 0 : 1;
  const theta0 = opts.theta0 ?? p.theta0;
  if (theta0.length !== H * P) throw new GradflowError(`agf: initial state has ${theta0.length} entries, the model has ${H * P}`);

  const rho0 = new Float64Array(H);
  const rhoCollapse = new Float64Array(H);
  const neurons: AgfNeuronState[] = [];
  const usable = new Uint8Array(H);
  for (let i = 0; i < H; i++) {
    let s = 0;
    for (let k = 0; k < P; k++) s += theta0[i * P + k] ** 2;
    const rho = Math.sqrt(s);
    rho0[i] = rho;
    if (rho >= 1) throw new GradflowError(`agf: neuron ${i} starts with norm ${rho} ≥ 1; AGF describes small initialisations (choose alpha so that every neuron starts well inside the unit ball)`);
    const dir = new Float64Array(P);
    // a neuron at exactly 0 stays there under the flow (∇_θ f_i = 0 at the origin for κ ≥ 2)
    if (rho > 0) for (let k = 0; k < P; k++) dir[k] = theta0[i * P + k] / rho;
    usable[i] = rho > 0 ? 1 : 0;
    rhoCollapse[i] = Math.max(Math.sqrt(rho), AGF_COLLAPSE_FLOOR);
    neurons.push({ active: false, direction: dir, q: rho > 0 ? qOfRho(rho) : -Infinity, S: 0 });
  }
  function qOfRho(rho: number): number {
    return kappa === 2 ? Math.log(rho) : Math.pow(rho, 2 - kappa);
  }
  function rhoOfQ(q: number): number {
    return kappa === 2 ? Math.exp(q) : Math.pow(q, 1 / (2 - kappa));
  }
  function sOf(i: number, q: number): number {
    const q0 = qOfRho(rho0[i]);
    return kappa === 2 ? q - q0 : (q0 - q) / (kappa - 2);
  }

  const ws: Workspace = { packed: new Float64Array(H * P), grad: new Float64Array(H * P), outs: new Float64Array(H * n * c) };
  const Ubuf = new Float64Array(H);
  const theta = new Float64Array(H * P); // active neurons' parameters; dormant entries 0
  const activeMask = new Uint8Array(H);
  const residual = new Float64Array(n * c);
  const fwd = new Float64Array(n * c);
  const lossOfActive = (): number => p.kernels.loss(theta, X, Y, n, activeMask);
  const updateResidual = (): void => {
    p.kernels.forward(theta, X, n, fwd, activeMask);
    for (let q = 0; q < n * c; q++) residual[q] = Y[q] - fwd[q];
  };

  const initialLoss = p.kernels.loss(theta, X, Y, n, new Uint8Array(H));
  updateResidual();
  // scale for "zero utility": the largest utility gradient over the initial directions
  const allDormant = Uint8Array.from(usable);
  for (let i = 0; i < H; i++) ws.packed.set(neurons[i].direction, i * P);
  utilities(p, ws.packed, residual, allDormant, ws, Ubuf);
  // the initial directions may be nearly orthogonal to every useful one (tiny gradients), so
  // the data scale rms(y)·rms(x) — the size of ∇U for a unit linear neuron — is a floor
  let uScale = 0;
  for (let q = 0; q < H * P; q++) uScale = Math.max(uScale, Math.abs(ws.grad[q]));
  let xx = 0;
  for (let q = 0; q < X.length; q++) xx += X[q] * X[q];
  uScale = Math.max(uScale, Math.sqrt(2 * initialLoss) * Math.sqrt(xx / n));
  if (!(uScale > 0)) uScale = 1;
  const utilTol = utilTolRel * uScale;

  const atActivation: (Float64Array | undefined)[] = new Array(H).fill(undefined);
  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  const utilitySnapshots: number[][] = [];
  let time = 0;
  let status: 'zero-loss' | 'no-positive-utility' | 'precision-limited' | 'max-jumps' = 'max-jumps';
  /** Returned neurons that stalled at a non-maximum of their utility (see notAMaximum). */
  const unresolved: number[] = [];
  /** Dormant neurons whose utility turned negative far above their start (their re-growth time is round-off limited). */
  const suspect: number[] = [];
  let odeSteps = 0;
  let costSteps = 0;

  if (initialLoss === 0) status = 'zero-loss';
  while (status === 'max-jumps' && jumps.length < maxJumps) {
    // ---- utility maximisation over the dormant neurons
    const dormant: number[] = [];
    for (let i = 0; i < H; i++) if (usable[i] && !neurons[i].active) dormant.push(i);
    if (dormant.length === 0) {
      status = 'no-positive-utility';
      break;
    }
    const m = dormant.length;
    const dmask = new Uint8Array(H);
    for (const i of dormant) dmask[i] = 1;
    const y0 = new Float64Array(m * P + m);
    dormant.forEach((i, k) => {
      y0.set(neurons[i].direction, k * P);
      y0[m * P + k] = neurons[i].q;
    });
    ws.packed.fill(0);
    const evalPacked = (y: Float64Array): void => {
      for (let k = 0; k < m; k++) {
        let s = 0;
        for (let a = 0; a < P; a++) s += y[k * P + a] ** 2;
        const inv = 1 / Math.sqrt(s);
        const i = dormant[k];
        for (let a = 0; a < P; a++) ws.packed[i * P + a] = y[k * P + a] * inv;
      }
      utilities(p, ws.packed, residual, dmask, ws, Ubuf);
    };
    const uNow = new Float64Array(m);
    const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => {
      evalPacked(y);
      for (let k = 0; k < m; k++) {
        const i = dormant[k];
        const U = Ubuf[i];
        let radial = 0, ny = 0;
        for (let a = 0; a < P; a++) {
          radial += ws.grad[i * P + a] * ws.packed[i * P + a];
          ny += y[k * P + a] ** 2;
        }
        const q = y[m * P + k];
        const fac = kappa === 2 ? 1 : 1 / q; // ‖θ‖^{κ−2} = 1/q for κ > 2
        const scale = Math.sqrt(ny) * fac;
        for (let a = 0; a < P; a++) dy[k * P + a] = scale * (ws.grad[i * P + a] - radial * ws.packed[i * P + a]);
        uNow[k] = U;
        dy[m * P + k] = kappa === 2 ? 2 * U : -kappa * (kappa - 2) * U;
      }
    };
    // A neuron already past threshold with positive utility (possible only for one restored above norm 1) jumps at once.
    const dy0 = new Float64Array(y0.length);
    rhs(0, y0, dy0);
    // A dormant neuron whose utility turned negative after it grew by R = ‖θ‖/‖θ(0)‖ sits
    // ~1/R² from the minimiser of its utility on the sphere; once that offset nears round-off
    // its later re-growth time is unreliable (see the header).
    dormant.forEach((i, k) => {
      // a neuron still at its start keeps its given direction exactly: nothing was lost
      if (!(uNow[k] < -utilTol) || suspect.includes(i) || rhoOfQ(y0[m * P + k]) < 10 * rho0[i]) return;
      let gn = 0, tn = 0;
      for (let a = 0; a < P; a++) {
        gn += ws.grad[i * P + a] ** 2;
        tn += dy0[k * P + a] ** 2;
      }
      const fac = kappa === 2 ? 1 : 1 / y0[m * P + k];
      // offset from the minimiser ε ≈ ‖P⊥∇Û‖/‖∇Û‖; ODE (atol 1e-2·rtol) and round-off errors of
      // ~1e-14 in it shift the escape by ~1e-14/ε of a plateau: flag where that exceeds ~1e-6
      if (Math.sqrt(tn) / fac < SUSPECT_OFFSET * Math.sqrt(gn)) suspect.push(i);
    });
    let immediate = -1;
    for (let k = 0; k < m; k++) {
      const past = kappa === 2 ? y0[m * P + k] >= qStar : y0[m * P + k] <= qStar;
      if (past && uNow[k] > utilTol) immediate = k;
    }
    let dt = 0;
    let winner = -1;
    let yEnd: Float64Array = y0;
    if (immediate >= 0) winner = immediate;
    else {
      const events: OdeEvent[] = dormant.map((i, k) => ({
        name: String(i),
        g: kappa === 2 ? (_t: number, y: Float64Array) => y[m * P + k] - qStar : (_t: number, y: Float64Array) => qStar - y[m * P + k],
        direction: 1 as const,
        terminal: true,
      }));
      const sol = integrate('dopri5', rhs, 0, y0, 1e15, {
        rtol,
        atol: rtol * 1e-2,
        events,
        maxSteps: 200_000,
        stopWhen: (_t, y, dy) => {
          for (let k = 0; k < m; k++) {
            const dq = dy[m * P + k];
            const U = kappa === 2 ? dq / 2 : -dq / (kappa * (kappa - 2));
            if (U > utilTol) return false;
            let ny = 0, nd = 0;
            for (let a = 0; a < P; a++) {
              ny += y[k * P + a] ** 2;
              nd += dy[k * P + a] ** 2;
            }
            const fac = kappa === 2 ? 1 : 1 / y[m * P + k];
            if (Math.sqrt(nd / ny) / fac > utilTol) return false;
          }
          return true;
        },
      });
      odeSteps += sol.stats.steps;
      if (sol.status !== 'event') {
        status = 'no-positive-utility';
        const yS = sol.y[sol.y.length - 1];
        dormant.forEach((i, k) => {
          if (atActivation[i] && notAMaximum(i, yS.subarray(k * P, (k + 1) * P))) unresolved.push(i);
        });
        if (unresolved.length) status = 'precision-limited';
        break;
      }
      const hit = sol.events[sol.events.length - 1];
      dt = hit.t;
      winner = dormant.indexOf(Number(hit.name));
      yEnd = hit.y;
    }
    time += dt;
    // advance every dormant neuron to the jump time
    dormant.forEach((i, k) => {
      const dir = yEnd.subarray(k * P, (k + 1) * P);
      let s = 0;
      for (let a = 0; a < P; a++) s += dir[a] * dir[a];
      const inv = 1 / Math.sqrt(s);
      for (let a = 0; a < P; a++) neurons[i].direction[a] = dir[a] * inv;
      neurons[i].q = yEnd[m * P + k];
      neurons[i].S = sOf(i, neurons[i].q);
    });
    const iNew = dormant[winner];
    neurons[iNew].q = qStar; // lands exactly on the threshold
    neurons[iNew].S = sOf(iNew, qStar);
    atActivation[iNew] = neurons[iNew].direction.slice();

    // ---- cost minimisation over the active set plus the new neuron at norm 1
    const saddle = theta.slice(); // pre-jump saddle state of the active neurons, restored on collapse
    neurons[iNew].active = true;
    activeMask[iNew] = 1;
    for (let a = 0; a < P; a++) theta[iNew * P + a] = neurons[iNew].direction[a];
    saddle.set(theta.subarray(iNew * P, (iNew + 1) * P), iNew * P);
    const deactivated = costMinimise(saddle);
    updateResidual();
    const lossAfter = lossOfActive();
    for (let i = 0; i < H; i++) {
      if (!neurons[i].active) continue;
      let s = 0;
      for (let a = 0; a < P; a++) s += theta[i * P + a] ** 2;
      const rho = Math.sqrt(s);
      for (let a = 0; a < P; a++) neurons[i].direction[a] = theta[i * P + a] / rho;
      neurons[i].q = qOfRho(rho);
      neurons[i].S = sOf(i, neurons[i].q);
    }
    jumps.push({
      time,
      rescaledTime: time / agfTimeScale(kappa, p.alpha),
      neuron: iNew,
      sign: neuronSign(p, theta, iNew),
      lossAfter,
      deactivated,
    });
    const act: number[] = [];
    for (let i = 0; i < H; i++) if (activeMask[i]) act.push(i);
    activeSets.push(act);
    utilitySnapshots.push(neurons.map((nu) => nu.S));
    if (lossAfter <= lossTolRel * initialLoss) status = 'zero-loss';
  }

  /**
   * Masked gradient flow to a critical point of L over the active set. Returns the neurons that
   * collapsed (restored to their pre-jump saddle state and made dormant).
   */
  function costMinimise(saddle: Float64Array): number[] {
    const deactivated: number[] = [];
    for (let round = 0; round <= H; round++) {
      let collapsed = -1;
      if (opts.useHook !== false && p.model.agfCostMin) {
        const fitted = p.model.agfCostMin(p, theta.slice(), activeMask.slice());
        theta.set(fitted);
        for (let i = 0; i < H; i++) if (activeMask[i] && normOf(theta, i) < rhoCollapse[i]) { collapsed = i; break; }
      } else {
        // the flow finds the basin (and any collapse); Newton then converges quadratically
        // where the flow would crawl along the masked loss's small Hessian eigenvalues
        collapsed = maskedFlow(Math.max(POLISH_FROM * movement(), gradTolRel * uScale));
        if (collapsed < 0 && !newtonPolish()) collapsed = maskedFlow(gradTolRel * uScale);
      }
      if (collapsed < 0) break;
      deactivated.push(collapsed);
      activeMask[collapsed] = 0;
      neurons[collapsed].active = false;
      const back = atActivation[collapsed];
      if (opts.returnState === 'saddle' || !back) {
        const rho = normOf(saddle, collapsed);
        for (let a = 0; a < P; a++) neurons[collapsed].direction[a] = saddle[collapsed * P + a] / rho;
        neurons[collapsed].q = qOfRho(rho);
      } else {
        neurons[collapsed].direction.set(back);
        neurons[collapsed].q = qStar;
      }
      for (let a = 0; a < P; a++) theta[collapsed * P + a] = 0;
      neurons[collapsed].S = sOf(collapsed, neurons[collapsed].q);
    }
    return deactivated;
  }

  /**
   * A returned neuron can stall at a minimiser or saddle of its utility on the sphere because
   * its O(α²) deviation from it is below round-off; in exact arithmetic it would escape. Probe
   * the sphere around it: any direction raising Û means the stop is not a true one.
   */
  function notAMaximum(i: number, dirRaw: Float64Array): boolean {
    const mask = new Uint8Array(H);
    mask[i] = 1;
    const probe = new Float64Array(H * P);
    const base = Float64Array.from(dirRaw);
    const nb = Math.hypot(...base);
    for (let a = 0; a < P; a++) base[a] /= nb;
    const U = new Float64Array(H);
    const value = (d: Float64Array): number => {
      probe.set(d, i * P);
      utilities(p, probe, residual, mask, ws, U);
      return U[i];
    };
    const u0 = value(base);
    const h = 1e-3;
    const tries = Math.min(P, 64);
    for (let a = 0; a < tries; a++) {
      for (const sgn of [1, -1]) {
        const d = base.slice();
        d[a] += sgn * h;
        const nd = Math.hypot(...d);
        for (let b = 0; b < P; b++) d[b] /= nd;
        if (value(d) - u0 > 1e-9 * uScale) return true;
      }
    }
    return false;
  }

  function normOf(v: Float64Array, i: number): number {
    let s = 0;
    for (let a = 0; a < P; a++) s += v[i * P + a] ** 2;
    return Math.sqrt(s);
  }

  /** Largest relative gradient ‖∇_i L‖/‖θ_i‖ over the active neurons: the pace of this cost minimisation. */
  function movement(): number {
    const g = new Float64Array(H * P);
    p.kernels.lossGrad(theta, X, Y, n, g, activeMask);
    let m = 0;
    for (let i = 0; i < H; i++) {
      if (!activeMask[i]) continue;
      let gs = 0;
      for (let a = 0; a < P; a++) gs += g[i * P + a] ** 2;
      m = Math.max(m, Math.sqrt(gs) / Math.max(normOf(theta, i), 1e-300));
    }
    return m;
  }

  /** Whether some active neuron is still shrinking (a slow collapse must not pass for a stall). */
  function hasShrinking(y: Float64Array, dy: Float64Array): boolean {
    for (let i = 0; i < H; i++) {
      if (!activeMask[i]) continue;
      let radial = 0;
      for (let a = 0; a < P; a++) radial += dy[i * P + a] * y[i * P + a];
      const rho = normOf(y, i);
      if (radial / (rho * rho) < -1e-6 * uScale) return true;
    }
    return false;
  }

  function activeConverged(y: Float64Array, g: Float64Array, gradTol: number): boolean {
    for (let i = 0; i < H; i++) {
      if (!activeMask[i]) continue;
      let gs = 0;
      for (let a = 0; a < P; a++) gs += g[i * P + a] ** 2;
      if (Math.sqrt(gs) > gradTol * Math.max(normOf(y, i), 1e-300)) return false;
    }
    return true;
  }

  /**
   * Newton iterations on the active parameters, Hessian by central differences of ∇L and a
   * pseudo-inverse (rescaling symmetries make it singular at the minimum). True when the
   * tight gradient tolerance is reached without any active neuron falling below its collapse level.
   */
  function newtonPolish(): boolean {
    const idx: number[] = [];
    for (let i = 0; i < H; i++) if (activeMask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
    const N = idx.length;
    const g = new Float64Array(H * P), gp = new Float64Array(H * P), gm = new Float64Array(H * P);
    const gradTol = gradTolRel * uScale;
    const trial = theta.slice();
    const start = theta.slice();
    // Newton may only refine the flow's fit: a neuron that shrinks or turns a lot is on its way
    // to collapse (or to another basin), which only the flow may decide
    const stillRefining = (): boolean => {
      for (let i = 0; i < H; i++) {
        if (!activeMask[i]) continue;
        const r0 = normOf(start, i), r1 = normOf(theta, i);
        if (r1 < 0.5 * r0) return false;
        let dot = 0;
        for (let a = 0; a < P; a++) dot += start[i * P + a] * theta[i * P + a];
        if (dot < 0.9 * r0 * r1) return false;
      }
      return true;
    };
    for (let it = 0; it < 30; it++) {
      const L = p.kernels.lossGrad(theta, X, Y, n, g, activeMask);
      if (activeConverged(theta, g, gradTol)) return true;
      const Hm = new Matrix(N, N);
      for (let c2 = 0; c2 < N; c2++) {
        const q = idx[c2];
        const h = 1e-5 * Math.max(1, Math.abs(theta[q]));
        const keep = theta[q];
        theta[q] = keep + h;
        p.kernels.lossGrad(theta, X, Y, n, gp, activeMask);
        theta[q] = keep - h;
        p.kernels.lossGrad(theta, X, Y, n, gm, activeMask);
        theta[q] = keep;
        for (let r2 = 0; r2 < N; r2++) Hm.set(r2, c2, (gp[idx[r2]] - gm[idx[r2]]) / (2 * h));
      }
      const Hs = Hm.add(Hm.transpose()).mul(0.5);
      const rhs = Matrix.columnVector(idx.map((q) => -g[q]));
      const step = pseudoInverse(Hs, 1e-10).mmul(rhs);
      // a long step may leap into another basin (e.g. flip a neuron's sign through the origin,
      // which the flow can only do slowly, i.e. by collapsing): leave those cases to the flow
      const stepNorm = new Float64Array(H);
      idx.forEach((q, r2) => { stepNorm[Math.floor(q / P)] += step.get(r2, 0) ** 2; });
      for (let i = 0; i < H; i++) {
        if (activeMask[i] && Math.sqrt(stepNorm[i]) > NEWTON_MAX_STEP * normOf(theta, i)) {
          theta.set(start);
          return false;
        }
      }
      let t = 1;
      let accepted = false;
      for (let ls = 0; ls < 20; ls++) {
        trial.set(theta);
        idx.forEach((q, r2) => { trial[q] += t * step.get(r2, 0); });
        const Lt = p.kernels.loss(trial, X, Y, n, activeMask);
        if (Lt <= L + 1e-14 * Math.max(L, 1e-300)) {
          accepted = true;
          break;
        }
        t *= 0.5;
      }
      if (!accepted) {
        theta.set(start);
        return false;
      }
      theta.set(trial);
      if (!stillRefining()) {
        theta.set(start);
        return false;
      }
    }
    p.kernels.lossGrad(theta, X, Y, n, g, activeMask);
    return activeConverged(theta, g, gradTol);
  }

  /**
   * A collapse seen before it completes (it takes O(log 1/ρ_c) flow time, thousands of stiff
   * steps): every other active neuron has settled, this one's direction has settled but it
   * shrinks, and its utility against the residual of the others, U_i(θ̄_i; y − Σ_{j≠i} f_j), is
   * negative — so its best size along that direction is 0 and the flow will take it there.
   * (A neuron settling onto a non-zero size has positive utility against the others' residual.)
   */
  function collapsingNeuron(y: Float64Array, dy: Float64Array, gradTol: number): number {
    let candidate = -1;
    let worstRate = 0;
    for (let i = 0; i < H; i++) {
      if (!activeMask[i]) continue;
      const rho = normOf(y, i);
      let gs = 0, radial = 0;
      for (let a = 0; a < P; a++) {
        gs += dy[i * P + a] ** 2;
        radial += dy[i * P + a] * y[i * P + a];
      }
      if (Math.sqrt(gs) <= gradTol * rho) continue; // settled
      const rate = radial / (rho * rho); // d log ρ / dt
      const tang = Math.sqrt(Math.max(0, gs - (radial * radial) / (rho * rho))) / rho;
      if (candidate >= 0 || !(rate < 0) || tang > gradTol) return -1; // more than one mover, or not a pure shrink
      candidate = i;
      worstRate = rate;
    }
    if (candidate < 0 || !(worstRate < 0)) return -1;
    const others = activeMask.slice();
    others[candidate] = 0;
    const f = new Float64Array(n * c);
    p.kernels.forward(y, X, n, f, others);
    const r = new Float64Array(n * c);
    for (let q = 0; q < n * c; q++) r[q] = Y[q] - f[q];
    const outs = new Float64Array(H * n * c);
    p.kernels.neuronOutputs(y, X, n, outs);
    let U = 0;
    for (let q = 0; q < n * c; q++) U += outs[candidate * n * c + q] * r[q];
    return U < 0 ? candidate : -1;
  }

  /**
   * Runs the masked flow until every active neuron's relative gradient ‖∇_i L‖/‖θ_i‖ is below
   * gradTol (−1) or until an active neuron collapses (its index).
   */
  function maskedFlow(gradTol: number): number {
    const g = new Float64Array(H * P);
    const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => {
      p.kernels.lossGrad(y, X, Y, n, g, activeMask);
      for (let q = 0; q < dy.length; q++) dy[q] = -g[q];
    };
    const act: number[] = [];
    for (let i = 0; i < H; i++) if (activeMask[i]) act.push(i);
    let minRc = Infinity;
    for (const i of act) minRc = Math.min(minRc, rhoCollapse[i]);
    // one event for all neurons (per-step cost): the smallest norm relative to its collapse level
    const lowest = (y: Float64Array): { i: number; v: number } => {
      let best = { i: -1, v: Infinity };
      for (const i of act) {
        const v = Math.log(normOf(y, i) / rhoCollapse[i]);
        if (v < best.v) best = { i, v };
      }
      return best;
    };
    const events: OdeEvent[] = [{ name: 'collapse', g: (_t: number, y: Float64Array) => lowest(y).v, direction: -1, terminal: true }];
    let early = -1;
    let calls = 0, stalls = 0, lastL = Infinity;
    const sol = integrate('dopri5', rhs, 0, theta.slice(), 1e12, {
      rtol: Math.max(rtol, 1e-13),
      atol: rtol * 1e-3 * minRc,
      events,
      maxSteps: 500_000,
      stopWhen: (_t, y, dy) => {
        if (activeConverged(y, dy, gradTol)) return true;
        // a round-off floor above gradTol: the loss has stopped moving over two windows
        if (++calls % STALL_WINDOW === 0) {
          const L = p.kernels.loss(y, X, Y, n, activeMask);
          stalls = lastL - L <= 1e-15 * Math.abs(lastL) ? stalls + 1 : 0;
          lastL = L;
          if (stalls >= 2 && !hasShrinking(y, dy)) return true;
        }
        early = collapsingNeuron(y, dy, gradTol);
        return early >= 0;
      },
    });
    costSteps += sol.stats.steps;
    const yEnd = sol.y[sol.y.length - 1];
    theta.set(yEnd);
    if (early >= 0) return early;
    if (sol.status === 'event') return lowest(yEnd).i;
    if (sol.status !== 'stopped') throw new GradflowError(`agf: cost minimisation did not converge (the masked loss may have no minimiser); last loss ${p.kernels.loss(yEnd, X, Y, n, activeMask)}`);
    return -1;
  }

  return {
    model: p.model.spec.name,
    method: 'agf',
    conventions: {
      ...p.conventions,
      time: kappa === 2 ? 'flow time; rescaledTime = time / log(1/alpha)' : `flow time; rescaledTime = time / ((alpha^(2−κ) − 1)/(κ − 2)), κ = ${kappa}`,
    },
    initialLoss,
    jumps,
    extra: {
      kappa,
      status,
      precisionLimited: unresolved.length > 0 || suspect.length > 0,
      ...(suspect.length && !unresolved.length ? { warning: `neuron(s) ${suspect.join(', ')} turned against their utility far from their start (alpha = ${p.alpha}): their distance from the utility minimiser on the sphere nears round-off, so their later jump times may be off by more than 1e-6 relative (use a larger alpha, or the model's closed-form AGF)` } : {}),
      ...(unresolved.length ? { warning: `neuron(s) ${unresolved.join(', ')} returned to the dormant set and stalled at a non-maximum of their utility: their escape depends on an O(alpha²) deviation below double precision at alpha = ${p.alpha}; the schedule stops early (use alpha ≳ 1e-5, or the model's closed-form AGF)` } : {}),
      activeSets,
      accumulatedUtility: utilitySnapshots,
      threshold: Array.from(rho0, (r) => (r > 0 ? activationThreshold(kappa, r) : null)),
      collapseNorm: Array.from(rhoCollapse),
      odeSteps,
      costSteps,
      finalTheta: Array.from(theta),
    },
  };
}
