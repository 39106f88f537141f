/**
 * A small exact sparse-polynomial engine: monomials over integer-numbered scalar variables with
 * coefficients in a field (exact rationals by default, floats on request). It exists because
 * conservation-law proofs need "expand and see that every coefficient cancels", which the tensor
 * simplifier cannot promise and general CAS packages do slowly (DESIGN.md "Symbolic core").
 *
 * A monomial is a flat array [v0, e0, v1, e1, …] sorted by variable id with exponents ≥ 1; its
 * string form is the map key, so like terms meet in O(1).
 */

// ---------------------------------------------------------------- coefficient fields

export interface Field<C> {
  readonly name: string;
  readonly zero: C;
  readonly one: C;
  add(a: C, b: C): C;
  mul(a: C, b: C): C;
  neg(a: C): C;
  isZero(a: C): boolean;
  fromNumber(x: number): C;
  toNumber(a: C): number;
  toText(a: C): string;
  toLatex(a: C): string;
}

/** An exact rational n/d with d > 0 and gcd(n, d) = 1. */
export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function rat(n: bigint, d: bigint): Rational {
  if (d === 1n) return { n, d };
  if (d < 0n) { n = -n; d = -d; }
  const g = gcd(n, d);
  return g === 1n ? { n, d } : { n: n / g, d: d / g };
}

/** The exact value of a double as a rational (every finite double is a dyadic rational). */
export function ratFromNumber(x: number): Rational {
  if (!Number.isFinite(x)) throw new Error(`cannot represent ${x} exactly`);
  if (Number.isInteger(x)) return { n: BigInt(x), d: 1n };
  let k = 0n;
  let m = x;
  while (!Number.isInteger(m)) { m *= 2; k++; }
  return rat(BigInt(m), 1n << k);
}

export const QQ: Field<Rational> = {
  name: 'exact rationals',
  zero: { n: 0n, d: 1n },
  one: { n: 1n, d: 1n },
  add: (a, b) => (a.d === 1n && b.d === 1n ? { n: a.n + b.n, d: 1n } : rat(a.n * b.d + b.n * a.d, a.d * b.d)),
  mul: (a, b) => (a.d === 1n && b.d === 1n ? { n: a.n * b.n, d: 1n } : rat(a.n * b.n, a.d * b.d)),
  neg: (a) => ({ n: -a.n, d: a.d }),
  isZero: (a) => a.n === 0n,
  fromNumber: ratFromNumber,
  toNumber: (a) => Number(a.n) / Number(a.d),
  toText: (a) => (a.d === 1n ? String(a.n) : `${a.n}/${a.d}`),
  toLatex: (a) => (a.d === 1n ? String(a.n) : `${a.n < 0n ? '-' : ''}\\tfrac{${a.n < 0n ? -a.n : a.n}}{${a.d}}`),
};

/** Floating-point coefficients; zero means exactly 0 (use Poly.isZero(tol) for a tolerance). */
export const RR: Field<number> = {
  name: 'float64',
  zero: 0,
  one: 1,
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  neg: (a) => -a,
  isZero: (a) => a === 0,
  fromNumber: (x) => x,
  toNumber: (a) => a,
  toText: (a) => String(a),
  toLatex: (a) => String(a),
};

// ---------------------------------------------------------------- monomials

export type Mono = readonly number[];

const monoKey = (m: Mono): string => m.join(',');

function monoMul(a: Mono, b: Mono): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) { out.push(a[i], a[i + 1]); i += 2; }
    else if (a[i] > b[j]) { out.push(b[j], b[j + 1]); j += 2; }
    else { out.push(a[i], a[i + 1] + b[j + 1]); i += 2; j += 2; }
  }
  for (; i < a.length; i += 2) out.push(a[i], a[i + 1]);
  for (; j < b.length; j += 2) out.push(b[j], b[j + 1]);
  return out;
}

export function monoDegree(m: Mono): number {
  let s = 0;
  for (let k = 1; k < m.length; k += 2) s += m[k];
  return s;
}

// ---------------------------------------------------------------- polynomials

export interface Term<C> {
  readonly m: Mono;
  readonly c: C;
}

/** Variable names for printing; ids index into it. */
export interface VarNames {
  text(id: number): string;
  latex(id: number): string;
}

export class Poly<C = Rational> {
  private constructor(readonly field: Field<C>, private readonly map: ReadonlyMap<string, Term<C>>) {}

  static zero<C>(field: Field<C>): Poly<C> {
    return new Poly(field, new Map());
  }

  static constant<C>(field: Field<C>, c: C | number): Poly<C> {
    const v = typeof c === 'number' ? field.fromNumber(c) : c;
    return field.isZero(v) ? Poly.zero(field) : new Poly(field, new Map([['', { m: [], c: v }]]));
  }

  static variable<C>(field: Field<C>, id: number, exp = 1): Poly<C> {
    return new Poly(field, new Map([[monoKey([id, exp]), { m: [id, exp], c: field.one }]]));
  }

  static fromTerms<C>(field: Field<C>, terms: Iterable<Term<C>>): Poly<C> {
    const acc = new Map<string, Term<C>>();
    for (const t of terms) accumulate(field, acc, t.m, t.c);
    return new Poly(field, acc);
  }

  get size(): number {
    return this.map.size;
  }

  terms(): Term<C>[] {
    return [...this.map.values()];
  }

  /** Exact zero (every coefficient cancelled). With a tolerance, float coefficients below it count as zero. */
  isZero(tol = 0): boolean {
    if (tol === 0) return this.map.size === 0;
    for (const t of this.map.values()) if (Math.abs(this.field.toNumber(t.c)) > tol) return false;
    return true;
  }

  add(o: Poly<C>): Poly<C> {
    if (o.map.size === 0) return this;
    if (this.map.size === 0) return o;
    const acc = new Map(this.map);
    for (const t of o.map.values()) accumulate(this.field, acc, t.m, t.c);
    return new Poly(this.field, acc);
  }

  sub(o: Poly<C>): Poly<C> {
    return this.add(o.neg());
  }

  neg(): Poly<C> {
    return this.scale(this.field.neg(this.field.one));
  }

  scale(k: C | number): Poly<C> {
    const c = typeof k === 'number' ? this.field.fromNumber(k) : k;
    if (this.field.isZero(c)) return Poly.zero(this.field);
    const acc = new Map<string, Term<C>>();
    for (const [key, t] of this.map) acc.set(key, { m: t.m, c: this.field.mul(t.c, c) });
    return new Poly(this.field, acc);
  }

  mul(o: Poly<C>): Poly<C> {
    if (this.map.size === 0 || o.map.size === 0) return Poly.zero(this.field);
    const acc = new Map<string, Term<C>>();
    for (const a of this.map.values()) {
      for (const b of o.map.values()) accumulate(this.field, acc, monoMul(a.m, b.m), this.field.mul(a.c, b.c));
    }
    return new Poly(this.field, acc);
  }

  pow(k: number): Poly<C> {
    if (!Number.isInteger(k) || k < 0) throw new Error(`Poly.pow: exponent must be a non-negative integer (got ${k})`);
    let result = Poly.constant(this.field, this.field.one);
    let base: Poly<C> = this;
    while (k > 0) {
      if (k & 1) result = result.mul(base);
      k >>= 1;
      if (k) base = base.mul(base);
    }
    return result;
  }

  /** ∂/∂x_v. */
  diff(v: number): Poly<C> {
    const acc = new Map<string, Term<C>>();
    for (const t of this.map.values()) {
      const m = t.m;
      for (let k = 0; k < m.length; k += 2) {
        if (m[k] !== v) continue;
        const e = m[k + 1];
        const nm = e === 1 ? [...m.slice(0, k), ...m.slice(k + 2)] : [...m.slice(0, k + 1), e - 1, ...m.slice(k + 2)];
        accumulate(this.field, acc, nm, this.field.mul(t.c, this.field.fromNumber(e)));
        break;
      }
    }
    return new Poly(this.field, acc);
  }

  /** Already expanded (the representation is canonical); kept for readers who expect the verb. */
  expand(): Poly<C> {
    return this;
  }

  degree(): number {
    let d = 0;
    for (const t of this.map.values()) d = Math.max(d, monoDegree(t.m));
    return d;
  }

  /** Largest total degree of any monomial in the variables selected by `sel`. */
  degreeIn(sel: (v: number) => boolean): number {
    let d = 0;
    for (const t of this.map.values()) {
      let s = 0;
      for (let k = 0; k < t.m.length; k += 2) if (sel(t.m[k])) s += t.m[k + 1];
      d = Math.max(d, s);
    }
    return d;
  }

  variables(): Set<number> {
    const s = new Set<number>();
    for (const t of this.map.values()) for (let k = 0; k < t.m.length; k += 2) s.add(t.m[k]);
    return s;
  }

  /** Value at a point (x[v] for variable v), in double precision. */
  evaluate(x: ArrayLike<number>): number {
    let s = 0;
    for (const t of this.map.values()) {
      let p = this.field.toNumber(t.c);
      for (let k = 0; k < t.m.length; k += 2) p *= x[t.m[k]] ** t.m[k + 1];
      s += p;
    }
    return s;
  }

  /** Σ |c_m · m(x)|: the size of the terms that cancel in the value (for relative drifts). */
  evaluateAbs(x: ArrayLike<number>): number {
    let s = 0;
    for (const t of this.map.values()) {
      let p = Math.abs(this.field.toNumber(t.c));
      for (let k = 0; k < t.m.length; k += 2) p *= Math.abs(x[t.m[k]] ** t.m[k + 1]);
      s += p;
    }
    return s;
  }

  /** Replace variables by polynomials (variables not in the map stay). */
  substitute(repl: ReadonlyMap<number, Poly<C>>): Poly<C> {
    let out = Poly.zero(this.field);
    for (const t of this.map.values()) {
      let rest: number[] = [];
      let factor = Poly.constant(this.field, t.c);
      for (let k = 0; k < t.m.length; k += 2) {
        const r = repl.get(t.m[k]);
        if (r) factor = factor.mul(r.pow(t.m[k + 1]));
        else rest = monoMul(rest, [t.m[k], t.m[k + 1]]);
      }
      out = out.add(factor.mul(Poly.fromTerms(this.field, [{ m: rest, c: this.field.one }])));
    }
    return out;
  }

  /**
   * Split by the monomials in the selected variables: this = Σ_μ μ · coef_μ with coef_μ free of
   * them. Used to read the reparametrisation φ off a template (the coefficients of f in x).
   */
  coefficientsIn(sel: (v: number) => boolean): Map<string, { mono: Mono; coef: Poly<C> }> {
    const out = new Map<string, { mono: number[]; terms: Term<C>[] }>();
    for (const t of this.map.values()) {
      const mu: number[] = [], rest: number[] = [];
      for (let k = 0; k < t.m.length; k += 2) (sel(t.m[k]) ? mu : rest).push(t.m[k], t.m[k + 1]);
      const key = monoKey(mu);
      let g = out.get(key);
      if (!g) out.set(key, (g = { mono: mu, terms: [] }));
      g.terms.push({ m: rest, c: t.c });
    }
    return new Map([...out].map(([k, g]) => [k, { mono: g.mono, coef: Poly.fromTerms(this.field, g.terms) }]));
  }

  /** Map the coefficients into another field (e.g. exact → float for fast evaluation). */
  convert<D>(to: Field<D>): Poly<D> {
    return Poly.fromTerms(to, this.terms().map((t) => ({ m: t.m, c: to.fromNumber(this.field.toNumber(t.c)) })));
  }

  toText(names: VarNames, maxTerms = Infinity): string {
    return render(this, names, maxTerms, false);
  }

  toLatex(names: VarNames, maxTerms = Infinity): string {
    return render(this, names, maxTerms, true);
  }
}

function accumulate<C>(field: Field<C>, acc: Map<string, Term<C>>, m: Mono, c: C): void {
  if (field.isZero(c)) return;
  const key = monoKey(m);
  const prev = acc.get(key);
  if (!prev) { acc.set(key, { m, c }); return; }
  const s = field.add(prev.c, c);
  if (field.isZero(s)) acc.delete(key);
  else acc.set(key, { m: prev.m, c: s });
}

const SUP = '⁰¹²³⁴⁵⁶⁷⁸⁹';
const sup = (k: number): string => String(k).split('').map((ch) => SUP[Number(ch)]).join('');

/** Deterministic order: by degree (high first), then lexicographically by monomial. */
function sortedTerms<C>(p: Poly<C>): Term<C>[] {
  return p.terms().sort((a, b) => monoDegree(b.m) - monoDegree(a.m) || cmpMono(a.m, b.m));
}

function cmpMono(a: Mono, b: Mono): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return a[k] - b[k];
  return a.length - b.length;
}

function render<C>(p: Poly<C>, names: VarNames, maxTerms: number, latex: boolean): string {
  if (p.size === 0) return '0';
  const ts = sortedTerms(p);
  const parts: string[] = [];
  for (const t of ts.slice(0, maxTerms)) {
    const cNum = p.field.toNumber(t.c);
    const negative = cNum < 0;
    const absC = negative ? p.field.neg(t.c) : t.c;
    const isOne = p.field.toNumber(absC) === 1 && p.field.toText(absC) === '1';
    const vars: string[] = [];
    for (let k = 0; k < t.m.length; k += 2) {
      const e = t.m[k + 1];
      if (latex) vars.push(e === 1 ? names.latex(t.m[k]) : `${names.latex(t.m[k])}^{${e}}`);
      else vars.push(e === 1 ? names.text(t.m[k]) : `${names.text(t.m[k])}${sup(e)}`);
    }
    const coef = latex ? p.field.toLatex(absC) : p.field.toText(absC);
    const body = vars.length === 0 ? coef : isOne ? vars.join(latex ? ' ' : '·') : `${coef}${latex ? '\\,' : '·'}${vars.join(latex ? ' ' : '·')}`;
    parts.push(`${negative ? (latex ? '-' : '−') : '+'} ${body}`);
  }
  let s = parts.join(' ');
  if (s.startsWith('+ ')) s = s.slice(2);
  else s = (latex ? '-' : '−') + s.slice(2);
  if (ts.length > maxTerms) s += latex ? ` + \\dots\\ (${ts.length - maxTerms}\\text{ more terms})` : ` + … (${ts.length - maxTerms} more terms)`;
  return s;
}
