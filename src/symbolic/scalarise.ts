/**
 * Scalariser: a tensor template (expr.ts) at concrete small dimensions becomes polynomials in
 * named scalar variables (w_0, w_1, …, x_0, …), so identities can be decided by expansion in the
 * exact polynomial engine (poly.ts).
 *
 * ReLU. relu(z) is polynomial on each activation pattern. By default ('gate') every relu unit gets
 * its own gate variable g ∈ {0, 1}: relu(z) = g·z and step(z) = g, with g constant in θ (the
 * pattern is locally constant away from the kink z = 0, a set of measure zero). An identity that
 * expands to 0 with symbolic gates therefore holds on every activation pattern at once. Gates of
 * different units (and different neurons) are different functions of x, so they count as inputs
 * when the reparametrisation φ is read off the template. 'active' (z > 0: relu(z) = z) and
 * 'inactive' (z < 0: relu(z) = 0) fix one pattern instead.
 */
import { GradflowError } from '../util/errors.ts';
import type { DerivedModel } from './derive.ts';
import { type Expr, type Sym, keyOf, shapeOf } from './expr.ts';
import { makeLayout, type Layout } from '../compile/layout.ts';
import { Poly, QQ, type Field, type Rational, type VarNames } from './poly.ts';

export type ReluMode = 'gate' | 'active' | 'inactive';

export type VarRole = 'param' | 'input' | 'residual' | 'gate';

export interface VarInfo {
  text: string;
  latex: string;
  role: VarRole;
  /** Index value along each named dimension this variable carries (for the dimension-degree bound). */
  carries: Record<string, number>;
}

export class VarTable implements VarNames {
  readonly infos: VarInfo[] = [];
  add(info: VarInfo): number {
    this.infos.push(info);
    return this.infos.length - 1;
  }
  text(id: number): string {
    return this.infos[id]?.text ?? `v${id}`;
  }
  latex(id: number): string {
    return this.infos[id]?.latex ?? `v_{${id}}`;
  }
  role(id: number): VarRole {
    return this.infos[id].role;
  }
}

/** A tensor of polynomials, row-major. */
export interface PolyTensor<C = Rational> {
  shape: number[];
  data: Poly<C>[];
}

export interface ScalarEnv<C> {
  field: Field<C>;
  dims: Record<string, number>;
  /** Polynomials for a symbol (parameters of the current neuron, inputs, residual). */
  lookup(s: Sym): PolyTensor<C>;
  neuron: number;
  relu: ReluMode;
  /** The gate variable of relu element `elem` of the unit whose pre-activation has key `key`. */
  gate(key: string, elem: number, dim: string | null): Poly<C>;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function resolveDim(d: string | number, dims: Record<string, number>): number {
  const v = typeof d === 'number' ? d : dims[d];
  if (!Number.isInteger(v) || v < 1) throw new GradflowError(`scalarise: dimension '${String(d)}' is not bound to a positive integer`);
  return v;
}

function broadcastPair<C>(a: PolyTensor<C>, b: PolyTensor<C>, op: (x: Poly<C>, y: Poly<C>) => Poly<C>): PolyTensor<C> {
  if (a.shape.length === 0 && b.shape.length > 0) return { shape: b.shape, data: b.data.map((y) => op(a.data[0], y)) };
  if (b.shape.length === 0) return { shape: a.shape, data: a.data.map((x) => op(x, b.data[0])) };
  if (a.data.length !== b.data.length) throw new Error('scalarise: shape mismatch');
  return { shape: a.shape, data: a.data.map((x, k) => op(x, b.data[k])) };
}

function constIndex<C>(t: PolyTensor<C>): number {
  const p = t.data[0];
  if (p.size === 0) return 0;
  const ts = p.terms();
  if (ts.length !== 1 || ts[0].m.length !== 0) throw new GradflowError('scalarise: an index must evaluate to a constant (the neuron index or a number)');
  const v = p.field.toNumber(ts[0].c);
  if (!Number.isInteger(v)) throw new GradflowError(`scalarise: index ${v} is not an integer`);
  return v;
}

/** The value of a tensor expression as polynomials. */
export function scalariseExpr<C>(e: Expr, env: ScalarEnv<C>): PolyTensor<C> {
  const F = env.field;
  const scalar = (p: Poly<C>): PolyTensor<C> => ({ shape: [], data: [p] });
  const rec = (x: Expr): PolyTensor<C> => scalariseExpr(x, env);
  switch (e.kind) {
    case 'num': return scalar(Poly.constant(F, e.value));
    case 'sym':
      if (e.role === 'index') return scalar(Poly.constant(F, env.neuron));
      return env.lookup(e);
    case 'add': return e.terms.map(rec).reduce((a, b) => broadcastPair(a, b, (x, y) => x.add(y)));
    case 'mul': return e.factors.map(rec).reduce((a, b) => broadcastPair(a, b, (x, y) => x.mul(y)));
    case 'pow': {
      if (e.exp < 0) throw new GradflowError('scalarise: a negative power is not a polynomial');
      const b = rec(e.base);
      return { shape: b.shape, data: b.data.map((p) => p.pow(e.exp)) };
    }
    case 'dot': {
      const a = rec(e.a), b = rec(e.b);
      let s = Poly.zero(F);
      for (let k = 0; k < a.data.length; k++) s = s.add(a.data[k].mul(b.data[k]));
      return scalar(s);
    }
    case 'sum': return scalar(rec(e.arg).data.reduce((s, p) => s.add(p), Poly.zero(F)));
    case 'matvec': {
      const A = rec(e.A), x = rec(e.x);
      const [m, n] = A.shape;
      const out: Poly<C>[] = [];
      for (let r = 0; r < m; r++) {
        let s = Poly.zero(F);
        for (let c = 0; c < n; c++) s = s.add(A.data[r * n + c].mul(x.data[c]));
        out.push(s);
      }
      return { shape: [m], data: out };
    }
    case 'transpose': {
      const A = rec(e.A);
      const [m, n] = A.shape;
      const out: Poly<C>[] = [];
      for (let c = 0; c < n; c++) for (let r = 0; r < m; r++) out.push(A.data[r * n + c]);
      return { shape: [n, m], data: out };
    }
    case 'outer': {
      const a = rec(e.a), b = rec(e.b);
      const out: Poly<C>[] = [];
      for (const p of a.data) for (const q of b.data) out.push(p.mul(q));
      return { shape: [a.data.length, b.data.length], data: out };
    }
    case 'index': {
      const a = rec(e.arg);
      const k = constIndex(rec(e.idx));
      if (k < 0 || k >= a.data.length) throw new GradflowError(`scalarise: index ${k} out of range for a vector of length ${a.data.length}`);
      return scalar(a.data[k]);
    }
    case 'unit': {
      const n = resolveDim(e.size, env.dims);
      const k = constIndex(rec(e.idx));
      return { shape: [n], data: Array.from({ length: n }, (_, j) => Poly.constant(F, j === k ? 1 : 0)) };
    }
    case 'fill': {
      const v = rec(e.value).data[0];
      const shape = e.shape.map((d) => resolveDim(d, env.dims));
      return { shape, data: Array.from({ length: size(shape) }, () => v) };
    }
    case 'vfn': throw new GradflowError(`scalarise: ${e.name}(…) is not polynomial; laws are proved on polynomial (or relu) templates`);
    case 'fn': {
      if (e.name !== 'relu' && e.name !== 'step') throw new GradflowError(`scalarise: ${e.name}(…) is not polynomial; laws are proved on polynomial (or relu) templates`);
      const z = rec(e.arg);
      const key = keyOf(e.arg);
      const argShape = (e.arg.kind === 'sym' ? e.arg.shape : null);
      const dim = z.shape.length === 1 && argShape && typeof argShape[0] === 'string' ? argShape[0] : null;
      const data = z.data.map((p, k) => {
        if (env.relu === 'active') return e.name === 'relu' ? p : Poly.constant(F, 1);
        if (env.relu === 'inactive') return Poly.zero(F);
        const g = env.gate(key, k, dim);
        return e.name === 'relu' ? g.mul(p) : g;
      });
      return { shape: z.shape, data };
    }
  }
}

export interface ScalarModel<C = Rational> {
  derived: DerivedModel;
  layout: Layout;
  vars: VarTable;
  field: Field<C>;
  /** θ variables are ids 0..D−1, equal to the flat layout index (neuron-major). */
  D: number;
  /** f(x; Θ) = Σ_i f_i, one polynomial per output component. */
  f: Poly<C>[];
  /** f_i per neuron, per output component. */
  neuronF: Poly<C>[][];
  inputIds: number[];
  residualIds: number[];
  /** Input-side variables: inputs and relu gates (what φ is read off against). */
  isInputSide(v: number): boolean;
  relu: ReluMode;
}

export interface ScalariseOptions<C> {
  relu?: ReluMode;
  field?: Field<C>;
}

function subscriptText(parts: (string | number)[]): string {
  return parts.length === 0 ? '' : `_${parts.join('_')}`;
}
function subscriptLatex(parts: (string | number)[]): string {
  return parts.length === 0 ? '' : `_{${parts.join(',')}}`;
}
function baseLatex(name: string): string {
  return name.length === 1 ? name : `\\mathrm{${name}}`;
}

/** Scalarise a whole model (all neurons) at the given dimensions. */
export function scalariseModel<C = Rational>(m: DerivedModel, dimsIn: Record<string, number>, opts: ScalariseOptions<C> = {}): ScalarModel<C> {
  const field = (opts.field ?? QQ) as Field<C>;
  const relu = opts.relu ?? 'gate';
  const layout = makeLayout(m, dimsIn);
  const dims = layout.dims;
  const { H, P } = layout;
  const vars = new VarTable();
  const neuronDim = typeof m.spec.neurons === 'string' ? m.spec.neurons : null;
  const multi = H > 1;

  // θ first, so that variable id = flat layout index
  for (let i = 0; i < H; i++) {
    for (const slot of layout.params) {
      const sym = m.params.find((s) => s.name === slot.name)!;
      for (let k = 0; k < slot.size; k++) {
        const idx: number[] = [];
        let rem = k;
        for (let a = slot.shape.length - 1; a >= 0; a--) { idx.unshift(rem % slot.shape[a]); rem = Math.floor(rem / slot.shape[a]); }
        const carries: Record<string, number> = {};
        sym.shape.forEach((d, a) => { if (typeof d === 'string') carries[d] = idx[a]; });
        if (neuronDim) carries[neuronDim] = i;
        else carries['#neurons'] = i;
        const sub = [...(multi ? [i] : []), ...idx];
        vars.add({ text: `${slot.name}${subscriptText(sub)}`, latex: `${baseLatex(slot.name)}${subscriptLatex(sub)}`, role: 'param', carries });
      }
    }
  }
  const D = H * P;
  const inputTensors = new Map<string, PolyTensor<C>>();
  const inputIds: number[] = [];
  for (const s of m.inputs) {
    const shape = s.shape.map((d) => resolveDim(d, dims));
    const data: Poly<C>[] = [];
    for (let k = 0; k < size(shape); k++) {
      const carries: Record<string, number> = {};
      if (shape.length === 1 && typeof s.shape[0] === 'string') carries[s.shape[0]] = k;
      const sub = size(shape) > 1 || shape.length > 0 ? [k] : [];
      const id = vars.add({ text: `${s.name}${subscriptText(sub)}`, latex: `${baseLatex(s.name)}${subscriptLatex(sub)}`, role: 'input', carries });
      inputIds.push(id);
      data.push(Poly.variable(field, id));
    }
    inputTensors.set(s.name, { shape, data });
  }
  const outShape = layout.outShape;
  const residualIds: number[] = [];
  const eData: Poly<C>[] = [];
  for (let k = 0; k < size(outShape); k++) {
    const carries: Record<string, number> = {};
    if (outShape.length === 1 && typeof m.residual.shape[0] === 'string') carries[m.residual.shape[0] as string] = k;
    const sub = outShape.length > 0 ? [k] : [];
    const id = vars.add({ text: `e${subscriptText(sub)}`, latex: `e${subscriptLatex(sub)}`, role: 'residual', carries });
    residualIds.push(id);
    eData.push(Poly.variable(field, id));
  }
  const gates = new Map<string, number>();
  const gateIds = new Set<number>();

  const neuronF: Poly<C>[][] = [];
  for (let i = 0; i < H; i++) {
    const env: ScalarEnv<C> = {
      field, dims, neuron: i, relu,
      lookup(s) {
        if (s.role === 'param') {
          const slot = layout.params.find((p) => p.name === s.name)!;
          const base = i * P + slot.offset;
          return { shape: slot.shape, data: Array.from({ length: slot.size }, (_, k) => Poly.variable(field, base + k)) };
        }
        if (s.role === 'input') return inputTensors.get(s.name)!;
        if (s.role === 'residual') return { shape: outShape, data: eData };
        throw new GradflowError(`scalarise: the symbol '${s.name}' (${s.role}) has no scalar value here`);
      },
      gate(key, elem, dim) {
        const gk = `${i}|${key}|${elem}`;
        let id = gates.get(gk);
        if (id === undefined) {
          const unit = [...new Set([...gates.keys()].filter((g) => g.startsWith(`${i}|`)).map((g) => g.split('|')[1]))];
          const u = unit.includes(key) ? unit.indexOf(key) : unit.length;
          const sub: (string | number)[] = [...(multi ? [i] : []), ...(u > 0 ? [`u${u}`] : []), ...(dim ? [elem] : [])];
          const carries: Record<string, number> = neuronDim ? { [neuronDim]: i } : { '#neurons': i };
          if (dim) carries[dim] = elem;
          id = vars.add({ text: `g${subscriptText(sub)}`, latex: `g${subscriptLatex(sub)}`, role: 'gate', carries });
          gates.set(gk, id);
          gateIds.add(id);
        }
        return Poly.variable(field, id);
      },
    };
    const v = scalariseExpr(m.template, env);
    neuronF.push(v.data);
  }
  const f = neuronF[0].map((_, k) => neuronF.reduce((s, fi) => s.add(fi[k]), Poly.zero(field)));
  const inputSet = new Set(inputIds);
  return {
    derived: m, layout, vars, field, D, f, neuronF, inputIds, residualIds, relu,
    isInputSide: (v) => inputSet.has(v) || gateIds.has(v),
  };
}

/** ∇_θ of a polynomial as a vector over the D θ variables. */
export function gradTheta<C>(p: Poly<C>, D: number): Poly<C>[] {
  const used = p.variables();
  return Array.from({ length: D }, (_, v) => (used.has(v) ? p.diff(v) : Poly.zero(p.field)));
}

/**
 * Whether restricting a dimension to a subset of its index values commutes with evaluating the
 * template (zero-padding safety): true when no constant is broadcast along the dimension and no
 * fixed index selects along it. This is what lets a finite scan of dimensions prove a law for
 * every dimension (see src/laws/prove.ts). Returns the reasons it is not safe.
 */
export function paddingHazards(e: Expr, dim: string, neuronDim: string | null): string[] {
  const out: string[] = [];
  const walk = (x: Expr): void => {
    switch (x.kind) {
      case 'fill': if (x.shape.includes(dim)) out.push(`a constant is broadcast along '${dim}'`); break;
      case 'unit': if (x.size === dim && !(x.idx.kind === 'sym' && x.idx.role === 'index' && neuronDim === dim)) out.push(`a fixed index selects along '${dim}'`); break;
      case 'index': {
        const a = x.arg;
        const along = a.kind === 'sym' ? a.shape[0] === dim : false;
        if (along && !(x.idx.kind === 'sym' && x.idx.role === 'index' && neuronDim === dim)) out.push(`a fixed index selects along '${dim}'`);
        break;
      }
      case 'add': {
        if (shapeOf(x).includes(dim) && x.terms.some((t) => shapeOf(t).length === 0)) out.push(`a scalar is broadcast into a sum along '${dim}'`);
        break;
      }
      default: break;
    }
    const kids: Expr[] = x.kind === 'add' ? [...x.terms] : x.kind === 'mul' ? [...x.factors] : x.kind === 'pow' ? [x.base]
      : x.kind === 'dot' || x.kind === 'outer' ? [x.a, x.b] : x.kind === 'sum' || x.kind === 'fn' || x.kind === 'vfn' ? [x.arg]
        : x.kind === 'matvec' ? [x.A, x.x] : x.kind === 'transpose' ? [x.A] : x.kind === 'index' ? [x.arg, x.idx]
          : x.kind === 'unit' ? [x.idx] : x.kind === 'fill' ? [x.value] : [];
    for (const k of kids) walk(k);
  };
  walk(e);
  return [...new Set(out)];
}
