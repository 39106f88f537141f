/**
 * Two-layer ReLU network f(x) = Σ_i a_i relu(w_iᵀx + b_i) (theory.md §8, issue 10), with or
 * without the bias (`--opt bias=0`). Neuron i is (a_i, w_i, b_i); the incoming weights (w_i, b_i)
 * and the outgoing a_i trade a positive rescaling, so a_i² − ‖w_i‖² − b_i² is conserved, one law
 * per unit. The flow is piecewise polynomial: src/solvers/relu-flow.ts integrates it kink by kink.
 *
 * Initial-scale convention: every entry alpha·N(0, 1).
 */
import type { ModelDefinition, ModelSpec, OptionDomain } from '../src/spec.ts';
import type { Dataset } from '../src/data.ts';
import { GradflowError } from '../src/util/errors.ts';
import { checkedClusterOptions, clusters, describeClusters, teacherStudent } from './relu-data.ts';

export const RELU_DATA_OPTIONS: Record<string, string> = {
  data: 'generated data: 0 clusters (default), 1 the 2-D teacher–student setting',
  n: 'number of samples (default 12 for clusters, 24 for teacher–student)',
  K: 'number of clusters (default 3)',
  spread: 'within-cluster standard deviation (default 0.05)',
  overlap: 'cluster overlap in [0, 1]: centres pulled towards their mean (default 0)',
  classes: 'number of classes (cluster k has class k mod classes; default K)',
  teacher: 'teacher–student: number of teacher units (default 2)',
};

/** The values RELU_DATA_OPTIONS accept (relu-data.ts checks the ones that depend on each other, e.g. n ≥ K). */
export const RELU_DATA_DOMAINS: Record<string, OptionDomain> = {
  data: { values: [0, 1] },
  n: { integer: true, min: 1, max: 100_000 },
  K: { integer: true, min: 1, max: 1000 },
  spread: { min: 0 },
  overlap: { min: 0, max: 1 },
  classes: { integer: true, min: 1 },
  teacher: { integer: true, min: 1 },
};

/** The spec: scalar output, or a_i ∈ R^c when vectorOut (for law counts with m outputs). */
export function reluSpec(bias: boolean, vectorOut = false): ModelSpec {
  const params: ModelSpec['params'] = vectorOut ? { a: ['c'], w: ['d'] } : { a: [], w: ['d'] };
  if (bias) params.b = [];
  return {
    name: 'relu',
    title: `Two-layer ReLU network f(x) = Σ_i a_i relu(w_iᵀx${bias ? ' + b_i' : ''})`,
    description: `Neuron i is (a_i, w_i${bias ? ', b_i' : ''}); each unit is active on its own half-space of inputs, so kinks cross data points during training. ${bias ? 'a_i² − ‖w_i‖² − b_i²' : 'a_i² − ‖w_i‖²'} is conserved for each unit.`,
    dims: vectorOut ? { d: 2, r: 6, c: 2 } : { d: 2, r: 6 },
    params,
    inputs: { x: ['d'] },
    output: vectorOut ? ['c'] : [],
    neurons: 'r',
    template: bias ? 'a * relu(dot(w, x) + b)' : 'a * relu(dot(w, x))',
    init: bias ? { a: { dist: 'normal' }, w: { dist: 'normal' }, b: { dist: 'normal' } } : { a: { dist: 'normal' }, w: { dist: 'normal' } },
    initConvention: 'every entry alpha·N(0, 1)',
  };
}

/** Scalar targets of the clustered data: class k of m gets −1 + 2k/(m − 1) (1 when m = 1). */
export function classValue(k: number, classes: number): number {
  return classes === 1 ? 1 : -1 + (2 * k) / (classes - 1);
}

function reluData(dims: Record<string, number>, rng: Parameters<NonNullable<ModelDefinition['generateData']>>[1], opts: Record<string, number>): Dataset {
  const which = opts.data ?? 0;
  if (which === 1) {
    if (dims.d !== 2) throw new GradflowError('the teacher–student data are 2-D: use --dim d=2 with --opt data=1');
    return teacherStudent(opts, rng);
  }
  if (which !== 0) throw new GradflowError(`--opt data must be 0 (clusters) or 1 (teacher–student), got ${which}`);
  const o = checkedClusterOptions(opts, dims.d, 12);
  const cl = clusters(o, rng);
  const Y = Float64Array.from(cl.labels, (k) => classValue(k, o.classes));
  return { X: cl.X, Y, n: o.n, dIn: dims.d, c: 1, source: `${describeClusters(o)}; y = −1 + 2·class/(classes − 1)` };
}

function definition(bias: boolean, vectorOut: boolean): ModelDefinition {
  const def: ModelDefinition = {
    spec: reluSpec(bias, vectorOut),
    options: { bias: '1: f_i = a_i relu(w_iᵀx + b_i) (default); 0: no bias, f_i = a_i relu(w_iᵀx)', ...RELU_DATA_OPTIONS },
    optionDomains: { bias: { values: [0, 1] }, ...RELU_DATA_DOMAINS },
    generateData: vectorOut ? undefined : reluData,
    knownLaws: [bias ? { text: 'a_i² − ‖w_i‖² − b_i² for each unit i', latex: 'a_i^2 - \\lVert w_i \\rVert^2 - b_i^2' } : { text: 'a_i² − ‖w_i‖² for each unit i', latex: 'a_i^2 - \\lVert w_i \\rVert^2' }],
  };
  return def;
}

const withBias = definition(true, false);
const noBias = definition(false, false);

/** The built-in `relu`: the bias option picks the template. */
export const relu: ModelDefinition = {
  ...withBias,
  variant(opts) {
    const b = opts.bias ?? 1;
    if (b !== 0 && b !== 1) throw new GradflowError(`--opt bias must be 0 or 1 (got ${b})`);
    return b === 1 ? withBias : noBias;
  },
};

/** The two-layer ReLU network with vector outputs a_i ∈ R^c (conservation-law counts for (n, r, m)). */
export function reluVector(bias: boolean): ModelDefinition {
  return definition(bias, true);
}
