/**
 * Index bounds of a template, checked from the expression before any kernel runs. A compiled
 * kernel reads v[k] as a flat offset into θ or the input row, so an index past the end of v
 * silently reads the next parameter (or the next neuron's): the gradient would then disagree with
 * the loss and nothing would say so. Every index v[k] is therefore required to be an integer
 * polynomial in the neuron index i alone, and k(i) is evaluated exactly for every neuron
 * i = 0 … H − 1 at the bound dimensions (at derive time with the spec's default dims, again
 * whenever a Problem binds other dims).
 */
import { GradflowError } from '../util/errors.ts';
import { type Dim, type Expr, children, shapeOf } from './expr.ts';
import { toText } from './print.ts';

/** The index's value at neuron i, or a reason it is not a function of i alone. */
function evalIndex(e: Expr, i: number): number | string {
  switch (e.kind) {
    case 'num': return e.value;
    case 'sym': return e.role === 'index' ? i : `it uses '${e.name}' (an index may use only the neuron index i and numbers)`;
    case 'add': case 'mul': {
      let acc = e.kind === 'add' ? 0 : 1;
      for (const t of e.kind === 'add' ? e.terms : e.factors) {
        const v = evalIndex(t, i);
        if (typeof v === 'string') return v;
        acc = e.kind === 'add' ? acc + v : acc * v;
      }
      return acc;
    }
    case 'pow': {
      const v = evalIndex(e.base, i);
      return typeof v === 'string' ? v : v ** e.exp;
    }
    default: return `it is a ${e.kind} expression (an index may use only the neuron index i and numbers)`;
  }
}

function length(d: Dim | undefined, dims: Record<string, number>): number {
  return typeof d === 'number' ? d : d === undefined ? NaN : dims[d];
}

/**
 * Throws a one-line GradflowError for the first index of `template` that is not an integer in
 * [0, length) for some neuron i ∈ [0, H), naming the index, the neuron and the valid range.
 */
export function checkIndexBounds(template: Expr, dims: Record<string, number>, H: number, where: string): void {
  const seen = new Set<Expr>();
  const walk = (e: Expr): void => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.kind === 'index' || e.kind === 'unit') {
      const n = length(e.kind === 'index' ? shapeOf(e.arg)[0] : e.size, dims);
      const shown = `${e.kind === 'index' ? `${toText(e.arg)}[${toText(e.idx)}]` : `[${toText(e.idx)}]`}`;
      for (let i = 0; i < H; i++) {
        const k = evalIndex(e.idx, i);
        if (typeof k === 'string') throw new GradflowError(`${where}: the index in ${shown} is not a constant: ${k}`);
        if (!Number.isInteger(k)) throw new GradflowError(`${where}: the index in ${shown} is ${k} at neuron i = ${i}, not an integer`);
        if (Number.isFinite(n) && (k < 0 || k >= n)) {
          throw new GradflowError(`${where}: index ${shown} = ${k} at neuron i = ${i} is out of range: valid indices are 0 … ${n - 1} (length ${n}${H > 1 ? `, neurons i = 0 … ${H - 1}` : ''})`);
        }
      }
    }
    for (const c of children(e)) walk(c);
  };
  walk(template);
}

/**
 * An upper bound on the total polynomial degree of an expression in all its symbols. Expanding
 * a template (laws, proofs) costs terms exponential in it, so it is capped before anything expands.
 */
export function degreeBound(e: Expr, memo = new Map<Expr, number>()): number {
  const hit = memo.get(e);
  if (hit !== undefined) return hit;
  let d: number;
  switch (e.kind) {
    case 'num': d = 0; break;
    case 'sym': d = e.role === 'index' ? 0 : 1; break;
    case 'pow': d = degreeBound(e.base, memo) * e.exp; break;
    case 'mul': case 'dot': case 'outer': case 'matvec':
      d = children(e).reduce((s, c) => s + degreeBound(c, memo), 0);
      break;
    case 'index': d = degreeBound(e.arg, memo); break;
    default: d = children(e).reduce((s, c) => Math.max(s, degreeBound(c, memo)), 0);
  }
  memo.set(e, d);
  return d;
}
