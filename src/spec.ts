/**
 * A model is declared once, as data: parameters per neuron with shapes, inputs, the neuron
 * template f_i(x; θ_i) as an expression string, the number of neurons, the loss and the
 * initialisation. Built-in models (models/*.ts) and user spec files (JSON) share this type;
 * built-ins add TypeScript hooks (data generators, closed forms) through ModelDefinition.
 */
import type { Dim } from './symbolic/expr.ts';
import type { LossChoice, LossName } from './symbolic/losses.ts';
import type { Rng } from './util/rng.ts';
import type { Dataset } from './data.ts';
import type { Layout } from './compile/layout.ts';
import type { Monitor, Problem } from './problem.ts';

export type InitDist = 'normal' | 'constant' | 'zero' | 'sphere';

/** Parameter p of every neuron starts at alpha·scale·(draw); 'sphere' draws a unit vector. */
export interface ParamInit {
  dist: InitDist;
  scale?: number;
}

export interface ModelSpec {
  name: string;
  title?: string;
  description?: string;
  /** Default sizes of the symbolic dimensions (overridable with --dim d=20 or by the data). */
  dims: Record<string, number>;
  /** Per-neuron parameters in layout order: name → shape (dimension names or numbers). */
  params: Record<string, Dim[]>;
  /** Input symbols; one sample's row is their concatenation in this order. */
  inputs: Record<string, Dim[]>;
  /** Output shape: [] for scalar regression, ['c'] for vector outputs. */
  output: Dim[];
  /** Number of neurons H (a number or a dimension name). The model is Σ_i f_i. */
  neurons: Dim;
  /** The neuron template f_i(x; θ_i); 'i' is the neuron index. */
  template: string;
  /** The per-sample loss (src/symbolic/losses.ts): 'mse' (default), a softmax loss, or {name, epsilon, beta}. */
  loss?: LossName | LossChoice;
  /** Initialisation per parameter (used when the model gives no init hook). */
  init?: Record<string, ParamInit>;
  /** One line describing the initial-scale convention, printed with every result. */
  initConvention?: string;
}

export interface InitOptions {
  alpha: number;
  seed: number;
  /** Model-specific options (e.g. delta for the single neuron). */
  extra: Record<string, number>;
}

/** TypeScript hooks a built-in model adds to its spec. */
export interface ModelDefinition {
  spec: ModelSpec;
  /** Default dataset for `gradflow flow <model>` with no --data. */
  generateData?: (dims: Record<string, number>, rng: Rng, opts: Record<string, number>, loss?: LossChoice) => Dataset;
  /** Initial state θ(0) (flat, neuron-major). Falls back to spec.init. `data` lets a start depend on the data (e.g. aligned with Σ_yx's singular vectors). */
  init?: (dims: Record<string, number>, H: number, opts: InitOptions, rng: Rng, data?: Dataset) => Float64Array;
  /**
   * Equations a model documents beyond its derived flow (e.g. relu-deep's effective equations for
   * the cumulative parameters), printed by `derive` with the assumptions they rest on.
   */
  theory?: { label: string; text: string; latex: string }[];
  /** Conserved quantities already known for display by `derive` (laws are derived elsewhere). */
  knownLaws?: { text: string; latex: string }[];
  /** Extra option names this model accepts (e.g. 'delta'), with a one-line description. */
  options?: Record<string, string>;
  /** The values each option accepts (checked before any data or state is built; an option without one takes any finite number). */
  optionDomains?: Record<string, OptionDomain>;
  /** Closed-form solutions the `exact` solver can use. */
  exact?: ExactSolution[];
  /** Quantities tracked along every trajectory (e.g. δ = a² − ‖w‖²). */
  monitors?: (layout: Layout) => Monitor[];
  /**
   * AGF cost minimisation in closed form: minimise L over the neurons with mask[i] = 1 starting
   * from theta (dormant entries are 0) and return the fitted state. A neuron that must collapse
   * to the origin is returned with zero norm. Without it, src/solvers/agf.ts runs a masked flow.
   */
  agfCostMin?: (p: Problem, theta: Float64Array, mask: Uint8Array) => Float64Array;
  /**
   * κ > 2: the generic AGF engine's cost-minimisation settings for this model (its AgfOptions of
   * the same names), used when a caller sets none of them — the fits a model needs differ (the
   * modular network's degenerate valleys want its masked flow run long, with error control).
   */
  agfFit?: { fitRelax?: number; fitIter?: number; fitNewton?: number; fitRtol?: number };
  /** A caveat on comparing this model's jumps neuron by neuron, printed under sweep's jump table. */
  jumpMatchingNote?: string;
  /**
   * A model whose template depends on an option (relu's bias=0, relu-deep's depth): the
   * definition to use for these options. Applied once, by createProblem and by commands that
   * derive without a Problem; the returned definition has no variant of its own.
   */
  variant?: (opts: Record<string, number>) => ModelDefinition;
}

/** The definition a model's options select (itself when it has no variants). */
export function resolveVariant(def: ModelDefinition, opts: Record<string, number>): ModelDefinition {
  return def.variant ? def.variant(opts) : def;
}

/**
 * The values a model option accepts: a list of codes (e.g. 0 | 1 for a switch), or a range of
 * integers or reals; `above` is an exclusive lower bound (scale > 0), `min`/`max` inclusive.
 */
export type OptionDomain =
  | { readonly values: readonly number[] }
  | { readonly integer?: boolean; readonly min?: number; readonly max?: number; readonly above?: number };

export interface ExactSolution {
  name: string;
  description: string;
  /** null when the closed form applies to this problem; otherwise why not (shown to the user). */
  applies: (p: Problem) => string | null;
  /** θ(t) in flow time. */
  solve: (p: Problem) => (t: number) => Float64Array;
}
