/**
 * Deep ReLU network of depth L and width Q (theory.md §8): x^{(ℓ)} = relu(W_ℓ x^{(ℓ−1)} + b_ℓ)
 * for ℓ < L, f(x) = x^{(L)} = W_L x^{(L−1)} + b_L, input and output in R^Q. The whole network is
 * one "neuron" (H = 1) with parameters W1, b1, …, WL, bL; `--opt depth=L` picks the template.
 *
 * Cumulative parameters W^{(ℓ)} = W_ℓ⋯W_1, b^{(ℓ)} = W_ℓ b^{(ℓ−1)} + b_ℓ turn the net into a chain
 * of truncations of input space (src/analysis/truncation.ts); with W^{(ℓ)} positive diagonal each
 * truncation is max(x, β) with threshold β = −(W^{(ℓ)})⁻¹ b^{(ℓ)}.
 *
 * Initial-scale convention: W_ℓ = I + alpha·N(0, 1) entrywise, b_ℓ = alpha·N(0, 1): an aligned
 * (positive-diagonal) start, perturbed at scale alpha.
 */
import type { ModelDefinition, ModelSpec } from '../src/spec.ts';
import type { Dataset } from '../src/data.ts';
import type { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';
import { checkedClusterOptions, clusters, describeClusters, type ClusterOptions } from './relu-data.ts';

export const MAX_DEPTH = 8;

export function reluDeepSpec(L: number): ModelSpec {
  const params: ModelSpec['params'] = {};
  for (let l = 1; l <= L; l++) {
    params[`W${l}`] = ['Q', 'Q'];
    params[`b${l}`] = ['Q'];
  }
  let e = 'x';
  for (let l = 1; l < L; l++) e = `relu(matvec(W${l}, ${e}) + b${l})`;
  return {
    name: 'relu-deep',
    title: `Deep ReLU network, depth L = ${L}, width Q: x⁽ˡ⁾ = relu(W_l x⁽ˡ⁻¹⁾ + b_l), f = W_L x⁽ᴸ⁻¹⁾ + b_L`,
    description: 'All widths Q (input, hidden, output); the cumulative weights and biases describe the net as a chain of truncations of the data (Chen 2025, theory.md §8).',
    dims: { Q: 2 },
    params,
    inputs: { x: ['Q'] },
    output: ['Q'],
    neurons: 1,
    template: `matvec(W${L}, ${e}) + b${L}`,
    initConvention: 'W_l = I + alpha·N(0, 1) entrywise, b_l = alpha·N(0, 1)',
  };
}

/** Class targets: class k gets the point 0.2 + 0.8·u_k of [0.2, 1]^Q (u_k uniform, seeded). */
export function classTargets(classes: number, Q: number, rng: Rng): Float64Array {
  const T = new Float64Array(classes * Q);
  for (let k = 0; k < T.length; k++) T[k] = 0.2 + 0.8 * rng.uniform();
  return T;
}

export interface LabelledClusters extends Dataset {
  labels: Int32Array;
  targets: Float64Array;
  options: ClusterOptions;
}

export function deepClusterData(Q: number, rng: Rng, opts: Record<string, number>): LabelledClusters {
  const o = checkedClusterOptions(opts, Q, 24);
  const cl = clusters(o, rng);
  const targets = classTargets(o.classes, Q, rng);
  const Y = new Float64Array(o.n * Q);
  for (let j = 0; j < o.n; j++) for (let q = 0; q < Q; q++) Y[j * Q + q] = targets[cl.labels[j] * Q + q];
  return { X: cl.X, Y, n: o.n, dIn: Q, c: Q, source: `${describeClusters(o)}; class targets uniform in [0.2, 1]^Q`, labels: cl.labels, targets, options: o };
}

function definition(L: number): ModelDefinition {
  return {
    spec: reluDeepSpec(L),
    options: {
      depth: `number of layers L in [2, ${MAX_DEPTH}] (default 3; the last is linear)`,
      n: 'number of samples (default 24)',
      K: 'number of clusters (default 3)',
      spread: 'within-cluster standard deviation (default 0.05)',
      overlap: 'cluster overlap in [0, 1] (default 0)',
      classes: 'number of classes (default K)',
    },
    generateData: (dims, rng, opts) => deepClusterData(dims.Q, rng, opts),
    init(dims, _H, opts, rng) {
      const Q = dims.Q;
      const th = new Float64Array(L * (Q * Q + Q));
      let o = 0;
      for (let l = 0; l < L; l++) {
        for (let r = 0; r < Q; r++) for (let c = 0; c < Q; c++) th[o++] = (r === c ? 1 : 0) + opts.alpha * rng.normal();
        for (let r = 0; r < Q; r++) th[o++] = opts.alpha * rng.normal();
      }
      return th;
    },
  };
}

const byDepth = new Map<number, ModelDefinition>();
function atDepth(L: number): ModelDefinition {
  let d = byDepth.get(L);
  if (!d) {
    d = definition(L);
    byDepth.set(L, d);
  }
  return d;
}

export const reluDeep: ModelDefinition = {
  ...atDepth(3),
  variant(opts) {
    const L = opts.depth ?? 3;
    if (!Number.isInteger(L) || L < 2 || L > MAX_DEPTH) throw new GradflowError(`--opt depth must be an integer in [2, ${MAX_DEPTH}] (got ${L})`);
    return atDepth(L);
  },
};
