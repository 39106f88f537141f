/**
 * Homogeneity of a template in a set of symbols, decided structurally on the expression tree:
 * f(sθ) = s^κ f(θ) for s > 0. relu is positively 1-homogeneous and step 0-homogeneous, so
 * ReLU units are covered too. Returns null when the expression is not homogeneous.
 */
import { type Expr } from './expr.ts';
import { isZero } from './simplify.ts';

export function homogeneityDegree(e: Expr, names: ReadonlySet<string>): number | null {
  switch (e.kind) {
    case 'num': return 0;
    case 'sym': return names.has(e.name) ? 1 : 0;
    case 'add': {
      let deg: number | null = null;
      for (const t of e.terms) {
        if (isZero(t)) continue;
        const k = homogeneityDegree(t, names);
        if (k === null) return null;
        if (deg === null) deg = k;
        else if (deg !== k) return null;
      }
      return deg ?? 0;
    }
    case 'mul': return sumDegrees(e.factors, names);
    case 'pow': {
      const k = homogeneityDegree(e.base, names);
      return k === null ? null : k * e.exp;
    }
    case 'dot': case 'outer': return sumDegrees([e.a, e.b], names);
    case 'matvec': return sumDegrees([e.A, e.x], names);
    case 'sum': case 'transpose': return homogeneityDegree(e.kind === 'sum' ? e.arg : e.A, names);
    case 'index': return homogeneityDegree(e.arg, names);
    case 'unit': return 0;
    case 'fill': return homogeneityDegree(e.value, names);
    case 'fn': {
      const k = homogeneityDegree(e.arg, names);
      if (k === null) return null;
      if (e.name === 'relu') return k;
      // step is 0-homogeneous; exp, log, σ, softplus only of an argument free of the symbols
      return e.name === 'step' || k === 0 ? 0 : null;
    }
    case 'vfn': {
      const k = homogeneityDegree(e.arg, names);
      return k === 0 ? 0 : null;
    }
  }
}

function sumDegrees(es: readonly Expr[], names: ReadonlySet<string>): number | null {
  let total = 0;
  for (const f of es) {
    const k = homogeneityDegree(f, names);
    if (k === null) return null;
    total += k;
  }
  return total;
}

/** True when the expression is a polynomial (no relu/step). */
export function isPolynomial(e: Expr): boolean {
  if (e.kind === 'fn' || e.kind === 'vfn') return false;
  switch (e.kind) {
    case 'num': case 'sym': case 'unit': return true;
    case 'add': return e.terms.every(isPolynomial);
    case 'mul': return e.factors.every(isPolynomial);
    case 'pow': return e.exp >= 0 && isPolynomial(e.base);
    case 'dot': case 'outer': return isPolynomial(e.a) && isPolynomial(e.b);
    case 'matvec': return isPolynomial(e.A) && isPolynomial(e.x);
    case 'sum': return isPolynomial(e.arg);
    case 'transpose': return isPolynomial(e.A);
    case 'index': return isPolynomial(e.arg);
    case 'fill': return isPolynomial(e.value);
  }
}
