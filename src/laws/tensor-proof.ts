/**
 * Tensor-level proofs: the residual R = Σ_p ⟨∇_{θ_p}⟨e, f⟩, ∇_{θ_p} Q⟩ is formed once with symbolic
 * dimensions (diff.ts) and expanded as a polynomial in scalar "atoms" — contractions of two
 * vector symbols (wᵀx, eᵀa), entries (x[i]), scalar symbols and relu gates — so R ≡ 0 holds for
 * every dimension at once, with no scan. Vectors are kept as linear combinations of vector
 * symbols with atom-polynomial coefficients; relu(z) is rewritten step(z)·z with step(z) one
 * atom per pre-activation. Anything outside this fragment (elementwise products of two vectors,
 * matrices) is reported unsupported, and the dimension scan of prove.ts carries the proof alone.
 */
import {
  type Expr, type Sym, add, fn, keyOf, substitute, sym, dot as dotE, index as indexE, sum as sumE, shapeOf,
} from '../symbolic/expr.ts';
import type { DerivedModel } from '../symbolic/derive.ts';
import { contract, grad, vjp } from '../symbolic/diff.ts';
import { simplify } from '../symbolic/simplify.ts';
import { toLatex, toText } from '../symbolic/print.ts';
import { Poly, QQ, type Rational, type VarNames } from '../symbolic/poly.ts';
import type { LawFamily } from './family.ts';

export interface TensorProof {
  status: 'zero' | 'nonzero' | 'unsupported';
  /** The residual before expansion (tensor expression). */
  residualText: string;
  residualLatex: string;
  /** After expansion in atoms. */
  expandedText: string;
  expandedLatex: string;
  reason?: string;
}

class Unsupported extends Error {}

/** Atoms: scalar quantities that are independent for generic dimensions and values. */
class Atoms implements VarNames {
  private ids = new Map<string, number>();
  private shown: { text: string; latex: string }[] = [];
  id(key: string, show: Expr | { text: string; latex: string }): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.shown.length;
      this.ids.set(key, id);
      this.shown.push('kind' in show ? { text: toText(show), latex: toLatex(show) } : show);
    }
    return id;
  }
  text(id: number): string {
    const t = this.shown[id].text;
    return /^[\w\[\]]+$/.test(t) ? t : `(${t})`;
  }
  latex(id: number): string {
    const t = this.shown[id].latex;
    return /^[\w{}_\\]+$/.test(t) ? t : `\\left(${t}\\right)`;
  }
}

/** A vector as Σ_k c_k V_k over named vector atoms (symbols, unit(i), the ones vector). */
type Vec = Map<string, { atom: Expr; coef: Poly<Rational> }>;

function vecAdd(a: Vec, b: Vec): Vec {
  const out: Vec = new Map(a);
  for (const [k, t] of b) {
    const prev = out.get(k);
    out.set(k, prev ? { atom: t.atom, coef: prev.coef.add(t.coef) } : t);
  }
  return out;
}

function vecScale(a: Vec, s: Poly<Rational>): Vec {
  return new Map([...a].map(([k, t]) => [k, { atom: t.atom, coef: t.coef.mul(s) }]));
}

type Lin = { kind: 's'; p: Poly<Rational> } | { kind: 'v'; v: Vec };

function expand(e: Expr, atoms: Atoms): Lin {
  const S = (p: Poly<Rational>): Lin => ({ kind: 's', p });
  const scalarOf = (x: Lin): Poly<Rational> => {
    if (x.kind !== 's') throw new Unsupported('expected a scalar');
    return x.p;
  };
  const vecOf = (x: Lin): Vec => {
    if (x.kind !== 'v') throw new Unsupported('expected a vector');
    return x.v;
  };
  const rank = shapeOf(e).length;
  if (rank > 1) throw new Unsupported('matrices are outside the tensor-level fragment');
  switch (e.kind) {
    case 'num': return S(Poly.constant(QQ, e.value));
    case 'sym':
      if (rank === 0) return S(Poly.variable(QQ, atoms.id(`$${e.name}`, e)));
      return { kind: 'v', v: new Map([[`$${e.name}`, { atom: e, coef: Poly.constant(QQ, 1) }]]) };
    case 'unit': return { kind: 'v', v: new Map([[keyOf(e), { atom: e, coef: Poly.constant(QQ, 1) }]]) };
    case 'fill': {
      const val = scalarOf(expand(e.value, atoms));
      const ones = { kind: 'sym', name: '𝟙', role: 'aux', shape: e.shape } as Sym;
      return { kind: 'v', v: new Map([[`ones:${e.shape.join('x')}`, { atom: ones, coef: val }]]) };
    }
    case 'add': {
      const parts = e.terms.map((t) => expand(t, atoms));
      if (rank === 0) return S(parts.reduce((s, x) => s.add(scalarOf(x)), Poly.zero(QQ)));
      return { kind: 'v', v: parts.map((x) => (x.kind === 'v' ? x.v : (() => { throw new Unsupported('a scalar broadcast into a vector sum'); })())).reduce(vecAdd, new Map()) };
    }
    case 'mul': {
      let s = Poly.constant(QQ, 1);
      let v: Vec | null = null;
      for (const f of e.factors) {
        const x = expand(f, atoms);
        if (x.kind === 's') s = s.mul(x.p);
        else if (v) throw new Unsupported('elementwise product of two vectors');
        else v = x.v;
      }
      return v ? { kind: 'v', v: vecScale(v, s) } : S(s);
    }
    case 'pow': return S(scalarOf(expand(e.base, atoms)).pow(e.exp));
    case 'dot': {
      const a = vecOf(expand(e.a, atoms)), b = vecOf(expand(e.b, atoms));
      let s = Poly.zero(QQ);
      for (const [, ta] of a) for (const [, tb] of b) s = s.add(ta.coef.mul(tb.coef).mul(pairAtom(ta.atom, tb.atom, atoms)));
      return S(s);
    }
    case 'sum': {
      if (rank === 0 && shapeOf(e.arg).length === 0) return expand(e.arg, atoms);
      const a = vecOf(expand(e.arg, atoms));
      let s = Poly.zero(QQ);
      for (const [, t] of a) s = s.add(t.coef.mul(t.atom.kind === 'unit' ? Poly.constant(QQ, 1) : Poly.variable(QQ, atoms.id(`sum:${keyOf(t.atom)}`, sumE(t.atom)))));
      return S(s);
    }
    case 'index': {
      const a = vecOf(expand(e.arg, atoms));
      let s = Poly.zero(QQ);
      for (const [, t] of a) {
        if (t.atom.kind === 'unit') s = s.add(t.coef.mul(Poly.variable(QQ, atoms.id(`δ:${keyOf(t.atom.idx)}:${keyOf(e.idx)}`, { text: `δ(${toText(t.atom.idx)}, ${toText(e.idx)})`, latex: `\\delta_{${toLatex(t.atom.idx)}${toLatex(e.idx)}}` }))));
        else s = s.add(t.coef.mul(Poly.variable(QQ, atoms.id(`idx:${keyOf(t.atom)}:${keyOf(e.idx)}`, indexE(t.atom, e.idx)))));
      }
      return S(s);
    }
    case 'fn': {
      if (e.name !== 'relu' && e.name !== 'step') throw new Unsupported(`${e.name}(…) is not polynomial`);
      if (rank !== 0) throw new Unsupported('elementwise relu of a vector');
      const z = scalarOf(expand(e.arg, atoms));
      // the gate is a function of the pre-activation's value: key it by the expanded polynomial
      const key = `step:${z.toText(atoms)}`;
      const gate = Poly.variable(QQ, atoms.id(key, fn('step', e.arg)));
      return S(e.name === 'relu' ? gate.mul(z) : gate);
    }
    default: throw new Unsupported(`${e.kind} is outside the tensor-level fragment`);
  }
}

/** Atom for ⟨V, U⟩ of two vector atoms, in a canonical order. */
function pairAtom(a: Expr, b: Expr, atoms: Atoms): Poly<Rational> {
  if (a.kind === 'unit' && b.kind === 'unit') return Poly.variable(QQ, atoms.id(`δ:${keyOf(a.idx)}:${keyOf(b.idx)}`, { text: `δ(${toText(a.idx)}, ${toText(b.idx)})`, latex: `\\delta_{${toLatex(a.idx)}${toLatex(b.idx)}}` }));
  if (a.kind === 'unit') return Poly.variable(QQ, atoms.id(`idx:${keyOf(b)}:${keyOf(a.idx)}`, indexE(b, a.idx)));
  if (b.kind === 'unit') return Poly.variable(QQ, atoms.id(`idx:${keyOf(a)}:${keyOf(b.idx)}`, indexE(a, b.idx)));
  const [x, y] = keyOf(a) <= keyOf(b) ? [a, b] : [b, a];
  return Poly.variable(QQ, atoms.id(`dot:${keyOf(x)}:${keyOf(y)}`, simplify(dotE(x, y))));
}

/** Q as a tensor expression plus the template and parameters it is checked against. */
function lawSetting(m: DerivedModel, fam: LawFamily): { Q: Expr; f: Expr; params: Sym[] } | null {
  const sq = (p: Sym): Expr => (p.shape.length === 0 ? { kind: 'pow', base: p, exp: 2 } : p.shape.length === 1 ? dotE(p, p) : sumE({ kind: 'pow', base: p, exp: 2 }));
  switch (fam.kind) {
    case 'rescaling': {
      const terms = m.params.filter((p) => (fam.weights[p.name] ?? 0) !== 0).map((p) => ({ kind: 'mul', factors: [{ kind: 'num', value: fam.weights[p.name] }, sq(p)] }) as Expr);
      return { Q: add(...terms), f: m.template, params: m.params };
    }
    case 'expr': return { Q: fam.expr, f: m.template, params: m.params };
    case 'gl-neurons': {
      // two neurons k, l of the template with renamed parameters; Q_kl = ⟨A_k, A_l⟩ − ⟨B_k, B_l⟩
      const copy = (tag: string): { f: Expr; ps: Map<string, Sym> } => {
        const ps = new Map(m.params.map((p) => [p.name, sym(`${p.name}_${tag}`, p.shape, 'param')]));
        const repl = new Map<string, Expr>([...ps].map(([k, s]) => [k, s as Expr]));
        repl.set(m.neuronIndex.name, sym(tag, [], 'index'));
        return { f: substitute(m.template, repl), ps };
      };
      const K = copy('k'), L = copy('l');
      const inner = (p: string): Expr => (K.ps.get(p)!.shape.length === 0 ? { kind: 'mul', factors: [K.ps.get(p)!, L.ps.get(p)!] } : dotE(K.ps.get(p)!, L.ps.get(p)!));
      const Q = add(...fam.A.map(inner), ...fam.B.map((p) => ({ kind: 'mul', factors: [{ kind: 'num', value: -1 }, inner(p)] }) as Expr));
      return { Q, f: add(K.f, L.f), params: [...K.ps.values(), ...L.ps.values()] };
    }
    default: return null;
  }
}

export function tensorLevelProof(m: DerivedModel, fam: LawFamily): TensorProof {
  const empty = { residualText: '', residualLatex: '', expandedText: '', expandedLatex: '' };
  const setting = lawSetting(m, fam);
  if (!setting) return { status: 'unsupported', ...empty, reason: fam.kind === 'translation' ? 'a translation law needs the residual restricted to 1ᵀe = 0, which the tensor fragment does not express' : `${fam.kind} laws act on matrices` };
  const { Q, f, params } = setting;
  let terms: Expr[], R: Expr;
  try {
    terms = params.map((p) => contract(vjp(f, m.residual, p), grad(Q, p)));
    R = simplify(add(...terms));
  } catch (err) {
    return { status: 'unsupported', ...empty, reason: `the tensor simplifier cannot form the residual (${(err as Error).message})` };
  }
  const shown = { residualText: toText(R), residualLatex: toLatex(R) };
  try {
    const atoms = new Atoms();
    // expand each summand separately so nothing cancels before expansion is complete
    let P = Poly.zero(QQ);
    for (const t of terms) {
      const x = expand(simplify(t), atoms);
      if (x.kind !== 's') throw new Unsupported('the residual is not a scalar');
      P = P.add(x.p);
    }
    return { status: P.isZero() ? 'zero' : 'nonzero', ...shown, expandedText: P.toText(atoms, 12), expandedLatex: P.toLatex(atoms, 12) };
  } catch (err) {
    if (err instanceof Unsupported) return { status: 'unsupported', ...shown, expandedText: '', expandedLatex: '', reason: err.message };
    throw err;
  }
}
