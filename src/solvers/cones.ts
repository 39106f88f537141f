/**
 * Exact dormant dynamics of a piecewise-linear κ = 2 neuron (e.g. a·relu(wᵀx + b)) with the
 * residual held fixed — the mechanism an AGF engine needs for ReLU models.
 *
 * INTERFACE (for src/solvers/agf.ts):
 *
 *   advanceReluDormant(p, i, theta_i, residual, tMax, { normTarget }) → DormantAdvance
 *     p         the Problem (any template whose relu arguments are linear in θ_i and whose
 *               masked neuron is bilinear, i.e. κ = 2 on every activation cone)
 *     i         neuron index; theta_i its P parameters (any scale: 1e-300 works)
 *     residual  r = y − f_active, n×c row-major (the cotangent of the utility U = E_x⟨f_i, r⟩)
 *     tMax      flow-time horizon
 *   returns the state at the first of {‖θ_i‖ = normTarget (default 1), t = tMax}: t, theta,
 *   logNorm (= log‖θ_i‖, exact even where theta underflows), the pattern at the end (0 off, 1 on,
 *   2 sliding), the Filippov weights μ of sliding samples, and every event (sample j crossing the
 *   neuron's kink: on / off / slide / release, with its time).
 *
 * Inside an activation cone the masked utility is a quadratic form, so θ̇ = ∇U = M θ with M
 * symmetric (rank 2 for a scalar-output unit: ±‖v‖ with v = E[r·(x, 1)] over the active samples).
 * θ(t) = Σ_k c_k e^{λ_k t} q_k is kept as signs and log-magnitudes of c_k in M's eigenbasis;
 * kink crossings are roots of exponential sums (found in scaled form, so terms 1e300 apart are
 * fine); switching cones re-expands the coefficients by a signed log-sum-exp. A kink pinned at a
 * data point (both one-sided fields point into it) slides with a constant weight μ (the residual
 * is fixed), so the sliding field M(μ) = M_off + μ(M_on − M_off) is linear too.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { symEig } from '../util/dense.ts';
import { solveLinear } from '../util/linalg.ts';
import { augmentedRows, maskOffset, patternModel, type PatternModel } from './relu-pattern.ts';

export interface DormantEvent { t: number; sample: number; kind: 'on' | 'off' | 'slide' | 'release' }

/**
 * A dormant unit's state in log form: θ = Σ_k sign_k·e^{log_k}·basis_k (basis orthonormal). It
 * keeps components that a float vector would lose beside larger ones (a collapsed unit's growing
 * mode, fixed by its conserved quantity, can be 1e-200 next to a decaying one of 1e-3).
 */
export interface DormantLogState { basis: Float64Array[]; sign: Float64Array; log: Float64Array }

export interface DormantAdvance {
  t: number;
  theta: Float64Array;
  /** The end state in log form (the last cone's eigenbasis). */
  state: DormantLogState;
  logNorm: number;
  reason: 'norm' | 'tMax';
  pattern: Uint8Array;
  mu: Float64Array;
  events: DormantEvent[];
}

/** Signed log-magnitude numbers: value = sign·exp(log). */
interface LogVec { sign: Float64Array; log: Float64Array }

function signedLse(terms: { s: number; l: number }[]): { s: number; l: number } {
  let m = -Infinity;
  for (const t of terms) if (t.s !== 0 && t.l > m) m = t.l;
  if (m === -Infinity) return { s: 0, l: -Infinity };
  let acc = 0;
  for (const t of terms) if (t.s !== 0) acc += t.s * Math.exp(t.l - m);
  if (acc === 0) return { s: 0, l: -Infinity };
  return { s: Math.sign(acc), l: m + Math.log(Math.abs(acc)) };
}

class Cone {
  readonly values: number[];
  readonly vectors: Float64Array[];
  constructor(readonly M: Float64Array, readonly P: number) {
    const e = symEig(M, P);
    this.values = e.values;
    this.vectors = e.vectors;
  }

  /** Coefficients of θ (given as a LogVec in another orthonormal basis `from`, at time offset dt there) in this basis. */
  expand(c: LogVec, lambdas: number[], from: Float64Array[], dt: number): LogVec {
    const P = this.P;
    const out: LogVec = { sign: new Float64Array(P), log: new Float64Array(P) };
    for (let m = 0; m < P; m++) {
      const terms: { s: number; l: number }[] = [];
      for (let k = 0; k < from.length; k++) {
        let d = 0;
        for (let q = 0; q < P; q++) d += this.vectors[m][q] * from[k][q];
        if (d === 0 || c.sign[k] === 0) continue;
        terms.push({ s: Math.sign(d) * c.sign[k], l: Math.log(Math.abs(d)) + c.log[k] + lambdas[k] * dt });
      }
      const r = signedLse(terms);
      out.sign[m] = r.s;
      out.log[m] = r.l;
    }
    return out;
  }
}

/** The dormant system of one neuron: masks of its own unit per sample, the linear args, and M per pattern. */
class DormantSystem {
  readonly pm: PatternModel;
  readonly rows: Float64Array;
  readonly G: Float64Array[]; // arg_j(θ_i) = G_j · θ_i
  private readonly th: Float64Array;
  private readonly grad: Float64Array;
  readonly n: number;
  readonly P: number;

  constructor(readonly p: Problem, readonly i: number, readonly residual: Float64Array) {
    this.pm = patternModel(p);
    const { n, X } = p.data;
    this.n = n;
    this.P = p.layout.P;
    if (this.pm.nodes.length !== 1 || this.pm.nodes[0].size !== 1) throw new GradflowError('relu dormant dynamics: the neuron template must have one scalar relu (a·relu(wᵀx + b)-type units)');
    if (residual.length !== n * p.layout.c) throw new GradflowError(`relu dormant dynamics: the residual has ${residual.length} entries, expected n·c = ${n * p.layout.c}`);
    this.rows = augmentedRows(this.pm, X, n);
    const D = p.layout.H * this.P;
    this.th = new Float64Array(D);
    this.grad = new Float64Array(D);
    // arguments are linear in θ_i: read G_j off unit vectors, and check linearity at a random-ish point
    const buf = new Float64Array(p.layout.H * n);
    this.G = Array.from({ length: n }, () => new Float64Array(this.P));
    for (let k = 0; k < this.P; k++) {
      this.th.fill(0);
      this.th[i * this.P + k] = 1;
      this.pm.nodes[0].kernels.neuronOutputs(this.th, this.rows, n, buf);
      for (let j = 0; j < n; j++) this.G[j][k] = buf[i * n + j];
    }
    this.th.fill(0);
    for (let k = 0; k < this.P; k++) this.th[i * this.P + k] = 0.37 + 0.11 * k;
    this.pm.nodes[0].kernels.neuronOutputs(this.th, this.rows, n, buf);
    for (let j = 0; j < n; j++) {
      let s = 0, sc = 0;
      for (let k = 0; k < this.P; k++) { s += this.G[j][k] * (0.37 + 0.11 * k); sc += Math.abs(this.G[j][k]); }
      if (Math.abs(s - buf[i * n + j]) > 1e-10 * (1 + sc)) throw new GradflowError('relu dormant dynamics: the relu argument is not linear in the neuron\'s parameters');
    }
  }

  /** M for the given per-sample masks (values in [0, 1]): column k = ∇_θ U(e_k). */
  matrix(mask: Float64Array): Float64Array {
    const { P, n, i } = this;
    for (let j = 0; j < n; j++) this.rows[j * this.pm.rowLength + maskOffset(this.pm, 0, i, 0)] = mask[j];
    const M = new Float64Array(P * P);
    for (let k = 0; k < P; k++) {
      this.th.fill(0);
      this.th[i * P + k] = 1;
      this.pm.kernels.vjpMean(this.th, this.rows, this.residual, n, this.grad);
      for (let q = 0; q < P; q++) M[q * P + k] = this.grad[i * P + q];
    }
    // symmetrise round-off (the exact M is the Hessian of a quadratic form)
    for (let a = 0; a < P; a++) for (let b = 0; b < a; b++) { const v = 0.5 * (M[a * P + b] + M[b * P + a]); M[a * P + b] = v; M[b * P + a] = v; }
    return M;
  }

  argRate(M: Float64Array, theta: Float64Array, j: number): number {
    const P = this.P;
    let s = 0;
    for (let a = 0; a < P; a++) { let r = 0; for (let b = 0; b < P; b++) r += M[a * P + b] * theta[b]; s += this.G[j][a] * r; }
    return s;
  }
}

const OFF = 0, ON = 1, SLIDE = 2;

/**
 * The sign of Σ_k s_k·exp(l_k + λ_k t)·g_k (summed scaled: never overflows), 0 where the sum is
 * zero to its own round-off (|Σ| ≤ 16ε Σ|terms|). A kink argument that is zero up to rounding has
 * no side; reading one from the rounding made a dead unit (no sample on, M = 0, one argument
 * exactly at its kink) "cross" that kink again and again, 5e-16 flow time apart, until the switch
 * budget ran out (relu, seed 3, α = 1e-4: `agf relu --seed 3` failed).
 */
function expSumSign(c: LogVec, lambdas: number[], g: Float64Array, t: number): number {
  let m = -Infinity;
  const s: number[] = [], l: number[] = [];
  for (let k = 0; k < g.length; k++) {
    if (c.sign[k] === 0 || g[k] === 0) continue;
    s.push(c.sign[k] * Math.sign(g[k]));
    l.push(c.log[k] + lambdas[k] * t + Math.log(Math.abs(g[k])));
    if (l[l.length - 1] > m) m = l[l.length - 1];
  }
  if (m === -Infinity) return 0;
  let acc = 0, mag = 0;
  for (let q = 0; q < s.length; q++) { const e = Math.exp(l[q] - m); acc += s[q] * e; mag += e; }
  return Math.abs(acc) <= 16 * Number.EPSILON * mag ? 0 : Math.sign(acc);
}

/** log‖θ(t)‖ = ½ log Σ_k c_k² e^{2λ_k t} (orthonormal basis). */
function logNormAt(c: LogVec, lambdas: number[], t: number): number {
  const terms: { s: number; l: number }[] = [];
  for (let k = 0; k < lambdas.length; k++) if (c.sign[k] !== 0) terms.push({ s: 1, l: 2 * (c.log[k] + lambdas[k] * t) });
  return 0.5 * signedLse(terms).l;
}

function toLog(x: Float64Array): LogVec {
  return { sign: x.map(Math.sign), log: x.map((v) => (v === 0 ? -Infinity : Math.log(Math.abs(v)))) };
}

/** θ = Σ_k c_k basis_k as a float vector. */
function stateFrom(basis: Float64Array[], c: LogVec): Float64Array {
  const P = basis.length;
  const th = new Float64Array(P);
  for (let q = 0; q < P; q++) {
    const terms: { s: number; l: number }[] = [];
    for (let k = 0; k < P; k++) if (basis[k][q] !== 0 && c.sign[k] !== 0) terms.push({ s: c.sign[k] * Math.sign(basis[k][q]), l: c.log[k] + Math.log(Math.abs(basis[k][q])) });
    const r = signedLse(terms);
    th[q] = r.s * Math.exp(r.l);
  }
  return th;
}

function stateOf(cone: Cone, c: LogVec, t: number): Float64Array {
  const P = cone.P;
  const th = new Float64Array(P);
  for (let q = 0; q < P; q++) {
    const terms: { s: number; l: number }[] = [];
    for (let k = 0; k < P; k++) {
      const v = cone.vectors[k][q];
      if (v !== 0 && c.sign[k] !== 0) terms.push({ s: c.sign[k] * Math.sign(v), l: c.log[k] + cone.values[k] * t + Math.log(Math.abs(v)) });
    }
    const r = signedLse(terms);
    th[q] = r.s * Math.exp(r.l);
  }
  return th;
}

/** First t in (0, T] where f(t) changes sign from its sign just after 0 (scan + bisection); null if none. */
function firstSignChange(f: (t: number) => number, T: number, s0: number): number | null {
  const N = 96;
  let prev = 0;
  for (let k = 1; k <= N; k++) {
    // denser near 0, where a crossing of a just-switched kink can sit
    const t = T * (k / N) ** 2;
    const v = f(t);
    if (v !== 0 && Math.sign(v) !== s0) {
      let lo = prev, hi = t;
      for (let it = 0; it < 200 && hi - lo > 4 * Number.EPSILON * Math.max(1, hi); it++) {
        const mid = 0.5 * (lo + hi);
        const fm = f(mid);
        if (fm !== 0 && Math.sign(fm) !== s0) hi = mid; else lo = mid;
      }
      return hi;
    }
    prev = t;
  }
  return null;
}

export function advanceReluDormant(p: Problem, i: number, theta_i: Float64Array, residual: Float64Array, tMax: number, opts: { normTarget?: number; state?: DormantLogState } = {}): DormantAdvance {
  if (!Number.isInteger(i) || i < 0 || i >= p.layout.H) throw new GradflowError(`relu dormant dynamics: neuron ${i} is out of range [0, ${p.layout.H})`);
  if (theta_i.length !== p.layout.P) throw new GradflowError(`relu dormant dynamics: theta_i has ${theta_i.length} entries, the neuron has ${p.layout.P}`);
  if (!(tMax >= 0)) throw new GradflowError(`relu dormant dynamics: tMax must be ≥ 0 (got ${tMax})`);
  const target = opts.normTarget ?? 1;
  const sys = new DormantSystem(p, i, residual);
  const { n, P } = sys;
  const pattern = new Uint8Array(n);
  const mu = new Float64Array(n);
  const events: DormantEvent[] = [];
  let c: LogVec = opts.state ? { sign: opts.state.sign.slice(), log: opts.state.log.slice() } : toLog(theta_i);
  let basis: Float64Array[] = opts.state ? opts.state.basis : Array.from({ length: P }, (_, k) => Float64Array.from({ length: P }, (_, q) => (q === k ? 1 : 0)));
  let lambdas = new Array(P).fill(0);
  let theta: Float64Array = opts.state ? stateFrom(basis, c) : theta_i.slice();
  const maskVec = (): Float64Array => Float64Array.from(pattern, (s, j) => (s === ON ? 1 : s === SLIDE ? mu[j] : 0));
  const argOf = (th: Float64Array, j: number): number => { let s = 0; for (let k = 0; k < P; k++) s += sys.G[j][k] * th[k]; return s; };
  /** Decide sample j at a kink from the one-sided rates. */
  const settle = (th: Float64Array, j: number): DormantEvent['kind'] => {
    pattern[j] = ON; const up = sys.argRate(sys.matrix(maskVec()), th, j);
    pattern[j] = OFF; const down = sys.argRate(sys.matrix(maskVec()), th, j);
    if (up > 0 && down > 0) { pattern[j] = ON; return 'on'; }
    if (up < 0 && down < 0) { pattern[j] = OFF; return 'off'; }
    if (up <= 0 && down >= 0 && down - up > 0) { pattern[j] = SLIDE; mu[j] = down / (down - up); return 'slide'; }
    pattern[j] = argOf(th, j) > 0 ? ON : OFF;
    return pattern[j] === ON ? 'on' : 'off';
  };
  for (let j = 0; j < n; j++) {
    const a = argOf(theta, j);
    pattern[j] = a > 0 ? ON : OFF;
  }
  for (let j = 0; j < n; j++) if (argOf(theta, j) === 0) settle(theta, j);
  let t = 0;
  for (let guard = 0; guard < 100 * n + 100; guard++) {
    // sliding weights are constant for a fixed residual and pattern; several pinned kinks are coupled (one linear solve)
    for (let round = 0; round < n; round++) {
      const slid = [...pattern.keys()].filter((j) => pattern[j] === SLIDE);
      if (!slid.length) break;
      for (const j of slid) mu[j] = 0;
      const M0 = sys.matrix(maskVec());
      const r0 = slid.map((j) => sys.argRate(M0, theta, j));
      const A = new Float64Array(slid.length * slid.length);
      slid.forEach((k, col) => {
        mu[k] = 1;
        const Mk = sys.matrix(maskVec());
        mu[k] = 0;
        slid.forEach((j, row) => { A[row * slid.length + col] = sys.argRate(Mk, theta, j) - r0[row]; });
      });
      const sol = Array.from(solveLinear(A, r0.map((v) => -v), slid.length) ?? slid.map(() => NaN));
      let worst = -1, excess = 0;
      slid.forEach((j, q) => {
        mu[j] = sol[q];
        const e = Math.max(sol[q] - 1, -sol[q]);
        if (!Number.isFinite(sol[q]) || e > excess) { excess = Number.isFinite(sol[q]) ? e : Infinity; worst = q; }
      });
      if (worst < 0) break;
      // the weight furthest outside [0, 1] releases its kink to that side; re-solve the rest
      const j = slid[worst];
      pattern[j] = sol[worst] > 1 ? ON : OFF;
      mu[j] = 0;
      events.push({ t, sample: j, kind: 'release' });
    }
    const cone = new Cone(sys.matrix(maskVec()), P);
    c = cone.expand(c, lambdas, basis, 0);
    basis = cone.vectors;
    lambdas = cone.values;
    // horizon of this cone: tMax or the norm target
    let T = tMax - t;
    const ln = (s: number): number => logNormAt(c, lambdas, s);
    let hitNorm = false;
    if (ln(T) >= Math.log(target)) {
      let lo = 0, hi = T;
      if (ln(0) >= Math.log(target)) hi = 0;
      for (let it = 0; it < 200 && hi - lo > 4 * Number.EPSILON * Math.max(1, hi); it++) {
        const mid = 0.5 * (lo + hi);
        if (ln(mid) >= Math.log(target)) hi = mid; else lo = mid;
      }
      T = hi;
      hitNorm = true;
    }
    // first kink crossing among the non-sliding samples
    let tc: number | null = null, jc = -1;
    const projections = Array.from({ length: n }, (_, j) => Float64Array.from(basis, (q) => { let s = 0; for (let k = 0; k < P; k++) s += sys.G[j][k] * q[k]; return s; }));
    for (let j = 0; j < n; j++) {
      if (pattern[j] === SLIDE) continue;
      const s0 = pattern[j] === ON ? 1 : -1;
      const f = (s: number): number => expSumSign(c, lambdas, projections[j], s);
      const tj = T > 0 ? firstSignChange(f, T, s0) : null;
      if (tj !== null && (tc === null || tj < tc)) { tc = tj; jc = j; }
    }
    if (tc === null) {
      theta = stateOf(cone, c, T);
      const logNorm = ln(T);
      const state: DormantLogState = { basis, sign: c.sign.slice(), log: c.log.map((l, k) => l + lambdas[k] * T) };
      return { t: t + T, theta, state, logNorm, reason: hitNorm ? 'norm' : 'tMax', pattern, mu, events };
    }
    c = cone.expand(c, lambdas, basis, tc);
    // c is now expressed in the same basis at time tc: reset the clock of the basis to 0
    lambdas = lambdas.map(() => 0);
    t += tc;
    theta = stateOf(cone, c, 0);
    // the crossing state sits a hair past the root: the argument already has its new sign
    events.push({ t, sample: jc, kind: settle(theta, jc) });
  }
  throw new GradflowError('relu dormant dynamics: too many cone switches (the pattern chatters)');
}


export interface DirectionAttractor {
  /** Unit vector the dormant unit's direction converges to under θ̇ = ∇U (residual fixed). */
  direction: Float64Array;
  /** Growth rate d log‖θ‖/dt there: the Rayleigh quotient of the cone's (or sliding) M. */
  rate: number;
  /** Pattern at the attractor (0 off, 1 on, 2 sliding). */
  pattern: Uint8Array;
  /** lim_{t→∞} (log‖θ(t)‖ − log‖θ(0)‖ − rate·t): the O(1) log-norm the transient to the attractor adds. */
  logGain: number;
  /** False when the direction had not settled after the flow-time budget (rate then is the last one). */
  converged: boolean;
}

/**
 * Where a dormant unit's direction settles for a fixed residual, and its growth rate there — the
 * α → 0 view of one plateau: the direction moves in O(1) flow time (zero rescaled time) while the
 * log-norm grows by rate·Δt over the O(log(1/α)) plateau. The direction flow is the ascent of the
 * utility on the sphere, so it converges; it is followed with the exact cone dynamics in chunks of
 * bounded growth (renormalised in between), until the direction stops moving.
 */
export function reluDirectionAttractor(p: Problem, i: number, direction: Float64Array, residual: Float64Array, opts: { rateScale: number; maxChunks?: number } = { rateScale: 1 }): DirectionAttractor {
  const sys = new DormantSystem(p, i, residual);
  const { P, n } = sys;
  const nrm = (v: Float64Array): number => Math.hypot(...v);
  const d0 = nrm(direction);
  if (!(d0 > 0)) throw new GradflowError('relu direction attractor: the direction is zero');
  let dir: Float64Array = direction.map((v) => v / d0);
  // each chunk multiplies the norm by at most e^{±200}: from 1e-150 that stays inside double range
  const chunk = 200 / Math.max(opts.rateScale, 1e-300);
  const maxChunks = opts.maxChunks ?? 400;
  let pattern: Uint8Array = new Uint8Array(n), mu: Float64Array = new Float64Array(n);
  let converged = false, grown = 0, elapsed = 0;
  for (let k = 0; k < maxChunks && !converged; k++) {
    const adv = advanceReluDormant(p, i, dir.map((v) => 1e-150 * v), residual, chunk, { normTarget: Infinity });
    grown += adv.logNorm - Math.log(1e-150);
    elapsed += adv.t;
    const m = nrm(adv.theta);
    if (!(m > 0) || !Number.isFinite(m)) throw new GradflowError('relu direction attractor: the state left double range within one chunk');
    const next = adv.theta.map((v) => v / m);
    let diff = 0;
    for (let q = 0; q < P; q++) diff = Math.max(diff, Math.abs(next[q] - dir[q]));
    converged = diff <= 1e-13 && adv.pattern.every((s, j) => s === pattern[j]);
    dir = next;
    pattern = adv.pattern;
    mu = adv.mu;
  }
  const M = sys.matrix(Float64Array.from(pattern, (s, j) => (s === ON ? 1 : s === SLIDE ? mu[j] : 0)));
  let rate = 0;
  for (let a = 0; a < P; a++) { let r = 0; for (let b = 0; b < P; b++) r += M[a * P + b] * dir[b]; rate += dir[a] * r; }
  return { direction: dir, rate, pattern, logGain: grown - rate * elapsed, converged };
}

/**
 * The dormant log-state of a unit that collapsed towards the origin, with the exponentially small
 * component that its conserved quantity fixes. On its cone (pattern of θ_i, residual fixed) the
 * unit's coordinates in M's eigenbasis are c_k; the law θᵀSθ = Q (S diagonal: +1 on a, −1 on
 * w, b for a·relu(wᵀx + b)) is, in that basis, Σ E_kl c_k c_l = Q with E = VᵀSV — for the rank-2
 * relu M, E pairs the growing mode e₊ with the decaying e₋ (E₊₋ = 1, E₊₊ = E₋₋ = 0) and gives −1
 * on the null directions. So the growing coordinate is c₊ = (Q − Σ_{l,m≠+} E_lm c_l c_m)/(2Σ_{l≠+} E₊l c_l):
 * exact algebra on coordinates a float vector does hold (c₋ ≈ ‖θ_i‖, the null ones), where the
 * float c₊ itself is round-off once it falls below 1e-16·‖θ_i‖ (α²/‖θ_i‖ for a balanced start).
 * Entries of E below 1e-10 are structural zeros. Without exactly one growing mode with E₊₊ = 0 the
 * float coordinates are kept.
 */
export function collapsedDormantState(p: Problem, i: number, theta_i: Float64Array, residual: Float64Array, S: Float64Array, Q: number): DormantLogState & { values: number[] } {
  const sys = new DormantSystem(p, i, residual);
  const { P, n } = sys;
  const mask = new Float64Array(n);
  for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < P; k++) s += sys.G[j][k] * theta_i[k]; mask[j] = s > 0 ? 1 : 0; }
  const cone = new Cone(sys.matrix(mask), P);
  const V = cone.vectors;
  const c = V.map((v) => { let s = 0; for (let q = 0; q < P; q++) s += v[q] * theta_i[q]; return s; });
  const E = new Float64Array(P * P);
  for (let k = 0; k < P; k++) for (let l = 0; l < P; l++) {
    let s = 0;
    for (let q = 0; q < P; q++) s += V[k][q] * S[q] * V[l][q];
    E[k * P + l] = Math.abs(s) <= 1e-10 ? 0 : s;
  }
  const top = Math.max(1e-300, ...cone.values.map(Math.abs));
  const growing = cone.values.flatMap((v, k) => (v > 1e-12 * top ? [k] : []));
  const sign = Float64Array.from(c, Math.sign), log = Float64Array.from(c, (v) => (v === 0 ? -Infinity : Math.log(Math.abs(v))));
  if (growing.length === 1 && E[growing[0] * P + growing[0]] === 0) {
    const g = growing[0];
    let b = 0, rest = 0;
    for (let l = 0; l < P; l++) if (l !== g) {
      b += E[g * P + l] * c[l];
      for (let m = 0; m < P; m++) if (m !== g) rest += E[l * P + m] * c[l] * c[m];
    }
    if (b !== 0) {
      const cg = (Q - rest) / (2 * b);
      sign[g] = Math.sign(cg);
      log[g] = cg === 0 ? -Infinity : Math.log(Math.abs(cg));
    }
  }
  return { basis: V, sign, log, values: cone.values };
}
