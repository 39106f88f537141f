/**
 * Matrix factorisation from a small start (greedy low-rank learning, theory.md §5).
 *
 * Both forms are written as neuron templates so the symbolic machinery derives them:
 * the inputs are x_j = √d·e_j (n = d samples, Σ_xx = I) and the target of sample j is √d·M[:, j],
 * so with f(x) = B x the loss is exactly the usual
 *   L = (1/2n) Σ_j ‖√d M[:, j] − √d B[:, j]‖² = ½ ‖M − B‖_F²,   Σ_yx = M.
 * - factorization-uv: B = U Vᵀ = Σ_i a_i w_iᵀ, literally the two-layer linear network on this data
 *   (template `a * dot(w, x)`); modes learned in decreasing σ_k(M), rescaled times 1/σ_k.
 * - factorization (symmetric): B = U Uᵀ = Σ_i u_i u_iᵀ, template `u * dot(u, x)` with one vector
 *   per neuron (κ = 2). u̇_i = 2 sym(M − UUᵀ) u_i, so a dormant neuron's norm grows at 2λ_k and
 *   the rescaled times are 1/(2λ_k(M)) for the positive eigenvalues λ_k, in decreasing order.
 * Init: each u_i (a_i, w_i) ~ alpha·N(0, I)/√(its length), so its norm is ~alpha.
 */
import type { ModelDefinition, OptionDomain } from '../src/spec.ts';
import type { Dataset } from '../src/data.ts';
import type { Layout } from '../src/compile/layout.ts';
import { GradflowError } from '../src/util/errors.ts';
import { lowRankTarget, psdTarget, spectrumOptions } from './linear-data.ts';
import { LINEAR_OPTIONS, LINEAR_OPTION_DOMAINS, linear, linearInit } from './linear.ts';

/** The dataset x_j = √d·e_j, y_j = √d·M[:, j] for a c×d target M (row-major). */
export function targetDataset(M: Float64Array, c: number, d: number, source: string): Dataset {
  if (M.length !== c * d) throw new GradflowError(`factorization: the target has ${M.length} entries, expected ${c}×${d}`);
  for (let k = 0; k < M.length; k++) if (!Number.isFinite(M[k])) throw new GradflowError('factorization: the target has a non-finite entry');
  const r = Math.sqrt(d);
  const X = new Float64Array(d * d);
  const Y = new Float64Array(d * c);
  for (let j = 0; j < d; j++) {
    X[j * d + j] = r;
    for (let i = 0; i < c; i++) Y[j * c + i] = r * M[i * d + j];
  }
  return { X, Y, n: d, dIn: d, c, source };
}

const TARGET_OPTION_DOMAINS: Record<string, OptionDomain> = { power: { min: 0 }, scale: { above: 0 }, rank: { integer: true, min: 1 } };

const TARGET_OPTIONS: Record<string, string> = {
  power: 'target spectrum λ_k = scale·k^(−power) (default 1)',
  scale: 'largest eigen/singular value of the target (default 1)',
  rank: 'rank of the target (default: full)',
};

export const factorization: ModelDefinition = {
  spec: {
    name: 'factorization',
    title: 'Symmetric matrix factorisation W = U Uᵀ',
    description: 'Fit a PSD target M with Σ_i u_i u_iᵀ from a small start (loss ½‖M − UUᵀ‖_F²); eigenmodes are learned one at a time in decreasing order.',
    dims: { d: 5, h: 5 },
    params: { u: ['d'] },
    inputs: { x: ['d'] },
    output: ['d'],
    neurons: 'h',
    template: 'u * dot(u, x)',
    init: { u: { dist: 'normal' } },
    initConvention: 'u_i ~ alpha·N(0, I_d)/√d (‖u_i‖ ~ alpha); data x_j = √d·e_j, y_j = √d·M[:, j] so L = ½‖M − UUᵀ‖_F²',
  },
  options: TARGET_OPTIONS,
  optionDomains: TARGET_OPTION_DOMAINS,
  generateData(dims, rng, opts): Dataset {
    const o = spectrumOptions({ ...opts, noise: 0, cond: 1 }, dims.d, dims.d);
    return targetDataset(psdTarget(dims.d, o, rng), dims.d, dims.d, `PSD target M, eigenvalues ${o.scale}·k^(−${o.power}), rank ${o.rank}; x_j = √d·e_j, y_j = √d·M[:, j]`);
  },
  init(dims, H, opts, rng) {
    const d = dims.d;
    const th = new Float64Array(H * d);
    for (let q = 0; q < th.length; q++) th[q] = (opts.alpha / Math.sqrt(d)) * rng.normal();
    return th;
  },
  knownLaws: [],
};

export const factorizationUV: ModelDefinition = {
  spec: {
    name: 'factorization-uv',
    title: 'Asymmetric matrix factorisation W = U Vᵀ',
    description: 'Fit a target M (c×d) with Σ_i a_i w_iᵀ from a small start (loss ½‖M − UVᵀ‖_F²): the two-layer linear network with whitened inputs.',
    dims: { c: 5, d: 5, h: 5 },
    params: { a: ['c'], w: ['d'] },
    inputs: { x: ['d'] },
    output: ['c'],
    neurons: 'h',
    template: 'a * dot(w, x)',
    initConvention: 'a_i ~ alpha·N(0, I_c)/√c, w_i ~ alpha·N(0, I_d)/√d; data x_j = √d·e_j, y_j = √d·M[:, j] so L = ½‖M − UVᵀ‖_F²',
  },
  options: { ...TARGET_OPTIONS, aligned: LINEAR_OPTIONS.aligned },
  optionDomains: { ...TARGET_OPTION_DOMAINS, aligned: LINEAR_OPTION_DOMAINS.aligned },
  generateData(dims, rng, opts): Dataset {
    const o = spectrumOptions({ ...opts, noise: 0, cond: 1 }, dims.c, dims.d);
    return targetDataset(lowRankTarget(dims.c, dims.d, o, rng), dims.c, dims.d, `target M = U diag(σ) Vᵀ, σ_k = ${o.scale}·k^(−${o.power}), rank ${o.rank}; x_j = √d·e_j, y_j = √d·M[:, j]`);
  },
  init(dims, H, opts, rng, data) {
    const layout = { H, P: dims.c + dims.d, params: [{ name: 'a', offset: 0, size: dims.c, shape: [dims.c] }, { name: 'w', offset: dims.c, size: dims.d, shape: [dims.d] }] } as unknown as Layout;
    return linearInit(layout, opts.alpha, opts.extra, rng, data);
  },
  knownLaws: linear.knownLaws,
  monitors: linear.monitors,
  exact: linear.exact,
};
