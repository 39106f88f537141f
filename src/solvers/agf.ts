/**
 * Alternating Gradient Flows (theory.md §3) for any model that is a sum of κ-homogeneous
 * neurons — one engine for every model, exact at any α and in the α → 0 limit.
 *
 * κ = 2 (polynomial neurons: diagonal, linear networks, factorisations, user specs). On a plateau
 * the residual r is fixed and a dormant neuron obeys θ̇ = Mθ exactly, M the Hessian of its
 * utility (spectral.ts). Its state is kept as signs and log-magnitudes in M's eigenbasis
 * (graded.ts): a plateau is advanced in closed form, activation (‖θ‖ = 1) is a 1-D root, and
 * between plateaus coordinates are re-expanded with signed log-sum-exp; eigenspaces shared by
 * consecutive plateaus keep their vectors, so structural zeros stay exactly zero. With
 * `limit: true` the same code runs in max-plus arithmetic (logscale.ts) on log-magnitudes in units
 * of log(1/α): the α → 0 schedule in rescaled time directly (for the diagonal model: exactly
 * Pesme–Flammarion, without a special case).
 *
 * Interchangeable neurons. When the template does not depend on the neuron index, Σ_i f(x; θ_i)
 * is invariant under rotations of the neuron index (a κ = 2 polynomial neuron is a quadratic form
 * in θ_i), so the dormant neurons form one matrix whose columns may be rotated freely. From a
 * random start all of them grow along the same top mode; the engine rotates them (Givens
 * rotations in log form) so that one "virtual" neuron carries each mode and the others hold the
 * mode exactly zero — the graded (LQ) form of the dormant matrix. An activation consumes the
 * virtual neuron that reaches norm 1; the rest keep their sub-dominant exponents. Reported neuron
 * indices are the slots of the virtual neurons; extra.neuronMix holds each slot's neuron-space
 * vector (row j: weight of real neuron j).
 *
 * Cost minimisation (cost.ts): Gauss–Newton for neurons of scalar parameters, L-BFGS + Newton
 * otherwise; several neurons leaving at one jump go in Lawson–Hanson order. An active neuron
 * driven to the origin collapses: it returns to the dormant set in the graded state it had when it activated (norm 1,
 * its exponentially small components intact — for the diagonal model c₊c₋ = α², the conserved
 * u² − v² — rather than recovered from round-off), and must shrink and regrow (theory.md §4).
 *
 * κ > 2: the direction flows on the sphere, integrated in a clock that keeps every rate O(1)
 * (sphere.ts); no flow-time horizon, so α down to 1e-300 works.
 *
 * Times: flow time (unit learning rate, loss (1/2n)Σ‖r‖²); rescaledTime = time / T_κ(α),
 * T_κ(α) = ∫_α^1 s^{1−κ} ds (log(1/α) for κ = 2). In the limit the rescaled time is primary and
 * `time` is rescaledTime·T_κ(α) at the Problem's α (as pf does).
 */
import { scalarParams } from '../compile/layout.ts';
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { timeUnit, type Jump, type JumpSchedule } from '../schedule.ts';
import { children, type Expr } from '../symbolic/expr.ts';
import { FINITE, TROPICAL, type LogArith } from './agf/logscale.ts';
import { eigenbasis, overlaps, utilityHessians, type Eigenbasis, type SpectralTolerances } from './agf/spectral.ts';
import type { GradedState } from './agf/graded.ts';
import { checkDiscreteModel, dormantDynamics, fitTransient, flowTimePerStep, hasMomentum, saddleStability, scaledState, TRANSIENT_ENTRY, stepConvention, unstableReason, type AgfAlgorithm, type DormantDynamics, type SaddleStability, type TransientMember } from './agf/discrete.ts';
import { activeSet, bestSize, dataScale, fitWithCollapses, unconvergedFitWarning, type CostOptions } from './agf/cost.ts';
import { solveAgfSphere } from './agf/sphere.ts';
import { solveAgfSphereDiscrete } from './agf/sphere-discrete.ts';
import { quadForms } from './agf/quadratic.ts';
import { rescalingSymmetries } from './agf/rescaling.ts';
import { solveAgfCones } from './agf/relu-cones.ts';
import { formatNumber } from '../report/table.ts';
import type { JumpProgress } from '../util/progress.ts';

/** Norm floor used by jump detection in simulations (analysis/jumps.ts). */
export const AGF_COLLAPSE_FLOOR = 1e-3;

export interface AgfOptions {
  /** Stop after this many jumps (default 4·H + 10). */
  maxJumps?: number;
  /** The α → 0 limit: max-plus dormant dynamics, rescaled times (default false). */
  limit?: boolean;
  /** Relative tolerance of the κ > 2 direction ODE (default 1e-10). */
  rtol?: number;
  /** Eigenvalues (growth rates) below utilTol·(largest initial rate) count as zero (default 1e-10). */
  utilTol?: number;
  /** Loss below lossTol·L(0) counts as zero (default 1e-12). */
  lossTol?: number;
  /** Cost minimisation stops at ‖∇L‖ ≤ gradTol·(initial rate scale) (default 1e-12 for κ = 2 — Gauss–Newton then takes scalar-parameter fits to round-off — and 1e-8 for κ > 2). */
  gradTol?: number;
  /** Overlaps and projections below snapTol are structural zeros (default 1e-9). */
  snapTol?: number;
  /** Initial state (default p.theta0). */
  theta0?: Float64Array;
  /** The algorithm whose jumps are predicted (default gradient flow); gd and momentum: κ = 2 polynomial models, times in steps (agf/discrete.ts). */
  algorithm?: AgfAlgorithm;
  /**
   * Discrete algorithms: run each fit in the algorithm's own steps (agf/discrete.ts fitTransient), so
   * the dormant and collapsing neurons leave it in the discrete map's state, and the fit's steps count
   * toward the next jump. Default: on for momentum and Nesterov (whose shrinking coordinates rotate
   * through the fit), off for gd (real per-step factors: the instantaneous fit's error is an O(1)
   * offset already). Off: the instantaneous fit, a collapsing neuron restored to its state at activation.
   */
  fitTransient?: boolean;
  /** Iteration budget of each cost minimisation's L-BFGS (default 20000 for κ = 2, 1000 for κ > 2). */
  fitIter?: number;
  /**
   * κ > 2: begin each cost minimisation with this many flow-time units of the masked gradient
   * flow (RKC), then L-BFGS (fitIter = 0: none), then Newton (fitNewton), then rebalance every active neuron to the
   * conserved quantities of its rescaling symmetries (agf/rescaling.ts). Default: L-BFGS only.
   */
  fitRelax?: number;
  /** With fitRelax: the masked flow with error control (adaptive RKC2) at this relative tolerance, stopped early at a critical point. */
  fitRtol?: number;
  /** With fitRelax: at most this many Newton steps after L-BFGS in each fit (default 40; 0: none). */
  fitNewton?: number;
  /**
   * κ > 2: L-BFGS iterations for the last fit only — the one after which no dormant neuron is left
   * or none has a positive utility (default 0: none). That plateau lasts for ever, so its fit is
   * the flow's limit point; where each earlier fit is the short masked-flow transient (fitRelax with
   * fitIter = fitNewton = 0), this takes the last one to the minimum.
   */
  fitFinal?: number;
  /**
   * relu models at finite α: where an activation comes before the previous fit relaxed, run the
   * gradient flow over that window and report a level that differs from AGF's (default true;
   * false skips it — about a flow's cost where it runs — and the schedule is AGF's alone).
   */
  flowCheck?: boolean;
  /** Called after each jump and, in long plateaus, as the clock advances (a progress line; no effect on the result). */
  onProgress?: (at: JumpProgress) => void;
}

/** T_κ(α) = ∫_α^1 s^{1−κ} ds: log(1/α) for κ = 2, (α^{2−κ} − 1)/(κ − 2) for κ > 2. */
export function agfTimeScale(kappa: number, alpha: number): number {
  return timeUnit(kappa, alpha).scale;
}

/** Activation threshold on accumulated utility for a neuron of initial norm rho0 (theory.md §3). */
export function activationThreshold(kappa: number, rho0: number): number {
  return kappa === 2 ? -Math.log(rho0) : (Math.pow(rho0, 2 - kappa) - 1) / (kappa - 2);
}

export function checkAgfModel(p: Problem): number {
  const kappa = p.derived.kappa;
  if (kappa === null) throw new GradflowError(`agf: model '${p.model.spec.name}' is not a sum of homogeneous neurons (f_i(x; sθ) ≠ s^κ f_i(x; θ)); AGF needs κ-homogeneous neurons`);
  if (!(kappa >= 2)) throw new GradflowError(`agf: model '${p.model.spec.name}' has homogeneity degree κ = ${kappa}; AGF needs κ ≥ 2 (κ < 2 neurons do not plateau near the origin)`);
  // The engine's residual is y − f and its fits are least squares (Gauss–Newton, relu patterns);
  // under another loss it would print the squared loss's schedule beside that loss's name
  // (softmax-mlp: levels 2.66, 2.30, 101.6, 1531 nats from log 3 = 1.0986; tiny-lm 4.6e11).
  const loss = p.kernels.lossForm;
  if (loss.choice.name !== 'mse') throw new GradflowError(`agf: model '${p.model.spec.name}' trains under ${loss.convention}; the AGF engine's utilities and cost minimisations are those of the mean squared loss, so it has no jump schedule for this loss (and compare and sweep, which time their simulations by it, none either): simulate it with flow or descent`);
  return kappa;
}

/** Scalar-parameter neurons (diagonal: u·v) carry a sign: that of the product of their parameters. */
export function neuronSign(p: Problem, theta: Float64Array, i: number): number | undefined {
  const { P } = p.layout;
  if (!scalarParams(p.layout)) return undefined;
  let prod = 1;
  for (let k = 0; k < P; k++) prod *= theta[i * P + k];
  return Math.sign(prod);
}

/** ‖v‖ without underflow (entries of 1e-300 square to 0). */
export function scaledNorm(v: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < v.length; k++) m = Math.max(m, Math.abs(v[k]));
  if (m === 0) return 0;
  let s = 0;
  for (let k = 0; k < v.length; k++) s += (v[k] / m) ** 2;
  return m * Math.sqrt(s);
}

/** `{ warning }` when there is one (schedules carry a warning only when something deserves it). */
export function withWarning(w: string | undefined): { warning?: string } {
  return w ? { warning: w } : {};
}

function usesSymbol(e: Expr, name: string): boolean {
  if (e.kind === 'sym' && e.name === name) return true;
  return children(e).some((c) => usesSymbol(c, name));
}

export function solveAgf(p: Problem, opts: AgfOptions = {}): JumpSchedule {
  const kappa = checkAgfModel(p);
  const theta0 = opts.theta0 ?? p.theta0;
  const { H, P } = p.layout;
  if (theta0.length !== H * P) throw new GradflowError(`agf: initial state has ${theta0.length} entries, the model has ${H * P}`);
  for (let i = 0; i < H; i++) {
    const rho = scaledNorm(theta0.subarray(i * P, (i + 1) * P));
    if (rho >= 1) throw new GradflowError(`agf: neuron ${i} starts with norm ${rho} ≥ 1; AGF describes small initialisations (every neuron well inside the unit ball: a smaller alpha, or model options that set the start's size without alpha — e.g. the single neuron's balance δ = a0² − ‖w0‖² — or a smaller --init)`);
  }
  const algo = opts.algorithm ?? { kind: 'flow' };
  checkDiscreteModel(p, algo);
  if (kappa > 2) return algo.kind === 'flow' ? solveAgfSphere(p, kappa, theta0, withModelFit(p, opts)) : solveAgfSphereDiscrete(p, kappa, theta0, algo, { maxJumps: opts.maxJumps, lossTol: opts.lossTol });
  if (!p.derived.polynomial) {
    return solveAgfCones(p, theta0, opts);
  }
  return solveAgfLinearDormant(p, theta0, opts);
}

/** The model's own fit settings (ModelDefinition.agfFit) where the caller chose none of them. */
function withModelFit(p: Problem, opts: AgfOptions): AgfOptions {
  const own = p.model.agfFit;
  if (!own || opts.fitRelax !== undefined || opts.fitIter !== undefined || opts.fitNewton !== undefined || opts.fitRtol !== undefined) return opts;
  return { ...opts, ...own };
}

/** A dormant or active neuron of the engine: a real slot, or a virtual one of an interchangeable group. */
interface Unit {
  slot: number;
  group: number;
  /** Neuron-space vector over the group's slots (orthonormal across a group's units). */
  q: Float64Array;
  active: boolean;
  state: GradedState | null;
  atActivation: GradedState | null;
  /** An active unit's exact state (position and buffer): from its last fit transient, advanced through the plateaus since. */
  shadow?: GradedState;
}

function solveAgfLinearDormant(p: Problem, theta0: Float64Array, opts: AgfOptions): JumpSchedule {
  const { H, P } = p.layout;
  const ar: LogArith = opts.limit ? TROPICAL : FINITE;
  const algo = opts.algorithm ?? { kind: 'flow' };
  const dyn = dormantDynamics(algo, ar);
  const perUnit = flowTimePerStep(algo); // flow time per unit of `time` (1, or per step)
  const stability: SaddleStability[] = [];
  let unstableJump: Jump | undefined; // the jump onto a saddle where the algorithm is unstable: not a prediction
  const transient = algo.kind !== 'flow' && (opts.fitTransient ?? hasMomentum(algo));
  const fitSteps: number[] = []; // each jump's fit transient, in steps
  let pendingSteps = 0; // the last fit's steps, counted after its jump is stamped
  let unconvergedTransients = 0;
  // arriving neurons' ghosts (agf/discrete.ts TransientMember.ghost) whose jumps are not stamped yet: their transient was cut short by the next entry
  let ghosts: { state: GradedState; group: number; slot: number; jump: Jump | null; stamp?: number; frozen?: boolean }[] = [];
  let interrupted = false; // the last transient stopped at the next neuron's entry, before the rates settled
  const alpha = p.alpha;
  const logInv = Math.log(1 / alpha);
  const maxJumps = opts.maxJumps ?? 4 * H + 10;
  const lossTol = opts.lossTol ?? 1e-12;
  const snapTol = opts.snapTol ?? 1e-9;

  // groups of interchangeable slots
  const interchangeable = !usesSymbol(p.derived.template, p.derived.neuronIndex.name) && H > 1;
  const groups: number[][] = interchangeable ? [Array.from({ length: H }, (_, i) => i)] : Array.from({ length: H }, (_, i) => [i]);
  const groupOf = new Int32Array(H);
  groups.forEach((g, k) => g.forEach((i) => { groupOf[i] = k; }));

  const set = activeSet(p); // active neurons' parameters, slot-major
  const { theta, mask: activeMask, residual } = set;
  const updateResidual = set.update;
  const initialLoss = updateResidual();

  // rate scale: the largest initial growth rate (floored by the data scale rms(y)·rms(x))
  let Ms = utilityHessians(p, residual);
  let scale = dataScale(p, initialLoss);
  for (const M of Ms) for (let k = 0; k < M.length; k++) scale = Math.max(scale, Math.abs(M[k]));
  if (!(scale > 0)) scale = 1;
  const tol: SpectralTolerances = { zeroTol: opts.utilTol ?? 1e-10, clusterTol: 1e-10, snapTol };
  const gaussNewton = scalarParams(p.layout);
  const quad = gaussNewton ? quadForms(p) : null;
  // Gauss–Newton fits on the table are rebalanced to the flow's conserved quantities (cost.ts `balance`)
  const cost: CostOptions = { gtol: (opts.gradTol ?? 1e-12) * scale * Math.max(1, Math.sqrt(2 * initialLoss)), collapseTol: 1e-14, initialLoss, kappa: 2, newton: true, gaussNewton, maxIter: opts.fitIter ?? 20000, quad, ...(quad ? { balance: rescalingSymmetries(p) } : {}) };

  // per-group eigenbases; units start as the real neurons
  let bases: Eigenbasis[] = groups.map((g) => eigenbasis(Ms[g[0]], P, scale, tol));
  const units: Unit[] = [];
  for (let i = 0; i < H; i++) {
    const g = groupOf[i];
    const q = new Float64Array(groups[g].length);
    q[groups[g].indexOf(i)] = 1;
    const v = Float64Array.from(theta0.subarray(i * P, (i + 1) * P), (x) => x / alpha);
    const zero = v.every((x) => x === 0);
    units.push({ slot: i, group: g, q, active: false, state: zero ? null : dyn.fromVector(bases[g], v, opts.limit ? -1 : Math.log(alpha), snapTol), atActivation: null });
  }

  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  let time = 0; // flow time (finite α) or rescaled time (limit)
  let status: 'zero-loss' | 'no-positive-utility' | 'max-jumps' | 'unstable' = 'max-jumps';
  let costEvaluations = 0;
  let plateaus = 0;
  let rejoined = 0;
  const fitGradNorms: number[] = []; // ‖∇L‖ where each jump's cost minimisation stopped
  if (initialLoss === 0) status = 'zero-loss';

  /** Brings a graded state into its group's current basis. */
  const current = (st: GradedState, g: number): GradedState => {
    const b = bases[g];
    if (st.basis === b) return st;
    // the same eigenvectors in the same order (spectral.ts keptBasis): only the rates changed
    if (dyn.rebase && st.basis.vectors === b.vectors) return dyn.rebase(st, b);
    return dyn.reexpand(st, b, overlaps(b, st.basis, snapTol));
  };

  while (status === 'max-jumps' && jumps.length < maxJumps) {
    plateaus++;
    time += pendingSteps;
    const sinceFit = pendingSteps; // a neuron that left in a fit transient and re-enters after it has left (it shrank and regrew)
    pendingSteps = 0;
    // ---- the plateau's dormant dynamics
    if (plateaus > 1) {
      Ms = utilityHessians(p, residual);
      bases = groups.map((g, k) => eigenbasis(Ms[g[0]], P, scale, tol, bases[k]));
    }
    for (const u of units) if (!u.active && u.state) u.state = current(u.state, u.group);
    for (const u of units) if (u.active && u.shadow) u.shadow = current(u.shadow, u.group);
    if (interchangeable) regrade(dyn, units.filter((u) => !u.active && u.state), bases[0]);
    if (algo.kind !== 'flow') {
      // a discrete algorithm must be stable at the saddle it sits on, or there is nothing to predict
      const st = saddleStability(p, theta, activeMask, bases.map((b) => b.values), algo, jumps.length);
      stability.push(st);
      if (!st.stable) { status = 'unstable'; unstableJump = jumps.pop(); activeSets.pop(); break; }
    }

    // ---- utility maximisation: the first dormant neuron to reach norm 1
    let tau = Infinity, winner: Unit | null = null;
    for (const u of units) {
      if (u.active || !u.state) continue;
      // with fit transients the neuron enters the simulated fit at norm e^{TRANSIENT_ENTRY}
      // (at once if it is above that already: it left the last transient regrowing)
      const target = !transient ? u.state : dyn.logNorm(u.state) >= TRANSIENT_ENTRY ? null : scaledState(u.state, -TRANSIENT_ENTRY);
      // a neuron whose lower bound is later than the earliest so far cannot be first (margin: the root's round-off)
      if (target && dyn.activationLowerBound && dyn.activationLowerBound(target) > tau * (1 + 1e-9)) continue;
      const t = target ? dyn.activationTime(target) : 0;
      if (t < tau) { tau = t; winner = u; }
    }
    if (!winner || !Number.isFinite(tau)) { status = 'no-positive-utility'; break; }
    time += tau;
    for (const u of units) if (!u.active && u.state) dyn.advance(u.state, tau);
    for (const u of units) if (u.active && u.shadow) dyn.advance(u.shadow, tau);
    // A neuron the last fit removed that re-enters at once (restored at norm 1, still growing) has
    // not left: where the least squares is degenerate (n < d) the fit's path can cross a neuron's
    // zero that the constrained optimum does not need. It rejoins that jump's cost minimisation.
    const previous = jumps.at(-1);
    const rejoin = sinceFit === 0 && tau <= 1e-12 * Math.max(1, time) && previous !== undefined && previous.deactivated.includes(winner.slot);

    // ---- activation and cost minimisation
    const w = winner;
    // the jump is stamped where the plateau's dynamics take the arriving neuron to ‖θ‖ = 1 (AGF's activation)
    const toOne = transient ? dyn.activationTime(w.state!) : 0;
    w.atActivation = dyn.clone(w.state!);
    // the fit starts from the neuron's direction at ‖θ‖ = 1 (at the entry norm a re-entering neuron's shrinking part may still show)
    const atOne = dyn.clone(w.state!);
    dyn.advance(atOne, toOne);
    const v = dyn.toVector(atOne, P);
    w.active = true;
    w.state = null;
    activeMask[w.slot] = 1;
    theta.set(v, w.slot * P);
    bestSize(p, theta, activeMask, w.slot, 2, cost.quad);
    const wasActive = units.filter((u) => u.active && u !== w);
    const deactivated: number[] = [];
    const collapsed: Unit[] = [];
    let newGhost: (typeof ghosts)[number] | null = null;
    const fit = fitWithCollapses(p, set, cost, (i) => {
      const u = units.find((x) => x.slot === i && x.active)!;
      u.active = false;
      u.state = u.atActivation ? (dyn.restore ?? dyn.clone)(u.atActivation) : null;
      collapsed.push(u);
      if (wasActive.includes(u)) deactivated.push(i);
    });
    costEvaluations += fit.evaluations;
    const lossAfter = updateResidual();
    if (transient) {
      // the fit in the algorithm's steps: the fit above gives its end (the saddle, the collapses), the
      // transient the states the dormant and collapsing neurons leave it with
      const members: (TransientMember & { unit: Unit })[] = [];
      members.push({ unit: w, state: dyn.clone(w.atActivation), slot: w.slot, group: w.group, active: true, collapsing: collapsed.includes(w) });
      for (const u of wasActive) members.push({ unit: u, state: u.shadow ?? (dyn.restore ?? dyn.clone)(u.atActivation!), slot: u.slot, group: u.group, active: true, collapsing: collapsed.includes(u) });
      // entering from a settled plateau, the jump is AGF's: the plateau's dynamics take the neuron from the entry norm to
      // ‖θ‖ = 1 (time + toOne); entering while the last fit still rings (its transient cut short), those rates are not the
      // neuron's: a ghost carries it with the rates the others' fit gives
      if (interrupted) {
        newGhost = { state: dyn.clone(w.atActivation), group: w.group, slot: w.slot, jump: null };
        ghosts.push(newGhost);
      }
      const firstGhost = members.length;
      for (const g of ghosts) members.push({ unit: w, state: g.state, slot: g.slot, group: g.group, active: false, ghost: true, frozen: g.frozen });
      for (const u of units) if (!u.active && u.state && !collapsed.includes(u) && u !== w) members.push({ unit: u, state: u.state, slot: u.slot, group: u.group, active: false });
      const momentum = hasMomentum(algo) ? algo.momentum : 0;
      const tr = fitTransient(p, dyn, members, {
        groups, target: utilityHessians(p, residual), scale, tol: { ...tol, snapTol: 1e-13 }, relTol: 1e-8,
        window: Math.max(2, Math.ceil(2 / (1 - momentum))), maxSteps: 100_000 + 10 * time,
      });
      if (!tr.converged) unconvergedTransients++;
      // each ghost's stamp: where it crossed ‖θ‖ = 1 in the transient, or (transient settled) where the next plateau's dynamics take it there
      ghosts.forEach((g, q) => {
        const j = firstGhost + q;
        g.state = members[j].state;
        g.frozen = members[j].frozen;
        const k = tr.crossings[j] >= 0 ? tr.crossings[j] : tr.converged ? tr.steps + dyn.activationTime(g.state) : -1;
        if (k >= 0) g.stamp = time + k;
      });
      for (const m of members) {
        if (m.ghost) continue;
        if (m.active && m.unit.active) m.unit.shadow = m.state;
        else { m.unit.state = m.state; m.unit.shadow = undefined; }
      }
      fitSteps.push(tr.steps);
      pendingSteps = tr.steps;
      interrupted = tr.activated;
    }
    if (rejoin && previous) {
      ghosts = ghosts.filter((g) => g !== newGhost);
      previous.deactivated = previous.deactivated.filter((i) => i !== w.slot).concat(deactivated.filter((i) => !previous.deactivated.includes(i)));
      previous.lossAfter = lossAfter;
      fitGradNorms[fitGradNorms.length - 1] = fit.gradNorm;
      activeSets[activeSets.length - 1] = units.filter((u) => u.active).map((u) => u.slot).sort((a, b) => a - b);
      rejoined++;
      if (lossAfter <= lossTol * initialLoss) status = 'zero-loss';
      continue;
    }
    jumps.push({
      time: opts.limit ? time * logInv : (time + toOne) * perUnit,
      rescaledTime: opts.limit ? time : ((time + toOne) * perUnit) / logInv,
      ...(algo.kind !== 'flow' ? { step: time + toOne } : {}),
      neuron: w.slot,
      sign: neuronSign(p, theta, w.slot),
      lossAfter,
      deactivated,
    });
    fitGradNorms.push(fit.gradNorm);
    if (transient) {
      if (newGhost) newGhost.jump = jumps[jumps.length - 1];
      ghosts = ghosts.filter((g) => {
        const k = g.stamp;
        if (k === undefined || !Number.isFinite(k) || !g.jump) return k === undefined;
        g.jump!.step = k;
        g.jump!.time = k * perUnit;
        g.jump!.rescaledTime = (k * perUnit) / logInv;
        return false;
      });
    }
    activeSets.push(units.filter((u) => u.active).map((u) => u.slot).sort((a, b) => a - b));
    opts.onProgress?.({ jumps: jumps.length, rescaledTime: jumps[jumps.length - 1].rescaledTime, loss: lossAfter, initialLoss });
    if (lossAfter <= lossTol * initialLoss) status = 'zero-loss';
  }

  // the real neurons' parameters: active units plus (finite α) the dormant ones' current values
  const finalTheta = new Float64Array(H * P);
  for (const u of units) {
    const vec = u.active ? theta.subarray(u.slot * P, (u.slot + 1) * P) : u.state && !opts.limit ? dyn.toVector(u.state, P) : null;
    if (!vec) continue;
    groups[u.group].forEach((j, k) => {
      if (u.q[k] === 0) return;
      for (let a = 0; a < P; a++) finalTheta[j * P + a] += u.q[k] * vec[a];
    });
  }
  return {
    model: p.model.spec.name,
    method: algo.kind === 'flow' ? 'agf' : `agf-${algo.kind}`,
    conventions: {
      ...p.conventions,
      ...(opts.limit ? { alpha: 0 } : {}),
      time: opts.limit ? 'alpha → 0 limit: rescaledTime = t/log(1/alpha) is primary; time = rescaledTime·log(1/alpha) at the problem alpha' : algo.kind !== 'flow' ? stepConvention(algo, transient) : 'flow time; rescaledTime = time / log(1/alpha)',
    },
    initialLoss,
    jumps,
    extra: {
      kappa: 2,
      solver: `exact linear dormant dynamics in log-magnitudes${algo.kind === 'flow' ? '' : ` (per-step factors of ${algo.kind}${transient ? '; each fit run in its steps from ‖θ‖ = 1e-3' : ''})`}${opts.limit ? ', max-plus (alpha → 0)' : ''} + ${cost.gaussNewton ? 'Gauss–Newton' : 'L-BFGS + Newton'} cost minimisation`,
      status,
      limit: opts.limit === true,
      ...(status === 'no-positive-utility' && jumps.length && (jumps.at(-1)!.lossAfter > 1e-9 * initialLoss) ? { stopReason: `no dormant neuron has a positive growth rate; the loss stays at ${formatNumber(jumps.at(-1)!.lossAfter)} (the active neurons cannot fit the rest)` } : {}),
      ...(status === 'unstable' ? { stopReason: unstableReason(stability.at(-1)!, algo, unstableJump) } : {}),
      ...(algo.kind !== 'flow' ? { algorithm: algo, stability } : {}),
      ...(transient ? { fitSteps } : {}),
      ...(unconvergedTransients ? { transientWarning: `${unconvergedTransients} fit transients stopped at their step cap (1e5 + 10× the steps before them) before the rates settled; the jumps after them are approximate` } : {}),
      ...(status === 'max-jumps' ? { stopReason: `stopped after maxJumps = ${maxJumps} jumps with loss ${formatNumber(jumps.at(-1)?.lossAfter ?? initialLoss)}` } : {}),
      ...withWarning(unconvergedFitWarning(fitGradNorms, cost)),
      fitGradNorms,
      interchangeable,
      activeSets,
      plateaus,
      rejoined,
      costEvaluations,
      neuronMix: interchangeable ? units.map((u) => Array.from(u.q)) : undefined,
      finalTheta: Array.from(finalTheta),
      dormantLogNorms: units.map((u) => (u.active || !u.state ? null : dyn.logNorm(u.state))),
    },
  };
}

/**
 * Rotates the dormant virtual neurons of an interchangeable group into graded (LQ) form: taking
 * the growing eigen-directions in order of rate, one neuron (the largest there) keeps each
 * direction and the others get exactly 0 there. The zero pattern is invariant under the
 * plateau's dynamics, so a virtual neuron never grows along a faster mode another one owns.
 */
function regrade(dyn: DormantDynamics, dormant: Unit[], basis: Eigenbasis): void {
  if (dormant.length < 2) return;
  const P = basis.values.length;
  const pool = dormant.slice();
  for (let k = 0; k < P && pool.length > 1; k++) {
    if (!(basis.values[k] > 0)) break; // values are decreasing
    let pi = -1, best = -Infinity;
    pool.forEach((u, j) => { if (u.state!.s[k] !== 0 && u.state!.l[k] > best) { best = u.state!.l[k]; pi = j; } });
    if (pi < 0) continue;
    const piv = pool[pi];
    for (const u of pool) {
      if (u === piv || u.state!.s[k] === 0) continue;
      const [cg, sg] = dyn.givens(piv.state!, u.state!, k);
      for (let j = 0; j < piv.q.length; j++) {
        const a = piv.q[j], b = u.q[j];
        piv.q[j] = cg * a + sg * b;
        u.q[j] = -sg * a + cg * b;
      }
    }
    pool.splice(pi, 1);
  }
}
