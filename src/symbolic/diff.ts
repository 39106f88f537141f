/**
 * Symbolic reverse-mode differentiation of tensor expressions.
 *
 * grad(f, θ) for a scalar f returns an expression of θ's shape. vjp(f, e, θ) = ∇_θ⟨e, f⟩
 * for a tensor-valued f and a cotangent symbol e — the one derivative gradient flow needs:
 * ∇_θ L = E_x[∇_θ⟨f(x;θ) − y, f(x;θ)⟩ with the residual held fixed], and the AGF utility
 * gradient is the same contraction with the residual r in place of the error.
 */
import {
  type Expr, type Shape, type Sym, add, dot, fill, fn, matvec, mul, neg, num, outer, pow, shapeOf, softmax, sum, transpose, unit, ONE,
} from './expr.ts';
import { simplify } from './simplify.ts';

/** Reduce a cotangent of a broadcast result back to the shape of the operand that was broadcast. */
function unbroadcast(c: Expr, target: Shape): Expr {
  const cs = shapeOf(c);
  if (target.length === cs.length) return c;
  if (target.length === 0) return sum(c);
  throw new Error(`cannot unbroadcast ${cs.length}-tensor to ${target.length}-tensor`);
}

/** Contribution of node e (with cotangent c of e's shape) to the gradient w.r.t. symbol wrt; null when none. */
function backprop(e: Expr, c: Expr, wrt: string): Expr | null {
  const parts: Expr[] = [];
  const push = (x: Expr | null): void => { if (x) parts.push(x); };
  switch (e.kind) {
    case 'num': case 'unit': return null;
    case 'sym': return e.name === wrt ? c : null;
    case 'add':
      for (const t of e.terms) push(backprop(t, unbroadcast(c, shapeOf(t)), wrt));
      break;
    case 'mul':
      e.factors.forEach((f, k) => {
        if (!mentions(f, wrt)) return;
        const others = e.factors.filter((_, j) => j !== k);
        push(backprop(f, unbroadcast(mul(c, ...others), shapeOf(f)), wrt));
      });
      break;
    case 'pow':
      push(backprop(e.base, mul(c, num(e.exp), pow(e.base, e.exp - 1)), wrt));
      break;
    case 'dot':
      push(backprop(e.a, mul(c, e.b), wrt));
      push(backprop(e.b, mul(c, e.a), wrt));
      break;
    case 'sum':
      push(backprop(e.arg, fill(c, shapeOf(e.arg)), wrt));
      break;
    case 'matvec':
      push(backprop(e.A, outer(c, e.x), wrt));
      push(backprop(e.x, matvec(transpose(e.A), c), wrt));
      break;
    case 'transpose':
      push(backprop(e.A, transpose(c), wrt));
      break;
    case 'outer':
      push(backprop(e.a, matvec(c, e.b), wrt));
      push(backprop(e.b, matvec(transpose(c), e.a), wrt));
      break;
    case 'index': {
      const len = shapeOf(e.arg)[0];
      push(backprop(e.arg, mul(c, unit(e.idx, len)), wrt));
      break;
    }
    case 'fill':
      push(backprop(e.value, sum(c), wrt));
      break;
    case 'fn':
      // relu'(z) = step(z); step is flat almost everywhere (its derivative is taken as 0)
      if (e.name === 'relu') push(backprop(e.arg, mul(c, fn('step', e.arg)), wrt));
      else if (e.name === 'exp') push(backprop(e.arg, mul(c, e), wrt));
      else if (e.name === 'log') push(backprop(e.arg, mul(c, pow(e.arg, -1)), wrt));
      else if (e.name === 'softplus') push(backprop(e.arg, mul(c, fn('sigmoid', e.arg)), wrt));
      else if (e.name === 'sigmoid') push(backprop(e.arg, mul(c, e, add(ONE, neg(e))), wrt));
      break;
    case 'vfn': {
      const p = softmax(e.arg);
      // ∇ logsumexp = softmax; the softmax Jacobian diag(π) − ππᵀ applied to c is π ⊙ (c − (cᵀπ) 1)
      if (e.name === 'logsumexp') push(backprop(e.arg, mul(c, p), wrt));
      else push(backprop(e.arg, mul(p, add(c, neg(fill(dot(c, p), shapeOf(e.arg))))), wrt));
      break;
    }
  }
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0] : add(...parts);
}

function mentions(e: Expr, name: string): boolean {
  if (e.kind === 'sym') return e.name === name;
  switch (e.kind) {
    case 'num': return false;
    case 'add': return e.terms.some((t) => mentions(t, name));
    case 'mul': return e.factors.some((t) => mentions(t, name));
    case 'pow': return mentions(e.base, name);
    case 'dot': case 'outer': return mentions(e.a, name) || mentions(e.b, name);
    case 'sum': case 'fn': case 'vfn': return mentions(e.arg, name);
    case 'matvec': return mentions(e.A, name) || mentions(e.x, name);
    case 'transpose': return mentions(e.A, name);
    case 'index': return mentions(e.arg, name) || mentions(e.idx, name);
    case 'unit': return mentions(e.idx, name);
    case 'fill': return mentions(e.value, name);
  }
}

/** ∇_wrt f for scalar f; the result has the shape of wrt (0 when f does not depend on it). */
export function grad(f: Expr, wrt: Sym): Expr {
  if (shapeOf(f).length !== 0) throw new Error('grad needs a scalar expression; use vjp for tensor-valued ones');
  const g = backprop(f, ONE, wrt.name);
  return g ? simplify(g) : fill(num(0), wrt.shape);
}

/** ∇_wrt ⟨cot, f⟩: vector-Jacobian product with a cotangent of f's shape. */
export function vjp(f: Expr, cot: Expr, wrt: Sym): Expr {
  const inner = shapeOf(f).length === 0 ? mul(cot, f) : contract(cot, f);
  return grad(inner, wrt);
}

/** Full contraction ⟨a, b⟩ of two tensors of the same shape. */
export function contract(a: Expr, b: Expr): Expr {
  const s = shapeOf(a);
  if (s.length === 0) return mul(a, b);
  if (s.length === 1) return dot(a, b);
  return sum(mul(a, b));
}

