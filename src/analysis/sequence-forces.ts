/**
 * Force analysis of a sequence model (theory.md §9, the LLM-finetuning form of Ren & Sutherland,
 * ICLR 2025). A response y = (y_1 … y_M) to prompt x has log π(y | x) = Σ_m log softmax(z_m)[y_m],
 * z_m = h_θ(χ_m) with χ_m = (x, y_<m). One GD step of size η on the loss of update example u
 * (whose loss reaches the logits of L context rows χ_{u,1} … χ_{u,L}: the L tokens of an SFT
 * response, or the 2L tokens of a DPO pair) changes every position's log-probabilities by
 *
 *     [Δ log π(· | χ_o)]_m = −η Σ_l A_m K_{m,l} G_l + O(η²),
 *     A_m = I − 1π_mᵀ (V × V; A is block-diagonal over positions),
 *     K_{m,l} = J(χ_{o,m}) J(χ_{u,l})ᵀ (V × V blocks of the (M·V) × (L·V) empirical NTK),
 *     G_l = ∂ℓ_u / ∂z_{u,l}.
 *
 * Derivation: the step is θ' = θ − η Σ_l J_lᵀ G_l; z_m changes by J_m(θ' − θ) + O(η²) and log
 * softmax by A_m Δz_m. The observed response's change is Δ log π(y_o | x_o) = Σ_m [·]_{m, y_{o,m}}
 * (its contexts are fixed by y_o). For DPO, ℓ = softplus(−u), u = β[(log π(y⁺) − log π_ref(y⁺)) −
 * (log π(y⁻) − log π_ref(y⁻))], so with c = βσ(−u): G = c(π_l − e_{y⁺_l}) at the chosen tokens and
 * −c(π_l − e_{y⁻_l}) at the rejected ones. For L = 1 both halves sit on the same context, the π
 * terms cancel and G = c(e_{y⁻} − e_{y⁺}): single-token DPO has no squeezing term; only longer
 * responses (different prefixes χ⁺_l ≠ χ⁻_l) leave it in.
 *
 * Everything comes from the compiled per-position network: logits from the forward kernel, J
 * from the vector-Jacobian kernel, gradients of whole-sequence losses as Σ_rows J_rᵀ G_r by the
 * same kernel. Losses are means over pairs (SFT: −log π(y⁺|x), the sum over its tokens).
 */
import { DivergenceError, GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { contextRows, contextWidth, writeContext, type SequenceTask } from '../../models/tiny-lm.ts';
import { aMatrix, jacobian, logLogSlope, logSoftmax, ntk } from './forces.ts';

export type SequenceLossName = 'sft' | 'dpo';

export interface SequenceLoss {
  name: SequenceLossName;
  /** DPO inverse temperature. */
  beta: number;
  /** DPO's frozen reference: log π_ref(y⁺ | x_j) and log π_ref(y⁻ | x_j) per prompt. */
  reference?: { chosen: Float64Array; rejected: Float64Array };
}

export function sequenceLossConvention(l: SequenceLoss): string {
  return l.name === 'sft'
    ? 'SFT −log π(y⁺|x) = −Σ_t log π(y⁺_t | x, y⁺_<t) per prompt, in nats'
    : `DPO −log σ(β[log π(y⁺|x)/π_ref(y⁺|x) − log π(y⁻|x)/π_ref(y⁻|x)]), β = ${l.beta}, sequence log-probabilities (sums over tokens), frozen reference, per pair, in nats`;
}

/** The context rows of the responses of some prompts, stacked: chosen[0], …, chosen[m−1], then (if given) rejected. */
export interface PairBatch {
  task: SequenceTask;
  prompts: number[];
  /** 1: one response per prompt (SFT, reference fits); 2: chosen then rejected (DPO). */
  parts: 1 | 2;
  rows: Float64Array;
  tokens: Int32Array;
  nRows: number;
}

function responseOf(a: Int32Array, j: number, L: number): Int32Array {
  return a.subarray(j * L, (j + 1) * L);
}

export function pairBatch(task: SequenceTask, prompts: number[], chosen: Int32Array, rejected: Int32Array | null): PairBatch {
  const { L } = task, w = contextWidth(task);
  for (const j of prompts) if (!Number.isInteger(j) || j < 0 || j >= task.n) throw new GradflowError(`prompt ${j} is out of range: the task has ${task.n} prompts (0 … ${task.n - 1})`);
  const parts = rejected ? 2 : 1;
  const nRows = parts * prompts.length * L;
  const rows = new Float64Array(nRows * w), tokens = new Int32Array(nRows);
  const sets = rejected ? [chosen, rejected] : [chosen];
  let r = 0;
  for (const set of sets) {
    for (const j of prompts) {
      const y = responseOf(set, j, L);
      rows.set(contextRows(task, j, y), r * w);
      tokens.set(y, r);
      r += L;
    }
  }
  return { task, prompts, parts, rows, tokens, nRows };
}

/** log softmax of the logits of every row (nRows × V). */
export function rowLogProbs(p: Problem, theta: Float64Array, rows: Float64Array, nRows: number): Float64Array {
  const V = p.layout.c;
  const Z = new Float64Array(nRows * V);
  p.kernels.forward(theta, rows, nRows, Z);
  for (let r = 0; r < nRows; r++) Z.set(logSoftmax(Z.subarray(r * V, (r + 1) * V)), r * V);
  return Z;
}

/** Sequence log-probabilities log π(y | x) of each stacked response of a batch (parts · m values). */
export function sequenceLogProbs(lp: Float64Array, b: PairBatch, V: number): Float64Array {
  const L = b.task.L, nSeq = b.nRows / L;
  const out = new Float64Array(nSeq);
  for (let s = 0; s < nSeq; s++) for (let t = 0; t < L; t++) out[s] += lp[(s * L + t) * V + b.tokens[s * L + t]];
  return out;
}

const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export interface SequenceObjective {
  loss: number;
  /** ∇_θ of the loss (mean over the batch's prompts). */
  grad: Float64Array;
  /** G_r = ∂loss/∂z_r for every row of the batch (nRows × V). */
  G: Float64Array;
  /** log π(y | x) of every stacked response. */
  logProbs: Float64Array;
}

/** The sequence loss on a batch, its gradient and every row's G (theory above). */
export function sequenceObjective(p: Problem, theta: Float64Array, b: PairBatch, loss: SequenceLoss): SequenceObjective {
  const V = p.layout.c, L = b.task.L, m = b.prompts.length;
  if (loss.name === 'dpo' && (b.parts !== 2 || !loss.reference)) throw new GradflowError('DPO needs preference pairs (chosen and rejected) and a frozen reference');
  const lp = rowLogProbs(p, theta, b.rows, b.nRows);
  const seq = sequenceLogProbs(lp, b, V);
  const G = new Float64Array(b.nRows * V);
  // row r of response s gets weight·(π_r − e_{y_r})
  const put = (s: number, weight: number): void => {
    for (let t = 0; t < L; t++) {
      const r = s * L + t;
      for (let k = 0; k < V; k++) G[r * V + k] = weight * Math.exp(lp[r * V + k]);
      G[r * V + b.tokens[r]] -= weight;
    }
  };
  let total = 0;
  b.prompts.forEach((j, i) => {
    if (loss.name === 'sft') {
      total -= seq[i];
      put(i, 1 / m);
      return;
    }
    const ref = loss.reference!;
    const u = loss.beta * ((seq[i] - ref.chosen[j]) - (seq[m + i] - ref.rejected[j]));
    total += softplus(-u);
    const c = loss.beta * sigmoid(-u);
    put(i, c / m);
    put(m + i, -c / m);
  });
  const grad = new Float64Array(theta.length);
  p.kernels.vjpMean(theta, b.rows, G, b.nRows, grad);
  for (let q = 0; q < grad.length; q++) grad[q] *= b.nRows;
  return { loss: total / m, grad, G, logProbs: seq };
}

/** Frozen reference log-probabilities of every prompt's chosen and rejected response at θ_ref. */
export function referenceOf(p: Problem, task: SequenceTask, thetaRef: Float64Array): { chosen: Float64Array; rejected: Float64Array } {
  const all = Array.from({ length: task.n }, (_, j) => j);
  const b = pairBatch(task, all, task.chosen, task.rejected);
  const seq = sequenceLogProbs(rowLogProbs(p, thetaRef, b.rows, b.nRows), b, p.layout.c);
  return { chosen: seq.slice(0, task.n), rejected: seq.slice(task.n) };
}

export const MAX_STEPS = 1_000_000;

/** Full-batch GD on a sequence loss; visit(k, θ) at k = 0, every, …, steps. */
export function sequenceDescent(p: Problem, b: PairBatch, loss: SequenceLoss, theta0: Float64Array, lr: number, steps: number, every: number, visit: (k: number, th: Float64Array) => void): Float64Array {
  if (!(lr > 0 && Number.isFinite(lr))) throw new GradflowError(`the learning rate must be positive (got ${lr})`);
  if (!Number.isInteger(steps) || steps < 0 || steps > MAX_STEPS) throw new GradflowError(`steps must be an integer in [0, ${MAX_STEPS}] (got ${steps})`);
  if (!Number.isInteger(every) || every < 1) throw new GradflowError(`the recording interval must be a positive integer (got ${every})`);
  const th = Float64Array.from(theta0);
  for (let k = 0; ; k++) {
    if (k % every === 0 || k === steps) visit(k, th);
    if (k === steps) break;
    const o = sequenceObjective(p, th, b, loss);
    if (!Number.isFinite(o.loss)) throw new DivergenceError(`sequence descent diverged at step ${k} (loss = ${o.loss}); lower the learning rate (--lr, now ${lr})`);
    for (let q = 0; q < th.length; q++) th[q] -= lr * o.grad[q];
  }
  return th;
}

/** The reference model: θ after `steps` GD steps of sequence SFT on every prompt's target response. */
export function fitReference(p: Problem, task: SequenceTask, theta0: Float64Array, lr: number, steps: number): Float64Array {
  const b = pairBatch(task, Array.from({ length: task.n }, (_, j) => j), task.target, null);
  return sequenceDescent(p, b, { name: 'sft', beta: 0 }, theta0, lr, steps, Math.max(1, steps), () => undefined);
}

/**
 * The most likely response of each prompt, by enumerating all V^L responses through the prefix
 * tree (one forward row per prefix), with its log-probability.
 */
export function argmaxResponses(p: Problem, task: SequenceTask, theta: Float64Array): { responses: Int32Array; logProb: Float64Array } {
  const { V, L, n } = task, w = contextWidth(task);
  const responses = new Int32Array(n * L), logProb = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // prefixes of depth t in lexicographic order: prefix index P ↦ tokens by base-V digits
    let scores = new Float64Array([0]);
    for (let t = 0; t < L; t++) {
      const nP = scores.length;
      const rows = new Float64Array(nP * w);
      const prefix = new Int32Array(t);
      for (let P = 0; P < nP; P++) {
        for (let k = t - 1, rest = P; k >= 0; k--, rest = Math.floor(rest / V)) prefix[k] = rest % V;
        writeContext(task, j, prefix, t, rows, P * w);
      }
      const lp = rowLogProbs(p, theta, rows, nP);
      const next = new Float64Array(nP * V);
      for (let P = 0; P < nP; P++) for (let k = 0; k < V; k++) next[P * V + k] = scores[P] + lp[P * V + k];
      scores = next;
    }
    let best = 0;
    for (let s = 1; s < scores.length; s++) if (scores[s] > scores[best]) best = s;
    for (let k = L - 1, rest = best; k >= 0; k--, rest = Math.floor(rest / V)) responses[j * L + k] = rest % V;
    logProb[j] = scores[best];
  }
  return { responses, logProb };
}

// ------------------------------------------------------------ the sequence A·K·G decomposition

export interface SequenceForceTerms {
  prompt: number;
  /** The observed response y_o (M = L tokens). */
  response: Int32Array;
  /** The update pair u and the loss whose step is analysed. */
  update: number;
  loss: SequenceLossName;
  eta: number;
  V: number;
  M: number;
  /** Number of update rows: L (SFT) or 2L (DPO: chosen then rejected). */
  rowsU: number;
  /** π at the observed positions (M × V). */
  pi: Float64Array;
  /** A_m = I − 1π_mᵀ, one V × V block per observed position. */
  A: Float64Array[];
  /** K_{m,l} blocks as one (M·V) × (rowsU·V) row-major matrix. */
  K: Float64Array;
  /** G_l of the update rows (rowsU × V). */
  G: Float64Array;
  /** −η Σ_l A_m K_{m,l} G_l (M × V) and the measured change of log π at every observed position. */
  predicted: Float64Array;
  actual: Float64Array;
  /** Δ log π(y_o | x_o): the sum over positions of the entries at y_{o,m}. */
  predictedSequence: number;
  actualSequence: number;
  norms: { A: number; K: number; G: number };
  /** ‖actual − predicted‖₂ over all M·V entries. */
  error: number;
}

const frob = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * a[k];
  return Math.sqrt(s);
};

/** The decomposition of one GD step on pair u's loss (alone, no 1/n), observed on response y of prompt o. */
export function sequenceForceTerms(p: Problem, task: SequenceTask, theta: Float64Array, o: number, y: ArrayLike<number>, u: number, loss: SequenceLoss, eta: number): SequenceForceTerms {
  if (!(eta > 0 && Number.isFinite(eta))) throw new GradflowError(`eta must be a positive number (got ${eta})`);
  if (!Number.isInteger(o) || o < 0 || o >= task.n) throw new GradflowError(`observed prompt ${o} is out of range: the task has ${task.n} prompts (0 … ${task.n - 1})`);
  const V = p.layout.c, M = task.L, w = contextWidth(task);
  const response = Int32Array.from(y);
  if (response.length !== M || response.some((t) => !Number.isInteger(t) || t < 0 || t >= V)) throw new GradflowError(`the observed response must be ${M} tokens in 0 … ${V - 1}`);
  const obsRows = contextRows(task, o, response);
  const b = pairBatch(task, [u], task.chosen, loss.name === 'dpo' ? task.rejected : null);
  const obj = sequenceObjective(p, theta, b, loss);
  const before = rowLogProbs(p, theta, obsRows, M);
  const pi = before.map(Math.exp);
  const A = Array.from({ length: M }, (_, m) => aMatrix(pi.subarray(m * V, (m + 1) * V)));
  const Jo = Array.from({ length: M }, (_, m) => jacobian(p, theta, obsRows.subarray(m * w, (m + 1) * w)));
  const Ju = Array.from({ length: b.nRows }, (_, l) => jacobian(p, theta, b.rows.subarray(l * w, (l + 1) * w)));
  const KW = b.nRows * V;
  const K = new Float64Array(M * V * KW);
  const predicted = new Float64Array(M * V);
  for (let m = 0; m < M; m++) {
    const KG = new Float64Array(V);
    for (let l = 0; l < b.nRows; l++) {
      const blk = ntk(Jo[m], Ju[l], V);
      for (let i = 0; i < V; i++) for (let k = 0; k < V; k++) {
        K[(m * V + i) * KW + l * V + k] = blk[i * V + k];
        KG[i] += blk[i * V + k] * obj.G[l * V + k];
      }
    }
    for (let i = 0; i < V; i++) {
      let s = 0;
      for (let k = 0; k < V; k++) s += A[m][i * V + k] * KG[k];
      predicted[m * V + i] = -eta * s;
    }
  }
  const next = theta.map((v, q) => v - eta * obj.grad[q]);
  const after = rowLogProbs(p, next, obsRows, M);
  const actual = after.map((v, k) => v - before[k]);
  let predictedSequence = 0, actualSequence = 0;
  for (let m = 0; m < M; m++) { predictedSequence += predicted[m * V + response[m]]; actualSequence += actual[m * V + response[m]]; }
  const Aall = new Float64Array(M * V * V);
  A.forEach((blk, m) => Aall.set(blk, m * V * V));
  return {
    prompt: o, response, update: u, loss: loss.name, eta, V, M, rowsU: b.nRows, pi, A, K, G: obj.G, predicted, actual,
    predictedSequence, actualSequence, norms: { A: frob(Aall), K: frob(K), G: frob(obj.G) },
    error: frob(actual.map((v, k) => v - predicted[k])),
  };
}

export interface SequenceEtaSweep { etas: number[]; errors: number[]; slope: number }

/** The first-order error over η log-spaced in [lo, hi] (slope 2 when −ηAKG is exact to first order). */
export function sequenceEtaSweep(p: Problem, task: SequenceTask, theta: Float64Array, o: number, y: ArrayLike<number>, u: number, loss: SequenceLoss, lo = 1e-4, hi = 1e-1, points = 7): SequenceEtaSweep {
  const etas = Array.from({ length: points }, (_, k) => lo * (hi / lo) ** (k / (points - 1)));
  const errors = etas.map((eta) => sequenceForceTerms(p, task, theta, o, y, u, loss, eta).error);
  return { etas, errors, slope: logLogSlope(etas, errors) };
}

// ------------------------------------------------------------ preference dynamics

export interface SequencePoint {
  step: number;
  /** Means over prompts of π(y⁺|x), π(y⁻|x), π(y*|x) (y* = the starting model's most likely response) and max_y π(y|x) (the current argmax). */
  chosen: number;
  rejected: number;
  argmax: number;
  peak: number;
  /** The same as means of log π. */
  logChosen: number;
  logRejected: number;
  logArgmax: number;
  logPeak: number;
  loss: number;
}

/** Per-prompt log π(y⁺|x), log π(y⁻|x), log π(y*|x), max_y log π(y|x) at one recorded step. */
export interface PromptLogProbs { chosen: Float64Array; rejected: Float64Array; argmax: Float64Array; peak: Float64Array }

export interface SequencePreferenceRun {
  loss: SequenceLossName;
  points: SequencePoint[];
  /** y* per prompt (n × L). */
  argmax: Int32Array;
  /** Fraction of prompts whose most likely response at the end is still y*. */
  argmaxKept: number;
  /** Per-prompt values at the first and the last recorded step. */
  start: PromptLogProbs;
  end: PromptLogProbs;
  /** θ after the last step. */
  theta: Float64Array;
}

/**
 * GD on the pairs under SFT (on y⁺) or DPO from θ0, recording π(y⁺), π(y⁻), π(y*) and the current
 * argmax's probability every `every` steps (the argmax by enumeration of all V^L responses).
 */
export function sequencePreferenceRun(p: Problem, task: SequenceTask, theta0: Float64Array, loss: SequenceLoss, lr: number, steps: number, every: number): SequencePreferenceRun {
  const all = Array.from({ length: task.n }, (_, j) => j);
  const train = pairBatch(task, all, task.chosen, loss.name === 'dpo' ? task.rejected : null);
  const star = argmaxResponses(p, task, theta0).responses;
  const watch = pairBatch(task, all, task.chosen, task.rejected);
  const starBatch = pairBatch(task, all, star, null);
  const V = p.layout.c, n = task.n;
  const points: SequencePoint[] = [];
  const snaps: PromptLogProbs[] = [];
  const end = sequenceDescent(p, train, loss, theta0, lr, steps, every, (k, th) => {
    const pr = sequenceLogProbs(rowLogProbs(p, th, watch.rows, watch.nRows), watch, V);
    const snap: PromptLogProbs = {
      chosen: pr.slice(0, n), rejected: pr.slice(n),
      argmax: sequenceLogProbs(rowLogProbs(p, th, starBatch.rows, starBatch.nRows), starBatch, V),
      peak: argmaxResponses(p, task, th).logProb,
    };
    const mean = (a: ArrayLike<number>, f: (v: number) => number): number => { let s = 0; for (let j = 0; j < n; j++) s += f(a[j]); return s / n; };
    snaps.push(snap);
    points.push({
      step: k,
      chosen: mean(snap.chosen, Math.exp), rejected: mean(snap.rejected, Math.exp), argmax: mean(snap.argmax, Math.exp), peak: mean(snap.peak, Math.exp),
      logChosen: mean(snap.chosen, (v) => v), logRejected: mean(snap.rejected, (v) => v), logArgmax: mean(snap.argmax, (v) => v), logPeak: mean(snap.peak, (v) => v),
      loss: sequenceObjective(p, th, train, loss).loss,
    });
  });
  const now = argmaxResponses(p, task, end).responses;
  let kept = 0;
  for (let j = 0; j < n; j++) if (now.subarray(j * task.L, (j + 1) * task.L).every((t, k) => t === star[j * task.L + k])) kept++;
  return { loss: loss.name, points, argmax: star, argmaxKept: kept / n, start: snaps[0], end: snaps[snaps.length - 1], theta: end };
}

export interface SequenceForceSplit {
  /** First-order Δ log π(y|x) of one full-batch step of size η, mean over prompts, from G's chosen-token rows and its rejected-token rows. */
  chosen: { positive: number; negative: number };
  rejected: { positive: number; negative: number };
  argmax: { positive: number; negative: number };
}

/**
 * Which part of the loss drives each response: the full-batch step's parameter change splits as
 * −η(g⁺ + g⁻) with g± = Σ_{rows of y±} J_rᵀ G_r, and Σ_u K_{o,u} G_u = J_o g, so each response's
 * first-order change splits as Σ_m [−η A_m J_m g±]_{y_m}.
 */
export function sequenceForceSplit(p: Problem, task: SequenceTask, theta: Float64Array, loss: SequenceLoss, eta: number, argmax: Int32Array): SequenceForceSplit {
  const all = Array.from({ length: task.n }, (_, j) => j);
  const b = pairBatch(task, all, task.chosen, loss.name === 'dpo' ? task.rejected : null);
  const obj = sequenceObjective(p, theta, b, loss);
  const V = p.layout.c, L = task.L, n = task.n, w = contextWidth(task), half = n * L;
  const halfGrad = (from: number, to: number): Float64Array => {
    const g = new Float64Array(theta.length);
    if (from >= to) return g;
    p.kernels.vjpMean(theta, b.rows.subarray(from * w, to * w), obj.G.subarray(from * V, to * V), to - from, g);
    return g.map((v) => v * (to - from));
  };
  const gPos = halfGrad(0, half), gNeg = halfGrad(half, b.nRows);
  const change = (resp: Int32Array, g: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < n; j++) {
      const y = responseOf(resp, j, L);
      const rows = contextRows(task, j, y);
      const pi = rowLogProbs(p, theta, rows, L).map(Math.exp);
      for (let m = 0; m < L; m++) {
        const J = jacobian(p, theta, rows.subarray(m * w, (m + 1) * w));
        const D = theta.length;
        const dz = new Float64Array(V);
        for (let k = 0; k < V; k++) { let t = 0; for (let q = 0; q < D; q++) t += J[k * D + q] * g[q]; dz[k] = -eta * t; }
        // [A_m dz]_{y_m} = dz_{y_m} − π_mᵀ dz
        let pd = 0;
        for (let k = 0; k < V; k++) pd += pi[m * V + k] * dz[k];
        s += dz[y[m]] - pd;
      }
    }
    return s / n;
  };
  const split = (resp: Int32Array): { positive: number; negative: number } => ({ positive: change(resp, gPos), negative: change(resp, gNeg) });
  return { chosen: split(task.chosen), rejected: split(task.rejected), argmax: split(argmax) };
}

export interface SequenceInfluence {
  prompt: number;
  response: Int32Array;
  /** byPair[u] = −(η/n) Σ_m [A_m Σ_l K_{m,l} G_{u,l}]_{y_m}: how pair u's loss moves log π(y | x_o) in one full-batch step. */
  byPair: number[];
  /** Σ_u byPair: the first-order change under the full-batch step. */
  predicted: number;
  /** Δ log π(y | x_o) measured after θ ← θ − η ∇L (L the mean over all pairs). */
  actual: number;
}

/**
 * Which training pairs push response y of prompt o up or down: per pair the first-order change
 * through its own gradient g_u = Σ_l J_lᵀ G_l (Σ_l K_{m,l} G_l = J_m g_u), then the real full-batch step.
 */
export function sequenceInfluence(p: Problem, task: SequenceTask, theta: Float64Array, o: number, y: ArrayLike<number>, loss: SequenceLoss, eta: number): SequenceInfluence {
  if (!(eta > 0 && Number.isFinite(eta))) throw new GradflowError(`eta must be a positive number (got ${eta})`);
  const V = p.layout.c, L = task.L, n = task.n, w = contextWidth(task), D = theta.length;
  const response = Int32Array.from(y);
  const rows = contextRows(task, o, response);
  const before = rowLogProbs(p, theta, rows, L);
  // cotangent of log π(y|x) at position m: row y_m of A_m, e_{y_m} − π_m
  const cot = Array.from({ length: L }, (_, m) => Float64Array.from({ length: V }, (_, k) => (k === response[m] ? 1 : 0) - Math.exp(before[m * V + k])));
  const grad = new Float64Array(D);
  for (let m = 0; m < L; m++) {
    const gm = new Float64Array(D);
    p.kernels.vjpMean(theta, rows.subarray(m * w, (m + 1) * w), cot[m], 1, gm);
    for (let q = 0; q < D; q++) grad[q] += gm[q];
  }
  const rej = loss.name === 'dpo' ? task.rejected : null;
  const byPair = Array.from({ length: n }, (_, u) => {
    const g = sequenceObjective(p, theta, pairBatch(task, [u], task.chosen, rej), loss).grad;
    let s = 0;
    for (let q = 0; q < D; q++) s += grad[q] * g[q];
    return (-eta / n) * s;
  });
  const full = sequenceObjective(p, theta, pairBatch(task, Array.from({ length: n }, (_, j) => j), task.chosen, rej), loss).grad;
  const after = rowLogProbs(p, theta.map((v, q) => v - eta * full[q]), rows, L);
  let actual = 0;
  for (let m = 0; m < L; m++) actual += after[m * V + response[m]] - before[m * V + response[m]];
  return { prompt: o, response, byPair, predicted: byPair.reduce((a, b) => a + b, 0), actual };
}
