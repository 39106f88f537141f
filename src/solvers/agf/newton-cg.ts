/**
 * Newton–CG for AGF's κ > 2 cost minimisation: regularised Newton steps whose linear systems are
 * solved by preconditioned conjugate gradients on Hessian-vector products, so a fit over N active
 * parameters no longer builds a dense finite-difference Hessian (2N gradients of the whole active
 * set and an N × N Cholesky per step: 1080 parameters on the modular model at p = 20, H = 18).
 *
 * Why these ingredients (measured on the modular fits):
 * - H·v by central differences of the compiled (exact) gradient along v/‖v‖: O(h²) truncation
 *   and O(ε/h) round-off, ≤ 1e-8 relative at h = 1e-5 of the neurons' typical norm (tested
 *   against dual numbers) — forward differences (1e-8 of ‖H‖ in absolute terms) would swamp the
 *   soft eigenvalues, 1e-4…1e-8 of the largest, that the fit hinges on.
 * - Each active neuron's rescaling orbits (rescaling.ts) are projected out of every CG vector:
 *   they are exact zero modes at a critical point, and with a difference Hessian CG would read
 *   their round-off curvature as a direction to move far along.
 * - Preconditioner: the Hessian restricted to groups of coupled neurons (outputs overlapping),
 *   dense within a group, from gradients of the group alone. Per-neuron blocks were tried and
 *   are not enough: neurons sharing a function (one frequency class of the modular model) have
 *   directions along which their changes cancel, and with only each neuron's own block the
 *   preconditioned spectrum still spans ~8 decades (CG then needs hundreds of iterations a step).
 */
import type { Problem } from '../../problem.ts';

export interface NewtonCgResult {
  loss: number;
  gradNorm: number;
  /** Loss-and-gradient evaluations (two per Hessian-vector product, 2P one-neuron ones per preconditioner block counted as 2P/active). */
  evaluations: number;
  hvps: number;
  steps: number;
}

/** The active parameter indices (neuron-major) of a mask. */
export function activeIndices(P: number, mask: Uint8Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
  return idx;
}

/**
 * H·v over the active parameters `idx` (v and out indexed like idx) by central differences of
 * ∇L along v/‖v‖ with step h (absolute); theta is restored. Two lossGrad calls.
 */
export function hessVec(p: Problem, theta: Float64Array, mask: Uint8Array, idx: number[], v: Float64Array, out: Float64Array, h: number, work?: { gp: Float64Array; gm: Float64Array; th: Float64Array }): void {
  const { X, Y, n } = p.data;
  const w = work ?? { gp: new Float64Array(theta.length), gm: new Float64Array(theta.length), th: theta.slice() };
  let nv = 0;
  for (let k = 0; k < idx.length; k++) nv += v[k] * v[k];
  nv = Math.sqrt(nv);
  if (!(nv > 0)) { out.fill(0); return; }
  const th = w.th;
  th.set(theta);
  const s = h / nv;
  for (let k = 0; k < idx.length; k++) th[idx[k]] = theta[idx[k]] + s * v[k];
  p.kernels.lossGrad(th, X, Y, n, w.gp, mask);
  for (let k = 0; k < idx.length; k++) th[idx[k]] = theta[idx[k]] - s * v[k];
  p.kernels.lossGrad(th, X, Y, n, w.gm, mask);
  const inv = 1 / (2 * s);
  for (let k = 0; k < idx.length; k++) out[k] = (w.gp[idx[k]] - w.gm[idx[k]]) * inv;
}

/** Orthonormal bases (per active neuron, over its P parameters) of the tangents of its rescaling orbits at theta. */
function orbitTangents(p: Problem, theta: Float64Array, mask: Uint8Array, syms: number[][]): Float64Array[][] {
  const { H, P, params } = p.layout;
  const out: Float64Array[][] = [];
  for (let i = 0; i < H; i++) {
    if (!mask[i]) continue;
    const basis: Float64Array[] = [];
    for (const a of syms) {
      const t = new Float64Array(P);
      params.forEach((s, g) => { for (let k = 0; k < s.size; k++) t[s.offset + k] = a[g] * theta[i * P + s.offset + k]; });
      for (const b of basis) { let d = 0; for (let k = 0; k < P; k++) d += t[k] * b[k]; for (let k = 0; k < P; k++) t[k] -= d * b[k]; }
      let nt = 0;
      for (let k = 0; k < P; k++) nt += t[k] * t[k];
      nt = Math.sqrt(nt);
      if (nt > 1e-12) { for (let k = 0; k < P; k++) t[k] /= nt; basis.push(t); }
    }
    out.push(basis);
  }
  return out;
}

function projectOut(v: Float64Array, tangents: Float64Array[][], P: number): void {
  tangents.forEach((basis, j) => {
    const o = j * P;
    for (const b of basis) {
      let d = 0;
      for (let k = 0; k < P; k++) d += v[o + k] * b[k];
      for (let k = 0; k < P; k++) v[o + k] -= d * b[k];
    }
  });
}

/**
 * The preconditioner: the Hessian restricted to groups of coupled active neurons, dense within a
 * group. Per-neuron blocks are not enough: neurons sharing a function (one frequency class of the
 * modular model) have directions along which their changes cancel, curvature ~1e-4 of each
 * neuron's own, which a block-diagonal preconditioner leaves spread over five decades (CG then
 * needs hundreds of iterations a step). Neurons whose outputs' directional derivatives do not
 * overlap (other frequency classes: orthogonal functions) couple only weakly and stay apart.
 */
interface Groups {
  /** Positions (in the active list) of each group's neurons. */
  members: number[][];
  /** Each group's dense Hessian over its neurons' parameters (row-major, size (k·P)²). */
  B: Float64Array[];
  top: number;
  /** Cholesky factors of B + shift (+ μ where needed), for the last shift asked for. */
  factors: Float64Array[];
  shift: number;
}

/** Largest group handled densely (parameters); a larger connected set is split into neurons. */
const GROUP_MAX_PARAMS = 600;

/**
 * Groups of coupled neurons: i and j are joined when their outputs overlap, |cos(f_i, f_j)| >
 * 0.05 (then neurons can trade function, which is what the soft directions are). Random
 * directional derivatives J_i v would join everything: a random perturbation of any neuron's
 * parameters reaches every output frequency.
 */
function couplingGroups(p: Problem, theta: Float64Array, mask: Uint8Array, P: number): number[][] {
  const { X, n } = p.data;
  const { H, c } = p.layout;
  const active: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) active.push(i);
  const m = active.length, nc = n * c;
  const outs = new Float64Array(H * nc);
  p.kernels.neuronOutputs(theta, X, n, outs);
  const norms = active.map((i) => { let s = 0; for (let q = 0; q < nc; q++) s += outs[i * nc + q] ** 2; return Math.sqrt(s); });
  const parent = active.map((_, j) => j);
  const find = (j: number): number => (parent[j] === j ? j : (parent[j] = find(parent[j])));
  for (let j = 0; j < m; j++) for (let k = j + 1; k < m; k++) {
    let d = 0;
    for (let q = 0; q < nc; q++) d += outs[active[j] * nc + q] * outs[active[k] * nc + q];
    if (Math.abs(d) > 0.05 * norms[j] * norms[k]) parent[find(j)] = find(k);
  }
  const groups = new Map<number, number[]>();
  for (let j = 0; j < m; j++) { const r = find(j); groups.set(r, [...(groups.get(r) ?? []), j]); }
  if (process.env.NCG_GROUPS) console.error('groups', [...groups.values()].map((g) => g.length).join(','));
  return [...groups.values()].flatMap((g) => (g.length * P > GROUP_MAX_PARAMS ? g.map((j) => [j]) : [g]));
}

/**
 * Each group's dense Hessian: second derivatives of L in the group's parameters with the other
 * neurons fixed are those of (1/2n)‖(y − f_rest) − f_group‖², so they come from gradients of the
 * group alone against that residual (2·k·P gradients of k neurons: the cost grows with k², not
 * with the active set).
 */
function groupHessians(p: Problem, theta: Float64Array, mask: Uint8Array, h: number, members: number[][]): { groups: Groups; evaluations: number } {
  const { X, Y, n } = p.data;
  const { H, P, c } = p.layout;
  const active: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) active.push(i);
  const fwd = new Float64Array(n * c), target = new Float64Array(n * c);
  const gp = new Float64Array(H * P), gm = new Float64Array(H * P);
  const th = theta.slice();
  const groups: Groups = { members, B: [], top: 0, factors: [], shift: NaN };
  let work = 0;
  for (const g of members) {
    const neurons = g.map((j) => active[j]);
    const inG = new Uint8Array(H), rest = mask.slice();
    for (const i of neurons) { inG[i] = 1; rest[i] = 0; }
    p.kernels.forward(theta, X, n, fwd, rest);
    for (let q = 0; q < n * c; q++) target[q] = Y[q] - fwd[q];
    const q2 = neurons.flatMap((i) => Array.from({ length: P }, (_, a) => i * P + a));
    const m = q2.length;
    const B = new Float64Array(m * m);
    for (let col = 0; col < m; col++) {
      const q = q2[col];
      th[q] = theta[q] + h;
      p.kernels.lossGrad(th, X, target, n, gp, inG);
      th[q] = theta[q] - h;
      p.kernels.lossGrad(th, X, target, n, gm, inG);
      th[q] = theta[q];
      for (let row = 0; row < m; row++) B[row * m + col] = (gp[q2[row]] - gm[q2[row]]) / (2 * h);
    }
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) { const v = 0.5 * (B[a * m + b] + B[b * m + a]); B[a * m + b] = v; B[b * m + a] = v; }
      groups.top = Math.max(groups.top, Math.abs(B[a * m + a]));
    }
    groups.B.push(B);
    work += 2 * m * (g.length / active.length);
  }
  return { groups, evaluations: Math.ceil(work) + 1 };
}

/** Lower Cholesky factor of B + shift·I (+ μI, μ from 1e-10·top ×100 until it factors). */
function shiftedCholesky(B: Float64Array, m: number, shift: number, top: number): Float64Array {
  const Lm = new Float64Array(m * m);
  for (let mu = 1e-10 * top; ; mu *= 100) {
    let ok = true;
    for (let i = 0; i < m && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = B[i * m + j] + (i === j ? shift + mu : 0);
        for (let k = 0; k < j; k++) sum -= Lm[i * m + k] * Lm[j * m + k];
        if (i === j) {
          if (!(sum > 0)) { ok = false; break; }
          Lm[i * m + i] = Math.sqrt(sum);
        } else Lm[i * m + j] = sum / Lm[j * m + j];
      }
    }
    if (ok || mu > 1e6 * top) return Lm;
  }
}

/** out = (B_G + shift)⁻¹ r on each group, then the orbit tangents removed. */
function applyGroups(gr: Groups, P: number, shift: number, r: Float64Array, out: Float64Array, tangents: Float64Array[][]): void {
  if (gr.shift !== shift) {
    gr.factors = gr.B.map((B, k) => shiftedCholesky(B, gr.members[k].length * P, shift, gr.top));
    gr.shift = shift;
  }
  gr.members.forEach((g, k) => {
    const m = g.length * P, Lm = gr.factors[k];
    const x = new Float64Array(m);
    g.forEach((j, t) => { for (let a = 0; a < P; a++) x[t * P + a] = r[j * P + a]; });
    for (let i = 0; i < m; i++) { let s = x[i]; for (let q = 0; q < i; q++) s -= Lm[i * m + q] * x[q]; x[i] = s / Lm[i * m + i]; }
    for (let i = m - 1; i >= 0; i--) { let s = x[i]; for (let q = i + 1; q < m; q++) s -= Lm[q * m + i] * x[q]; x[i] = s / Lm[i * m + i]; }
    g.forEach((j, t) => { for (let a = 0; a < P; a++) out[j * P + a] = x[t * P + a]; });
  });
  projectOut(out, tangents, P);
}

const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let k = 0; k < a.length; k++) s += a[k] * b[k]; return s; };

/** CG iterations per Newton step at most (the preconditioned systems mostly need 5–50). */
const CG_MAX_ITER = 100;
/** Newton steps between refreshes of the group preconditioner. */
const REFRESH = 4;
/** Consecutive capped steps after which a fit is taken to creep (see dampedNewtonCg). */
const CREEP_STEPS = 3;

export interface DampedNewtonOptions {
  /** Stop at ‖∇L‖ ≤ gtol. */
  gtol: number;
  /** Newton steps at most. */
  maxSteps: number;
  syms: number[][];
}

/**
 * Regularised Newton steps (H + μI) s = −∇L, μ the smallest of 1e-12·max|H_kk| × 100^k for which
 * the system is positive definite, each followed by a backtracking search (accepted if L falls,
 * or, with L flat to round-off, if ‖∇L‖ falls) — the dense finite-difference Newton it replaces,
 * step for step, with the solve done by CG on Hessian-vector products preconditioned by the
 * exact inverse of each coupled group's Hessian block (+ μ): the groups' blocks cost 2·k·P
 * gradients of k neurons, not 2N gradients of the whole active set, and CG then only has the weak
 * coupling between groups left to resolve.
 */
export function dampedNewtonCg(p: Problem, theta: Float64Array, mask: Uint8Array, o: DampedNewtonOptions): NewtonCgResult {
  const { X, Y, n } = p.data;
  const { H, P } = p.layout;
  const idx = activeIndices(P, mask);
  const N = idx.length;
  const gFull = new Float64Array(H * P), gTrial = new Float64Array(H * P);
  let L = p.kernels.lossGrad(theta, X, Y, n, gFull, mask);
  let evaluations = 1, hvps = 0, steps = 0;
  const g = Float64Array.from(idx, (q) => gFull[q]);
  let gn = Math.sqrt(dot(g, g));
  const work = { gp: new Float64Array(H * P), gm: new Float64Array(H * P), th: theta.slice() };
  const z = new Float64Array(N), r = new Float64Array(N), y = new Float64Array(N), d = new Float64Array(N), Hd = new Float64Array(N);
  const trial = theta.slice();
  let gr: { groups: Groups } | null = null;
  let sinceRefresh = 0, capped = 0;
  for (; steps < o.maxSteps && N > 0 && gn > o.gtol; steps++) {
    let th2 = 0;
    for (const q of idx) th2 += theta[q] * theta[q];
    const h = 1e-5 * Math.max(Math.sqrt(th2 / (N / P)), 1e-150);
    const tangents = orbitTangents(p, theta, mask, o.syms);
    // the group blocks only precondition: refreshed every REFRESH steps, not every step
    if (!gr || ++sinceRefresh >= REFRESH) {
      const fresh = groupHessians(p, theta, mask, h, couplingGroups(p, theta, mask, P));
      evaluations += fresh.evaluations;
      gr = fresh;
      sinceRefresh = 0;
    }
    const top = gr.groups.top;
    if (!(top > 0)) break;
    let solved = false;
    for (let mu = 1e-12 * top; mu <= 1e-2 * top && !solved; mu *= 100) {
      z.fill(0);
      r.set(g);
      projectOut(r, tangents, P);
      applyGroups(gr.groups, P, mu, r, y, tangents);
      for (let k = 0; k < N; k++) d[k] = -y[k];
      let ry = dot(r, y);
      const tol = 1e-8 * Math.sqrt(dot(r, r));
      let definite = true;
      // truncated: every CG iterate from 0 is a descent direction, so an unfinished solve still gives a step
      for (let it = 0; it < Math.min(N, CG_MAX_ITER); it++) {
        hessVec(p, theta, mask, idx, d, Hd, h, work);
        hvps++;
        for (let k = 0; k < N; k++) Hd[k] += mu * d[k];
        projectOut(Hd, tangents, P);
        const kappa = dot(d, Hd);
        if (!(kappa > 0)) { definite = false; break; }
        const a = ry / kappa;
        for (let k = 0; k < N; k++) { z[k] += a * d[k]; r[k] += a * Hd[k]; }
        if (Math.sqrt(dot(r, r)) <= tol) break;
        applyGroups(gr.groups, P, mu, r, y, tangents);
        const ryNew = dot(r, y);
        const beta = ryNew / ry;
        ry = ryNew;
        for (let k = 0; k < N; k++) d[k] = -y[k] + beta * d[k];
      }
      solved = definite && dot(z, z) > 0;
    }
    if (!solved) break;
    // a step along the soft directions can be far longer than the neurons themselves (a creeping
    // fit has no minimum to stop it): at most a quarter of the active parameters' norm, so one
    // step cannot blow a neuron up (the next fit's masked flow would be unboundedly stiff)
    const zn = Math.sqrt(dot(z, z)), cap = 0.25 * Math.sqrt(th2);
    // a capped step three times running: the fit creeps along a valley with no minimum in reach
    // (norms growing while L falls by ever less); more steps would only move along it
    capped = zn > cap ? capped + 1 : 0;
    if (capped > CREEP_STEPS) break;
    let t = zn > cap ? cap / zn : 1, accepted = false;
    for (let ls = 0; ls < 12 && !accepted; ls++, t *= 0.5) {
      trial.set(theta);
      for (let k = 0; k < N; k++) trial[idx[k]] += t * z[k];
      const Lt = p.kernels.lossGrad(trial, X, Y, n, gTrial, mask);
      evaluations++;
      let gt2 = 0;
      for (let k = 0; k < N; k++) gt2 += gTrial[idx[k]] ** 2;
      if (Lt < L - 1e-13 * Math.abs(L) || (Lt <= L + 1e-13 * Math.abs(L) && gt2 < gn * gn)) {
        accepted = true;
        theta.set(trial);
        L = Lt;
        for (let k = 0; k < N; k++) g[k] = gTrial[idx[k]];
        gn = Math.sqrt(gt2);
      }
    }
    if (!accepted) break;
  }
  return { loss: L, gradNorm: gn, evaluations: evaluations + 2 * hvps, hvps, steps };
}
