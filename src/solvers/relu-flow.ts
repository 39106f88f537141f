/**
 * Gradient flow of a piecewise-linear (ReLU) model as a hybrid system: between events the
 * activation pattern is frozen and the vector field is polynomial (dopri5 on the masked kernels of
 * relu-pattern.ts); an event is a kink crossing — arg_{k,i}(x_j) of unit i changes sign for sample
 * j — or the end of a sliding mode. A crossing where both sides push the state back onto the kink
 * (d arg/dt < 0 with the mask on, > 0 with it off) starts a Filippov sliding mode: the kink stays
 * pinned at the data point and the mask becomes the convex weight μ ∈ [0, 1] that makes
 * d arg/dt = 0 (solved each right-hand-side evaluation; affine in μ, so one Newton step, repeated
 * for masks that multiply each other in deep nets). μ leaving [0, 1] releases the kink.
 *
 * A smooth integrator run straight through the kinks chatters (dopri5 rejects step after step at
 * each crossing, and a sliding mode never ends); here each kink costs one located event.
 */
import { DivergenceError, GradflowError } from '../util/errors.ts';
import { solveLinear } from '../util/linalg.ts';
import type { Problem } from '../problem.ts';
import { buildTrajectory, type Trajectory } from '../trajectory.ts';
import { dopri5Stepper } from './ode/dopri5.ts';
import { rosenbrock23Stepper } from './ode/rosenbrock23.ts';
import { DenseOutput, type Interpolant } from './ode/dense.ts';
import { brentRoot } from './ode/events.ts';
import { homogeneityDegree } from '../symbolic/degree.ts';
import { flowMethod, stateScale, type FlowOptions } from './flow.ts';
import { augmentedRows, maskOffset, patternModel, type PatternModel } from './relu-pattern.ts';

/** A located switch of the activation pattern. */
export interface KinkEvent {
  t: number;
  /** Relu node of the template (0 for a two-layer net), neuron, component, sample. */
  node: number;
  neuron: number;
  component: number;
  sample: number;
  /** on: the unit turns on for this sample; off: it turns off; slide: pinned at the kink; release: sliding ends. */
  kind: 'on' | 'off' | 'slide' | 'release';
}

const OFF = 0, ON = 1, PINNED = 2;

interface Entry { node: number; neuron: number; comp: number; pos: number }

/**
 * A sliding weight this far outside [0, 1] still slides: at a tangential exit (the one-sided field
 * tangent to the kink, μ → 0 or 1) the solved μ sits at its bound to round-off (seen: 1 ± 2e-11),
 * and reading that as an exit releases the kink only for the next step to re-pin it — a release
 * and re-slide every few steps for thousands of time units, until the step size underflows.
 */
const MU_SLACK = 1e-9;

/** A pivot below this fraction of the row-equilibrated system for the sliding weights makes it singular. */
const SINGULAR_PIVOT = 1e-10;

/** The hybrid state machine of one run: masks, pinned kinks, and the kernels that read them. */
class ReluSystem {
  readonly pm: PatternModel;
  readonly n: number;
  readonly rows: Float64Array;
  readonly status: Uint8Array;
  readonly entries: Entry[];
  readonly pinned: number[] = [];
  /**
   * Entries settled to the side their argument does not yet have (a crossing located a hair past
   * the root, then judged by the one-sided rates to continue on the other side: a grazing kink).
   * Round-off would flag them at once and again, events 4e-16 apart without end; an entry here is
   * a violation only once |arg| exceeds twice its value at the settle, and leaves this list when
   * its argument takes the side it was given.
   */
  readonly grace = new Map<number, number>();
  private readonly Y: Float64Array;
  private readonly argBufs: Float64Array[];
  private readonly rowArg: Float64Array[];
  private readonly g: Float64Array;
  private readonly gj: Float64Array;
  private readonly tmp: Float64Array;
  /** Per relu node: its argument is linear (1-homogeneous polynomial) in θ, masks held fixed. */
  private readonly linearArg: boolean[];
  fevals = 0;

  constructor(readonly p: Problem) {
    this.pm = patternModel(p);
    const names = new Set(p.derived.params.map((s) => s.name));
    this.linearArg = this.pm.nodes.map((nd) => homogeneityDegree(nd.arg, names) === 1 && isLinearKernel(this.pm, nd, p.data.X, p.data.n, p.layout.H * p.layout.P));
    const { n, X, Y } = p.data;
    this.n = n;
    this.Y = Y;
    this.rows = augmentedRows(this.pm, X, n);
    const E = this.pm.perSample;
    this.status = new Uint8Array(n * E);
    this.entries = [];
    for (let k = 0; k < this.pm.nodes.length; k++) {
      const node = this.pm.nodes[k];
      for (let i = 0; i < this.pm.H; i++) for (let q = 0; q < node.size; q++) this.entries.push({ node: k, neuron: i, comp: q, pos: maskOffset(this.pm, k, i, q) });
    }
    this.entries.sort((a, b) => a.pos - b.pos);
    this.argBufs = this.pm.nodes.map((nd) => new Float64Array(this.pm.H * n * nd.size));
    this.rowArg = this.pm.nodes.map((nd) => new Float64Array(this.pm.H * nd.size));
    const D = p.layout.H * p.layout.P;
    this.g = new Float64Array(D);
    this.gj = new Float64Array(D);
    this.tmp = new Float64Array(D);
  }

  /** Entry e of sample j: status index j·E + e; its mask lives at rows[j·R + pos]. */
  entryOf(id: number): { j: number; e: Entry } {
    const E = this.pm.perSample;
    return { j: Math.floor(id / E), e: this.entries[id % E] };
  }

  maskIndex(id: number): number {
    const { j, e } = this.entryOf(id);
    return j * this.pm.rowLength + e.pos;
  }

  /** Every argument at θ with the current masks, into argBufs (node-major, then H×n×size). */
  allArgs(theta: Float64Array): void {
    for (let k = 0; k < this.pm.nodes.length; k++) this.pm.nodes[k].kernels.neuronOutputs(theta, this.rows, this.n, this.argBufs[k]);
  }

  argValue(id: number): number {
    const { j, e } = this.entryOf(id);
    const size = this.pm.nodes[e.node].size;
    return this.argBufs[e.node][(e.neuron * this.n + j) * size + e.comp];
  }

  /** arg of one entry at θ (only its sample's row is evaluated). */
  argAt(theta: Float64Array, id: number): number {
    const { j, e } = this.entryOf(id);
    const R = this.pm.rowLength;
    const node = this.pm.nodes[e.node];
    node.kernels.neuronOutputs(theta, this.rows.subarray(j * R, (j + 1) * R), 1, this.rowArg[e.node]);
    return this.rowArg[e.node][e.neuron * node.size + e.comp];
  }

  /**
   * d arg/dt along F: arg(F) for an argument linear in θ (a two-layer net's wᵀx + b: one
   * evaluation, exact), else a five-point stencil, exact for degree ≤ 4 in θ.
   */
  argRate(theta: Float64Array, F: Float64Array, id: number): number {
    if (this.linearArg[this.entryOf(id).e.node]) return this.argAt(F, id);
    let nt = 0, nf = 0;
    for (let q = 0; q < theta.length; q++) {
      nt = Math.max(nt, Math.abs(theta[q]));
      nf = Math.max(nf, Math.abs(F[q]));
    }
    if (nf === 0) return 0;
    const h = (1e-3 * Math.max(nt, 1e-300)) / nf;
    const at = (s: number): number => {
      for (let q = 0; q < theta.length; q++) this.tmp[q] = theta[q] + s * h * F[q];
      return this.argAt(this.tmp, id);
    };
    return (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * h);
  }

  /** −∇L with the current masks (pinned masks as they stand). */
  private field(theta: Float64Array, F: Float64Array): void {
    this.pm.kernels.lossGrad(theta, this.rows, this.Y, this.n, this.g);
    this.fevals++;
    for (let q = 0; q < F.length; q++) F[q] = -this.g[q];
  }

  /** Gradient of sample j's ½‖f − y‖² (the mean loss's per-sample term times n). */
  private sampleGrad(theta: Float64Array, j: number, out: Float64Array): void {
    const R = this.pm.rowLength, c = this.p.layout.c;
    this.pm.kernels.lossGrad(theta, this.rows.subarray(j * R, (j + 1) * R), this.Y.subarray(j * c, (j + 1) * c), 1, out);
  }

  /**
   * The Filippov field: masks of pinned kinks set so that every pinned argument is stationary.
   * Returns the weights μ (also left in the rows).
   */
  rhs(theta: Float64Array, F: Float64Array): Float64Array {
    const m = this.pinned.length;
    if (m === 0) {
      this.field(theta, F);
      return new Float64Array(0);
    }
    const mu = Float64Array.from(this.pinned, (id) => this.rows[this.maskIndex(id)]);
    const J = new Float64Array(m * m);
    const c = new Float64Array(m);
    const dF = new Float64Array(F.length);
    let scale = 0;
    for (let iter = 0; iter < 4; iter++) {
      this.field(theta, F);
      let cmax = 0;
      for (let s = 0; s < m; s++) {
        c[s] = this.argRate(theta, F, this.pinned[s]);
        cmax = Math.max(cmax, Math.abs(c[s]));
      }
      // F is affine in each mask, so after the first solve (two-layer nets: exact) the rates are
      // checked against the Jacobian's scale from that solve before another is built
      if (iter > 0 && cmax <= 1e-14 * scale) break;
      scale = 0;
      // Jacobian columns: a unit change of μ_s gives the column exactly
      for (let s = 0; s < m; s++) {
        const mi = this.maskIndex(this.pinned[s]);
        const j = this.entryOf(this.pinned[s]).j;
        const old = this.rows[mi];
        this.sampleGrad(theta, j, this.gj);
        this.rows[mi] = old + 1;
        this.sampleGrad(theta, j, dF);
        this.rows[mi] = old;
        for (let q = 0; q < F.length; q++) dF[q] = -(dF[q] - this.gj[q]) / this.n;
        for (let r = 0; r < m; r++) {
          J[r * m + s] = this.argRate(theta, dF, this.pinned[r]);
          scale = Math.max(scale, Math.abs(J[r * m + s]));
        }
      }
      // a singular system (a kink with no leverage on its own argument) leaves μ as it is; so does a
      // nearly singular one, whose weights would be round-off amplified (seen: μ = −2.7e20 for two
      // co-activated units pinned on one sample beside a third kink, and a non-finite field)
      // rows equilibrated first: a dormant unit's kink (weights ~α) has rows ~α next to O(1) ones
      const Js = J.slice(), cs = c.map((v) => -v);
      for (let r = 0; r < m; r++) {
        let rm = 0;
        for (let q = 0; q < m; q++) rm = Math.max(rm, Math.abs(J[r * m + q]));
        if (rm > 0) { for (let q = 0; q < m; q++) Js[r * m + q] /= rm; cs[r] /= rm; }
      }
      const delta = solveLinear(Js, cs, m, SINGULAR_PIVOT) ?? new Float64Array(m);
      let dmax = 0;
      for (let s = 0; s < m; s++) {
        mu[s] += delta[s];
        dmax = Math.max(dmax, Math.abs(delta[s]));
        this.rows[this.maskIndex(this.pinned[s])] = mu[s];
      }
      if (dmax <= 1e-15 * (1 + Math.max(...mu.map(Math.abs)))) {
        this.field(theta, F);
        break;
      }
    }
    return mu;
  }

  /** Set every non-pinned mask from the sign of its argument at θ. */
  syncMasks(theta: Float64Array): void {
    // outer arguments read inner masks: sweep node by node so each sees consistent inner masks
    const E = this.pm.perSample;
    for (let k = 0; k < this.pm.nodes.length; k++) {
      this.allArgs(theta);
      for (let j = 0; j < this.n; j++) for (let e = 0; e < E; e++) {
        if (this.entries[e].node !== k) continue;
        const id = j * E + e;
        if (this.status[id] === PINNED) continue;
        const on = this.argValue(id) > 0;
        this.status[id] = on ? ON : OFF;
        this.rows[this.maskIndex(id)] = on ? 1 : 0;
      }
    }
  }

  /**
   * The violated constraints of the frozen pattern at θ, into out. muFresh: the rows already hold
   * the Filippov weights at θ (the stepper's last evaluation was at θ), so no solve is repeated.
   */
  violations(theta: Float64Array, out: number[], muFresh = false): void {
    out.length = 0;
    this.allArgs(theta);
    const total = this.status.length;
    for (let id = 0; id < total; id++) {
      const st = this.status[id];
      if (st === PINNED) continue;
      const a = this.argValue(id);
      if ((st === ON && a < 0) || (st === OFF && a > 0)) {
        const g = this.grace.get(id);
        if (g !== undefined && Math.abs(a) <= 2 * g) continue;
        out.push(id);
      }
    }
    if (this.pinned.length) {
      let mu: Float64Array;
      if (muFresh) mu = Float64Array.from(this.pinned, (id) => this.rows[this.maskIndex(id)]);
      else mu = this.rhs(theta, new Float64Array(theta.length));
      for (let s = 0; s < mu.length; s++) if (mu[s] < -MU_SLACK || mu[s] > 1 + MU_SLACK) out.push(this.pinned[s]);
    }
  }

  setMask(id: number, st: number, value: number): void {
    this.status[id] = st;
    this.rows[this.maskIndex(id)] = value;
  }

  pin(id: number, mu: number): void {
    this.setMask(id, PINNED, mu);
    if (!this.pinned.includes(id)) this.pinned.push(id);
  }

  unpin(id: number, st: number): void {
    this.setMask(id, st, st === ON ? 1 : 0);
    const k = this.pinned.indexOf(id);
    if (k >= 0) this.pinned.splice(k, 1);
  }

  /**
   * Decide a kink that the state has just reached: which side it continues on, or whether it
   * slides (both one-sided fields point into the kink).
   */
  settle(theta: Float64Array, id: number): KinkEvent['kind'] {
    const F = new Float64Array(theta.length);
    const rateWith = (st: number): number => {
      this.setMask(id, st, st === ON ? 1 : 0);
      this.rhs(theta, F);
      return this.argRate(theta, F, id);
    };
    const up = rateWith(ON);
    const down = rateWith(OFF);
    if (up > 0 && down > 0) { this.setMask(id, ON, 1); return 'on'; }
    if (up < 0 && down < 0) { this.setMask(id, OFF, 0); return 'off'; }
    if (up <= 0 && down >= 0 && down - up > 0) {
      this.pin(id, down / (down - up));
      this.rhs(theta, F);
      const mu = this.rows[this.maskIndex(id)];
      if (mu >= -MU_SLACK && mu <= 1 + MU_SLACK) return 'slide';
      this.unpin(id, mu > 1 ? ON : OFF);
      return mu > 1 ? 'on' : 'off';
    }
    // repulsive kink (up > 0 > down) or a degenerate one: keep the side the argument now has
    const a = this.argAt(theta, id);
    const st = a > 0 || (a === 0 && up > 0) ? ON : OFF;
    this.setMask(id, st, st === ON ? 1 : 0);
    return st === ON ? 'on' : 'off';
  }

  describe(id: number, t: number, kind: KinkEvent['kind']): KinkEvent {
    const { j, e } = this.entryOf(id);
    return { t, node: e.node, neuron: e.neuron, component: e.comp, sample: j, kind };
  }
}


/**
 * Numerical confirmation of the structural degree (a 0-homogeneous factor such as a ratio of
 * parameters would pass homogeneityDegree without being constant): arg(u + 2v) = arg(u) + 2 arg(v)
 * at two random points, with the masks of the rows set to arbitrary weights.
 */
function isLinearKernel(pm: PatternModel, node: PatternModel['nodes'][number], X: Float64Array, n: number, D: number): boolean {
  const rows = augmentedRows(pm, X, n);
  const R = pm.rowLength;
  for (let j = 0; j < n; j++) for (let q = pm.dIn; q < R; q++) rows[j * R + q] = 0.25 + 0.5 * (((j * 7 + q * 3) % 11) / 11);
  const u = new Float64Array(D), v = new Float64Array(D), w = new Float64Array(D);
  for (let q = 0; q < D; q++) { u[q] = Math.sin(1.3 * q + 0.7); v[q] = Math.cos(2.1 * q + 0.2); w[q] = u[q] + 2 * v[q]; }
  const size = pm.H * n * node.size;
  const au = new Float64Array(size), av = new Float64Array(size), aw = new Float64Array(size);
  node.kernels.neuronOutputs(u, rows, n, au);
  node.kernels.neuronOutputs(v, rows, n, av);
  node.kernels.neuronOutputs(w, rows, n, aw);
  for (let k = 0; k < size; k++) {
    const want = au[k] + 2 * av[k];
    if (!(Math.abs(aw[k] - want) <= 1e-12 * (Math.abs(au[k]) + 2 * Math.abs(av[k]) + 1e-300))) return false;
  }
  return true;
}

export interface ReluFlowStats {
  kinks: KinkEvent[];
  segments: number;
}

/**
 * Solve the ReLU gradient flow from θ(0) to tEnd. Accepts solveFlow's options (dopri5 only:
 * the pattern-frozen pieces are smooth, so the adaptive method is the right one); tEval, events,
 * untilGradNorm and maxSteps behave as in solveFlow. The trajectory's stats count the kinks;
 * `kinkEvents` lists them.
 */
export interface ReluFlowOptions extends FlowOptions {
  /**
   * Step each frozen-pattern piece with the L-stable Rosenbrock pair (ode/rosenbrock23.ts, its
   * Jacobian by forward differences of the Filippov field) instead of dopri5: for the slow
   * relaxation into a minimum, where dopri5's step is held at its stability limit.
   */
  stiff?: boolean;
  /**
   * Called with every accepted step's end state (a monitor; the state must not be kept or
   * changed). Returning true ends the flow there, with status 'stopped' (a terminating callback).
   */
  onStep?: (t: number, y: Float64Array) => boolean | void;
}

/** Immediate re-pins of a released sliding kink (no advance in t) before it is left on its side. */
const TANGENTIAL_EXIT_TURNS = 16;

export function solveReluFlow(p: Problem, opts: ReluFlowOptions): Trajectory & { kinkEvents: KinkEvent[]; pinnedAtEnd: PinnedKink[] } {
  const method = flowMethod(opts);
  if (method !== 'dopri5') throw new GradflowError(`flow: a ReLU model is integrated event by event with dopri5 between kinks; --method ${method} is not available for it`);
  if (opts.dt !== undefined) throw new GradflowError('flow: a fixed step (--dt) is not available for ReLU models (the kink events need adaptive steps)');
  const tEnd = opts.tEnd;
  const y0 = Float64Array.from(opts.theta0 ?? p.theta0);
  const D = y0.length;
  const rtol = opts.rtol ?? 1e-10;
  const atol = opts.atol ?? rtol * 1e-3 * stateScale(y0);
  const maxSteps = opts.maxSteps ?? 1e6;
  const sys = new ReluSystem(p);
  const kinks: KinkEvent[] = [];
  sys.syncMasks(y0);
  // arguments exactly 0 at the start (zero inputs, zero biases) are settled like crossings
  sys.allArgs(y0);
  for (let id = 0; id < sys.status.length; id++) if (sys.argValue(id) === 0) {
    const kind = sys.settle(y0, id);
    if (kind === 'slide') kinks.push(sys.describe(id, 0, kind));
  }

  const tOut: number[] = [];
  const yOut: Float64Array[] = [];
  // dense: false keeps no continuous extension (long runs): tEval points are read off the current step
  const keepDense = opts.dense !== false;
  const dense = keepDense ? new DenseOutput(0, y0.slice()) : null;
  const tEval = opts.tEval;
  let kEval = 0;
  let current: { interp: Interpolant; tA: number } | null = null;
  const storeUpTo = (tMax: number, yEnd?: Float64Array): void => {
    if (!tEval) return;
    while (kEval < tEval.length && tEval[kEval] <= tMax) {
      const te = tEval[kEval];
      tOut.push(te);
      yOut.push(dense ? dense.at(te) : te === tMax && yEnd ? yEnd.slice() : current && te >= current.tA ? at2(current.interp, te, D) : y0.slice());
      kEval++;
    }
  };
  if (tEval) {
    for (const te of tEval) if (!(Number.isFinite(te) && te >= 0 && te <= tEnd)) throw new GradflowError(`flow: tEval time ${te} is outside [0, ${tEnd}]`);
    storeUpTo(0);
  } else {
    tOut.push(0);
    yOut.push(y0.slice());
  }
  const userEvents = opts.events ?? [];
  const hits: { name: string; t: number; state: Float64Array }[] = [];
  let gPrev = userEvents.map((e) => e.g(0, y0));

  // Per-component absolute tolerance, floored at rtol·1e-3 of the component's own unit's size and
  // refreshed after every step. Without the floor, atol is set by the smallest entry of θ(0)
  // (≈ α), and a unit that has grown many orders above it can carry a component whose computed
  // field is round-off: at α = 1e-40 (default clusters, seed 4) units 3–5 reach 5e-9 with b still
  // ≈ 1e-40 (its field a·Σ_j(f_j − y_j)/n is ~0 since Σ y_j = 0), but each f_j − y_j rounds to
  // eps·|y_j|, so ḃ carries noise ~2e-16·|a| against a tolerance of 1e-10·|b| ≈ 1e-50 — dopri5
  // halved its step to underflow at t = 477.95. The field of any component of unit i is a
  // product with unit i's other entries, so its round-off is ~eps·‖θ_i‖; a tolerance of
  // rtol·1e-3·‖θ_i‖ lies above it for any rtol ≥ 1e-13 and leaves dormant units (every entry
  // small) at their own relative accuracy. Only for templates with neurons (H > 1): a deep net's
  // layout is one block (H = 1), where the floor would be the whole state's scale.
  const atolVec = new Float64Array(D).fill(atol);
  const { H: nUnits, P: perUnit } = p.layout;
  const unitFloor = rtol * 1e-3;
  const refreshAtol = (yy: Float64Array): void => {
    if (nUnits < 2 || nUnits * perUnit !== D) return;
    for (let i = 0; i < nUnits; i++) {
      let m = 0;
      for (let q = i * perUnit; q < (i + 1) * perUnit; q++) m = Math.max(m, Math.abs(yy[q]));
      const a = Math.max(atol, unitFloor * m);
      for (let q = i * perUnit; q < (i + 1) * perUnit; q++) atolVec[q] = a;
    }
  };
  const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => { sys.rhs(y, dy); };
  // forward differences of the field the stepper integrates (masks frozen: a polynomial field,
  // smooth across the kinks; the pinned weights re-solved at each point, as in every evaluation)
  const jyp = new Float64Array(D), jfp = new Float64Array(D);
  const jac = (_t: number, y: Float64Array, fy: Float64Array, J: Float64Array): void => {
    let scale = 0;
    for (let q = 0; q < D; q++) scale = Math.max(scale, Math.abs(y[q]));
    jyp.set(y);
    for (let k = 0; k < D; k++) {
      const h = Math.sqrt(Number.EPSILON) * Math.max(Math.abs(y[k]), 1e-3 * scale, 1e-300);
      jyp[k] = y[k] + h;
      const hk = jyp[k] - y[k];
      sys.rhs(jyp, jfp);
      jyp[k] = y[k];
      for (let q = 0; q < D; q++) J[q * D + k] = (jfp[q] - fy[q]) / hk;
    }
    // leave the pinned weights at y's (the stepper's next evaluations start from them)
    sys.rhs(y, jfp);
  };
  let t = 0;
  let y: Float64Array = y0.slice();
  let steps = 0, rejected = 0, segments = 0;
  let status = 'done';
  const viol: number[] = [];
  const yTmp = new Float64Array(D);
  let stalled = 0; // consecutive pattern switches with no advance in time
  outer: while (t < tEnd) {
    segments++;
    const f0 = new Float64Array(D);
    rhs(t, y, f0);
    refreshAtol(y);
    const stepper = opts.stiff ? rosenbrock23Stepper(rhs, jac, t, y, f0, tEnd, { rtol, atol: atolVec, hmax: tEnd - t }) : dopri5Stepper(rhs, t, y, f0, tEnd, { rtol, atol: atolVec, hmax: tEnd - t });
    const t0seg = t + 1e-12 * Math.max(1, Math.abs(t));
    let restart: { t: number; y: Float64Array } | null = null;
    while (!restart) {
      if (steps >= maxSteps) throw new GradflowError(`flow (relu events): exceeded maxSteps = ${maxSteps} at t = ${t} of [0, ${tEnd}]; raise maxSteps or loosen rtol`);
      const step = stepper.step();
      steps++;
      for (let q = 0; q < D; q++) if (!Number.isFinite(step.yB[q])) throw new DivergenceError(`flow (relu events): state became non-finite at t = ${step.tB}`);
      let tB = step.tB;
      let yB = step.yB;
      // the step's last stage was evaluated at yB: the weights in the rows are yB's
      sys.violations(yB, viol, true);
      if (viol.length) {
        // earliest switch inside the step, by bisection on "the frozen pattern is violated"
        const at = (s: number): Float64Array => { step.interp(s, yTmp); return yTmp; };
        let lo = step.tA, hi = step.tB;
        const tol = 4 * Number.EPSILON * Math.max(1, Math.abs(hi));
        while (hi - lo > tol) {
          const mid = 0.5 * (lo + hi);
          if (mid <= lo || mid >= hi) break;
          sys.violations(at(mid), viol);
          if (viol.length) hi = mid;
          else lo = mid;
        }
        tB = hi;
        yB = hi === step.tB ? step.yB.slice() : at(hi).slice();
        sys.violations(yB, viol);
        restart = { t: tB, y: yB };
      }
      if (!restart && sys.grace.size) {
        for (const [id] of sys.grace) {
          const a = sys.argAt(yB, id), st = sys.status[id];
          if ((st === ON && a > 0) || (st === OFF && a < 0) || st === PINNED) sys.grace.delete(id);
        }
      }
      dense?.append(step, stepper.codec, tB);
      current = { interp: step.interp, tA: step.tA };
      // user events on the accepted piece
      for (let k = 0; k < userEvents.length; k++) {
        const ev = userEvents[k];
        const gA = gPrev[k], gB = ev.g(tB, yB);
        gPrev[k] = gB;
        const dir = ev.direction ?? 0;
        const upX = gA < 0 && gB >= 0, downX = gA > 0 && gB <= 0;
        if (!((upX && dir !== -1) || (downX && dir !== 1))) continue;
        const te = brentRoot((s) => (s === tB ? gB : ev.g(s, at2(step.interp, s, D))), step.tA, tB, gA, gB, 4 * Number.EPSILON * Math.max(1, tB));
        const ye = te === tB ? yB.slice() : at2(step.interp, te, D);
        hits.push({ name: ev.name, t: te, state: ye });
        if (ev.terminal) {
          dense?.truncate(te, ye.slice());
          storeUpTo(te, ye);
          if (!tEval) { tOut.push(te); yOut.push(ye); }
          t = te; y = ye; status = 'event';
          break outer;
        }
      }
      storeUpTo(tB, yB);
      if (!tEval && opts.saveSteps !== false) { tOut.push(tB); yOut.push(yB.slice()); }
      t = tB;
      y = yB;
      refreshAtol(y);
      if (opts.onStep?.(t, y) === true) { status = 'stopped'; break outer; }
      if (opts.untilGradNorm !== undefined) {
        // at the step's end the stepper's own slope is the field (FSAL); elsewhere evaluate it
        let F = step.fB;
        if (yB !== step.yB) { F = new Float64Array(D); rhs(t, y, F); }
        let m = 0;
        for (let q = 0; q < D; q++) m = Math.max(m, Math.abs(F[q]));
        if (m < opts.untilGradNorm) { status = 'stopped'; break outer; }
      }
      opts.onProgress?.(tEnd > 0 ? t / tEnd : 1);
      if (t >= tEnd) break;
    }
    rejected += stepper.rejected;
    if (restart) {
      // a switch that re-flags at once, without end, would spin here without taking a step
      stalled = restart.t <= t0seg ? stalled + 1 : 0;
      if (stalled > 2000) throw new GradflowError(`flow (relu events): the activation pattern keeps switching at t = ${t} without the flow advancing (${stalled} switches); a kink the event logic cannot settle`);
      for (const id of [...viol]) {
        if (sys.pinned.includes(id)) {
          const mi = sys.maskIndex(id);
          const mu = sys.rows[mi];
          const side = mu > 1 ? ON : OFF;
          sys.unpin(id, side);
          // the kink leaves the data point on the side μ pointed to; check it really does
          let kind = sys.settle(y, id);
          if (kind === 'slide' && stalled > TANGENTIAL_EXIT_TURNS) {
            // a sliding mode leaving its kink tangentially (μ at 0 or 1 to round-off, coupled to
            // the other pinned kinks): settle re-pins it and the next step's μ releases it again,
            // at the same t. Leave it on μ's side, its argument's round-off excused
            sys.unpin(id, side);
            const a = sys.argAt(y, id);
            if ((side === ON && a < 0) || (side === OFF && a > 0)) sys.grace.set(id, Math.abs(a));
            kind = side === ON ? 'on' : 'off';
          }
          kinks.push(sys.describe(id, t, kind === 'slide' ? 'slide' : 'release'));
        } else {
          const kind = sys.settle(y, id);
          kinks.push(sys.describe(id, t, kind));
          const a = sys.argAt(y, id);
          if ((kind === 'on' && a < 0) || (kind === 'off' && a > 0)) sys.grace.set(id, Math.abs(a));
          else sys.grace.delete(id);
        }
      }
    }
  }
  opts.onProgress?.(1);
  if (!tEval && opts.saveSteps === false && tOut[tOut.length - 1] !== t) { tOut.push(t); yOut.push(y.slice()); }
  const tr = buildTrajectory(p, 'flow:relu-events', tOut, yOut, {
    events: hits,
    ...(dense ? { dense: (s: number) => dense.at(s) } : {}),
    stats: { steps, rejected, fevals: sys.fevals, rtol, atol, tEnd: t, kinks: kinks.length, slides: kinks.filter((k) => k.kind === 'slide').length, segments },
    status,
  });
  return { ...tr, kinkEvents: kinks, pinnedAtEnd: sys.pinned.map((id) => pinnedOf(sys, id)) };
}

/** A kink pinned at a data point (sliding), with its Filippov weight μ. */
export interface PinnedKink { node: number; neuron: number; component: number; sample: number; mu: number }

function pinnedOf(sys: ReluSystem, id: number): PinnedKink {
  const { j, e } = sys.entryOf(id);
  return { node: e.node, neuron: e.neuron, component: e.comp, sample: j, mu: sys.rows[sys.maskIndex(id)] };
}

/**
 * The Filippov field −∇L at θ with the given kinks pinned (each re-settled at θ: it stays pinned
 * only if both one-sided fields still point into it), every other mask from the sign of its
 * argument. Returns F, ‖F‖∞ and whether every kink given stayed pinned — a stationarity check
 * of a point found by other means (a constrained Newton step) against the flow's own rules.
 */
export function reluFieldAt(p: Problem, theta: Float64Array, pinned: readonly PinnedKink[]): { F: Float64Array; norm: number; stillPinned: boolean } {
  const sys = new ReluSystem(p);
  sys.syncMasks(theta);
  const E = sys.pm.perSample;
  let stillPinned = true;
  for (const k of pinned) {
    const e = sys.entries.findIndex((x) => x.node === k.node && x.neuron === k.neuron && x.comp === k.component);
    if (sys.settle(theta, k.sample * E + e) !== 'slide') stillPinned = false;
  }
  const F = new Float64Array(theta.length);
  sys.rhs(theta, F);
  let norm = 0;
  for (let q = 0; q < F.length; q++) norm = Math.max(norm, Math.abs(F[q]));
  return { F, norm, stillPinned };
}

function at2(interp: Interpolant, s: number, D: number): Float64Array {
  const out = new Float64Array(D);
  interp(s, out);
  return out;
}
