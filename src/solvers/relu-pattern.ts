/**
 * Activation patterns of a piecewise-linear (ReLU) model, made explicit so that flows can hold
 * them fixed. Every relu(arg) node of the neuron template is rewritten as m ⊙ arg and every
 * step(arg) as m, with m a per-sample mask INPUT (one entry per neuron and component). With the
 * masks frozen the model is a polynomial in θ, compiled by the ordinary code generator; with the
 * mask of a pinned kink set to a Filippov weight μ ∈ [0, 1] the same kernel gives the sliding
 * vector field (relu(0) = 0 whatever μ, only the derivative uses it).
 *
 * Inner masks enter the arguments of outer nodes, so the arguments are evaluated with the current
 * masks; the pattern is consistent when every mask equals step(its argument).
 */
import type { LossChoice } from '../symbolic/losses.ts';
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import type { DerivedModel } from '../symbolic/derive.ts';
import { type Expr, type Sym, bindDims, children, index, keyOf, matvec, mul, shapeOf, sym, unit, withChildren } from '../symbolic/expr.ts';
import { simplify } from '../symbolic/simplify.ts';
import { vjp } from '../symbolic/diff.ts';
import { compileModel, type Kernels } from '../compile/kernels.ts';

/** One relu/step node of the template: its (masked) argument and where its masks sit in a data row. */
export interface KinkNode {
  /** Masked argument expression (inner nodes already masked). */
  arg: Expr;
  /** Number of components of the argument (1 for a scalar). */
  size: number;
  /** Offset of this node's masks inside the augmented data row. */
  offset: number;
  /** Compiled argument: neuronOutputs gives arg_i(x_j) as H×n×size. */
  kernels: Kernels;
}

export interface PatternModel {
  nodes: KinkNode[];
  /** Masked model kernels over augmented rows [x_j, masks…]. */
  kernels: Kernels;
  /** Length of an augmented row. */
  rowLength: number;
  /** Entries (masks) per sample: Σ_k H·size_k. */
  perSample: number;
  H: number;
  dIn: number;
}

/** True when the model's template has a relu or step node (a piecewise-polynomial model). */
export function isPiecewiseLinear(m: DerivedModel): boolean {
  const walk = (e: Expr): boolean => ((e.kind === 'fn' && (e.name === 'relu' || e.name === 'step')) ? true : children(e).some(walk));
  return walk(m.template);
}

const cache = new WeakMap<Problem, PatternModel>();

/** The pattern model of a problem (built once per Problem; compiling costs milliseconds). */
export function patternModel(p: Problem): PatternModel {
  const hit = cache.get(p);
  if (hit) return hit;
  const built = buildPatternModel(p.derived, p.layout.dims, p.layout.H, p.layout.dIn, p.kernels.lossForm.choice);
  cache.set(p, built);
  return built;
}

export function buildPatternModel(m: DerivedModel, dims: Record<string, number>, H: number, dIn: number, loss: LossChoice = m.loss): PatternModel {
  const template = simplify(bindDims(m.template, dims));
  const raw: { key: string; arg: Expr; size: number; sym: Sym; offset: number }[] = [];
  let offset = dIn;
  const maskOf = (node: (typeof raw)[number], shape: readonly (string | number)[]): Expr => {
    if (shape.length === 0) return index(node.sym, m.neuronIndex);
    return H === 1 ? node.sym : matvec(node.sym, unit(m.neuronIndex, H));
  };
  const rewrite = (e: Expr): Expr => {
    if (e.kind === 'fn' && (e.name === 'relu' || e.name === 'step')) {
      const arg = rewrite(e.arg);
      const shape = shapeOf(arg);
      if (shape.length > 1) throw new GradflowError('relu flow: relu/step of a matrix is not supported (apply it to a scalar or a vector)');
      const size = shape.length === 0 ? 1 : Number(shape[0]);
      if (!Number.isInteger(size)) throw new GradflowError('relu flow: a relu argument has an unbound dimension');
      const key = keyOf(arg);
      let node = raw.find((r) => r.key === key);
      if (!node) {
        const mshape = shape.length === 0 ? [H] : H === 1 ? [size] : [size, H];
        node = { key, arg, size, sym: sym(`relu_mask_${raw.length}`, mshape, 'input'), offset };
        offset += size * H;
        raw.push(node);
      }
      const mask = maskOf(node, shape);
      return e.name === 'relu' ? mul(mask, arg) : mask;
    }
    const cs = children(e);
    if (cs.length === 0) return e;
    const mapped = cs.map(rewrite);
    return mapped.every((c, k) => c === cs[k]) ? e : withChildren(e, mapped);
  };
  const masked = simplify(rewrite(template));
  if (raw.length === 0) throw new GradflowError(`relu flow: model '${m.spec.name}' has no relu or step in its template`);
  const maskInputs: Sym[] = raw.map((r) => r.sym);
  const inputs = [...m.inputs, ...maskInputs];
  const specInputs: Record<string, (string | number)[]> = { ...m.spec.inputs };
  for (const s of maskInputs) specInputs[s.name] = [...s.shape];
  // the masked template trains under the problem's loss; the kink arguments are only evaluated (MSE kernels)
  const derivedOf = (tpl: Expr, residual: Sym, lossOf: LossChoice = { name: 'mse' }): DerivedModel => ({
    spec: { ...m.spec, inputs: specInputs, output: [...residual.shape], dims: { ...m.spec.dims, ...dims } },
    params: m.params,
    inputs,
    residual,
    neuronIndex: m.neuronIndex,
    template: tpl,
    vjps: new Map(m.params.map((p) => [p.name, vjp(tpl, residual, p)])),
    partials: null,
    kappa: null,
    polynomial: true,
    inputDegree: null,
    moment: null,
    loss: lossOf,
  });
  // no row tables: their cache keys on a fingerprint of the rows, and the mask entries of these
  // rows change at every Filippov solve (a rebuild per call: 18 % of a relu AGF run). Nor may any
  // other cache keyed on the data see these rows: the fingerprint (fingerprintX: a weighted sum of
  // ≤ 61 strided entries) misses in-place mask edits whose weighted changes cancel (+1 at weight 7,
  // −1 at weights 3 and 4). None does today: moment and inputDegree are null below, so the moments,
  // the WebAssembly data pass and the gemm form are never built for these kernels, and the relu
  // solvers call them unbound (bind() would key on the fingerprint too). test/relu-flow.test.ts
  // checks it (formFor, and such an edit against a fresh copy of the rows).
  const noTables = { rowTables: false };
  const kernels = compileModel(derivedOf(masked, sym('e', shapeOf(masked), 'residual'), loss), dims, undefined, noTables);
  const nodes: KinkNode[] = raw.map((r) => ({
    arg: r.arg,
    size: r.size,
    offset: r.offset,
    kernels: compileModel(derivedOf(r.arg, sym('e', shapeOf(r.arg), 'residual')), dims, undefined, noTables),
  }));
  return { nodes, kernels, rowLength: offset, perSample: (offset - dIn), H, dIn };
}

/** Index of mask entry (node k, neuron i, component q) inside a row, relative to the row start. */
export function maskOffset(pm: PatternModel, k: number, i: number, q: number): number {
  const node = pm.nodes[k];
  if (node.size === 1) return node.offset + i;
  return pm.H === 1 ? node.offset + q : node.offset + q * pm.H + i;
}

/** Augmented data rows [x_j, masks] with every mask 0. */
export function augmentedRows(pm: PatternModel, X: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * pm.rowLength);
  for (let j = 0; j < n; j++) out.set(X.subarray(j * pm.dIn, (j + 1) * pm.dIn), j * pm.rowLength);
  return out;
}
