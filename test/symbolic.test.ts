/**
 * The symbolic layer checked against independent sources: symbolic gradients against central
 * finite differences of a tree-walking evaluator, homogeneity degrees against f(sθ) = s^κ f(θ)
 * numerically, printing against the textbook form of the single-neuron flow, and parse errors.
 */
import { describe, expect, it } from 'vitest';
import { type Expr, type Sym, bindDims, sym } from '../src/symbolic/expr.ts';
import { parseTemplate, TemplateSyntaxError } from '../src/symbolic/parse.ts';
import { grad, vjp } from '../src/symbolic/diff.ts';
import { simplify } from '../src/symbolic/simplify.ts';
import { evaluate, type Value } from '../src/symbolic/evaluate.ts';
import { deriveModel, equations } from '../src/symbolic/derive.ts';
import { homogeneityDegree } from '../src/symbolic/degree.ts';
import { Rng } from '../src/util/rng.ts';
import type { ModelSpec } from '../src/spec.ts';

const DIMS = { d: 4, c: 3, p: 3, m: 2 };

interface Case { name: string; template: string; params: Record<string, (string | number)[]>; inputs: Record<string, (string | number)[]>; output: (string | number)[]; kappa: number | null }

const CASES: Case[] = [
  { name: 'single neuron', template: 'a * dot(w, x)', params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], kappa: 2 },
  { name: 'diagonal', template: 'u * v * x[i]', params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], kappa: 2 },
  { name: 'three-factor diagonal', template: 'u * v * s * x[i]', params: { u: [], v: [], s: [] }, inputs: { x: ['d'] }, output: [], kappa: 3 },
  { name: 'two-layer linear (vector output)', template: 'a * dot(w, x)', params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], kappa: 2 },
  { name: 'quadratic modular', template: 'w * (dot(u, xa) + dot(v, xb))^2', params: { u: ['p'], v: ['p'], w: ['p'] }, inputs: { xa: ['p'], xb: ['p'] }, output: ['p'], kappa: 3 },
  { name: 'relu unit', template: 'a * relu(dot(w, x))', params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], kappa: 2 },
  { name: 'matrix layer', template: 'sum(b * relu(A @ x))', params: { A: ['m', 'd'], b: ['m'] }, inputs: { x: ['d'] }, output: [], kappa: 2 },
  { name: 'not homogeneous (bias)', template: 'a * dot(w, x) + b', params: { a: [], w: ['d'], b: [] }, inputs: { x: ['d'] }, output: [], kappa: null },
];

function specOf(c: Case): ModelSpec {
  return { name: c.name.replace(/\W+/g, '-'), dims: { d: 4, c: 3, p: 3, m: 2 }, params: c.params, inputs: c.inputs, output: c.output, neurons: 1, template: c.template };
}

function randomEnv(syms: Sym[], rng: Rng): Map<string, Value> {
  const env = new Map<string, Value>();
  for (const s of syms) {
    const shape = s.shape.map((d) => (typeof d === 'number' ? d : DIMS[d as keyof typeof DIMS]));
    env.set(s.name, shape.length === 0 ? rng.normal() : { data: rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape });
  }
  env.set('i', 2);
  return env;
}

function asArray(v: Value): Float64Array {
  return typeof v === 'number' ? Float64Array.of(v) : v.data;
}

describe('symbolic gradients agree with finite differences of the evaluator', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const m = deriveModel(specOf(c));
      const rng = new Rng(7);
      const bind = (e: Expr): Expr => bindDims(e, DIMS);
      const f = bind(m.template);
      const env = randomEnv([...m.params, ...m.inputs, m.residual].map((s) => bind(s) as Sym), rng);
      const e = env.get('e')!;
      // ⟨e, f⟩ evaluated directly: the scalar whose gradient the vjp claims to be
      const phi = (en: Map<string, Value>): number => {
        const fv = asArray(evaluate(f, en));
        const ev = asArray(e);
        return fv.reduce((s, x, k) => s + x * ev[k], 0);
      };
      for (const p of m.params) {
        const g = asArray(evaluate(bind(m.vjps.get(p.name)!), env));
        const base = asArray(env.get(p.name)!);
        for (let k = 0; k < base.length; k++) {
          const h = 1e-6;
          const plus = new Map(env), minus = new Map(env);
          const bp = base.slice(), bm = base.slice();
          bp[k] += h; bm[k] -= h;
          const wrap = (a: Float64Array): Value => (base.length === 1 && typeof env.get(p.name) === 'number' ? a[0] : { data: a, shape: (env.get(p.name) as { shape: number[] }).shape });
          plus.set(p.name, wrap(bp)); minus.set(p.name, wrap(bm));
          const fd = (phi(plus) - phi(minus)) / (2 * h);
          expect(Math.abs(g[k] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        }
      }
    });
  }
});

describe('homogeneity degree κ', () => {
  for (const c of CASES) {
    it(`${c.name}: κ = ${c.kappa}`, () => {
      const m = deriveModel(specOf(c));
      expect(m.kappa).toBe(c.kappa);
      if (c.kappa === null) return;
      // independent check: f(sθ) = s^κ f(θ) at a random point
      const bind = (e: Expr): Expr => bindDims(e, DIMS);
      const rng = new Rng(3);
      const env = randomEnv([...m.params, ...m.inputs].map((s) => bind(s) as Sym), rng);
      const s = 1.7;
      const scaled = new Map(env);
      for (const p of m.params) {
        const v = env.get(p.name)!;
        scaled.set(p.name, typeof v === 'number' ? s * v : { data: v.data.map((x) => s * x), shape: v.shape });
      }
      const f0 = asArray(evaluate(bind(m.template), env)), f1 = asArray(evaluate(bind(m.template), scaled));
      for (let k = 0; k < f0.length; k++) expect(f1[k]).toBeCloseTo(s ** c.kappa * f0[k], 10);
    });
  }
});

describe('derived equations read like the textbook', () => {
  it('single neuron: ȧ = −wᵀ(Σ_xx a w − Σ_yx), ẇ = −a(Σ_xx a w − Σ_yx)', () => {
    const eqs = equations(deriveModel(specOf(CASES[0])));
    const text = eqs.map((e) => e.text);
    expect(text).toContain('da/dt = −wᵀ(Σ_xx (a w) − Σ_yx)');
    expect(text).toContain('dw/dt = −a (Σ_xx (a w) − Σ_yx)');
    expect(text.find((t) => t.startsWith('∂f/∂w'))).toBe('∂f/∂w = a x');
    const latex = eqs.map((e) => e.latex).join('\n');
    expect(latex).toContain('\\dot{a} = -w^{\\top} \\left(\\Sigma_{xx}\\, \\left(a\\, w\\right) - \\Sigma_{yx}\\right)');
  });

  it('moment form equals the sample form: ∇_θ f(x := g) = E[(f − y)∇_θ f] for a linear model', () => {
    // independent check of the substitution trick at a random point with explicit data
    const m = deriveModel(specOf(CASES[0]));
    const rng = new Rng(11);
    const d = 4, n = 9;
    const a = rng.normal(), w = rng.normalArray(d), X = rng.normalArray(n * d), y = rng.normalArray(n);
    const sample = new Float64Array(d + 1);
    const gvec = new Float64Array(d);
    for (let j = 0; j < n; j++) {
      const x = X.subarray(j * d, (j + 1) * d);
      const f = a * x.reduce((s, xk, k) => s + xk * w[k], 0);
      const r = f - y[j];
      sample[0] += (r * x.reduce((s, xk, k) => s + xk * w[k], 0)) / n;
      for (let k = 0; k < d; k++) { sample[1 + k] += (r * a * x[k]) / n; gvec[k] += (r * x[k]) / n; }
    }
    const env = new Map<string, Value>([['a', a], ['w', { data: w, shape: [d] }], ['g', { data: gvec, shape: [d] }]]);
    const ra = evaluate(bindDims(m.moment!.rhs.get('a')!, DIMS), env) as number;
    const rw = (evaluate(bindDims(m.moment!.rhs.get('w')!, DIMS), env) as { data: Float64Array }).data;
    expect(ra).toBeCloseTo(-sample[0], 12);
    for (let k = 0; k < d; k++) expect(rw[k]).toBeCloseTo(-sample[1 + k], 12);
  });

  it('simplify collects like terms and folds constants', () => {
    const a = sym('a'), b = sym('b');
    const scope = new Map([['a', a], ['b', b]]);
    const e = simplify(parseTemplate('2*a*b + 3*b*a - a*b*5 + (a - a)*b', scope));
    expect(e).toEqual({ kind: 'num', value: 0 });
    expect(homogeneityDegree(simplify(parseTemplate('a^2*b + b^3', scope)), new Set(['a', 'b']))).toBe(3);
  });

  it('vjp of a vector-output template is a vector-Jacobian product', () => {
    const w = sym('w', [3]), x = sym('x', [3], 'input'), e = sym('e', [3], 'residual');
    const scope = new Map([['w', w], ['x', x]]);
    const f = parseTemplate('w * x', scope);
    const g = vjp(f, e, w);
    // ∇_w ⟨e, w ⊙ x⟩ = e ⊙ x
    const env = new Map<string, Value>([['e', { data: Float64Array.of(1, 2, 3), shape: [3] }], ['x', { data: Float64Array.of(4, 5, 6), shape: [3] }], ['w', { data: Float64Array.of(0, 0, 0), shape: [3] }]]);
    expect(Array.from((evaluate(g, env) as { data: Float64Array }).data)).toEqual([4, 10, 18]);
    expect(grad(parseTemplate('dot(w, x)', scope), w)).toEqual(x);
  });
});

describe('template errors name the problem and the column', () => {
  const scope = new Map<string, Sym>([['a', sym('a')], ['w', sym('w', ['d'])], ['x', sym('x', ['d'], 'input')]]);
  const bad: [string, RegExp][] = [
    ['a * dot(q, x)', /undefined symbol 'q'.*column 9/],
    ['a * (w', /expected '\)'/],
    ['dot(a, x)', /dot\(…\) needs two vectors/],
    ['a / w', /division is only by a number/],
    ['a ^ 1.5', /exponent must be a non-negative integer/],
    ['foo(a)', /unknown function 'foo'/],
    ['a $ b', /unexpected character '\$'/],
    ['a * dot(w, x) +', /unexpected end/],
    ['w + a * x * w + x[', /unexpected end|expected/],
  ];
  for (const [src, re] of bad) {
    it(src, () => {
      expect(() => parseTemplate(src, scope)).toThrow(TemplateSyntaxError);
      expect(() => parseTemplate(src, scope)).toThrow(re);
    });
  }
});
