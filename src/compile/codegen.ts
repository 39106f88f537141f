/**
 * Code generation: derived tensor expressions → fused JavaScript loops over Float64Array.
 *
 * Scalars become `const` temporaries (common subexpressions computed once per neuron and
 * sample); vector-valued subexpressions that are elementwise are inlined into the loop that
 * consumes them, and only genuinely non-elementwise ones (A x, Aᵀe) are materialised into
 * scratch buffers. Scalars that the forward pass already computed (e.g. wᵀx) are cached per
 * neuron and reused by the gradient pass instead of being recomputed.
 */
import { type Expr, type Sym, children, keyOf, shapeOf } from '../symbolic/expr.ts';
import type { Layout } from './layout.ts';

export interface GenContext {
  layout: Layout;
  counter: { n: number };
  buffers: { name: string; size: number }[];
  /** Offsets of symbols by name. */
  paramOffset: Map<string, { offset: number; shape: number[] }>;
  inputOffset: Map<string, { offset: number; shape: number[] }>;
  /** Offsets of loss targets within a sample's target row Y[yo …] (losses other than MSE). */
  targetOffset?: Map<string, number>;
  /** Set when generating the row-table variant (inputs whose rows repeat across samples). */
  tables?: TableSet;
  /** Set in kernels with a sample loop: per-neuron values are moved out of it. */
  hoist?: HoistSet;
}

/**
 * Loop-invariant motion out of the sample loop. A scalar that depends on θ_i only (u·v, ‖w‖²) is
 * computed once per neuron into PV[i] before the loop; a scalar gradient term (sample part) ·
 * (θ part), e.g. e·x_i·v_i, sums only the sample part per neuron in Q[i] and multiplies by the θ
 * part after the loop — terms with the same sample part (∂/∂u and ∂/∂v of u v x_i) share one Q.
 */
export interface HoistSet {
  pv: { name: string; key: string }[];
  q: { name: string; key: string }[];
  /** Emitters of the per-neuron code before (fill) and after (flush) the sample loop. */
  fill: Emitter;
  flush: Emitter;
}

export function hoistSet(ctx: GenContext, indent: string): HoistSet {
  const plain: GenContext = { ...ctx, hoist: undefined, tables: undefined };
  return { pv: [], q: [], fill: new Emitter(plain, indent), flush: new Emitter(plain, indent) };
}

/**
 * Row tables: every vector input k has R_k distinct rows U_k (R_k × size) and a row id RID_k[j] per
 * sample. A product dot(θ-part, x_k) is then computed once per neuron and distinct row (TAB, before
 * the sample loop), and a gradient term scalar · x_k is summed per neuron and row (COEF) and
 * expanded after the loop: the d-long loops run R_k times instead of n times.
 */
export interface TableSet {
  /** Input name → its index k (variables RIDk, Uk, Rk; the sample's row id rk). */
  slots: Map<string, { k: number; size: number }>;
  dots: { name: string; key: string; k: number; fill: string[] }[];
  coefs: { name: string; key: string; k: number; base: string; size: number }[];
}

/** Stable JavaScript for the elementwise functions (a is the argument's code; it may be repeated). */
function fnCode(name: string, a: string): string {
  switch (name) {
    case 'relu': return `Math.max(0, ${a})`;
    case 'step': return `(${a} > 0 ? 1 : 0)`;
    case 'exp': return `Math.exp(${a})`;
    case 'log': return `Math.log(${a})`;
    case 'sigmoid': return `(${a} >= 0 ? 1 / (1 + Math.exp(-(${a}))) : Math.exp(${a}) / (1 + Math.exp(${a})))`;
    case 'softplus': return `(Math.max(${a}, 0) + Math.log1p(Math.exp(-Math.abs(${a}))))`;
    default: throw new Error(`cannot compile the function ${name}`);
  }
}

const lit = (v: number): string => (Object.is(v, -0) ? '0' : Number.isInteger(v) ? `${v}` : `${v}`.includes('e') ? `(${v})` : `${v}`);

export class Emitter {
  readonly lines: string[] = [];
  private readonly cse = new Map<string, string>();
  private readonly tensors = new Map<string, string>();
  /** key → temp name, for scalars this block computed (read by the next block's cache). */
  readonly computed = new Map<string, string>();
  /** Q tables this block already adds its sample part to. */
  private readonly qDone = new Set<string>();

  constructor(
    private readonly ctx: GenContext,
    private readonly indent: string,
    private readonly fromCache?: (key: string) => string | undefined,
  ) {}

  fresh(prefix = 't'): string {
    return `${prefix}${this.ctx.counter.n++}`;
  }

  emit(line: string): void {
    this.lines.push(this.indent + line);
  }

  private access(s: Sym, idx: string[]): string {
    const flat = (shape: number[]): string => {
      if (idx.length === 0) return '';
      if (idx.length === 1) return ` + ${idx[0]}`;
      return ` + ${idx[0]} * ${shape[1]} + ${idx[1]}`;
    };
    switch (s.role) {
      case 'param': {
        const p = this.ctx.paramOffset.get(s.name)!;
        return `th[ob${p.offset ? ` + ${p.offset}` : ''}${flat(p.shape)}]`;
      }
      case 'input': {
        const p = this.ctx.inputOffset.get(s.name)!;
        return `X[xo${p.offset ? ` + ${p.offset}` : ''}${flat(p.shape)}]`;
      }
      case 'residual':
        return idx.length === 0 ? 'e' : `ev[${idx.length === 1 ? idx[0] : `${idx[0]} * ${this.ctx.layout.outShape[1]} + ${idx[1]}`}]`;
      case 'index':
        return 'i';
      case 'output':
        return idx.length === 0 ? 'f' : `fv[${idx[0]}]`;
      case 'target': {
        const off = this.ctx.targetOffset?.get(s.name);
        if (off === undefined) throw new Error(`target '${s.name}' has no place in the target row`);
        return `Y[yo${off ? ` + ${off}` : ''}${idx.length ? ` + ${idx[0]}` : ''}]`;
      }
      default:
        throw new Error(`symbol '${s.name}' (${s.role}) cannot appear in a compiled kernel`);
    }
  }

  /** A JS expression (usually a temp name) holding the value of scalar expression e. */
  scalar(e: Expr): string {
    if (e.kind === 'num') return lit(e.value);
    if (e.kind === 'sym' && e.role === 'index') return 'i';
    if (e.kind === 'sym' && e.role === 'residual') return 'e';
    const k = keyOf(e);
    const hit = this.cse.get(k);
    if (hit) return hit;
    const hs = this.ctx.hoist;
    if (hs && e.kind !== 'sym' && e.kind !== 'fill' && paramOnly(e)) {
      let pv = hs.pv.find((x) => x.key === k);
      if (!pv) {
        pv = { name: this.fresh('PV'), key: k };
        hs.fill.emit(`${pv.name}[i] = ${hs.fill.scalar(e)};`);
        hs.pv.push(pv);
      }
      const t = this.fresh();
      this.emit(`const ${t} = ${pv.name}[i];`);
      this.cse.set(k, t);
      return t;
    }
    // only values that took a loop to compute are worth a cache round-trip; plain loads are cheaper to redo
    const cached = hasReduction(e) ? this.fromCache?.(k) : undefined;
    if (cached) {
      const t = this.fresh();
      this.emit(`const ${t} = ${cached};`);
      this.cse.set(k, t);
      return t;
    }
    let code: string;
    switch (e.kind) {
      case 'sym': code = this.access(e, []); break;
      case 'add': code = e.terms.map((t) => this.scalar(t)).join(' + '); break;
      case 'mul': {
        if (e.factors.length <= 2) {
          code = e.factors.map((t) => this.scalar(t)).join(' * ');
          break;
        }
        // with hoisting, the θ-only factors form one product computed per neuron, outside the sample loop
        const th = this.ctx.hoist ? e.factors.filter(paramOnly) : [];
        if (th.length >= 2 && th.length < e.factors.length) {
          const rest = e.factors.filter((f) => !paramOnly(f));
          code = `${this.scalar(rest.length === 1 ? rest[0] : { kind: 'mul', factors: rest })} * ${this.scalar({ kind: 'mul', factors: th })}`;
          break;
        }
        // residual- and input-side factors first, as a left-nested chain of temporaries, so that
        // gradients of different parameters share their common prefix (e.g. e·x_i in u·v·x_i)
        const ordered = [...e.factors].sort((a, b) => factorRank(a) - factorRank(b));
        code = `${this.scalar({ kind: 'mul', factors: ordered.slice(0, -1) })} * ${this.scalar(ordered[ordered.length - 1])}`;
        break;
      }
      case 'pow': {
        const b = this.scalar(e.base);
        const prod = Array.from({ length: Math.abs(e.exp) }, () => b).join(' * ');
        code = e.exp < 0 ? `1 / (${prod})` : prod;
        break;
      }
      case 'fn': {
        const a = this.scalar(e.arg);
        code = e.name === 'relu' ? `(${a} > 0 ? ${a} : 0)` : e.name === 'step' ? `(${a} > 0 ? 1 : 0)` : fnCode(e.name, a);
        break;
      }
      case 'vfn': {
        // logsumexp shifted by the maximum: no exponential overflows, whatever the logits' size
        const n = shapeOf(e.arg)[0] as number;
        const kv = this.fresh('k'), m = this.fresh('m'), s = this.fresh('s');
        const body = this.elem(e.arg, [kv]);
        this.emit(`let ${m} = -Infinity;`);
        this.emit(`for (let ${kv} = 0; ${kv} < ${n}; ${kv}++) { const v = ${body}; if (v > ${m}) ${m} = v; }`);
        this.emit(`let ${s} = 0;`);
        this.emit(`for (let ${kv} = 0; ${kv} < ${n}; ${kv}++) ${s} += Math.exp(${body} - ${m});`);
        code = `${m} + Math.log(${s})`;
        break;
      }
      case 'dot': {
        const tab = this.tableDot(e);
        if (tab !== null) { code = tab; break; }
        const n = shapeOf(e.a)[0] as number;
        const kv = this.fresh('k');
        const body = `${this.elem(e.a, [kv])} * ${this.elem(e.b, [kv])}`;
        const t = this.fresh();
        if (n <= UNROLL) this.emit(`const ${t} = 0${Array.from({ length: n }, (_, q) => ` + ${atIndex(body, kv, q)}`).join('')};`);
        else for (const l of splitSum(t, kv, n, body)) this.emit(l);
        this.cse.set(k, t);
        this.computed.set(k, t);
        return t;
      }
      case 'sum': {
        const shape = shapeOf(e.arg) as number[];
        const t = this.fresh();
        const ks = shape.map(() => this.fresh('k'));
        const body = this.elem(e.arg, ks);
        this.emit(`let ${t} = 0;`);
        this.emit(`${ks.map((kv, r) => `for (let ${kv} = 0; ${kv} < ${shape[r]}; ${kv}++) `).join('')}${t} += ${body};`);
        this.cse.set(k, t);
        this.computed.set(k, t);
        return t;
      }
      case 'index': code = this.elem(e.arg, [this.scalar(e.idx)]); break;
      case 'fill': return this.scalar(e.value);
      default: throw new Error(`cannot compile ${e.kind} as a scalar`);
    }
    const t = this.fresh();
    this.emit(`const ${t} = ${code};`);
    this.cse.set(k, t);
    this.computed.set(k, t);
    return t;
  }

  /** A JS expression for element idx of tensor expression e (elementwise parts inline). */
  elem(e: Expr, idx: string[]): string {
    if (shapeOf(e).length === 0) return this.scalar(e);
    switch (e.kind) {
      case 'sym': return this.access(e, idx);
      case 'add': return `(${e.terms.map((t) => this.elem(t, idx)).join(' + ')})`;
      case 'mul': {
        // the scalar factors are loop-invariant: hoist their product out of the element loop
        const scalars = e.factors.filter((f) => shapeOf(f).length === 0);
        const tensors = e.factors.filter((f) => shapeOf(f).length > 0);
        const head = scalars.length === 0 ? [] : [this.scalar(scalars.length === 1 ? scalars[0] : { kind: 'mul', factors: scalars })];
        return [...head, ...tensors.map((t) => this.elem(t, idx))].join(' * ');
      }
      case 'pow': return `(${this.elem(e.base, idx)}) ** ${e.exp}`;
      case 'fn': return fnCode(e.name, this.elem(e.arg, idx));
      case 'vfn': return `${this.softmaxBuffer(e)}[${idx[0]}]`;
      case 'fill': return this.scalar(e.value);
      case 'unit': return `(${idx[0]} === ${this.scalar(e.idx)} ? 1 : 0)`;
      case 'transpose': return this.elem(e.A, [idx[1], idx[0]]);
      case 'outer': return `${this.elem(e.a, [idx[0]])} * ${this.elem(e.b, [idx[1]])}`;
      case 'matvec': return `${this.materialise(e)}[${idx[0]}]`;
      default: throw new Error(`cannot compile ${e.kind} elementwise`);
    }
  }

  /** Compute a non-elementwise vector (A x) into a scratch buffer once per block. */
  private materialise(e: Extract<Expr, { kind: 'matvec' }>): string {
    const k = keyOf(e);
    const hit = this.tensors.get(k);
    if (hit) return hit;
    const [m, n] = shapeOf(e.A) as number[];
    const buf = this.fresh('buf');
    this.ctx.buffers.push({ name: buf, size: m });
    const r = this.fresh('k'), c = this.fresh('k'), s = this.fresh('s');
    const body = `${this.elem(e.A, [r, c])} * ${this.elem(e.x, [c])}`;
    this.emit(`for (let ${r} = 0; ${r} < ${m}; ${r}++) { let ${s} = 0; for (let ${c} = 0; ${c} < ${n}; ${c}++) ${s} += ${body}; ${buf}[${r}] = ${s}; }`);
    this.tensors.set(k, buf);
    return buf;
  }

  /** softmax(a) = exp(a − logsumexp(a)) into a scratch buffer: every entry ≤ 1, no overflow. */
  private softmaxBuffer(e: Extract<Expr, { kind: 'vfn' }>): string {
    const k = keyOf(e);
    const hit = this.tensors.get(k);
    if (hit) return hit;
    const n = shapeOf(e.arg)[0] as number;
    const lse = this.scalar({ kind: 'vfn', name: 'logsumexp', arg: e.arg });
    const buf = this.fresh('buf');
    this.ctx.buffers.push({ name: buf, size: n });
    const kv = this.fresh('k');
    this.emit(`for (let ${kv} = 0; ${kv} < ${n}; ${kv}++) ${buf}[${kv}] = Math.exp(${this.elem(e.arg, [kv])} - ${lse});`);
    this.tensors.set(k, buf);
    return buf;
  }

  /** dot(θ-part, x_k) with x_k a tabled input: a lookup in a table filled per neuron and distinct row. */
  private tableDot(e: Extract<Expr, { kind: 'dot' }>): string | null {
    const T = this.ctx.tables;
    if (!T) return null;
    const isTabled = (x: Expr): boolean => x.kind === 'sym' && x.role === 'input' && T.slots.has(x.name);
    const [inp, par] = isTabled(e.b) ? [e.b, e.a] : isTabled(e.a) ? [e.a, e.b] : [null, null];
    if (!inp || !par || !paramOnly(par)) return null;
    const slot = T.slots.get((inp as Sym).name)!;
    const key = keyOf(e);
    let tab = T.dots.find((t) => t.key === key);
    if (!tab) {
      const fe = new Emitter(this.ctx, '    ');
      const kv = this.fresh('k');
      const body = fe.elem(par, [kv]);
      const name = this.fresh('TAB');
      fe.emit(`for (let r = 0; r < R${slot.k}; r++) { let s = 0; const uo = r * ${slot.size}; for (let ${kv} = 0; ${kv} < ${slot.size}; ${kv}++) s += ${body} * U${slot.k}[uo + ${kv}]; ${name}[i * R${slot.k} + r] = s; }`);
      tab = { name, key, k: slot.k, fill: fe.lines };
      T.dots.push(tab);
    }
    return `${tab.name}[i * R${slot.k} + r${slot.k}]`;
  }

  /** target[base + flat(k)] += elem(e, k) over e's shape. */
  accumulate(target: string, base: string, e: Expr, shape: number[]): void {
    const hs = this.ctx.hoist;
    if (shape.length === 0 && hs && target === 'grad' && e.kind === 'mul') {
      const th = e.factors.filter(paramOnly), rest = e.factors.filter((f) => !paramOnly(f));
      if (th.length > 0 && rest.length > 0) {
        const sample: Expr = rest.length === 1 ? rest[0] : { kind: 'mul', factors: rest };
        const key = keyOf(sample);
        let q = hs.q.find((x) => x.key === key);
        if (!q) {
          q = { name: this.fresh('Q'), key };
          hs.q.push(q);
          this.emit(`${q.name}[i] += ${this.scalar(sample)};`);
        } else if (!this.qDone.has(q.name)) this.emit(`${q.name}[i] += ${this.scalar(sample)};`);
        this.qDone.add(q.name);
        hs.flush.emit(`${target}[${base}] += ${q.name}[i] * ${hs.flush.scalar(th.length === 1 ? th[0] : { kind: 'mul', factors: th })};`);
        return;
      }
    }
    if (shape.length === 0) {
      this.emit(`${target}[${base}] += ${this.scalar(e)};`);
      return;
    }
    // scalar · x_k with x_k tabled: sum the scalar per (neuron, distinct row), expanded after the loop
    const T = this.ctx.tables;
    if (T && target === 'grad' && shape.length === 1 && e.kind === 'mul') {
      const tensors = e.factors.filter((f) => shapeOf(f).length > 0);
      const x = tensors.length === 1 ? tensors[0] : null;
      if (x && x.kind === 'sym' && x.role === 'input' && T.slots.has(x.name)) {
        const slot = T.slots.get(x.name)!;
        const scalars = e.factors.filter((f) => f !== x);
        const c = scalars.length === 0 ? '1' : this.scalar(scalars.length === 1 ? scalars[0] : { kind: 'mul', factors: scalars });
        const key = `${base}|${x.name}`;
        let coef = T.coefs.find((t) => t.key === key);
        if (!coef) {
          coef = { name: this.fresh('COEF'), key, k: slot.k, base, size: slot.size };
          T.coefs.push(coef);
        }
        this.emit(`${coef.name}[i * R${slot.k} + r${slot.k}] += ${c};`);
        return;
      }
    }
    // scalar · e_k (a unit vector, e.g. ∇_x of u v x[i]): one entry, not a loop over the shape
    if (shape.length === 1 && e.kind === 'mul' && e.factors.filter((f) => shapeOf(f).length > 0).length === 1) {
      const u = e.factors.find((f) => shapeOf(f).length > 0)!;
      if (u.kind === 'unit') {
        const scalars = e.factors.filter((f) => f !== u);
        const c = scalars.length === 0 ? '1' : this.scalar(scalars.length === 1 ? scalars[0] : { kind: 'mul', factors: scalars });
        this.emit(`${target}[${base} + ${this.scalar(u.idx)}] += ${c};`);
        return;
      }
    }
    const ks = shape.map(() => this.fresh('k'));
    const body = this.elem(e, ks);
    const flat = ks.length === 1 ? ks[0] : `${ks[0]} * ${shape[1]} + ${ks[1]}`;
    if (ks.length === 1 && shape[0] <= UNROLL) {
      for (let q = 0; q < shape[0]; q++) this.emit(`${target}[${base} + ${q}] += ${atIndex(body, ks[0], q)};`);
      return;
    }
    this.emit(`${ks.map((kv, r) => `for (let ${kv} = 0; ${kv} < ${shape[r]}; ${kv}++) `).join('')}${target}[${base} + ${flat}] += ${body};`);
  }
}

/**
 * The loop over a kernel's neurons, opened with `i` (the neuron) and `ob` (its offset in θ).
 * A masked kernel loops over the indices of the active neurons, collected once per call into IDX_,
 * instead of testing the mask for every neuron of every sample: AGF's fits and dormant phases call
 * the masked kernels with a few active neurons of many (diagonal d = 1000: 40 of 1000), where the
 * mask tests were most of the work. Called without a mask (mask null), the same loop runs every
 * neuron. Every kernel's neuron loops come from here, so a masked kernel cannot miss one.
 */
export class NeuronLoops {
  constructor(
    private readonly H: number,
    private readonly P: number,
    /** The kernel takes a mask argument and honours it. */
    readonly masked: boolean,
  ) {}

  /** The loop's opening lines at this indent (the body is indented two more; the caller closes it). */
  open(indent: string): string[] {
    const inner = `${indent}  `;
    return this.masked
      ? [`${indent}for (let a_ = 0; a_ < NI_; a_++) {`, `${inner}const i = mask ? IDX_[a_] : a_;`, `${inner}const ob = i * ${this.P};`]
      : [`${indent}for (let i = 0; i < ${this.H}; i++) {`, `${inner}const ob = i * ${this.P};`];
  }

  /** Declarations before the kernel's `return function`: the index buffer and the function that fills it. */
  get decl(): string {
    return this.masked
      ? `const IDX_ = new Int32Array(${this.H});\nfunction activeIndex_(mk, idx) { let k = 0; for (let i = 0; i < ${this.H}; i++) if (mk[i] !== 0) idx[k++] = i; return k; }\n`
      : '';
  }

  /** The kernel's first statement: how many neurons its loops run for this call's mask. */
  get count(): string {
    return this.masked ? `  const NI_ = mask ? activeIndex_(mask, IDX_) : ${this.H};\n` : '';
  }
}

/**
 * Loops over at most this many entries are written out: V8 does not unroll loops, and for the
 * short vectors of a neuron (modular p = 20) straight-line code measured about 2× faster.
 */
export const UNROLL = 32;

/**
 * `const t = Σ_{kv < n} body` over a long loop as ACC interleaved partial sums: a single
 * accumulator is a chain of dependent additions (one per ~4 cycles); independent chains run in
 * parallel. Measured in bench/kernels.ts against the single-accumulator loop.
 */
export const ACC = 4;
export function splitSum(t: string, kv: string, n: number, body: string): string[] {
  const acc = Array.from({ length: ACC }, (_, a) => `${t}_${a}`);
  const main = n - (n % ACC);
  const step = acc.map((a, u) => `${a} += ${shifted(body, kv, u)};`).join(' ');
  const tail = Array.from({ length: n - main }, (_, u) => `${acc[u]} += ${atIndex(body, kv, main + u)};`).join(' ');
  return [
    `let ${acc.map((a) => `${a} = 0`).join(', ')};`,
    `for (let ${kv} = 0; ${kv} < ${main}; ${kv} += ${ACC}) { ${step} }`,
    ...(tail ? [tail] : []),
    `const ${t} = (${acc[0]} + ${acc[1]}) + (${acc[2]} + ${acc[3]});`,
  ];
}

/** The loop body at kv + u. */
function shifted(body: string, kv: string, u: number): string {
  return u === 0 ? body : body.replace(new RegExp(`\\b${kv}\\b`, 'g'), `(${kv} + ${u})`);
}

/** The loop body with the loop variable kv replaced by the constant q (the same sums, in the same order). */
export function atIndex(body: string, kv: string, q: number): string {
  return body.replace(new RegExp(`\\b${kv}\\b`, 'g'), String(q));
}

/** Depends on θ (and the neuron index) only: no data, cotangent or output symbols. */
function paramOnly(e: Expr): boolean {
  if (e.kind === 'sym') return e.role === 'param' || e.role === 'index';
  return children(e).every(paramOnly);
}

/** Sort key for product chains: cotangent and data first, parameters last. */
function factorRank(e: Expr): number {
  if (e.kind === 'num') return 0;
  if (e.kind === 'sym') return e.role === 'residual' ? 1 : e.role === 'input' ? 2 : 4;
  return hasInput(e) ? 3 : 4;
}

function hasInput(e: Expr): boolean {
  return (e.kind === 'sym' && (e.role === 'input' || e.role === 'residual')) || children(e).some(hasInput);
}

const reductionCache = new WeakMap<object, boolean>();
function hasReduction(e: Expr): boolean {
  const hit = reductionCache.get(e);
  if (hit !== undefined) return hit;
  const r = e.kind === 'dot' || e.kind === 'sum' || e.kind === 'matvec' || e.kind === 'vfn' || children(e).some(hasReduction);
  reductionCache.set(e, r);
  return r;
}

