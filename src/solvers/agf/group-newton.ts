/**
 * The Newton polish of AGF's κ > 2 fits (the fitRelax path) with the Hessian restricted to groups
 * of coupled neurons: block-diagonal over groups, each block the exact (finite-difference) Hessian
 * within its group. The dense finite-difference Hessian it replaces costs 2N gradients of the
 * whole active set per step (N = 1080 parameters on the modular model at p = 20, H = 18) and an
 * N × N Cholesky; a group's block comes from gradients of the group alone against the residual of
 * the rest, so a step costs Σ_G 2·N_G gradients of k_G neurons (the masked kernels' cost grows with
 * the neurons they loop over) — the dense cost only when every active neuron is coupled.
 *
 * Why groups and why these groups (measured on the modular fits, issue 9): neurons whose outputs
 * overlap share a function (one frequency class) and have directions along which their changes
 * cancel (curvature ~1e-4 of each neuron's own); those must be solved together — per-neuron blocks
 * leave them, and a Newton–CG preconditioned by per-neuron blocks needed 100–300 CG iterations a
 * step. Neurons with non-overlapping outputs (other frequency classes: orthogonal functions) are
 * coupled only through JᵢᵀJⱼ, which then vanishes to round-off at aligned neurons; dropping those
 * blocks leaves the steps the dense method takes (p = 11, H = 9, alpha = 1e-2: final loss 0.56836
 * against the dense 0.56834 and the flow's 0.56834).
 */
import type { Problem } from '../../problem.ts';

/** A group larger than this (parameters) is split into its neurons: its dense block would cost what the dense Hessian did. */
const GROUP_MAX_PARAMS = 1200;

/**
 * Groups of coupled active neurons (positions in the active list, ascending): i and j are joined
 * when their outputs overlap, |cos(f_i, f_j)| > 0.05 over the data, and groups are the connected
 * components. (Overlap of random directional derivatives J_i v would join everything: a random
 * perturbation of a neuron reaches every output frequency.)
 */
export function couplingGroups(p: Problem, theta: Float64Array, mask: Uint8Array): number[][] {
  const { X, n } = p.data;
  const { H, P, c } = p.layout;
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
  return [...groups.values()].flatMap((g) => (g.length * P > GROUP_MAX_PARAMS ? g.map((j) => [j]) : [g]));
}

/**
 * Each group's Hessian block by central differences of ∇L, step 1e-5·max(1, |θ_q|) (as the dense
 * polish): the second derivatives of L in the group's parameters with the other neurons fixed are
 * those of (1/2n)‖(y − f_rest) − f_group‖², so the gradients are of the group alone against that
 * residual. Returns the blocks (row-major, the group's neurons in active order), max |H_kk|, and
 * the cost in masked gradients of the whole active set.
 */
export function groupHessians(p: Problem, theta: Float64Array, mask: Uint8Array, members: number[][]): { B: Float64Array[]; top: number; evaluations: number } {
  const { X, Y, n } = p.data;
  const { H, P, c } = p.layout;
  const active: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) active.push(i);
  const fwd = new Float64Array(n * c), target = new Float64Array(n * c);
  const gp = new Float64Array(H * P), gm = new Float64Array(H * P);
  const th = theta.slice();
  const out: Float64Array[] = [];
  let top = 0, work = 0;
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
      const h = 1e-5 * Math.max(1, Math.abs(theta[q]));
      th[q] = theta[q] + h;
      p.kernels.lossGrad(th, X, target, n, gp, inG);
      th[q] = theta[q] - h;
      p.kernels.lossGrad(th, X, target, n, gm, inG);
      th[q] = theta[q];
      for (let row = 0; row < m; row++) B[row * m + col] = (gp[q2[row]] - gm[q2[row]]) / (2 * h);
    }
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) { const v = 0.5 * (B[a * m + b] + B[b * m + a]); B[a * m + b] = v; B[b * m + a] = v; }
      top = Math.max(top, Math.abs(B[a * m + a]));
    }
    out.push(B);
    work += 2 * m * (g.length / active.length);
  }
  return { B: out, top, evaluations: Math.ceil(work) };
}

/** Lower Cholesky factor of B + μI, or null if it is not positive definite. */
function tryCholesky(B: Float64Array, m: number, mu: number): Float64Array | null {
  const Lm = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = B[i * m + j] + (i === j ? mu : 0);
      for (let k = 0; k < j; k++) sum -= Lm[i * m + k] * Lm[j * m + k];
      if (i === j) {
        if (!(sum > 0)) return null;
        Lm[i * m + i] = Math.sqrt(sum);
      } else Lm[i * m + j] = sum / Lm[j * m + j];
    }
  }
  return Lm;
}

/**
 * At most maxSteps regularised Newton steps on the active parameters: per group, (B_G + μI) s_G =
 * −∇_G L with μ the smallest of 1e-12·top × 100^k (≤ 1e-2·top) for which the block factors
 * (rescaling symmetries make it singular at a minimum; the gradient has no component along them);
 * then backtracking, a step kept if L falls or, with L flat to round-off, if ‖∇L‖ falls. Stops at
 * ‖∇L‖ ≤ gtol, when a block will not factor, or when no step helps. theta is updated in place.
 */
export function groupNewton(p: Problem, theta: Float64Array, mask: Uint8Array, o: { gtol: number; maxSteps: number }): { loss: number; gradNorm: number; evaluations: number; steps: number } {
  const { X, Y, n } = p.data;
  const { H, P } = p.layout;
  const idx: number[] = [];
  for (let i = 0; i < H; i++) if (mask[i]) for (let a = 0; a < P; a++) idx.push(i * P + a);
  const N = idx.length;
  const gFull = new Float64Array(H * P), gTrial = new Float64Array(H * P);
  let L = p.kernels.lossGrad(theta, X, Y, n, gFull, mask);
  let evaluations = 1, steps = 0;
  const g = Float64Array.from(idx, (q) => gFull[q]);
  const norm2 = (v: Float64Array): number => { let s = 0; for (let k = 0; k < v.length; k++) s += v[k] * v[k]; return s; };
  let gn = Math.sqrt(norm2(g));
  const trial = theta.slice();
  for (; steps < o.maxSteps && N > 0 && gn > o.gtol; steps++) {
    const members = couplingGroups(p, theta, mask);
    const { B, top, evaluations: ev } = groupHessians(p, theta, mask, members);
    evaluations += ev;
    if (!(top > 0)) break;
    const z = new Float64Array(N);
    let ok = true;
    for (let k = 0; k < members.length && ok; k++) {
      const grp = members[k], m = grp.length * P;
      let Lm: Float64Array | null = null;
      for (let mu = 1e-12 * top; mu <= 1e-2 * top && !Lm; mu *= 100) Lm = tryCholesky(B[k], m, mu);
      if (!Lm) { ok = false; break; }
      const x = new Float64Array(m);
      grp.forEach((j, t) => { for (let a = 0; a < P; a++) x[t * P + a] = -g[j * P + a]; });
      for (let i = 0; i < m; i++) { let s = x[i]; for (let q = 0; q < i; q++) s -= Lm[i * m + q] * x[q]; x[i] = s / Lm[i * m + i]; }
      for (let i = m - 1; i >= 0; i--) { let s = x[i]; for (let q = i + 1; q < m; q++) s -= Lm[q * m + i] * x[q]; x[i] = s / Lm[i * m + i]; }
      grp.forEach((j, t) => { for (let a = 0; a < P; a++) z[j * P + a] = x[t * P + a]; });
    }
    if (!ok) break;
    let accepted = false;
    for (let ls = 0, t = 1; ls < 12 && !accepted; ls++, t *= 0.5) {
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
  return { loss: L, gradNorm: gn, evaluations, steps };
}
