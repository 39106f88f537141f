/**
 * AGF's cost minimisation for relu units, as the flow does it: the masked relu gradient flow
 * (relu-flow.ts: kink events, Filippov sliding — exact in every cone) from the activation state,
 * run until its field is small, then Newton steps inside the activation pattern it reached.
 *
 * Why not L-BFGS from the activation state (as for polynomial models): the relu loss is piecewise
 * quadratic with minimisers on kinks (a unit's kink pinned at a data point), so a quasi-Newton path
 * crosses cones the flow never enters and lands in another minimum — on the default cluster data,
 * seed 2, the second plateau came out at 7.03e-2 or 1.03e-1 depending on α, where the flow's is
 * 6.942e-2 at every α — and it stalls on the kinks (‖∇L‖ 1e-2 after 20000 iterations).
 *
 * Newton in a pattern: with the pattern fixed and the pinned kinks held at their data points
 * (arg_ij(θ_i) = 0, linear in θ_i for a·relu(wᵀx + b) units), the loss is a polynomial; the flow's
 * limit is its critical point on that linear subspace (the Filippov weights μ are the Lagrange
 * multipliers). Newton there converges quadratically where the flow's slowest mode may take
 * thousands of time units. The result is accepted only if the flow's own rules agree
 * (reluFieldAt: every pinned kink still slides, no argument changed sign, field at the tolerance);
 * handed over early, also only if Newton's point is a minimum in the flow's present pattern.
 *
 * Collapse: an active unit the flow drives towards the origin leaves the fit once its norm falls
 * below `collapseFloor` times its norm at the fit's start (a located event), with its state there
 * (relu-cones.ts turns it into a dormant log-state, recovering the components that the conserved
 * a² − ‖w‖² − b² fixes). A unit whose kink has left every data point (dead: no sample on or
 * pinned) has zero output and zero gradient for every residual: it is frozen, not dormant.
 */
import { lossOf, type Problem } from '../../problem.ts';
import { GradflowError } from '../../util/errors.ts';
import { symEig } from '../../util/dense.ts';
import { solveLinear } from '../../util/linalg.ts';
import { reluFieldAt, solveReluFlow, type PinnedKink } from '../relu-flow.ts';
import { augmentedRows, maskOffset, patternModel } from '../relu-pattern.ts';
import type { FlowEvent } from '../flow.ts';
import type { ActiveSet } from './cost.ts';
import { conservedOf, rebalanceNeuron, rescalingSymmetries } from './rescaling.ts';

// the symmetries come from the compiled kernels (a few evaluations), once per problem
const symCache = new WeakMap<Problem, number[][]>();
function symmetriesOf(p: Problem): number[][] {
  let s = symCache.get(p);
  if (!s) { s = rescalingSymmetries(p); symCache.set(p, s); }
  return s;
}

export interface ReluFitOptions {
  /** Newton stops at ‖projected ∇L‖₂ ≤ gtol. */
  gtol: number;
  /** The flow hands over to Newton at ‖F‖∞ ≤ flowTol. */
  flowTol: number;
  /** Flow-time budget of each masked flow. */
  tMax: number;
  /** A unit whose norm falls below this fraction of its norm at the fit's start has collapsed (default 1e-3). */
  collapseFloor?: number;
  /**
   * The state whose conserved quantities (one per rescaling symmetry of a unit, rescaling.ts) every
   * unit is moved back to after Newton: the problem's θ(0), from which the flow conserves them.
   */
  theta0: Float64Array;
}

export interface ReluFitResult {
  /** ‖F‖₂ of the Filippov field where the fit ended (active coordinates). */
  gradNorm: number;
  flowTime: number;
  fevals: number;
  /** Units that collapsed towards the origin, with their parameters when they crossed the floor. */
  collapsed: { neuron: number; theta: Float64Array }[];
  /** Units left with no sample on or pinned (zero output, frozen). */
  dead: number[];
  /** Pinned kinks at the end. */
  pinned: PinnedKink[];
  newtonAccepted: boolean;
  /**
   * Flow time the masked flow took to complete the fraction 1 − q of the fit's loss drop, for each
   * q of RELAX_FRACTIONS (null: Newton finished it, the flow had not: at least `flowTime`).
   */
  relaxTimes: (number | null)[];
}

/** The remaining fractions of a fit's loss drop at which its relaxation time is read. */
export const RELAX_FRACTIONS = [0.5, 0.1, 0.01];

const unitNorm = (th: ArrayLike<number>, i: number, P: number): number => {
  let s = 0;
  for (let a = 0; a < P; a++) s += th[i * P + a] ** 2;
  return Math.sqrt(s);
};

export function fitReluActive(p: Problem, set: Pick<ActiveSet, 'theta' | 'mask'>, o: ReluFitOptions): ReluFitResult {
  const { H, P } = p.layout;
  const { theta, mask } = set;
  const floorRel = o.collapseFloor ?? 1e-3;
  const collapsed: ReluFitResult['collapsed'] = [];
  let flowTime = 0, fevals = 0;
  let pinned: PinnedKink[] = [];
  const floors = Float64Array.from({ length: H }, (_, i) => floorRel * unitNorm(theta, i, P));
  let newtonAccepted = false;
  // each unit's rescaling orbits (θ_g → e^{a_g s} θ_g, f unchanged: for a·relu(wᵀx + b), a → e^s a,
  // (w, b) → e^{−s}(w, b)), found from the kernels whatever the parameters are named
  const syms = symmetriesOf(p);
  const targets = Array.from({ length: H }, (_, i) => conservedOf(p, o.theta0, i, syms));
  const rebalance = (i: number): void => { if (syms.length && targets[i].every(Number.isFinite)) rebalanceNeuron(p, theta, i, syms, targets[i]); };
  // The flow's slowest mode inside a pattern can take 1e4 flow-time units to relax (K = 4, seed 1,
  // α = 1e-4, third fit: 23,576 units at Hessian eigenvalues 5e-7 … 67, stiff for dopri5: 6 min),
  // which Newton does in a few steps. So the flow hands over early — at a loose field
  // (1e4·flowTol), or after a slice of flow time that doubles at each try — and Newton's point is
  // kept only if it is where the flow was already headed: at the flow's point no curvature below
  // −‖∇L‖/ρ off the rescaling orbits; every Newton step a full one; Newton's point a minimum (the
  // same test, where ∇L ≈ 0), in the pattern the flow is in (each unit's cone is convex, so the
  // segment between them is in it too), every pinned kink still sliding, the Filippov field there
  // at the stationarity tolerance. (Without the first two, K = 4 seed 1 α = 1e-8 ended its third fit
  // at 7.023e-3, a minimum of the same pattern that the flow passes: its limit is 5.8909623e-3.)
  // Otherwise the flow goes on. Below flowTol the old rule holds (a small field is not yet a
  // stationary point: near a kink whose sliding weight tends to 0 or 1 the flow creeps before it
  // releases the kink): Newton's point is kept on its field alone. What the early hand-over gives
  // up: on a degenerate minimum (a continuum: the shares of aligned units, zero-loss manifolds)
  // Newton's point is a nearby member of it, not the flow's limit (teacher–student, α = 1e-4: the
  // plateau-1 saddle moves by 1.2e-8 rad).
  // The first masked flow (the transient after the activation, kinks crossing) is dopri5 at
  // rtol 1e-10; every later one, the relaxation into the minimum, is the L-stable Rosenbrock pair
  // (ode/rosenbrock23.ts) at rtol 1e-6: dopri5's step there is held at its stability limit
  // ~3/λ_max for thousands of flow-time units (default data seed 2, α = 1e-4: 70,000 steps in the
  // second fit). The looser tolerance costs nothing measurable at the end, which Newton or the
  // stationarity test fixes: the levels of K = 4 seed 1 and seeds 2, 4, 6 at α = 1e-8 and seed 2 at
  // α = 1e-4 are the same to 10 digits as with dopri5 throughout, and the same to 3e-15 (jump
  // times to 1e-14) at rtol 1e-6 as at 1e-8, on 10 cluster and teacher–student cases, for 1.3–2.7×
  // less CPU (the states differ only along degenerate minima: seed 2, α = 1e-4, by 7e-3 at the same
  // loss). An order-2 method's step grows like rtol^(1/3): 1e-5 gained nothing more.
  // the masked flows' loss against flow time, thinned to drops of 1e-4 of the drop so far (bounded)
  const recT: number[] = [], recL: number[] = [];
  const masked = theta.slice();
  for (let i = 0; i < H; i++) if (!mask[i]) masked.fill(0, i * P, (i + 1) * P);
  const L0 = lossOf(p, masked);
  recT.push(0); recL.push(L0);
  const monitor = (offset: number) => (t: number, y: Float64Array): void => {
    const L = lossOf(p, y);
    if (recL[recL.length - 1] - L > 1e-4 * (L0 - L)) { recT.push(offset + t); recL.push(L); }
  };
  let tol = 1e4 * o.flowTol;
  let slice = 1e-3 * o.tMax;
  let collapsedLast = false;
  for (let attempt = 0; attempt < 40 + H && flowTime < o.tMax; attempt++) {
    const start = theta.slice();
    for (let i = 0; i < H; i++) if (!mask[i]) start.fill(0, i * P, (i + 1) * P);
    const events: FlowEvent[] = [];
    for (let i = 0; i < H; i++) if (mask[i]) events.push({ name: `collapse ${i}`, g: (_t, y) => unitNorm(y, i, P) - floors[i], direction: -1, terminal: true });
    let flow: ReturnType<typeof solveReluFlow>;
    try {
      flow = solveReluFlow(p, { theta0: start, tEnd: Math.min(o.tMax - flowTime, slice), untilGradNorm: tol, dense: false, saveSteps: false, events, rtol: attempt > 0 ? 1e-6 : 1e-10, maxSteps: 2e6, stiff: attempt > 0, onStep: monitor(flowTime) });
    } catch (e) {
      // a kink the event logic cannot settle (the pattern re-flags at one t without end): a flow
      // restarted from a state short of it derives its pattern afresh, so retry with a shorter slice
      if (!(e instanceof GradflowError && /keeps switching/.test(e.message)) || slice < 1e-6 * o.tMax) throw e;
      slice /= 4;
      continue;
    }
    const end = flow.states[flow.states.length - 1];
    flowTime += flow.t[flow.t.length - 1];
    fevals += Number(flow.stats.fevals ?? 0);
    theta.set(end);
    pinned = flow.pinnedAtEnd;
    collapsedLast = flow.status === 'event';
    if (flow.status === 'event') {
      const i = Number(flow.events[flow.events.length - 1].name.split(' ')[1]);
      collapsed.push({ neuron: i, theta: end.slice(i * P, (i + 1) * P) });
      theta.fill(0, i * P, (i + 1) * P);
      mask[i] = 0;
      pinned = pinned.filter((k) => k.neuron !== i);
      continue;
    }
    const reached = flow.status === 'stopped';
    const early = !reached || tol > o.flowTol;
    const before = theta.slice();
    const field0 = reluFieldAt(p, theta, pinned);
    const pol = polishInPattern(p, theta, mask, pinned, o.gtol, { requireBasin: early });
    if (pol) {
      for (let i = 0; i < H; i++) if (mask[i]) rebalance(i);
      // judged by the flow's own rules at Newton's point (kinks re-settled: a weight that ends a
      // hair outside [0, 1] is a kink on the edge of sliding, and its one-sided field is as small)
      const f1 = reluFieldAt(p, theta, pinned);
      const ok = f1.norm <= 100 * o.gtol && (!early || (f1.stillPinned && samePattern(p, before, theta, mask, pinned)));
      if (ok) { newtonAccepted = true; break; }
      if (early || !(f1.norm < field0.norm)) theta.set(before);
    } else {
      theta.set(before);
    }
    if (reached) tol *= tol > o.flowTol ? 1e-1 : 1e-2;
    else slice *= 2;
  }
  if (!newtonAccepted && !collapsedLast) {
    // the budget is spent without a hand-over that passed the basin tests: Newton in the pattern
    // the flow ended in, kept on its field alone (the rule before the early hand-over)
    const before = theta.slice();
    if (polishInPattern(p, theta, mask, pinned, o.gtol)) {
      for (let i = 0; i < H; i++) if (mask[i]) rebalance(i);
      const f1 = reluFieldAt(p, theta, pinned);
      if (f1.norm <= 100 * o.gtol) newtonAccepted = true;
      else if (!(f1.norm < reluFieldAt(p, before, pinned).norm)) theta.set(before);
    } else theta.set(before);
  }
  // dead units: every sample strictly off (zero output and gradient whatever the residual)
  const dead: number[] = [];
  const args = unitArgs(p, theta);
  const n = p.data.n;
  for (let i = 0; i < H; i++) {
    if (!mask[i]) continue;
    let live = pinned.some((k) => k.neuron === i);
    for (let j = 0; j < n && !live; j++) if (args[i * n + j] > 0) live = true;
    if (!live) { dead.push(i); mask[i] = 0; }
  }
  const F = reluFieldAt(p, theta, pinned.filter((k) => mask[k.neuron])).F;
  let g2 = 0;
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) g2 += F[i * P + a] ** 2;
  const Lfit = lossOf(p, theta);
  const relaxTimes = RELAX_FRACTIONS.map((q) => {
    const target = Lfit + q * (L0 - Lfit);
    const k = recL.findIndex((L) => L <= target);
    if (k < 0) return null;
    if (k === 0) return 0;
    // linear in between two records (they are 1e-4 of the drop apart)
    return recT[k - 1] + ((recL[k - 1] - target) / (recL[k - 1] - recL[k])) * (recT[k] - recT[k - 1]);
  });
  return { gradNorm: Math.sqrt(g2), flowTime, fevals, collapsed, dead, pinned, newtonAccepted, relaxTimes };
}

/** arg_i(x_j) of every unit (H×n), for a single scalar relu per unit. */
function unitArgs(p: Problem, theta: Float64Array): Float64Array {
  const pm = patternModel(p);
  const n = p.data.n;
  const rows = augmentedRows(pm, p.data.X, n);
  const out = new Float64Array(p.layout.H * n);
  pm.nodes[0].kernels.neuronOutputs(theta, rows, n, out);
  return out;
}

function samePattern(p: Problem, a: Float64Array, b: Float64Array, mask: Uint8Array, pinned: PinnedKink[]): boolean {
  const n = p.data.n;
  const A = unitArgs(p, a), B = unitArgs(p, b);
  for (let i = 0; i < p.layout.H; i++) {
    if (!mask[i]) continue;
    for (let j = 0; j < n; j++) {
      if (pinned.some((k) => k.neuron === i && k.sample === j)) continue;
      if ((A[i * n + j] > 0) !== (B[i * n + j] > 0)) return false;
    }
  }
  return true;
}

/**
 * Newton on the polynomial loss of a fixed pattern, restricted to the subspace that keeps every
 * pinned kink on its data point; null when the template is not one scalar relu per unit with an
 * argument linear in the unit's parameters, or when no step helps.
 */
function polishInPattern(p: Problem, theta: Float64Array, mask: Uint8Array, pinned: PinnedKink[], gtol: number, o: { requireBasin?: boolean; maxIter?: number } = {}): { loss: number } | null {
  const maxIter = o.maxIter ?? 30;
  const pm = patternModel(p);
  if (pm.nodes.length !== 1 || pm.nodes[0].size !== 1) return null;
  const { n, X, Y } = p.data;
  const { H, P } = p.layout;
  const R = pm.rowLength;
  const rows = augmentedRows(pm, X, n);
  const args = unitArgs(p, theta);
  for (let i = 0; i < H; i++) for (let j = 0; j < n; j++) {
    const isPinned = pinned.some((k) => k.neuron === i && k.sample === j);
    rows[j * R + maskOffset(pm, 0, i, 0)] = mask[i] && !isPinned && args[i * n + j] > 0 ? 1 : 0;
  }
  const idx: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
  const N = idx.length;
  if (N === 0) return null;
  // constraint rows: ∂arg_ij/∂θ_i (linear arguments: read off unit vectors; checked at a second point)
  const cons = pinned.filter((k) => mask[k.neuron]);
  const plain = augmentedRows(pm, X, n);
  const th = new Float64Array(H * P), buf = new Float64Array(H * n);
  const C: Float64Array[] = cons.map(() => new Float64Array(N));
  for (let a = 0; a < P; a++) {
    th.fill(0);
    for (let i = 0; i < H; i++) th[i * P + a] = 1;
    pm.nodes[0].kernels.neuronOutputs(th, plain, n, buf);
    cons.forEach((k, r) => { C[r][idx.indexOf(k.neuron * P + a)] = buf[k.neuron * n + k.sample]; });
  }
  for (let i = 0; i < H; i++) for (let a = 0; a < P; a++) th[i * P + a] = 0.3 + 0.17 * a;
  pm.nodes[0].kernels.neuronOutputs(th, plain, n, buf);
  for (const [r, k] of cons.entries()) {
    let s = 0, sc = 0;
    for (let a = 0; a < P; a++) { s += C[r][idx.indexOf(k.neuron * P + a)] * (0.3 + 0.17 * a); sc += Math.abs(C[r][idx.indexOf(k.neuron * P + a)]); }
    if (Math.abs(s - buf[k.neuron * n + k.sample]) > 1e-10 * (1 + sc)) return null;
  }
  // null space of C (eigenvectors of CᵀC at zero), and the projection onto the constraints
  const CtC = new Float64Array(N * N);
  for (const c of C) for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) CtC[a * N + b] += c[a] * c[b];
  const eig = symEig(CtC, N);
  const top = Math.max(1e-300, ...eig.values.map(Math.abs));
  const Z = eig.vectors.filter((_, k) => Math.abs(eig.values[k]) <= 1e-12 * top);
  if (C.length && Z.length !== N - C.length) return null;
  const project = (x: Float64Array): void => {
    if (!C.length) return;
    const m = C.length;
    const G = new Float64Array(m * m), rhs = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      for (let k = 0; k < N; k++) rhs[r] += C[r][k] * x[idx[k]];
      for (let q = 0; q < m; q++) for (let k = 0; k < N; k++) G[r * m + q] += C[r][k] * C[q][k];
    }
    const lam = solveLinear(G, rhs, m);
    if (!lam) return;
    for (let k = 0; k < N; k++) { let s = 0; for (let r = 0; r < m; r++) s += C[r][k] * lam[r]; x[idx[k]] -= s; }
  };
  const g = new Float64Array(H * P), gp = new Float64Array(H * P), gm = new Float64Array(H * P);
  const reduced = (v: Float64Array): Float64Array => Float64Array.from(Z, (z) => { let s = 0; for (let k = 0; k < N; k++) s += z[k] * v[idx[k]]; return s; });
  const norm2 = (v: Float64Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  // the rescaling orbits of each unit (rescaling.ts: symmetry vectors a over the parameter slots,
  // θ_g → e^{a_g s} θ_g), tangent a_g θ_g, in the reduced coordinates (a rescaling keeps every kink
  // in place, so it lies in the constraint null space); for a·relu(wᵀx + b): ∝ (a, −w, −b)
  const syms = symmetriesOf(p);
  const orbitTangents = (at: Float64Array): Float64Array[] => {
    const out: Float64Array[] = [];
    for (const sv of syms) for (let i = 0; i < H; i++) {
      if (!mask[i]) continue;
      const t = new Float64Array(H * P);
      p.layout.params.forEach((sl, g) => { for (let q = sl.offset; q < sl.offset + sl.size; q++) t[i * P + q] = sv[g] * at[i * P + q]; });
      out.push(reduced(t));
    }
    return out;
  };
  /** No negative curvature off the rescaling orbits (their own curvature is −2gᵀw-sized, not 0, off a critical point). */
  const inBasin = (Hr: Float64Array, M: number, values: number[], lmax: number, slack = 0): boolean => {
    // orthonormal basis of the orbit tangents (Gram–Schmidt), then the Hessian on their complement
    const T: Float64Array[] = [];
    for (const v of orbitTangents(x)) {
      const u = v.slice();
      for (const b of T) { let d = 0; for (let r = 0; r < M; r++) d += u[r] * b[r]; for (let r = 0; r < M; r++) u[r] -= d * b[r]; }
      const nu = Math.sqrt(u.reduce((s, z) => s + z * z, 0));
      if (nu > 1e-12 * Math.sqrt(v.reduce((s, z) => s + z * z, 0))) T.push(u.map((z) => z / nu));
    }
    if (!T.length) return Math.min(...values) >= -1e-9 * lmax - slack;
    const Pm = new Float64Array(M * M);
    for (let r = 0; r < M; r++) for (let c = 0; c < M; c++) { let v = r === c ? 1 : 0; for (const b of T) v -= b[r] * b[c]; Pm[r * M + c] = v; }
    const PH = new Float64Array(M * M), PHP = new Float64Array(M * M);
    for (let r = 0; r < M; r++) for (let c = 0; c < M; c++) { let v = 0; for (let k = 0; k < M; k++) v += Pm[r * M + k] * Hr[k * M + c]; PH[r * M + c] = v; }
    for (let r = 0; r < M; r++) for (let c = 0; c < M; c++) { let v = 0; for (let k = 0; k < M; k++) v += PH[r * M + k] * Pm[k * M + c]; PHP[r * M + c] = v; }
    for (let r = 0; r < M; r++) for (let c = 0; c < r; c++) { const v = 0.5 * (PHP[r * M + c] + PHP[c * M + r]); PHP[r * M + c] = v; PHP[c * M + r] = v; }
    const ev = symEig(PHP, M).values;
    return Math.min(...ev) >= -1e-9 * lmax - slack;
  };
  const minUnitNorm = (): number => {
    let m = Infinity;
    for (let i = 0; i < H; i++) if (mask[i]) { let q = 0; for (let a = 0; a < P; a++) q += x[i * P + a] ** 2; m = Math.min(m, Math.sqrt(q)); }
    return Math.max(m, 1e-300);
  };
  const x = theta.slice();
  project(x);
  let L = pm.kernels.lossGrad(x, rows, Y, n, g, mask);
  let gr = reduced(g);
  const M = Z.length;
  const Hr = new Float64Array(M * M);
  const trial = new Float64Array(x.length);
  /** The reduced Hessian at x into Hr (central differences of ∇L along the null-space basis). */
  const hessian = (): void => {
    let scaleTh = 0;
    for (const q of idx) scaleTh = Math.max(scaleTh, Math.abs(x[q]));
    const h = 1e-5 * Math.max(scaleTh, 1e-300);
    for (let c = 0; c < M; c++) {
      trial.set(x);
      for (let k = 0; k < N; k++) trial[idx[k]] = x[idx[k]] + h * Z[c][k];
      pm.kernels.lossGrad(trial, rows, Y, n, gp, mask);
      for (let k = 0; k < N; k++) trial[idx[k]] = x[idx[k]] - h * Z[c][k];
      pm.kernels.lossGrad(trial, rows, Y, n, gm, mask);
      const d = reduced(Float64Array.from(gp, (v, q) => (v - gm[q]) / (2 * h)));
      for (let r = 0; r < M; r++) Hr[r * M + c] = d[r];
    }
  };
  for (let it = 0; it < maxIter && norm2(gr) > gtol; it++) {
    hessian();
    const e = symEig(Hr, M);
    const lmax = Math.max(1e-300, ...e.values.map(Math.abs));
    // handed over early: the flow's point must already be in the minimum's convex part — no
    // curvature below −‖∇L‖/ρ off the rescaling orbits (ρ the smallest active unit's norm: flat
    // directions, e.g. the shares of aligned units, bend by O(‖∇L‖) off the critical set)
    if (it === 0 && o.requireBasin && !inBasin(Hr, M, e.values, lmax, norm2(gr) / minUnitNorm())) return null;
    // pseudo-inverse over the non-degenerate directions (the rescaling orbit is flat)
    const step = new Float64Array(M);
    e.values.forEach((lv, k) => {
      if (Math.abs(lv) <= 1e-9 * lmax) return;
      let d = 0;
      for (let r = 0; r < M; r++) d += e.vectors[k][r] * gr[r];
      for (let r = 0; r < M; r++) step[r] -= (d / Math.abs(lv)) * e.vectors[k][r];
    });
    let t = 1, ok = false, Lt = L, grt = gr, full = false;
    const gn0 = norm2(gr);
    for (let ls = 0; ls < 12 && !ok; ls++, t *= 0.5) {
      trial.set(x);
      for (let c = 0; c < M; c++) for (let k = 0; k < N; k++) trial[idx[k]] += t * step[c] * Z[c][k];
      project(trial);
      Lt = pm.kernels.lossGrad(trial, rows, Y, n, gp, mask);
      grt = reduced(gp);
      ok = Lt < L - 1e-13 * Math.abs(L) || (Lt <= L + 1e-13 * Math.abs(L) && norm2(grt) < gn0);
      full = ok && ls === 0;
    }
    if (!ok) break;
    // handed over early: Newton must converge from there with full steps (no walk to a far minimum)
    if (o.requireBasin && !full) return null;
    x.set(trial);
    L = Lt;
    gr = grt;
  }
  if (o.requireBasin) {
    // a minimum, not a saddle: checked where ∇L ≈ 0 (off a critical point the rescaling orbits
    // bend the Hessian by O(‖∇L‖), which no threshold separates from a true negative curvature)
    hessian();
    const e = symEig(Hr, M);
    if (!inBasin(Hr, M, e.values, Math.max(1e-300, ...e.values.map(Math.abs)))) return null;
  }
  theta.set(x);
  return { loss: L };
}
