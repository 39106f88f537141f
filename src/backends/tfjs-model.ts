/**
 * A bound neuron template f_i(x; θ_i) and its symbolic VJPs ∇_θ⟨e, f_i⟩ as batched TensorFlow.js
 * ops: every node evaluates for all neurons i and all samples j at once. A node's tensor has shape
 * [h, m, ...shape] with h ∈ {1, H} and m ∈ {1, n}: parameters are [H, 1, …], inputs [1, n, …],
 * the residual e is [1, n, …], so broadcasting does the pairing and nothing is materialised over
 * an axis the node does not depend on.
 *
 * The gradient comes from the DerivedModel's VJPs (the same derivative the float64 kernels
 * compile), not tf.grad: @tensorflow/tfjs-core registers no gradient functions by itself (they
 * ship only as extensionless ESM files that the @tensorflow/tfjs bundle registers), so autodiff
 * is unavailable with tfjs-core + a backend package alone.
 *
 * Sub-trees that do not depend on θ or e (inputs, the neuron index, x[i], constants) are
 * evaluated once and kept; the rest is re-run each step, with sub-trees shared between the
 * forward pass and the VJPs evaluated once per step.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { type Expr, bindDims, keyOf, shapeOf } from '../symbolic/expr.ts';
import { simplify } from '../symbolic/simplify.ts';
import type { DerivedModel } from '../symbolic/derive.ts';
import type { Layout } from '../compile/layout.ts';
import { GradflowError } from '../util/errors.ts';
import type { Tf } from './tfjs.ts';
import type { ElementwiseFn } from '../symbolic/expr.ts';

const TFJS_FN: Record<ElementwiseFn, (tf: Tf, t: tfc.Tensor) => tfc.Tensor> = {
  relu: (tf, t) => tf.relu(t), step: (tf, t) => tf.step(t), exp: (tf, t) => tf.exp(t), log: (tf, t) => tf.log(t),
  sigmoid: (tf, t) => tf.sigmoid(t), softplus: (tf, t) => tf.softplus(t),
};

type Tensor = tfc.Tensor;

/** Static description of a node: its leading [h, m] and its tensor shape (bound). */
interface NodeBase {
  lead: [number, number];
  shape: number[];
  /** For products: the non-numeric factors and the numeric coefficient, so a sum over neurons or samples can contract them with a matMul. */
  product?: { factors: Node[]; coef: number };
}
type Node = NodeBase & ({ kind: 'const'; t: Tensor } | { kind: 'var'; f: (s: StepState) => Tensor });

interface StepState {
  theta: Tensor; // [H, P]
  /** e = f(x_j) − y_j as [1, n, ...outShape], once the forward pass has run. */
  residual: Tensor | null;
  memo: Map<Node, Tensor>;
}

/** All tensors are created in the caller's scope: call inside tf.tidy. */
export interface TfjsModel {
  /** Σ_i f_i(x_j) as [n, c] for a θ tensor [H, P]. */
  predict(theta: Tensor): Tensor;
  /** L = (1/2n) Σ_j ‖f(x_j) − y_j‖², a scalar tensor. */
  loss(theta: Tensor): Tensor;
  /** L and ∇_θ L = (1/n) Σ_j ∇_θ⟨e_j, f(x_j)⟩ as an [H, P] tensor in gradflow's layout. */
  lossAndGrad(theta: Tensor): { loss: Tensor; grad: Tensor };
  /** Release the kept constant tensors (inputs, targets, precomputed θ-free sub-trees). */
  dispose(): void;
}

function dimsOf(e: Expr): number[] {
  return shapeOf(e).map((d) => {
    if (typeof d !== 'number') throw new GradflowError(`tfjs backend: dimension '${d}' is unbound`);
    return d;
  });
}

/** Build the batched model of `m` bound to `layout`; X is [n, dIn] and Y [n, c] row-major as in a Dataset. */
export function buildTfjsModel(tf: Tf, m: DerivedModel, layout: Layout, X: Float64Array, Y: Float64Array, n: number): TfjsModel {
  const { H, P } = layout;
  const bind = (e: Expr): Expr => simplify(bindDims(e, layout.dims));
  const kept: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => {
    kept.push(tf.keep(t));
    return t;
  };
  const paramSlot = new Map(layout.params.map((s) => [s.name, s]));
  const inputSlot = new Map(layout.inputs.map((s) => [s.name, s]));
  const Xt = keep(tf.tensor2d(Float32Array.from(X), [n, layout.dIn]));
  const Yt = keep(tf.tensor2d(Float32Array.from(Y), [n, layout.c]));
  const nodes = new Map<string, Node>();

  const run = (node: Node, s: StepState): Tensor => {
    if (node.kind === 'const') return node.t;
    let t = s.memo.get(node);
    if (!t) {
      t = node.f(s);
      s.memo.set(node, t);
    }
    return t;
  };

  /** A node from children: constant children fold now (kept), otherwise a closure for each step. */
  const make = (lead: [number, number], shape: number[], kids: Node[], op: (ts: Tensor[]) => Tensor): Node => {
    if (kids.every((k) => k.kind === 'const')) {
      const t = keep(tf.tidy(() => op(kids.map((k) => (k as Extract<Node, { kind: 'const' }>).t))));
      return { kind: 'const', lead, shape, t };
    }
    return { kind: 'var', lead, shape, f: (s) => op(kids.map((k) => run(k, s))) };
  };

  const constant = (compute: () => Tensor, lead: [number, number], shape: number[]): Node => ({ kind: 'const', lead, shape, t: keep(tf.tidy(compute)) });

  const leadOf = (kids: Node[]): [number, number] => [Math.max(...kids.map((k) => k.lead[0])), Math.max(...kids.map((k) => k.lead[1]))];

  /** Append unit axes so a scalar node broadcasts against a tensor node (numpy aligns from the right). */
  const padTo = (t: Tensor, rank: number): Tensor => (t.rank >= rank ? t : tf.reshape(t, [...t.shape, ...new Array<number>(rank - t.rank).fill(1)]));

  const size = (node: Node): number => node.lead[0] * node.lead[1] * node.shape.reduce((a, b) => a * b, 1);

  /**
   * Elementwise product of factor tensors, smallest first so a broadcast to the full [H, n, …]
   * happens once; numbers multiply as rank-0 scalars, which engines handle without a broadcast.
   */
  const productOf = (nodes: Node[], ts: Tensor[], coef: number): Tensor => {
    const rank = 2 + Math.max(...nodes.map((f) => f.shape.length));
    const order = nodes.map((f, k) => k).sort((a, b) => size(nodes[a]) - size(nodes[b]));
    let acc = padTo(ts[order[0]], rank);
    for (const k of order.slice(1)) acc = tf.mul(acc, padTo(ts[k], rank));
    return coef === 1 ? acc : tf.mul(acc, coef);
  };

  const mulNode = (e: Extract<Expr, { kind: 'mul' }>, shape: number[]): Node => {
    let coef = 1;
    const factors: Node[] = [];
    for (const f of e.factors) {
      if (f.kind === 'num') coef *= f.value;
      else factors.push(build(f));
    }
    if (factors.length === 0) return constant(() => tf.fill([1, 1], coef), [1, 1], []);
    const node = make(leadOf(factors), shape, factors, (ts) => padTo(productOf(factors, ts, coef), 2 + shape.length));
    return { ...node, product: { factors, coef } };
  };

  const addNode = (e: Extract<Expr, { kind: 'add' }>, shape: number[]): Node => {
    let offset = 0;
    const terms: Node[] = [];
    for (const t of e.terms) {
      if (t.kind === 'num') offset += t.value;
      else terms.push(build(t));
    }
    if (terms.length === 0) return constant(() => tf.fill([1, 1], offset), [1, 1], []);
    return make(leadOf(terms), shape, terms, (ts) => {
      const acc = ts.map((t) => padTo(t, 2 + shape.length)).reduce((a, b) => tf.add(a, b));
      return offset === 0 ? acc : tf.add(acc, offset);
    });
  };

  /** One-hot rows e_{idx} of length `size`, for an index node that must not depend on θ. */
  const oneHot = (idx: Node, size: number): Node => {
    if (idx.kind !== 'const') throw new GradflowError('tfjs backend: an index that depends on the parameters is not supported');
    return constant(() => tf.cast(tf.equal(tf.expandDims(idx.t, -1), tf.reshape(tf.range(0, size), [1, 1, size])), 'float32'), idx.lead, [size]);
  };

  /** x[idx] with a θ-free index that is per-neuron only: a gather, never an [H, n, d] mask. */
  const gatherIndex = (arg: Node, idx: Extract<Node, { kind: 'const' }>, d: number): Node => {
    const h = idx.lead[0];
    const cols = tf.tidy(() => tf.cast(tf.round(tf.reshape(idx.t, [h])), 'int32'));
    const at = cols.dataSync();
    for (const q of at) {
      if (q < 0 || q >= d) {
        cols.dispose();
        throw new GradflowError(`tfjs backend: index ${q} is out of range for a vector of length ${d}`);
      }
    }
    keep(cols);
    const m = arg.lead[1];
    // arg [1, m, d] → [m, d] → columns idx → [m, h] → [h, m]
    return make([h, m], [], [arg], ([a]) => tf.transpose(tf.gather(tf.reshape(a, [m, d]), cols, 1)));
  };

  /** Batched dot products: θ-side [H,1,d] against data-side [1,n,d] is one matMul. */
  const dotNode = (a: Node, b: Node): Node => {
    const d = a.shape[0];
    const lead = leadOf([a, b]);
    const crossed = (u: Node, v: Node) => u.lead[1] === 1 && v.lead[0] === 1;
    if (crossed(a, b) || crossed(b, a)) {
      const [u, v] = crossed(a, b) ? [a, b] : [b, a];
      const hu = u.lead[0], mv = v.lead[1];
      return make(lead, [], [u, v], ([tu, tv]) => tf.reshape(tf.matMul(tf.reshape(tu, [hu, d]), tf.reshape(tv, [mv, d]), false, true), [hu, mv]));
    }
    return make(lead, [], [a, b], ([ta, tb]) => tf.sum(tf.mul(ta, tb), -1));
  };

  const matvecNode = (A: Node, x: Node, shape: number[]): Node => {
    const [r, k] = A.shape;
    const lead = leadOf([A, x]);
    if (A.lead[1] === 1 && x.lead[0] === 1) {
      const h = A.lead[0], m = x.lead[1];
      // [h·r, k] · [m, k]ᵀ = [h·r, m] → [h, r, m] → [h, m, r]
      return make(lead, shape, [A, x], ([tA, tx]) => tf.transpose(tf.reshape(tf.matMul(tf.reshape(tA, [h * r, k]), tf.reshape(tx, [m, k]), false, true), [h, r, m]), [0, 2, 1]));
    }
    return make(lead, shape, [A, x], ([tA, tx]) => tf.sum(tf.mul(tA, tf.expandDims(tx, -2)), -1));
  };

  const build = (e: Expr): Node => {
    const key = keyOf(e);
    const hit = nodes.get(key);
    if (hit) return hit;
    const node = buildNode(e);
    nodes.set(key, node);
    return node;
  };

  const buildNode = (e: Expr): Node => {
    const shape = dimsOf(e);
    switch (e.kind) {
      case 'num':
        return constant(() => tf.fill([1, 1], e.value), [1, 1], []);
      case 'sym': {
        if (e.role === 'index') return constant(() => tf.reshape(tf.range(0, H), [H, 1]), [H, 1], []);
        const ps = paramSlot.get(e.name);
        if (ps && e.role === 'param') {
          return { kind: 'var', lead: [H, 1], shape, f: (s) => tf.reshape(tf.slice(s.theta, [0, ps.offset], [H, ps.size]), [H, 1, ...ps.shape]) };
        }
        if (e.role === 'residual' && e.name === m.residual.name) {
          return { kind: 'var', lead: [1, n], shape, f: (s) => {
            if (!s.residual) throw new Error('tfjs backend: the residual is needed before the forward pass ran');
            return s.residual;
          } };
        }
        const is = inputSlot.get(e.name);
        if (is && e.role === 'input') return constant(() => tf.reshape(tf.slice(Xt, [0, is.offset], [n, is.size]), [1, n, ...is.shape]), [1, n], shape);
        throw new GradflowError(`tfjs backend: the template uses '${e.name}' (${e.role}), which is neither a parameter, an input nor the neuron index`);
      }
      case 'add': return addNode(e, shape);
      case 'mul': return mulNode(e, shape);
      case 'pow': {
        if (!Number.isInteger(e.exp) || e.exp < 1) throw new GradflowError(`tfjs backend: exponent ${e.exp} is not supported`);
        const b = build(e.base);
        // repeated squaring: exact for negative bases, unlike pow's log-based gradient
        return make(b.lead, shape, [b], ([t]) => {
          let acc: Tensor | null = null;
          let sq = t;
          for (let k = e.exp; ; k >>= 1) {
            if (k & 1) acc = acc ? tf.mul(acc, sq) : sq;
            if (k <= 1) break;
            sq = tf.square(sq);
          }
          return acc as Tensor;
        });
      }
      case 'fn': {
        const a = build(e.arg);
        // relu'(0) = step(0) = 0 in tfjs and in gradflow's symbolic derivative alike
        const op = TFJS_FN[e.name];
        return make(a.lead, shape, [a], ([t]) => op(tf, t));
      }
      case 'vfn': throw new GradflowError(`tfjs backend: ${e.name}(…) inside a template is not supported (use the reference backend: --backend float64)`);
      case 'dot': return dotNode(build(e.a), build(e.b));
      case 'sum': {
        const a = build(e.arg);
        if (a.shape.length === 0) return a;
        const axes = a.shape.map((_, k) => 2 + k);
        return make(a.lead, [], [a], ([t]) => tf.sum(t, axes));
      }
      case 'matvec': return matvecNode(build(e.A), build(e.x), shape);
      case 'transpose': {
        const a = build(e.A);
        return make(a.lead, shape, [a], ([t]) => tf.transpose(t, [0, 1, 3, 2]));
      }
      case 'outer': {
        const a = build(e.a), b = build(e.b);
        return make(leadOf([a, b]), shape, [a, b], ([ta, tb]) => tf.mul(tf.expandDims(ta, -1), tf.expandDims(tb, -2)));
      }
      case 'index': {
        const arg = build(e.arg), idx = build(e.idx);
        const d = arg.shape[0];
        if (idx.kind === 'const' && idx.lead[1] === 1 && arg.lead[0] === 1) return gatherIndex(arg, idx, d);
        const mask = oneHot(idx, d);
        return make(leadOf([arg, mask]), [], [arg, mask], ([ta, tm]) => tf.sum(tf.mul(ta, tm), -1));
      }
      case 'unit': {
        if (typeof e.size !== 'number') throw new GradflowError(`tfjs backend: dimension '${e.size}' is unbound`);
        return oneHot(build(e.idx), e.size);
      }
      case 'fill': {
        const v = build(e.value);
        return make(v.lead, shape, [v], ([t]) => tf.broadcastTo(padTo(t, 2 + shape.length), [...v.lead, ...shape]));
      }
    }
  };

  /**
   * Σ over neurons (axis 0) or samples (axis 1) of a node, the axis kept with size 1. For a
   * product, factors are split into those constant along the axis (applied after the sum), those
   * varying along the axis only (P) and those varying along both (M); Σ P·M is then one matMul
   * instead of an elementwise product over the full [H, n, …] grid and a reduction.
   */
  const sumOver = (node: Node, s: StepState, axis: 0 | 1): Tensor => {
    const rank = 2 + node.shape.length;
    const generic = () => tf.sum(padTo(run(node, s), rank), axis, true);
    const prod = node.product;
    if (!prod || node.kind === 'const') return generic();
    const other = axis === 0 ? 1 : 0;
    const outside = prod.factors.filter((f) => f.lead[axis] === 1);
    const pure = prod.factors.filter((f) => f.lead[axis] > 1 && f.lead[other] === 1);
    const mixed = prod.factors.filter((f) => f.lead[axis] > 1 && f.lead[other] > 1);
    if (pure.length === 0 || mixed.length === 0 || mixed.some((f) => f.shape.length > 0)) return generic();
    const pShape = pure.reduce<number[]>((sh, f) => (f.shape.length > sh.length ? f.shape : sh), []);
    const pSize = pShape.reduce((a, b) => a * b, 1);
    const K = node.lead[axis], Q = Math.max(...mixed.map((f) => f.lead[other]));
    const P = tf.reshape(padTo(productOf(pure, pure.map((f) => run(f, s)), 1), 2 + pShape.length), [K, pSize]);
    const M = productOf(mixed, mixed.map((f) => run(f, s)), 1); // [H, n]
    let out: Tensor;
    if (axis === 1) out = tf.reshape(tf.matMul(M, P), [Q, 1, ...pShape]); // Σ_j M_ij P_j → [H, 1, …]
    else out = tf.reshape(tf.matMul(M, P, true, false), [1, Q, ...pShape]); // Σ_i M_ij P_i → [1, n, …]
    out = padTo(out, rank);
    if (outside.length > 0) out = tf.mul(out, padTo(productOf(outside, outside.map((f) => run(f, s)), 1), rank));
    return prod.coef === 1 ? out : tf.mul(out, prod.coef);
  };

  let root: Node;
  let vjps: { size: number; node: Node }[];
  try {
    root = build(bind(m.template));
    vjps = layout.params.map((slot) => {
      const e = m.vjps.get(slot.name);
      if (!e) throw new Error(`tfjs backend: no VJP for parameter '${slot.name}'`);
      return { size: slot.size, node: build(bind(e)) };
    });
  } catch (err) {
    for (const t of kept) t.dispose();
    throw err;
  }
  const outShape = root.shape;
  const c = layout.c;

  const forward = (s: StepState): Tensor => {
    // Σ_i f_i: a neuron-independent template counts H times
    const summed = root.lead[0] === H ? sumOver(root, s, 0) : tf.mul(padTo(run(root, s), 2 + outShape.length), H);
    const perSample = root.lead[1] === n ? summed : tf.broadcastTo(summed, [1, n, ...outShape]);
    return tf.reshape(perSample, [n, c]);
  };

  const checkTheta = (theta: Tensor): void => {
    if (theta.shape[0] !== H || theta.shape[1] !== P) throw new Error(`tfjs backend: θ has shape [${theta.shape}], expected [${H}, ${P}]`);
  };

  const half = 1 / (2 * n);
  return {
    predict: (theta) => forward({ theta, residual: null, memo: new Map() }),
    loss(theta) {
      checkTheta(theta);
      const r = tf.sub(forward({ theta, residual: null, memo: new Map() }), Yt);
      return tf.mul(tf.sum(tf.square(r)), half);
    },
    lossAndGrad(theta) {
      checkTheta(theta);
      const s: StepState = { theta, residual: null, memo: new Map() };
      const r = tf.sub(forward(s), Yt);
      const loss = tf.mul(tf.sum(tf.square(r)), half);
      s.residual = tf.reshape(r, [1, n, ...outShape]);
      const parts = vjps.map(({ size, node }) => {
        // mean over samples; a sample-independent VJP (no e in it) cannot occur, but would count n times
        const mean = node.lead[1] === n ? tf.mul(sumOver(node, s, 1), 1 / n) : padTo(run(node, s), 2 + node.shape.length);
        const perNeuron = node.lead[0] === H ? mean : tf.broadcastTo(mean, [H, 1, ...node.shape]);
        return tf.reshape(perNeuron, [H, size]);
      });
      return { loss, grad: parts.length === 1 ? parts[0] : tf.concat(parts, 1) };
    },
    dispose() {
      for (const t of kept) t.dispose();
      kept.length = 0;
    },
  };
}
