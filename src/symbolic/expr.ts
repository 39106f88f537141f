/**
 * Immutable tensor-expression trees (scalars, vectors, matrices) for neuron templates.
 * Dimensions stay symbolic ('d', 'c', 'p') until a Problem binds them, so derivations
 * are done once per model, never scalarised over a dataset.
 */
export type Dim = string | number;
export type Shape = readonly Dim[]; // [] scalar, [n] vector, [m, n] matrix

/** 'output' is the model's value z inside a loss ℓ(z, t); 'target' a per-sample target t (labels, reference logits). */
export type SymRole = 'param' | 'input' | 'residual' | 'moment' | 'index' | 'aux' | 'output' | 'target';

export type Expr =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'sym'; readonly name: string; readonly role: SymRole; readonly shape: Shape }
  | { readonly kind: 'add'; readonly terms: readonly Expr[] }
  | { readonly kind: 'mul'; readonly factors: readonly Expr[] } // elementwise, scalars broadcast
  | { readonly kind: 'pow'; readonly base: Expr; readonly exp: number } // integer exponent ≥ 2, or negative (x⁻¹ from d log x)
  | { readonly kind: 'dot'; readonly a: Expr; readonly b: Expr } // vector · vector
  | { readonly kind: 'sum'; readonly arg: Expr } // sum of all entries
  | { readonly kind: 'matvec'; readonly A: Expr; readonly x: Expr }
  | { readonly kind: 'transpose'; readonly A: Expr }
  | { readonly kind: 'outer'; readonly a: Expr; readonly b: Expr }
  | { readonly kind: 'index'; readonly arg: Expr; readonly idx: Expr } // v[i] → scalar
  | { readonly kind: 'unit'; readonly idx: Expr; readonly size: Dim } // basis vector e_i
  | { readonly kind: 'fill'; readonly value: Expr; readonly shape: Shape } // scalar broadcast to a tensor
  | { readonly kind: 'fn'; readonly name: ElementwiseFn; readonly arg: Expr }
  | { readonly kind: 'vfn'; readonly name: VectorFn; readonly arg: Expr }; // functions of a whole vector

/** sigmoid(z) = 1/(1 + e^−z); softplus(z) = log(1 + e^z) = −log σ(−z). */
export type ElementwiseFn = 'relu' | 'step' | 'exp' | 'log' | 'sigmoid' | 'softplus';
/** logsumexp(z) = log Σ_k e^{z_k} (a scalar); softmax(z) = e^z / Σ_k e^{z_k} (a vector). */
export type VectorFn = 'logsumexp' | 'softmax';

export type Sym = Extract<Expr, { kind: 'sym' }>;

export const num = (value: number): Expr => ({ kind: 'num', value });
export const ZERO = num(0);
export const ONE = num(1);
export const sym = (name: string, shape: Shape = [], role: SymRole = 'param'): Sym => ({ kind: 'sym', name, role, shape });
export const add = (...terms: Expr[]): Expr => ({ kind: 'add', terms });
export const mul = (...factors: Expr[]): Expr => ({ kind: 'mul', factors });
export const neg = (e: Expr): Expr => mul(num(-1), e);
export const sub = (a: Expr, b: Expr): Expr => add(a, neg(b));
export const pow = (base: Expr, exp: number): Expr => ({ kind: 'pow', base, exp });
export const dot = (a: Expr, b: Expr): Expr => ({ kind: 'dot', a, b });
export const sum = (arg: Expr): Expr => ({ kind: 'sum', arg });
export const matvec = (A: Expr, x: Expr): Expr => ({ kind: 'matvec', A, x });
export const transpose = (A: Expr): Expr => ({ kind: 'transpose', A });
export const outer = (a: Expr, b: Expr): Expr => ({ kind: 'outer', a, b });
export const index = (arg: Expr, idx: Expr): Expr => ({ kind: 'index', arg, idx });
export const unit = (idx: Expr, size: Dim): Expr => ({ kind: 'unit', idx, size });
export const fill = (value: Expr, shape: Shape): Expr => (shape.length === 0 ? value : { kind: 'fill', value, shape });
export const fn = (name: ElementwiseFn, arg: Expr): Expr => ({ kind: 'fn', name, arg });
export const vfn = (name: VectorFn, arg: Expr): Expr => ({ kind: 'vfn', name, arg });
export const logsumexp = (z: Expr): Expr => vfn('logsumexp', z);
export const softmax = (z: Expr): Expr => vfn('softmax', z);

export class ShapeError extends Error {}

const shapeCache = new WeakMap<object, Shape>();

export function shapeOf(e: Expr): Shape {
  const hit = shapeCache.get(e);
  if (hit) return hit;
  const s = computeShape(e);
  shapeCache.set(e, s);
  return s;
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, k) => d === b[k]);
}

export function fmtShape(s: Shape): string {
  return s.length === 0 ? 'scalar' : `[${s.join('×')}]`;
}

/** Broadcast for elementwise ops: scalars combine with anything; tensors must agree. */
function broadcast(shapes: Shape[], what: string): Shape {
  let out: Shape = [];
  for (const s of shapes) {
    if (s.length === 0) continue;
    if (out.length === 0) out = s;
    else if (!sameShape(out, s)) throw new ShapeError(`${what}: shapes ${fmtShape(out)} and ${fmtShape(s)} do not match`);
  }
  return out;
}

function computeShape(e: Expr): Shape {
  switch (e.kind) {
    case 'num': return [];
    case 'sym': return e.shape;
    case 'add': return broadcast(e.terms.map(shapeOf), 'sum of terms');
    case 'mul': return broadcast(e.factors.map(shapeOf), 'elementwise product');
    case 'pow': return shapeOf(e.base);
    case 'fn': return shapeOf(e.arg);
    case 'vfn': {
      const a = shapeOf(e.arg);
      if (a.length !== 1) throw new ShapeError(`${e.name}(…) needs a vector, got ${fmtShape(a)}`);
      return e.name === 'logsumexp' ? [] : a;
    }
    case 'dot': {
      const a = shapeOf(e.a), b = shapeOf(e.b);
      if (a.length !== 1 || b.length !== 1) throw new ShapeError(`dot(…) needs two vectors, got ${fmtShape(a)} and ${fmtShape(b)}`);
      if (a[0] !== b[0]) throw new ShapeError(`dot(…) of vectors of lengths ${a[0]} and ${b[0]}`);
      return [];
    }
    case 'sum': return [];
    case 'matvec': {
      const A = shapeOf(e.A), x = shapeOf(e.x);
      if (A.length !== 2 || x.length !== 1) throw new ShapeError(`matrix-vector product needs a matrix and a vector, got ${fmtShape(A)} and ${fmtShape(x)}`);
      if (A[1] !== x[0]) throw new ShapeError(`matrix ${fmtShape(A)} times vector ${fmtShape(x)}: inner dimensions differ`);
      return [A[0]];
    }
    case 'transpose': {
      const A = shapeOf(e.A);
      if (A.length !== 2) throw new ShapeError(`transpose needs a matrix, got ${fmtShape(A)}`);
      return [A[1], A[0]];
    }
    case 'outer': {
      const a = shapeOf(e.a), b = shapeOf(e.b);
      if (a.length !== 1 || b.length !== 1) throw new ShapeError(`outer(…) needs two vectors`);
      return [a[0], b[0]];
    }
    case 'index': {
      const a = shapeOf(e.arg);
      if (a.length !== 1) throw new ShapeError(`indexing needs a vector, got ${fmtShape(a)}`);
      if (shapeOf(e.idx).length !== 0) throw new ShapeError('an index must be a scalar');
      return [];
    }
    case 'unit': return [e.size];
    case 'fill': return e.shape;
  }
}

const keyCache = new WeakMap<object, string>();

/** Canonical structural key: equal keys ⇔ structurally equal trees. Used for CSE and like-term collection. */
export function keyOf(e: Expr): string {
  const hit = keyCache.get(e);
  if (hit !== undefined) return hit;
  let k: string;
  switch (e.kind) {
    case 'num': k = `#${e.value}`; break;
    case 'sym': k = `$${e.name}`; break;
    case 'add': k = `(+ ${e.terms.map(keyOf).join(' ')})`; break;
    case 'mul': k = `(* ${e.factors.map(keyOf).join(' ')})`; break;
    case 'pow': k = `(^ ${keyOf(e.base)} ${e.exp})`; break;
    case 'dot': k = `(dot ${keyOf(e.a)} ${keyOf(e.b)})`; break;
    case 'sum': k = `(sum ${keyOf(e.arg)})`; break;
    case 'matvec': k = `(mv ${keyOf(e.A)} ${keyOf(e.x)})`; break;
    case 'transpose': k = `(T ${keyOf(e.A)})`; break;
    case 'outer': k = `(outer ${keyOf(e.a)} ${keyOf(e.b)})`; break;
    case 'index': k = `(idx ${keyOf(e.arg)} ${keyOf(e.idx)})`; break;
    case 'unit': k = `(unit ${keyOf(e.idx)} ${e.size})`; break;
    case 'fill': k = `(fill ${keyOf(e.value)} ${e.shape.join('x')})`; break;
    case 'fn': case 'vfn': k = `(${e.name} ${keyOf(e.arg)})`; break;
  }
  keyCache.set(e, k);
  return k;
}

export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case 'num': case 'sym': return [];
    case 'add': return [...e.terms];
    case 'mul': return [...e.factors];
    case 'pow': return [e.base];
    case 'dot': case 'outer': return [e.a, e.b];
    case 'sum': case 'fn': case 'vfn': return [e.arg];
    case 'matvec': return [e.A, e.x];
    case 'transpose': return [e.A];
    case 'index': return [e.arg, e.idx];
    case 'unit': return [e.idx];
    case 'fill': return [e.value];
  }
}

/** Rebuild a node with new children (same order as children()). */
export function withChildren(e: Expr, c: Expr[]): Expr {
  switch (e.kind) {
    case 'num': case 'sym': return e;
    case 'add': return add(...c);
    case 'mul': return mul(...c);
    case 'pow': return pow(c[0], e.exp);
    case 'dot': return dot(c[0], c[1]);
    case 'outer': return outer(c[0], c[1]);
    case 'sum': return sum(c[0]);
    case 'fn': return fn(e.name, c[0]);
    case 'vfn': return vfn(e.name, c[0]);
    case 'matvec': return matvec(c[0], c[1]);
    case 'transpose': return transpose(c[0]);
    case 'index': return index(c[0], c[1]);
    case 'unit': return unit(c[0], e.size);
    case 'fill': return fill(c[0], e.shape);
  }
}

export function mapExpr(e: Expr, f: (node: Expr) => Expr | undefined): Expr {
  const direct = f(e);
  if (direct !== undefined) return direct;
  const cs = children(e);
  if (cs.length === 0) return e;
  const mapped = cs.map((c) => mapExpr(c, f));
  return mapped.every((m, k) => m === cs[k]) ? e : withChildren(e, mapped);
}

export function substitute(e: Expr, repl: ReadonlyMap<string, Expr>): Expr {
  return mapExpr(e, (n) => (n.kind === 'sym' && repl.has(n.name) ? repl.get(n.name) : undefined));
}

/** Bind symbolic dimensions to numbers (Problem construction). */
export function bindDims(e: Expr, dims: Readonly<Record<string, number>>): Expr {
  const bindShape = (s: Shape): Shape => s.map((d) => (typeof d === 'string' && d in dims ? dims[d] : d));
  return mapExpr(e, (n) => {
    if (n.kind === 'sym') return { ...n, shape: bindShape(n.shape) };
    if (n.kind === 'unit') return unit(bindDims(n.idx, dims), typeof n.size === 'string' && n.size in dims ? dims[n.size] : n.size);
    if (n.kind === 'fill') return fill(bindDims(n.value, dims), bindShape(n.shape));
    return undefined;
  });
}
