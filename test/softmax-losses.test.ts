/**
 * exp / log / σ / softplus / logsumexp / softmax as symbolic nodes and the softmax losses, checked
 * against independent sources: symbolic gradients against central finite differences of the
 * tree-walking evaluator, compiled kernels against the evaluator and against finite differences
 * of themselves, closed forms at logits ±1000 (no overflow), 1ᵀG = 0 numerically for the losses
 * the simplifier calls translation-invariant.
 */
import { describe, expect, it } from 'vitest';
import { type Sym, sym } from '../src/symbolic/expr.ts';
import { parseTemplate } from '../src/symbolic/parse.ts';
import { grad } from '../src/symbolic/diff.ts';
import { evaluate, type Value } from '../src/symbolic/evaluate.ts';
import { toLatex, toText } from '../src/symbolic/print.ts';
import { simplify } from '../src/symbolic/simplify.ts';
import { buildLoss, LOSS_NAMES, parseLossChoice, type LossName } from '../src/symbolic/losses.ts';
import { deriveModel, equations } from '../src/symbolic/derive.ts';
import { compileModel } from '../src/compile/kernels.ts';
import { createProblem } from '../src/problem.ts';
import { softmax, softmaxMlp } from '../models/softmax.ts';
import { Rng } from '../src/util/rng.ts';

const V = 5;

function env(entries: [Sym, Float64Array | number][]): Map<string, Value> {
  return new Map(entries.map(([s, v]) => [s.name, typeof v === 'number' ? v : { data: v, shape: [v.length] }]));
}

/** Central finite difference of a scalar expression in one vector symbol. */
function fdGrad(f: (v: Float64Array) => number, at: Float64Array, h = 1e-6): Float64Array {
  return at.map((_, k) => {
    const p = Float64Array.from(at), m = Float64Array.from(at);
    p[k] += h;
    m[k] -= h;
    return (f(p) - f(m)) / (2 * h);
  });
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let e = 0;
  for (let k = 0; k < a.length; k++) e = Math.max(e, Math.abs(a[k] - b[k]));
  return e;
};

describe('new nodes: derivatives against finite differences', () => {
  const w = sym('w', [V], 'param'), x = sym('x', [V], 'input');
  const scope = new Map([['w', w], ['x', x]]);
  const cases = [
    'logsumexp(w * x)',
    'dot(softmax(w), x)',
    'sum(exp(w) * x)',
    'sum(log(exp(w) + 2) * x)',
    'sigmoid(dot(w, x))',
    'softplus(dot(w, x)) + softplus(-dot(w, x))',
    'dot(log(softmax(w)), x)',
    'logsumexp(softmax(w) * x)',
  ];
  const rng = new Rng(3);
  for (const src of cases) {
    it(src, () => {
      const f = parseTemplate(src, scope);
      const g = grad(f, w);
      for (let trial = 0; trial < 3; trial++) {
        const wv = rng.normalArray(V), xv = rng.normalArray(V);
        const ev = (wq: Float64Array): number => evaluate(f, env([[w, wq], [x, xv]])) as number;
        const sym = (evaluate(g, env([[w, wv], [x, xv]])) as { data: Float64Array }).data;
        expect(maxAbs(sym, fdGrad(ev, wv))).toBeLessThan(1e-7);
      }
    });
  }

  it('simplifies 1ᵀsoftmax(z) to 1 and log(exp(z)) to z; prints text and LaTeX', () => {
    const z = sym('z', [V], 'output');
    const s = new Map([['z', z]]);
    expect(simplify(parseTemplate('sum(softmax(z))', s))).toEqual({ kind: 'num', value: 1 });
    expect(simplify(parseTemplate('log(exp(z))', s))).toBe(z);
    expect(toText(parseTemplate('logsumexp(z) - dot(z, softmax(z))', s))).toBe('logsumexp(z) − zᵀsoftmax(z)');
    expect(toText(parseTemplate('sigmoid(sum(z))', s))).toBe('σ(𝟏ᵀ z)');
    expect(toLatex(parseTemplate('exp(z) * log(z)', s))).toContain('\\exp\\left(z\\right)');
  });
});

/** Random targets for a loss: a one-hot (or soft) y, or chosen/rejected one-hots and reference logits. */
function targetsFor(name: LossName, rng: Rng): Float64Array[] {
  const oneHot = (k: number): Float64Array => Float64Array.from({ length: V }, (_, j) => (j === k ? 1 : 0));
  if (name === 'mse') return [rng.normalArray(V)];
  if (name === 'cross-entropy' || name === 'label-smoothing') return [oneHot(2)];
  return [oneHot(1), oneHot(3), rng.normalArray(V)];
}

describe('losses: G = ∇_z ℓ against finite differences; 1ᵀG = 0', () => {
  const rng = new Rng(11);
  for (const name of LOSS_NAMES) {
    it(name, () => {
      const L = buildLoss({ name, beta: name === 'dpo' ? 0.7 : undefined }, [V], { V });
      for (let trial = 0; trial < 3; trial++) {
        const zv = rng.normalArray(V, 2);
        const ts = targetsFor(name, rng);
        const base: [Sym, Float64Array][] = L.targets.map((t, k) => [t, ts[k]]);
        const ell = (zq: Float64Array): number => evaluate(L.expr, env([[L.z, zq], ...base])) as number;
        const G = (evaluate(L.grad, env([[L.z, zv], ...base])) as { data: Float64Array }).data;
        expect(maxAbs(G, fdGrad(ell, zv))).toBeLessThan(1e-7);
        const sumG = G.reduce((a, b) => a + b, 0);
        if (L.translationInvariant) expect(Math.abs(sumG)).toBeLessThan(1e-12);
        // invariance, independently of G: ℓ(z + s1) = ℓ(z)
        const shifted = zv.map((v) => v + 3.7);
        if (name !== 'mse') expect(Math.abs(ell(shifted) - ell(zv))).toBeLessThan(1e-12 * Math.max(1, Math.abs(ell(zv))));
      }
      expect(L.translationInvariant).toBe(name !== 'mse');
    });
  }

  it('cross-entropy of a one-hot label is −log π_y; label smoothing is cross-entropy against (1 − ε) y + ε/V', () => {
    const zv = rng.normalArray(V);
    const m = Math.max(...zv);
    const logZ = m + Math.log(zv.reduce((s, v) => s + Math.exp(v - m), 0));
    const y = Float64Array.from({ length: V }, (_, j) => (j === 2 ? 1 : 0));
    const ce = buildLoss({ name: 'cross-entropy' }, [V]);
    expect(evaluate(ce.expr, env([[ce.z, zv], [ce.targets[0], y]])) as number).toBeCloseTo(logZ - zv[2], 12);
    const eps = 0.3;
    const ls = buildLoss({ name: 'label-smoothing', epsilon: eps }, [V], { V });
    const t = y.map((v) => (1 - eps) * v + eps / V);
    const byHand = t.reduce((s, tk, k) => s - tk * (zv[k] - logZ), 0);
    expect(evaluate(ls.expr, env([[ls.z, zv], [ls.targets[0], y]])) as number).toBeCloseTo(byHand, 12);
  });
});

describe('compiled softmax kernels', () => {
  for (const [def, label] of [[softmax, 'softmax'], [softmaxMlp, 'softmax-mlp']] as const) {
    for (const name of ['cross-entropy', 'label-smoothing', 'sft', 'dpo', 'neg-grad'] as const) {
      it(`${label} / ${name}: ∇L matches finite differences of L; L matches the evaluator`, () => {
        const p = createProblem(def, { alpha: 0.8, seed: 2, loss: { name }, options: { n: 12 } });
        const { kernels: k, data } = p;
        const g = new Float64Array(p.theta0.length);
        const L = k.lossGrad(p.theta0, data.X, data.Y, data.n, g);
        const fd = fdGrad((th) => k.loss(th, data.X, data.Y, data.n), p.theta0);
        expect(maxAbs(g, fd)).toBeLessThan(1e-7);
        // the evaluator's ℓ at the compiled forward outputs (an independent implementation of ℓ)
        const Z = new Float64Array(data.n * p.layout.c);
        k.forward(p.theta0, data.X, data.n, Z);
        const c = p.layout.c;
        let byEval = 0;
        for (let j = 0; j < data.n; j++) {
          const row = data.Y.subarray(j * k.targetWidth, (j + 1) * k.targetWidth);
          const e = env([[k.lossForm.z, Z.slice(j * c, (j + 1) * c)], ...k.lossForm.targets.map((t, q): [Sym, Float64Array] => [t, row.slice(q * c, (q + 1) * c)])]);
          byEval += evaluate(k.lossForm.expr, e) as number;
        }
        expect(L).toBeCloseTo(byEval / data.n, 12);
      });
    }
  }

  it('is stable at logits ±1000: cross-entropy, its gradient and DPO against closed forms', () => {
    const spec = { name: 'free', dims: { V: 3 }, params: { z: ['V'] }, inputs: { x: [1] }, output: ['V'], neurons: 1, template: 'z * x[0]' };
    const ce = compileModel(deriveModel({ ...spec, loss: 'cross-entropy' }));
    const Z = Float64Array.from([1000, -1000, 0]);
    const G = new Float64Array(3);
    // label 1 (logit −1000): ℓ = logsumexp(z) − z_1 = 1000 + log(1 + e^−1000 + e^−2000) + 1000 = 2000
    expect(ce.outputLoss(Z, Float64Array.from([0, 1, 0]), 1, G)).toBe(2000);
    expect([...G]).toEqual([1, -1, Math.exp(-1000)]);
    // label 0: ℓ = log(1 + e^−1000 + e^−2000) underflows to 0 exactly, G = π − e_0 = (0, ~0, ~0)
    expect(ce.outputLoss(Z, Float64Array.from([1, 0, 0]), 1, G)).toBe(0);
    expect(G.every(Number.isFinite)).toBe(true);
    const dpo = compileModel(deriveModel({ ...spec, loss: { name: 'dpo', beta: 1 } }));
    // chosen 0, rejected 1, reference 0: margin u = z_0 − z_1 = 2000, ℓ = softplus(−2000) = e^−2000 → 0
    const T = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(dpo.outputLoss(Z, T, 1, G)).toBe(0);
    // chosen 1, rejected 0: u = −2000, ℓ = 2000, G = −β σ(2000)(e_1 − e_0) = (1, −1, 0)
    const T2 = Float64Array.from([0, 1, 0, 1, 0, 0, 0, 0, 0]);
    expect(Math.abs(dpo.outputLoss(Z, T2, 1, G) - 2000)).toBeLessThan(1e-12 * 2000); // the margin's terms round at 2000·2⁻⁵²
    expect(maxAbs(G, [1, -1, 0])).toBeLessThan(1e-15);
  });
});

describe('the loss named by a spec', () => {
  it('MSE stays the default; derive prints a softmax model’s loss, G and flows', () => {
    const mse = deriveModel({ name: 'lin', dims: { d: 2, c: 2 }, params: { W: ['c', 'd'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 1, template: 'W @ x' });
    expect(mse.loss.name).toBe('mse');
    const d = deriveModel(softmax.spec);
    const text = equations(d).map((e) => `${e.label}: ${e.text}`).join('\n');
    expect(text).toContain('ℓ = 𝟏ᵀ y logsumexp(z) − yᵀz');
    expect(text).toContain('G = ∇_z ℓ = 𝟏ᵀ y softmax(z) − y   (1ᵀG = 0)');
    expect(text).toContain('dW/dt = −(1/n) Σ_j [e xᵀ]_{x = x_j, e = e_j},  e_j = G(z_j)');
    expect(equations(d, { name: 'dpo' }).find((e) => e.label === 'margin')?.text).toContain('u = 0.1 pᵀz');
  });

  it('rejects unknown losses and out-of-range options with one clear message', () => {
    expect(() => parseLossChoice('hinge', 'spec x')).toThrow(/"loss" must be one of mse, cross-entropy/);
    expect(() => parseLossChoice({ name: 'dpo', beta: -1 }, 'spec x')).toThrow(/beta must be a positive number/);
    expect(() => parseLossChoice({ name: 'label-smoothing', epsilon: 1 }, 'spec x')).toThrow(/epsilon must be a number in \[0, 1\)/);
    expect(() => parseLossChoice({ name: 'cross-entropy', beta: 1 }, 'spec x')).toThrow(/beta applies to dpo only/);
    expect(() => deriveModel({ name: 's', dims: { d: 2 }, params: { w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 1, template: 'dot(w, x)', loss: 'cross-entropy' })).toThrow(/needs a vector output/);
  });
});
