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
import type { Problem } from '../problem.ts';
import { solveFlow } from '../solvers/flow.ts';
import type { OdeMethod } from '../solvers/ode/types.ts';
import type { LawInstance } from './family.ts';

export interface FlowAuditRow {
  method: string;
  steps: number;
  fevals: number;
  /** max over laws and stored times of |Q(t) − Q(0)| / max_t scale(t). */
  maxRelDrift: number;
  worstLaw: string;
  lossStart: number;
  lossEnd: number;
}

export interface FlowAuditOptions {
  tEnd: number;
  methods?: OdeMethod[];
  rtol?: number;
  /** Fixed step for the implicit methods (default: adaptive). */
  dt?: number;
}

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

export function auditFlow(p: Problem, laws: LawInstance[], opts: FlowAuditOptions): FlowAuditRow[] {
  const methods = opts.methods ?? ['dopri5', 'gauss4', 'midpoint'];
  return methods.map((method) => {
    const tr = solveFlow(p, { tEnd: opts.tEnd, method, rtol: opts.rtol, dt: method === 'dopri5' ? undefined : opts.dt });
    const { drift, worst } = lawDrift(laws, tr.states);
    return {
      method, steps: Number(tr.stats.steps ?? tr.t.length - 1), fevals: Number(tr.stats.fevals ?? 0),
      maxRelDrift: drift, worstLaw: worst, lossStart: tr.loss[0], lossEnd: tr.loss[tr.loss.length - 1],
    };
  });
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
