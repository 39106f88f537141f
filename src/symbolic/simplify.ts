/**
 * Algebraic clean-up of tensor expressions: flattening, constant folding, like-term
 * collection and pulling scalars out of contractions. It never changes the value of an
 * expression; it only makes derived equations short enough to read and cheap to compile.
 */
import { scalarFn } from './evaluate.ts';
import {
  type Expr, add, children, dot, index, keyOf, matvec, mul, num, outer, pow, shapeOf, sum, withChildren, ZERO,
} from './expr.ts';

export function isZero(e: Expr): boolean {
  return (e.kind === 'num' && e.value === 0) || (e.kind === 'fill' && isZero(e.value));
}

const isScalar = (e: Expr): boolean => shapeOf(e).length === 0;

/** Split a product into its numeric coefficient and the remaining factors. */
function splitCoef(e: Expr): { coef: number; rest: Expr[] } {
  if (e.kind === 'num') return { coef: e.value, rest: [] };
  if (e.kind === 'mul') {
    let coef = 1;
    const rest: Expr[] = [];
    for (const f of e.factors) {
      if (f.kind === 'num') coef *= f.value;
      else rest.push(f);
    }
    return { coef, rest };
  }
  return { coef: 1, rest: [e] };
}

function makeMul(coef: number, rest: Expr[]): Expr {
  if (coef === 0) return ZERO;
  if (rest.length === 0) return num(coef);
  if (coef === 1 && rest.length === 1) return rest[0];
  return coef === 1 ? mul(...rest) : mul(num(coef), ...rest);
}

/** Scalar factors of a product (to be pulled out of a contraction) and its tensor part. */
function splitScalars(e: Expr): { scalars: Expr[]; tensor: Expr } {
  if (e.kind !== 'mul') return { scalars: [], tensor: e };
  const scalars = e.factors.filter(isScalar);
  const tensors = e.factors.filter((f) => !isScalar(f));
  if (tensors.length === 0) return { scalars: [], tensor: e };
  return { scalars, tensor: tensors.length === 1 ? tensors[0] : mul(...tensors) };
}

export function simplify(e: Expr): Expr {
  const cs = children(e);
  const s = cs.length === 0 ? e : withChildren(e, cs.map(simplify));
  return rewrite(s);
}

function rewrite(e: Expr): Expr {
  switch (e.kind) {
    case 'add': return simplifyAdd(e.terms);
    case 'mul': return simplifyMul(e.factors);
    case 'pow': {
      if (e.exp === 0) return num(1);
      if (e.exp === 1) return e.base;
      if (e.base.kind === 'num') return num(e.base.value ** e.exp);
      if (e.base.kind === 'pow') return pow(e.base.base, e.base.exp * e.exp);
      return e;
    }
    case 'dot': {
      if (isZero(e.a) || isZero(e.b)) return ZERO;
      const A = splitScalars(e.a), B = splitScalars(e.b);
      if (A.scalars.length || B.scalars.length) return simplify(mul(...A.scalars, ...B.scalars, dot(A.tensor, B.tensor)));
      if (e.a.kind === 'fill') return simplify(mul(e.a.value, sum(e.b)));
      if (e.b.kind === 'fill') return simplify(mul(e.b.value, sum(e.a)));
      if (e.a.kind === 'unit') return index(e.b, e.a.idx);
      if (e.b.kind === 'unit') return index(e.a, e.b.idx);
      if (e.a.kind === 'add') return simplify(add(...e.a.terms.map((t) => dot(t, e.b))));
      if (e.b.kind === 'add') return simplify(add(...e.b.terms.map((t) => dot(e.a, t))));
      // parameters before inputs reads as wᵀx, the usual way round
      return rank(e.b) < rank(e.a) ? dot(e.b, e.a) : e;
    }
    case 'sum': {
      const a = e.arg;
      if (isScalar(a)) return a;
      if (isZero(a)) return ZERO;
      if (a.kind === 'unit') return num(1);
      if (a.kind === 'vfn' && a.name === 'softmax') return num(1); // probabilities sum to one: 1ᵀπ = 1
      if (a.kind === 'add') return simplify(add(...a.terms.map((t) => sum(t))));
      const { scalars, tensor } = splitScalars(a);
      if (scalars.length) return simplify(mul(...scalars, sum(tensor)));
      if (tensor.kind === 'mul' && tensor.factors.length === 2 && shapeOf(tensor).length === 1) return simplify(dot(tensor.factors[0], tensor.factors[1])); // dot is for vectors only: Σ A⊙B of matrices stays a sum
      if (tensor.kind === 'fill' && typeof tensor.shape[0] === 'number' && tensor.shape.length === 1) return simplify(mul(num(tensor.shape[0]), tensor.value));
      return e;
    }
    case 'matvec': {
      if (isZero(e.A) || isZero(e.x)) return ZERO;
      const X = splitScalars(e.x), A = splitScalars(e.A);
      if (X.scalars.length || A.scalars.length) return simplify(mul(...A.scalars, ...X.scalars, matvec(A.tensor, X.tensor)));
      if (e.x.kind === 'add') return simplify(add(...e.x.terms.map((t) => matvec(e.A, t))));
      return e;
    }
    case 'transpose': return e.A.kind === 'transpose' ? e.A.A : isZero(e.A) ? ZERO : e;
    case 'outer': {
      if (isZero(e.a) || isZero(e.b)) return ZERO;
      const A = splitScalars(e.a), B = splitScalars(e.b);
      if (A.scalars.length || B.scalars.length) return simplify(mul(...A.scalars, ...B.scalars, outer(A.tensor, B.tensor)));
      return e;
    }
    case 'index': {
      const a = e.arg;
      if (isZero(a)) return ZERO;
      if (a.kind === 'add') return simplify(add(...a.terms.map((t) => index(t, e.idx))));
      if (a.kind === 'mul') return simplify(mul(...a.factors.map((f) => (isScalar(f) ? f : index(f, e.idx)))));
      if (a.kind === 'fill') return a.value;
      return e;
    }
    case 'fill': return isZero(e.value) ? ZERO : e;
    case 'fn': {
      if (e.name === 'relu' || e.name === 'step') return isZero(e.arg) ? ZERO : e;
      if (e.arg.kind === 'num') return num(scalarFn(e.name, e.arg.value));
      if (e.name === 'log' && e.arg.kind === 'fn' && e.arg.name === 'exp') return e.arg.arg;
      return e;
    }
    default: return e;
  }
}

const ROLE_RANK: Record<string, number> = { param: 0, aux: 1, moment: 2, residual: 3, input: 4, index: 5 };
function rank(e: Expr): number {
  if (e.kind === 'sym') return ROLE_RANK[e.role] ?? 9;
  const cs = children(e);
  return cs.length ? Math.max(...cs.map(rank)) : 0;
}

function simplifyAdd(terms: readonly Expr[]): Expr {
  const flat: Expr[] = [];
  for (const t of terms) {
    if (t.kind === 'add') flat.push(...t.terms);
    else if (!isZero(t)) flat.push(t);
  }
  // collect like terms, keeping first-appearance order so printed equations stay readable
  const order: string[] = [];
  const groups = new Map<string, { coef: number; rest: Expr[] }>();
  for (const t of flat) {
    const { coef, rest } = splitCoef(t);
    // elementwise products commute, so like terms are grouped on the sorted factor keys
    const k = rest.map(keyOf).sort().join('*');
    const g = groups.get(k);
    if (g) g.coef += coef;
    else {
      groups.set(k, { coef, rest });
      order.push(k);
    }
  }
  const out: Expr[] = [];
  for (const k of order) {
    const g = groups.get(k)!;
    if (g.coef !== 0) out.push(makeMul(g.coef, g.rest));
  }
  if (out.length === 0) return ZERO;
  return out.length === 1 ? out[0] : add(...out);
}

function simplifyMul(factors: readonly Expr[]): Expr {
  const flat: Expr[] = [];
  for (const f of factors) {
    if (f.kind === 'mul') flat.push(...f.factors);
    else flat.push(f);
  }
  let coef = 1;
  const scalarPows = new Map<string, { base: Expr; exp: number }>();
  const scalarOrder: string[] = [];
  const tensors: Expr[] = [];
  for (const f of flat) {
    if (f.kind === 'num') { coef *= f.value; continue; }
    if (isZero(f)) return ZERO;
    if (f.kind === 'fill') {
      // a filled tensor times other tensors of its shape is just its scalar value
      tensors.push(f);
      continue;
    }
    if (isScalar(f)) {
      const base = f.kind === 'pow' ? f.base : f;
      const exp = f.kind === 'pow' ? f.exp : 1;
      const k = keyOf(base);
      const g = scalarPows.get(k);
      if (g) g.exp += exp;
      else { scalarPows.set(k, { base, exp }); scalarOrder.push(k); }
    } else tensors.push(f);
  }
  if (coef === 0) return ZERO;
  const nonFill = tensors.filter((t) => t.kind !== 'fill');
  const rest: Expr[] = [];
  for (const k of scalarOrder) {
    const { base, exp } = scalarPows.get(k)!;
    if (exp === 0) continue; // x·x⁻¹
    rest.push(exp === 1 ? base : pow(base, exp));
  }
  for (const t of tensors) {
    if (t.kind === 'fill' && nonFill.length > 0) rest.push(t.value);
    else rest.push(t);
  }
  if (rest.length === 0) return num(coef);
  // distribute a numeric coefficient into a single sum so that −(a − b) prints as b − a
  if (rest.length === 1 && rest[0].kind === 'add' && coef !== 1) return simplifyAdd(rest[0].terms.map((t) => mul(num(coef), t)).map(rewrite));
  const out = makeMul(coef, rest);
  return out.kind === 'mul' && out.factors.length === 1 ? out.factors[0] : out;
}

