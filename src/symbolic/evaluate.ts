/**
 * Direct numerical evaluation of a tensor expression (tree-walking, no code generation).
 * Slow, but independent of the compiler: tests use it to check the generated kernels, and
 * the laws layer uses it to evaluate identities at random points.
 */
import { type ElementwiseFn, type Expr, shapeOf } from './expr.ts';

/** A tensor value: a number, or a flat row-major Float64Array with its shape. */
export type Value = number | { data: Float64Array; shape: number[] };

function asTensor(v: Value, shape: number[]): Float64Array {
  if (typeof v === 'number') return new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(v);
  return v.data;
}

function elementwise(vals: Value[], op: (xs: number[]) => number): Value {
  const t = vals.find((v) => typeof v !== 'number') as { data: Float64Array; shape: number[] } | undefined;
  if (!t) return op(vals as number[]);
  const arrs = vals.map((v) => asTensor(v, t.shape));
  const out = new Float64Array(t.data.length);
  for (let k = 0; k < out.length; k++) out[k] = op(arrs.map((a) => a[k]));
  return { data: out, shape: t.shape };
}

export function evaluate(e: Expr, env: ReadonlyMap<string, Value>): Value {
  const ev = (x: Expr): Value => evaluate(x, env);
  switch (e.kind) {
    case 'num': return e.value;
    case 'sym': {
      const v = env.get(e.name);
      if (v === undefined) throw new Error(`evaluate: no value for '${e.name}'`);
      return v;
    }
    case 'add': return elementwise(e.terms.map(ev), (xs) => xs.reduce((a, b) => a + b, 0));
    case 'mul': return elementwise(e.factors.map(ev), (xs) => xs.reduce((a, b) => a * b, 1));
    case 'pow': return elementwise([ev(e.base)], ([x]) => x ** e.exp);
    case 'fn': return elementwise([ev(e.arg)], ([x]) => scalarFn(e.name, x));
    case 'vfn': {
      const a = ev(e.arg) as { data: Float64Array; shape: number[] };
      const l = logSumExp(a.data);
      if (e.name === 'logsumexp') return l;
      return { data: a.data.map((v) => Math.exp(v - l)), shape: a.shape };
    }
    case 'dot': {
      const a = ev(e.a) as { data: Float64Array }, b = ev(e.b) as { data: Float64Array };
      let s = 0;
      for (let k = 0; k < a.data.length; k++) s += a.data[k] * b.data[k];
      return s;
    }
    case 'sum': {
      const a = ev(e.arg);
      if (typeof a === 'number') return a;
      let s = 0;
      for (const x of a.data) s += x;
      return s;
    }
    case 'matvec': {
      const A = ev(e.A) as { data: Float64Array; shape: number[] }, x = ev(e.x) as { data: Float64Array };
      const [m, n] = A.shape;
      const out = new Float64Array(m);
      for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) out[r] += A.data[r * n + c] * x.data[c];
      return { data: out, shape: [m] };
    }
    case 'transpose': {
      const A = ev(e.A) as { data: Float64Array; shape: number[] };
      const [m, n] = A.shape;
      const out = new Float64Array(m * n);
      for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) out[c * m + r] = A.data[r * n + c];
      return { data: out, shape: [n, m] };
    }
    case 'outer': {
      const a = ev(e.a) as { data: Float64Array }, b = ev(e.b) as { data: Float64Array };
      const out = new Float64Array(a.data.length * b.data.length);
      for (let r = 0; r < a.data.length; r++) for (let c = 0; c < b.data.length; c++) out[r * b.data.length + c] = a.data[r] * b.data[c];
      return { data: out, shape: [a.data.length, b.data.length] };
    }
    case 'index': {
      const a = ev(e.arg) as { data: Float64Array };
      return a.data[ev(e.idx) as number];
    }
    case 'unit': {
      const n = shapeOf(e)[0] as number;
      const out = new Float64Array(n);
      out[ev(e.idx) as number] = 1;
      return { data: out, shape: [n] };
    }
    case 'fill': {
      const v = ev(e.value) as number;
      const shape = shapeOf(e) as number[];
      return { data: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(v), shape };
    }
  }
}

/** The elementwise functions, in their numerically stable forms (no overflow at |x| = 1000). */
export function scalarFn(name: ElementwiseFn, x: number): number {
  switch (name) {
    case 'relu': return Math.max(0, x);
    case 'step': return x > 0 ? 1 : 0;
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'sigmoid': return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    case 'softplus': return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  }
}

/** log Σ e^{v_k}, shifted by the maximum so that no exponential overflows. */
export function logSumExp(v: ArrayLike<number>): number {
  let m = -Infinity;
  for (let k = 0; k < v.length; k++) if (v[k] > m) m = v[k];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let k = 0; k < v.length; k++) s += Math.exp(v[k] - m);
  return m + Math.log(s);
}
