/**
 * Softmax classifiers (theory.md §9): multiclass linear softmax regression z = W x + b (V classes,
 * trained with cross-entropy by default) and a two-layer softmax network z = Σ_i a_i relu(w_iᵀx).
 * Both are the models of force analysis (src/analysis/forces.ts): π = softmax(z), one step's
 * influence on another input is −η A K G.
 *
 * Data: a V-class Gaussian mixture in d dimensions (class means on a circle of radius `sep` in the
 * first two coordinates, unit-variance noise) with a chosen fraction of labels flipped to another
 * class — the easy / hard / mislabelled examples of learning-path analysis. Under a preference
 * loss (sft, dpo, neg-grad) the same prompts come as pairs: chosen y⁺ = the true class, rejected
 * y⁻ = another class drawn uniformly (off-policy: independent of the model), and reference logits
 * r = 0 (a uniform reference, which is the initial model up to O(alpha); src/analysis/forces.ts
 * can freeze any other θ as the reference).
 *
 * Initial-scale convention: W, b (and a_i, w_i) ~ alpha·N(0, 1) entrywise.
 */
import type { ModelDefinition } from '../src/spec.ts';
import type { Dataset } from '../src/data.ts';
import type { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';
import { CAPS } from '../src/util/limits.ts';
import { targetMultiple, type LossChoice } from '../src/symbolic/losses.ts';

export interface Mixture {
  X: Float64Array;
  /** The class each point was drawn from. */
  trueClass: Int32Array;
  /** The label it carries (differs from trueClass where flipped). */
  label: Int32Array;
  flipped: Uint8Array;
  n: number;
  d: number;
  V: number;
}


function intOption(v: number | undefined, def: number, what: string, lo: number, hi: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < lo || x > hi) throw new GradflowError(`--opt ${what} must be an integer in [${lo}, ${hi}] (got ${x})`);
  return x;
}

/** n points, classes in turn (n/V each, rounded), exactly round(flip·n) labels flipped to a uniformly drawn other class. */
export function gaussianMixture(n: number, d: number, V: number, flip: number, sep: number, rng: Rng): Mixture {
  if (!(flip >= 0 && flip <= 1)) throw new GradflowError(`--opt flip must be a fraction in [0, 1] (got ${flip})`);
  if (!(sep >= 0 && Number.isFinite(sep))) throw new GradflowError(`--opt sep must be a non-negative number (got ${sep})`);
  if (V < 2) throw new GradflowError(`a softmax model needs at least 2 classes (V = ${V})`);
  const X = new Float64Array(n * d);
  const trueClass = new Int32Array(n), label = new Int32Array(n), flipped = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const k = j % V;
    trueClass[j] = k;
    label[j] = k;
    const ang = (2 * Math.PI * k) / V;
    for (let q = 0; q < d; q++) X[j * d + q] = rng.normal();
    X[j * d] += sep * Math.cos(ang);
    if (d > 1) X[j * d + 1] += sep * Math.sin(ang);
  }
  const m = Math.round(flip * n);
  // Fisher–Yates: which points are flipped
  const order = Array.from({ length: n }, (_, j) => j);
  for (let j = n - 1; j > 0; j--) {
    const r = Math.floor(rng.uniform() * (j + 1));
    [order[j], order[r]] = [order[r], order[j]];
  }
  for (let t = 0; t < m; t++) {
    const j = order[t];
    const shift = 1 + Math.floor(rng.uniform() * (V - 1));
    label[j] = (trueClass[j] + shift) % V;
    flipped[j] = 1;
  }
  return { X, trueClass, label, flipped, n, d, V };
}

/** One-hot labels (n×V), or preference rows [chosen one-hot | rejected one-hot | reference logits 0] (n×3V). */
export function mixtureTargets(mx: Mixture, rng: Rng, preference: boolean, offPolicy = false): Float64Array {
  const { n, V } = mx;
  if (!preference) {
    const Y = new Float64Array(n * V);
    for (let j = 0; j < n; j++) Y[j * V + mx.label[j]] = 1;
    return Y;
  }
  if (offPolicy && V < 3) throw new GradflowError('off-policy pairs need V ≥ 3 (chosen and rejected both differ from the label)');
  const Y = new Float64Array(n * 3 * V);
  for (let j = 0; j < n; j++) {
    // on-policy-like: chosen = the label; off-policy: chosen and rejected are two other classes
    const cho = offPolicy ? (mx.label[j] + 1 + Math.floor(rng.uniform() * (V - 1))) % V : mx.label[j];
    let rej = cho;
    while (rej === cho || (offPolicy && rej === mx.label[j])) rej = Math.floor(rng.uniform() * V);
    Y[j * 3 * V + cho] = 1;
    Y[j * 3 * V + V + rej] = 1;
  }
  return Y;
}

const DOMAINS: ModelDefinition['optionDomains'] = {
  n: { integer: true, min: 1, max: CAPS.samples.value },
  flip: { min: 0, max: 1 },
  sep: { min: 0 },
  offpolicy: { values: [0, 1] },
};

const OPTIONS: Record<string, string> = {
  n: 'number of samples (default 60)',
  flip: 'fraction of labels flipped to another class, the mislabelled examples (default 0.2)',
  sep: 'radius of the circle the class means sit on (default 2.5; noise has unit variance)',
  offpolicy: 'preference losses: 1 = chosen and rejected both drawn from the classes other than the label (default 0: chosen = the label)',
};

function generate(dims: Record<string, number>, rng: Rng, opts: Record<string, number>, loss?: LossChoice): Dataset {
  const n = intOption(opts.n, 60, 'n', 1, CAPS.samples.value);
  const V = dims.V, d = dims.d;
  const mx = gaussianMixture(n, d, V, opts.flip ?? 0.2, opts.sep ?? 2.5, rng);
  const preference = loss !== undefined && targetMultiple(loss.name) === 3;
  const off = (opts.offpolicy ?? 0) === 1;
  const Y = mixtureTargets(mx, rng, preference, off);
  const flips = mx.flipped.reduce((a, b) => a + b, 0);
  return {
    X: mx.X, Y, n, dIn: d, c: preference ? 3 * V : V,
    source: preference
      ? `${V}-class Gaussian mixture prompts in d = ${d} (n = ${n}): ${off ? 'chosen and rejected two distinct classes other than the label (off-policy)' : 'chosen = the label, rejected = another class'} drawn uniformly, reference logits 0`
      : `${V}-class Gaussian mixture in d = ${d}, means on a circle of radius ${opts.sep ?? 2.5}, n = ${n}, ${flips} labels flipped (${opts.flip ?? 0.2})`,
  };
}

export const softmax: ModelDefinition = {
  spec: {
    name: 'softmax',
    title: 'Linear softmax regression z = W x + b, π = softmax(z)',
    description: 'V-class softmax regression trained with cross-entropy: the model of force analysis (A·K·G) and of the squeezing effect.',
    dims: { d: 2, V: 3 },
    params: { W: ['V', 'd'], b: ['V'] },
    inputs: { x: ['d'] },
    output: ['V'],
    neurons: 1,
    template: 'W @ x + b',
    loss: 'cross-entropy',
    init: { W: { dist: 'normal', scale: 1 }, b: { dist: 'normal', scale: 1 } },
    initConvention: 'W, b ~ alpha·N(0, 1) entrywise',
  },
  options: OPTIONS,
  optionDomains: DOMAINS,
  generateData: generate,
  knownLaws: [{ text: '1ᵀW (column sums) and 1ᵀb: logits shifted together leave the loss unchanged (1ᵀG = 0)', latex: '\\mathbf{1}^\\top W,\\ \\mathbf{1}^\\top b' }],
};

export const softmaxMlp: ModelDefinition = {
  spec: {
    name: 'softmax-mlp',
    title: 'Two-layer softmax network z = Σ_i a_i relu(w_iᵀx)',
    description: 'H ReLU units with output vectors a_i ∈ R^V, trained with cross-entropy.',
    dims: { d: 2, V: 3, H: 8 },
    params: { a: ['V'], w: ['d'] },
    inputs: { x: ['d'] },
    output: ['V'],
    neurons: 'H',
    template: 'a * relu(dot(w, x))',
    loss: 'cross-entropy',
    init: { a: { dist: 'normal', scale: 1 }, w: { dist: 'normal', scale: 1 } },
    initConvention: 'a_i, w_i ~ alpha·N(0, 1) entrywise',
  },
  options: OPTIONS,
  optionDomains: DOMAINS,
  generateData: generate,
  knownLaws: [{ text: '1ᵀa_i per neuron (logit translation), and a_i-vs-w_i balance', latex: '\\mathbf{1}^\\top a_i' }],
};
