/**
 * Completeness of the discovered laws (Marcotte, Gribonval & Peyré 2023). If f(x; θ) = g(φ(θ), x),
 * a function h is conserved for every dataset and loss iff ∇h ⊥ ∇φ_j for all j, and the number of
 * independent conserved functions near θ is D − dim Lie(∇φ_1, …)(θ), the Lie algebra generated
 * under [u, v] = (Dv)u − (Du)v.
 *
 * φ is read off the template: the scalarised network Σ_i f_i is a polynomial in the input-side
 * variables (x, and one gate per relu unit — units active on different regions of input space
 * are different functions of x, so their coefficients cannot mix), and φ is the list of its
 * θ-dependent coefficients (per output). For the linear network this is AW; for ReLU units the
 * per-neuron products (a_i w_i, a_i b_i); for the diagonal network u_i v_i.
 *
 * The Lie algebra is built symbolically (exact polynomial vector fields, brackets from exact
 * Jacobians). Fields are kept when independent as functions (stacked values at several random
 * points); the rank at one random point is taken numerically by SVD with a relative tolerance,
 * bracketing until the algebra closes or the rank stops growing.
 */
import type { ModelDefinition } from '../spec.ts';
import { Poly, QQ, type Rational } from '../symbolic/poly.ts';
import { gradTheta, scalariseModel } from '../symbolic/scalarise.ts';
import { asDerived, discoverLaws, GradientSpan, numericRank, probeDims, randomPoint, type Discovery } from './discover.ts';
import type { DerivedModel } from '../symbolic/derive.ts';
import { instantiate } from './family.ts';

type Field = Poly<Rational>[];

export interface CompletenessResult {
  model: string;
  dims: Record<string, number>;
  /** Number of parameters at these dimensions. */
  D: number;
  /** Components of φ (θ-dependent coefficients of f in the input-side variables). */
  phiCount: number;
  phiSample: string[];
  /** Rank at the random point after each bracket depth (depth 0: span of ∇φ). */
  ranks: number[];
  lieRank: number;
  /** Dimension of the Lie algebra as a vector space of fields (when it closed). */
  algebraDim: number;
  closed: boolean;
  expected: number;
  found: number;
  complete: boolean;
  message: string;
  seconds: number;
}

export interface CompletenessOptions {
  dims?: Record<string, number>;
  seed?: number;
  /** Depth cap for brackets (default 8). */
  maxDepth?: number;
  relTol?: number;
  discovery?: Discovery;
}

function bracket(u: Field, v: Field, D: number): Field {
  // [u, v]_a = Σ_b (∂v_a/∂θ_b) u_b − (∂u_a/∂θ_b) v_b
  const out: Field = [];
  for (let a = 0; a < D; a++) {
    let s = Poly.zero(QQ);
    const va = v[a], ua = u[a];
    if (va.size) for (const b of va.variables()) if (b < D && u[b].size) s = s.add(va.diff(b).mul(u[b]));
    if (ua.size) for (const b of ua.variables()) if (b < D && v[b].size) s = s.sub(ua.diff(b).mul(v[b]));
    out.push(s);
  }
  return out;
}

function evalField(X: Field, pt: Float64Array): Float64Array {
  const out = new Float64Array(X.length);
  for (let a = 0; a < X.length; a++) out[a] = X[a].size ? X[a].evaluate(pt) : 0;
  return out;
}

export function completeness(model: ModelDefinition | DerivedModel, opts: CompletenessOptions = {}): CompletenessResult {
  const t0 = performance.now();
  const m = asDerived(model);
  const dims = { ...probeDims(m, 3), ...(opts.dims ?? {}) };
  const sm = scalariseModel(m, dims);
  const D = sm.D;
  const seed = opts.seed ?? 5;
  const relTol = opts.relTol ?? 1e-9;

  // φ: θ-dependent coefficients of f in the input-side variables
  const phi: Poly<Rational>[] = [];
  for (const fk of sm.f) {
    for (const { coef } of fk.coefficientsIn(sm.isInputSide).values()) {
      if ([...coef.variables()].some((v) => v < D)) phi.push(coef);
    }
  }
  const gens: Field[] = phi.map((p) => gradTheta(p, D));

  // function-space independence: values at several random points, stacked
  const nPts = 3;
  const pts = Array.from({ length: nPts }, (_, k) => randomPoint(D, seed + 100 + k));
  const fnSpan = new GradientSpan(new Float64Array(0), 1e-9);
  const stacked = (X: Field): Float64Array => {
    const out = new Float64Array(D * nPts);
    pts.forEach((p, k) => out.set(evalField(X, p), k * D));
    return out;
  };
  const basis: Field[] = [];
  const tryAdd = (X: Field): boolean => {
    if (!fnSpan.addVector(stacked(X))) return false;
    basis.push(X);
    return true;
  };
  const g0: Field[] = [];
  for (const X of gens) if (tryAdd(X)) g0.push(X);
  const theta0 = randomPoint(D, seed);
  const rankNow = (): number => numericRank(basis.map((X) => evalField(X, theta0)), relTol);
  const ranks = [rankNow()];
  let frontier = [...g0];
  let closed = frontier.length === 0;
  const maxDepth = opts.maxDepth ?? 8;
  for (let depth = 1; depth <= maxDepth && !closed && ranks[ranks.length - 1] < D; depth++) {
    const next: Field[] = [];
    for (const g of g0) for (const Y of frontier) {
      const B = bracket(g, Y, D);
      if (tryAdd(B)) next.push(B);
    }
    ranks.push(rankNow());
    if (next.length === 0) closed = true;
    frontier = next;
    // the pointwise rank has been flat for two depths: it has stabilised
    if (ranks.length >= 3 && ranks[ranks.length - 1] === ranks[ranks.length - 3]) break;
  }
  const lieRank = ranks[ranks.length - 1];
  const expected = D - lieRank;

  // independent discovered laws at the same dimensions: rank of their gradients at θ0
  const disc = opts.discovery ?? discoverLaws(m, { dims });
  const span = new GradientSpan(theta0);
  // translation laws hold for softmax losses only; the Lie-rank count is of laws conserved for every loss
  for (const l of disc.laws) if (l.family.kind !== 'translation') for (const q of instantiate(l.family, m, sm.layout)) span.add(q.poly);
  const found = span.rank;
  const complete = found === expected;
  const message = complete
    ? `found ${found} law${found === 1 ? '' : 's'}, Lie rank says D − rank = ${D} − ${lieRank} = ${expected}: complete`
    : `found ${found} law${found === 1 ? '' : 's'}, Lie rank says D − rank = ${D} − ${lieRank} = ${expected}: ${found < expected ? `${expected - found} missing` : `${found - expected} more than the count allows (check the rank tolerance)`}`;
  return {
    model: m.spec.name, dims: sm.layout.dims, D, phiCount: phi.length, phiSample: phi.slice(0, 4).map((p) => p.toText(sm.vars, 4)),
    ranks, lieRank, algebraDim: basis.length, closed, expected, found, complete, message, seconds: (performance.now() - t0) / 1000,
  };
}
