/**
 * AGF's cost minimisation: a critical point of L over the active neurons (the fit is
 * instantaneous on the slow time scale, so only its end point matters — no flow to t = 1e12),
 * found by Gauss–Newton for neurons of scalar parameters and by L-BFGS (+ Newton) otherwise. A
 * neuron the fit drives to the origin has collapsed: its best contribution along the directions it
 * can reach is zero (for a balanced diagonal neuron, a sign change, which gradient dynamics cannot
 * make through u = v = 0). Collapses are found scale-free (collapsedNeuron) and removed in
 * Lawson–Hanson order (fitWithCollapses).
 */
import type { Problem } from '../../problem.ts';
import { lbfgs } from '../lbfgs.ts';
import { lsqPivoted, lsqPivotedBlocks } from '../lsq.ts';
import { scalarParams } from '../../compile/layout.ts';
import { solveFlowRkc } from '../rkc-flow.ts';
import { solveFlowRkcAdaptive } from '../rkc-adaptive.ts';
import { conservedOf, rebalanceNeuron } from './rescaling.ts';
import { formatNumber } from '../../report/table.ts';
import { maskedForward, maskedNeuronOutputs, neuronJacobianColumn, neuronOutput, type QuadForms } from './quadratic.ts';

export interface CostOptions {
  /** L-BFGS stops at ‖∇L‖ ≤ gtol. */
  gtol: number;
  collapseTol: number;
  initialLoss: number;
  /** Degree of homogeneity of a neuron's output in its parameters. */
  kappa: number;
  /** Polish with Newton steps (κ = 2: the next plateau's rates inherit the fit's accuracy). */
  newton: boolean;
  /**
   * Fit by Gauss–Newton from the warm start (L-BFGS + Newton only if it stalls, then Gauss–Newton
   * steps again), for neurons of scalar parameters with outputs quadratic in them: each spans a
   * fixed function, so the fit is a least-squares problem in disguise. Not for linear networks:
   * their curvature term Σ r ∇²f does not vanish at the fit, and Gauss–Newton alone stalls.
   */
  gaussNewton?: boolean;
  maxIter: number;
  /**
   * The neurons' quadratic forms (quadratic.ts; κ = 2 polynomial, MSE): Gauss–Newton, bestSize and
   * the collapse test then evaluate only the active neurons, not a kernel pass over all H.
   */
  quad?: QuadForms | null;
  /**
   * Rescaling symmetries of a neuron (rescaling.ts): after each fit every active neuron is moved
   * back along its orbits to the conserved values it had when the fit began, as the flow keeps
   * them. Gauss–Newton's basic solution moves one parameter of a neuron (a diagonal neuron's u or
   * v alone: exact in one step, the output being bilinear) and so leaves it unbalanced; f and L do
   * not see that, but the saddle's Hessian does — unbalanced, its sharpness is overstated, and
   * agf --for gd called saddles unstable that descent passes.
   */
  balance?: number[][];
  /** Relative loss decrease over 10 iterations below which L-BFGS stops (default 1e-13). */
  ftol?: number;
  /**
   * κ > 2: start the fit with the masked gradient flow itself for `relax` flow-time units (RKC),
   * then L-BFGS (maxIter > 0), then Newton steps (Hessian by differences of ∇L, at most
   * `newtonIter`, only while the active block has ≤ newtonMaxParams parameters), then move each neuron back along its rescaling orbits (`syms`, from
   * rescaling.ts) to the conserved values it had when the fit began. AGF's fit is the limit of
   * that flow: its fast transient decides the basin (a quasi-Newton step from the saddle can
   * land in another), and the flow keeps each neuron's invariants, which L-BFGS does not.
   */
  maskedFlow?: {
    relax: number; syms: number[][]; newtonIter: number; newtonMaxParams: number; onReject?: () => void;
    /** the masked flow by adaptive RKC at this rtol, stopped at ‖∇L‖ ≤ gtol (else the fixed step 0.05) */
    rtol?: number;
  };
}

/**
 * Puts neuron i at the best size along its direction, given the others (κ-homogeneous:
 * f_i(sθ̄) = s^κ f_i(θ̄), so s^κ = E⟨f_i, r_{−i}⟩ / E‖f_i‖²); a neuron entering at norm 1 would
 * otherwise have the first quasi-Newton step throw it across the origin, a saddle of L.
 */
export function bestSize(p: Problem, theta: Float64Array, mask: Uint8Array, i: number, kappa: number, quad?: QuadForms | null): void {
  const { X, Y, n } = p.data;
  const { H, P, c } = p.layout;
  const others = mask.slice();
  others[i] = 0;
  const f = new Float64Array(n * c);
  const fi0 = new Float64Array(n * c);
  if (quad) {
    maskedForward(quad, theta, others, f);
    neuronOutput(quad, theta, i, fi0);
  } else {
    p.kernels.forward(theta, X, n, f, others);
    const outs = new Float64Array(H * n * c);
    p.kernels.neuronOutputs(theta, X, n, outs);
    fi0.set(outs.subarray(i * n * c, (i + 1) * n * c));
  }
  let num = 0, den = 0;
  for (let q = 0; q < n * c; q++) {
    const fi = fi0[q];
    num += fi * (Y[q] - f[q]);
    den += fi * fi;
  }
  if (!(num > 0 && den > 0)) return;
  const s = Math.pow(num / den, 1 / kappa);
  for (let a = 0; a < P; a++) theta[i * P + a] *= s;
}

/** A fit's outcome: its loss, the loss-and-gradient evaluations it took, and ‖∇L‖ over the active parameters where it stopped. */
export interface FitResult {
  loss: number;
  evaluations: number;
  gradNorm: number;
}

export function fitActive(p: Problem, theta: Float64Array, mask: Uint8Array, o: CostOptions): FitResult {
  const syms = o.balance?.length ? o.balance : null;
  const conserved = new Map<number, number[]>();
  if (syms) mask.forEach((on, i) => { if (on) conserved.set(i, conservedOf(p, theta, i, syms)); });
  const r = fitActiveRaw(p, theta, mask, o);
  if (syms) for (const [i, c] of conserved) if (mask[i]) rebalanceNeuron(p, theta, i, syms, c);
  return { ...r, gradNorm: activeGradNorm(p, theta, mask) };
}

function activeGradNorm(p: Problem, theta: Float64Array, mask: Uint8Array): number {
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const { H, P } = p.layout;
  const g = new Float64Array(H * P);
  kb.lossGrad(theta, g, mask);
  let s = 0;
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) s += g[i * P + a] ** 2;
  return Math.sqrt(s);
}

function fitActiveRaw(p: Problem, theta: Float64Array, mask: Uint8Array, o: CostOptions): { loss: number; evaluations: number } {
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const { H, P } = p.layout;
  // L-BFGS runs on the active coordinates only: its vector work then scales with the active set, not with H
  const idx: number[] = [];
  let smallest = Infinity;
  for (let i = 0; i < H; i++) {
    if (!mask[i]) continue;
    let s = 0;
    for (let a = 0; a < P; a++) { s += theta[i * P + a] ** 2; idx.push(i * P + a); }
    smallest = Math.min(smallest, Math.sqrt(s));
  }
  const full = theta.slice();
  const gFull = new Float64Array(theta.length);
  const fg = (x: Float64Array, g: Float64Array): number => {
    for (let k = 0; k < idx.length; k++) full[idx[k]] = x[k];
    const L = kb.lossGrad(full, gFull, mask);
    for (let k = 0; k < idx.length; k++) g[k] = gFull[idx[k]];
    return L;
  };
  /** L-BFGS over the active coordinates from theta, written back into theta. */
  const runLbfgs = (): ReturnType<typeof lbfgs> => {
    const res = lbfgs(fg, Float64Array.from(idx, (q) => theta[q]), { gtol: o.gtol, ftol: o.ftol ?? 1e-13, maxIter: o.maxIter, memory: 20, firstStep: 0.1 * smallest });
    for (let k = 0; k < idx.length; k++) theta[idx[k]] = res.x[k];
    return res;
  };
  let evaluations = 0;
  let conserved: number[][] = [];
  if (o.maskedFlow) {
    conserved = Array.from({ length: H }, (_, i) => (mask[i] ? conservedOf(p, theta, i, o.maskedFlow!.syms) : []));
    if (o.maskedFlow.relax > 0) {
      const start = theta.slice();
      for (let i = 0; i < H; i++) if (!mask[i]) start.fill(0, i * P, (i + 1) * P);
      if (o.maskedFlow.rtol !== undefined) {
        const flow = solveFlowRkcAdaptive(p, { tEnd: o.maskedFlow.relax, rtol: o.maskedFlow.rtol, gtol: o.gtol, mask, theta0: start });
        for (const q of idx) theta[q] = flow.theta[q];
        evaluations += flow.gradEvals;
      } else {
        const flow = solveFlowRkc(p, { tEnd: o.maskedFlow.relax, dt: 0.05, recheck: 2, mask, theta0: start, finalOnly: true });
        const end = flow.states[0];
        for (const q of idx) theta[q] = end[q];
        evaluations += Number(flow.stats.gradEvals ?? 0);
      }
    }
  }
  if (o.gaussNewton) {
    // polynomial κ = 2: Gauss–Newton from the warm start converges in a few steps; L-BFGS only if it stalls
    const start = theta.slice();
    const gn = o.quad ? gaussNewtonQuad(p, o.quad, theta, mask, 30, o.gtol) : gaussNewton(p, theta, mask, 30, o.gtol);
    if (gn.converged) return { loss: gn.loss, evaluations: gn.evaluations };
    theta.set(start);
    evaluations += gn.evaluations;
  }
  if (o.maskedFlow) {
    // the transient chose the basin; L-BFGS (optional) and Newton converge to its critical point,
    // which L-BFGS alone approaches too slowly (Hessian condition ~1e7 on the modular model)
    let loss = kb.loss(theta, mask);
    evaluations++;
    const afterFlow = theta.slice(), flowLoss = loss;
    if (o.maxIter > 0) {
      const res = runLbfgs();
      evaluations += res.evaluations;
      loss = res.f;
    }
    if (o.maskedFlow.newtonIter > 0 && activeGradNorm(p, theta, mask) > o.gtol) {
      const polish = newtonPolish(p, theta, mask, o.gtol, o.maskedFlow.newtonIter, o.maskedFlow.newtonMaxParams);
      evaluations += polish.evaluations;
      loss = polish.loss;
    }
    // Where L has no critical point in reach (modular: neurons cancelling each other along a
    // non-compact valley), L-BFGS and Newton follow the valley to norms the flow does not reach in
    // a plateau — and to Hessian eigenvalues (1e9 and more) that make the next fit's masked flow
    // intractable. Such a polish is dropped: the fit stays where the masked flow ended.
    if (beyondFlow(theta, afterFlow, mask, P)) {
      theta.set(afterFlow);
      loss = flowLoss;
      o.maskedFlow.onReject?.();
    }
    for (let i = 0; i < H; i++) if (mask[i]) rebalanceNeuron(p, theta, i, o.maskedFlow.syms, conserved[i]);
    return { loss, evaluations };
  }
  const res = runLbfgs();
  evaluations += res.evaluations;
  let loss = res.f;
  if (o.newton && res.gradNorm > o.gtol) {
    const polish = newtonPolish(p, theta, mask, o.gtol);
    evaluations += polish.evaluations;
    loss = polish.loss;
  }
  if (!o.gaussNewton) return { loss, evaluations };
  const gn = o.quad ? gaussNewtonQuad(p, o.quad, theta, mask, 3, 0, 3) : gaussNewton(p, theta, mask, 3, 0, 3);
  return { loss: gn.loss, evaluations: evaluations + gn.evaluations };
}

/** A polished fit that moved some active neuron to more than 4× its norm at the masked flow's end (and beyond norm 1). */
function beyondFlow(theta: Float64Array, afterFlow: Float64Array, mask: Uint8Array, P: number): boolean {
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    let a = 0, b = 0;
    for (let q = i * P; q < (i + 1) * P; q++) { a += theta[q] ** 2; b += afterFlow[q] ** 2; }
    if (Math.sqrt(a) > 4 * Math.max(Math.sqrt(b), 1)) return true;
  }
  return false;
}

/**
 * Gauss–Newton on the active parameters: the step solves min ‖r − Jδ‖ by pivoted QR (rank-
 * revealing at 1e-9 relative: rescaling symmetries make J rank-deficient; the basic solution is
 * kept). J: its columns by central differences of the per-neuron outputs, all neurons at once —
 * exact up to round-off, a neuron's output being quadratic in its parameters (polynomial κ = 2). Far from the fit a step is halved until the
 * loss falls; near it (the loss flat to round-off) a step is kept only if ‖∇L‖ falls. The fit's
 * residual is then a least-squares residual to QR accuracy, not to the √ε·cond of a loss-based
 * minimiser — and a late, slow growth rate is a small correlation of that residual.
 * Stops after maxIter steps, when no step helps, or `polish` steps after ‖∇L‖ ≤ gtol.
 */
function gaussNewton(p: Problem, theta: Float64Array, mask: Uint8Array, maxIter: number, gtol: number, polish = 2): { loss: number; evaluations: number; converged: boolean } {
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const { H, P, c } = p.layout;
  const idx: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
  const N = idx.length, M = n * c;
  const g = new Float64Array(H * P), gt = new Float64Array(H * P);
  let evaluations = 1;
  let L = kb.lossGrad(theta, g, mask);
  if (N === 0 || N > 400) return { loss: L, evaluations, converged: false };
  const fwd = new Float64Array(M), outP = new Float64Array(H * M), outM = new Float64Array(H * M), step = new Float64Array(H);
  const trial = new Float64Array(theta.length);
  const gnorm = (v: Float64Array): number => { let s = 0; for (const q of idx) s += v[q] * v[q]; return Math.sqrt(s); };
  let gn = gnorm(g);
  let extra = 0;
  for (let it = 0; it < maxIter && extra < polish; it++) {
    if (gn <= gtol) extra++;
    p.kernels.forward(theta, X, n, fwd, mask);
    const r = Float64Array.from(fwd, (f, q) => Y[q] - f);
    for (let i = 0; i < H; i++) {
      let h = 0;
      if (mask[i]) for (let a = 0; a < P; a++) h = Math.max(h, Math.abs(theta[i * P + a]));
      step[i] = h > 0 ? h : 1;
    }
    // J's columns for every active neuron at once: neuron i's output depends on θ_i alone, so one
    // pair of neuronOutputs calls per parameter coordinate a, each moving coordinate a of every
    // active neuron, gives all columns (i, a) — 2P kernel calls instead of n·c vjps or 2N forwards.
    // A κ = 2 polynomial neuron's output is a quadratic form in θ_i, so the central difference is
    // exact at any step: h_i = max_a |θ_ia| keeps the round-off at ε relative.
    const cols: Float64Array[] = idx.map(() => new Float64Array(M));
    for (let a = 0; a < P; a++) {
      trial.set(theta);
      for (let i = 0; i < H; i++) if (mask[i]) trial[i * P + a] = theta[i * P + a] + step[i];
      p.kernels.neuronOutputs(trial, X, n, outP);
      for (let i = 0; i < H; i++) if (mask[i]) trial[i * P + a] = theta[i * P + a] - step[i];
      p.kernels.neuronOutputs(trial, X, n, outM);
      idx.forEach((q, k) => {
        if (q % P !== a) return;
        const i = (q - a) / P, h = step[i], col = cols[k], o = i * M;
        for (let m = 0; m < M; m++) col[m] = (outP[o + m] - outM[o + m]) / (2 * h);
      });
    }
    evaluations += P; // 2P output passes ≈ P loss-and-gradient passes
    const { x: delta } = lsqPivoted(cols, r, 1e-9);
    let t = 1, ok = false, Lt = L, gt1 = gn;
    for (let ls = 0; ls < 12 && !ok; ls++, t *= 0.5) {
      trial.set(theta);
      idx.forEach((q, k) => { trial[q] += t * delta[k]; });
      Lt = kb.lossGrad(trial, gt, mask);
      evaluations++;
      gt1 = gnorm(gt);
      const flat = Math.abs(Lt - L) <= 1e-12 * Math.abs(L);
      ok = flat ? gt1 < gn : Lt < L;
    }
    if (!ok) break;
    theta.set(trial);
    L = Lt;
    gn = gt1;
  }
  return { loss: L, evaluations, converged: gn <= gtol };
}

/**
 * gaussNewton on the quadratic-form table (quadratic.ts): the same steps, line search and stopping
 * rules, with the outputs, the loss (1/2n)Σ‖r‖², its gradient −Jᵀr/n and J itself evaluated exactly
 * over the active neurons only — no kernel pass over the H − A others. J at an accepted trial point
 * is the next step's J.
 */
function gaussNewtonQuad(p: Problem, Q: QuadForms, theta: Float64Array, mask: Uint8Array, maxIter: number, gtol: number, polish = 2): { loss: number; evaluations: number; converged: boolean } {
  const { Y, n } = p.data;
  const { H, P } = p.layout;
  const idx: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
  const N = idx.length, M = Q.nc;
  /** Residual, J's columns, loss and ‖∇L‖ at th. */
  const at = (th: Float64Array): { r: Float64Array; cols: Float64Array[]; L: number; gn: number } => {
    const f = new Float64Array(M);
    maskedForward(Q, th, mask, f);
    const r = Float64Array.from(f, (v, q) => Y[q] - v);
    let L = 0;
    for (let q = 0; q < M; q++) L += r[q] * r[q];
    const cols = idx.map((q) => {
      const col = new Float64Array(M);
      neuronJacobianColumn(Q, th, Math.floor(q / P), q % P, col);
      return col;
    });
    let g2 = 0;
    for (const col of cols) {
      let s = 0;
      for (let m = 0; m < M; m++) s += col[m] * r[m];
      g2 += (s / n) ** 2;
    }
    return { r, cols, L: L / (2 * n), gn: Math.sqrt(g2) };
  };
  let cur = at(theta);
  let evaluations = 1;
  if (N === 0 || N > 400) return { loss: cur.L, evaluations, converged: false };
  const trial = new Float64Array(theta.length);
  let extra = 0;
  for (let it = 0; it < maxIter && extra < polish; it++) {
    if (cur.gn <= gtol) {
      // polish only above the gradient's round-off floor (ε·Σ_k ‖J_k‖‖r‖/n): below it a step
      // cannot lower ‖∇L‖ and the line search would spend its 12 trials finding that out
      let floor = 0, rn = 0;
      for (let m = 0; m < M; m++) rn += cur.r[m] * cur.r[m];
      for (const col of cur.cols) { let s = 0; for (let m = 0; m < M; m++) s += col[m] * col[m]; floor += Math.sqrt(s); }
      if (cur.gn <= (64 * Number.EPSILON * floor * Math.sqrt(rn)) / n) break;
      extra++;
    }
    const { x: delta } = lsqPivotedBlocks(cur.cols, P, cur.r, 1e-9);
    let t = 1, ok = false, next = cur;
    for (let ls = 0; ls < 12 && !ok; ls++, t *= 0.5) {
      trial.set(theta);
      idx.forEach((q, k) => { trial[q] += t * delta[k]; });
      next = at(trial);
      evaluations++;
      const flat = Math.abs(next.L - cur.L) <= 1e-12 * Math.abs(cur.L);
      ok = flat ? next.gn < cur.gn : next.L < cur.L;
    }
    if (!ok) break;
    theta.set(trial);
    cur = next;
  }
  return { loss: cur.L, evaluations, converged: cur.gn <= gtol };
}

/**
 * Newton steps on the active parameters (Hessian by central differences of ∇L, pseudo-inverse
 * over its non-degenerate eigen-directions: rescaling symmetries make it singular at a minimum),
 * with backtracking; the fit's residual then has round-off accuracy, which the next plateau's
 * growth rates (and so every later jump time) inherit.
 */
function newtonPolish(p: Problem, theta: Float64Array, mask: Uint8Array, gtol: number, maxIter = 4, maxParams = 400): { loss: number; evaluations: number } {
  const { X, Y, n } = p.data;
  const kb = p.kernels.bind(X, Y, n);
  const { H, P } = p.layout;
  const idx: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
  const N = idx.length;
  const g = new Float64Array(H * P), gp = new Float64Array(H * P), gm = new Float64Array(H * P);
  const trial = new Float64Array(theta.length);
  let evaluations = 0;
  let L = kb.lossGrad(theta, g, mask);
  evaluations++;
  if (N > maxParams) return { loss: L, evaluations };
  const Hm = new Float64Array(N * N);
  for (let it = 0; it < maxIter; it++) {
    let gn = 0;
    for (const q of idx) gn += g[q] * g[q];
    if (Math.sqrt(gn) <= 1e-3 * gtol) break;
    for (let c2 = 0; c2 < N; c2++) {
      const q = idx[c2];
      const h = 1e-5 * Math.max(1, Math.abs(theta[q]));
      const keep = theta[q];
      theta[q] = keep + h;
      kb.lossGrad(theta, gp, mask);
      theta[q] = keep - h;
      kb.lossGrad(theta, gm, mask);
      theta[q] = keep;
      evaluations += 2;
      for (let r2 = 0; r2 < N; r2++) Hm[r2 * N + c2] = (gp[idx[r2]] - gm[idx[r2]]) / (2 * h);
    }
    for (let a = 0; a < N; a++) for (let b = a + 1; b < N; b++) {
      const v = 0.5 * (Hm[a * N + b] + Hm[b * N + a]);
      Hm[a * N + b] = v;
      Hm[b * N + a] = v;
    }
    const step = regularisedSolve(Hm, N, idx.map((q) => -g[q]));
    if (!step) break;
    // near the minimum the loss is flat to round-off, so a step is judged by the gradient there
    let gn0 = 0;
    for (const q of idx) gn0 += g[q] * g[q];
    let t = 1, accepted = false;
    for (let ls = 0; ls < 12; ls++) {
      trial.set(theta);
      idx.forEach((q, r2) => { trial[q] += t * step[r2]; });
      const Lt = kb.lossGrad(trial, gp, mask);
      evaluations++;
      let gt = 0;
      for (const q of idx) gt += gp[q] * gp[q];
      if (Lt < L - 1e-13 * Math.abs(L) || (Lt <= L + 1e-13 * Math.abs(L) && gt < gn0)) { accepted = true; L = Lt; g.set(gp); break; }
      t *= 0.5;
    }
    if (!accepted) break;
    theta.set(trial);
  }
  return { loss: L, evaluations };
}

const scratchBuffers: Float64Array[] = [];
/** Reused buffer k of at least `length` entries (contents arbitrary): the collapse test's per-neuron outputs. */
function scratch(k: number, length: number): Float64Array {
  if (!(scratchBuffers[k]?.length >= length)) scratchBuffers[k] = new Float64Array(length);
  return scratchBuffers[k].subarray(0, length);
}

/** A collapse found by collapsedNeuron; for neurons with signed outputs, each neuron's coefficient on its reference output at the round's start (c0) and at its fit (c1). */
interface Collapse {
  neuron: number;
  at: number;
  c0?: Float64Array;
  c1?: Float64Array;
}

/**
 * The active neuron that collapsed in this fit (or −1), and where on the way from `before` (this
 * round's start) to `theta` (its fit) it did: one whose output is negligible; one whose best size
 * along its direction given the others is 0 (bestSize's s^κ ≤ 0: the fit stalled on a neuron still
 * shrinking toward the origin, as slowly as saddles make it); or — for neurons of scalar
 * parameters, whose output is a signed multiple of one function (diagonal: u·v·x_i) — one whose
 * coefficient on `ref` (its output when cost minimisation began) is negative: the flow can only
 * reach the other sign by shrinking to the α scale and regrowing (O(log 1/α) time). Of several,
 * the first whose coefficient, interpolated linearly in function space, reaches zero (the
 * Lawson–Hanson step of the sign-constrained least squares those neurons span); else the most
 * negligible.
 */
export function collapsedNeuron(p: Problem, ref: Float64Array, before: Float64Array, theta: Float64Array, mask: Uint8Array, o: CostOptions): Collapse {
  const { X, Y, n } = p.data;
  const { H, c } = p.layout;
  const signed = scalarParams(p.layout);
  const nc = n * c;
  // with the table only the active rows are written and read: reused buffers, not H·n·c zeros per call
  const outs = o.quad ? scratch(0, H * nc) : new Float64Array(H * nc), outs0 = o.quad ? scratch(1, H * nc) : new Float64Array(H * nc), fwd = new Float64Array(nc);
  if (o.quad) {
    maskedNeuronOutputs(o.quad, theta, mask, outs);
    maskedForward(o.quad, theta, mask, fwd);
    if (signed) maskedNeuronOutputs(o.quad, before, mask, outs0);
  } else {
    p.kernels.neuronOutputs(theta, X, n, outs);
    p.kernels.forward(theta, X, n, fwd, mask);
    if (signed) p.kernels.neuronOutputs(before, X, n, outs0);
  }
  const c0 = new Float64Array(H), c1 = new Float64Array(H);
  let best = -1, bestKey = Infinity, at = 1;
  for (let i = 0; i < H; i++) {
    if (!mask[i]) continue;
    let e = 0, rest = 0, r2 = 0;
    for (let q = 0; q < nc; q++) {
      const f = outs[i * nc + q], fr = ref[i * nc + q];
      e += f * f;
      rest += f * (Y[q] - fwd[q] + f); // n·E⟨f_i, r_{−i}⟩: the residual without neuron i
      r2 += fr * fr;
      c1[i] += f * fr;
      c0[i] += outs0[i * nc + q] * fr;
    }
    if (r2 > 0) { c0[i] /= r2; c1[i] /= r2; }
    // order: signed neurons by where they reach zero (a negligible or stalled one at the end, s = 1);
    // others, the most negligible first
    let key = Infinity, s = 1;
    if (signed && c1[i] < 0) key = s = c0[i] > 0 ? c0[i] / (c0[i] - c1[i]) : 0;
    else if (e / n <= o.collapseTol * 2 * o.initialLoss) key = (signed ? 1 : -2) + e / (2 * o.initialLoss * n);
    else if (rest <= 0) key = (signed ? 2 : -1) - rest / e;
    if (key < bestKey) { bestKey = key; best = i; at = s; }
  }
  return signed ? { neuron: best, at, c0, c1 } : { neuron: best, at };
}

/**
 * Where the next Lawson–Hanson round starts: the point at fraction `at` of the way from `before`
 * to `theta`, with the collapsed neuron removed. For signed neurons the way is straight in
 * function space (each coefficient interpolated, then realised along the neuron's own ray: f_i is
 * κ-homogeneous), so later crossings stay where the sign-constrained fit puts them; otherwise it
 * is straight in parameter space.
 */
function restartPoint(before: Float64Array, theta: Float64Array, mask: Uint8Array, col: Collapse, P: number, kappa: number): void {
  const { neuron, at, c0, c1 } = col;
  for (let j = 0; j < mask.length; j++) {
    if (!mask[j]) continue;
    const o = j * P;
    if (c0 && c1) {
      const cs = c0[j] + at * (c1[j] - c0[j]);
      const [from, cf] = c1[j] > 0 ? [theta, c1[j]] : [before, c0[j]];
      const k = cs > 0 && cf > 0 ? Math.pow(cs / cf, 1 / kappa) : 0;
      for (let a = 0; a < P; a++) before[o + a] = k * from[o + a];
    } else for (let a = 0; a < P; a++) before[o + a] += at * (theta[o + a] - before[o + a]);
  }
  before.fill(0, neuron * P, (neuron + 1) * P);
}

/**
 * (H + μI)⁻¹ b by Cholesky with the smallest μ (from 1e-12·max|H_kk|, ×100 per failure) that
 * makes the factorisation succeed: rescaling symmetries make H singular at a minimum, and the
 * gradient has no component along them, so a tiny μ only fixes the factorisation.
 */
function regularisedSolve(Hm: Float64Array, N: number, b: number[]): Float64Array | null {
  let top = 0;
  for (let k = 0; k < N; k++) top = Math.max(top, Math.abs(Hm[k * N + k]));
  if (!(top > 0)) return null;
  const Lm = new Float64Array(N * N);
  for (let mu = 1e-12 * top; mu <= 1e-2 * top; mu *= 100) {
    let ok = true;
    for (let i = 0; i < N && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = Hm[i * N + j] + (i === j ? mu : 0);
        for (let k = 0; k < j; k++) sum -= Lm[i * N + k] * Lm[j * N + k];
        if (i === j) {
          if (!(sum > 0)) { ok = false; break; }
          Lm[i * N + i] = Math.sqrt(sum);
        } else Lm[i * N + j] = sum / Lm[j * N + j];
      }
    }
    if (!ok) continue;
    const x = Float64Array.from(b);
    for (let i = 0; i < N; i++) {
      let sum = x[i];
      for (let k = 0; k < i; k++) sum -= Lm[i * N + k] * x[k];
      x[i] = sum / Lm[i * N + i];
    }
    for (let i = N - 1; i >= 0; i--) {
      let sum = x[i];
      for (let k = i + 1; k < N; k++) sum -= Lm[k * N + i] * x[k];
      x[i] = sum / Lm[i * N + i];
    }
    return x;
  }
  return null;
}

/** The active set every AGF variant fits and reads: parameters, mask, residual r = y − f_active. */
export interface ActiveSet {
  theta: Float64Array;
  mask: Uint8Array;
  residual: Float64Array;
  /** Recomputes the residual from theta and mask; returns L. */
  update(): number;
}

export function activeSet(p: Problem): ActiveSet {
  const { H, P, c } = p.layout;
  const { X, Y, n } = p.data;
  const theta = new Float64Array(H * P);
  const mask = new Uint8Array(H);
  const residual = new Float64Array(n * c);
  const fwd = new Float64Array(n * c);
  return {
    theta, mask, residual,
    update(): number {
      p.kernels.forward(theta, X, n, fwd, mask);
      let L = 0;
      for (let q = 0; q < n * c; q++) { residual[q] = Y[q] - fwd[q]; L += residual[q] ** 2; }
      return L / (2 * n);
    },
  };
}

/** rms(y)·rms(x): the size of ∇U for a unit linear neuron, the floor of AGF's tolerance scales. */
export function dataScale(p: Problem, initialLoss: number): number {
  const { X, n } = p.data;
  let xx = 0;
  for (let q = 0; q < X.length; q++) xx += X[q] * X[q];
  return Math.sqrt(2 * initialLoss) * Math.sqrt(xx / n);
}

/**
 * Cost minimisation with the collapse rule: fit, and while a neuron collapses, zero it, hand it
 * to onCollapse (which restores its dormant state) and refit without it. Returns the
 * evaluations and ‖∇L‖ (active parameters) where the last fit stopped.
 */
export function fitWithCollapses(p: Problem, set: ActiveSet, o: CostOptions, onCollapse: (i: number) => void): { evaluations: number; gradNorm: number } {
  const { H, P, c } = p.layout;
  const { X, n } = p.data;
  let evaluations = 0;
  let gradNorm = 0;
  const before = set.theta.slice();
  // only the active neurons' rows are read (the mask only shrinks here)
  const ref = o.quad ? scratch(2, H * n * c) : new Float64Array(H * n * c);
  if (o.quad) maskedNeuronOutputs(o.quad, before, set.mask, ref);
  else p.kernels.neuronOutputs(before, X, n, ref);
  for (let round = 0; round <= H; round++) {
    const fit = fitActive(p, set.theta, set.mask, o);
    evaluations += fit.evaluations + 1;
    gradNorm = fit.gradNorm;
    const col = collapsedNeuron(p, ref, before, set.theta, set.mask, o);
    const i = col.neuron;
    if (i < 0) break;
    // Lawson–Hanson: the next fit starts where the neuron crossed zero on the way from this
    // round's start to its fit, not at the fit (where later crossings would already be hidden)
    restartPoint(before, set.theta, set.mask, col, P, o.kappa);
    set.theta.set(before);
    set.mask[i] = 0;
    onCollapse(i);
  }
  return { evaluations, gradNorm };
}

/**
 * The schedule's warning when fits stopped short of a critical point (‖∇L‖ above 100·gtol at the
 * end of the iteration budget): AGF's premise is that each cost minimisation ends at one, so every
 * jump after the first such fit depends on where the fit stopped. fitGradNorms[k] is jump k's.
 */
export function unconvergedFitWarning(fitGradNorms: number[], o: CostOptions): string | undefined {
  const bad = fitGradNorms.flatMap((g, k) => (g > 100 * o.gtol ? [k] : []));
  if (!bad.length) return undefined;
  const worst = bad.reduce((a, k) => (fitGradNorms[k] > fitGradNorms[a] ? k : a), bad[0]);
  return `cost minimisation stopped short of a critical point in ${bad.length} of ${fitGradNorms.length} fits (first at jump ${bad[0] + 1}; worst ‖∇L‖ = ${formatNumber(fitGradNorms[worst], 3)} at jump ${worst + 1}, tolerance ${formatNumber(o.gtol, 3)}, ${o.maxIter} iterations per fit): AGF assumes each fit ends at one, so the jumps from there on depend on where it stopped; raise --fit-iter to check`;
}
