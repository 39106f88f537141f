/**
 * The WebAssembly SIMD matrix products of the linear network's moment form (wasm-gemm.ts), against
 * independent references: each product against the plain JavaScript loop (bit for bit: without a
 * fused multiply-add both round every product and every sum in the same k order), and the whole
 * loss and gradient against the per-sample kernel, the generic moment path (forward and vjpMean
 * on the identity rows) and central finite differences.
 */
import { describe, expect, it } from 'vitest';
import { deriveModel } from '../src/symbolic/derive.ts';
import { compileModel } from '../src/compile/kernels.ts';
import { gemmModuleBytes, linearGemmAvailable, type GemmSpec } from '../src/compile/wasm-gemm.ts';
import { Rng } from '../src/util/rng.ts';
import type { ModelSpec } from '../src/spec.ts';

const simd = linearGemmAvailable({ c: 2, d: 2, h: 2, P: 4, aOff: 0, wOff: 2 });

describe.skipIf(!simd)('register-blocked product', () => {
  // C (m × nc) [+]= Aop · B with Aop read row-major (ars = K, aks = 1) or transposed (ars = 1, aks = m)
  const cases: { m: number; nc: number; K: number; transA: boolean; accumulate: boolean }[] = [
    { m: 4, nc: 4, K: 1, transA: false, accumulate: false },
    { m: 8, nc: 12, K: 7, transA: false, accumulate: true },
    { m: 12, nc: 8, K: 13, transA: true, accumulate: false },
    { m: 52, nc: 52, K: 50, transA: true, accumulate: true },
  ];
  for (const cs of cases) {
    it(`m = ${cs.m}, nc = ${cs.nc}, K = ${cs.K}, ${cs.transA ? 'Aᵀ' : 'A'}, ${cs.accumulate ? 'C +=' : 'C ='}: the plain loop's bits`, () => {
      const { m, nc, K } = cs, rng = new Rng(m + nc + K);
      const aD = m * K, bD = K * nc, cD = m * nc;
      const a = 0, b = 8 * aD, c = b + 8 * bD;
      const spec: GemmSpec = { m, nc, K, a, ars: 8 * (cs.transA ? 1 : K), aks: 8 * (cs.transA ? m : 1), b, ldb: 8 * nc, c, ldc: 8 * nc, accumulate: cs.accumulate };
      const bytes = c + 8 * cD;
      const mem = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
      const run = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes(spec, bytes)), { env: { mem } }).exports.run as () => void;
      const H = new Float64Array(mem.buffer);
      const A = rng.normalArray(aD), B = rng.normalArray(bD), C0 = rng.normalArray(cD);
      H.set(A, 0); H.set(B, aD); H.set(C0, aD + bD);
      run();
      const got = H.slice(aD + bD, aD + bD + cD);
      const at = (r: number, k: number): number => (cs.transA ? A[k * m + r] : A[r * K + k]);
      const want = new Float64Array(cD);
      for (let r = 0; r < m; r++) for (let q = 0; q < nc; q++) {
        let s = cs.accumulate ? C0[r * nc + q] : 0;
        for (let k = 0; k < K; k++) s += at(r, k) * B[k * nc + q];
        want[r * nc + q] = s;
      }
      expect([...got]).toEqual([...want]);
    });
  }
});

describe.skipIf(!simd)('linear network moment form in matrix products', () => {
  const spec = (c: number, d: number, h: number, wFirst = false): ModelSpec => ({
    name: `linear c = ${c}, d = ${d}, h = ${h}`, dims: { c, d, h },
    params: wFirst ? { w: ['d'], a: ['c'] } : { a: ['c'], w: ['d'] },
    inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)',
  });
  const shapes: [number, number, number, boolean][] = [[3, 5, 2, false], [1, 6, 3, false], [7, 13, 9, true], [50, 50, 50, false], [4, 8, 4, true]];
  for (const [c, d, h, wFirst] of shapes) {
    it(`c = ${c}, d = ${d}, h = ${h}${wFirst ? ' (w before a in θ)' : ''}: equals the per-sample kernel, the generic moment path and finite differences`, () => {
      const m = deriveModel(spec(c, d, h, wFirst));
      const k = compileModel(m);
      const generic = compileModel(m, {}, undefined, { wasm: false });
      const perSample = compileModel(m, {}, undefined, { moments: false });
      const rng = new Rng(c * 100 + d * 10 + h), n = 3 * d + 1;
      const X = rng.normalArray(n * d), Y = rng.normalArray(n * c);
      expect(k.formFor(X, Y, n)).toBe('moments');
      expect(generic.formFor(X, Y, n)).toBe('moments');
      for (let t = 0; t < 2; t++) {
        const th = rng.normalArray(h * (c + d));
        const g = new Float64Array(th.length), g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
        const l = k.lossGrad(th, X, Y, n, g), l1 = generic.lossGrad(th, X, Y, n, g1), l2 = perSample.lossGrad(th, X, Y, n, g2);
        const scale = Math.max(...g2.map(Math.abs));
        for (const [lr, gr] of [[l1, g1], [l2, g2]] as const) {
          expect(Math.abs(l - lr)).toBeLessThan(1e-13 * lr);
          let e = 0;
          for (let q = 0; q < g.length; q++) e = Math.max(e, Math.abs(g[q] - gr[q]));
          expect(e).toBeLessThan(1e-13 * scale);
        }
        // loss alone: the same evaluation
        expect(k.loss(th, X, Y, n)).toBe(l);
        if (t === 0 && c * d * h < 1000) {
          for (let q = 0; q < th.length; q++) {
            const tp = th.slice(), tm = th.slice();
            tp[q] += 1e-5; tm[q] -= 1e-5;
            const fd = (k.loss(tp, X, Y, n) - k.loss(tm, X, Y, n)) / 2e-5;
            expect(Math.abs(g[q] - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
          }
        }
      }
    });
  }

  it('same inputs, same bytes: a second kernel object and a repeated call agree exactly', () => {
    const m = deriveModel(spec(7, 13, 9));
    const k1 = compileModel(m), k2 = compileModel(m), rng = new Rng(2), n = 40;
    const X = rng.normalArray(n * 13), Y = rng.normalArray(n * 7), th = rng.normalArray(9 * 20);
    const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length), g3 = new Float64Array(th.length);
    const l1 = k1.lossGrad(th, X, Y, n, g1), l2 = k2.lossGrad(th, X, Y, n, g2), l3 = k1.lossGrad(th, X, Y, n, g3);
    expect(l2).toBe(l1);
    expect(l3).toBe(l1);
    expect([...g2]).toEqual([...g1]);
    expect([...g3]).toEqual([...g1]);
  });
});

/** Kernels.velocity (the flow's right-hand side) is lossGrad's gradient negated, bit for bit, on every path. */
describe('velocity = −∇L on every path', () => {
  const specs: [ModelSpec, { wasm?: boolean; moments?: boolean }, number][] = [
    [{ name: 'diagonal', dims: { d: 5 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' }, {}, 60],
    [{ name: 'diagonal, data pass', dims: { d: 40 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' }, {}, 10],
    [{ name: 'linear', dims: { c: 3, d: 5, h: 4 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)' }, {}, 30],
    [{ name: 'linear, generic moments', dims: { c: 3, d: 5, h: 4 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)' }, { wasm: false }, 400],
    [{ name: 'relu', dims: { d: 3, h: 4 }, params: { a: [], w: ['d'], b: [] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * relu(dot(w, x) + b)' }, {}, 30],
  ];
  const forms = new Set<string>();
  for (const [spec, opts, n] of specs) {
    it(`${spec.name}`, () => {
      const k = compileModel(deriveModel(spec), {}, undefined, opts);
      const L = k.layout, rng = new Rng(4);
      const X = rng.normalArray(n * L.dIn), Y = rng.normalArray(n * L.c), th = rng.normalArray(L.H * L.P);
      forms.add(k.formFor(X, Y, n));
      const g = new Float64Array(th.length), v = new Float64Array(th.length);
      k.lossGrad(th, X, Y, n, g);
      k.velocity(th, X, Y, n, v);
      expect([...v]).toEqual([...g].map((x) => -x));
    });
  }
  it('covered the moment, data-pass and per-sample paths', () => {
    expect(forms.has('moments')).toBe(true);
    expect(forms.has('samples')).toBe(true);
    if (simd) expect(forms.has('wasm')).toBe(true);
  });
});
