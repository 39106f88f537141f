/**
 * Generated kernels against an independent reference: the tree-walking evaluator (no code
 * generation) for values, and central finite differences for every gradient kernel.
 */
import { describe, expect, it } from 'vitest';
import { type Expr, bindDims } from '../src/symbolic/expr.ts';
import { evaluate, type Value } from '../src/symbolic/evaluate.ts';
import { deriveModel } from '../src/symbolic/derive.ts';
import { compileModel, type Kernels } from '../src/compile/kernels.ts';
import { dataPass, wasmAvailable } from '../src/compile/wasm-gemv.ts';
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

/** ∇L from a kernel equals central differences of its own loss, coordinate by coordinate (every `stride`-th). */
function expectFdGradient(k: { loss: (th: Float64Array, X: Float64Array, Y: Float64Array, n: number) => number }, th: Float64Array, X: Float64Array, Y: Float64Array, n: number, g: Float64Array, o: { tol: number; stride?: number; relativeStep?: boolean }): void {
  for (let q = 0; q < th.length; q += o.stride ?? 1) {
    const h = 1e-5 * (o.relativeStep ? Math.max(1, Math.abs(th[q])) : 1);
    const tp = th.slice(), tm = th.slice();
    tp[q] += h; tm[q] -= h;
    const fd = (k.loss(tp, X, Y, n) - k.loss(tm, X, Y, n)) / (2 * h);
    expect(Math.abs(g[q] - fd)).toBeLessThan(o.tol * Math.max(1, Math.abs(fd)));
  }
}

/** k's loss and gradient (lossGrad and loss) equal the reference kernel's to 1e-13; returns k's gradient. */
function expectSameLossGrad(k: Kernels, ref: Kernels, th: Float64Array, X: Float64Array, Y: Float64Array, n: number, mask: Uint8Array | null): Float64Array {
  const g = new Float64Array(th.length), g2 = new Float64Array(th.length);
  const l = k.lossGrad(th, X, Y, n, g, mask), l2 = ref.lossGrad(th, X, Y, n, g2, mask);
  expect(Math.abs(l - l2)).toBeLessThan(1e-13 * l2);
  expect(Math.abs(k.loss(th, X, Y, n, mask) - l2)).toBeLessThan(1e-13 * l2);
  const scale = Math.max(...g2.map(Math.abs));
  for (let q = 0; q < g.length; q++) expect(Math.abs(g[q] - g2[q])).toBeLessThan(1e-13 * scale);
  return g;
}

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

      it('masked kernels (lossGrad, forward, vjpMean) see and move only the active neurons, for contiguous and scattered masks', () => {
        if (L.H < 2) return;
        const first = new Uint8Array(L.H).fill(1);
        first[0] = 0;
        const scattered = Uint8Array.from({ length: L.H }, (_, i) => (i % 2 === 1 || i === L.H - 1 ? 1 : 0));
        for (const mask of [first, scattered]) {
          // reference: the unmasked kernels on θ with the inactive neurons' parameters zeroed
          const th2 = th.slice();
          for (let i = 0; i < L.H; i++) if (!mask[i]) th2.fill(0, i * L.P, (i + 1) * L.P);
          const g = new Float64Array(th.length), g2 = new Float64Array(th.length);
          const l = k.lossGrad(th, X, Y, n, g, mask);
          const l2 = k.lossGrad(th2, X, Y, n, g2);
          expect(l).toBeCloseTo(l2, 12);
          const f1 = new Float64Array(n * L.c), f2 = new Float64Array(n * L.c);
          k.forward(th, X, n, f1, mask);
          k.forward(th2, X, n, f2);
          for (let q = 0; q < f1.length; q++) expect(f1[q]).toBeCloseTo(f2[q], 12);
          const E = rng.normalArray(n * L.c);
          const v1 = new Float64Array(th.length), v2 = new Float64Array(th.length);
          k.vjpMean(th, X, E, n, v1, mask);
          k.vjpMean(th, X, E, n, v2);
          for (let i = 0; i < L.H; i++) for (let a = 0; a < L.P; a++) {
            const q = i * L.P + a;
            if (!mask[i]) { expect(g[q]).toBe(0); expect(v1[q]).toBe(0); } else { expect(g[q]).toBeCloseTo(g2[q], 12); expect(v1[q]).toBeCloseTo(v2[q], 12); }
          }
        }
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

/**
 * The unmasked lossGrad runs SB samples per iteration (sample-blocks.ts) and, with many neurons,
 * ACC partial forward sums; the masked kernel does neither. With an all-ones mask the two compute
 * the same sums in another order: they must agree to rounding, for every n mod SB (the blocked
 * loop's tail), and the blocked gradient must equal finite differences of the loss. (The Kernels
 * object runs an all-ones mask as no mask, so the masked kernel is instantiated from its source.)
 */
describe('sample-blocked lossGrad', () => {
  const BLOCK_SPECS: ModelSpec[] = [
    { name: 'diagonal, 11 neurons', dims: { d: 11 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' },
    { name: 'cubic deep diagonal', dims: { d: 9 }, params: { u: [], v: [], s: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * s * x[i] + u^3 * x[i]' },
    { name: 'relu, d = 37 (split dot sums)', dims: { d: 37, h: 9 }, params: { a: [], w: ['d'], b: [] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * relu(dot(w, x) + b)' },
    { name: 'softplus of a squared dot', dims: { d: 5, h: 3 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * softplus(dot(w, x)) + sq(dot(w, x))' },
    { name: 'vector output, d = 37 (fv, ev per sample; loops merged)', dims: { d: 37, c: 3, h: 5 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * relu(dot(w, x)) + a * sq(dot(w, x))' },
  ];
  for (const spec of BLOCK_SPECS) {
    it(`${spec.name}: equals the masked (one sample at a time) kernel and finite differences`, () => {
      const k = compileModel(deriveModel(spec), {}, undefined, { moments: false, rowTables: false });
      const L = k.layout, rng = new Rng(11);
      expect(k.source.lossGradUnmasked).toContain('j + 3 < n');
      expect(k.source.lossGrad).not.toContain('j + 3 < n');
      const masked = new Function(k.source.lossGrad)() as Kernels['lossGrad'];
      const all = new Uint8Array(L.H).fill(1);
      for (const n of [1, 4, 13, 14, 15, 16]) {
        const X = rng.normalArray(n * L.dIn), Y = rng.normalArray(n * L.c), th = rng.normalArray(L.H * L.P);
        const g = new Float64Array(th.length), g2 = new Float64Array(th.length), g3 = new Float64Array(th.length);
        const l = k.lossGrad(th, X, Y, n, g), l2 = masked(th, X, Y, n, g2, all);
        // an all-ones mask through the Kernels object is the unmasked path: the same bytes
        expect(k.formFor(X, Y, n, all)).toBe('samples');
        expect(k.lossGrad(th, X, Y, n, g3, all)).toBe(l);
        expect([...g3]).toEqual([...g]);
        expect(Math.abs(l - l2)).toBeLessThan(1e-14 * l2);
        const scale = Math.max(...g2.map(Math.abs));
        for (let q = 0; q < g.length; q++) expect(Math.abs(g[q] - g2[q])).toBeLessThan(1e-14 * scale);
        if (n !== 15) continue;
        expectFdGradient(k, th, X, Y, n, g, { tol: 1e-6, relativeStep: true });
      }
    });
  }
});

/**
 * The moment form (models linear in x, MSE): once a data set has been used enough, lossGrad and
 * loss come from Σ_xx, Σ_yx instead of the samples. Checked against the per-sample kernel
 * (compiled with moments off), central finite differences, and a closed-form zero loss.
 */
describe('moment form', () => {
  const MOMENT_SPECS: ModelSpec[] = [
    { name: 'single', dims: { d: 6 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 1, template: 'a * dot(w, x)' },
    { name: 'diagonal', dims: { d: 5 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' },
    { name: 'two-layer linear, scalar output', dims: { d: 4, h: 3 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * dot(w, x)' },
    { name: 'deep diagonal', dims: { d: 4 }, params: { u: [], v: [], s: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * s * x[i] + u^3 * x[i]' },
  ];
  /** The kernels use the moments from the first call on data of these sizes. */
  const warm = (k: ReturnType<typeof compileModel>, X: Float64Array, Y: Float64Array, n: number): void => {
    expect(k.formFor(X, Y, n)).toBe('moments');
  };
  for (const spec of MOMENT_SPECS) {
    it(`${spec.name}: lossGrad and loss from the moments equal the per-sample kernel; masked calls, all-ones masks included, never take the moments`, () => {
      const m = deriveModel(spec);
      expect(m.moment).not.toBeNull();
      const k = compileModel(m), ref = compileModel(m, {}, undefined, { moments: false });
      const L = k.layout, rng = new Rng(7), n = 60;
      const X = rng.normalArray(n * L.dIn), Y = rng.normalArray(n);
      const th = rng.normalArray(L.H * L.P);
      warm(k, X, Y, n);
      expect(ref.formFor(X, Y, n)).toBe('samples');
      const all = new Uint8Array(L.H).fill(1);
      expect(k.formFor(X, Y, n, all)).not.toBe('moments');
      const masks: (Uint8Array | null)[] = [null, all];
      if (L.H > 1) { const mk = new Uint8Array(L.H).fill(1); mk[1] = 0; masks.push(mk); }
      for (const mask of masks) {
        const t2 = rng.normalArray(L.H * L.P);
        const g = expectSameLossGrad(k, ref, t2, X, Y, n, mask);
        if (mask && mask[1] === 0) for (let q = 1 * L.P; q < 2 * L.P; q++) expect(g[q]).toBe(0);
      }
      // the gradient is that of the moment loss itself (central differences on k.loss, moments on)
      const g = new Float64Array(th.length);
      k.lossGrad(th, X, Y, n, g);
      expectFdGradient(k, th, X, Y, n, g, { tol: 1e-7 });
    });
  }

  it('singular Σ_xx (a repeated input column), a loss of exactly zero at the teacher, and data refilled in place', () => {
    const spec = MOMENT_SPECS[1];
    const m = deriveModel(spec);
    const k = compileModel(m), ref = compileModel(m, {}, undefined, { moments: false });
    const d = 5, n = 50, rng = new Rng(3);
    const X = rng.normalArray(n * d);
    for (let j = 0; j < n; j++) X[j * d + 4] = X[j * d + 1]; // Σ_xx has rank 4
    const beta = Float64Array.from([0.5, -1, 2, 0.25, 1]);
    const Y = new Float64Array(n);
    for (let j = 0; j < n; j++) for (let a = 0; a < d; a++) Y[j] += beta[a] * X[j * d + a];
    const th = rng.normalArray(2 * d);
    warm(k, X, Y, n);
    const g = new Float64Array(2 * d), g2 = new Float64Array(2 * d);
    const l = k.lossGrad(th, X, Y, n, g), l2 = ref.lossGrad(th, X, Y, n, g2);
    expect(Math.abs(l - l2)).toBeLessThan(1e-12 * l2);
    for (let q = 0; q < 2 * d; q++) expect(Math.abs(g[q] - g2[q])).toBeLessThan(1e-12 * Math.max(...g2.map(Math.abs)));
    // at u_a v_a = β_a the residual is zero: the moment loss must not leave an O(ε·Σ_yy) floor
    const star = new Float64Array(2 * d);
    for (let a = 0; a < d; a++) { star[2 * a] = 1; star[2 * a + 1] = beta[a]; }
    expect(k.loss(star, X, Y, n)).toBeLessThan(1e-28);
    expect(k.lossGrad(star, X, Y, n, g)).toBeLessThan(1e-28);
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-14);
    // refill the same buffers with other data: the kernels must notice and follow the new data
    const X2 = rng.normalArray(n * d), Y2 = rng.normalArray(n);
    X.set(X2); Y.set(Y2);
    const l3 = k.lossGrad(th, X, Y, n, g), l4 = ref.lossGrad(th, X, Y, n, g2);
    expect(Math.abs(l3 - l4)).toBeLessThan(1e-12 * l4);
    for (let q = 0; q < 2 * d; q++) expect(Math.abs(g[q] - g2[q])).toBeLessThan(1e-12 * Math.max(...g2.map(Math.abs)));
  });

  it('models outside the form keep the per-sample kernel', () => {
    for (const spec of [SPECS[4], SPECS[5]]) {
      const k = compileModel(deriveModel(spec));
      const L = k.layout, rng = new Rng(1), n = 500;
      const X = rng.normalArray(n * L.dIn), Y = rng.normalArray(n * L.c), th = rng.normalArray(L.H * L.P), g = new Float64Array(th.length);
      for (let r = 0; r < 50; r++) k.lossGrad(th, X, Y, n, g);
      expect(k.formFor(X, Y, n)).not.toBe('moments');
    }
  });
});

/**
 * The moment form for vector outputs linear in x (f = B(θ) x: linear networks, factorizations):
 * B from f on the identity rows, the gradient from vjpMean on them with cotangent Gᵀ. Checked against
 * the per-sample kernel, finite differences of the moment loss, and a teacher with singular Σ_xx.
 */
describe('moment form, vector outputs', () => {
  const VEC_SPECS: ModelSpec[] = [
    { name: 'linear network', dims: { d: 6, c: 3, h: 4 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)' },
    { name: 'symmetric factorization', dims: { d: 5 }, params: { u: ['d'] }, inputs: { x: ['d'] }, output: ['d'], neurons: 3, template: 'u * dot(u, x)' },
    { name: 'deep scalar gate', dims: { d: 4, c: 2, h: 3 }, params: { a: ['c'], w: ['d'], s: [] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 's^3 * a * dot(w, x)' },
  ];
  for (const spec of VEC_SPECS) {
    it(`${spec.name}: lossGrad and loss from the moments equal the per-sample kernel and finite differences; masked calls stay per-sample`, () => {
      const m = deriveModel(spec);
      const k = compileModel(m), ref = compileModel(m, {}, undefined, { moments: false });
      const L = k.layout, rng = new Rng(5), n = 400;
      const X = rng.normalArray(n * L.dIn), Y = rng.normalArray(n * L.c);
      expect(k.formFor(X, Y, n)).toBe('moments');
      expect(ref.formFor(X, Y, n)).toBe('samples');
      const mask = new Uint8Array(L.H).fill(1);
      mask[1] = 0;
      for (const mk of [null, mask]) {
        const th = rng.normalArray(L.H * L.P);
        expectSameLossGrad(k, ref, th, X, Y, n, mk);
      }
      const th = rng.normalArray(L.H * L.P), g = new Float64Array(th.length);
      k.lossGrad(th, X, Y, n, g);
      expectFdGradient(k, th, X, Y, n, g, { tol: 1e-7 });
    });
  }

  it('a teacher with singular Σ_xx: zero loss and gradient at the teacher, the per-sample values elsewhere', () => {
    const m = deriveModel(VEC_SPECS[0]);
    const k = compileModel(m), ref = compileModel(m, {}, undefined, { moments: false });
    const L = k.layout, rng = new Rng(9), n = 300, d = L.dIn, c = L.c;
    const X = rng.normalArray(n * d);
    for (let j = 0; j < n; j++) X[j * d + 5] = X[j * d + 2] - X[j * d + 0]; // Σ_xx has rank 5
    const star = rng.normalArray(L.H * L.P), Y = new Float64Array(n * c);
    ref.forward(star, X, n, Y);
    expect(k.formFor(X, Y, n)).toBe('moments');
    const g = new Float64Array(star.length);
    expect(k.loss(star, X, Y, n)).toBeLessThan(1e-28);
    expect(k.lossGrad(star, X, Y, n, g)).toBeLessThan(1e-28);
    // rounding level: B* is the solve's, not exactly B(θ*) (entries of B, Σ_xx are O(1))
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-13);
    const th = rng.normalArray(L.H * L.P), g2 = new Float64Array(th.length);
    const l = k.lossGrad(th, X, Y, n, g), l2 = ref.lossGrad(th, X, Y, n, g2);
    expect(Math.abs(l - l2)).toBeLessThan(1e-12 * l2);
    for (let q = 0; q < g.length; q++) expect(Math.abs(g[q] - g2[q])).toBeLessThan(1e-12 * Math.max(...g2.map(Math.abs)));
  });
});

/**
 * The data pass (models linear in x, scalar output, data the moments do not pay for): β, then
 * X β and Xᵀr in WebAssembly SIMD. Checked against plain loops, the per-sample kernel and finite
 * differences; sizes that are not multiples of the SIMD blocks exercise the zero padding.
 */
describe.skipIf(!wasmAvailable())('data pass (WebAssembly SIMD)', () => {
  it('Σ r² / n and Xᵀr / n equal plain loops for sizes off the 4-blocks', () => {
    for (const [n, d] of [[1, 1], [7, 5], [13, 37], [40, 100]]) {
      const rng = new Rng(n * 100 + d);
      const X = rng.normalArray(n * d), Y = rng.normalArray(n), b = rng.normalArray(d);
      const g = new Float64Array(d), gr = new Float64Array(d);
      const L = dataPass(X, Y, n, d)!.pass(b, g);
      let Lr = 0;
      for (let j = 0; j < n; j++) {
        let f = 0;
        for (let a = 0; a < d; a++) f += X[j * d + a] * b[a];
        const r = f - Y[j];
        Lr += (r * r) / n;
        for (let a = 0; a < d; a++) gr[a] += (r * X[j * d + a]) / n;
      }
      expect(Math.abs(L - Lr)).toBeLessThan(1e-14 * Lr);
      const scale = Math.max(...gr.map(Math.abs));
      for (let a = 0; a < d; a++) expect(Math.abs(g[a] - gr[a])).toBeLessThan(1e-14 * scale);
    }
  });

  const PASS_SPECS: ModelSpec[] = [
    { name: 'diagonal', dims: { d: 301 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' },
    { name: 'single', dims: { d: 203 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 1, template: 'a * dot(w, x)' },
  ];
  for (const spec of PASS_SPECS) {
    it(`${spec.name}: lossGrad and loss equal the per-sample kernel and finite differences, masked too (the pass with many active neurons, the masked loops with few); wasm: false stays per-sample; refilled data are followed`, () => {
      const m = deriveModel(spec);
      const k = compileModel(m), ref = compileModel(m, {}, undefined, { moments: false }), off = compileModel(m, {}, undefined, { wasm: false });
      const L = k.layout, rng = new Rng(21), n = 45;
      const X = rng.normalArray(n * L.dIn), Y = rng.normalArray(n), th = rng.normalArray(L.H * L.P, 0.3);
      expect(k.formFor(X, Y, n)).toBe('wasm');
      expect(off.formFor(X, Y, n)).toBe('samples');
      const mask = new Uint8Array(L.H).fill(1);
      mask[0] = 0;
      // three active neurons of 301: the masked loops are cheaper than a pass over d
      const few = Uint8Array.from({ length: L.H }, (_, i) => (i % 100 === 7 ? 1 : 0));
      const all = new Uint8Array(L.H).fill(1);
      expect(k.formFor(X, Y, n, all)).toBe('wasm');
      if (L.H > 1) {
        expect(k.formFor(X, Y, n, mask)).toBe('wasm');
        expect(k.formFor(X, Y, n, few)).toBe('masked');
        expect(ref.formFor(X, Y, n, mask)).toBe('masked');
      }
      for (const mk of L.H > 1 ? [null, mask, few, all] : [null, all]) {
        const g = expectSameLossGrad(k, ref, th, X, Y, n, mk);
        if (mk) for (let i = 0; i < L.H; i++) if (!mk[i]) for (let a = 0; a < L.P; a++) expect(g[i * L.P + a]).toBe(0);
      }
      const g = new Float64Array(th.length);
      k.lossGrad(th, X, Y, n, g);
      expectFdGradient(k, th, X, Y, n, g, { tol: 1e-7, stride: 17 });
      X.set(rng.normalArray(n * L.dIn));
      Y.set(rng.normalArray(n));
      const g2 = new Float64Array(th.length);
      const l3 = k.lossGrad(th, X, Y, n, g), l4 = ref.lossGrad(th, X, Y, n, g2);
      expect(Math.abs(l3 - l4)).toBeLessThan(1e-13 * l4);
    });
  }
});

/**
 * Row tables: data whose input rows repeat (all pairs (a, b), as in modular addition) are run
 * with θ·x products computed once per distinct row. Checked against the plain per-sample loops
 * (compiled with row tables off) and finite differences, with masks.
 */
describe('row tables (repeated input rows)', () => {
  const spec = SPECS.find((s) => s.name === 'modular')!;
  const m = deriveModel(spec);
  const k = compileModel(m), ref = compileModel(m, {}, undefined, { rowTables: false });
  const L = k.layout, p = L.dims.p, rng = new Rng(11);
  // all p² pairs of p distinct rows for x_a and p for x_b
  const ra = rng.normalArray(p * p), rb = rng.normalArray(p * p);
  const n = p * p;
  const X = new Float64Array(n * L.dIn), Y = rng.normalArray(n * L.c);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) {
    const j = a * p + b;
    X.set(ra.subarray(a * p, a * p + p), j * L.dIn);
    X.set(rb.subarray(b * p, b * p + p), j * L.dIn + p);
  }
  const th = rng.normalArray(L.H * L.P), E = rng.normalArray(n * L.c);
  const mask = new Uint8Array(L.H).fill(1); mask[2] = 0;
  const close = (a: Float64Array, b: Float64Array): void => {
    const scale = Math.max(...b.map(Math.abs));
    for (let q = 0; q < a.length; q++) expect(Math.abs(a[q] - b[q])).toBeLessThanOrEqual(1e-13 * scale);
  };

  it('forward, neuronOutputs, vjpMean and lossGrad equal the per-sample loops, with and without a mask', () => {
    expect(k.formFor(X, Y, n)).toBe('rows');
    expect(ref.formFor(X, Y, n)).toBe('samples');
    for (const mk of [null, mask]) {
      const o1 = new Float64Array(n * L.c), o2 = o1.slice();
      k.forward(th, X, n, o1, mk); ref.forward(th, X, n, o2, mk);
      close(o1, o2);
      const g1 = new Float64Array(th.length), g2 = g1.slice();
      k.vjpMean(th, X, E, n, g1, mk); ref.vjpMean(th, X, E, n, g2, mk);
      close(g1, g2);
      const l1 = k.lossGrad(th, X, Y, n, g1, mk), l2 = ref.lossGrad(th, X, Y, n, g2, mk);
      expect(Math.abs(l1 - l2)).toBeLessThan(1e-13 * l2);
      close(g1, g2);
      if (mk) for (let q = 2 * L.P; q < 3 * L.P; q++) expect(g1[q]).toBe(0);
    }
    const per1 = new Float64Array(L.H * n * L.c), per2 = per1.slice();
    k.neuronOutputs(th, X, n, per1); ref.neuronOutputs(th, X, n, per2);
    close(per1, per2);
  });

  it('the row-table gradient equals central finite differences of the loss', () => {
    const g = new Float64Array(th.length);
    k.lossGrad(th, X, Y, n, g, mask);
    for (let q = 0; q < th.length; q += 3) {
      const h = 1e-5;
      const tp = th.slice(), tm = th.slice();
      tp[q] += h; tm[q] -= h;
      const fd = (ref.loss(tp, X, Y, n, mask) - ref.loss(tm, X, Y, n, mask)) / (2 * h);
      expect(Math.abs(g[q] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('a buffer refilled in place with rows that no longer repeat is followed', () => {
    const X2 = X.slice();
    const g1 = new Float64Array(th.length), g2 = g1.slice();
    k.vjpMean(th, X2, E, n, g1);
    expect(k.formFor(X2, Y, n)).toBe('rows');
    X2.set(rng.normalArray(X2.length));
    expect(k.formFor(X2, Y, n)).toBe('samples');
    k.vjpMean(th, X2, E, n, g1); ref.vjpMean(th, X2, E, n, g2);
    close(g1, g2);
  });
});
