/**
 * Closed-form Alternating Gradient Flows for the diagonal network f(x) = (u ⊙ v)ᵀx at finite α
 * (theory.md §3–4), for the (1/2n) loss, in flow time.
 *
 * ── The dormant dynamics, exactly ─────────────────────────────────────────────────────────
 * Neuron i is the pair (u_i, v_i); with g_i = ∂L/∂β_i the flow is u̇ = −v g_i, v̇ = −u g_i
 * (any time dependence of g_i). Put w = u + v, z = u − v: ẇ = −g_i w, ż = +g_i z, so
 * w·z = u² − v² is conserved (= 2α² from u = √2α, v = 0). Writing w = √2α e^{ψ/2},
 * z = √2α e^{−ψ/2} gives, with no approximation,
 *     ψ̇_i = −2 g_i,   β_i = (w² − z²)/4 = α² sinh ψ_i,   ‖θ_i‖² = (w² + z²)/2 = 2α² cosh ψ_i,
 * so the whole state of a neuron is one signed number ψ_i = −2∫g_i dt, its accumulated utility
 * (κ∫Û dt with Û* = |g_i|/2, signed by the direction of growth). With g_i constant this is
 * theory.md's ‖θ_i‖² = 2α² cosh(2 g_i t). The neuron reaches norm 1 (activation) when
 * |ψ_i| = A := arccosh(1/(2α²)). theory.md's c_i is c_i = −sign(g_i)·ψ_i (its σ_i·|ψ_i|, with
 * "sign of last growth" read as the sign of the gradient that drove it, i.e. −sign β_i), and
 *     τ_i = (A − c_i) / (2|g_i|) = (A − c_i) / (4 Û_i*)
 * is the time until |ψ_i| = A in the direction it is being pushed (a neuron pushed against its
 * current sign first shrinks through ψ = 0, then grows: the distance is A + |ψ_i|).
 * We store ψ_i rather than (σ_i, c_i): it is the same information without sign bookkeeping, and
 * a flipping g_i simply reverses ψ_i's direction.
 *
 * ── Active neurons ──────────────────────────────────────────────────────────────────────────
 * Active coordinates are fit by least squares (cost minimisation), so g_i = 0 on the plateau
 * and ψ_i stays at its activation value σ_i·A (σ_i = sign of β_i). (In the real flow
 * ψ_i = asinh(β_i/α²) = σ_i(A + ln 2|β_i|) + O(α⁴): an O(1) offset, of the same order as AGF's
 * other O(1) flow-time errors, e.g. norm 1 as the activation threshold.)
 *
 * ── Active → dormant (theory.md is terse here; derived from ψ̇ = −2g) ──────────────────────────
 * If the refit wants β_i with the other sign, the fast cost-minimisation flow cannot carry β_i
 * through 0 on the O(1) time scale: as β_i → 0 the neuron must shrink, and ψ_i only moves at
 * speed 2|g_i| = O(1), i.e. over O(log 1/α) time. So on the plateau β_i = 0 (the fit is the
 * least-squares fit without i) and the neuron is dormant again, but it is NOT back at α scale:
 * it re-enters the dormant set at ψ_i = σ_i·A (norm 1), its accumulated utility intact. The KKT
 * conditions of the constrained fit give σ_i g_i ≥ 0, so ψ_i now moves towards 0:
 *   - shrinking from norm 1 to the bottom of its cosh curve (ψ = 0, norm √2α) takes A/(2|g_i|),
 *   - regrowing with the opposite sign to norm 1 takes another A/(2|g_i|),
 * total A/|g_i| (if g_i stays constant) — theory.md's τ formula with c_i = −A. In rescaled time
 * this is 2/|g_i| ≈ 2A/(2 log(1/α)|g_i|), exactly the Pesme–Flammarion time for s_i to travel
 * from ±1 to ∓1. Resetting the neuron to α scale instead (c_i = 0) would halve that wait and
 * disagree with PF.
 *
 * The rule "an active coordinate whose refitted coefficient changes sign returns to the dormant
 * set, and the fit is recomputed without it" is applied one coordinate at a time, in the order in
 * which the segment from the previous plateau's β to the unconstrained refit crosses zero (the
 * Lawson–Hanson step). A coordinate just returned to the dormant set sits at the threshold
 * (c_i = A) if the new gradient pushes it back towards its old sign, so it reactivates at once
 * (τ = 0); that is handled inside the same cost step and not reported as a jump. The result is
 * the sign-constrained least-squares fit, which is what the α → 0 cost-minimisation flow reaches
 * (its fixed point on the sign-constrained face); the path taken to it does not matter because
 * that fit's residual is unique.
 *
 * ── Numerics ───────────────────────────────────────────────────────────────────────────────
 * A = arccosh(1/(2α²)) = ln(1/(2α²)) + ln(1 + √(1 − 4α⁴)) is computed with logs: 1/(2α²)
 * overflows for α < ~1e-154 and the schedule is wanted down to α = 1e-100 and below.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';
import { diagonalData, type DiagonalData } from './diagonal-data.ts';
import { lsqPivoted } from './lsq.ts';
import { dualScale, residualLossGrad } from './sign-lsq.ts';

const EPS = 2.220446049250313e-16;

/** arccosh(1/(2α²)) for 0 < α < 1/√2, without forming 1/(2α²). */
export function activationThreshold(alpha: number): number {
  if (!(alpha > 0 && 2 * alpha * alpha < 1)) throw new GradflowError(`agf (diagonal): alpha must satisfy 0 < alpha < 1/sqrt(2) so that the start has norm below 1 (got ${alpha})`);
  const inv = 2 * alpha * alpha; // = 1/x, may underflow to 0 harmlessly
  return -Math.LN2 - 2 * Math.log(alpha) + Math.log1p(Math.sqrt((1 - inv) * (1 + inv)));
}

export interface AgfDiagonalOptions {
  /** Gradient entries below gradTol·‖∇L(0)‖∞ count as 0; the run stops when all do (default 1e-9). */
  gradTol?: number;
  /** Maximum number of jumps (default 10·d + 50). */
  maxJumps?: number;
}

export interface AgfDiagonalRun {
  initialLoss: number;
  /** arccosh(1/(2α²)): |ψ| at norm 1. */
  threshold: number;
  jumps: Jump[];
  /** Active set (sorted coordinates) after each jump. */
  activeSets: number[][];
  /** β on each plateau after a jump. */
  betas: Float64Array[];
  /** ψ (signed accumulated utility, ‖θ_i‖² = 2α² cosh ψ_i) of every coordinate after each jump. */
  psis: Float64Array[];
  status: string;
  finalGradNorm: number;
}

export function agfDiagonalRun(data: DiagonalData, opts: AgfDiagonalOptions = {}): AgfDiagonalRun {
  const { X, y, n, d, alpha } = data;
  const A = activationThreshold(alpha);
  const logInv = Math.log(1 / alpha);
  const g = new Float64Array(d);
  const beta = new Float64Array(d);
  const psi = new Float64Array(d);
  const active = new Uint8Array(d);
  const sigma = new Int8Array(d);
  const initialLoss = residualLossGrad(X, y, n, d, beta, g);
  let g0 = 0;
  for (let i = 0; i < d; i++) g0 = Math.max(g0, Math.abs(g[i]));
  const tolG = (opts.gradTol ?? 1e-9) * g0;
  // reactivation of a just-removed neuron needs a gradient clearly above round-off of the fit
  const tolW = Math.max(tolG, 10 * Math.max(n, d) * EPS * dualScale(X, y, n, d));
  const maxJumps = opts.maxJumps ?? 10 * d + 50;
  const columns: Float64Array[] = [];
  for (let i = 0; i < d; i++) {
    const c = new Float64Array(n);
    for (let j = 0; j < n; j++) c[j] = X[j * d + i];
    columns.push(c);
  }
  const jumps: Jump[] = [];
  const activeSets: number[][] = [];
  const betas: Float64Array[] = [];
  const psis: Float64Array[] = [];
  let t = 0;
  let status = 'max-jumps';
  let gmax = g0;

  const deactivate = (i: number): void => {
    active[i] = 0;
    beta[i] = 0;
    psi[i] = sigma[i] * A; // back in the dormant set at norm 1, accumulated utility kept (see header)
  };

  /** Cost minimisation on the active set with the active → dormant rule; returns the coordinates returned to the dormant set. */
  const costStep = (): Set<number> => {
    const removed = new Set<number>();
    const bounced = new Set<number>();
    let guard = 0;
    for (;;) {
      for (;;) {
        if (++guard > 10 * d + 50) throw new GradflowError('agf (diagonal): the cost step did not settle (X too ill-conditioned?)');
        const idx: number[] = [];
        for (let i = 0; i < d; i++) if (active[i]) idx.push(i);
        const sol = lsqPivoted(idx.map((i) => columns[i]), y);
        // coordinates whose refit has the other sign (or is pinned at 0 as a dependent column)
        let step = 1, blocking = -1;
        idx.forEach((i, q) => {
          const z = sol.x[q];
          if (sigma[i] * z > 0) return;
          const denom = beta[i] - z;
          const s = denom !== 0 ? beta[i] / denom : 0;
          if (s < step) { step = s; blocking = i; }
        });
        if (blocking < 0) {
          idx.forEach((i, q) => { beta[i] = sol.x[q]; });
          break;
        }
        idx.forEach((i, q) => { beta[i] += step * (sol.x[q] - beta[i]); });
        let bmax = 0;
        for (const i of idx) bmax = Math.max(bmax, Math.abs(beta[i]));
        for (const i of idx) {
          if (i === blocking || sigma[i] * beta[i] <= 8 * EPS * bmax) { deactivate(i); removed.add(i); }
        }
      }
      // a neuron just returned sits at the threshold; if the new gradient pushes it back out, τ = 0
      residualLossGrad(X, y, n, d, beta, g);
      let back = -1, best = tolW;
      for (const i of removed) {
        if (active[i] || bounced.has(i)) continue;
        const push = -sigma[i] * g[i];
        if (push > best) { best = push; back = i; }
      }
      if (back < 0) break;
      active[back] = 1;
      psi[back] = sigma[back] * A;
      removed.delete(back);
      bounced.add(back); // at most one zero-time return per neuron and cost step: no cycling on round-off
    }
    return removed;
  };

  for (let jump = 0; jump < maxJumps; jump++) {
    gmax = 0;
    for (let i = 0; i < d; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax <= tolG) { status = 'converged'; break; }
    let tau = Infinity, k = -1;
    for (let i = 0; i < d; i++) {
      if (active[i] || Math.abs(g[i]) <= tolG) continue;
      const c = -Math.sign(g[i]) * psi[i];
      const ti = Math.max(0, A - c) / (2 * Math.abs(g[i]));
      if (ti < tau) { tau = ti; k = i; }
    }
    if (k < 0) { status = 'converged'; break; }
    t += tau;
    for (let i = 0; i < d; i++) {
      if (active[i]) continue;
      psi[i] = Math.min(A, Math.max(-A, psi[i] - 2 * g[i] * tau));
    }
    const wasActive = Uint8Array.from(active);
    sigma[k] = -Math.sign(g[k]);
    psi[k] = sigma[k] * A;
    active[k] = 1;
    beta[k] = 0;
    costStep();
    const loss = residualLossGrad(X, y, n, d, beta, g);
    const deactivated: number[] = [];
    for (let i = 0; i < d; i++) if (wasActive[i] && !active[i]) deactivated.push(i);
    jumps.push({ time: t, rescaledTime: t / logInv, neuron: k, sign: sigma[k], lossAfter: loss, deactivated });
    const set: number[] = [];
    for (let i = 0; i < d; i++) if (active[i]) set.push(i);
    activeSets.push(set);
    betas.push(Float64Array.from(beta));
    psis.push(Float64Array.from(psi));
  }
  if (status === 'max-jumps') {
    gmax = 0;
    for (let i = 0; i < d; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax <= tolG) status = 'converged';
  }
  return { initialLoss, threshold: A, jumps, activeSets, betas, psis, status, finalGradNorm: gmax };
}

/** The closed-form AGF schedule of a diagonal-model Problem at its α (method 'agf'). */
export function solveAgfDiagonal(p: Problem, opts: AgfDiagonalOptions = {}): JumpSchedule {
  const data = diagonalData(p, 'agf (diagonal)');
  activationThreshold(data.alpha);
  checkStandardInit(p, data);
  const run = agfDiagonalRun(data, opts);
  return {
    model: p.model.spec.name,
    method: 'agf',
    conventions: { ...p.conventions, time: 'flow time; rescaledTime = time/log(1/alpha)' },
    initialLoss: run.initialLoss,
    jumps: run.jumps,
    extra: {
      status: run.status,
      finalGradNorm: run.finalGradNorm,
      threshold: run.threshold,
      activeSets: run.activeSets,
      beta: Array.from(run.betas.at(-1) ?? new Float64Array(data.d)),
    },
  };
}

/** The closed form assumes every neuron starts at u = √2α, v = 0 (u² − v² = 2α², ψ = 0). */
function checkStandardInit(p: Problem, data: DiagonalData): void {
  const th = p.theta0;
  const u0 = Math.SQRT2 * data.alpha;
  if (th.length !== 2 * data.d) throw new GradflowError(`agf (diagonal): the state has ${th.length} entries, expected 2·d = ${2 * data.d}`);
  for (let i = 0; i < data.d; i++) {
    if (Math.abs(th[2 * i] - u0) > 1e-12 * u0 || th[2 * i + 1] !== 0) {
      throw new GradflowError('agf (diagonal): the closed form assumes the standard start u = sqrt(2)·alpha, v = 0; use the generic AGF solver for other initialisations (gradflow agf without --closed; compare and sweep: --agf generic)');
    }
  }
}
