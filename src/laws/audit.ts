/**
 * Numerical audits of conservation laws along solutions.
 *
 * Drift is measured relative to the size of the terms a law balances: for Q = Σ_m c_m m(θ),
 * scale(θ) = Σ_m |c_m m(θ)| (for δ = a² − ‖w‖² this is a² + ‖w‖²); at a balanced start Q(0) = 0,
 * so dividing by |Q(0)| would be meaningless.
 *
 * Gradient descent. Every law here is a quadratic form Q(θ) = θᵀKθ with ⟨Kθ, ∇L⟩ = 0, so one
 * step θ' = θ − h g (g = ∇L(θ)) changes it by exactly
 *     Q(θ') − Q(θ) = −2h⟨Kθ, g⟩ + h² Q(g) = h² Q(g),
 * which for the single neuron is theory.md §1's h²(g_a² − ‖g_w‖²). The per-step drift is thus
 * O(η²) and its log-log slope against η is 2.
 */
import { createProblem, type Problem } from '../problem.ts';
import { solveFlow } from '../solvers/flow.ts';
import type { OdeMethod } from '../solvers/ode/types.ts';
import type { LawInstance } from './family.ts';
import { GradflowError } from '../util/errors.ts';
import type { Progress } from '../util/progress.ts';

export interface FlowAuditRow {
  method: string;
  /** Horizon of this row's run (the implicit methods run a fixed number of steps). */
  tEnd: number;
  steps: number;
  fevals: number;
  /** max over laws and stored times of |Q(t) − Q(0)| / max_t scale(t). */
  maxRelDrift: number;
  worstLaw: string;
  lossStart: number;
  lossEnd: number;
}

/**
 * Parameters × samples above which `laws` audits a smaller instance of the same model: the laws
 * are proven for every size, and the audit's flows cost a kernel pass per evaluation (modular
 * addition at p = 20, h = 18 is 1080 × 400 and took minutes).
 */
export const AUDIT_COST_CAP = 100_000;

/** The problem the numerical audit runs on: p itself, or p's model at halved dimensions while p is over the cap. */
export function auditProblem(p: Problem): { problem: Problem; reduced: boolean } {
  const cost = (q: Problem): number => q.theta0.length * q.data.n;
  let q = p;
  for (let k = 0; k < 6 && cost(q) > AUDIT_COST_CAP; k++) {
    const dims: Record<string, number> = {};
    for (const [name, v] of Object.entries(q.layout.dims)) dims[name] = Math.max(2, Math.ceil(v / 2));
    q = createProblem(p.model, { dims, alpha: p.alpha, seed: p.seed, options: p.options, monitors: [] });
  }
  return { problem: q, reduced: q !== p };
}

export interface FlowAuditOptions {
  tEnd: number;
  methods?: OdeMethod[];
  rtol?: number;
  /** Fixed step of the implicit methods (default: the mean step of the adaptive run). */
  dt?: number;
  /** A progress line per integrated row (e.g. the CLI's, when stderr is a terminal or --progress). */
  progress?: (method: OdeMethod) => Progress;
}

/**
 * A fixed-step implicit row may cut its step (the stage iteration fails to converge) to this
 * many times its nominal step count before it is given up: across a relu kink the cuts never
 * stop, and without the cap the row ground on to the storage limit (laws relu: ~40 s).
 */
export const AUDIT_STEP_CUT_FACTOR = 10;

export function lawDrift(laws: LawInstance[], states: Float64Array[]): { drift: number; worst: string } {
  let drift = 0;
  let worst = laws[0]?.label ?? '—';
  for (const q of laws) {
    const q0 = q.poly.evaluate(states[0]);
    let dev = 0, scale = 0;
    for (const th of states) {
      dev = Math.max(dev, Math.abs(q.poly.evaluate(th) - q0));
      scale = Math.max(scale, q.poly.evaluateAbs(th));
    }
    const rel = scale > 0 ? dev / scale : dev;
    if (rel > drift) { drift = rel; worst = q.label; }
  }
  return { drift, worst };
}

/** Steps of each fixed-step implicit method: its drift is per-step round-off, visible after a few hundred. */
export const AUDIT_IMPLICIT_STEPS = 400;

/**
 * Adaptive methods (dopri5, dop853) integrate [0, tEnd] at the tolerance. The implicit ones
 * (gauss4, midpoint) conserve quadratic laws exactly at any fixed step, so they run
 * AUDIT_IMPLICIT_STEPS fixed steps of the explicit run's mean step (small enough for their
 * fixed-point stage iteration): adaptive, a 2nd-order midpoint rule chasing rtol 1e-10 takes
 * millions of steps.
 */
export function auditFlow(p: Problem, laws: LawInstance[], opts: FlowAuditOptions): FlowAuditRow[] {
  const methods = opts.methods ?? ['dopri5', 'gauss4', 'midpoint'];
  const adaptive = (m: OdeMethod): boolean => m === 'dopri5' || m === 'dop853';
  const rows = new Map<OdeMethod, FlowAuditRow>();
  const row = (method: OdeMethod, tEnd: number, dt: number | undefined, maxSteps?: number): FlowAuditRow => {
    const tr = solveFlow(p, { tEnd, method, rtol: opts.rtol, dt, dense: false, maxSteps, onProgress: opts.progress?.(method) });
    const { drift, worst } = lawDrift(laws, tr.states);
    return {
      method, tEnd, steps: Number(tr.stats.steps ?? tr.t.length - 1), fevals: Number(tr.stats.fevals ?? 0),
      maxRelDrift: drift, worstLaw: worst, lossStart: tr.loss[0], lossEnd: tr.loss[tr.loss.length - 1],
    };
  };
  let hMean: number | undefined;
  for (const m of methods.filter(adaptive)) {
    const r = row(m, opts.tEnd, undefined);
    rows.set(m, r);
    // half the explicit mean step: the stage iteration contracts where explicit stages are stable
    hMean ??= (0.5 * opts.tEnd) / Math.max(1, r.steps);
  }
  const dt = opts.dt ?? hMean ?? opts.tEnd / AUDIT_IMPLICIT_STEPS;
  for (const m of methods.filter((x) => !adaptive(x))) {
    const tEnd = Math.min(opts.tEnd, AUDIT_IMPLICIT_STEPS * dt);
    const nominal = Math.ceil(tEnd / dt);
    const maxSteps = AUDIT_STEP_CUT_FACTOR * nominal + 10;
    try {
      rows.set(m, row(m, tEnd, dt, maxSteps));
    } catch (err) {
      // a fixed-step implicit stage iteration has no fixed point across a relu kink (softmax-mlp,
      // relu): the row says so instead of failing the whole audit; the adaptive rows still stand
      if (!(err instanceof GradflowError)) throw err;
      const why = /exceeded maxSteps/.test(err.message)
        ? `not run: ${m} kept cutting its fixed step dt = ${dt.toPrecision(3)} (over ${maxSteps} steps where ${nominal} were planned): its stage iteration does not converge across a kink of the model (e.g. relu)`
        : `not run: ${err.message}`;
      rows.set(m, { method: m, tEnd, steps: 0, fevals: 0, maxRelDrift: Number.NaN, worstLaw: why, lossStart: Number.NaN, lossEnd: Number.NaN });
    }
  }
  return methods.map((m) => rows.get(m)!);
}

export interface DescentAuditRow {
  eta: number;
  steps: number;
  /** max over laws and steps of |Q_{k+1} − Q_k| / scale(θ_k). */
  perStepDrift: number;
}

export interface DescentAudit {
  rows: DescentAuditRow[];
  /** Least-squares slope of log(per-step drift) against log(η). */
  slope: number;
}

export interface DescentAuditOptions {
  etas?: number[];
  steps?: number;
}

function gdSteps(p: Problem, eta: number, steps: number, visit: (before: Float64Array, after: Float64Array, g: Float64Array) => void): void {
  const { X, Y, n } = p.data;
  const th = Float64Array.from(p.theta0);
  const g = new Float64Array(th.length);
  for (let k = 0; k < steps; k++) {
    p.kernels.lossGrad(th, X, Y, n, g);
    const before = th.slice();
    for (let q = 0; q < th.length; q++) th[q] -= eta * g[q];
    visit(before, th, g);
  }
}

export function slopeOf(xs: number[], ys: number[]): number {
  const lx = xs.map(Math.log), ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length, my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0, den = 0;
  for (let k = 0; k < lx.length; k++) { num += (lx[k] - mx) * (ly[k] - my); den += (lx[k] - mx) ** 2; }
  return num / den;
}

export function auditDescent(p: Problem, laws: LawInstance[], opts: DescentAuditOptions = {}): DescentAudit {
  const etas = opts.etas ?? [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2];
  const steps = opts.steps ?? 20;
  const rows = etas.map((eta) => {
    let worst = 0;
    gdSteps(p, eta, steps, (a, b) => {
      for (const q of laws) {
        const scale = q.poly.evaluateAbs(a);
        if (scale > 0) worst = Math.max(worst, Math.abs(q.poly.evaluate(b) - q.poly.evaluate(a)) / scale);
      }
    });
    return { eta, steps, perStepDrift: worst };
  });
  return { rows, slope: slopeOf(rows.map((r) => r.eta), rows.map((r) => r.perStepDrift)) };
}

export interface OneStepAudit {
  h: number;
  /** max over laws of |ΔQ − h²Q(∇L)| / (h²·Σ|terms of Q at ∇L|), the drift convention applied to the predicted change. */
  maxRelError: number;
  rows: { law: string; deltaQ: number; predicted: number; relError: number }[];
}

/** One GD step of size h changes every law by exactly h²·Q(∇L) (theory.md §1 for the single neuron). */
export function auditOneStep(p: Problem, laws: LawInstance[], h = 0.05, steps = 1): OneStepAudit {
  const rows: OneStepAudit['rows'] = [];
  gdSteps(p, h, steps, (a, b, g) => {
    for (const q of laws) {
      const deltaQ = q.poly.evaluate(b) - q.poly.evaluate(a);
      const predicted = h * h * q.poly.evaluate(g);
      const ref = h * h * q.poly.evaluateAbs(g);
      rows.push({ law: q.label, deltaQ, predicted, relError: ref > 0 ? Math.abs(deltaQ - predicted) / ref : Math.abs(deltaQ) });
    }
  });
  return { h, maxRelError: Math.max(0, ...rows.map((r) => r.relError)), rows };
}
