/**
 * Diagonal linear network f(x) = (u ⊙ v)ᵀx, β = u ⊙ v (theory.md §4). Neuron i is the
 * coordinate pair (u_i, v_i); it starts at u = √2·alpha, v = 0, so every neuron has norm √2·alpha
 * and β(0) = 0.
 */
import type { ModelDefinition } from '../src/spec.ts';
import { gaussianTeacherData, type Dataset } from '../src/data.ts';
import { GradflowError } from '../src/util/errors.ts';
import { CAPS } from '../src/util/limits.ts';

/** The worked 2-D example of theory.md §4: Σ = R·diag(1, 25)·Rᵀ (R: rotation by 150°), X = chol(Σ), β* = (−0.2, 2). */
export function example2d(): Dataset {
  const th = (150 * Math.PI) / 180;
  const c = Math.cos(th), s = Math.sin(th);
  // Σ = R diag(1, 25) Rᵀ
  const S00 = c * c * 1 + s * s * 25;
  const S01 = c * s * 1 - s * c * 25;
  const S11 = s * s * 1 + c * c * 25;
  // lower-triangular Cholesky factor L with L Lᵀ = Σ; X = L (n = d = 2)
  const L00 = Math.sqrt(S00);
  const L10 = S01 / L00;
  const L11 = Math.sqrt(S11 - L10 * L10);
  const X = Float64Array.from([L00, 0, L10, L11]);
  const b = [-0.2, 2];
  const Y = Float64Array.from([X[0] * b[0] + X[1] * b[1], X[2] * b[0] + X[3] * b[1]]);
  return { X, Y, n: 2, dIn: 2, c: 1, source: '2-D worked example (a deactivation, then a reactivation with the opposite sign): X = chol(R·diag(1,25)·Rᵀ), R = rotation by 150°, β* = (−0.2, 2)' };
}

export const diagonal: ModelDefinition = {
  spec: {
    name: 'diagonal',
    title: 'Diagonal linear network f(x) = (u ⊙ v)ᵀx',
    description: 'Each coordinate i is a neuron (u_i, v_i) with f_i = u_i v_i x_i; small initialisation gives saddle-to-saddle (incremental) learning.',
    dims: { d: 5 },
    params: { u: [], v: [] },
    inputs: { x: ['d'] },
    output: [],
    neurons: 'd',
    template: 'u * v * x[i]',
    init: { u: { dist: 'constant', scale: Math.SQRT2 }, v: { dist: 'zero' } },
    initConvention: 'u = sqrt(2)·alpha, v = 0',
  },
  options: {
    n: 'number of samples of the generated data (default 40)',
    sparsity: 'number of non-zero entries of β* (default: all d)',
    example: '1: the 2-D worked example with a deactivation and a sign-flipping reactivation (overrides d and the generator)',
    noise: 'standard deviation of label noise (default 0)',
  },
  optionDomains: {
    n: { integer: true, min: 1, max: CAPS.samples.value },
    sparsity: { integer: true, min: 0 },
    example: { values: [0, 1] },
    noise: { min: 0 },
  },
  generateData(dims, rng, opts): Dataset {
    if ((opts.example ?? 0) === 1) {
      if (dims.d !== 2) throw new GradflowError('the worked example has d = 2: use --dim d=2 with --opt example=1');
      return example2d();
    }
    const d = dims.d;
    const n = opts.n ?? 40;
    if (!Number.isInteger(n) || n < 1) throw new GradflowError(`--opt n must be a positive integer (got ${n})`);
    const k = opts.sparsity ?? d;
    const betaStar = new Float64Array(d);
    for (let q = 0; q < Math.min(k, d); q++) betaStar[q] = rng.normal() * 2;
    const { X, Y } = gaussianTeacherData(n, d, betaStar, rng, opts.noise ?? 0);
    return { X, Y, n, dIn: d, c: 1, source: `Gaussian inputs, covariance diag(1, 1/2, …, 1/d), y = Xβ* with ${Math.min(k, d)} non-zero entries ~ N(0, 4), n = ${n}` };
  },
  monitors: (layout) => [
    { name: '‖β‖₁', fn: (th) => {
      let s = 0;
      for (let i = 0; i < layout.H; i++) s += Math.abs(th[2 * i] * th[2 * i + 1]);
      return s;
    } },
  ],
  knownLaws: [{ text: 'u_i² − v_i² for each i', latex: 'u_i^2 - v_i^2' }],
};
