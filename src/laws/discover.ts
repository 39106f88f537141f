/**
 * Discovery of continuous symmetries and their Noether charges, from the template alone.
 *
 * A linear generator ξ(θ) = Kθ is a symmetry of the model when ⟨∇_θ f(x; θ), ξ(θ)⟩ ≡ 0 for a
 * symbolic x; this is checked by expansion in the exact polynomial engine on the scalarised
 * template (relu units with symbolic gates, so every activation pattern at once). When K is
 * symmetric the gradient flow conserves Q = θᵀKθ, since dQ/dt = 2⟨Kθ, −∇L⟩ and ∇L is an average
 * of residual-weighted ∇_θ f. Antisymmetric parts (rotations) are symmetries without a charge.
 *
 * Candidates, all derived from the parameter structure:
 *  - per-tensor rescalings θ_p → s^{λ_p} θ_p of one neuron. Admissible λ are the null space of
 *    the matrix of per-tensor degrees of f_i's monomials (incoming × s / outgoing ÷ s partitions
 *    are λ ∈ {±1}; a three-factor unit has a 2-dimensional space; the quadratic unit w(uᵀx_a + vᵀx_b)²
 *    needs λ = (1, 1, −2)). Each basis vector is then verified symbolically.
 *  - GL(H) mixing neurons for every ±1 rescaling (A-side × G⁻¹ on the right, B-side G × on the left):
 *    the two-layer linear network's matrix law AᵀA − WWᵀ.
 *  - GL(r) inside one neuron on a dimension shared by two parameters (matrix-shaped groups).
 *  - rescalings of one hidden unit whose parameters are slices of several tensors (a deep net's
 *    unit k: row k of W_ℓ, entry k of b_ℓ, column k of W_{ℓ+1}), from the null space of the
 *    per-slice degrees; listed only where they add laws to the ones above.
 *  - translation (softmax logits shifted together) and scale (weights feeding a normalisation):
 *    hooks, reported as not applicable until such models exist.
 */
import type { ModelDefinition } from '../spec.ts';
import { deriveModel, type DerivedModel } from '../symbolic/derive.ts';
import { Poly, QQ, type Rational } from '../symbolic/poly.ts';
import { gradTheta, scalariseModel, type ScalarModel } from '../symbolic/scalarise.ts';
import { familyFormula, instantiate, type LawFamily, type LawInstance } from './family.ts';
import { Rng } from '../util/rng.ts';
import { Matrix, SVD } from 'ml-matrix';
import { buildLoss } from '../symbolic/losses.ts';

export type SymmetryKind = 'rescaling' | 'gl-neurons' | 'gl-matrix' | 'translation' | 'scale';

export interface Symmetry {
  id: string;
  kind: SymmetryKind;
  /** The group action, text and LaTeX. */
  action: string;
  actionLatex: string;
  /** Infinitesimal generators verified (⟨∇_θ f, ξ⟩ expanded to 0). */
  generatorsVerified: number;
  /** The Noether charge's family (null: no charge, e.g. pure rotations). */
  law: LawFamily | null;
}

export interface DiscoveredLaw {
  family: LawFamily;
  text: string;
  latex: string;
  symmetry: string;
  /** Number of law instances at the discovery dimensions and how many are independent of earlier laws. */
  instances: number;
  independent: number;
  /** Set when every instance is a combination of an earlier law's (e.g. the rescaling laws are the diagonal of the matrix law). */
  subsumedBy?: string;
}

export interface Discovery {
  model: string;
  dims: Record<string, number>;
  symmetries: Symmetry[];
  laws: DiscoveredLaw[];
  notApplicable: { kind: SymmetryKind; reason: string }[];
  checks: number;
  seconds: number;
}

export interface DiscoverOptions {
  /** Dimensions used for the invariance checks (default: every named dimension = 3). */
  dims?: Record<string, number>;
  seed?: number;
}

/** Every named dimension set to `n` (the probe size used by discovery and proofs). */
export function probeDims(m: DerivedModel, n = 3): Record<string, number> {
  return Object.fromEntries(Object.keys(m.spec.dims).map((k) => [k, n]));
}

export function asDerived(model: ModelDefinition | DerivedModel): DerivedModel {
  return 'template' in model && 'vjps' in model ? model : deriveModel((model as ModelDefinition).spec);
}

/** The stacked matrix of a side: one parameter → its capital ([a_1 … a_H] → A), several → [W b]. */
export function bigName(ps: string[]): string {
  return ps.length === 1 ? ps[0].toUpperCase() : `[${ps.map((p, k) => (k === 0 ? p.toUpperCase() : p)).join(' ')}]`;
}

/** Invariance tester over one scalarised model: ⟨∇_θ f_k, ξ⟩ ≡ 0 for every output k. */
class InvarianceChecker {
  readonly grads: Poly<Rational>[][];
  checks = 0;
  constructor(readonly sm: ScalarModel) {
    this.grads = sm.f.map((fk) => gradTheta(fk, sm.D));
  }
  /** ⟨∇_θ f_k, ξ⟩ is one non-zero polynomial s for every output k: ξ shifts all logits together. */
  shiftsTogether(xi: Map<number, Poly<Rational>>): boolean {
    this.checks++;
    let first: Poly<Rational> | null = null;
    for (const g of this.grads) {
      let s = Poly.zero(QQ);
      for (const [v, p] of xi) s = s.add(g[v].mul(p));
      if (first === null) {
        if (s.isZero()) return false;
        first = s;
      } else if (!s.sub(first).isZero()) return false;
    }
    return first !== null;
  }
  invariant(xi: Map<number, Poly<Rational>>): boolean {
    this.checks++;
    for (const g of this.grads) {
      let s = Poly.zero(QQ);
      for (const [v, p] of xi) s = s.add(g[v].mul(p));
      if (!s.isZero()) return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------- exact null space

type Q = Rational;
const qsub = (a: Q, b: Q): Q => QQ.add(a, QQ.neg(b));
const qdiv = (a: Q, b: Q): Q => QQ.mul(a, { n: b.d * (b.n < 0n ? -1n : 1n), d: b.n < 0n ? -b.n : b.n });

/** Integer basis of {λ : Mλ = 0} (rows of M are exponent vectors), first non-zero entry positive. */
export function integerNullspace(rows: number[][], m: number): number[][] {
  const A: Q[][] = rows.map((r) => r.map((x) => QQ.fromNumber(x)));
  const pivots: number[] = [];
  let r = 0;
  for (let c = 0; c < m && r < A.length; c++) {
    const p = A.findIndex((row, k) => k >= r && !QQ.isZero(row[c]));
    if (p < 0) continue;
    [A[r], A[p]] = [A[p], A[r]];
    const piv = A[r][c];
    A[r] = A[r].map((x) => qdiv(x, piv));
    for (let k = 0; k < A.length; k++) {
      if (k === r || QQ.isZero(A[k][c])) continue;
      const f = A[k][c];
      A[k] = A[k].map((x, j) => qsub(x, QQ.mul(f, A[r][j])));
    }
    pivots.push(c);
    r++;
  }
  const free = Array.from({ length: m }, (_, c) => c).filter((c) => !pivots.includes(c));
  const basis: number[][] = [];
  for (const fc of free) {
    const vec: Q[] = Array.from({ length: m }, () => QQ.zero);
    vec[fc] = QQ.one;
    pivots.forEach((pc, k) => { vec[pc] = QQ.neg(A[k][fc]); });
    let l = 1n;
    const g = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : g(b, a % b));
    for (const x of vec) l = (l * x.d) / g(l, x.d);
    let ints = vec.map((x) => Number((x.n * l) / x.d));
    const first = ints.find((x) => x !== 0) ?? 1;
    if (first < 0) ints = ints.map((x) => -x);
    basis.push(ints.map((x) => (x === 0 ? 0 : x)));
  }
  return basis;
}

// ---------------------------------------------------------------- candidates

function neuronSlotIds(sm: ScalarModel, p: string, i: number): number[] {
  const s = sm.layout.params.find((x) => x.name === p)!;
  const base = i * sm.layout.P + s.offset;
  return Array.from({ length: s.size }, (_, k) => base + k);
}

const variable = (id: number): Poly<Rational> => Poly.variable(QQ, id);

function rescalingCandidates(sm: ScalarModel): number[][] {
  const names = sm.layout.params.map((s) => s.name);
  const owner = new Map<number, number>();
  names.forEach((p, pi) => { for (const id of neuronSlotIds(sm, p, 0)) owner.set(id, pi); });
  const rows = new Map<string, number[]>();
  for (const fk of sm.neuronF[0]) {
    for (const t of fk.terms()) {
      const deg = names.map(() => 0);
      for (let k = 0; k < t.m.length; k += 2) {
        const pi = owner.get(t.m[k]);
        if (pi !== undefined) deg[pi] += t.m[k + 1];
      }
      rows.set(deg.join(','), deg);
    }
  }
  return integerNullspace([...rows.values()], names.length).filter((l) => l.some((x) => x !== 0));
}

function rescalingLaw(names: string[], lambda: number[], id: string): LawFamily {
  return { kind: 'rescaling', id, weights: Object.fromEntries(names.map((p, k) => [p, lambda[k]])) };
}

function describeRescaling(names: string[], lambda: number[]): { text: string; latex: string } {
  const parts = names.map((p, k) => ({ p, l: lambda[k] })).filter((x) => x.l !== 0);
  const pw = (l: number, latex: boolean): string => (l === 1 ? 's' : latex ? `s^{${l}}` : `s^${l}`);
  return {
    text: parts.map((x) => `${x.p} → ${pw(x.l, false)}·${x.p}`).join(', ') + ' (s > 0, one neuron at a time)',
    latex: parts.map((x) => `${x.p} \\mapsto ${pw(x.l, true)} ${x.p}`).join(',\\ ') + '\\quad (s > 0)',
  };
}

/** Rank-revealing selection: which law instances add to the span of the gradients at a random point. */
export class GradientSpan {
  private rows: Float64Array[] = [];
  constructor(private readonly point: Float64Array, private readonly tol = 1e-9) {}
  get rank(): number {
    return this.rows.length;
  }
  /** Adds the gradient of q at the point if it is independent; returns whether it was. */
  add(q: Poly<Rational>): boolean {
    const g = new Float64Array(this.point.length);
    for (const v of q.variables()) g[v] = q.diff(v).evaluate(this.point);
    return this.addVector(g);
  }
  addVector(g0: Float64Array): boolean {
    const g = Float64Array.from(g0);
    const n0 = Math.hypot(...g);
    if (n0 === 0) return false;
    for (let pass = 0; pass < 2; pass++) {
      for (const r of this.rows) {
        let d = 0;
        for (let k = 0; k < g.length; k++) d += g[k] * r[k];
        for (let k = 0; k < g.length; k++) g[k] -= d * r[k];
      }
    }
    const n = Math.hypot(...g);
    if (n <= this.tol * n0) return false;
    for (let k = 0; k < g.length; k++) g[k] /= n;
    this.rows.push(g);
    return true;
  }
}

export function randomPoint(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return rng.normalArray(n);
}

/** Numerical rank of a set of row vectors (SVD, relative tolerance). */
export function numericRank(rows: Float64Array[], relTol = 1e-9): number {
  if (rows.length === 0) return 0;
  const M = new Matrix(rows.map((r) => Array.from(r)));
  const s = new SVD(M, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true }).diagonal;
  const smax = Math.max(...s);
  return smax === 0 ? 0 : s.filter((x) => x > relTol * smax).length;
}

export function discoverLaws(model: ModelDefinition | DerivedModel, opts: DiscoverOptions = {}): Discovery {
  const t0 = performance.now();
  const m = asDerived(model);
  const dims = { ...probeDims(m), ...(opts.dims ?? {}) };
  const sm = scalariseModel(m, dims);
  const chk = new InvarianceChecker(sm);
  const { H } = sm.layout;
  const names = sm.layout.params.map((s) => s.name);
  const symmetries: Symmetry[] = [];
  const families: { fam: LawFamily; symmetry: string }[] = [];

  // 1. per-tensor rescalings
  const lambdas = rescalingCandidates(sm);
  const verified: number[][] = [];
  for (const lambda of lambdas) {
    let ok = true;
    let n = 0;
    for (let i = 0; i < H && ok; i++) {
      const xi = new Map<number, Poly<Rational>>();
      names.forEach((p, k) => { if (lambda[k] !== 0) for (const id of neuronSlotIds(sm, p, i)) xi.set(id, variable(id).scale(lambda[k])); });
      ok = chk.invariant(xi);
      n++;
    }
    if (!ok) continue;
    verified.push(lambda);
    const id = `rescaling${lambdas.length > 1 ? `-${verified.length}` : ''}`;
    const d = describeRescaling(names, lambda);
    const law = rescalingLaw(names, lambda, `Q-${id}`);
    symmetries.push({ id, kind: 'rescaling', action: d.text, actionLatex: d.latex, generatorsVerified: n, law });
    families.push({ fam: law, symmetry: id });
  }

  // 2. GL(H) across neurons, for ±1 rescalings
  const glFamilies: { fam: LawFamily; symmetry: string }[] = [];
  if (H >= 2) {
    for (const lambda of verified) {
      if (!lambda.every((x) => x === 0 || x === 1 || x === -1)) continue;
      const A = names.filter((_, k) => lambda[k] === 1), B = names.filter((_, k) => lambda[k] === -1);
      if (A.length === 0 || B.length === 0) continue;
      const ids = (ps: string[], i: number): number[] => ps.flatMap((p) => neuronSlotIds(sm, p, i));
      let ok = true;
      let n = 0;
      for (let k = 0; k < H && ok; k++) {
        for (let l = 0; l < H && ok; l++) {
          if (k === l) continue;
          // E = e_k e_lᵀ: ξ(A_k) = A_l, ξ(B_l) = −B_k
          const xi = new Map<number, Poly<Rational>>();
          ids(A, k).forEach((id, j) => xi.set(id, variable(ids(A, l)[j])));
          ids(B, l).forEach((id, j) => xi.set(id, variable(ids(B, k)[j]).neg()));
          ok = chk.invariant(xi);
          n++;
        }
      }
      if (!ok) continue;
      const id = `gl-neurons(${A.join(',')}|${B.join(',')})`;
      const big = bigName;
      const law: LawFamily = { kind: 'gl-neurons', id: `Q-${id}`, A, B };
      symmetries.push({
        id, kind: 'gl-neurons',
        action: `${big(A)} → ${big(A)}G⁻¹, ${big(B)} → G${big(B)} for G ∈ GL(H) mixing the neurons (${big(A)} has columns ${A.join(', ')}_k, ${big(B)} rows ${B.join(', ')}_k); symmetric generators give the matrix law, antisymmetric ones rotate without a charge`,
        actionLatex: `${big(A)} \\mapsto ${big(A)} G^{-1},\\ ${big(B)} \\mapsto G ${big(B)},\\ G \\in GL(H)`,
        generatorsVerified: n + H, law,
      });
      glFamilies.push({ fam: law, symmetry: id });
    }
  }

  // 3. GL(r) inside a neuron on a dimension shared by two parameters
  const params = m.params;
  for (let a = 0; a < params.length; a++) {
    for (let b = a + 1; b < params.length; b++) {
      const P = params[a], R = params[b];
      if (P.shape.length + R.shape.length < 3) continue; // at least one matrix
      P.shape.forEach((dp, pa) => {
        R.shape.forEach((dr, rb) => {
          if (typeof dp !== 'string' || dp !== dr) return;
          const sl = sm.layout.params.find((s) => s.name === P.name)!;
          const r = sl.shape[pa];
          const slice = (name: string, axis: number, i: number, k: number): number[] => {
            const s = sm.layout.params.find((x) => x.name === name)!;
            const base = i * sm.layout.P + s.offset;
            const strides = s.shape.map((_, q) => s.shape.slice(q + 1).reduce((x, y) => x * y, 1));
            const out: number[] = [];
            for (let f = 0; f < s.size; f++) if (Math.floor(f / strides[axis]) % s.shape[axis] === k) out.push(base + f);
            return out;
          };
          let ok = true;
          let n = 0;
          for (let i = 0; i < H && ok; i++) {
            for (let k = 0; k < r && ok; k++) {
              for (let l = 0; l < r && ok; l++) {
                const xi = new Map<number, Poly<Rational>>();
                const add = (id: number, p: Poly<Rational>): void => { xi.set(id, (xi.get(id) ?? Poly.zero(QQ)).add(p)); };
                slice(P.name, pa, i, k).forEach((id, j) => add(id, variable(slice(P.name, pa, i, l)[j])));
                slice(R.name, rb, i, l).forEach((id, j) => add(id, variable(slice(R.name, rb, i, k)[j]).neg()));
                ok = chk.invariant(xi);
                n++;
              }
            }
          }
          if (!ok) return;
          const id = `gl-matrix(${P.name}:${pa}|${R.name}:${rb})`;
          const law: LawFamily = { kind: 'gl-matrix', id: `Q-${id}`, left: P.name, leftAxis: pa, right: R.name, rightAxis: rb, dim: dp };
          symmetries.push({
            id, kind: 'gl-matrix',
            action: `${P.name} → ${P.name}·G⁻¹ along '${dp}', ${R.name} → G·${R.name} along '${dp}', G ∈ GL(${dp})`,
            actionLatex: `${P.name} \\mapsto ${P.name} G^{-1},\\ ${R.name} \\mapsto G ${R.name},\\ G \\in GL(${dp})`,
            generatorsVerified: n, law,
          });
          glFamilies.push({ fam: law, symmetry: id });
        });
      });
    }
  }

  // 3b. rescaling of one hidden unit made of slices of several tensors (deep nets): kept only when it adds laws
  const unitFamilies = unitRescalings(m, sm, chk);
  for (const u of unitFamilies) symmetries.push(u.symmetry);

  // 4. translation of the logits: a symmetry of ℓ∘f (not of f) when the loss has 1ᵀG = 0
  const notApplicable: { kind: SymmetryKind; reason: string }[] = [];
  const translation = translationLaws(m, sm, chk);
  if (typeof translation === 'string') notApplicable.push({ kind: 'translation', reason: translation });
  else for (const t of translation) { symmetries.push(t.symmetry); families.push({ fam: t.law, symmetry: t.symmetry.id }); }
  notApplicable.push({ kind: 'scale', reason: 'no normalisation layer: parameters feeding a normalisation would give ‖θ_A‖² (hook)' });

  // independence: matrix laws first (they contain the rescaling laws as their diagonal)
  // unit rescalings before the layer-wise ones: a layer-wise law of a deep net is a sum of unit laws
  const ordered = [...glFamilies, ...unitFamilies.map((u) => ({ fam: u.law, symmetry: u.symmetry.id, optional: true })), ...families];
  const point = randomPoint(sm.D, opts.seed ?? 7);
  const span = new GradientSpan(point);
  const laws: DiscoveredLaw[] = [];
  for (const entry of ordered) {
    const { fam, symmetry } = entry;
    const inst = instantiate(fam, m, sm.layout);
    let added = 0;
    for (const q of inst) if (span.add(q.poly)) added++;
    // a unit rescaling already contained in a GL or layer-wise law is not listed again
    if ('optional' in entry && added === 0) {
      const k = symmetries.findIndex((x) => x.id === symmetry);
      if (k >= 0) symmetries.splice(k, 1);
      continue;
    }
    const f = familyFormula(fam, m);
    const law: DiscoveredLaw = { family: fam, text: f.text, latex: f.latex, symmetry, instances: inst.length, independent: added };
    if (added === 0 && inst.length > 0) law.subsumedBy = laws.find((l) => l.independent > 0)?.family.id;
    laws.push(law);
  }
  return { model: m.spec.name, dims: sm.layout.dims, symmetries, laws, notApplicable, checks: chk.checks, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Unit rescalings along a named dimension d: the slots are every (parameter, axis) of size d. For
 * unit k = 0 of neuron 0 the admissible weights λ_slot make every monomial of f_0 invariant under
 * slice_k(slot) → s^{λ_slot}·slice_k(slot): the integer null space of the per-slot degree matrix (a
 * variable in two slots, W[0,0] in row 0 and column 0, counts in both). Each ±1 basis vector with
 * both signs is then verified for every k and every neuron.
 */
function unitRescalings(m: DerivedModel, sm: ScalarModel, chk: InvarianceChecker): { symmetry: Symmetry; law: LawFamily }[] {
  const found: { symmetry: Symmetry; law: LawFamily }[] = [];
  const { H, P } = sm.layout;
  const sliceOf = (name: string, axis: number, i: number, k: number): number[] => {
    const s = sm.layout.params.find((x) => x.name === name)!;
    const strides = s.shape.map((_, q) => s.shape.slice(q + 1).reduce((x, y) => x * y, 1));
    const out: number[] = [];
    for (let f = 0; f < s.size; f++) if (Math.floor(f / strides[axis]) % s.shape[axis] === k) out.push(i * P + s.offset + f);
    return out;
  };
  for (const d of Object.keys(m.spec.dims)) {
    const slots: { param: string; axis: number }[] = [];
    for (const p of m.params) p.shape.forEach((dim, axis) => { if (dim === d) slots.push({ param: p.name, axis }); });
    if (slots.length < 2) continue;
    const r = sm.layout.dims[d];
    if (!(r >= 1)) continue;
    const member = new Map<number, number[]>();
    slots.forEach((sl, si) => { for (const id of sliceOf(sl.param, sl.axis, 0, 0)) member.set(id, [...(member.get(id) ?? []), si]); });
    const rows = new Map<string, number[]>();
    for (const fk of sm.neuronF[0]) {
      for (const t of fk.terms()) {
        const deg = slots.map(() => 0);
        for (let q = 0; q < t.m.length; q += 2) for (const si of member.get(t.m[q]) ?? []) deg[si] += t.m[q + 1];
        rows.set(deg.join(','), deg);
      }
    }
    for (const lambda of integerNullspace([...rows.values()], slots.length)) {
      if (!lambda.every((x) => x === 0 || x === 1 || x === -1) || !lambda.includes(1) || !lambda.includes(-1)) continue;
      let ok = true, n = 0;
      for (let i = 0; i < H && ok; i++) {
        for (let k = 0; k < r && ok; k++) {
          const xi = new Map<number, Poly<Rational>>();
          slots.forEach((sl, si) => {
            if (lambda[si] === 0) return;
            for (const id of sliceOf(sl.param, sl.axis, i, k)) xi.set(id, (xi.get(id) ?? Poly.zero(QQ)).add(variable(id).scale(lambda[si])));
          });
          ok = chk.invariant(xi);
          n++;
        }
      }
      if (!ok) continue;
      const incoming = slots.filter((_, si) => lambda[si] === 1), outgoing = slots.filter((_, si) => lambda[si] === -1);
      const name = (x: { param: string; axis: number }): string => `${x.param}:${x.axis}`;
      const id = `unit-rescaling(${incoming.map(name).join(',')}|${outgoing.map(name).join(',')})`;
      const law: LawFamily = { kind: 'unit-rescaling', id: `Q-${id}`, dim: d, incoming, outgoing };
      const sl = (x: { param: string; axis: number }): string => (m.params.find((p) => p.name === x.param)!.shape.length === 1 ? `${x.param}[k]` : x.axis === 0 ? `${x.param}[k,:]` : `${x.param}[:,k]`);
      found.push({
        law,
        symmetry: {
          id, kind: 'rescaling',
          action: `${incoming.map(sl).join(', ')} → s·(…), ${outgoing.map(sl).join(', ')} → (…)/s for one unit k along '${d}' (s > 0)`,
          actionLatex: `${incoming.map(sl).join(',\\ ')} \\mapsto s\\,\\cdot,\\ ${outgoing.map(sl).join(',\\ ')} \\mapsto \\cdot / s`,
          generatorsVerified: n, law,
        },
      });
    }
  }
  return found;
}

/**
 * Candidates: every parameter axis along the output dimension, one constant generator per neuron
 * and per index of the parameter's other axis (ξ = 1 on that slice). Verified when it moves every
 * output by the same polynomial. Returns why not applicable when there is nothing to try.
 */
function translationLaws(m: DerivedModel, sm: ScalarModel, chk: InvarianceChecker): { symmetry: Symmetry; law: LawFamily }[] | string {
  const out = m.residual.shape;
  if (out.length !== 1 || sm.layout.c < 2) return 'no softmax output: logits shifted together is a symmetry only of models with vector logits and a softmax loss';
  if (!buildLoss(m.loss, m.residual.shape, sm.layout.dims).translationInvariant) return `the loss is ${m.loss.name}: shifting every output together changes it (translation needs a softmax loss, where 1ᵀG = 0)`;
  const V = out[0];
  const found: { symmetry: Symmetry; law: LawFamily }[] = [];
  const { H, P } = sm.layout;
  for (const p of m.params) {
    p.shape.forEach((dim, axis) => {
      if (dim !== V) return;
      const sl = sm.layout.params.find((s) => s.name === p.name)!;
      const other = sl.shape.length === 2 ? 1 - axis : -1;
      const cols = other < 0 ? 1 : sl.shape[other];
      const strides = sl.shape.map((_, a) => sl.shape.slice(a + 1).reduce((x, y) => x * y, 1));
      let ok = true, n = 0;
      for (let i = 0; i < H && ok; i++) {
        for (let c = 0; c < cols && ok; c++) {
          const xi = new Map<number, Poly<Rational>>();
          for (let f = 0; f < sl.size; f++) {
            if (other >= 0 && Math.floor(f / strides[other]) % sl.shape[other] !== c) continue;
            xi.set(i * P + sl.offset + f, Poly.constant(QQ, 1));
          }
          ok = chk.shiftsTogether(xi);
          n++;
        }
      }
      if (!ok) return;
      const id = `translation(${p.name}${p.shape.length === 2 ? `:${axis}` : ''})`;
      const shift = p.shape.length === 2 ? (axis === 0 ? `${p.name} → ${p.name} + 𝟏uᵀ` : `${p.name} → ${p.name} + u𝟏ᵀ`) : `${p.name}${H > 1 ? '_i' : ''} → ${p.name}${H > 1 ? '_i' : ''} + s𝟏`;
      found.push({
        law: { kind: 'translation', id: `Q-${id}`, param: p.name, axis },
        symmetry: {
          id, kind: 'translation',
          action: `${shift} moves every logit by the same amount; the ${m.loss.name} loss is unchanged (1ᵀG = 0)`,
          actionLatex: `${p.name} \\mapsto ${p.name} + ${p.shape.length === 2 ? (axis === 0 ? '\\mathbf{1} u^\\top' : 'u \\mathbf{1}^\\top') : 's \\mathbf{1}'}`,
          generatorsVerified: n, law: null,
        },
      });
      found[found.length - 1].symmetry.law = found[found.length - 1].law;
    });
  }
  return found.length ? found : 'no parameter carries the output dimension, so no generator shifts the logits together';
}

/** Instances of every independent law family at a layout (the quantities audits track). */
export function lawInstances(d: Discovery, m: DerivedModel, layout: Parameters<typeof instantiate>[2]): LawInstance[] {
  return d.laws.filter((l) => !l.subsumedBy).flatMap((l) => instantiate(l.family, m, layout));
}
