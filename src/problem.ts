/**
 * A Problem is everything a solver needs, fixed once: the derived and compiled model, the
 * data, the initial state and its conventions. Solvers never mutate it, so the same Problem
 * can be handed to flow, descent, exact, agf, … and their answers compared.
 */
import { GradflowError } from './util/errors.ts';
import { checkModelOptions } from './model-options.ts';
import { Rng } from './util/rng.ts';
import { type ModelDefinition, type InitOptions, resolveVariant } from './spec.ts';
import type { Dataset } from './data.ts';
import { deriveModel, type DerivedModel } from './symbolic/derive.ts';
import { compileModel, type Kernels } from './compile/kernels.ts';
import type { Layout } from './compile/layout.ts';
import { MSE_CONVENTION, targetMultiple, type LossChoice } from './symbolic/losses.ts';

export interface Conventions {
  loss: string;
  time: string;
  init: string;
  alpha: number;
}

export interface Monitor {
  name: string;
  fn: (theta: Float64Array) => number;
}

export interface Problem {
  model: ModelDefinition;
  derived: DerivedModel;
  kernels: Kernels;
  layout: Layout;
  data: Dataset;
  theta0: Float64Array;
  alpha: number;
  seed: number;
  options: Record<string, number>;
  conventions: Conventions;
  monitors: Monitor[];
}

export interface ProblemOptions {
  data?: Dataset;
  dims?: Record<string, number>;
  alpha?: number;
  seed?: number;
  theta0?: Float64Array;
  options?: Record<string, number>;
  monitors?: Monitor[];
  /** Train under this loss instead of the spec's (e.g. DPO on a softmax model). */
  loss?: LossChoice;
}

export const MAX_SEED = 2 ** 31 - 1;
export const MIN_ALPHA = 1e-300;

export const LOSS_CONVENTION = MSE_CONVENTION;

const derivedCache = new WeakMap<ModelDefinition, DerivedModel>();
export function derived(def: ModelDefinition): DerivedModel {
  let d = derivedCache.get(def);
  if (!d) {
    d = deriveModel(def.spec);
    derivedCache.set(def, d);
  }
  return d;
}

/** Generic initialisation from spec.init: each parameter is alpha·scale·draw. */
function specInit(def: ModelDefinition, layout: Layout, opts: InitOptions, rng: Rng): Float64Array {
  const th = new Float64Array(layout.H * layout.P);
  const init = def.spec.init ?? {};
  for (let i = 0; i < layout.H; i++) {
    for (const slot of layout.params) {
      const pi = init[slot.name] ?? { dist: 'normal', scale: 1 };
      const scale = opts.alpha * (pi.scale ?? 1);
      const base = i * layout.P + slot.offset;
      if (pi.dist === 'zero') continue;
      if (pi.dist === 'constant') for (let k = 0; k < slot.size; k++) th[base + k] = scale;
      else if (pi.dist === 'sphere') {
        const u = rng.unitVector(slot.size);
        for (let k = 0; k < slot.size; k++) th[base + k] = scale * u[k];
      } else if (pi.dist === 'normal') for (let k = 0; k < slot.size; k++) th[base + k] = scale * rng.normal();
      else throw new GradflowError(`spec: unknown init distribution '${String(pi.dist)}' for '${slot.name}' (use normal, sphere, constant or zero)`);
    }
  }
  return th;
}

/** A default dataset for specs without a generator: Gaussian inputs, a random teacher of the same model family's linear map. */
function defaultData(layout: Layout, rng: Rng, n: number): Dataset {
  const { dIn, c } = layout;
  const X = rng.normalArray(n * dIn);
  const T = rng.normalArray(dIn * c, 1 / Math.sqrt(dIn));
  const Y = new Float64Array(n * c);
  for (let j = 0; j < n; j++) for (let k = 0; k < c; k++) {
    let s = 0;
    for (let q = 0; q < dIn; q++) s += X[j * dIn + q] * T[q * c + k];
    Y[j * c + k] = s;
  }
  return { X, Y, n, dIn, c, source: `Gaussian inputs, linear teacher (n = ${n}, seed)` };
}

export function createProblem(chosen: ModelDefinition, opts: ProblemOptions = {}): Problem {
  const def = resolveVariant(chosen, opts.options ?? {});
  const alpha = opts.alpha ?? 1e-3;
  if (!Number.isFinite(alpha) || alpha <= 0) throw new GradflowError(`alpha must be a positive number (got ${opts.alpha}); it is the initial scale`);
  // below this alpha is subnormal: 1/alpha overflows and log(1/alpha), the time unit of every schedule, is inf
  if (alpha < MIN_ALPHA) throw new GradflowError(`alpha = ${alpha} is below ${MIN_ALPHA}, the smallest initial scale double precision carries with its logarithm and reciprocal`);
  const seed = opts.seed ?? 0;
  // seeds are 32-bit in the generator and the data stream uses seed + 1_000_003: larger ones would wrap onto other seeds
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new GradflowError(`seed must be an integer in [0, ${MAX_SEED}] (got ${seed})`);
  checkModelOptions(def, opts.options ?? {});
  const d = derived(def);
  const dims = { ...def.spec.dims, ...(opts.dims ?? {}) };
  // data decides the input width when the model's input is a single vector
  if (opts.data && d.inputs.length === 1 && d.inputs[0].shape.length === 1 && typeof d.inputs[0].shape[0] === 'string') {
    dims[d.inputs[0].shape[0]] = opts.data.dIn;
  }
  // …and the number of outputs when the output is a single named dimension not given explicitly
  const lossChoice = opts.loss ?? d.loss;
  const mult = targetMultiple(lossChoice.name);
  const outDim = def.spec.output.length === 1 ? def.spec.output[0] : undefined;
  if (opts.data && typeof outDim === 'string' && !(opts.dims && outDim in opts.dims) && outDim !== d.inputs[0]?.shape[0]) {
    if (opts.data.c % mult !== 0) throw new GradflowError(`data: loss '${lossChoice.name}' needs ${mult} target vectors per sample (chosen, rejected, reference logits), y has ${opts.data.c} columns`);
    dims[outDim] = opts.data.c / mult;
  }
  const kernels = compileModel(d, dims, lossChoice);
  const layout = kernels.layout;
  const rng = new Rng(seed);
  const extra = opts.options ?? {};
  let data = opts.data;
  if (!data) {
    const dataRng = new Rng(seed + 1_000_003);
    data = def.generateData ? def.generateData(layout.dims, dataRng, extra, lossChoice) : defaultData(layout, dataRng, 4 * layout.dIn + 16);
  }
  if (data.dIn !== layout.dIn) throw new GradflowError(`data: X has ${data.dIn} columns but model '${def.spec.name}' expects ${layout.dIn} input values per sample`);
  if (data.c !== kernels.targetWidth) {
    throw new GradflowError(mult === 1
      ? `data: y has ${data.c} column(s) but model '${def.spec.name}' has ${layout.c} output(s)`
      : `data: loss '${lossChoice.name}' needs ${kernels.targetWidth} target columns per sample (chosen one-hot, rejected one-hot, reference logits: 3 × ${layout.c}), y has ${data.c}`);
  }
  const initOpts: InitOptions = { alpha, seed, extra };
  const theta0 = opts.theta0 ?? (def.init ? def.init(layout.dims, layout.H, initOpts, rng, data) : specInit(def, layout, initOpts, rng));
  if (theta0.length !== layout.H * layout.P) throw new GradflowError(`initial state has ${theta0.length} entries, the model has ${layout.H * layout.P} parameters`);
  for (let q = 0; q < theta0.length; q++) if (!Number.isFinite(theta0[q])) throw new GradflowError(`initial state is not finite at alpha = ${alpha} (the model's initialisation overflows or underflows there; use a larger alpha)`);
  return {
    model: def,
    derived: d,
    kernels,
    layout,
    data,
    theta0,
    alpha,
    seed,
    options: extra,
    conventions: { loss: kernels.lossForm.convention, time: 'flow time', init: opts.theta0 ? explicitInit(theta0, layout.H, layout.P) : def.spec.initConvention ?? describeInit(def), alpha },
    monitors: opts.monitors ?? def.monitors?.(layout) ?? [],
  };
}

function describeInit(def: ModelDefinition): string {
  const init = def.spec.init ?? {};
  return Object.keys(def.spec.params).map((p) => {
    const pi = init[p] ?? { dist: 'normal', scale: 1 };
    const s = pi.scale ?? 1;
    if (pi.dist === 'zero') return `${p} = 0`;
    if (pi.dist === 'constant') return `${p} = ${s === 1 ? '' : `${s}·`}alpha`;
    if (pi.dist === 'sphere') return `${p} = ${s === 1 ? '' : `${s}·`}alpha·(unit vector)`;
    return `${p} ~ ${s === 1 ? '' : `${s}·`}alpha·N(0, 1)`;
  }).join(', ');
}

/**
 * The init label of a given θ(0) (--init, ProblemOptions.theta0): it is not the model's random
 * start at alpha — every output said "u = sqrt(2)·alpha, v = 0; alpha = 0.0001" for a start the
 * user wrote down — so the label gives its size and what alpha still means.
 */
function explicitInit(theta0: Float64Array, H: number, P: number): string {
  let lo = Infinity, hi = 0;
  for (let i = 0; i < H; i++) {
    let s = 0;
    for (let k = 0; k < P; k++) s += theta0[i * P + k] ** 2;
    const r = Math.sqrt(s);
    lo = Math.min(lo, r); hi = Math.max(hi, r);
  }
  const f = (x: number): string => String(Number(x.toPrecision(3)));
  return `explicit θ(0) (given, not drawn), per-neuron norms ‖θ_i(0)‖ from ${f(lo)} to ${f(hi)}; alpha plays no part in it (only in rescaled times such as t/log(1/alpha))`;
}

/** Loss L(θ) in the mean convention. */
export function lossOf(p: Problem, theta: Float64Array): number {
  return p.kernels.loss(theta, p.data.X, p.data.Y, p.data.n);
}

/** ∇L(θ) into out; returns L. */
export function gradientOf(p: Problem, theta: Float64Array, out: Float64Array): number {
  return p.kernels.lossGrad(theta, p.data.X, p.data.Y, p.data.n, out);
}

