/**
 * Learning paths of softmax models (theory.md §9): π(x_j) over gradient-descent training for every
 * example, summarised per group (clean vs mislabelled), and the preference dynamics of SFT vs DPO:
 * π(y⁺), π(y⁻) and the argmax over training with the A·K·G force of each part of DPO's G.
 * Time unit: GD steps of size lr on the mean loss (flow time t = k·lr).
 */
import { GradflowError, DivergenceError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { aMatrix, jacobian, logits, ntk, softmaxOf } from './forces.ts';

export const MAX_STEPS = 1_000_000;

function checkRun(lr: number, steps: number, every: number): void {
  if (!(lr > 0 && Number.isFinite(lr))) throw new GradflowError(`the learning rate must be positive (got ${lr})`);
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) throw new GradflowError(`steps must be an integer in [1, ${MAX_STEPS}] (got ${steps})`);
  if (!Number.isInteger(every) || every < 1) throw new GradflowError(`the recording interval must be a positive integer (got ${every})`);
}

/** Plain GD on the Problem's loss; calls visit(k, θ) at k = 0, every, 2·every, …, steps. */
export function descend(p: Problem, theta0: Float64Array, lr: number, steps: number, every: number, visit: (k: number, th: Float64Array) => void): Float64Array {
  checkRun(lr, steps, every);
  const th = Float64Array.from(theta0);
  const g = new Float64Array(th.length);
  for (let k = 0; ; k++) {
    if (k % every === 0 || k === steps) visit(k, th);
    if (k === steps) break;
    const L = p.kernels.lossGrad(th, p.data.X, p.data.Y, p.data.n, g);
    if (!Number.isFinite(L)) throw new DivergenceError(`descent diverged at step ${k} (loss = ${L}); lower the learning rate (--lr, now ${lr})`);
    for (let q = 0; q < th.length; q++) th[q] -= lr * g[q];
  }
  return th;
}

export function probabilities(p: Problem, theta: Float64Array): Float64Array[] {
  const { n, dIn } = p.data;
  return Array.from({ length: n }, (_, j) => softmaxOf(logits(p, theta, p.data.X.subarray(j * dIn, (j + 1) * dIn))));
}

export interface LearningPaths {
  steps: number[];
  /** paths[j][r] = π(x_j) at steps[r]. */
  paths: Float64Array[][];
  /** Direction reversals of π(label | x_j) along the recorded path (the zig-zag count). */
  reversals: number[];
}

/** π of every example along GD training, and how often each one's label probability turns around. */
export function learningPaths(p: Problem, theta0: Float64Array, labels: ArrayLike<number>, lr: number, steps: number, every: number): LearningPaths {
  const rec: number[] = [];
  const paths: Float64Array[][] = Array.from({ length: p.data.n }, () => []);
  descend(p, theta0, lr, steps, every, (k, th) => {
    rec.push(k);
    probabilities(p, th).forEach((pi, j) => paths[j].push(pi));
  });
  const reversals = paths.map((path, j) => {
    let count = 0, prev = 0;
    for (let r = 1; r < path.length; r++) {
      const d = path[r][labels[j]] - path[r - 1][labels[j]];
      const s = Math.abs(d) < 1e-12 ? 0 : Math.sign(d);
      if (s !== 0 && prev !== 0 && s !== prev) count++;
      if (s !== 0) prev = s;
    }
    return count;
  });
  return { steps: rec, paths, reversals };
}

export interface PreferencePoint {
  step: number;
  /** Means over the pairs. */
  chosen: number;
  rejected: number;
  /** π of the class that is the argmax at the start (excluding y⁺ and y⁻ when they differ from it). */
  argmax: number;
  loss: number;
}

export interface PreferenceRun {
  loss: string;
  points: PreferencePoint[];
  /** Which class was tracked as the argmax for each pair. */
  argmaxClass: number[];
}

/** The chosen, rejected and argmax class of each pair from its target row [p | q | r]. */
export function pairsOf(p: Problem): { chosen: number[]; rejected: number[] } {
  if (!p.kernels.lossForm.preference) throw new GradflowError(`preference dynamics need a preference loss (sft, dpo, neg-grad); this problem trains '${p.kernels.lossForm.choice.name}'`);
  const V = p.layout.c, TW = p.kernels.targetWidth;
  const chosen: number[] = [], rejected: number[] = [];
  for (let j = 0; j < p.data.n; j++) {
    let c = 0, r = 0;
    for (let k = 0; k < V; k++) {
      if (p.data.Y[j * TW + k] > p.data.Y[j * TW + c]) c = k;
      if (p.data.Y[j * TW + V + k] > p.data.Y[j * TW + V + r]) r = k;
    }
    chosen.push(c);
    rejected.push(r);
  }
  return { chosen, rejected };
}

export function preferenceRun(p: Problem, theta0: Float64Array, lr: number, steps: number, every: number): PreferenceRun {
  const { chosen, rejected } = pairsOf(p);
  const start = probabilities(p, theta0);
  const argmaxClass = start.map((pi) => {
    let best = 0;
    for (let k = 1; k < pi.length; k++) if (pi[k] > pi[best]) best = k;
    return best;
  });
  const points: PreferencePoint[] = [];
  descend(p, theta0, lr, steps, every, (k, th) => {
    const pis = probabilities(p, th);
    const mean = (f: (pi: Float64Array, j: number) => number): number => pis.reduce((s, pi, j) => s + f(pi, j), 0) / pis.length;
    points.push({
      step: k,
      chosen: mean((pi, j) => pi[chosen[j]]),
      rejected: mean((pi, j) => pi[rejected[j]]),
      argmax: mean((pi, j) => pi[argmaxClass[j]]),
      loss: p.kernels.loss(th, p.data.X, p.data.Y, p.data.n),
    });
  });
  return { loss: p.kernels.lossForm.choice.name, points, argmaxClass };
}

/**
 * Reference logits r = z(x_j; θ_ref) written into the target rows (the frozen reference of DPO),
 * returning a new Problem that shares everything else.
 */
export function withReference(p: Problem, thetaRef: Float64Array): Problem {
  if (!p.kernels.lossForm.preference) throw new GradflowError('a reference model only applies to the preference losses (sft, dpo, neg-grad)');
  const V = p.layout.c, TW = p.kernels.targetWidth, { n, dIn } = p.data;
  const Y = Float64Array.from(p.data.Y);
  for (let j = 0; j < n; j++) Y.set(logits(p, thetaRef, p.data.X.subarray(j * dIn, (j + 1) * dIn)), j * TW + 2 * V);
  return { ...p, data: { ...p.data, Y, source: `${p.data.source}; reference logits from a frozen model` } };
}

export interface DpoForces {
  /** First-order Δ log π over one full-batch step of size η, split by the part of DPO's G: y⁺ (positive) and y⁻ (negative). */
  chosen: { positive: number; negative: number };
  rejected: { positive: number; negative: number };
  argmax: { positive: number; negative: number };
}

/**
 * DPO's G on a pair is c·(e⁻ − e⁺) with c = β σ(−u) (the softmax terms of its two halves cancel);
 * the positive half c(π − e⁺) pulls y⁺ up, the negative half −c(π − e⁻) pushes y⁻ down. Each half's
 * force −(η/n) Σ_u A K G_half on log π(y | x_o), averaged over the observed pairs.
 */
export function dpoForces(p: Problem, theta: Float64Array, eta: number, argmaxClass: number[]): DpoForces {
  if (p.kernels.lossForm.choice.name !== 'dpo') throw new GradflowError('the DPO force split needs a problem trained with loss dpo');
  const { chosen, rejected } = pairsOf(p);
  const { n, dIn } = p.data;
  const V = p.layout.c, TW = p.kernels.targetWidth;
  const xs = Array.from({ length: n }, (_, j) => p.data.X.subarray(j * dIn, (j + 1) * dIn));
  const Js = xs.map((x) => jacobian(p, theta, x));
  const pis = xs.map((x) => softmaxOf(logits(p, theta, x)));
  const halves = xs.map((x, u) => {
    const G = new Float64Array(V);
    p.kernels.outputLoss(logits(p, theta, x), p.data.Y.subarray(u * TW, (u + 1) * TW), 1, G);
    const c = (G[rejected[u]] - G[chosen[u]]) / 2;
    const pos = pis[u].map((v, k) => c * (v - (k === chosen[u] ? 1 : 0)));
    const neg = pis[u].map((v, k) => -c * (v - (k === rejected[u] ? 1 : 0)));
    return { pos, neg };
  });
  const acc = { chosen: { positive: 0, negative: 0 }, rejected: { positive: 0, negative: 0 }, argmax: { positive: 0, negative: 0 } };
  for (let o = 0; o < n; o++) {
    const A = aMatrix(pis[o]);
    // the two halves summed over the update pairs
    const dPos = new Float64Array(V), dNeg = new Float64Array(V);
    for (let u = 0; u < n; u++) {
      const K = ntk(Js[o], Js[u], V);
      const kp = new Float64Array(V), kn = new Float64Array(V);
      for (let m = 0; m < V; m++) for (let l = 0; l < V; l++) { kp[m] += K[m * V + l] * halves[u].pos[l]; kn[m] += K[m * V + l] * halves[u].neg[l]; }
      for (let m = 0; m < V; m++) for (let l = 0; l < V; l++) { dPos[m] += (-eta / n) * A[m * V + l] * kp[l]; dNeg[m] += (-eta / n) * A[m * V + l] * kn[l]; }
    }
    acc.chosen.positive += dPos[chosen[o]] / n; acc.chosen.negative += dNeg[chosen[o]] / n;
    acc.rejected.positive += dPos[rejected[o]] / n; acc.rejected.negative += dNeg[rejected[o]] / n;
    acc.argmax.positive += dPos[argmaxClass[o]] / n; acc.argmax.negative += dNeg[argmaxClass[o]] / n;
  }
  return acc;
}

export type TargetScheme = 'hard' | 'label-smoothing' | 'filter-kd';

export interface TargetRun {
  scheme: TargetScheme;
  theta: Float64Array;
}

/**
 * Train on noisy labels with one of three supervisory signals: the one-hot labels, label
 * smoothing (the Problem's loss must then be label-smoothing), or Filter-KD (Ren et al. 2022): a
 * teacher trained on the one-hot labels records the moving average q_j ← (1 − γ) q_j + γ π(x_j)
 * of its own predictions every `every` steps (q_j starts at the label), and a fresh student is
 * trained by cross-entropy against q. `p` must train cross-entropy for 'hard' and 'filter-kd'.
 */
export function trainWithTargets(p: Problem, scheme: TargetScheme, lr: number, steps: number, opts: { gamma?: number; every?: number } = {}): TargetRun {
  const name = p.kernels.lossForm.choice.name;
  const want = scheme === 'label-smoothing' ? 'label-smoothing' : 'cross-entropy';
  if (name !== want) throw new GradflowError(`${scheme} trains with loss ${want}; this problem trains '${name}'`);
  if (scheme !== 'filter-kd') return { scheme, theta: descend(p, p.theta0, lr, steps, steps, () => undefined) };
  const gamma = opts.gamma ?? 0.05, every = opts.every ?? 10;
  if (!(gamma > 0 && gamma <= 1)) throw new GradflowError(`the Filter-KD averaging rate must be in (0, 1] (got ${gamma})`);
  const q = Float64Array.from(p.data.Y);
  const V = p.layout.c;
  descend(p, p.theta0, lr, steps, every, (_k, th) => {
    probabilities(p, th).forEach((pi, j) => { for (let k = 0; k < V; k++) q[j * V + k] = (1 - gamma) * q[j * V + k] + gamma * pi[k]; });
  });
  const student: Problem = { ...p, data: { ...p.data, Y: q, source: `${p.data.source}; Filter-KD soft targets` } };
  return { scheme, theta: descend(student, p.theta0, lr, steps, steps, () => undefined) };
}

/** Fraction of the rows of X whose argmax logit is the class in `labels`. */
export function accuracy(p: Problem, theta: Float64Array, X: Float64Array, labels: ArrayLike<number>): number {
  const n = labels.length, dIn = p.data.dIn;
  let right = 0;
  for (let j = 0; j < n; j++) {
    const z = logits(p, theta, X.subarray(j * dIn, (j + 1) * dIn));
    let best = 0;
    for (let k = 1; k < z.length; k++) if (z[k] > z[best]) best = k;
    if (best === labels[j]) right++;
  }
  return right / n;
}
