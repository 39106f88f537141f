/**
 * A tiny language model for sequence force analysis (theory.md §9, the LLM-finetuning form of
 * Ren & Sutherland, ICLR 2025): responses y = (y_1 … y_L) over a vocabulary of V tokens, generated
 * token by token from a prompt x ∈ R^d,
 *
 *     log π(y | x) = Σ_t log softmax(z_t)[y_t],   z_t = Σ_i a_i h_i(χ_t),
 *     h_i(χ_t) = w_iᵀx + e_iᵀ s_t + q_iᵀ p_t      (the learned embedding of the context χ_t = (x, y_<t)),
 *
 * with s_t = Σ_{k<t} γ^{t−1−k} e_{y_k} an exponentially weighted bag of the previous tokens (γ =
 * --opt decay) and p_t the one-hot of the position t. The compiled network is the per-position map
 * χ_t ↦ z_t (a two-layer linear network, H embedding units); whole sequences are handled by
 * src/analysis/sequence-forces.ts, which stacks the L context rows of a response.
 *
 * Task (seeded): n prompts from C clusters (means ~ sep·N(0, I_d), unit-variance noise); each
 * cluster has a target response r_c drawn uniformly from V^L (the language a reference model is
 * fitted to by SFT), and each prompt a preference pair (y⁺, y⁻): off-policy (default) both drawn
 * uniformly from the responses other than r_c, independent of any model; --opt offpolicy=0 takes
 * y⁺ = r_c. As a ModelDefinition (train, derive, laws) the data are the per-token cross-entropy
 * rows (χ_t, e_{r_t}) of the target responses: SFT with the loss averaged over tokens.
 *
 * Initial-scale convention: a_i, w_i, v_i, q_i ~ alpha·N(0, 1) entrywise.
 */
import type { ModelDefinition } from '../src/spec.ts';
import type { Problem } from '../src/problem.ts';
import type { Dataset } from '../src/data.ts';
import { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';
import { CAPS } from '../src/util/limits.ts';
import { targetMultiple, type LossChoice } from '../src/symbolic/losses.ts';

/** Cap on V^L: the argmax response is found by enumerating every response. */
export const MAX_RESPONSES = 100_000;

export interface SequenceTask {
  V: number;
  L: number;
  d: number;
  n: number;
  /** Prefix weight γ of the bag of previous tokens. */
  decay: number;
  offPolicy: boolean;
  /** Prompts (n × d). */
  X: Float64Array;
  cluster: Int32Array;
  /** The SFT target response of each prompt (n × L): its cluster's r_c. */
  target: Int32Array;
  /** Preference pairs (n × L each). */
  chosen: Int32Array;
  rejected: Int32Array;
}

/** Width of one context row: prompt (d) | prefix bag (V) | position one-hot (L), the spec's input order. */
export const contextWidth = (t: Pick<SequenceTask, 'd' | 'V' | 'L'>): number => t.d + t.V + t.L;

/** Context row χ_t of a response whose first t tokens are `prefix` (teacher forcing: χ_t holds y_<t), written at out[at …]. */
export function writeContext(task: SequenceTask, j: number, prefix: ArrayLike<number>, t: number, out: Float64Array, at: number): void {
  const { d, V, decay } = task;
  for (let q = 0; q < d; q++) out[at + q] = task.X[j * d + q];
  for (let k = 0; k < t; k++) out[at + d + prefix[k]] += decay ** (t - 1 - k);
  out[at + d + V + t] = 1;
}

/** The L context rows χ_1 … χ_L of response y to prompt j. */
export function contextRows(task: SequenceTask, j: number, y: ArrayLike<number>): Float64Array {
  const w = contextWidth(task);
  const R = new Float64Array(task.L * w);
  for (let t = 0; t < task.L; t++) writeContext(task, j, y, t, R, t * w);
  return R;
}

function intOption(v: number | undefined, def: number, what: string, lo: number, hi: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < lo || x > hi) throw new GradflowError(`--opt ${what} must be an integer in [${lo}, ${hi}] (got ${x})`);
  return x;
}

function checkSizes(V: number, L: number): void {
  if (!Number.isInteger(V) || V < 2) throw new GradflowError(`tiny-lm needs a vocabulary of at least 2 tokens (V = ${V})`);
  if (!Number.isInteger(L) || L < 1) throw new GradflowError(`tiny-lm: the response length L must be a positive integer (got ${L})`);
  if (V ** L < 3) throw new GradflowError(`tiny-lm: V^L = ${V ** L} responses; preference pairs need at least 3 (the target and two others)`);
  if (V ** L > MAX_RESPONSES) throw new GradflowError(`tiny-lm: V^L = ${V}^${L} responses is past the cap of ${MAX_RESPONSES} (the argmax response is found by enumeration); lower V or L (--dim V=N, --dim L=N)`);
}

function randomResponse(rng: Rng, V: number, L: number): Int32Array {
  return Int32Array.from({ length: L }, () => Math.floor(rng.uniform() * V));
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
};

/** The seeded task: prompts, cluster target responses, preference pairs. */
export function sequenceTask(dims: Record<string, number>, rng: Rng, opts: Record<string, number>): SequenceTask {
  const V = dims.V, L = dims.L, d = dims.d;
  checkSizes(V, L);
  const n = intOption(opts.n, 16, 'n', 1, CAPS.samples.value);
  const C = intOption(opts.clusters, 4, 'clusters', 1, 1000);
  const sep = opts.sep ?? 2;
  const decay = opts.decay ?? 0.5;
  if (!(sep >= 0 && Number.isFinite(sep))) throw new GradflowError(`--opt sep must be a non-negative number (got ${sep})`);
  if (!(decay >= 0 && decay <= 1)) throw new GradflowError(`--opt decay must be in [0, 1] (got ${decay})`);
  const offPolicy = (opts.offpolicy ?? 1) === 1;
  const means = Array.from({ length: C }, () => Array.from({ length: d }, () => sep * rng.normal()));
  const responses = Array.from({ length: C }, () => randomResponse(rng, V, L));
  const X = new Float64Array(n * d), cluster = new Int32Array(n);
  const target = new Int32Array(n * L), chosen = new Int32Array(n * L), rejected = new Int32Array(n * L);
  for (let j = 0; j < n; j++) {
    const c = j % C;
    cluster[j] = c;
    for (let q = 0; q < d; q++) X[j * d + q] = means[c][q] + rng.normal();
    target.set(responses[c], j * L);
    // rejection sampling: V^L ≥ 3 guarantees distinct draws exist
    let yp: Int32Array;
    do yp = offPolicy ? randomResponse(rng, V, L) : responses[c]; while (offPolicy && same(yp, responses[c]));
    let ym: Int32Array;
    do ym = randomResponse(rng, V, L); while (same(ym, yp) || (offPolicy && same(ym, responses[c])));
    chosen.set(yp, j * L);
    rejected.set(ym, j * L);
  }
  return { V, L, d, n, decay, offPolicy, X, cluster, target, chosen, rejected };
}

/** Per-token cross-entropy rows (χ_t, e_{y_t}) of every prompt's response in `responses`. */
export function tokenRows(task: SequenceTask, responses: Int32Array): { X: Float64Array; Y: Float64Array; n: number } {
  const { n, L, V } = task, w = contextWidth(task);
  const X = new Float64Array(n * L * w), Y = new Float64Array(n * L * V);
  for (let j = 0; j < n; j++) {
    const y = responses.subarray(j * L, (j + 1) * L);
    X.set(contextRows(task, j, y), j * L * w);
    for (let t = 0; t < L; t++) Y[(j * L + t) * V + y[t]] = 1;
  }
  return { X, Y, n: n * L };
}

/** The data stream a Problem of seed s draws from (createProblem's convention). */
export const dataStream = (seed: number): Rng => new Rng(seed + 1_000_003);

function generate(dims: Record<string, number>, rng: Rng, opts: Record<string, number>, loss?: LossChoice): Dataset {
  if (loss !== undefined && targetMultiple(loss.name) === 3) {
    throw new GradflowError(`tiny-lm: preference losses act on whole responses (log π(y|x) sums over the L tokens); use gradflow forces tiny-lm --loss ${loss.name} or --preference, not a per-token '${loss.name}'`);
  }
  const task = sequenceTask(dims, rng, opts);
  const rows = tokenRows(task, task.target);
  return {
    X: rows.X, Y: rows.Y, n: rows.n, dIn: contextWidth(task), c: task.V,
    source: `tiny-lm SFT tokens: ${task.n} prompts (d = ${task.d}, ${opts.clusters ?? 4} clusters) × L = ${task.L} positions of their cluster's target response, V = ${task.V}, prefix decay ${task.decay}`,
  };
}

export const tinyLm: ModelDefinition = {
  spec: {
    name: 'tiny-lm',
    title: 'Tiny language model z_t = Σ_i a_i (w_iᵀx + v_iᵀs_t + q_iᵀp_t), π(y|x) = Π_t softmax(z_t)[y_t]',
    description: 'A softmax over V tokens from a learned H-unit embedding of the context (prompt, previous tokens, position): the sequence model of SFT/DPO force analysis.',
    dims: { V: 5, L: 3, d: 3, H: 8 },
    params: { a: ['V'], w: ['d'], v: ['V'], q: ['L'] },
    inputs: { x: ['d'], prev: ['V'], pos: ['L'] },
    output: ['V'],
    neurons: 'H',
    template: 'a * (dot(w, x) + dot(v, prev) + dot(q, pos))',
    loss: 'cross-entropy',
    init: { a: { dist: 'normal', scale: 1 }, w: { dist: 'normal', scale: 1 }, v: { dist: 'normal', scale: 1 }, q: { dist: 'normal', scale: 1 } },
    initConvention: 'a_i, w_i, v_i, q_i ~ alpha·N(0, 1) entrywise',
  },
  options: {
    n: 'number of prompts (default 16)',
    clusters: 'number of prompt clusters, each with its own target response (default 4)',
    sep: 'scale of the cluster means (default 2; noise has unit variance)',
    decay: 'weight γ of the bag of previous tokens s_t = Σ_{k<t} γ^{t−1−k} e_{y_k} (default 0.5)',
    offpolicy: 'preference pairs: 1 = chosen and rejected both drawn uniformly from the responses other than the target (default), 0 = chosen is the target',
  },
  optionDomains: {
    n: { integer: true, min: 1, max: CAPS.samples.value },
    clusters: { integer: true, min: 1, max: 1000 },
    sep: { min: 0 },
    decay: { min: 0, max: 1 },
    offpolicy: { values: [0, 1] },
  },
  generateData: generate,
  knownLaws: [{ text: '1ᵀa_i per unit (logit translation: 1ᵀG_t = 0 at every position), and a_i-vs-(w_i, v_i, q_i) balance', latex: '\\mathbf{1}^\\top a_i' }],
};

/**
 * The sequence task behind a tiny-lm Problem: replayed from its seed and options (the same draw
 * generateData made), checked against the Problem's token rows so other data cannot slip in.
 */
export function taskOf(p: Problem): SequenceTask {
  if (p.model.spec.name !== 'tiny-lm') throw new GradflowError(`sequence force analysis needs the tiny-lm model (got '${p.model.spec.name}')`);
  const task = sequenceTask(p.layout.dims, dataStream(p.seed), p.options);
  const rows = tokenRows(task, task.target);
  const same = rows.n === p.data.n && rows.X.length === p.data.X.length && rows.X.every((v, k) => v === p.data.X[k]);
  if (!same) throw new GradflowError('sequence force analysis needs the generated tiny-lm task (responses are built from prompts and token prefixes; --data cannot supply them)');
  return task;
}
