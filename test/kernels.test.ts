/**
 * Generated kernels against an independent reference: the tree-walking evaluator (no code
 * generation) for values, and central finite differences for every gradient kernel.
 */
import { describe, expect, it } from 'vitest';
import { type Expr, bindDims } from '../src/symbolic/expr.ts';
import { evaluate, type Value } from '../src/symbolic/evaluate.ts';
import { deriveModel } from '../src/symbolic/derive.ts';
import { compileModel } from '../src/compile/kernels.ts';
import { Rng } from '../src/util/rng.ts';
import type { ModelSpec } from '../src/spec.ts';

const SPECS: ModelSpec[] = [
  { name: 'single', dims: { d: 6 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 1, template: 'a * dot(w, x)' },
  { name: 'single unit, vector output (one-pass kernel)', dims: { d: 3, c: 2 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 1, template: 'a * dot(w, x)' },
  { name: 'diagonal', dims: { d: 5 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' },
  { name: 'linear', dims: { d: 4, c: 3, h: 3 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)' },
  { name: 'modular', dims: { p: 5, h: 4 }, params: { u: ['p'], v: ['p'], w: ['p'] }, inputs: { xa: ['p'], xb: ['p'] }, output: ['p'], neurons: 'h', template: 'w * (dot(u, xa) + dot(v, xb))^2' },
  { name: 'relu', dims: { d: 3, h: 4 }, params: { a: [], w: ['d'], b: [] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * relu(dot(w, x) + b)' },
  { name: 'matrix', dims: { d: 3, m: 2 }, params: { A: ['m', 'd'], b: ['m'] }, inputs: { x: ['d'] }, output: [], neurons: 2, template: 'sum(b * relu(A @ x)) + sq(dot(b, A @ x))' },
];

/** f_i(x_j) by the evaluator, as a flat array of the output's size. */
function referenceNeuron(spec: ModelSpec, tmpl: Expr, layout: ReturnType<typeof compileModel>['layout'], th: Float64Array, X: Float64Array, i: number, j: number): Float64Array {
  const env = new Map<string, Value>();
  for (const s of layout.params) {
    const v = th.slice(i * layout.P + s.offset, i * layout.P + s.offset + s.size);
    env.set(s.name, s.shape.length === 0 ? v[0] : { data: v, shape: s.shape });
  }
  for (const s of layout.inputs) {
    const v = X.slice(j * layout.dIn + s.offset, j * layout.dIn + s.offset + s.size);
    env.set(s.name, s.shape.length === 0 ? v[0] : { data: v, shape: s.shape });
  }
  env.set('i', i);
  const r = evaluate(tmpl, env);
  return typeof r === 'number' ? Float64Array.of(r) : r.data;
}

describe('compiled kernels', () => {
  for (const spec of SPECS) {
    describe(spec.name, () => {
      const m = deriveModel(spec);
      const k = compileModel(m);
      const L = k.layout;
      const tmpl = bindDims(m.template, L.dims);
      const rng = new Rng(42);
      const n = 7;
      const th = rng.normalArray(L.H * L.P);
      const X = rng.normalArray(n * L.dIn);
      const Y = rng.normalArray(n * L.c);
      const refLoss = (t: Float64Array): number => {
        let s = 0;
        for (let j = 0; j < n; j++) {
          const f = new Float64Array(L.c);
          for (let i = 0; i < L.H; i++) referenceNeuron(spec, tmpl, L, t, X, i, j).forEach((v, q) => (f[q] += v));
          for (let q = 0; q < L.c; q++) s += (f[q] - Y[j * L.c + q]) ** 2;
        }
        return s / (2 * n);
      };

      it('forward and neuronOutputs equal the evaluator', () => {
        const out = new Float64Array(n * L.c);
        k.forward(th, X, n, out);
        const per = new Float64Array(L.H * n * L.c);
        k.neuronOutputs(th, X, n, per);
        for (let j = 0; j < n; j++) {
          const f = new Float64Array(L.c);
          for (let i = 0; i < L.H; i++) {
            const fi = referenceNeuron(spec, tmpl, L, th, X, i, j);
            fi.forEach((v, q) => {
              f[q] += v;
              expect(per[(i * n + j) * L.c + q]).toBeCloseTo(v, 12);
            });
          }
          for (let q = 0; q < L.c; q++) expect(out[j * L.c + q]).toBeCloseTo(f[q], 12);
        }
      });

      it('lossGrad: loss equals the evaluator, gradient equals central finite differences (≤ 1e-7 rel.)', () => {
        const g = new Float64Array(th.length);
        const l = k.lossGrad(th, X, Y, n, g);
        expect(Math.abs(l - refLoss(th))).toBeLessThan(1e-12 * Math.max(1, l));
        for (let q = 0; q < th.length; q++) {
          const h = 1e-5 * Math.max(1, Math.abs(th[q]));
          const tp = th.slice(), tm = th.slice();
          tp[q] += h; tm[q] -= h;
          // 4th-order central difference so truncation error sits well below the 1e-7 target
          const tp2 = th.slice(), tm2 = th.slice();
          tp2[q] += 2 * h; tm2[q] -= 2 * h;
          const fd = (8 * (k.loss(tp, X, Y, n) - k.loss(tm, X, Y, n)) - (k.loss(tp2, X, Y, n) - k.loss(tm2, X, Y, n))) / (12 * h);
          expect(Math.abs(g[q] - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
        }
      });

      it('masked lossGrad only sees and moves the active neurons', () => {
        if (L.H < 2) return;
        const mask = new Uint8Array(L.H).fill(1);
        mask[0] = 0;
        const g = new Float64Array(th.length);
        const l = k.lossGrad(th, X, Y, n, g, mask);
        const th2 = th.slice();
        th2.fill(0, 0, L.P); // neuron 0 removed entirely
        const g2 = new Float64Array(th.length);
        const l2 = k.lossGrad(th2, X, Y, n, g2);
        expect(l).toBeCloseTo(l2, 12);
        for (let q = 0; q < L.P; q++) expect(g[q]).toBe(0);
        for (let q = L.P; q < th.length; q++) expect(g[q]).toBeCloseTo(g2[q], 12);
      });

      it('vjpMean equals finite differences of (1/n) Σ_j ⟨E_j, f(x_j)⟩', () => {
        const E = rng.normalArray(n * L.c);
        const g = new Float64Array(th.length);
        k.vjpMean(th, X, E, n, g);
        const phi = (t: Float64Array): number => {
          const out = new Float64Array(n * L.c);
          k.forward(t, X, n, out);
          return out.reduce((s, v, q) => s + v * E[q], 0) / n;
        };
        for (let q = 0; q < th.length; q++) {
          const h = 1e-6;
          const tp = th.slice(), tm = th.slice();
          tp[q] += h; tm[q] -= h;
          const fd = (phi(tp) - phi(tm)) / (2 * h);
          expect(Math.abs(g[q] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        }
      });
    });
  }
});
