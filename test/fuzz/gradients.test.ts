/**
 * Property test: for randomly generated valid templates (scalars a, b, vectors w, u, input x,
 * indices by constants and by the neuron index, products, sums, powers, dot products), the
 * compiled loss gradient matches central finite differences of the compiled loss. A kernel that
 * read past a parameter (issue 12, finding 1) or mis-derived a product would fail here.
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/specfile.ts';
import { createProblem } from '../../src/problem.ts';
import { Rng } from '../../src/util/rng.ts';
import { GradflowError } from '../../src/util/errors.ts';

const D = 3;
const NEURONS = 2;

function template(rng: Rng): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rng.uniform() * xs.length)];
  const index = (): string => pick(['0', '1', '2', 'i', 'i + 1', '2 - i']);
  const scalar = (depth: number): string => {
    if (depth === 0) return pick(['a', 'b', `${pick(['w', 'u', 'x'])}[${index()}]`, String(1 + Math.floor(rng.uniform() * 3))]);
    switch (Math.floor(rng.uniform() * 7)) {
      case 0: return `dot(${vector(depth - 1)}, ${vector(depth - 1)})`;
      case 1: return `sum(${vector(depth - 1)})`;
      case 2: return `${scalar(depth - 1)} * ${scalar(depth - 1)}`;
      case 3: return `(${scalar(depth - 1)} ${pick(['+', '-'])} ${scalar(depth - 1)})`;
      case 4: return `(${scalar(depth - 1)})^${pick([2, 3])}`;
      case 5: return `${vector(depth - 1)}[${index()}]`;
      default: return `sq(${scalar(depth - 1)})`;
    }
  };
  const vector = (depth: number): string => {
    if (depth === 0) return pick(['w', 'u', 'x']);
    switch (Math.floor(rng.uniform() * 4)) {
      case 0: return `${scalar(depth - 1)} * ${vector(depth - 1)}`;
      case 1: return `${vector(depth - 1)} * ${vector(depth - 1)}`;
      case 2: return `(${vector(depth - 1)} ${pick(['+', '-'])} ${vector(depth - 1)})`;
      default: return vector(0);
    }
  };
  // every template touches the input, so the loss is a genuine regression loss
  return `(${scalar(2)}) * dot(${vector(1)}, x) + ${scalar(1)} * x[${index()}]`;
}

function specText(tpl: string): string {
  return JSON.stringify({
    name: 'random', dims: { d: D }, params: { a: [], b: [], w: ['d'], u: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: NEURONS, template: tpl,
  });
}

describe('compiled gradients of random templates match finite differences of the loss', () => {
  const rng = new Rng(20261201);
  const templates: string[] = [];
  while (templates.length < 60) {
    const t = template(rng);
    try {
      parseSpec(specText(t), 'random');
      templates.push(t);
    } catch (err) {
      // a draw past the degree cap is refused (one line, GradflowError) and redrawn
      if (!(err instanceof GradflowError)) throw err;
    }
  }
  it.each(templates.map((t, k) => [k, t]))('template %i: %s', (k, tpl) => {
    const def = parseSpec(specText(tpl as string), 'random');
    const p = createProblem(def, { seed: k as number, alpha: 1 });
    const { X, Y, n } = p.data;
    const th = new Rng(1000 + (k as number)).normalArray(p.layout.H * p.layout.P, 0.5);
    const g = new Float64Array(th.length);
    const L = p.kernels.lossGrad(th, X, Y, n, g);
    expect(L).toBeCloseTo(p.kernels.loss(th, X, Y, n), 10);
    for (let q = 0; q < th.length; q++) {
      const h = 1e-5 * Math.max(1, Math.abs(th[q]));
      const plus = Float64Array.from(th), minus = Float64Array.from(th);
      plus[q] += h;
      minus[q] -= h;
      const fd = (p.kernels.loss(plus, X, Y, n) - p.kernels.loss(minus, X, Y, n)) / (2 * h);
      // central differences: O(h²) truncation plus O(eps·L/h) round-off
      expect(Math.abs(g[q] - fd)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(g[q]) + Math.abs(L)));
    }
  });
});
