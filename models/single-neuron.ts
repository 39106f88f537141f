/**
 * Single linear neuron f(x) = a·wᵀx (Kunin et al. 2024, "Get rich quick"; theory.md §1).
 * Conserved δ = a² − ‖w‖² sets the regime: lazy (δ ≫ 0), rich (δ = 0), delayed rich (δ ≪ 0).
 */
import type { ModelDefinition } from '../src/spec.ts';
import { CAPS } from '../src/util/limits.ts';
import type { Problem } from '../src/problem.ts';
import { gaussianTeacherData, moments, type Dataset } from '../src/data.ts';
import { GradflowError } from '../src/util/errors.ts';
import { dotv, maxAbsDiffFromIdentity, norm2 } from '../src/util/linalg.ts';
import { initFromAlphaDelta, saxeMode, whitenedData, whitenedSolution } from './closed-forms/single-neuron.ts';

/** Whitened data needs Σ_xx = I; a looser check would let the closed form silently disagree. */
function whitenedMoments(p: Problem): { betaStar: Float64Array; why: string | null } {
  const d = p.layout.dims.d;
  const { Sxx, Syx } = moments(p.data);
  const dev = maxAbsDiffFromIdentity(Sxx, d);
  if (dev > 1e-9) return { betaStar: Syx, why: `the data are not whitened (max |Σ_xx − I| = ${dev.toExponential(2)})` };
  if (norm2(Syx) === 0) return { betaStar: Syx, why: 'Σ_yx = 0 (nothing to learn)' };
  return { betaStar: Syx, why: null };
}

function split(theta: Float64Array): { a: number; w: Float64Array } {
  return { a: theta[0], w: theta.subarray(1) };
}

function pack(a: number, w: ArrayLike<number>): Float64Array {
  const th = new Float64Array(w.length + 1);
  th[0] = a;
  th.set(w, 1);
  return th;
}

function teacher(d: number, rng: { normal(): number }): Float64Array {
  const b = new Float64Array(d);
  for (let k = 0; k < d; k++) b[k] = (2 * rng.normal()) / Math.sqrt(d);
  return b;
}

export const singleNeuron: ModelDefinition = {
  spec: {
    name: 'single-neuron',
    title: 'Single linear neuron f(x) = a wᵀx',
    description: 'Two-layer linear network with one hidden unit; δ = a² − ‖w‖² is conserved and sets lazy / rich / delayed-rich learning.',
    dims: { d: 10 },
    params: { a: [], w: ['d'] },
    inputs: { x: ['d'] },
    output: [],
    neurons: 1,
    template: 'a * dot(w, x)',
    initConvention: '‖β0‖ = alpha² with β = a·w, a0 > 0, δ = a0² − ‖w0‖² (default 0), w0 along a seeded unit vector; at δ = 0, a0 = ‖w0‖ = alpha',
  },
  options: {
    delta: 'δ = a0² − ‖w0‖², the conserved quantity (default 0)',
    n: 'number of samples of the generated data (default max(2d, 20))',
    whitened: '1: whitened inputs, Σ_xx = I exactly (default); 0: Gaussian inputs with covariance diag(1, 1/2, …, 1/d)',
    noise: 'standard deviation of label noise (default 0)',
  },
  optionDomains: {
    delta: {},
    n: { integer: true, min: 1, max: CAPS.samples.value },
    whitened: { values: [0, 1] },
    noise: { min: 0 },
  },
  generateData(dims, rng, opts): Dataset {
    const d = dims.d;
    const n = opts.n ?? Math.max(2 * d, 20);
    const betaStar = teacher(d, rng);
    if ((opts.whitened ?? 1) !== 0) {
      if (n < d) throw new GradflowError(`whitened data need n ≥ d (n = ${n}, d = ${d})`);
      const w = whitenedData(n, d, betaStar, rng as never, opts.noise ?? 0);
      return { X: w.X, Y: w.y, n, dIn: d, c: 1, source: `whitened Gaussian inputs (Σ_xx = I), y = Xβ*, ‖β*‖ = ${norm2(betaStar).toPrecision(4)}, n = ${n}` };
    }
    const { X, Y } = gaussianTeacherData(n, d, betaStar, rng, opts.noise ?? 0);
    return { X, Y, n, dIn: d, c: 1, source: `Gaussian inputs, covariance diag(1, 1/2, …, 1/d), y = Xβ*, n = ${n}` };
  },
  init(dims, _H, opts, rng) {
    const { a0, w0 } = initFromAlphaDelta(opts.alpha, opts.extra.delta ?? 0, rng.unitVector(dims.d));
    return pack(a0, w0);
  },
  monitors: () => [
    { name: 'delta', fn: (th) => th[0] * th[0] - dotv(th.subarray(1), th.subarray(1)) },
    { name: 'beta_norm', fn: (th) => Math.abs(th[0]) * norm2(th.subarray(1)) },
  ],
  knownLaws: [{ text: 'δ = a² − ‖w‖²', latex: '\\delta = a^2 - \\lVert w \\rVert^2' }],
  exact: [
    {
      name: 'whitened',
      description: 'exact solution for whitened inputs (Riccati equation for ν = wᵀβ*/a, Bernoulli equation for a²)',
      applies: (p) => whitenedMoments(p).why,
      solve(p) {
        const { betaStar } = whitenedMoments(p);
        const { a, w } = split(p.theta0);
        const at = whitenedSolution(a, Float64Array.from(w), betaStar);
        return (t) => {
          const s = at(t);
          return pack(s.a, s.w);
        };
      },
    },
    {
      name: 'saxe',
      description: "Saxe et al. (2014) sigmoid for a balanced (δ = 0) start aligned with β*: u = a‖w‖ obeys u̇ = 2u(s − u)",
      applies(p) {
        const { betaStar, why } = whitenedMoments(p);
        if (why) return why;
        const { a, w } = split(p.theta0);
        const wn = norm2(w), s = norm2(betaStar);
        if (Math.abs(a * a - wn * wn) > 1e-12 * (a * a + wn * wn)) return 'the start is not balanced (δ ≠ 0)';
        if (Math.abs(Math.abs(dotv(w, betaStar)) - wn * s) > 1e-12 * wn * s) return 'w0 is not aligned with β*';
        if (a <= 0 || dotv(w, betaStar) <= 0) return 'the mode must start with a > 0 and w0·β* > 0';
        return null;
      },
      solve(p) {
        const { betaStar } = whitenedMoments(p);
        const { a, w } = split(p.theta0);
        const s = norm2(betaStar);
        const u = saxeMode(s, a * norm2(w));
        const dir = betaStar.map((b) => b / s);
        return (t) => {
          const r = Math.sqrt(u(t));
          return pack(r, dir.map((b) => r * b));
        };
      },
    },
  ],
};

/**
 * Drift of δ relative to the size of the terms it balances, max_t |δ(t) − δ(0)| / max_t (a² + ‖w‖²):
 * at δ = 0 the law is a cancellation between two terms of size ~alpha², so dividing by |δ(0)| would be meaningless.
 */
export function lawDrift(deltas: number[], states: Float64Array[]): number {
  let drift = 0, scale = 0;
  for (let k = 0; k < deltas.length; k++) {
    drift = Math.max(drift, Math.abs(deltas[k] - deltas[0]));
    scale = Math.max(scale, dotv(states[k], states[k]));
  }
  return drift / scale;
}
