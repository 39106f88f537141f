/**
 * AGF for a discrete algorithm (gd, momentum; solvers/agf/discrete.ts) against a simulated run of
 * that algorithm (solvers/descent.ts), with the gradient-flow AGF mapped to steps by the usual
 * rescaling k = t/η (gd) or k = t(1 − m)/η (heavy ball) beside it.
 *
 * Errors are in rescaled units: (k_method − k_sim)·η_eff / log(1/α), η_eff = η or η/(1 − m), the
 * step error in flow-time equivalents over the plateau scale. AGF's own error is an O(1) flow-time
 * offset per jump (the fit is not instantaneous, activation at ‖θ‖ = 1 vs the loss midpoint), so the
 * discrete AGF's error shrinks like 1/log(1/α); the flow mapping adds a relative rate error
 * (log(1 + ηλ)/η ≠ λ) that does not shrink with α.
 */
import type { Problem } from '../problem.ts';
import type { JumpSchedule } from '../schedule.ts';
import type { Table } from '../report/table.ts';
import type { Trajectory } from '../trajectory.ts';
import { jacobiEig } from '../solvers/agf/spectral.ts';
import { formatNumber } from '../report/table.ts';
import { GradflowError } from '../util/errors.ts';
import { CAPS } from '../util/limits.ts';
import { solveAgf } from '../solvers/agf.ts';
import { algorithmLabel, flowTimePerStep, hasMomentum, type AgfAlgorithm } from '../solvers/agf/discrete.ts';
import { solveDescent } from '../solvers/descent.ts';
import { detectJumps } from './jumps.ts';
import { compareSchedules, type Comparison } from './compare.ts';

export interface DiscreteRow {
  k: number;
  neuron: number;
  /** The simulated run's arriving neuron (null: jump not reached). */
  neuronSim: number | null;
  stepSim: number | null;
  stepPredicted: number;
  /** The gradient-flow AGF time over η_eff. */
  stepFlowMapped: number | null;
  /** (k − k_sim)·η_eff / log(1/α). */
  errPredicted: number | null;
  errFlowMapped: number | null;
}

export interface DiscreteComparison {
  algorithm: Exclude<AgfAlgorithm, { kind: 'flow' }>;
  /** Flow time per step, η_eff. */
  flowTimePerStep: number;
  predicted: JumpSchedule;
  flow: JumpSchedule;
  simulated: JumpSchedule | null;
  /** Simulated steps (0: not simulated, e.g. an unstable or empty prediction). */
  steps: number;
  rows: DiscreteRow[];
  /** The generic matched comparison (reference: the simulation) for --json. */
  comparison: Comparison;
  /** The simulated run (null: not simulated). */
  trajectory: Trajectory | null;
}

export interface DiscreteCompareOptions {
  /** The gradient-flow AGF of the same problem (computed when absent). */
  flow?: JumpSchedule;
  /** Record every this many steps (default: every step up to 2e5 steps, then ~2e5 records). */
  recordEvery?: number;
}

/** Steps to simulate: past the last predicted jump, plus settling time (20 in flow time, 20/(1 − m) steps for the heavy ball's ringing). */
export function simulationSteps(s: JumpSchedule, a: AgfAlgorithm): number {
  const last = s.jumps.at(-1)?.step ?? 0;
  const ring = hasMomentum(a) ? 20 / (1 - a.momentum) : 0;
  return Math.ceil(1.3 * last + 20 / flowTimePerStep(a) + ring);
}

export function compareDiscrete(p: Problem, algorithm: AgfAlgorithm, opts: DiscreteCompareOptions = {}): DiscreteComparison {
  if (algorithm.kind === 'flow') throw new GradflowError('compareDiscrete: give gd or momentum');
  const predicted = solveAgf(p, { algorithm });
  const flow = opts.flow ?? solveAgf(p);
  const per = flowTimePerStep(algorithm);
  const momentum = hasMomentum(algorithm) ? algorithm.momentum : 0;
  let simulated: JumpSchedule | null = null, steps = 0, trajectory: Trajectory | null = null;
  if (predicted.jumps.length) {
    steps = simulationSteps(predicted, algorithm);
    if (steps > CAPS.steps.value) throw new GradflowError(`agf --simulate: ${steps} steps would be needed (cap ${CAPS.steps.value}, GRADFLOW_MAX_STEPS); raise --lr or --alpha`);
    const recordEvery = opts.recordEvery ?? (steps <= 200_000 ? 1 : Math.ceil(steps / 200_000));
    const tr = solveDescent(p, { lr: algorithm.lr, momentum, nesterov: algorithm.kind === 'nesterov', steps, recordEvery });
    trajectory = tr;
    simulated = detectJumps(p, tr, { predicted, method: algorithm.kind, ...(momentum ? { arrival: 'growth' as const } : {}) });
  }
  const rows = discreteRows(p, algorithm, predicted, flow, simulated);
  const schedules = simulated ? [simulated, predicted, flow] : [predicted, flow];
  return { algorithm, flowTimePerStep: per, predicted, flow, simulated, steps, rows, comparison: compareSchedules(schedules, simulated ? simulated.method : predicted.method), trajectory };
}

/** One arrival of a simulated run by norm: its step, and the neuron (null for interchangeable neurons, whose units are the modes). */
export interface NormArrival {
  step: number | null;
  neuron: number | null;
}

/**
 * The simulated run's arrivals by AGF's own activation criterion, a unit's ‖θ‖ reaching `level`
 * (AGF stamps a jump at ‖θ‖ = 1). It does not read the loss, so it holds where the loss-midpoint
 * rule of analysis/jumps.ts cannot: a heavy ball's ringing (~1/(1 − √m) steps after each jump)
 * that outlasts the next plateau keeps the loss off the plateau levels, and a loss midpoint is
 * then crossed by a swing of the ringing, or only when the ringing dies out.
 * Units: the neurons (arrival k: the first step at which k of them have reached `level`, the
 * neuron the k-th to get there); interchangeable neurons (a linear network's hidden units, AGF's
 * virtual neurons are rotations of them): the singular values of the H × P neuron matrix (rows
 * θ_i), arrival k the first step at which the k-th largest reaches `level`. For runs without
 * deactivations (a neuron that collapses and returns is counted once).
 */
export function normArrivals(p: Problem, tr: Trajectory, count: number, level: number, interchangeable: boolean, per: number): NormArrival[] {
  const { H, P } = p.layout;
  const out: NormArrival[] = [];
  if (interchangeable) {
    const G = new Float64Array(H * H);
    let k = 0;
    for (let r = 0; r < tr.states.length && k < count; r++) {
      const s = tr.states[r];
      for (let i = 0; i < H; i++) for (let j = 0; j <= i; j++) { let t = 0; for (let a = 0; a < P; a++) t += s[i * P + a] * s[j * P + a]; G[i * H + j] = t; G[j * H + i] = t; }
      const sv = Array.from(jacobiEig(G, H).values, (x) => Math.sqrt(Math.max(0, x))).sort((a, b) => b - a);
      while (k < count && k < H && sv[k] >= level) { out.push({ step: Math.round(tr.t[r] / per), neuron: null }); k++; }
    }
  } else {
    const seen = new Uint8Array(H);
    for (let r = 0; r < tr.states.length && out.length < count; r++) {
      const s = tr.states[r];
      const now: { i: number; n: number }[] = [];
      for (let i = 0; i < H; i++) {
        if (seen[i]) continue;
        let q = 0;
        for (let a = 0; a < P; a++) q += s[i * P + a] ** 2;
        if (Math.sqrt(q) >= level) now.push({ i, n: q });
      }
      // two reaching it at one record: the larger first
      now.sort((a, b) => b.n - a.n);
      for (const { i } of now) { if (out.length < count) out.push({ step: Math.round(tr.t[r] / per), neuron: i }); seen[i] = 1; }
    }
  }
  while (out.length < count) out.push({ step: null, neuron: null });
  return out;
}

/** Per-jump steps and rescaled errors of a discrete AGF schedule against a simulated run of the same algorithm (jumps matched by index). */
export function discreteRows(p: Problem, algorithm: AgfAlgorithm, predicted: JumpSchedule, flow: JumpSchedule, simulated: JumpSchedule | null): DiscreteRow[] {
  const per = flowTimePerStep(algorithm);
  const logInv = Math.log(1 / p.alpha);
  return predicted.jumps.map((j, q) => {
    const sim = simulated?.jumps[q];
    const stepSim = sim ? sim.time / per : null;
    const fl = flow.jumps[q] ? flow.jumps[q].time / per : null;
    const step = j.step ?? j.time / per;
    const err = (k: number | null): number | null => (k === null || stepSim === null ? null : ((k - stepSim) * per) / logInv);
    return { k: q + 1, neuron: j.neuron, neuronSim: sim?.neuron ?? null, stepSim, stepPredicted: step, stepFlowMapped: fl, errPredicted: err(step), errFlowMapped: err(fl) };
  });
}

const fmt = (v: unknown, sig = 6): string => (typeof v === 'number' ? formatNumber(v, sig) : '—');

export function discreteTable(c: DiscreteComparison, notes: string[]): Table {
  const name = c.algorithm.kind;
  return {
    title: `AGF for ${algorithmLabel(c.algorithm)} vs a simulated ${name} run (steps)`,
    columns: [
      { key: 'k', header: 'k' },
      { key: 'neuron', header: 'neuron', format: (v) => fmt(v) },
      { key: 'neuronSim', header: `neuron ${name}`, format: (v) => fmt(v) },
      { key: 'stepSim', header: `step ${name} (sim)`, format: (v) => fmt(v, 7) },
      { key: 'stepPredicted', header: `step agf-${name}`, format: (v) => fmt(v, 7) },
      { key: 'stepFlowMapped', header: 'step agf-flow t/η_eff', format: (v) => fmt(v, 7) },
      { key: 'errPredicted', header: `err agf-${name}`, format: (v) => fmt(v, 3) },
      { key: 'errFlowMapped', header: 'err agf-flow', format: (v) => fmt(v, 3) },
    ],
    rows: c.rows.map((r) => ({ ...r })),
    notes: [
      `steps k of the algorithm; η_eff = ${name === 'gd' ? 'lr' : 'lr/(1 − momentum)'} = ${formatNumber(c.flowTimePerStep, 6)} flow time per step; agf-flow is the gradient-flow AGF time over η_eff`,
      'err = (k − k_sim)·η_eff / log(1/α): the step error in rescaled flow-time units (AGF errs by O(1) flow time per jump, so this shrinks like 1/log(1/α); the flow mapping adds an η-dependent relative offset)',
      `agf-${name}: first step at which the arriving neuron has ‖θ‖ ≥ 1 under the ${name === 'gd' ? 'per-step factor 1 + ηλ' : `${name === 'nesterov' ? 'Nesterov' : 'heavy-ball'} recurrence (buffer carried across plateaus, each fit run in the algorithm's steps)`}; sim: loss crosses the geometric midpoint of the predicted plateau levels (src/analysis/jumps.ts)`,
      ...(c.steps ? [`simulated: ${c.steps} steps of ${algorithmLabel(c.algorithm)} from the same start (solvers/descent.ts, float64)`] : ['not simulated: the prediction has no jump']),
      ...notes,
    ],
  };
}

/**
 * One note line for a heavy-ball / Nesterov comparison: the simulated run's steps of ‖θ‖ ≥ 1 (the
 * criterion the κ = 2 engine stamps its jumps with), which the buffer's ringing does not disturb.
 * null for gd, κ > 2, without a simulation, or for interchangeable groups too large to take an eigendecomposition per
 * recorded step.
 */
export function arrivalNote(p: Problem, c: DiscreteComparison): string | null {
  // κ = 2 only: the κ > 2 engine stamps its jumps at ‖θ‖ = 0.03^{1/κ} (sphere-discrete.ts), not at 1
  if (!hasMomentum(c.algorithm) || !c.trajectory || !c.rows.length || p.derived.kappa !== 2) return null;
  const inter = c.predicted.extra?.interchangeable === true;
  if (inter && p.layout.H > 16) return null;
  const a = normArrivals(p, c.trajectory, c.rows.length, 1, inter, c.flowTimePerStep);
  const ring = Math.ceil(1 / (1 - Math.sqrt(c.algorithm.momentum)));
  const list = a.map((x) => (x.step === null ? '—' : `${x.step}${x.neuron === null ? '' : ` (neuron ${x.neuron})`}`)).join(', ');
  return `sim ${inter ? 'σ_k of the neuron matrix' : '‖θ_i‖'} ≥ 1 (AGF's activation criterion read off the simulated run; unlike the loss midpoint it holds where the buffer's ringing, ~1/(1 − √m) = ${ring} steps, outlasts a plateau): steps ${list}${a.some((x) => x.step === null) ? ' (—: never reached, e.g. a neuron that fits below norm 1)' : ''}`;
}

