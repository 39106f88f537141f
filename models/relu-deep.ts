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
 * (positive-diagonal) start, perturbed at scale alpha. `--opt start=1` is the start adapted to two
 * separable classes in one dimension (Q = 1, depth 3; see adaptedStart): from W ≈ I the chain can
 * only truncate from below, so at most one class collapses; with a negative second gain the
 * second layer truncates from above and both classes can.
 */
import type { ModelDefinition, ModelSpec } from '../src/spec.ts';
import type { Dataset } from '../src/data.ts';
import type { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';
import { checkedClusterOptions, clusters, describeClusters, type ClusterOptions } from './relu-data.ts';
import { RELU_DATA_DOMAINS } from './relu.ts';

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
    description: 'All widths Q (input, hidden, output); the cumulative weights and biases describe the net as a chain of truncations of the data (Chen 2025).',
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
  // centres on both sides of 0, where a near-identity start puts its thresholds: truncation acts from the start
  const cl = clusters(o, rng, [-1, 1]);
  const targets = classTargets(o.classes, Q, rng);
  const Y = new Float64Array(o.n * Q);
  for (let j = 0; j < o.n; j++) for (let q = 0; q < Q; q++) Y[j * Q + q] = targets[cl.labels[j] * Q + q];
  return { X: cl.X, Y, n: o.n, dIn: Q, c: Q, source: `${describeClusters(o, [-1, 1])}; class targets uniform in [0.2, 1]^Q`, labels: cl.labels, targets, options: o };
}

/** The effective equations for the cumulative parameters (theory.md §8; checked in test/truncation.test.ts). */
export function truncationTheory(L: number): { label: string; text: string; latex: string }[] {
  const H = L - 1;
  return [
    { label: 'assumptions', text: `all widths Q, every W_l invertible; gauge (W⁽ˡ⁾, b⁽ˡ⁾) → (D W⁽ˡ⁾, D b⁽ˡ⁾), D > 0 diagonal, changes nothing below; the output layer (W⁽ᴸ⁾, b⁽ᴸ⁾) is held fixed in the effective equations`,
      latex: `\\text{widths } Q,\\ W_\\ell \\text{ invertible};\\ (W^{(\\ell)}, b^{(\\ell)}) \\sim (D W^{(\\ell)}, D b^{(\\ell)}),\\ D > 0 \\text{ diagonal};\\ (W^{(L)}, b^{(L)}) \\text{ fixed}` },
    { label: 'cumulative', text: 'W⁽ˡ⁾ = W_l ⋯ W_1,  b⁽ˡ⁾ = W_l b⁽ˡ⁻¹⁾ + b_l  (l = 1 … L)', latex: 'W^{(\\ell)} = W_\\ell \\cdots W_1, \\quad b^{(\\ell)} = W_\\ell b^{(\\ell-1)} + b_\\ell' },
    { label: 'truncation', text: `τ_l(ξ) = (W⁽ˡ⁾)⁻¹(relu(W⁽ˡ⁾ξ + b⁽ˡ⁾) − b⁽ˡ⁾),  ξ⁽⁰⁾ = x,  ξ⁽ˡ⁾ = τ_l(ξ⁽ˡ⁻¹⁾),  x⁽ˡ⁾ = W⁽ˡ⁾ξ⁽ˡ⁾ + b⁽ˡ⁾,  f(x) = W⁽ᴸ⁾ξ⁽${H}⁾ + b⁽ᴸ⁾`,
      latex: `\\tau_\\ell(\\xi) = (W^{(\\ell)})^{-1}\\big(\\mathrm{relu}(W^{(\\ell)}\\xi + b^{(\\ell)}) - b^{(\\ell)}\\big),\\ \\xi^{(\\ell)} = \\tau_\\ell(\\xi^{(\\ell-1)}),\\ f(x) = W^{(L)}\\xi^{(${H})} + b^{(L)}` },
    { label: 'input cost', text: `C̃ = (1/2N) Σ_j ‖ξ_j⁽${H}⁾ − ỹ_j‖²,  ỹ_j = (W⁽ᴸ⁾)⁻¹(y_ω(j) − b⁽ᴸ⁾)  (= L when W⁽ᴸ⁾ is orthogonal)`,
      latex: `\\tilde C = \\frac{1}{2N}\\sum_j \\lVert \\xi_j^{(${H})} - \\tilde y_j \\rVert^2, \\quad \\tilde y_j = (W^{(L)})^{-1}(y_{\\omega(j)} - b^{(L)})` },
    { label: 'general case', text: `ċ = −∇_c C̃ for c = (W⁽ˡ⁾, b⁽ˡ⁾)_{l<L}:  ∂C̃/∂W⁽ˡ⁾ = (1/N) Σ_j (D_jˡ u_j ξ_j⁽ˡ⁻¹⁾ᵀ − u_j ξ_j⁽ˡ⁾ᵀ),  ∂C̃/∂b⁽ˡ⁾ = −(1/N) Σ_j (I − D_jˡ) u_j,  u_j = (W⁽ˡ⁾)⁻ᵀ J_jˡᵀ(ξ_j⁽${H}⁾ − ỹ_j),  D_jˡ = diag(step(W⁽ˡ⁾ξ_j⁽ˡ⁻¹⁾ + b⁽ˡ⁾)),  J_jˡ = Π_{k>l} (W⁽ᵏ⁾)⁻¹D_jᵏW⁽ᵏ⁾`,
      latex: `\\dot c = -\\nabla_c \\tilde C:\\ \\frac{\\partial \\tilde C}{\\partial W^{(\\ell)}} = \\frac1N\\sum_j \\big(D_j^\\ell u_j \\xi_j^{(\\ell-1)\\top} - u_j \\xi_j^{(\\ell)\\top}\\big),\\ \\frac{\\partial \\tilde C}{\\partial b^{(\\ell)}} = -\\frac1N\\sum_j (I - D_j^\\ell) u_j,\\ u_j = (W^{(\\ell)})^{-\\top} J_j^{\\ell\\top}(\\xi_j^{(${H})} - \\tilde y_j)` },
    { label: 'aligned case', text: 'W⁽ˡ⁾ positive diagonal: τ_l(ξ) = max(ξ, β⁽ˡ⁾) componentwise, β⁽ˡ⁾ = −(W⁽ˡ⁾)⁻¹b⁽ˡ⁾;  ξ_q⁽ᴸ⁻¹⁾ = max(x_q, β_q⁽¹⁾, …, β_q⁽ᴸ⁻¹⁾)',
      latex: 'W^{(\\ell)} \\text{ positive diagonal}: \\tau_\\ell(\\xi) = \\max(\\xi, \\beta^{(\\ell)}),\\ \\beta^{(\\ell)} = -(W^{(\\ell)})^{-1} b^{(\\ell)}' },
    { label: 'threshold flow', text: 'Euclidean flow in β (aligned):  dβ_q⁽ˡ⁾/dt = −(1/N) Σ_{j ∈ T_q⁽ˡ⁾} (β_q⁽ˡ⁾ − ỹ_jq),  T_q⁽ˡ⁾ = samples whose component q ends on β_q⁽ˡ⁾',
      latex: '\\dot\\beta^{(\\ell)}_q = -\\frac1N \\sum_{j \\in T^{(\\ell)}_q} (\\beta^{(\\ell)}_q - \\tilde y_{jq})' },
    { label: 'cluster-separated', text: 'truncated points of one class ω: dβ/dt = −(N_T/N)(β − ỹ_ω), exponential relaxation at the rate N_T/N, which grows as more points are truncated',
      latex: '\\dot\\beta = -\\frac{N_T}{N}(\\beta - \\tilde y_\\omega)' },
    { label: 'true flow', text: 'θ̇ = −∇_θ C̃ gives ċ = −J Jᵀ ∇_c C̃ (J = ∂c/∂θ), not the Euclidean flow above; `gradflow truncation` integrates θ̇ = −∇_θ L and reports the difference',
      latex: '\\dot c = -J J^\\top \\nabla_c \\tilde C, \\quad J = \\partial c / \\partial \\theta' },
  ];
}

/**
 * The start adapted to two separable classes on a line (Q = 1, L = 3): layer 1 has gain +1 and its
 * threshold β⁽¹⁾ at the mean of the lower class (ξ = max(x, β⁽¹⁾) truncates it from below), layer 2
 * has gain −1 and its threshold β⁽²⁾ at the mean of the upper class (τ₂(ξ) = min(ξ, β⁽²⁾) truncates
 * it from above), and the last layer maps the two truncation points to the two class targets.
 * Both thresholds start inside their clusters; every entry is then perturbed by alpha·N(0, 1).
 */
function adaptedStart(L: number, Q: number, data: Dataset | undefined, alpha: number, rng: Rng): Float64Array {
  if (Q !== 1 || L !== 3) throw new GradflowError(`--opt start=1 (the adapted start) is defined for --dim Q=1 and --opt depth=3 (got Q = ${Q}, depth ${L})`);
  if (!data) throw new GradflowError('--opt start=1 needs the data set to place its thresholds');
  const { X, Y, n } = data;
  const classes = new Map<number, number[]>();
  for (let j = 0; j < n; j++) { const v = classes.get(Y[j]) ?? []; v.push(X[j]); classes.set(Y[j], v); }
  if (classes.size !== 2) throw new GradflowError(`--opt start=1 needs exactly two classes (got ${classes.size}; use --opt classes=2)`);
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const [lo, hi] = [...classes.entries()].sort((a, b) => mean(a[1]) - mean(b[1]));
  if (!(Math.max(...lo[1]) < Math.min(...hi[1]))) throw new GradflowError('--opt start=1 needs two separable classes (their ranges overlap on the line)');
  if (lo[0] === hi[0]) throw new GradflowError('--opt start=1 needs two different class targets');
  const b1 = mean(lo[1]), b2 = mean(hi[1]);
  // h1 = relu(x − β1), h2 = relu(−h1 + β2 − β1) = β2 − min(max(x, β1), β2), f = W3 h2 + b3
  const th = [1, -b1, -1, b2 - b1, (lo[0] - hi[0]) / (b2 - b1), hi[0]];
  return Float64Array.from(th, (v) => v + alpha * rng.normal());
}

function definition(L: number, adapted: boolean): ModelDefinition {
  const spec = reluDeepSpec(L);
  return {
    spec: adapted ? { ...spec, initConvention: 'adapted start (--opt start=1): W1 = 1, β1 = mean of the lower class; W2 = −1, β2 = mean of the upper class; W3, b3 map the two truncation points to the class targets; every entry + alpha·N(0, 1)' } : spec,
    theory: truncationTheory(L),
    options: {
      depth: `number of layers L in [2, ${MAX_DEPTH}] (default 3; the last is linear)`,
      n: 'number of samples (default 24)',
      K: 'number of clusters (default 3)',
      spread: 'within-cluster standard deviation (default 0.05)',
      overlap: 'cluster overlap in [0, 1] (default 0)',
      classes: 'number of classes (default K)',
      start: '0: W_l = I + alpha·N(0, 1) (default); 1: the start adapted to two separable classes on a line (Q = 1, depth 3): layer 1 truncates the lower class from below, layer 2 (gain −1) the upper one from above',
    },
    optionDomains: { depth: { integer: true, min: 2, max: MAX_DEPTH }, n: RELU_DATA_DOMAINS.n, K: RELU_DATA_DOMAINS.K, spread: RELU_DATA_DOMAINS.spread, overlap: RELU_DATA_DOMAINS.overlap, classes: RELU_DATA_DOMAINS.classes, start: { values: [0, 1] } },
    generateData: (dims, rng, opts) => deepClusterData(dims.Q, rng, opts),
    init(dims, _H, opts, rng, data) {
      const Q = dims.Q;
      if ((opts.extra.start ?? 0) === 1) return adaptedStart(L, Q, data, opts.alpha, rng);
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

const byDepth = new Map<string, ModelDefinition>();
function atDepth(L: number, adapted = false): ModelDefinition {
  const key = `${L}/${adapted}`;
  let d = byDepth.get(key);
  if (!d) {
    d = definition(L, adapted);
    byDepth.set(key, d);
  }
  return d;
}

export const reluDeep: ModelDefinition = {
  ...atDepth(3),
  variant(opts) {
    const L = opts.depth ?? 3;
    if (!Number.isInteger(L) || L < 2 || L > MAX_DEPTH) throw new GradflowError(`--opt depth must be an integer in [2, ${MAX_DEPTH}] (got ${L})`);
    return atDepth(L, opts.start === 1);
  },
};
