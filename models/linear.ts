/**
 * Two-layer linear network f(x) = A W x = Σ_i a_i w_iᵀx (theory.md §5): neuron i is the pair
 * (a_i ∈ R^c, w_i ∈ R^d), f_i = a_i (w_iᵀx), κ = 2. Under MSE the problem depends on the data only
 * through Σ_xx, Σ_yx, Σ_yy, so the generators build population moments (models/linear-data.ts)
 * and hand the solvers the equivalent small dataset (src/moments.ts).
 *
 * Initial-scale convention: a_i ~ alpha·N(0, I_c)/√c and w_i ~ alpha·N(0, I_d)/√d, so
 * E‖a_i‖² = E‖w_i‖² = alpha² (each factor has norm ~alpha, the product A W has entries ~alpha²).
 * Rescaled time is t / log(1/alpha) with this alpha; in it the commuting-case jump times are 1/σ_k.
 * With --opt aligned=1 the start is the aligned, balanced one of Saxe et al.: neuron k < rank
 * carries mode k, a_k = alpha·u_k, w_k = alpha·v_k (u_k, v_k the singular pairs of Σ_yx), the
 * other neurons are 0.
 */
import type { ExactSolution, ModelDefinition, OptionDomain } from '../src/spec.ts';
import type { Problem } from '../src/problem.ts';
import type { Layout } from '../src/compile/layout.ts';
import { moments, type Dataset } from '../src/data.ts';
import { GradflowError } from '../src/util/errors.ts';
import { maxAbsDiffFromIdentity } from '../src/util/linalg.ts';
import { matmul, singularValues, svd, transpose } from '../src/util/dense.ts';
import { datasetFromMoments } from '../src/moments.ts';
import { saxeMode } from './closed-forms/single-neuron.ts';
import { LINEAR_CASES, linearMoments, spectrumOptions } from './linear-data.ts';

/** A (c×H, column i = a_i) and W (H×d, row i = w_iᵀ) from the flat state. */
export function factors(layout: Layout, theta: Float64Array): { A: Float64Array; W: Float64Array; c: number; d: number; H: number } {
  const { H, P } = layout;
  const [sa, sw] = layout.params;
  const c = sa.size, d = sw.size;
  const A = new Float64Array(c * H);
  const W = new Float64Array(H * d);
  for (let i = 0; i < H; i++) {
    for (let k = 0; k < c; k++) A[k * H + i] = theta[i * P + sa.offset + k];
    for (let j = 0; j < d; j++) W[i * d + j] = theta[i * P + sw.offset + j];
  }
  return { A, W, c, d, H };
}

/** The end-to-end map β = A W (c×d). */
export function endToEnd(layout: Layout, theta: Float64Array): Float64Array {
  const { A, W, c, d, H } = factors(layout, theta);
  return matmul(A, W, c, H, d);
}

/** AᵀA − W Wᵀ (H×H): entry (i, j) = a_iᵀa_j − w_iᵀw_j, conserved by gradient flow. */
export function balanceMatrix(layout: Layout, theta: Float64Array): Float64Array {
  const { A, W, c, d, H } = factors(layout, theta);
  const AtA = matmul(transpose(A, c, H), A, H, c, H);
  const WWt = matmul(W, transpose(W, H, d), H, d, H);
  for (let k = 0; k < AtA.length; k++) AtA[k] -= WWt[k];
  return AtA;
}

function pack(layout: Layout, a: Float64Array[], w: Float64Array[]): Float64Array {
  const { H, P } = layout;
  const [sa, sw] = layout.params;
  const th = new Float64Array(H * P);
  for (let i = 0; i < H; i++) {
    th.set(a[i], i * P + sa.offset);
    th.set(w[i], i * P + sw.offset);
  }
  return th;
}

/** The aligned, balanced start: neuron k < min(H, rank) holds a_k = √u0·u_k, w_k = √u0·v_k. */
export function alignedStart(layout: Layout, data: Dataset, u0: number): Float64Array {
  const { Syx } = moments(data);
  const c = data.c, d = data.dIn;
  const { s, u, v } = svd(Syx, c, d);
  const r = Math.sqrt(u0);
  const a: Float64Array[] = [], w: Float64Array[] = [];
  for (let i = 0; i < layout.H; i++) {
    const on = i < s.length && s[i] > 1e-12 * s[0];
    a.push(on ? u[i].map((x) => r * x) : new Float64Array(c));
    w.push(on ? v[i].map((x) => r * x) : new Float64Array(d));
  }
  return pack(layout, a, w);
}

interface ModeNeuron { i: number; s: number; u0: number; aHat: Float64Array; wHat: Float64Array }

/**
 * Saxe's decoupled start, checked: Σ_xx = I, every non-zero neuron balanced (‖a_i‖ = ‖w_i‖) with
 * (â_i, ŵ_i) a singular pair of Σ_yx (Σ_yx ŵ = s â, Σ_yxᵀ â = s ŵ, s > 0), distinct neurons on
 * orthogonal pairs. Then each neuron's product u_i = ‖a_i‖‖w_i‖ obeys u̇ = 2u(s − u) alone.
 */
function saxeModes(p: Problem): { modes: ModeNeuron[]; why: string | null } {
  const { layout } = p;
  const c = layout.c, d = layout.dIn;
  const { Sxx, Syx } = moments(p.data);
  const dev = maxAbsDiffFromIdentity(Sxx, d);
  if (dev > 1e-9) return { modes: [], why: `the data are not whitened (max |Σ_xx − I| = ${dev.toExponential(2)})` };
  const { A, W, H } = factors(layout, p.theta0);
  const top = singularValues(Syx, c, d)[0] ?? 0;
  const modes: ModeNeuron[] = [];
  for (let i = 0; i < H; i++) {
    const a = Float64Array.from({ length: c }, (_, k) => A[k * H + i]);
    const w = W.subarray(i * d, (i + 1) * d);
    const na = Math.hypot(...a), nw = Math.hypot(...w);
    if (na === 0 && nw === 0) continue;
    if (Math.abs(na - nw) > 1e-12 * (na + nw)) return { modes: [], why: `neuron ${i} is not balanced (‖a‖ ≠ ‖w‖)` };
    const aHat = a.map((x) => x / na), wHat = Float64Array.from(w, (x) => x / nw);
    const Sw = matmul(Syx, wHat, c, d, 1);
    const Sta = matmul(aHat, Syx, 1, c, d);
    const s = aHat.reduce((acc, x, k) => acc + x * Sw[k], 0);
    if (!(s > 1e-12 * top)) return { modes: [], why: `neuron ${i} does not start on a mode with positive strength (âᵀΣ_yx ŵ = ${s.toExponential(3)})` };
    let e = 0;
    for (let k = 0; k < c; k++) e = Math.max(e, Math.abs(Sw[k] - s * aHat[k]));
    for (let j = 0; j < d; j++) e = Math.max(e, Math.abs(Sta[j] - s * wHat[j]));
    if (e > 1e-9 * top) return { modes: [], why: `neuron ${i} is not aligned with a singular pair of Σ_yx (residual ${e.toExponential(2)})` };
    for (const m of modes) {
      const oa = Math.abs(m.aHat.reduce((acc, x, k) => acc + x * aHat[k], 0));
      const ow = Math.abs(m.wHat.reduce((acc, x, k) => acc + x * wHat[k], 0));
      if (oa > 1e-9 || ow > 1e-9) return { modes: [], why: `neurons ${m.i} and ${i} share a mode (their singular vectors are not orthogonal)` };
    }
    modes.push({ i, s, u0: na * nw, aHat, wHat });
  }
  return { modes, why: null };
}

const saxeExact: ExactSolution = {
  name: 'saxe',
  description: 'Saxe et al. (2014): aligned balanced start with whitened inputs, each neuron one mode with u = ‖a_i‖‖w_i‖ obeying u̇ = 2u(s − u)',
  applies: (p) => saxeModes(p).why,
  solve(p) {
    const { modes } = saxeModes(p);
    const { layout } = p;
    const curves = modes.map((m) => saxeMode(m.s, m.u0));
    return (t) => {
      const th = new Float64Array(layout.H * layout.P);
      const [sa, sw] = layout.params;
      modes.forEach((m, k) => {
        const r = Math.sqrt(curves[k](t));
        for (let q = 0; q < sa.size; q++) th[m.i * layout.P + sa.offset + q] = r * m.aHat[q];
        for (let q = 0; q < sw.size; q++) th[m.i * layout.P + sw.offset + q] = r * m.wHat[q];
      });
      return th;
    };
  },
};

export const LINEAR_OPTIONS: Record<string, string> = {
  case: 'generated data: 0 whitened (Σ_xx = I, default), 1 commuting (Σ_xx aligned with Σ_yx), 2 non-commuting',
  power: 'singular values of Σ_yx: σ_k = scale·k^(−power) (default power 1)',
  scale: 'largest singular value of Σ_yx (default 1)',
  rank: 'rank of Σ_yx (default min(c, d))',
  cond: 'condition number of Σ_xx for cases 1 and 2 (eigenvalues geometric from 1 to 1/cond; default 4)',
  noise: 'label-noise standard deviation: Σ_yy gains noise²·I (default 0)',
  aligned: '1: Saxe’s aligned balanced start a_k = alpha·u_k, w_k = alpha·v_k on the singular pairs of Σ_yx (default 0: random)',
};

export const LINEAR_OPTION_DOMAINS: Record<string, OptionDomain> = {
  case: { values: [0, 1, 2] },
  power: { min: 0 },
  scale: { above: 0 },
  rank: { integer: true, min: 1 },
  cond: { min: 1 },
  noise: { min: 0 },
  aligned: { values: [0, 1] },
};

export function linearCase(opts: Record<string, number>): (typeof LINEAR_CASES)[number] {
  const k = opts.case ?? 0;
  if (!(k === 0 || k === 1 || k === 2)) throw new GradflowError(`--opt case must be 0 (whitened), 1 (commuting) or 2 (non-commuting) (got ${k})`);
  return LINEAR_CASES[k];
}

/** Random small start (see the file comment) or the aligned one. */
export function linearInit(layout: Layout, alpha: number, extra: Record<string, number>, rng: { normal(): number }, data?: Dataset): Float64Array {
  if ((extra.aligned ?? 0) === 1) {
    if (!data) throw new GradflowError('--opt aligned=1 needs the data to align with');
    return alignedStart(layout, data, alpha * alpha);
  }
  const [sa, sw] = layout.params;
  const th = new Float64Array(layout.H * layout.P);
  const fa = alpha / Math.sqrt(sa.size), fw = alpha / Math.sqrt(sw.size);
  for (let i = 0; i < layout.H; i++) {
    for (let k = 0; k < sa.size; k++) th[i * layout.P + sa.offset + k] = fa * rng.normal();
    for (let j = 0; j < sw.size; j++) th[i * layout.P + sw.offset + j] = fw * rng.normal();
  }
  return th;
}

export const linear: ModelDefinition = {
  spec: {
    name: 'linear',
    title: 'Two-layer linear network f(x) = A W x',
    description: 'Σ_i a_i w_iᵀx with H hidden units; small initialisation learns the singular modes of Σ_yx one at a time (greedy low-rank learning).',
    dims: { c: 4, d: 4, h: 4 },
    params: { a: ['c'], w: ['d'] },
    inputs: { x: ['d'] },
    output: ['c'],
    neurons: 'h',
    template: 'a * dot(w, x)',
    initConvention: 'a_i ~ alpha·N(0, I_c)/√c, w_i ~ alpha·N(0, I_d)/√d (‖a_i‖, ‖w_i‖ ~ alpha)',
  },
  options: LINEAR_OPTIONS,
  optionDomains: LINEAR_OPTION_DOMAINS,
  generateData(dims, rng, opts): Dataset {
    const kind = linearCase(opts);
    const m = linearMoments(dims.c, dims.d, kind, spectrumOptions(opts, dims.c, dims.d), rng);
    return datasetFromMoments(m, `${kind} population moments, σ_k(Σ_yx) = ${opts.scale ?? 1}·k^(−${opts.power ?? 1})`);
  },
  init(dims, H, opts, rng, data) {
    // a throwaway layout with the two slots is all linearInit needs
    const layout = { H, P: dims.c + dims.d, params: [{ name: 'a', offset: 0, size: dims.c, shape: [dims.c] }, { name: 'w', offset: dims.c, size: dims.d, shape: [dims.d] }] } as unknown as Layout;
    return linearInit(layout, opts.alpha, opts.extra, rng, data);
  },
  monitors: (layout) => [
    { name: 'σ1(AW)', fn: (th) => singularValues(endToEnd(layout, th), layout.c, layout.dIn)[0] },
    { name: '‖AᵀA − WWᵀ‖', fn: (th) => Math.hypot(...balanceMatrix(layout, th)) },
  ],
  knownLaws: [{ text: 'AᵀA − W Wᵀ (entries a_iᵀa_j − w_iᵀw_j)', latex: 'A^\\top A - W W^\\top' }],
  exact: [saxeExact],
};
