/**
 * Compiled gradient kernels vs hand-written loops, measured in the same run (issue 2):
 * single neuron and diagonal network at d = 100, n = 1000. Prints time per gradient and the
 * ratio compiled ÷ hand (target ≤ 1.2).
 */
import { singleNeuron } from '../models/single-neuron.ts';
import { diagonal } from '../models/diagonal.ts';
import { createProblem } from '../src/problem.ts';
import { Rng } from '../src/util/rng.ts';
import { makeDataset } from '../src/data.ts';
import { timeIt, report } from './timing.ts';

const d = 100, n = 1000;
const rng = new Rng(1);
const X = rng.normalArray(n * d);
const Y = rng.normalArray(n);
const data = makeDataset(X, Y, n, d, 1, 'bench');

function handSingle(th: Float64Array, g: Float64Array): number {
  const a = th[0];
  g.fill(0);
  let loss = 0;
  for (let j = 0; j < n; j++) {
    const xo = j * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += th[1 + k] * X[xo + k];
    const e = a * s - Y[j];
    loss += e * e;
    g[0] += e * s;
    const ea = e * a;
    for (let k = 0; k < d; k++) g[1 + k] += ea * X[xo + k];
  }
  for (let q = 0; q < g.length; q++) g[q] /= n;
  return (0.5 * loss) / n;
}

function handDiagonal(th: Float64Array, g: Float64Array): number {
  g.fill(0);
  let loss = 0;
  for (let j = 0; j < n; j++) {
    const xo = j * d;
    let f = 0;
    for (let i = 0; i < d; i++) f += th[2 * i] * th[2 * i + 1] * X[xo + i];
    const e = f - Y[j];
    loss += e * e;
    for (let i = 0; i < d; i++) {
      const ex = e * X[xo + i];
      g[2 * i] += ex * th[2 * i + 1];
      g[2 * i + 1] += ex * th[2 * i];
    }
  }
  for (let q = 0; q < g.length; q++) g[q] /= n;
  return (0.5 * loss) / n;
}

const rows: string[][] = [];
for (const [name, def, hand] of [['single neuron', singleNeuron, handSingle], ['diagonal', diagonal, handDiagonal]] as const) {
  const p = createProblem(def, { data, alpha: 0.1, seed: 2 });
  const th = rng.normalArray(p.theta0.length, 0.1);
  const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
  const l1 = p.kernels.lossGrad(th, X, Y, n, g1), l2 = hand(th, g2);
  let maxDiff = Math.abs(l1 - l2);
  for (let q = 0; q < th.length; q++) maxDiff = Math.max(maxDiff, Math.abs(g1[q] - g2[q]));
  // alternate the two a few times and keep each one's best median: robust to a busy machine
  let tc = Infinity, th2 = Infinity;
  for (let round = 0; round < 5; round++) {
    tc = Math.min(tc, timeIt(() => p.kernels.lossGrad(th, X, Y, n, g1), 150));
    th2 = Math.min(th2, timeIt(() => hand(th, g2), 150));
  }
  rows.push([name, `d = ${d}, n = ${n}`, `${(tc * 1e6).toFixed(1)} µs`, `${(th2 * 1e6).toFixed(1)} µs`, (tc / th2).toFixed(3), maxDiff.toExponential(1)]);
}
report('compiled gradient kernel vs hand-written loop (loss + gradient, one pass)', ['model', 'size', 'compiled', 'hand', 'ratio', 'max |Δ|'], rows);
