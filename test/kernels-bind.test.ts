/**
 * Kernels.bind: lossGrad, velocity and loss on data bound once equal the unbound calls bit for bit
 * on every path (moments, the generic vector moments, the WebAssembly products and data pass, row
 * tables, the sample-blocked and masked loops) — the unbound kernels are tested against the
 * evaluator and finite differences in kernels.test.ts and wasm-gemm.test.ts. The bound results do
 * not depend on what the kernels were called with in between, and arrays refilled in place are
 * bound afresh.
 */
import { describe, expect, it } from 'vitest';
import { deriveModel } from '../src/symbolic/derive.ts';
import { compileModel, type CompileOptions, type Kernels } from '../src/compile/kernels.ts';
import { wasmAvailable } from '../src/compile/wasm-gemv.ts';
import { Rng } from '../src/util/rng.ts';
import type { ModelSpec } from '../src/spec.ts';

const diagonal = (d: number): ModelSpec => ({ name: `diagonal d = ${d}`, dims: { d }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' });
const linear: ModelSpec = { name: 'linear', dims: { c: 3, d: 5, h: 4 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)' };
const relu: ModelSpec = { name: 'relu', dims: { d: 3, h: 4 }, params: { a: [], w: ['d'], b: [] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * relu(dot(w, x) + b)' };
const modular: ModelSpec = { name: 'modular', dims: { p: 5, h: 4 }, params: { u: ['p'], v: ['p'], w: ['p'] }, inputs: { xa: ['p'], xb: ['p'] }, output: ['p'], neurons: 'h', template: 'w * (dot(u, xa) + dot(v, xb))^2' };

/** Data with repeated input rows for the modular spec (all p² pairs of p distinct rows), plain Gaussian rows otherwise. */
function dataFor(spec: ModelSpec, k: Kernels, n: number, rng: Rng): { X: Float64Array; Y: Float64Array; n: number } {
  const L = k.layout;
  if (spec.name !== 'modular') return { X: rng.normalArray(n * L.dIn), Y: rng.normalArray(n * L.c), n };
  const p = L.dims.p, m = p * p;
  const ra = rng.normalArray(p * p), rb = rng.normalArray(p * p);
  const X = new Float64Array(m * L.dIn);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    X.set(ra.subarray(a * p, a * p + p), (a * p + b) * L.dIn);
    X.set(rb.subarray(b * p, b * p + p), (a * p + b) * L.dIn + p);
  }
  return { X, Y: rng.normalArray(m * L.c), n: m };
}

const bits = (a: Float64Array): number[] => [...a];

const CASES: [ModelSpec, CompileOptions, number][] = [
  [diagonal(5), {}, 60],
  [diagonal(40), {}, 10],
  [linear, {}, 30],
  [linear, { wasm: false }, 400],
  [relu, {}, 30],
  [modular, {}, 0],
  [diagonal(5), { moments: false }, 60],
];

describe('Kernels.bind', () => {
  const forms = new Set<string>();
  for (const [spec, opts, n0] of CASES) {
    it(`${spec.name} ${JSON.stringify(opts)}: bound lossGrad, velocity and loss equal the unbound calls bit for bit, with and without masks, whatever was called in between`, () => {
      const k = compileModel(deriveModel(spec), {}, undefined, opts);
      const L = k.layout, rng = new Rng(5);
      const A = dataFor(spec, k, n0, rng), B = dataFor(spec, k, n0, rng);
      forms.add(k.formFor(A.X, A.Y, A.n));
      const kb = k.bind(A.X, A.Y, A.n);
      const few = new Uint8Array(L.H); few[0] = 1;
      const many = new Uint8Array(L.H).fill(1); if (L.H > 1) many[L.H - 1] = 0;
      for (const mask of [null, few, many, new Uint8Array(L.H).fill(1)]) {
        if (mask) forms.add(k.formFor(A.X, A.Y, A.n, mask));
        for (let r = 0; r < 3; r++) {
          const th = rng.normalArray(L.H * L.P);
          const g = new Float64Array(th.length), gb = new Float64Array(th.length);
          // another data set between the calls: the caches the unbound calls use now hold B
          k.lossGrad(th, B.X, B.Y, B.n, g, mask);
          const lb = kb.lossGrad(th, gb, mask);
          const l = k.lossGrad(th, A.X, A.Y, A.n, g, mask);
          expect(lb).toBe(l);
          expect(bits(gb)).toEqual(bits(g));
          k.loss(th, B.X, B.Y, B.n, mask);
          expect(kb.loss(th, mask)).toBe(k.loss(th, A.X, A.Y, A.n, mask));
          if (!mask) {
            const v = new Float64Array(th.length), vb = new Float64Array(th.length);
            k.velocity(th, B.X, B.Y, B.n, v);
            kb.velocity(th, vb);
            k.velocity(th, A.X, A.Y, A.n, v);
            expect(bits(vb)).toEqual(bits(v));
          }
        }
      }
    });
  }
  it('covered the moment, product, data-pass, row-table, sample and masked paths', () => {
    for (const f of ['moments', 'rows', 'samples', 'masked']) expect(forms.has(f)).toBe(true);
    if (wasmAvailable()) expect(forms.has('wasm')).toBe(true);
  });

  it('binding the same arrays again gives the same object; arrays refilled in place are bound afresh (a fresh compile on a copy agrees)', () => {
    const spec = diagonal(5);
    const k = compileModel(deriveModel(spec)), rng = new Rng(9);
    const { X, Y, n } = dataFor(spec, k, 60, rng);
    expect(k.formFor(X, Y, n)).toBe('moments');
    const kb = k.bind(X, Y, n);
    expect(k.bind(X, Y, n)).toBe(kb);
    const th = rng.normalArray(k.layout.H * k.layout.P), g = new Float64Array(th.length), g2 = new Float64Array(th.length);
    kb.lossGrad(th, g);
    X.set(rng.normalArray(X.length));
    Y.set(rng.normalArray(Y.length));
    const kb2 = k.bind(X, Y, n);
    expect(kb2).not.toBe(kb);
    const fresh = compileModel(deriveModel(spec));
    const l2 = kb2.lossGrad(th, g), l3 = fresh.lossGrad(th, X.slice(), Y.slice(), n, g2);
    expect(l2).toBe(l3);
    expect(bits(g)).toEqual(bits(g2));
  });
});
