/**
 * κ > 2: the discrete algorithm (gd, heavy ball, Nesterov) applied to the dormant neurons of one
 * plateau, step by step — the discrete counterpart of sphere.ts's direction/norm ODE. A dormant
 * neuron θ = ρu (‖u‖ = 1) of a κ-homogeneous model with the plateau's residual r feels
 * −∇L = ρ^{κ−1}∇U(u) (∇U (κ−1)-homogeneous, U(u) = ⟨r, f(x; u)⟩/n), so one step is, with
 * ε = ηρ^{κ−2} and the buffer w = v/ρ,
 *   gd:        θ' = ρ(u + εg)
 *   heavy ball: w̃ = m·w + εg, θ' = ρ(u + w̃)
 *   Nesterov:   w̃ = m·w + εg, θ' = ρ(u + m·w̃ + εg)
 * g = ∇U(u); then ρ' = ρ‖ũ‖, u' = ũ/‖ũ‖, w' = w̃/‖ũ‖. The norm is carried as log ρ and the
 * direction and buffer relative to it, so the iteration is exact at any α (no underflow of θ);
 * discreteActivation takes every step with its own utility gradient (the reference);
 * iterateDormant batches steps on one gradient while the directions barely move (LAG below).
 * The residual is held at the plateau's (the dormant neurons' own output, O(ρ^κ), is neglected
 * until activation, as in AGF), and activation is the first step at which a neuron has ρ ≥ 1
 * (or a given threshold).
 * The step count grows like α^{2−κ}/η: the iteration is capped (CAPS.steps).
 * solveAgfSphereDiscrete is the jump schedule built on them (agf --for on κ > 2 models).
 */
import { GradflowError } from '../../util/errors.ts';
import { CAPS } from '../../util/limits.ts';
import type { Problem } from '../../problem.ts';
import type { Jump, JumpSchedule } from '../../schedule.ts';
import { algorithmLabel, checkAlgorithm, flowTimePerStep, hasMomentum, saddleStability, stepConvention, unstableReason, type AgfAlgorithm, type SaddleStability } from './discrete.ts';
import { activeSet } from './cost.ts';
import { scaledNorm, withWarning } from '../agf.ts';

export interface DiscreteActivation {
  /** The first neuron to reach ‖θ‖ ≥ 1 and the step at which it does (Infinity: none within the cap). */
  neuron: number;
  step: number;
  /** log ‖θ_i‖ of every neuron at that step (−Infinity for a zero neuron). */
  logNorms: Float64Array;
}

export interface DiscreteActivationOptions {
  /** The plateau's residual E (n × c, y − f at the saddle); default: Y (the origin). */
  residual?: Float64Array;
  /** Neurons taking part (default: all with θ_i ≠ 0). */
  mask?: Uint8Array;
  /** Activation level: the first step with ‖θ_i‖ ≥ threshold (default 1, AGF's; a simulation is compared at a level below its fit's norms). */
  threshold?: number;
  /** Most steps (default CAPS.steps). */
  maxSteps?: number;
}

/** The first activation under a discrete algorithm from the neurons' state theta (the dormant plateau dynamics above). */
export function discreteActivation(p: Problem, theta: Float64Array, algo: AgfAlgorithm, opts: DiscreteActivationOptions = {}): DiscreteActivation {
  if (algo.kind === 'flow') throw new GradflowError('discreteActivation: give gd, momentum or nesterov (the flow is sphere.ts)');
  checkAlgorithm(algo);
  const kappa = p.derived.kappa;
  if (kappa === null || !(kappa > 2)) throw new GradflowError(`discreteActivation: for κ > 2 models (got ${kappa === null ? 'no homogeneity degree' : `κ = ${kappa}`}; κ = 2 has the exact per-step factors of discrete.ts)`);
  const { H, P } = p.layout;
  const { X, Y, n } = p.data;
  const E = opts.residual ?? Y;
  const maxSteps = opts.maxSteps ?? CAPS.steps.value;
  const level = Math.log(opts.threshold ?? 1);
  if (!Number.isFinite(level)) throw new GradflowError(`discreteActivation: the threshold must be a positive number (got ${opts.threshold})`);
  const m = hasMomentum(algo) ? algo.momentum : 0;
  const nesterov = algo.kind === 'nesterov';
  const lr = algo.lr;
  const mask = new Uint8Array(H);
  const logRho = new Float64Array(H).fill(-Infinity);
  const u = new Float64Array(H * P), w = new Float64Array(H * P), g = new Float64Array(H * P);
  for (let i = 0; i < H; i++) {
    if (opts.mask && !opts.mask[i]) continue;
    let s = 0;
    for (let a = 0; a < P; a++) s += theta[i * P + a] ** 2;
    if (!(s > 0)) continue;
    const r = Math.sqrt(s);
    mask[i] = 1;
    logRho[i] = Math.log(r);
    for (let a = 0; a < P; a++) u[i * P + a] = theta[i * P + a] / r;
  }
  const active = (): number => { let b = -1; for (let i = 0; i < H; i++) if (mask[i] && (b < 0 || logRho[i] > logRho[b])) b = i; return b; };
  let lead = active();
  if (lead < 0) return { neuron: -1, step: Infinity, logNorms: logRho };
  if (logRho[lead] >= level) return { neuron: lead, step: 0, logNorms: logRho };
  const ut = new Float64Array(P), wt = new Float64Array(P);
  for (let k = 1; k <= maxSteps; k++) {
    p.kernels.vjpMean(u, X, E, n, g, mask);
    for (let i = 0; i < H; i++) {
      if (!mask[i]) continue;
      const eps = lr * Math.exp((kappa - 2) * logRho[i]);
      let s = 0;
      for (let a = 0; a < P; a++) {
        const q = i * P + a, step = eps * g[q];
        if (m === 0) { ut[a] = u[q] + step; wt[a] = 0; }
        else {
          wt[a] = m * w[q] + step;
          ut[a] = nesterov ? u[q] + m * wt[a] + step : u[q] + wt[a];
        }
        s += ut[a] * ut[a];
      }
      const nr = Math.sqrt(s);
      if (!(nr > 0) || !Number.isFinite(nr)) throw new GradflowError(`discreteActivation: neuron ${i} left the finite range at step ${k}; lower the learning rate`);
      logRho[i] += Math.log(nr);
      for (let a = 0; a < P; a++) { u[i * P + a] = ut[a] / nr; w[i * P + a] = wt[a] / nr; }
    }
    lead = active();
    if (logRho[lead] >= level) return { neuron: lead, step: k, logNorms: logRho };
  }
  return { neuron: lead, step: Infinity, logNorms: logRho };
}

/**
 * Lagged-gradient tolerance of the batched iteration: the gradient of a batch is reused for B steps
 * while B·max_i(ε_i‖P⊥g_i‖)/(1 − m) ≤ LAG (the directions move by at most LAG over a batch; the radial
 * part only scales a neuron), an O(LAG) relative error in that batch's rates. The directions move
 * O(1) over a whole plateau, so a plateau costs O(1/LAG) utility gradients plus the exact steps near
 * ‖θ‖ = 1, instead of one per step (~α^{2−κ}/η_eff of them). Measured on the modular model (p = 11,
 * heavy ball m = 0.9, lr = 0.01, α = 1e-4): 9812 steps exact; LAG 1e-3: 9819 steps (+0.07%) from 1239
 * gradients; 1e-2: 9895 (+0.85%) from 117.
 */
export const LAG = 1e-3;

/** The dormant neurons of a κ > 2 model under a discrete algorithm: direction u, log ρ and the scaled buffer w = v/ρ per neuron. */
export interface SphereDormant {
  u: Float64Array;
  w: Float64Array;
  logRho: Float64Array;
  /** 1 where the neuron takes part. */
  mask: Uint8Array;
}

export interface IterateResult {
  /** Steps taken (Infinity: maxSteps reached first). */
  steps: number;
  /** The first neuron to reach log ρ ≥ level (−1: none). */
  neuron: number;
  /** Utility gradients evaluated (one per batch). */
  gradients: number;
}

/**
 * Advances the dormant neurons step by step until one reaches log ρ ≥ level (or maxSteps), the
 * residual E held fixed; batched with a lagged gradient where the directions move slowly (LAG).
 */
export function iterateDormant(p: Problem, kappa: number, algo: Exclude<AgfAlgorithm, { kind: 'flow' }>, st: SphereDormant, E: Float64Array, level: number, maxSteps: number, lag = LAG): IterateResult {
  const { H, P } = p.layout;
  const { X, n } = p.data;
  const m = hasMomentum(algo) ? algo.momentum : 0;
  const nesterov = algo.kind === 'nesterov';
  const lr = algo.lr;
  const g = new Float64Array(H * P), ut = new Float64Array(P), wt = new Float64Array(P);
  const gn = new Float64Array(H);
  let k = 0, gradients = 0;
  const lead = (): number => { let b = -1; for (let i = 0; i < H; i++) if (st.mask[i] && (b < 0 || st.logRho[i] > st.logRho[b])) b = i; return b; };
  let top = lead();
  if (top < 0) return { steps: Infinity, neuron: -1, gradients };
  if (st.logRho[top] >= level) return { steps: 0, neuron: top, gradients };
  while (k < maxSteps) {
    p.kernels.vjpMean(st.u, X, E, n, g, st.mask);
    gradients++;
    let speed = 0;
    for (let i = 0; i < H; i++) {
      if (!st.mask[i]) continue;
      // the directions move by the tangential part of the gradient (the radial part only scales the neuron)
      let s = 0, rad = 0;
      for (let a = 0; a < P; a++) { s += g[i * P + a] ** 2; rad += g[i * P + a] * st.u[i * P + a]; }
      gn[i] = Math.sqrt(Math.max(0, s - rad * rad));
      speed = Math.max(speed, lr * Math.exp((kappa - 2) * st.logRho[i]) * gn[i]);
    }
    // B steps on this gradient: the directions then move by ≤ lag (momentum: the buffer sums ~1/(1 − m) of them)
    const B = Math.max(1, Math.min(maxSteps - k, Math.floor((lag * (1 - m)) / Math.max(speed, 1e-300))));
    for (let b = 0; b < B; b++) {
      k++;
      for (let i = 0; i < H; i++) {
        if (!st.mask[i]) continue;
        const eps = lr * Math.exp((kappa - 2) * st.logRho[i]);
        let s = 0;
        for (let a = 0; a < P; a++) {
          const q = i * P + a, step = eps * g[q];
          if (m === 0) { ut[a] = st.u[q] + step; wt[a] = 0; }
          else {
            wt[a] = m * st.w[q] + step;
            ut[a] = nesterov ? st.u[q] + m * wt[a] + step : st.u[q] + wt[a];
          }
          s += ut[a] * ut[a];
        }
        const nr = Math.sqrt(s);
        if (!(nr > 0) || !Number.isFinite(nr)) throw new GradflowError(`agf: dormant neuron ${i} left the finite range at step ${k} of a plateau under ${algorithmLabel(algo)}; lower the learning rate (--lr)`);
        st.logRho[i] += Math.log(nr);
        for (let a = 0; a < P; a++) { st.u[i * P + a] = ut[a] / nr; st.w[i * P + a] = wt[a] / nr; }
      }
      top = lead();
      if (st.logRho[top] >= level) return { steps: k, neuron: top, gradients };
    }
  }
  return { steps: Infinity, neuron: top, gradients };
}

/** T_κ(α) = (α^{2−κ} − 1)/(κ − 2), through its logarithm when large. */
function timeScaleK(kappa: number, alpha: number): number {
  const l = (2 - kappa) * Math.log(alpha);
  return l > 700 ? Math.exp(l - Math.log(kappa - 2)) : Math.expm1(l) / (kappa - 2);
}

/**
 * Output fraction at which a dormant neuron joins the algorithm's fit: it enters at ‖θ‖ = ENTRY_OUTPUT^{1/κ}
 * (0.31 for κ = 3), where its output, ∝ ‖θ‖^κ, is 3% of its value at ‖θ‖ = 1. AGF's own level, ‖θ‖ = 1, is
 * an O(1)-time convention for the flow, but a heavy ball brought in there carries its dormant velocity
 * into an output that has never acted: several neurons of one frequency arriving within a few steps
 * overshoot together, and the ringing fit they make seeds the next frequency's neurons differently from
 * the run (measured on the modular model, p = 20, α = 0.01, m = 0.9, lr = 0.003: t½(ξ = 3) from the
 * trace 220 entering at 1, 126.5 at 0.31, 134 simulated; before the step-accounting fix 0.3 gave 133 and
 * 0.1 gave 149; bench/agf-discrete-modular-half.ts). A jump is stamped at its neuron's entry, where the loss starts to
 * move: closer to the simulated run's loss midpoints than the step at which the neuron reaches ‖θ‖ = 1, which
 * several neurons sharing a frequency reach late or never (p = 11, heavy ball: entries 201, 206, 207 vs
 * midpoints 199, 205, 214 and ‖θ‖ = 1 at 260, 242, 298).
 */
export const ENTRY_OUTPUT = 0.03;

export interface SphereDiscreteOptions {
  maxJumps?: number;
  lossTol?: number;
  /** Most steps in all (default CAPS.steps). */
  maxSteps?: number;
  lag?: number;
  /** Most steps of one fit, in flow-time units (default 50: steps = fitTime/η_eff). */
  fitTime?: number;
  /**
   * Record the active parameters (dormant entries 0) at each jump's stamp and every traceEvery steps
   * of each fit (extra.trace: { steps, states }). A fit lasts O(1/η_eff) steps, so extra.states (at
   * the fits' ends) belong to steps step + fitSteps, not to the jumps' stamps; read-outs over time
   * (a residual's t½) need the trace.
   */
  traceEvery?: number;
  /** Norm at which a dormant neuron joins the fit (default ENTRY_OUTPUT^{1/κ}; 1 = AGF's activation level). */
  entry?: number;
}

/**
 * The AGF jump schedule of gd / heavy ball / Nesterov on a κ > 2 model, in steps: each plateau's
 * dormant neurons are iterated by the algorithm itself in scaled variables (iterateDormant; buffers
 * carried across plateaus), the first to reach the entry norm (ENTRY_OUTPUT) joins the active ones with
 * its buffer — the jump, stamped at that step — and the fit is the algorithm run on the active neurons
 * (fitByDescent), its steps counted, the dormant neurons stepping along (every neuron takes each step on
 * the same state); a neuron the fit shrinks to a negligible output returns to the dormant set as it is.
 */
export function solveAgfSphereDiscrete(p: Problem, kappa: number, theta0: Float64Array, algo: Exclude<AgfAlgorithm, { kind: 'flow' }>, opts: SphereDiscreteOptions = {}): JumpSchedule {
  checkAlgorithm(algo);
  const { H, P } = p.layout;
  const maxJumps = opts.maxJumps ?? 4 * H + 10;
  const lossTol = opts.lossTol ?? 1e-12;
  const budget = opts.maxSteps ?? CAPS.steps.value;
  const per = flowTimePerStep(algo);
  const T = timeScaleK(kappa, p.alpha);
  const entry = opts.entry ?? Math.pow(ENTRY_OUTPUT, 1 / kappa);
  if (!(entry > 0 && entry <= 1)) throw new GradflowError(`agf: the entry norm must be in (0, 1] (got ${opts.entry})`);
  const level = Math.log(entry);
  const st: SphereDormant = { u: new Float64Array(H * P), w: new Float64Array(H * P), logRho: new Float64Array(H).fill(-Infinity), mask: new Uint8Array(H) };
  for (let i = 0; i < H; i++) {
    const r = scaledNorm(theta0.subarray(i * P, (i + 1) * P));
    if (!(r > 0)) continue;
    st.mask[i] = 1;
    st.logRho[i] = Math.log(r);
    for (let a = 0; a < P; a++) st.u[i * P + a] = theta0[i * P + a] / r;
  }
  const set = activeSet(p);
  const { theta, mask: activeMask, residual } = set;
  const initialLoss = set.update();
  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  const stability: SaddleStability[] = [];
  const fitGradNorms: number[] = [];
  const states: Float64Array[] = []; // active parameters after each jump (dormant entries 0), for per-jump read-outs (sphere.ts's extra.states)
  let steps = 0, gradients = 0, unsettled = 0;
  const fitSteps: number[] = [];
  const vbuf = new Float64Array(H * P); // the active neurons' buffers
  const traceEvery = opts.traceEvery;
  const trace: { steps: number[]; states: Float64Array[] } | null = traceEvery !== undefined ? { steps: [], states: [] } : null;
  const snap = (k: number): void => { trace?.steps.push(k); trace?.states.push(Float64Array.from(theta, (v, q) => (activeMask[Math.floor(q / P)] ? v : 0))); };
  if (traceEvery !== undefined && !(Number.isInteger(traceEvery) && traceEvery >= 1)) throw new GradflowError(`traceEvery must be a whole number of steps ≥ 1 (got ${traceEvery})`);
  let status: 'zero-loss' | 'no-positive-utility' | 'max-jumps' | 'unstable' | 'step-cap' = initialLoss === 0 ? 'zero-loss' : 'max-jumps';
  let stopReason: string | undefined;
  while (status === 'max-jumps' && jumps.length < maxJumps) {
    const sd = saddleStability(p, theta, activeMask, [], algo, jumps.length);
    stability.push(sd);
    if (!sd.stable) { status = 'unstable'; stopReason = unstableReason(sd, algo, jumps.at(-1)); jumps.pop(); activeSets.pop(); break; }
    const it = iterateDormant(p, kappa, algo, st, residual, level, budget - steps, opts.lag ?? LAG);
    gradients += it.gradients;
    if (it.neuron < 0) { status = 'no-positive-utility'; break; }
    if (!Number.isFinite(it.steps)) {
      status = 'step-cap';
      stopReason = `the plateau after jump ${jumps.length} needs more than the ${budget} steps left of the cap (GRADFLOW_MAX_STEPS): a κ = ${kappa} plateau lasts ~α^{2−κ}/(κ·U·lr_eff) steps; raise --lr or --alpha`;
      break;
    }
    steps += it.steps;
    const i = it.neuron;
    snap(steps);
    // activation: the neuron enters the fit at the entry norm with its buffer, and the fit is the algorithm itself on the
    // active neurons (masked), the dormant ones stepping along with the moving residual: a quasi-Newton fit of a
    // κ > 2 model can end on a degenerate saddle the run never visits (two neurons of one frequency large and
    // cancelling, curvature 1e5), and the run's own basin and rescaling balance are what the next plateau needs
    st.mask[i] = 0;
    activeMask[i] = 1;
    const rho = Math.exp(st.logRho[i]);
    for (let a = 0; a < P; a++) { theta[i * P + a] = st.u[i * P + a] * rho; vbuf[i * P + a] = st.w[i * P + a] * rho; }
    const jump: Jump = { time: steps * per, rescaledTime: (steps * per) / T, step: steps, neuron: i, lossAfter: NaN, deactivated: [] };
    const wasActive = Array.from({ length: H }, (_, j) => activeMask[j] === 1 && j !== i);
    const deactivated: number[] = [];
    const fitStart = steps;
    const fit = fitByDescent(p, kappa, algo, set, vbuf, st, Math.min(budget - steps - 1, Math.ceil((opts.fitTime ?? 50) / per)), level, opts.lag ?? LAG, trace ? (k) => { if (k % traceEvery! === 0) snap(fitStart + k); } : undefined);
    gradients += fit.steps;
    for (const j of fit.collapsed) if (wasActive[j]) deactivated.push(j);
    fitGradNorms.push(fit.gradNorm);
    fitSteps.push(fit.steps);
    steps += fit.steps;
    if (!fit.converged) unsettled++;
    jump.lossAfter = set.update();
    jump.deactivated = deactivated;
    jumps.push(jump);
    activeSets.push(Array.from({ length: H }, (_, j) => j).filter((j) => activeMask[j]));
    states.push(Float64Array.from(theta, (v, q) => (activeMask[Math.floor(q / P)] ? v : 0)));
    snap(steps);
    if (jump.lossAfter <= lossTol * initialLoss) status = 'zero-loss';
  }
  return {
    model: p.model.spec.name,
    method: `agf-${algo.kind}`,
    conventions: {
      ...p.conventions,
      time: stepConvention(algo)
        .replace("the first step at which the arriving neuron's dormant dynamics reach ‖θ‖ ≥ 1", `the first step at which the arriving neuron's dormant dynamics reach ‖θ‖ ≥ ${entry.toPrecision(3)}, where it joins the fit (each fit in the algorithm's own steps, counted)`)
        .replace('rescaledTime = time / log(1/alpha)', `rescaledTime = time / T_κ(alpha), T_κ = (alpha^(2−κ) − 1)/(κ − 2), κ = ${kappa}`),
    },
    initialLoss,
    jumps,
    extra: {
      kappa,
      solver: `${algorithmLabel(algo)} iterated on the dormant neurons in scaled variables (gradient reused over a batch while the directions move ≤ ${opts.lag ?? LAG}) + each neuron joining the fit at ‖θ‖ = ${entry.toPrecision(3)} and each fit run by the algorithm itself on the active neurons (the dormant ones stepping along)`,
      status,
      ...(stopReason ? { stopReason } : {}),
      algorithm: algo,
      stability,
      steps,
      utilityGradients: gradients,
      fitSteps,
      entry,
      fitGradNorms,
      ...(unsettled ? { warning: `${unsettled} fits stopped at their step cap before the loss settled` } : {}),
      activeSets,
      finalTheta: Array.from(theta),
      states,
      ...(trace ? { trace } : {}),
      finalDormant: Array.from({ length: H * P }, (_, q) => {
        const j = Math.floor(q / P);
        return activeMask[j] ? theta[q] : st.mask[j] ? st.u[q] * Math.exp(st.logRho[j]) : 0;
      }),
    },
  };
}

/**
 * A fit run by the algorithm: the active neurons (mask of `set`) take its steps on L with their
 * buffers, the dormant ones (st) one step each on the residual of that step, until the loss is
 * stationary (relative change ≤ 1e-9 over a window of 2/(1 − m) steps) or maxSteps. An active
 * neuron whose output has become negligible (‖θ_i‖^κ ≤ 1e-6 of the largest) is collapsed back to
 * the dormant set with its state (direction, norm, buffer), where it may shrink further or regrow.
 */
function fitByDescent(p: Problem, kappa: number, algo: Exclude<AgfAlgorithm, { kind: 'flow' }>, set: ReturnType<typeof activeSet>, vbuf: Float64Array, st: SphereDormant, maxSteps: number, level: number, lag: number, onStep?: (k: number) => void): { steps: number; converged: boolean; gradNorm: number; collapsed: number[]; interrupted?: boolean } {
  const { H, P } = p.layout;
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const m = hasMomentum(algo) ? algo.momentum : 0;
  const nesterov = algo.kind === 'nesterov';
  const { theta, mask, residual } = set;
  const g = new Float64Array(H * P);
  const W = Math.max(4, Math.ceil(2 / (1 - m)));
  const hist: number[] = [];
  const collapsed: number[] = [];
  let gradNorm = 0;
  for (let k = 0; k <= maxSteps; k++) {
    const L = kb.lossGrad(theta, g, mask);
    if (!Number.isFinite(L)) throw new GradflowError(`agf: the fit under ${algorithmLabel(algo)} diverged at its step ${k}; lower the learning rate (--lr)`);
    gradNorm = 0;
    for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) gradNorm += g[i * P + a] ** 2;
    gradNorm = Math.sqrt(gradNorm);
    hist.push(L);
    if (hist.length > W + 1) hist.shift();
    if (hist.length > W && Math.abs(hist[0] - L) <= 1e-9 * Math.max(L, 1e-300)) return { steps: k, converged: true, gradNorm, collapsed };
    if (k === maxSteps) break;
    if (k > 0) onStep?.(k);
    set.update();
    // a dormant neuron at the entry norm is the next activation: the fit stops there (all neurons
    // take each step together — the dormant ones on this step's residual — so a step is counted only when both moved)
    if (iterateDormant(p, kappa, algo, st, residual, level, 0, lag).steps === 0) return { steps: k, converged: true, gradNorm, collapsed, interrupted: true };
    if (iterateDormant(p, kappa, algo, st, residual, level, 1, lag).steps === 1) {
      stepActive();
      return { steps: k + 1, converged: true, gradNorm, collapsed, interrupted: true };
    }
    stepActive();
    collapse();
  }
  return { steps: maxSteps, converged: false, gradNorm, collapsed };

  function stepActive(): void {
    for (let i = 0; i < H; i++) {
      if (!mask[i]) continue;
      for (let a = 0; a < P; a++) {
        const q = i * P + a;
        if (m === 0) theta[q] -= algo.lr * g[q];
        else {
          vbuf[q] = m * vbuf[q] - algo.lr * g[q];
          theta[q] += nesterov ? m * vbuf[q] - algo.lr * g[q] : vbuf[q];
        }
      }
    }
  }

  // collapse: an active neuron whose output is negligible beside the others' returns to the dormant set as it is
  function collapse(): void {
    let big = 0;
    const rho = new Float64Array(H);
    for (let i = 0; i < H; i++) if (mask[i]) { rho[i] = scaledNorm(theta.subarray(i * P, (i + 1) * P)); big = Math.max(big, rho[i]); }
    for (let i = 0; i < H; i++) {
      if (!mask[i] || !(Math.pow(rho[i] / big, kappa) <= 1e-6)) continue;
      mask[i] = 0;
      st.mask[i] = 1;
      st.logRho[i] = Math.log(rho[i]);
      for (let a = 0; a < P; a++) { st.u[i * P + a] = theta[i * P + a] / rho[i]; st.w[i * P + a] = vbuf[i * P + a] / rho[i]; theta[i * P + a] = 0; vbuf[i * P + a] = 0; }
      collapsed.push(i);
    }
  }
}
