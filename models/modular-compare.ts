/**
 * Modular addition: AGF vs simulated training, frequency by frequency (issue 6). A library call;
 * `gradflow compare modular` is a thin wrapper.
 *
 * Per frequency ξ (in AGF's order) it reports: |X[ξ]|, U*_ξ (closed form), the aligned κ = 3 time
 * τ_ξ = (1/alpha − 1)/(3U*_ξ), the first activation of a neuron carrying ξ in AGF and in each
 * simulation (simulated activation: ‖θ_i‖ crosses sqrt(‖θ_i(0)‖) upwards; the neuron's frequency
 * is its dominant class at the end), the number of such neurons, the closed-form plateau after
 * ξ in gradflow's and torch-MSELoss units, and the AGF / simulated loss just before the next
 * frequency's first activation (or at the end).
 */
import type { JumpReporter, Progress } from '../src/util/progress.ts';
import type { Problem } from '../src/problem.ts';
import type { JumpSchedule } from '../src/schedule.ts';
import type { Trajectory } from '../src/trajectory.ts';
import type { Table } from '../src/report/table.ts';
import { formatNumber } from '../src/report/table.ts';
import { solveAgfModular } from '../src/solvers/agf-modular.ts';
import { solveAgf, type AgfOptions } from '../src/solvers/agf.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { DivergenceError, GradflowError } from '../src/util/errors.ts';
import { CAPS } from '../src/util/limits.ts';
import { nearestIndex } from '../src/trajectory.ts';
import { type SpectrumEntry, spectrumOf } from './modular-data.ts';
import { predictModular, toTorchLoss, type ModularPrediction } from './modular-theory.ts';
import { groupByFrequency, residualClassLoss, scheduleActivations, trajectoryActivations, type FrequencyActivation } from './modular-analysis.ts';

/**
 * Residual loss per output frequency class at ≤ 200 of the given states (subsampled evenly), and
 * the states themselves, so that classCrossing reads a crossing off the full record: over the
 * subsampled series alone a t½ was interpolated linearly across ~horizon/200 (0.48 flow-time
 * units at p = 20, α = 0.3: the flow's ξ = 1 came out 1.203 where the crossing is 1.127).
 */
export interface ClassLossSeries {
  t: number[];
  cl: Float64Array[];
  init: Float64Array;
  /**
   * The states hold from their time until the next one (AGF's per-jump states: the loss is constant
   * on a plateau and drops at the jump), so a crossing is the first sample at or below the level,
   * not a line drawn between two jumps (that put AGF's ξ = 3 at 7.94 where its own jump to below
   * half comes at 10.78: p = 20, α = 0.3).
   */
  steps?: boolean;
  /** The full record behind the samples (idx[k]: the state of sample k), with its class losses as they are read. */
  record?: { pr: Problem; times: number[]; states: Float64Array[]; idx: number[]; cache: Map<number, Float64Array> };
  /**
   * The crossing of class f's loss through `level` between record states j and j + 1 located on the
   * trajectory itself (flowCrossing, momentumCrossing: the run repeated over that interval); null:
   * read it off the line between the two. Between records ~horizon/4000 apart a line put the
   * flow's ξ = 1 t½ at α = 1e-2 0.4 % apart on two horizons (p = 20: 34.15, 34.29; p = 7: 109.876,
   * 109.865, where the flow's is 109.8763).
   */
  refine?: (j: number, f: number, level: number) => number | null;
}

export function classLossSeries(pr: Problem, times: number[], states: Float64Array[], opts: { steps?: boolean; refine?: ClassLossSeries['refine'] } = {}): ClassLossSeries {
  const stride = Math.max(1, Math.ceil(states.length / 200));
  const idx: number[] = [];
  for (let k = 0; k < states.length; k += stride) idx.push(k);
  if (idx[idx.length - 1] !== states.length - 1) idx.push(states.length - 1);
  const cl = idx.map((k) => residualClassLoss(pr, states[k]));
  return {
    t: idx.map((k) => times[k]),
    cl,
    init: residualClassLoss(pr, new Float64Array(pr.theta0.length)),
    ...(opts.steps ? { steps: true } : {}),
    ...(opts.refine ? { refine: opts.refine } : {}),
    ...(stride > 1 ? { record: { pr, times, states, idx, cache: new Map(idx.map((k, q) => [k, cl[q]])) } } : {}),
  };
}

/**
 * First time the residual loss at output frequency f falls to `fraction` of its initial value
 * (linear interpolation between samples; between the record's states where the series keeps them;
 * a series of steps: the first sample at or below it).
 * fraction = 1/2 times the jump of ξ in function space, whichever neurons make it; fraction = 0.95
 * marks when ξ starts to be learned.
 */
export function classCrossing(s: ClassLossSeries, f: number, fraction: number): number | null {
  const lv = fraction * s.init[f];
  const k = s.cl.findIndex((c) => c[f] <= lv);
  if (k < 0) return null;
  if (k === 0 || !(s.cl[k - 1][f] > lv)) return s.t[k];
  // the bracket on the finest record there is: the states between samples k − 1 and k (without a
  // record the samples are the states); j: the first of them at or below the level
  const r = s.record;
  const time = (i: number): number => (r ? r.times[i] : s.t[i]);
  const loss = (i: number): number => {
    if (!r) return s.cl[i][f];
    let c = r.cache.get(i);
    if (!c) { c = residualClassLoss(r.pr, r.states[i]); r.cache.set(i, c); }
    return c[f];
  };
  const hi = r ? r.idx[k] : k;
  let j = (r ? r.idx[k - 1] : k - 1) + 1;
  while (j < hi && loss(j) > lv) j++;
  if (s.steps) return time(j);
  const c0 = loss(j - 1), c1 = loss(j);
  return s.refine?.(j - 1, f, lv) ?? time(j - 1) + ((c0 - lv) / (c0 - c1)) * (time(j) - time(j - 1));
}

/**
 * classCrossing's refinement for a flow stored at checkpoints: the flow from checkpoint j to j + 1
 * again (RKC2 at the run's tolerance, with dense output), and the crossing located on it; null
 * where the bracket does not hold on the re-run (the level within its error of either end).
 */
function flowCrossing(pr: Problem, tr: Trajectory, rtol: number): NonNullable<ClassLossSeries['refine']> {
  return (j, f, level) => {
    const dt = tr.t[j + 1] - tr.t[j];
    if (!(dt > 0)) return null;
    const seg = solveFlow(pr, { theta0: tr.states[j], tEnd: dt, method: 'rkc', rtol, maxSteps: CAPS.steps.value });
    const g = (s: number): number => residualClassLoss(pr, seg.dense!(s))[f] - level;
    let a = 0, b = dt, ga = g(a), gb = g(b);
    if (!(ga > 0 && gb <= 0)) return null;
    // Illinois regula falsi to 1e-12 of the interval (a class loss costs ~3 ms at p = 20: bisection's
    // 34 of them per crossing were 2 s of the default run); far below the flow's own error
    let side = 0;
    for (let it = 0; it < 60 && b - a > 1e-12 * dt; it++) {
      const c = b - (gb * (b - a)) / (gb - ga), gc = g(c);
      if (gc > 0) { a = c; ga = gc; if (side === -1) gb /= 2; side = -1; } else { b = c; gb = gc; if (side === 1) ga /= 2; side = 1; }
      if (gc === 0) break;
    }
    return tr.t[j] + b;
  };
}

/**
 * The same for the heavy ball stored every few steps: the iteration re-run from stored step j with
 * its momentum buffer (the same steps, bit for bit), the class loss at each step up to j + 1, the
 * crossing on the line between the two steps around it (t = k·lr/(1 − m)).
 */
function momentumCrossing(pr: Problem, tr: Trajectory): NonNullable<ClassLossSeries['refine']> {
  const lr = Number(tr.stats.lr), m = Number(tr.stats.momentum);
  return (j, f, level) => {
    const steps = tr.monitors.step, v = tr.velocities;
    if (!v || !steps || !(steps[j + 1] > steps[j])) return null;
    const seg = solveDescent(pr, { lr, momentum: m, steps: steps[j + 1] - steps[j], recordEvery: 1, theta0: tr.states[j], velocity0: v[j] });
    let prev = residualClassLoss(pr, seg.states[0])[f] - level;
    for (let k = 1; k < seg.states.length; k++) {
      const cur = residualClassLoss(pr, seg.states[k])[f] - level;
      if (prev > 0 && cur <= 0) return tr.t[j] + seg.t[k - 1] + (prev / (prev - cur)) * (seg.t[k] - seg.t[k - 1]);
      prev = cur;
    }
    return null;
  };
}

export interface ModularRunOptions {
  /** Simulated flow time (default 1.4 × the latest AGF t½ over the frequencies, + 10). */
  horizon?: number;
  /**
   * Relative tolerance of the flow's error-controlled RKC2 (default FLOW_RTOL). It was a fixed RKC
   * step of 0.1, whose t½ were 0.8 % (ξ = 1) and 0.13 % (ξ = 3) off a dopri5 flow at rtol 1e-10.
   */
  rtol?: number;
  /** Momentum run: lr and m (default 0.003, 0.9: flow time 0.03 a step; heavy-ball stable for λ < 2(1 + m)/lr ≈ 1270; the default lr is halved, up to 4 times, when its run diverges). */
  lr?: number;
  momentum?: number;
  methods?: ('flow' | 'momentum')[];
  /** The AGF engine: the generic engine with these options (default MODULAR_GENERIC_AGF) or 'modular' (agf-modular.ts, the model-specific cross-check). */
  engine?: 'modular' | { generic: AgfOptions };
  /** A progress line per simulated run (flow, momentum). */
  progress?: (run: string) => Progress;
  /** A jump-by-jump progress line for the modular AGF. */
  agfProgress?: JumpReporter;
}

/**
 * The flow's tolerance: p = 20, α = 0.3, t½ within 1e-5 (ξ = 1) and 4e-6 (ξ = 3) of dopri5 at rtol
 * 1e-10 (1.20287 vs 1.20286, 11.19162 vs 11.19157), in 7.3 s against dopri5's 27 s; 1e-5 gave
 * 6e-5 / 2e-5 in 4.1 s — a digit short of the five the table prints.
 */
export const FLOW_RTOL = 1e-6;
/** The flow's step (flow time) that the step cap is checked against before it runs (see runModular). */
const FLOW_NOMINAL_STEP = 1;
/** Stored flow states (equally spaced in time): they bracket the t½ crossings (located on re-runs) and give the activation times; as many as the fixed-step run kept, each costs a loss evaluation (detectJumps reads them all). */
const FLOW_RECORDS = 2000;

/** The momentum run's step when --lr is not given, and how often it is halved when that run diverges. */
export const DEFAULT_MOMENTUM_LR = 0.003;
const MAX_LR_HALVINGS = 4;

/**
 * The generic engine as compare modular runs it: each cost minimisation is 2 flow-time units of the
 * masked flow (its fast transient picks the basin the flow reaches) and a rebalancing to the
 * conserved rescaling quantities, with no L-BFGS or Newton after it. On this model the fits after
 * the first have no critical point within a plateau's reach (the active neurons creep along
 * non-compact valleys), and minimisers run after the transient follow those valleys to large,
 * stiff fits (see agf --fit-relax); the transient alone is agf-modular's fit, in the generic engine.
 * Not the model's own fits (modular.agfFit, what agf modular runs): at compare's α = 0.3 they cost
 * 11.8 s against 3.8 s for the AGF column and bring neither t½ nor the neurons per frequency closer
 * to the flow's (#n 6/5/4 and 8/6/1 against the flow's 7/7/2).
 */
export const MODULAR_GENERIC_AGF: AgfOptions = { fitRelax: 2, fitIter: 0, fitNewton: 0 };

export interface FrequencyRow {
  freq: number;
  amp: number;
  uStar: number;
  tau: number;
  level: number;
  levelTorch: number;
  first: Record<string, number | null>;
  /** Residual at output frequency ξ down to half its initial value. */
  half: Record<string, number | null>;
  neurons: Record<string, number>;
  plateau: Record<string, number | null>;
}

export interface ModularRun {
  prediction: ModularPrediction;
  agf: JumpSchedule;
  trajectories: Record<string, Trajectory>;
  groups: Record<string, FrequencyActivation[]>;
  rows: FrequencyRow[];
  timings: Record<string, number>;
  notes: string[];
}

function lossAt(tr: Trajectory, t: number): number {
  return tr.loss[nearestIndex(tr, t)];
}

export function runModular(pr: Problem, opts: ModularRunOptions = {}): ModularRun {
  const p = pr.layout.dims.p, H = pr.layout.H, P = pr.layout.P;
  const x = pr.data.Y.subarray(0, p); // pair (0, 0): target roll(x, 0) = x
  const spectrum: SpectrumEntry[] = spectrumOf(x);
  const prediction = predictModular(p, spectrum, pr.alpha);
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const engine = opts.engine ?? { generic: MODULAR_GENERIC_AGF };
  const agf = engine === 'modular' ? solveAgfModular(pr, { onProgress: opts.agfProgress }) : solveAgf(pr, engine.generic);
  opts.agfProgress?.finish(agf);
  timings.agf = (performance.now() - t0) / 1000;
  const agfFinal = Float64Array.from(agf.extra!.finalDormant as number[]);
  const groups: Record<string, FrequencyActivation[]> = { agf: groupByFrequency(p, agfFinal, scheduleActivations(agf)) };
  const firstOf = (g: FrequencyActivation[], f: number): number | null => g.find((e) => e.freq === f)?.times[0] ?? null;
  const freqs = prediction.order.map((o) => o.freq);
  const agfStates = agf.extra!.states as Float64Array[];
  const agfTimes = agf.jumps.map((j) => j.time);
  const agfSeries = classLossSeries(pr, agfTimes, agfStates, { steps: true });
  // long enough for the flow to halve the last frequency's residual well after AGF does
  const lastHalf = Math.max(...freqs.map((f) => classCrossing(agfSeries, f, 0.5) ?? agfTimes[agfTimes.length - 1] ?? 0));
  const horizon = opts.horizon ?? 1.4 * lastHalf + 10;
  const trajectories: Record<string, Trajectory> = {};
  const methods = opts.methods ?? ['flow', 'momentum'];
  const notes: string[] = engine === 'modular'
    ? ['agf: the model-specific engine (solvers/agf-modular.ts, --agf closed: a cross-check of the generic one)']
    : [`agf: generic engine (${String(agf.extra?.solver)})${agf.extra?.warning ? `; warning: ${String(agf.extra.warning)}` : ''}`];
  // both simulations' lengths are known now: refuse before either runs, not after the flow
  // (κ = 3 plateaus last ~1/α: compare modular --alpha 1e-6 asked for 1.3e9 fixed steps). The
  // flow's steps are error-controlled, and held near 1 time unit by the stiffness (λ ~ 1e3 on the
  // plateaus, ~35 Chebyshev stages a step at α = 1e-2: 0.3–0.7 units): horizon / FLOW_NOMINAL_STEP
  // estimates them, and the cap passed to the integrator bounds the run
  const rtolFlow = opts.rtol ?? FLOW_RTOL;
  const m = opts.momentum ?? 0.9;
  const momentumSteps = (lr: number): number => Math.ceil(horizon * (1 - m) / lr);
  const stepsOf = { flow: Math.ceil(horizon / FLOW_NOMINAL_STEP), momentum: momentumSteps(opts.lr ?? DEFAULT_MOMENTUM_LR) };
  for (const name of ['flow', 'momentum'] as const) {
    if (methods.includes(name) && stepsOf[name] > CAPS.steps.value) {
      throw new GradflowError(`${name}: ${name === 'flow' ? 'about ' : ''}${stepsOf[name] > 1e12 ? formatNumber(stepsOf[name], 3) : stepsOf[name]} steps needed to reach t = ${formatNumber(horizon, 4)} (${name === 'flow' ? `RKC2, error-controlled; its steps stay near ${FLOW_NOMINAL_STEP} flow-time unit on this stiff flow` : `heavy ball, lr = ${opts.lr ?? DEFAULT_MOMENTUM_LR}, m = ${m}`}; cap ${CAPS.steps.value}, ${CAPS.steps.env}): the plateaus of this κ = 3 model last ~1/alpha, so give a larger --alpha or a shorter --t`);
    }
  }
  if (methods.includes('flow')) {
    t0 = performance.now();
    const tEval = Array.from({ length: FLOW_RECORDS + 1 }, (_, k) => (k === FLOW_RECORDS ? horizon : (horizon * k) / FLOW_RECORDS));
    trajectories.flow = solveFlow(pr, { tEnd: horizon, method: 'rkc', rtol: rtolFlow, tEval, dense: false, maxSteps: CAPS.steps.value, onProgress: opts.progress?.('flow') });
    timings.flow = (performance.now() - t0) / 1000;
    const st = trajectories.flow.stats;
    notes.push(`flow: RKC2 (Runge–Kutta–Chebyshev, error-controlled, rtol ${rtolFlow}; ${st.steps} steps, ${st.fevals} gradients) to t = ${horizon.toPrecision(4)}`);
  }
  if (methods.includes('momentum')) {
    let lr = opts.lr ?? DEFAULT_MOMENTUM_LR;
    t0 = performance.now();
    let steps = 0;
    const halvedFrom: string[] = [];
    for (;;) {
      steps = momentumSteps(lr);
      try {
        trajectories.momentum = solveDescent(pr, { lr, momentum: m, steps, recordEvery: Math.max(1, Math.floor(steps / 2000)), recordVelocity: true, onProgress: opts.progress?.('momentum') });
        break;
      } catch (e) {
        // the default step is a fixed number, and the sharpness grows with the neurons' norms
        // (p = 7, H = 6, α = 1e-2: λ_max up to 9e3 along the flow, past the heavy ball's 2(1 + m)/lr
        // ≈ 1270): halve it, a bounded number of times, and say so; a given --lr is the user's
        if (!(e instanceof DivergenceError) || opts.lr !== undefined || halvedFrom.length >= MAX_LR_HALVINGS) throw e;
        halvedFrom.push(String(lr));
        lr /= 2;
      }
    }
    timings.momentum = (performance.now() - t0) / 1000;
    const halved = halvedFrom.length ? ` (the default ${DEFAULT_MOMENTUM_LR} diverged${halvedFrom.length > 1 ? `, and so did ${halvedFrom.slice(1).join(', ')}` : ''}: halved ${halvedFrom.length}×; --lr sets it)` : '';
    notes.push(`momentum: heavy ball lr = ${lr}${halved}, m = ${m}, ${steps} steps, t = k·lr/(1 − m)`);
  }
  for (const [name, tr] of Object.entries(trajectories)) {
    const fin = tr.states[tr.states.length - 1];
    groups[name] = groupByFrequency(p, fin, trajectoryActivations(tr, P, H));
  }
  const series = {
    agf: agfSeries,
    ...Object.fromEntries(Object.entries(trajectories).map(([name, tr]) => [name, classLossSeries(pr, tr.t, tr.states, { refine: name === 'flow' ? flowCrossing(pr, tr, rtolFlow) : momentumCrossing(pr, tr) })])),
  };
  const half: Record<string, Record<number, number | null>> = {}, start: Record<string, Record<number, number | null>> = {};
  for (const [name, s] of Object.entries(series)) {
    half[name] = Object.fromEntries(freqs.map((f) => [f, classCrossing(s, f, 0.5)]));
    start[name] = Object.fromEntries(freqs.map((f) => [f, classCrossing(s, f, 0.95)]));
  }
  const rows: FrequencyRow[] = prediction.order.map((o, k) => {
    const next = prediction.order[k + 1];
    const first: Record<string, number | null> = {}, neurons: Record<string, number> = {}, plateau: Record<string, number | null> = {}, halfT: Record<string, number | null> = {};
    for (const [name, g] of Object.entries(groups)) {
      first[name] = firstOf(g, o.freq);
      neurons[name] = g.find((e) => e.freq === o.freq)?.neurons.length ?? 0;
      halfT[name] = half[name][o.freq];
      const tNext = next ? start[name][next.freq] : null;
      if (name === 'agf') {
        // the AGF loss after the last jump before the next frequency's first activation
        const before = agf.jumps.filter((j) => tNext === null || j.time < tNext - 1e-12);
        plateau[name] = before.length ? before[before.length - 1].lossAfter : null;
      } else {
        const tr = trajectories[name];
        plateau[name] = tNext === null ? tr.loss[tr.loss.length - 1] : lossAt(tr, tNext);
      }
    }
    return { freq: o.freq, amp: o.amp, uStar: o.uStar, tau: o.tau, level: o.levelAfter, levelTorch: o.levelAfterTorch, first, half: halfT, neurons, plateau };
  });
  return { prediction, agf, trajectories, groups, rows, timings, notes };
}

/**
 * The frequency-by-frequency table. narrow (the default): ξ, U*, t½ per method, each simulation's
 * t½ relative to AGF's and the neurons carrying ξ; full adds |X[ξ]|, τ aligned, t1, the plateau
 * levels (closed form, torch's normalisation) and every method's plateau.
 */
export function modularTable(run: ModularRun, pr: Problem, notes: string[], width: 'narrow' | 'full' = 'full'): Table {
  const methods = Object.keys(run.groups);
  const f = (v: unknown): string => formatNumber(v as number | null, 5);
  const rel = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? v.toExponential(2) : '—');
  const simulated = methods.filter((m) => m !== 'agf');
  const columns = width === 'narrow' ? [
    { key: 'freq', header: 'ξ', align: 'right' as const },
    { key: 'uStar', header: 'U*', format: f },
    ...methods.map((m) => ({ key: `half_${m}`, header: `t½ ${m}`, format: f })),
    ...simulated.map((m) => ({ key: `rel_${m}`, header: `rel. diff ${m}`, format: rel })),
    ...methods.map((m) => ({ key: `n_${m}`, header: `#n ${m}` })),
  ] : [
    { key: 'freq', header: 'ξ', align: 'right' as const },
    { key: 'amp', header: '|X[ξ]|', format: f },
    { key: 'uStar', header: 'U*', format: f },
    { key: 'tau', header: 'τ aligned', format: f },
    ...methods.map((m) => ({ key: `first_${m}`, header: `t1 ${m}`, format: f })),
    ...methods.map((m) => ({ key: `half_${m}`, header: `t½ ${m}`, format: f })),
    ...simulated.map((m) => ({ key: `rel_${m}`, header: `rel. diff ${m}`, format: rel })),
    ...methods.map((m) => ({ key: `n_${m}`, header: `#n ${m}` })),
    { key: 'level', header: 'level', format: f },
    { key: 'levelTorch', header: 'level torch', format: f },
    ...methods.map((m) => ({ key: `pl_${m}`, header: `plateau ${m}`, format: f })),
  ];
  const rows = run.rows.map((r) => {
    const o: Record<string, unknown> = { freq: r.freq, amp: r.amp, uStar: r.uStar, tau: r.tau, level: r.level, levelTorch: r.levelTorch };
    for (const m of methods) {
      o[`first_${m}`] = r.first[m];
      o[`half_${m}`] = r.half[m];
      const a = r.half.agf, h = r.half[m];
      if (m !== 'agf') o[`rel_${m}`] = typeof a === 'number' && typeof h === 'number' && a !== 0 ? (h - a) / a : null;
      o[`n_${m}`] = r.neurons[m];
      o[`pl_${m}`] = r.plateau[m];
    }
    return o;
  });
  return {
    title: `modular addition mod ${pr.layout.dims.p}, H = ${pr.layout.H}: frequencies in AGF order (initial loss ${formatNumber(run.prediction.initialLoss, 6)}, torch ${formatNumber(run.prediction.initialLossTorch, 6)})`,
    columns,
    rows,
    notes: width === 'narrow' ? [
      'U* = sqrt(2/27)·|X[ξ]/sqrt(p)|³ (closed form; Nyquist ξ = p/2: 2/sqrt(27)); #n: neurons carrying ξ at the end',
      't½: the residual at output frequency ξ falls to half its initial value (the frequency\'s jump, whichever neurons make it; AGF: the jump that takes it there, its loss being constant between jumps); rel. diff = (t½ of the simulation − t½ of AGF) / t½ of AGF',
      '--columns full adds |X[ξ]|, τ aligned, the first activations t1 and the plateau levels',
      ...notes,
    ] : [
      'U* = sqrt(2/27)·|X[ξ]/sqrt(p)|³ (closed form; Nyquist ξ = p/2: 2/sqrt(27)); τ aligned = (1/alpha − 1)/(3U*) (a neuron starting on the maximiser)',
      't1: first activation of a neuron carrying ξ (AGF: jump; simulations: ‖θ_i‖ crosses sqrt(‖θ_i(0)‖)); #n: neurons carrying ξ at the end',
      't½: the residual at output frequency ξ falls to half its initial value (the frequency\'s jump, whichever neurons make it; AGF: the jump that takes it there, its loss being constant between jumps); rel. diff = (t½ of the simulation − t½ of AGF) / t½ of AGF',
      'level: closed-form plateau after ξ is removed (gradflow 1/(2n)Σ‖·‖²; torch MSELoss = (2/p)·level); plateau: loss when the next frequency\'s residual has fallen 5% (or at the end)',
      ...notes,
    ],
  };
}
