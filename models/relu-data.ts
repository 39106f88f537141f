/**
 * Data for the ReLU models: K clusters with class labels (optional overlap), and the 2-D
 * teacher–student setting (a narrow two-layer ReLU teacher, a wide student). Shared by
 * models/relu.ts and models/relu-deep.ts.
 */
import type { Rng } from '../src/util/rng.ts';
import type { Dataset } from '../src/data.ts';
import { GradflowError } from '../src/util/errors.ts';

export interface ClusterOptions {
  n: number;
  K: number;
  d: number;
  /** Within-cluster standard deviation. */
  spread: number;
  /** 0: centres as drawn; 1: all centres at their mean (clusters fully overlap). */
  overlap: number;
  /** Number of classes (cluster k has class k mod classes). */
  classes: number;
}

export interface ClusterData {
  X: Float64Array;
  /** Class of each sample. */
  labels: Int32Array;
  centres: Float64Array;
}

function positiveInt(v: number, what: string, cap: number): number {
  if (!Number.isInteger(v) || v < 1 || v > cap) throw new GradflowError(`--opt ${what} must be an integer in [1, ${cap}] (got ${v})`);
  return v;
}

export function checkedClusterOptions(opts: Record<string, number>, d: number, nDefault: number): ClusterOptions {
  const K = positiveInt(opts.K ?? 3, 'K', 1000);
  const n = positiveInt(opts.n ?? nDefault, 'n', 100_000);
  if (n < K) throw new GradflowError(`--opt n = ${n} is smaller than the number of clusters K = ${K}`);
  const spread = opts.spread ?? 0.05;
  if (!(Number.isFinite(spread) && spread >= 0)) throw new GradflowError(`--opt spread must be a non-negative number (got ${spread})`);
  const overlap = opts.overlap ?? 0;
  if (!(Number.isFinite(overlap) && overlap >= 0 && overlap <= 1)) throw new GradflowError(`--opt overlap must lie in [0, 1] (got ${overlap})`);
  const classes = positiveInt(opts.classes ?? K, 'classes', K);
  return { n, K, d, spread, overlap, classes };
}

/**
 * K cluster centres uniform in range^d (default [0.2, 1]^d: positive, so a positively-gauged first
 * layer sees them in its active region) pulled towards their mean by `overlap`; n points split
 * evenly, N(centre, spread²).
 */
export function clusters(o: ClusterOptions, rng: Rng, range: [number, number] = [0.2, 1]): ClusterData {
  const { n, K, d } = o;
  const centres = new Float64Array(K * d);
  for (let k = 0; k < K; k++) for (let q = 0; q < d; q++) centres[k * d + q] = range[0] + (range[1] - range[0]) * rng.uniform();
  const mean = new Float64Array(d);
  for (let k = 0; k < K; k++) for (let q = 0; q < d; q++) mean[q] += centres[k * d + q] / K;
  for (let k = 0; k < K; k++) for (let q = 0; q < d; q++) centres[k * d + q] = (1 - o.overlap) * centres[k * d + q] + o.overlap * mean[q];
  const X = new Float64Array(n * d);
  const labels = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const k = j % K;
    labels[j] = k % o.classes;
    for (let q = 0; q < d; q++) X[j * d + q] = centres[k * d + q] + o.spread * rng.normal();
  }
  return { X, labels, centres };
}

export function describeClusters(o: ClusterOptions, range: [number, number] = [0.2, 1]): string {
  return `${o.K} Gaussian clusters in d = ${o.d} (centres uniform in [${range[0]}, ${range[1]}]^d, overlap ${o.overlap}, spread ${o.spread}), ${o.classes} classes, n = ${o.n}`;
}

/** A teacher of k ReLU units in 2-D: unit q has direction at angle 2πq/k + 0.3, bias −0.2, output ±1 alternating. */
export function teacherStudent(opts: Record<string, number>, rng: Rng): Dataset {
  const k = positiveInt(opts.teacher ?? 2, 'teacher', 64);
  const n = positiveInt(opts.n ?? 24, 'n', 100_000);
  const withBias = (opts.bias ?? 1) !== 0;
  const X = new Float64Array(n * 2);
  const Y = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // inputs on the unit circle at evenly spaced angles with a seeded jitter
    const ang = (2 * Math.PI * (j + 0.5 * rng.uniform())) / n;
    const r = 1 + 0.2 * (rng.uniform() - 0.5);
    X[2 * j] = r * Math.cos(ang);
    X[2 * j + 1] = r * Math.sin(ang);
    let y = 0;
    for (let q = 0; q < k; q++) {
      const th = (2 * Math.PI * q) / k + 0.3;
      const pre = Math.cos(th) * X[2 * j] + Math.sin(th) * X[2 * j + 1] + (withBias ? -0.2 : 0);
      y += (q % 2 === 0 ? 1 : -0.7) * Math.max(0, pre);
    }
    Y[j] = y;
  }
  return { X, Y, n, dIn: 2, c: 1, source: `2-D teacher–student: ${k}-unit ReLU teacher (directions at 2πq/${k} + 0.3, bias ${withBias ? '−0.2' : '0'}, outputs 1, −0.7, …), inputs near the unit circle, n = ${n}` };
}
