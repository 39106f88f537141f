/**
 * AGF for κ = 2 neurons with relu units (non-polynomial), at finite α and in the α → 0 limit.
 *
 * Finite α. On a plateau each dormant unit's dynamics are linear inside each activation cone;
 * cones.ts advances them exactly (eigenbasis log-magnitudes, kink crossings as events, Filippov
 * sliding), from which the first unit to reach norm 1 is found; the others are advanced to that
 * time. A unit's state between plateaus is kept in log form in its last cone's eigenbasis
 * (cones.ts, DormantLogState), so components far below its largest survive, as the graded states
 * of the polynomial engine do.
 *
 * Cost minimisation (relu-fit.ts): the masked relu flow from the activation state (kink events,
 * Filippov sliding), then Newton inside the pattern it reached — the flow's basin, where L-BFGS
 * from the same start landed in other minima at other α. A unit the flow drives towards the origin
 * (norm below 1e-3 of its start) collapses: it returns to the dormant set at that state, with the
 * growing component its conserved a² − ‖w‖² − b² fixes (collapsedDormantState) — exponentially
 * small, so its return takes O(log 1/α) flow time, as in the flow, not the O(1) a unit restored
 * at norm 1 would take. A unit whose kink has left every data point (dead) has zero output and
 * zero gradient for every residual: it is frozen where it is (extra.deadUnits).
 *
 * The α → 0 limit (`limit: true`), in rescaled time s = t/log(1/α). A unit's direction moves in
 * O(1) flow time — zero rescaled time — while its log-norm, in units of log(1/α), changes by
 * rate·Δs over a plateau. So on each plateau every dormant unit jumps to the attractor of its
 * direction flow for that residual (cones.ts, reluDirectionAttractor: the top direction of a
 * self-consistent cone, or a sliding one) and its log-norm ℓ (−1 at the start) grows linearly at
 * the attractor's rate; the first to reach ℓ = 0 activates. This is the max-plus rule with one
 * exponent per unit. Limitation: a direction that sits exactly on an unstable critical point of
 * the new plateau leaves it at once (the finite-α flow leaves it after O(log(1/α)) flow time, a
 * finite rescaled delay that the limit does not keep).
 *
 * Co-activation. Units whose directions converge into the same cone grow at the same top rate of
 * the same M, so when the first of them reaches norm 1 the others sit at O(1) norms (0.3–0.8 on
 * the teacher–student data): their activation times differ by O(1) flow time, i.e. they activate
 * together in rescaled time, and their outputs are not negligible. So every dormant unit on the
 * winner's activation cone at that time (same pattern: the same M, hence the same top direction)
 * enters the active set with it, whatever its norm — its share of the output is its share of the
 * top-mode coefficient, as in the flow. In the limit the co-activated units are those on the
 * winner's cone whose ℓ ties with the winner's (a lower ℓ is a norm α^{Δℓ} → 0); their shares are
 * the α → 0 limit of the finite-α ones: the limit keeps, next to ℓ, the O(1) part of each log-norm
 * (log‖θ‖ = ℓ·log(1/α) + κ; κ changes by the transient's log-gain on each plateau and by the
 * plateau's O(1) flow-time offset), and a co-activated unit enters at norm e^{κ − κ_winner}. (The
 * fit does depend on the shares: with equal ones the 3-unit teacher, seed 0, ends at loss 2.6e-3
 * instead of the finite-α engine's 2.94e-3 at every α from 1e-12 to 1e-300.) The group is
 * fitted from there (the masked flow keeps the ratios c_i/c_j of aligned units θ_i = c_i·φ, whose
 * gradients are c_i·G). extra.coActivated lists the co-activated units. In the limit a collapsed
 * unit regrows from its growing mode at that mode's exponent (a balanced unit: ≈ 2× its initial one).
 */
import { lossOf, type Problem } from '../../problem.ts';
import { GradflowError } from '../../util/errors.ts';
import { solveReluFlow } from '../relu-flow.ts';
import type { Jump, JumpSchedule } from '../../schedule.ts';
import { neuronSign, withWarning, type AgfOptions } from '../agf.ts';
import { advanceReluDormant, collapsedDormantState, reluDirectionAttractor, type DormantLogState } from '../cones.ts';
import { activeSet, dataScale } from './cost.ts';
import { fitReluActive, type ReluFitOptions } from './relu-fit.ts';
import { formatNumber } from '../../report/table.ts';

/**
 * a² − Σ(other parameters)² of unit i: the conserved quantity of a·relu(wᵀx + b), read by position
 * (the first parameter slot is the output weight, whatever its name), for collapsedDormantState;
 * the fit itself (relu-fit.ts) takes its orbits and their conserved values from rescaling.ts.
 */
function conservedQ(theta: Float64Array, i: number, P: number): number {
  let q = theta[i * P] ** 2;
  for (let k = 1; k < P; k++) q -= theta[i * P + k] ** 2;
  return q;
}

/**
 * AGF's fits are instantaneous against the plateaus: at finite α the next activation comes
 * Δs·log(1/α) flow time after the last, and where that is shorter than the last fit's relaxation
 * the flow's units co-evolve and the flow may settle elsewhere (K = 4 clusters, seed 0, α = 1e-6:
 * AGF's second level 0.130448, the true flow's 0.217323 at α = 1e-6 and 1e-12 alike; the gap, 2.3
 * flow-time units, grows only like log(1/α), against ~280 for 99 % of the first fit's loss drop).
 * The loss drop's relaxation time alone does not tell (slow tails that change nothing are common),
 * so where it exceeds the gap the flow itself is run over the window — every unit, from the state
 * after the last fit that did relax (the initial state before jump 2), through this activation,
 * until it levels or the next activation — and its level compared with AGF's. Levels differing by
 * more than this (relative) are reported (agf --no-flow-check: AgfOptions.flowCheck = false).
 */
export const CO_EVOLUTION_TOL = 1e-3;

export interface CoEvolution {
  /** The jump (1-based) whose activation came before the previous fit relaxed. */
  jump: number;
  /** Flow time between the previous activation and this one. */
  gap: number;
  /** Flow time the previous fit took for 99 % of its loss drop (null: Newton finished it, after relaxLowerBound). */
  relaxTime: number | null;
  relaxLowerBound: number | null;
  /**
   * AGF's level after this jump, and the flow's loss where its window ended: 'levelled' (‖∇L‖
   * below tolerance), 'below' (already under AGF's level by more than CO_EVOLUTION_TOL, and still
   * falling), 'descending' (the next activation, or the fit's flow-time cap, came first).
   */
  agfLevel: number;
  flowLevel: number;
  flowOutcome: 'levelled' | 'below' | 'descending';
}

/**
 * Per jump: every unit's state after the fit (the fitted units, the dormant ones where the plateau
 * left them: the flow's state once that fit has relaxed), its relaxation times (relu-fit.ts
 * RELAX_FRACTIONS) and flow time.
 */
interface FitRecord { state: Float64Array; relaxTimes: (number | null)[]; fitFlowTime: number }

/** The fit's flow time to 99 % of its loss drop (RELAX_FRACTIONS[2]; null: Newton finished it). */
const relax99 = (r: FitRecord): number | null => r.relaxTimes[2];

/**
 * The gradient flow (all units, this α) from `start`: run for `until` (to the activation being
 * checked), then on until ‖∇L‖ is below tol (the fit's own tolerance: a looser one stops on
 * saddles the flow only passes), the next activation (`next`), or — the loss only falls along a
 * gradient flow — until it is below AGF's level by more than CO_EVOLUTION_TOL (decided: the
 * levels differ). Null where the flow fails.
 */
function flowWindowLevel(p: Problem, start: Float64Array, until: number, next: number, agfLevel: number, tol: number): { level: number; outcome: CoEvolution['flowOutcome'] } | null {
  try {
    const a = solveReluFlow(p, { theta0: start, tEnd: until, dense: false, saveSteps: false, maxSteps: 2e6 });
    const mid = a.states[a.states.length - 1];
    const floor = agfLevel * (1 - CO_EVOLUTION_TOL);
    let below = false;
    // the L-stable Rosenbrock pair at rtol 1e-6, as the fits relax: the flow creeps for thousands
    // of time units to ‖∇L‖ < tol (default data, seed 2, α = 1e-8: 1862 units, 53,570 dopri5
    // evaluations, 0.41 s; Rosenbrock 13,447 evaluations, 0.12 s, the same level to 2e-11)
    const b = solveReluFlow(p, {
      theta0: mid, tEnd: next - until, untilGradNorm: tol, dense: false, saveSteps: false, maxSteps: 2e6, stiff: true, rtol: 1e-6,
      onStep: (_t, y) => (below = lossOf(p, y) < floor),
    });
    return { level: lossOf(p, b.states[b.states.length - 1]), outcome: below ? 'below' : b.status === 'stopped' ? 'levelled' : 'descending' };
  } catch (e) {
    if (e instanceof GradflowError) return null;
    throw e;
  }
}

/** The first jump whose activation came before the previous fit relaxed and where the flow levels elsewhere. */
function coEvolutionCheck(p: Problem, theta0: Float64Array, jumps: readonly Jump[], records: readonly FitRecord[], tol: number, tMax: number): CoEvolution | null {
  const overlaps = (k: number): boolean => {
    if (k === 0) return false;
    const relax = relax99(records[k - 1]);
    return relax === null || relax > jumps[k].time - jumps[k - 1].time;
  };
  for (let k = 1; k < jumps.length; k++) {
    if (!overlaps(k)) continue;
    // the window starts on the last plateau the flow reached relaxed: after the fit before the
    // first activation of this run of overlapping ones (the initial state for the first jump) —
    // AGF's state at an activation is ahead of the flow's by the escape, which matters here
    let j = k - 1;
    while (overlaps(j)) j--;
    const t0 = j > 0 ? jumps[j - 1].time : 0;
    const next = k + 1 < jumps.length ? jumps[k + 1].time : jumps[k].time + tMax;
    const agf = jumps[k].lossAfter;
    const prev = records[k - 1];
    const w = flowWindowLevel(p, j > 0 ? records[j - 1].state : theta0, jumps[k].time - t0, next - t0, agf, tol);
    if (!w) continue;
    if (Math.abs(w.level - agf) > CO_EVOLUTION_TOL * Math.max(agf, 1e-300)) {
      const relaxTime = relax99(prev);
      return { jump: k + 1, gap: jumps[k].time - jumps[k - 1].time, relaxTime, relaxLowerBound: relaxTime === null ? prev.fitFlowTime : null, agfLevel: agf, flowLevel: w.level, flowOutcome: w.outcome };
    }
  }
  return null;
}

function coEvolutionWarning(c: CoEvolution): string {
  const relax = c.relaxTime !== null ? formatNumber(c.relaxTime, 3) : `more than ${formatNumber(c.relaxLowerBound ?? 0, 3)}`;
  const level = formatNumber(c.flowLevel, 6);
  const flow = c.flowOutcome === 'levelled' ? `levels at ${level}` : c.flowOutcome === 'below' ? `falls to ${level} and on` : `is still descending where the window ends (the next activation, or the fit's flow-time cap), at ${level}`;
  return `jump ${c.jump} activates ${formatNumber(c.gap, 3)} flow-time units after jump ${c.jump - 1}, before that fit relaxed (99 % of its loss drop takes ${relax}): the units co-evolve, and the gradient flow at this alpha run over that window ${flow} where AGF's instantaneous fit ends at ${formatNumber(c.agfLevel, 6)}, so from jump ${c.jump} on the schedule is AGF's alpha → 0 picture, not this alpha's flow (the gap grows only like log(1/alpha))`;
}

/**
 * Finite α: an active unit the fits left below this norm (data units) is held near the origin —
 * co-activated on the winner's cone at a small share and kept there by a stationary point that is
 * degenerate in its direction — rather than fitted to an O(1) size.
 */
export const HELD_NORM = 1e-2;

/** An active unit held below HELD_NORM at the stop, with its direction search from there. */
export interface HeldUnit { unit: number; norm: number; rate: number; settled: boolean }

/**
 * At a finite-α stop (no dormant unit reaches norm 1), the active units held below HELD_NORM whose
 * growth from there is undecided: their direction search under the final residual (the α → 0
 * limit's question, reluDirectionAttractor) did not settle, or ended at a rate not below −rateTol.
 * The stop then rests on a tolerance. K = 4 clusters, seed 10: fit 2 holds unit 4 at norm 8e-3 …
 * 2e-8 (α = 1e-4 … 1e-16) on a cone whose utility the fit zeroed (rate −8e-14; directions 1e-2
 * away do not move either), and the flow, whose units moved during the fit, leaves AGF's final
 * level 0.0305 after ~4,400 (α = 1e-6) / 8,900 (1e-12) flow-time units as that unit finds a
 * sliding mode where it grows. Teacher–student seed 8 holds unit 5 at 9.4e-3 the same way (rate
 * 3.5e-16) and the flow keeps it there (to t = 1e5 at α = 1e-6): from AGF's state the two look the
 * same, so both are reported (the principled test, the fit's path carried to the held units, is
 * not built).
 */
function heldActiveUnits(p: Problem, theta: Float64Array, activeMask: Uint8Array, residual: Float64Array, scale: number, rateTol: number): HeldUnit[] {
  const { H, P } = p.layout;
  const held: HeldUnit[] = [];
  for (let i = 0; i < H; i++) {
    if (!activeMask[i]) continue;
    const v = theta.slice(i * P, (i + 1) * P);
    const norm = Math.hypot(...v);
    if (!(norm > 0) || norm >= HELD_NORM) continue;
    try {
      const att = reluDirectionAttractor(p, i, v, residual, { rateScale: scale });
      if (!att.converged || att.rate > -rateTol) held.push({ unit: i, norm, rate: att.rate, settled: att.converged });
    } catch (e) {
      if (!(e instanceof GradflowError)) throw e;
      held.push({ unit: i, norm, rate: NaN, settled: false });
    }
  }
  return held;
}

function heldUnitsWarning(held: HeldUnit[]): string {
  const list = held.map((u) => `${u.unit} at norm ${formatNumber(u.norm, 3)}, ${u.settled ? '' : 'last '}rate ${formatNumber(u.rate, 3)}`).join('; ');
  return `the stop rests on ${held.length === 1 ? 'an active unit' : `${held.length} active units`} the fits held near the origin (${list}) where ${held.length === 1 ? 'its' : 'their'} growth rate is not clearly negative${held.some((u) => !u.settled) ? ' and the direction search had not settled' : ''}: AGF's fit leaves ${held.length === 1 ? 'it' : 'them'} there, but the flow's units move during the fits and may carry ${held.length === 1 ? 'it' : 'them'} into a cone where ${held.length === 1 ? 'it grows' : 'they grow'}, so a later jump is not ruled out`;
}

export function solveAgfCones(p: Problem, theta0: Float64Array, opts: AgfOptions): JumpSchedule {
  const { H, P } = p.layout;
  const limit = opts.limit === true;
  const logInv = Math.log(1 / p.alpha);
  const maxJumps = opts.maxJumps ?? 4 * H + 10;
  const lossTol = opts.lossTol ?? 1e-12;
  const set = activeSet(p);
  const { theta, mask: activeMask, residual } = set;
  const updateResidual = set.update;
  const initialLoss = updateResidual();
  const scale = Math.max(dataScale(p, initialLoss), 1e-300);
  const gtol = (opts.gradTol ?? 1e-12) * scale * Math.max(1, Math.sqrt(2 * initialLoss));
  // finite α: the dormant parameter vector; limit: its direction (unit vector), with ell its log-norm / log(1/α)
  const dormant: (Float64Array | null)[] = Array.from({ length: H }, (_, i) => {
    const v = theta0.slice(i * P, (i + 1) * P);
    if (!v.some((x) => x !== 0)) return null;
    if (!limit) return v;
    const m = Math.hypot(...v);
    return v.map((x) => x / m);
  });
  const ell = new Float64Array(H).fill(-1);
  // the O(1) part of the log-norm (log‖θ‖ = ell·log(1/α) + kappaLog): it orders units whose ell tie and gives co-activated units their shares
  const kappaLog = Float64Array.from({ length: H }, (_, i) => Math.log(Math.hypot(...theta0.subarray(i * P, (i + 1) * P)) / p.alpha));
  const rateTol = (opts.utilTol ?? 1e-10) * scale;
  const coActivated: number[][] = [];
  const frozen: (Float64Array | null)[] = new Array(H).fill(null);
  const fitOpts: ReluFitOptions = { gtol, flowTol: 1e-7 * scale, tMax: 2e4 / scale, theta0 };
  const conserved = Float64Array.from({ length: H }, (_, i) => conservedQ(theta0, i, P));
  let fitFlowTime = 0, collapses = 0, deadUnits = 0;
  // a horizon no activation can need: the slowest growth the data scale allows, from alpha to 1, many times over
  const horizon = 1e6 * logInv / scale;
  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  let time = 0; // flow time (finite α) or rescaled time (limit)
  let status: 'zero-loss' | 'no-positive-utility' | 'max-jumps' = initialLoss === 0 ? 'zero-loss' : 'max-jumps';
  let dormantEvents = 0, unsettled = 0;
  // the limit: dormant units whose direction search ran out of budget on the latest plateau (with the rate it had reached)
  const unsettledNow: { unit: number; rate: number }[] = [];

  /** Finite α: the first unit to reach norm 1, all dormant units advanced to then, and their patterns. */
  // finite α: each dormant unit's state in log form too, so components far below its largest survive plateaus and collapses
  const logState: (DormantLogState | null)[] = new Array(H).fill(null);
  const lawS = Float64Array.from({ length: P }, (_, k) => (k === 0 ? 1 : -1));
  const plateauFinite = (): { tau: number; winner: number; patterns: (Uint8Array | null)[] } => {
    let tau = Infinity, winner = -1;
    for (let i = 0; i < H; i++) {
      if (activeMask[i] || !dormant[i]) continue;
      const adv = advanceReluDormant(p, i, dormant[i]!, residual, horizon, { state: logState[i] ?? undefined });
      if (adv.reason === 'norm' && adv.t < tau) { tau = adv.t; winner = i; }
    }
    const patterns: (Uint8Array | null)[] = new Array(H).fill(null);
    if (winner < 0) return { tau, winner, patterns };
    for (let i = 0; i < H; i++) {
      if (activeMask[i] || !dormant[i]) continue;
      const adv = advanceReluDormant(p, i, dormant[i]!, residual, tau, { state: logState[i] ?? undefined });
      dormantEvents += adv.events.length;
      dormant[i] = adv.theta;
      logState[i] = adv.state;
      patterns[i] = adv.pattern;
    }
    return { tau, winner, patterns };
  };
  /**
   * The limit: every direction to its attractor, log-norms linear in rescaled time; the first to
   * reach ell = 0 (ties: the largest O(1) part, which reaches norm 1 first at any small α). The O(1)
   * parts follow the finite-α bookkeeping: log‖θ_i‖ = ell_i·log(1/α) + kappaLog_i grows by
   * rate_i·t + logGain_i over a plateau of flow time t = Δs·log(1/α) − kappaLog_w/rate_w.
   */
  const plateauLimit = (): { tau: number; winner: number; patterns: (Uint8Array | null)[] } => {
    const patterns: (Uint8Array | null)[] = new Array(H).fill(null);
    const rates = new Float64Array(H);
    let tau = Infinity, winner = -1;
    unsettledNow.length = 0;
    for (let i = 0; i < H; i++) {
      if (activeMask[i] || !dormant[i]) continue;
      const att = reluDirectionAttractor(p, i, dormant[i]!, residual, { rateScale: scale });
      if (!att.converged) { unsettled++; unsettledNow.push({ unit: i, rate: att.rate }); }
      dormant[i] = att.direction;
      patterns[i] = att.pattern;
      rates[i] = att.rate;
      kappaLog[i] += att.logGain;
      const ds = att.rate > rateTol ? Math.max(0, -ell[i]) / att.rate : Infinity;
      const tie = winner >= 0 && Math.abs(ds - tau) <= 1e-12 * Math.max(1, tau);
      if (tie ? kappaLog[i] / att.rate > kappaLog[winner] / rates[winner] : ds < tau) { tau = Math.min(ds, tau); winner = i; }
    }
    if (winner < 0) return { tau, winner, patterns };
    const offset = -kappaLog[winner] / rates[winner]; // O(1) flow time
    for (let i = 0; i < H; i++) {
      if (activeMask[i] || !dormant[i]) continue;
      ell[i] += rates[i] * tau;
      kappaLog[i] += rates[i] * offset;
    }
    ell[winner] = 0;
    kappaLog[winner] = 0;
    return { tau, winner, patterns };
  };

  const fitRelaxTimes: (number | null)[][] = [];
  const records: FitRecord[] = []; // finite α: for the time-scale check (coEvolutionCheck)
  const fitGradNorms: number[] = []; // ‖∇L‖ where each jump's cost minimisation stopped
  while (status === 'max-jumps' && jumps.length < maxJumps) {
    const { tau, winner, patterns } = limit ? plateauLimit() : plateauFinite();
    if (winner < 0) { status = 'no-positive-utility'; break; }
    time += tau;
    const wp = patterns[winner]!;
    // co-activated: the winner's cone; in the limit also the winner's exponent (ties to round-off)
    const onCone = (i: number): boolean => i !== winner && patterns[i] !== null && patterns[i]!.every((v, j) => v === wp[j]) && (!limit || Math.abs(ell[i]) <= 1e-9);
    const group = [winner, ...patterns.flatMap((_, i) => (onCone(i) ? [i] : []))];
    const wasActive = Array.from({ length: H }, (_, i) => activeMask[i] === 1);
    for (const i of group) {
      // in the limit a co-activated unit enters at its O(1) norm relative to the winner (as α → 0 at finite α)
      if (limit) dormant[i] = dormant[i]!.map((v) => v * Math.exp(Math.min(0, kappaLog[i] - kappaLog[winner])));
      theta.set(dormant[i]!, i * P);
      dormant[i] = null;
      logState[i] = null;
      activeMask[i] = 1;
    }
    coActivated.push(group.slice(1));
    const deactivated: number[] = [];
    // the fit: the masked relu flow from the activation state (no resizing: the flow does not resize), then Newton in its pattern
    const fit = fitReluActive(p, set, fitOpts);
    fitFlowTime += fit.flowTime;
    fitRelaxTimes.push(fit.relaxTimes);
    for (const c of fit.collapsed) {
      collapses++;
      if (wasActive[c.neuron]) deactivated.push(c.neuron);
    }
    for (const i of fit.dead) {
      // no sample on or pinned: zero output and gradient for every residual — frozen where it is
      frozen[i] = theta.slice(i * P, (i + 1) * P);
      theta.fill(0, i * P, (i + 1) * P);
      deadUnits++;
      if (wasActive[i]) deactivated.push(i);
    }
    fitGradNorms.push(fit.gradNorm);
    const lossAfter = updateResidual();
    for (const c of fit.collapsed) {
      // collapsed towards the origin: dormant again from its state at the floor, in the fit's final
      // residual, with the growing component its conserved a² − ‖w‖² − b² implies (cones.ts)
      const st = collapsedDormantState(p, c.neuron, c.theta, residual, lawS, conserved[c.neuron]);
      if (!limit) { dormant[c.neuron] = c.theta; logState[c.neuron] = st; continue; }
      // the limit: the unit regrows from its growing mode, at the exponent that mode has
      const g = st.log.reduce((b, l, k) => (st.sign[k] !== 0 && st.values[k] > rateTol && (b < 0 || l > st.log[b]) ? k : b), -1);
      const nrm = Math.hypot(...c.theta);
      dormant[c.neuron] = g >= 0 ? st.basis[g].map((v) => v * st.sign[g]) : c.theta.map((v) => v / nrm);
      ell[c.neuron] = (g >= 0 ? st.log[g] : Math.log(nrm)) / logInv;
      kappaLog[c.neuron] = 0;
    }
    if (!limit) {
      const state = theta.slice();
      for (let i = 0; i < H; i++) if (!activeMask[i] && dormant[i]) state.set(dormant[i]!, i * P);
      records.push({ state, relaxTimes: fit.relaxTimes, fitFlowTime: fit.flowTime });
    }
    jumps.push({ time: limit ? time * logInv : time, rescaledTime: limit ? time : time / logInv, neuron: winner, sign: neuronSign(p, theta, winner), lossAfter, deactivated });
    opts.onProgress?.({ jumps: jumps.length, rescaledTime: limit ? time : time / logInv, loss: lossAfter, initialLoss });
    activeSets.push(Array.from({ length: H }, (_, i) => i).filter((i) => activeMask[i]));
    if (lossAfter <= lossTol * initialLoss) status = 'zero-loss';
  }
  const finalTheta = theta.slice();
  for (let i = 0; i < H; i++) if (frozen[i]) finalTheta.set(frozen[i]!, i * P);
  if (!limit) for (let i = 0; i < H; i++) if (!activeMask[i] && dormant[i]) finalTheta.set(dormant[i]!, i * P);
  const unconverged = fitGradNorms.flatMap((g, k) => (g > 100 * gtol ? [k] : []));
  const coEvolution = limit || opts.flowCheck === false ? null : coEvolutionCheck(p, theta0, jumps, records, fitOpts.flowTol, fitOpts.tMax);
  const heldUnits = !limit && status === 'no-positive-utility' ? heldActiveUnits(p, theta, activeMask, residual, scale, rateTol) : [];
  return {
    model: p.model.spec.name,
    method: 'agf',
    conventions: {
      ...p.conventions,
      ...(limit ? { alpha: 0 } : {}),
      time: limit ? 'alpha → 0 limit: rescaledTime = t/log(1/alpha) is primary; time = rescaledTime·log(1/alpha) at the problem alpha' : 'flow time; rescaledTime = time / log(1/alpha)',
    },
    initialLoss,
    jumps,
    extra: {
      kappa: 2,
      solver: limit
        ? 'dormant directions to their activation-cone attractors, log-norms max-plus in rescaled time (alpha → 0) + masked relu flow (kink events) + Newton in its pattern for each cost minimisation'
        : 'dormant units advanced exactly through their activation cones + masked relu flow (kink events) + Newton in its pattern for each cost minimisation',
      status,
      limit,
      ...(status !== 'zero-loss' ? { stopReason: status === 'max-jumps' ? `stopped after maxJumps = ${maxJumps} jumps` : `no dormant unit reaches norm 1 on its activation cones; the loss stays at ${formatNumber(jumps.at(-1)?.lossAfter ?? initialLoss)}` } : {}),
      ...withWarning([
        unconverged.length ? `cost minimisation stopped short of a stationary point in ${unconverged.length} of ${fitGradNorms.length} fits (first at jump ${unconverged[0] + 1}; worst ‖F‖ = ${formatNumber(Math.max(...unconverged.map((k) => fitGradNorms[k])), 3)}, tolerance ${formatNumber(gtol, 3)}): AGF assumes each fit ends at one, so the jumps from there on depend on where it stopped` : '',
        coEvolution ? coEvolutionWarning(coEvolution) : '',
        heldUnits.length ? heldUnitsWarning(heldUnits) : '',
        limit && status === 'no-positive-utility' && unsettledNow.length ? `the stop rests on ${unsettledNow.length === 1 ? 'a dormant unit' : `${unsettledNow.length} dormant units`} (${unsettledNow.map((u) => `${u.unit}, last rate ${formatNumber(u.rate, 3)}`).join('; ')}) whose direction had not settled when the attractor search's flow-time budget ran out: it may still find a cone or sliding mode where it grows, so a later jump is not ruled out` : '',
      ].filter(Boolean).join('; ') || undefined),
      fitGradNorms,
      ...(coEvolution ? { coEvolution } : {}),
      ...(heldUnits.length ? { heldUnits } : {}),
      mechanism: 'relu activation cones (cones.ts)',
      fitFlowTime,
      fitRelaxTimes,
      ...(limit ? {} : { flowCheck: opts.flowCheck !== false }),
      collapses,
      deadUnits,
      activeSets,
      coActivated,
      ...(limit ? { dormantLogNorms: Array.from(ell, (v, i) => (activeMask[i] || !dormant[i] ? null : v)), unsettledAttractors: unsettled } : { dormantEvents }),
      finalTheta: Array.from(finalTheta),
    },
  };
}
