/**
 * Compiled kernels of a bound model. All take the flat neuron-major θ and row-major data,
 * and an optional neuron mask (AGF restricts the fit to the active set).
 *
 *   lossGrad      L = (1/2n) Σ_j ‖f(x_j) − y_j‖² and ∇_θ L, fused in one pass over the samples
 *   forward       predictions f(x_j) (n×c)
 *   neuronOutputs f_i(x_j) for every neuron (H×n×c), for utilities U_i = E_x⟨f_i, r⟩
 *   vjpMean       (1/n) Σ_j ∇_θ⟨E_j, f_i(x_j)⟩ for a given cotangent matrix E (n×c)
 */
import { type DerivedModel } from '../symbolic/derive.ts';
import { bindDims } from '../symbolic/expr.ts';
import { simplify } from '../symbolic/simplify.ts';
import { ACC, Emitter, NeuronLoops, UNROLL, atIndex, hoistSet, type GenContext } from './codegen.ts';
import { buildLoss, targetMultiple, type LossChoice, type LossForm } from '../symbolic/losses.ts';
import { GradflowError } from '../util/errors.ts';
import { type Layout, makeLayout } from './layout.ts';
import { MomentSwitch, type DataMoments } from './moments.ts';
import { RowTableCache, fingerprintX, type RowTables } from './row-tables.ts';
import { DataPassCache, WASM_GAIN, wasmAvailable, type DataPass } from './wasm-gemv.ts';
import { BLOCKED_GAIN, SB, blockBody, type BlockedBody } from './sample-blocks.ts';
import { GEMM_GAIN, linearGemm, linearGemmAvailable, type LinearGemm, type LinearSizes } from './wasm-gemm.ts';
import type { Expr, Sym } from '../symbolic/expr.ts';

export type Mask = Uint8Array | null;

export interface CompileOptions {
  /**
   * Evaluate the MSE loss and gradient of models linear in x from the data's moments once they
   * pay off (default true; false keeps the per-sample kernel, the independent path tests use).
   */
  moments?: boolean;
  /** Row-table kernels for data whose input rows repeat (default true; false: the plain per-sample loops). */
  rowTables?: boolean;
  /**
   * Scalar models linear in x on data the moments do not pay for: X β and Xᵀr in WebAssembly SIMD
   * (wasm-gemv.ts) where the runtime has it (default true; moments: false turns it off as well).
   */
  wasm?: boolean;
}

export interface Kernels {
  layout: Layout;
  lossGrad(th: Float64Array, X: Float64Array, Y: Float64Array, n: number, grad: Float64Array, mask?: Mask): number;
  /** out = −∇_θ L, the gradient flow's right-hand side: lossGrad's gradient with the sign flipped (the same bits), without a separate negation pass where the path allows. */
  velocity(th: Float64Array, X: Float64Array, Y: Float64Array, n: number, out: Float64Array): void;
  loss(th: Float64Array, X: Float64Array, Y: Float64Array, n: number, mask?: Mask): number;
  forward(th: Float64Array, X: Float64Array, n: number, out: Float64Array, mask?: Mask): void;
  neuronOutputs(th: Float64Array, X: Float64Array, n: number, out: Float64Array): void;
  vjpMean(th: Float64Array, X: Float64Array, E: Float64Array, n: number, grad: Float64Array, mask?: Mask): void;
  /**
   * Σ_j ℓ(z_j, t_j) over n rows of outputs Z (n×c) and targets T (n×targetWidth); with G given,
   * G_j = ∇_z ℓ(z_j, t_j) is written into its rows. The loss of the gradient flow is this sum / n.
   */
  outputLoss(Z: Float64Array, T: Float64Array, n: number, G: Float64Array | null): number;
  /** The per-sample loss (MSE unless the spec or the Problem names another). */
  lossForm: LossForm;
  /** Length of one sample's target row: c, or 3c for the preference losses (chosen, rejected, reference logits). */
  targetWidth: number;
  /** Generated source of each kernel, for inspection (`gradflow derive --code`). */
  source: Record<string, string>;
  /**
   * How lossGrad/loss run on this data set (with this mask): 'moments' from Σ_xx, Σ_yx (cost
   * independent of n; unmasked calls only), 'wasm' β = Σ_i ∇_x f_i then X β and Xᵀr in WebAssembly
   * SIMD (models linear in x; masked calls too when the active neurons are many), 'rows' with the
   * row tables of repeated input rows (also used by forward, neuronOutputs, vjpMean), 'samples'
   * the unmasked per-sample loops (sample-blocked), 'masked' the loops over the active neurons.
   * A mask with every neuron active runs as no mask, except that it never takes the moments.
   * Decided from the data and the mask alone (same inputs, same bytes). X and Y are read as immutable: what is derived from them is kept for the arrays last
   * passed (a buffer refilled in place is noticed by a fingerprint and derived again).
   */
  formFor(X: Float64Array, Y: Float64Array, n: number, mask?: Mask): 'moments' | 'wasm' | 'rows' | 'samples' | 'masked';
  /**
   * lossGrad, velocity and loss on one data set held fixed: what the calls derive from X and Y (the
   * moments, the WebAssembly data pass, the row tables) is found once, on first need, instead of
   * being looked up and the data fingerprinted on every call. The same path and the same bits as
   * the unbound calls on the same arguments. The caller promises that X and Y do not change while
   * the bound kernels are used (the solvers' data are the Problem's immutable arrays). Binding the
   * arrays last bound again returns the same object (cheap: solvers bind at every entry), unless
   * they were refilled in place since.
   */
  bind(X: Float64Array, Y: Float64Array, n: number): BoundKernels;
}

/** Kernels on a fixed data set (Kernels.bind). */
export interface BoundKernels {
  lossGrad(th: Float64Array, grad: Float64Array, mask?: Mask): number;
  /** out = −∇_θ L (Kernels.velocity). */
  velocity(th: Float64Array, out: Float64Array): void;
  loss(th: Float64Array, mask?: Mask): number;
}

/**
 * The forms a bound data set uses, each derived once on first need from the same caches the
 * unbound calls use (undefined: not asked yet; null: does not apply).
 */
interface FixedForms {
  moments: DataMoments | null | undefined;
  pass: DataPass | null | undefined;
  rows: RowTables | null | undefined;
}

interface Block {
  forward: Emitter;
  out: string; // scalar temp name, or '' for vector outputs (already accumulated)
}

function context(layout: Layout, tabled = false, hoist = false): GenContext {
  const ctx: GenContext = {
    layout,
    counter: { n: 0 },
    buffers: [],
    paramOffset: new Map(layout.params.map((p) => [p.name, { offset: p.offset, shape: p.shape }])),
    inputOffset: new Map(layout.inputs.map((p) => [p.name, { offset: p.offset, shape: p.shape }])),
    ...(tabled ? { tables: { slots: new Map(tabledInputs(layout).map((s, k) => [s.name, { k, size: s.size }])), dots: [], coefs: [] } } : {}),
  };
  if (hoist) ctx.hoist = hoistSet(ctx, '    ');
  return ctx;
}

/** The inputs that get row tables: vector inputs. */
function tabledInputs(layout: Layout): Layout['inputs'] {
  return layout.inputs.filter((s) => s.shape.length === 1);
}

/**
 * The pieces a row-table kernel adds around its sample loop: the data's row tables as the last
 * argument D, the dot tables filled per neuron and distinct row, the per-sample row ids, and the
 * coefficient tables expanded into grad after the loop.
 */
function tableParts(ctx: GenContext, loops: NeuronLoops): { decl: string; arg: string; pre: string; perSample: string; post: string } {
  const hp = hoistParts(ctx, loops);
  const T = ctx.tables;
  if (!T) return { decl: hp.decl, arg: '', pre: hp.pre, perSample: '', post: hp.post };
  const { H } = ctx.layout;
  const ks = [...T.slots.values()];
  const all = [...T.dots.map((t) => t.name), ...T.coefs.map((t) => t.name)];
  const decl = all.length ? `\nlet ${all.map((nm) => `${nm} = new Float64Array(0)`).join(', ')};` : '';
  const pre: string[] = [];
  for (const { k } of ks) pre.push(`  const RID${k} = D.rid[${k}], U${k} = D.rows[${k}], R${k} = D.count[${k}];`);
  for (const t of [...T.dots, ...T.coefs]) pre.push(`  if (${t.name}.length < ${H} * R${t.k}) ${t.name} = new Float64Array(${H} * R${t.k});`);
  for (const t of T.coefs) pre.push(`  ${t.name}.fill(0, 0, ${H} * R${t.k});`);
  if (T.dots.length) {
    pre.push(...loops.open('  '));
    for (const t of T.dots) pre.push(...t.fill);
    pre.push('  }');
  }
  const used = new Set([...T.dots.map((t) => t.k), ...T.coefs.map((t) => t.k)]);
  const perSample = [...used].map((k) => `    const r${k} = RID${k}[j];`).join('\n');
  const post: string[] = [];
  if (T.coefs.length) {
    post.push(...loops.open('  '));
    for (const t of T.coefs) {
      post.push(`    for (let r = 0; r < R${t.k}; r++) { const cf = ${t.name}[i * R${t.k} + r]; if (cf === 0) continue; const uo = r * ${t.size}; for (let k = 0; k < ${t.size}; k++) grad[${t.base} + k] += cf * U${t.k}[uo + k]; }`);
    }
    post.push('  }');
  }
  return { decl: decl + hp.decl, arg: ', D', pre: [hp.pre, ...pre].join('\n'), perSample, post: [...post, hp.post].join('\n') };
}

/** Per-neuron values before the sample loop (PV) and the gradient terms expanded after it (Q). */
function hoistParts(ctx: GenContext, loops: NeuronLoops): { decl: string; pre: string; post: string } {
  const hs = ctx.hoist;
  if (!hs || (hs.pv.length === 0 && hs.q.length === 0)) return { decl: '', pre: '', post: '' };
  const { H } = ctx.layout;
  const decl = `\nconst ${[...hs.pv, ...hs.q].map((t) => `${t.name} = new Float64Array(${H})`).join(', ')};`;
  const loop = (body: string[]): string[] => [...loops.open('  '), ...body, '  }'];
  const pre = [...hs.q.map((q) => `  ${q.name}.fill(0);`), ...(hs.pv.length ? loop(hs.fill.lines) : [])];
  const post = hs.q.length ? loop(hs.flush.lines) : [];
  return { decl, pre: pre.join('\n'), post: post.join('\n') };
}

/**
 * Generated kernels by source text. A kernel is a pure function of its arguments (its scratch
 * buffers are filled before they are read, and no kernel calls another), so problems with the
 * same generated source can share one instance: a sweep builds a Problem per cell, and a fresh
 * `new Function` per cell would make V8 interpret, profile and re-optimise every kernel again
 * on each cell (measured: that recompilation was about a third of a sweep's CPU).
 */
const KERNEL_CACHE = new Map<string, unknown>();
const KERNEL_CACHE_MAX = 256;

function instantiate(src: string): unknown {
  const hit = KERNEL_CACHE.get(src);
  if (hit !== undefined) return hit;
  const fn: unknown = new Function(src)();
  if (KERNEL_CACHE.size >= KERNEL_CACHE_MAX) KERNEL_CACHE.delete(KERNEL_CACHE.keys().next().value as string);
  KERNEL_CACHE.set(src, fn);
  return fn;
}

/** The d × d identity as d input rows (x = e_k): f(e_k) is column k of a model linear in x. */
function identityRows(d: number): Float64Array {
  const I = new Float64Array(d * d);
  for (let k = 0; k < d; k++) I[k * d + k] = 1;
  return I;
}

/**
 * The slots of a template a * dot(w, x) — a a vector parameter, w a vector parameter, x the one
 * input — whose moment form is four matrix products (wasm-gemm.ts); null for any other template.
 */
function outerProductSizes(template: Expr, inputs: Sym[], layout: Layout): LinearSizes | null {
  if (template.kind !== 'mul' || template.factors.length !== 2 || inputs.length !== 1 || layout.params.length !== 2) return null;
  const [f0, f1] = template.factors;
  const [av, dt] = f0.kind === 'dot' ? [f1, f0] : [f0, f1];
  if (dt.kind !== 'dot' || av.kind !== 'sym' || av.role !== 'param' || av.shape.length !== 1) return null;
  const x = inputs[0];
  const [wv, xv] = dt.a.kind === 'sym' && dt.a.role === 'input' ? [dt.b, dt.a] : [dt.a, dt.b];
  if (wv.kind !== 'sym' || wv.role !== 'param' || wv.shape.length !== 1 || xv.kind !== 'sym' || xv.name !== x.name || wv.name === av.name) return null;
  const sa = layout.params.find((q) => q.name === av.name), sw = layout.params.find((q) => q.name === wv.name);
  if (!sa || !sw || layout.inputs.length !== 1 || sw.size !== layout.dIn || sa.size !== layout.c || layout.outShape.length !== 1) return null;
  return { c: sa.size, d: sw.size, h: layout.H, P: layout.P, aOff: sa.offset, wOff: sw.offset };
}

export function compileModel(m: DerivedModel, dims: Record<string, number> = {}, lossChoice?: LossChoice, compileOptions: CompileOptions = {}): Kernels {
  const layout = makeLayout(m, dims);
  const choice = lossChoice ?? m.loss;
  const mse = choice.name === 'mse';
  if (!mse && layout.outShape.length !== 1) throw new GradflowError(`loss '${choice.name}': softmax losses need a vector output (logits z ∈ R^V); model '${m.spec.name}' has ${layout.outShape.length === 0 ? 'a scalar' : 'a matrix'} output`);
  const lossForm = buildLoss(choice, mse ? m.residual.shape : layout.outShape, layout.dims);
  const TW = layout.c * targetMultiple(choice.name);
  const bind = (e: Parameters<typeof bindDims>[0]) => simplify(bindDims(e, layout.dims));
  const template = bind(m.template);
  const vjps = m.params.map((p) => ({ slot: layout.params.find((s) => s.name === p.name)!, e: bind(m.vjps.get(p.name)!) }));
  const { H, P, dIn, c } = layout;
  const vectorOut = layout.outShape.length > 0;
  const I = '      ';

  /** Forward pass of one neuron: sums f_i into f (scalar) or fv (vector). */
  const forwardBlock = (ctx: GenContext, target: 'f' | 'out'): Block => {
    const em = new Emitter(ctx, I);
    if (!vectorOut) {
      const t = em.scalar(template);
      if (target === 'f') em.emit(`f += ${t};`);
      else em.emit(`out[(i * n + j)] = ${t};`);
      return { forward: em, out: t };
    }
    if (target === 'f') em.accumulate('fv', '0', template, layout.outShape);
    else {
      const ks = layout.outShape.map(() => em.fresh('k'));
      const body = em.elem(template, ks);
      if (c <= UNROLL) {
        em.emit(`const oo = (i * n + j) * ${c};`);
        for (let q = 0; q < c; q++) em.emit(`out[oo + ${q}] = ${atIndex(body, ks[0], q)};`);
      } else em.emit(`for (let ${ks[0]} = 0; ${ks[0]} < ${c}; ${ks[0]}++) out[(i * n + j) * ${c} + ${ks[0]}] = ${body};`);
    }
    return { forward: em, out: '' };
  };

  /**
   * The sample's forward loop over the neurons, summing f (scalar) or fv (vector). Unmasked with a
   * scalar output and many neurons (the diagonal network: one coordinate per neuron), it runs
   * ACC neurons per iteration into ACC partial sums: f += f_i alone is a chain of dependent
   * additions, the partial sums are independent (measured ≈ 2× on d = 1000 … 2000).
   */
  const forwardNeuronLoop = (body: string[], loops: NeuronLoops): string => {
    if (vectorOut || loops.masked || H < 2 * ACC) {
      return [`    ${vectorOut ? 'fv.fill(0);' : 'let f = 0;'}`, ...loops.open('    '), ...body, '    }'].join('\n');
    }
    const part = (u: number): string[] => body.map((l) => l.replace(/^(\s*)f \+= /, `$1f_${u} += `));
    const block = (u: number, i: string): string[] => [`      { const i = ${i}, ob = i * ${P};`, ...part(u), '      }'];
    const main = H - (H % ACC);
    const fs = Array.from({ length: ACC }, (_, u) => `f_${u}`);
    return [
      `    let ${fs.map((x) => `${x} = 0`).join(', ')};`,
      `    for (let i0 = 0; i0 < ${main}; i0 += ${ACC}) {`,
      ...Array.from({ length: ACC }, (_, u) => block(u, u ? `i0 + ${u}` : 'i0')).flat(),
      '    }',
      ...(main < H ? [`    for (let i0 = ${main}; i0 < ${H}; i0++) {`, ...block(0, 'i0'), '    }'] : []),
      `    const f = (f_0 + f_1) + (f_2 + f_3);`,
    ].join('\n');
  };

  /** SB samples per iteration (sample-blocks.ts); the caller's loop finishes the last n mod SB. */
  const sampleBlockLoop = (fwdBody: string[], bwdBody: string[]): string => {
    const us = Array.from({ length: SB }, (_, u) => u);
    const rename = (nm: string, u: number): string => `${nm}_${u}`;
    const fb = blockBody(fwdBody, rename), bb = blockBody(bwdBody, rename);
    const neuronLoop = (b: BlockedBody): string[] => [...new NeuronLoops(H, P, false).open('    '), ...b.shared, ...b.body, '    }'];
    const residuals = vectorOut
      ? us.map((u) => `    fv_${u}.fill(0);`) : [`    let ${us.map((u) => `f_${u} = 0`).join(', ')};`];
    const losses = vectorOut
      ? us.map((u) => `    for (let k = 0; k < ${c}; k++) { const r = fv_${u}[k] - Y[(j + ${u}) * ${c} + k]; ev_${u}[k] = r; loss += r * r; }`)
      : [`    const ${us.map((u) => `e_${u} = f_${u} - Y[j + ${u}]`).join(', ')};`, `    loss += (e_0 * e_0 + e_1 * e_1) + (e_2 * e_2 + e_3 * e_3);`];
    return [
      `  for (; j + ${SB - 1} < n; j += ${SB}) {`,
      `    const ${us.map((u) => `xo_${u} = (j + ${u}) * ${dIn}`).join(', ')};`,
      ...residuals,
      ...neuronLoop(fb),
      ...losses,
      ...neuronLoop(bb),
      '  }',
    ].join('\n');
  };

  const buffersDecl = (ctx: GenContext): string =>
    [...ctx.buffers.map((b) => `const ${b.name} = new Float64Array(${b.size});`), vectorOut ? `const fv = new Float64Array(${c}); const ev = new Float64Array(${c});` : ''].join('\n');

  const mseResidual = vectorOut
    ? `    let s2 = 0;\n    for (let k = 0; k < ${c}; k++) { const r = fv[k] - Y[j * ${c} + k]; ev[k] = r; s2 += r * r; }\n    loss += s2;`
    : `    const e = f - Y[j];\n    loss += e * e;`;
  // any other loss: ℓ and G = ∇_z ℓ generated from their expressions, G in ev (the cotangent the gradient pass reads)
  const lossExpr = simplify(bindDims(lossForm.expr, layout.dims)), lossGradExpr = simplify(bindDims(lossForm.grad, layout.dims));
  const generatedResidual = (ctx: GenContext): string => {
    ctx.targetOffset = new Map(lossForm.targets.map((t, k) => [t.name, k * c]));
    const em = new Emitter(ctx, '    ');
    em.emit(`const yo = j * ${TW};`);
    const l = em.scalar(lossExpr);
    em.accumulate('ev', '0', lossGradExpr, layout.outShape);
    em.emit(`loss += ${l};`);
    return [`    ev.fill(0);`, ...em.lines].join('\n');
  };
  const residual = (ctx: GenContext): string => (mse ? mseResidual : generatedResidual(ctx));
  const lossScale = mse ? '0.5 * loss * inv' : 'loss * inv';

  // ---- lossGrad: forward (caching scalars), residual, gradient pass
  let blockedSamples = false;
  const genLossGrad = (tabled: boolean, unmasked = false): string => {
  const lgCtx = context(layout, tabled, true);
  const fwd = forwardBlock(lgCtx, 'f');
  const cacheSlots = new Map<string, number>();
  const bwd = new Emitter(lgCtx, I, (key) => {
    const t = fwd.forward.computed.get(key);
    if (!t) return undefined;
    if (!cacheSlots.has(key)) cacheSlots.set(key, cacheSlots.size);
    return `cache[i * CACHE + ${cacheSlots.get(key)}]`;
  });
  for (const { slot, e } of vjps) bwd.accumulate('grad', `ob + ${slot.offset}`, e, slot.shape);
  const C = Math.max(1, cacheSlots.size);
  const stores = [...cacheSlots].map(([key, s]) => `${I}cache[i * ${C} + ${s}] = ${fwd.forward.computed.get(key)};`);
  const lgRes = residual(lgCtx); // before buffersDecl: the loss may add scratch buffers (softmax)
  const loops = new NeuronLoops(H, P, !unmasked);
  const tp = tableParts(lgCtx, loops);
  const bwdLines = bwd.lines.map((l) => l.replaceAll('CACHE', String(C)));
  // vector outputs with every loop written out (c, d ≤ UNROLL) measured ≈ 10 % slower blocked
  // (linear c = d = h = 10: four copies of straight-line code); with loops, 1.6× faster (c = d = h = 50)
  const blocked = unmasked && !tabled && mse && lgCtx.buffers.length === 0 && H > 1 && (!vectorOut || Math.max(c, dIn) > UNROLL);
  if (blocked) blockedSamples = true;
  return `${loops.decl}${buffersDecl(lgCtx)}${tp.decl}
const cache = new Float64Array(${H * C});${blocked ? `\nconst ${Array.from({ length: SB }, (_, u) => `cache_${u} = new Float64Array(${H * C})${vectorOut ? `, fv_${u} = new Float64Array(${c}), ev_${u} = new Float64Array(${c})` : ''}`).join(', ')};` : ''}
return function lossGrad(th, X, Y, n, grad, mask${tp.arg}) {
${loops.count}  grad.fill(0);
  let loss = 0;
${tp.pre}
  let j = 0;
${blocked ? sampleBlockLoop([...fwd.forward.lines, ...stores], bwdLines) : ''}
  for (; j < n; j++) {
    const xo = j * ${dIn};
${tp.perSample}
${forwardNeuronLoop([...fwd.forward.lines, ...stores], loops)}
${lgRes}
${loops.open('    ').join('\n')}
${bwdLines.join('\n')}
    }
  }
${tp.post}
  const inv = 1 / n;
  if (n !== 1) for (let q = 0; q < grad.length; q++) grad[q] *= inv;
  return ${lossScale};
};`;
  };
  const lossGradSrc = genLossGrad(false);
  const lossGradAllSrc = genLossGrad(false, true);

  // ---- one neuron: forward, residual and gradient in one pass, reusing the forward temporaries
  // directly (no per-neuron cache), which is the loop one would write by hand
  let singleSrc: string | null = null;
  if (H === 1) {
    const sCtx = context(layout);
    const sf = forwardBlock(sCtx, 'f');
    const sb = new Emitter(sCtx, I, (key) => sf.forward.computed.get(key));
    for (const { slot, e } of vjps) sb.accumulate('grad', `ob + ${slot.offset}`, e, slot.shape);
    const sRes = residual(sCtx);
    singleSrc = `${buffersDecl(sCtx)}
return function lossGradSingle(th, X, Y, n, grad) {
  grad.fill(0);
  let loss = 0;
  const i = 0, ob = 0;
  for (let j = 0; j < n; j++) {
    const xo = j * ${dIn};
    ${vectorOut ? 'fv.fill(0);' : 'let f = 0;'}
${sf.forward.lines.join('\n')}
${sRes}
${sb.lines.join('\n')}
  }
  const inv = 1 / n;
  if (n !== 1) for (let q = 0; q < grad.length; q++) grad[q] *= inv;
  return ${lossScale};
};`;
  }

  // ---- forward / loss only
  const genForward = (tabled: boolean): string => {
  const fCtx = context(layout, tabled, true);
  const f2 = forwardBlock(fCtx, 'f');
  const loops = new NeuronLoops(H, P, true);
  const tp = tableParts(fCtx, loops);
  return `${loops.decl}${buffersDecl(fCtx)}${tp.decl}
return function forward(th, X, n, out, mask${tp.arg}) {
${loops.count}${tp.pre}
  for (let j = 0; j < n; j++) {
    const xo = j * ${dIn};
${tp.perSample}
    ${vectorOut ? 'fv.fill(0);' : 'let f = 0;'}
${loops.open('    ').join('\n')}
${f2.forward.lines.join('\n')}
    }
    ${vectorOut ? `for (let k = 0; k < ${c}; k++) out[j * ${c} + k] = fv[k];` : 'out[j] = f;'}
  }
};`;
  };
  const forwardSrc = genForward(false);

  // ---- per-neuron outputs
  const genNeuron = (tabled: boolean): string => {
  const nCtx = context(layout, tabled, true);
  const f3 = forwardBlock(nCtx, 'out');
  const loops = new NeuronLoops(H, P, false);
  const tp = tableParts(nCtx, loops);
  return `${buffersDecl(nCtx)}${tp.decl}
return function neuronOutputs(th, X, n, out${tp.arg}) {
${tp.pre}
  for (let j = 0; j < n; j++) {
    const xo = j * ${dIn};
${tp.perSample}
${loops.open('    ').join('\n')}
${f3.forward.lines.join('\n')}
    }
  }
};`;
  };
  const neuronSrc = genNeuron(false);

  // ---- vjp with a given cotangent matrix
  const genVjp = (tabled: boolean): string => {
  const vCtx = context(layout, tabled, true);
  const vb = new Emitter(vCtx, I);
  for (const { slot, e } of vjps) vb.accumulate('grad', `ob + ${slot.offset}`, e, slot.shape);
  const loops = new NeuronLoops(H, P, true);
  const tp = tableParts(vCtx, loops);
  return `${loops.decl}${buffersDecl(vCtx)}${tp.decl}
return function vjpMean(th, X, E, n, grad, mask${tp.arg}) {
${loops.count}  grad.fill(0);
${tp.pre}
  for (let j = 0; j < n; j++) {
    const xo = j * ${dIn};
${tp.perSample}
    ${vectorOut ? `for (let k = 0; k < ${c}; k++) ev[k] = E[j * ${c} + k];` : 'const e = E[j];'}
${loops.open('    ').join('\n')}
${vb.lines.join('\n')}
    }
  }
${tp.post}
  const inv = 1 / n;
  if (n !== 1) for (let q = 0; q < grad.length; q++) grad[q] *= inv;
};`;
  };
  const vjpSrc = genVjp(false);

  // ---- ℓ and G from given outputs (the loss alone, and the forces analysis's G)
  const oCtx = context(layout);
  const oRes = residual(oCtx);
  const outputSrc = `${buffersDecl(oCtx)}
return function outputLoss(Y0, Y, n, G) {
  let loss = 0;
  for (let j = 0; j < n; j++) {
    ${vectorOut ? `for (let k = 0; k < ${c}; k++) fv[k] = Y0[j * ${c} + k];` : 'const f = Y0[j];'}
${oRes}
    if (G) ${vectorOut ? `for (let k = 0; k < ${c}; k++) G[j * ${c} + k] = ev[k];` : 'G[j] = e;'}
  }
  return ${mse ? '0.5 * loss' : 'loss'};
};`;

  // ---- moment form (scalar-output models linear in one input, MSE): β = Σ_i ∇_x f_i, then
  // ∇_θ L = ∇_θ f(x := g) with g = Σ_xx β − Σ_yx, i.e. vjpMean on the single row g with cotangent 1
  let betaSrc: string | null = null;
  if (mse && m.moment && compileOptions.moments !== false) {
    const bCtx = context(layout);
    const be = new Emitter(bCtx, I);
    be.accumulate('beta', '0', bind(m.moment.beta), [dIn]);
    const loops = new NeuronLoops(H, P, true);
    betaSrc = `${loops.decl}${buffersDecl(bCtx)}
return function momentBeta(th, beta, mask) {
${loops.count}  beta.fill(0);
${loops.open('  ').join('\n')}
${be.lines.join('\n')}
  }
};`;
  }

  const make = <T>(src: string): T => instantiate(src) as T;
  // row-table variants, generated on first use (only data sets whose input rows repeat use them)
  const rowCache = new RowTableCache(dIn, compileOptions.rowTables === false ? [] : tabledInputs(layout));
  type Tabled = {
    lossGrad: (th: Float64Array, X: Float64Array, Y: Float64Array, n: number, grad: Float64Array, mask: Mask, D: RowTables) => number;
    forward: (th: Float64Array, X: Float64Array, n: number, out: Float64Array, mask: Mask, D: RowTables) => void;
    neuronOutputs: (th: Float64Array, X: Float64Array, n: number, out: Float64Array, D: RowTables) => void;
    vjpMean: (th: Float64Array, X: Float64Array, E: Float64Array, n: number, grad: Float64Array, mask: Mask, D: RowTables) => void;
  };
  const rowSrc = compileOptions.rowTables === false || tabledInputs(layout).length === 0 ? null
    : { lossGradRows: genLossGrad(true), forwardRows: genForward(true), neuronOutputsRows: genNeuron(true), vjpMeanRows: genVjp(true) };
  let tabledKernels: Tabled | null = null;
  const tabled = (): Tabled => (tabledKernels ??= {
    lossGrad: make(rowSrc!.lossGradRows), forward: make(rowSrc!.forwardRows), neuronOutputs: make(rowSrc!.neuronOutputsRows), vjpMean: make(rowSrc!.vjpMeanRows),
  });
  const lossGrad = make<Kernels['lossGrad']>(lossGradSrc);
  // the unmasked variant is the hot path of every flow and descent run: no per-neuron mask test
  const lossGradAll = make<Kernels['lossGrad']>(singleSrc ?? lossGradAllSrc);
  const forward = make<Kernels['forward']>(forwardSrc);
  const neuronOutputs = make<Kernels['neuronOutputs']>(neuronSrc);
  const vjpMean = make<Kernels['vjpMean']>(vjpSrc);
  const outputLoss = make<Kernels['outputLoss']>(outputSrc);
  let predBuf = new Float64Array(0);
  const momentBeta = betaSrc ? make<(th: Float64Array, beta: Float64Array, mask: Mask) => void>(betaSrc) : null;
  // per-sample work ≈ forward + gradient over the neurons (the sample-blocked kernel does it
  // BLOCKED_GAIN× faster per operation, the data pass WASM_GAIN×); a moment evaluation adds β and one vjp row.
  // Scalar models linear in x where the moments do not pay: ∇_θ L = ∇_θ f(x := Xᵀr/n), r = Xβ − y
  const passes = momentBeta && compileOptions.wasm !== false && wasmAvailable() ? new DataPassCache(dIn) : null;
  const gain = passes ? WASM_GAIN : blockedSamples && singleSrc === null ? BLOCKED_GAIN : 1;
  // vector outputs linear in x (linear networks, factorizations): B from f on the identity rows,
  // ∇_θ L = ∇_θ ⟨G, B(θ)⟩ from vjpMean on the same rows (measured on the linear network,
  // c = d = h = 50: the two together cost as much as a pass over d/2 samples)
  const vectorMoments = mse && layout.outShape.length === 1 && m.inputs.length === 1 && m.inputs[0].shape.length === 1
    && m.inputDegree === 1 && m.polynomial && compileOptions.moments !== false;
  const perPass = 2 * H * P + 2 * dIn;
  // a * dot(w, x) with vector a: the moment form as matrix products in WebAssembly SIMD (wasm-gemm.ts);
  // its evaluation is c·d² (counted by the switch) + 3·c·h·d multiply-adds
  const gemmSizes = vectorMoments && compileOptions.wasm !== false ? outerProductSizes(template, m.inputs, layout) : null;
  const useGemm = gemmSizes !== null && linearGemmAvailable(gemmSizes);
  let gemm: LinearGemm | null = null;
  const switcher = momentBeta ? new MomentSwitch(dIn, 1, perPass, 4 * H * P + 3 * dIn, gain)
    : useGemm ? new MomentSwitch(dIn, c, perPass, 3 * c * H * dIn, GEMM_GAIN)
    : vectorMoments ? new MomentSwitch(dIn, c, perPass, 0.5 * dIn * perPass) : null;
  let gemmScratch: Float64Array | null = null;
  const beta = new Float64Array(dIn), delta = new Float64Array(dIn * c), gRow = new Float64Array(dIn * c), one = Float64Array.of(1);
  const ident = vectorMoments ? identityRows(dIn) : null, bT = new Float64Array(vectorMoments ? dIn * c : 0), sRow = new Float64Array(c);
  /**
   * The vector form of momentLoss: Bᵀ (row k = f(e_k)), Δᵀ = Bᵀ − B*ᵀ, then
   * L = c₀ + Σ_a ⟨Δᵀ_a, ½(Σ_xx Δᵀ)_a + R*_a⟩ and Gᵀ = Σ_xx Δᵀ + R* left in gRow (d × c).
   */
  const momentLossVector = (th: Float64Array, mo: NonNullable<ReturnType<MomentSwitch['use']>>): number => {
    forward(th, ident!, dIn, bT, null);
    const { Sxx, betaStar, rStar } = mo, dl = delta, g = gRow, sr = sRow;
    for (let q = 0; q < dIn * c; q++) dl[q] = bT[q] - betaStar[q];
    let qs = 0;
    for (let a = 0; a < dIn; a++) {
      sr.fill(0);
      const ro = a * dIn;
      for (let b = 0; b < dIn; b++) {
        const sab = Sxx[ro + b], bo = b * c;
        for (let q = 0; q < c; q++) sr[q] += sab * dl[bo + q];
      }
      const go = a * c;
      for (let q = 0; q < c; q++) {
        qs += dl[go + q] * (0.5 * sr[q] + rStar[go + q]);
        g[go + q] = sr[q] + rStar[go + q];
      }
    }
    return mo.c0 + qs;
  };
  /**
   * L from the moments; leaves g = Σ_xx β − Σ_yx in gRow. Masked calls (AGF's constrained fits) stay
   * per-sample: measured on the α → 0 limit of the diagonal network, the engine's jump times were
   * 2e-10 from Pesme–Flammarion with the moments vs 5e-13 per sample (its Newton steps difference
   * gradients at a constrained optimum, where Σ_xx β − Σ_yx cancels more than the residuals do).
   */
  const momentLoss = (th: Float64Array, mo: NonNullable<ReturnType<MomentSwitch['use']>>): number => {
    momentBeta!(th, beta, null);
    const { Sxx, betaStar, rStar } = mo, dl = delta, g = gRow;
    for (let a = 0; a < dIn; a++) dl[a] = beta[a] - betaStar[a];
    let q = 0;
    // two rows of Σ_xx per pass over δ (each δ_b loaded once for both), two partial sums per row
    let a = 0;
    for (; a + 1 < dIn; a += 2) {
      const ro = a * dIn, r1 = ro + dIn;
      let s0 = 0, s1 = 0, u0 = 0, u1 = 0;
      let b = 0;
      for (; b + 1 < dIn; b += 2) {
        const x0 = dl[b], x1 = dl[b + 1];
        s0 += Sxx[ro + b] * x0;
        s1 += Sxx[ro + b + 1] * x1;
        u0 += Sxx[r1 + b] * x0;
        u1 += Sxx[r1 + b + 1] * x1;
      }
      if (b < dIn) { s0 += Sxx[ro + b] * dl[b]; u0 += Sxx[r1 + b] * dl[b]; }
      const s = s0 + s1, u = u0 + u1;
      // L(β) = L(β*) + δᵀ∇L(β*) + ½δᵀΣ_xxδ exactly (a quadratic), whatever the accuracy of β*
      q += dl[a] * (0.5 * s + rStar[a]) + dl[a + 1] * (0.5 * u + rStar[a + 1]);
      g[a] = s + rStar[a];
      g[a + 1] = u + rStar[a + 1];
    }
    if (a < dIn) {
      const ro = a * dIn;
      let s = 0;
      for (let b = 0; b < dIn; b++) s += Sxx[ro + b] * dl[b];
      q += dl[a] * (0.5 * s + rStar[a]);
      g[a] = s + rStar[a];
    }
    return mo.c0 + q;
  };
  /**
   * A mask with every neuron active is no mask: the unmasked kernels (sample-blocked, the data pass)
   * compute the same sums. A real mask is given to the data pass too when its active neurons are
   * many: r = Xβ − y is formed from the residuals as the per-sample loop forms them (no moment
   * cancellation), at a cost set by d, whereas the masked loop's is set by the active neurons.
   */
  const effectiveMask = (mask: Mask): Mask => {
    if (!mask) return null;
    for (let i = 0; i < H; i++) if (mask[i] === 0) return mask;
    return null;
  };
  const activeCount = (mask: Uint8Array): number => {
    let k = 0;
    for (let i = 0; i < H; i++) if (mask[i] !== 0) k++;
    return k;
  };
  const passFor = (X: Float64Array, Y: Float64Array, n: number, mask: Mask, F: FixedForms | null): DataPass | null => {
    if (!passes) return null;
    if (mask && activeCount(mask) * P * WASM_GAIN < dIn) return null;
    if (!F) return passes.use(X, Y, n);
    if (F.pass === undefined) F.pass = passes.use(X, Y, n);
    return F.pass;
  };
  // the moments / row tables of this call's data: looked up in the caches (fingerprinting X and Y),
  // or those of a bound data set, found once
  const momentsFor = (X: Float64Array, Y: Float64Array, n: number, F: FixedForms | null): DataMoments | null => {
    if (!switcher) return null;
    if (!F) return switcher.use(X, Y, n);
    if (F.moments === undefined) F.moments = switcher.use(X, Y, n);
    return F.moments;
  };
  const rowsFor = (X: Float64Array, n: number, F: FixedForms | null): RowTables | null => {
    if (!F) return rowCache.use(X, n);
    if (F.rows === undefined) F.rows = rowCache.use(X, n);
    return F.rows;
  };
  const loss = (th: Float64Array, X: Float64Array, Y: Float64Array, n: number, maskIn: Mask, F: FixedForms | null): number => {
    const mask = effectiveMask(maskIn);
    // masked calls never use the moments (momentLoss says why), an all-active mask included
    const mo = maskIn ? null : momentsFor(X, Y, n, F);
    if (mo && useGemm) return (gemm ??= linearGemm(gemmSizes!)!).lossGrad(th, (gemmScratch ??= new Float64Array(H * P)), mo);
    if (mo) return momentBeta ? momentLoss(th, mo) : momentLossVector(th, mo);
    const dp = passFor(X, Y, n, mask, F);
    if (dp) {
      momentBeta!(th, dp.beta, mask);
      return 0.5 * dp.run();
    }
    if (predBuf.length < n * c) predBuf = new Float64Array(n * c);
    forward(th, X, n, predBuf, mask);
    if (!mse) return outputLoss(predBuf, Y, n, null) / n;
    let s = 0;
    for (let q = 0; q < n * c; q++) {
      const r = predBuf[q] - Y[q];
      s += r * r;
    }
    return (0.5 * s) / n;
  };
  /**
   * ∇L into grad (neg false) or −∇L, the gradient flow's velocity (neg true; the same bits with
   * the sign flipped: IEEE negation is exact, and the paths linear in their last row negate that row).
   */
  const gradient = (th: Float64Array, X: Float64Array, Y: Float64Array, n: number, grad: Float64Array, maskIn: Mask, neg: boolean, F: FixedForms | null): number => {
    const mask = effectiveMask(maskIn);
    const mo = maskIn ? null : momentsFor(X, Y, n, F);
    if (mo && momentBeta) {
      const L = momentLoss(th, mo);
      if (neg) for (let a = 0; a < dIn; a++) gRow[a] = -gRow[a];
      vjpMean(th, gRow, one, 1, grad, null);
      return L;
    }
    if (mo && useGemm) return (gemm ??= linearGemm(gemmSizes!)!).lossGrad(th, grad, mo, neg);
    if (mo) {
      const L = momentLossVector(th, mo);
      // vjpMean averages over its d rows; ⟨G, B⟩ is their sum
      vjpMean(th, ident!, gRow, dIn, grad, null);
      const sc = neg ? -dIn : dIn;
      for (let q = 0; q < grad.length; q++) grad[q] *= sc;
      return L;
    }
    const dp = passFor(X, Y, n, mask, F);
    if (dp) {
      // β written in WebAssembly memory in place; g = G/n as before (the same bytes as the copying pass)
      momentBeta!(th, dp.beta, mask);
      const L = 0.5 * dp.run();
      const G = dp.G, inv = neg ? -1 / n : 1 / n;
      for (let a = 0; a < dIn; a++) gRow[a] = G[a] * inv;
      vjpMean(th, gRow, one, 1, grad, mask);
      return L;
    }
    const D = rowsFor(X, n, F);
    const L = D ? tabled().lossGrad(th, X, Y, n, grad, mask, D) : mask ? lossGrad(th, X, Y, n, grad, mask) : lossGradAll(th, X, Y, n, grad, null);
    if (neg) for (let q = 0; q < grad.length; q++) grad[q] = -grad[q];
    return L;
  };
  let lastBound: { X: Float64Array; Y: Float64Array; n: number; fp: number; kb: BoundKernels } | null = null;
  return {
    layout,
    lossGrad: (th, X, Y, n, grad, maskIn = null) => gradient(th, X, Y, n, grad, maskIn, false, null),
    velocity: (th, X, Y, n, out) => { gradient(th, X, Y, n, out, null, true, null); },
    loss: (th, X, Y, n, maskIn = null) => loss(th, X, Y, n, maskIn, null),
    bind: (X, Y, n) => {
      // the same arrays bound again (solvers bind p.data at every entry) give the same object, unless
      // they were refilled in place since (the fingerprint, once per bind, not per call)
      const fp = fingerprintX(X) + 1.5 * fingerprintX(Y);
      if (lastBound && lastBound.X === X && lastBound.Y === Y && lastBound.n === n && lastBound.fp === fp) return lastBound.kb;
      const F: FixedForms = { moments: undefined, pass: undefined, rows: undefined };
      const kb: BoundKernels = {
        lossGrad: (th, grad, maskIn = null) => gradient(th, X, Y, n, grad, maskIn, false, F),
        velocity: (th, out) => { gradient(th, X, Y, n, out, null, true, F); },
        loss: (th, maskIn = null) => loss(th, X, Y, n, maskIn, F),
      };
      lastBound = { X, Y, n, fp, kb };
      return kb;
    },
    forward: (th, X, n, out, maskIn = null) => {
      const D = rowCache.use(X, n), mask = effectiveMask(maskIn);
      return D ? tabled().forward(th, X, n, out, mask, D) : forward(th, X, n, out, mask);
    },
    neuronOutputs: (th, X, n, out) => {
      const D = rowCache.use(X, n);
      return D ? tabled().neuronOutputs(th, X, n, out, D) : neuronOutputs(th, X, n, out);
    },
    vjpMean: (th, X, E, n, grad, maskIn = null) => {
      const D = rowCache.use(X, n), mask = effectiveMask(maskIn);
      return D ? tabled().vjpMean(th, X, E, n, grad, mask, D) : vjpMean(th, X, E, n, grad, mask);
    },
    outputLoss,
    lossForm,
    targetWidth: TW,
    source: { lossGrad: singleSrc ?? lossGradSrc, ...(singleSrc ? {} : { lossGradUnmasked: lossGradAllSrc }), forward: forwardSrc, neuronOutputs: neuronSrc, vjpMean: vjpSrc, outputLoss: outputSrc, ...(betaSrc ? { momentBeta: betaSrc } : {}), ...(rowSrc ?? {}) },
    formFor: (X, Y, n, mask = null) => {
      if (!mask && switcher?.active(X, Y, n)) return 'moments';
      const mk = effectiveMask(mask);
      if (passes?.active(X, Y, n) && (!mk || activeCount(mk) * P * WASM_GAIN >= dIn)) return 'wasm';
      if (rowCache.use(X, n)) return 'rows';
      return mk ? 'masked' : 'samples';
    },
  };
}
