/**
 * Modular-addition model (issue 6): the gradient kernel compiled from the spec
 * `w * (dot(u, xa) + dot(v, xb))^2` vs a hand-written loop for the same model, measured in the
 * same run (target ratio ≤ 1.5), at the default size (p = 20, H = 18, n = 400) and at p = 31.
 * Also prints the gradients per second the default `compare modular` run depends on.
 */
import { modularProblem } from '../models/modular.ts';
import { Rng } from '../src/util/rng.ts';
import { timeIt, report } from './timing.ts';

function handKernel(p: number, H: number, X: Float64Array, Y: Float64Array, n: number) {
  const P = 3 * p, d = 2 * p;
  const z = new Float64Array(H), f = new Float64Array(p), r = new Float64Array(p);
  return (th: Float64Array, g: Float64Array): number => {
    g.fill(0);
    let loss = 0;
    for (let j = 0; j < n; j++) {
      const xo = j * d;
      f.fill(0);
      for (let i = 0; i < H; i++) {
        const o = i * P;
        let s = 0;
        for (let k = 0; k < p; k++) s += th[o + k] * X[xo + k] + th[o + p + k] * X[xo + p + k];
        z[i] = s;
        const s2 = s * s;
        for (let k = 0; k < p; k++) f[k] += s2 * th[o + 2 * p + k];
      }
      for (let k = 0; k < p; k++) {
        r[k] = f[k] - Y[j * p + k];
        loss += r[k] * r[k];
      }
      for (let i = 0; i < H; i++) {
        const o = i * P;
        let wr = 0;
        for (let k = 0; k < p; k++) wr += th[o + 2 * p + k] * r[k];
        const c = 2 * wr * z[i], s2 = z[i] * z[i];
        for (let k = 0; k < p; k++) {
          g[o + k] += c * X[xo + k];
          g[o + p + k] += c * X[xo + p + k];
          g[o + 2 * p + k] += s2 * r[k];
        }
      }
    }
    const inv = 1 / n;
    for (let q = 0; q < g.length; q++) g[q] *= inv;
    return 0.5 * loss * inv;
  };
}

const rows: string[][] = [];
for (const [p, H] of [[20, 18], [31, 18]] as const) {
  const pr = modularProblem({ p, H, alpha: 0.1 });
  const { X, Y, n } = pr.data;
  const th = new Rng(4).normalArray(pr.theta0.length, 0.3);
  const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
  const hand = handKernel(p, H, X, Y, n);
  const l1 = pr.kernels.lossGrad(th, X, Y, n, g1), l2 = hand(th, g2);
  let maxDiff = Math.abs(l1 - l2);
  for (let q = 0; q < th.length; q++) maxDiff = Math.max(maxDiff, Math.abs(g1[q] - g2[q]));
  const tc = timeIt(() => pr.kernels.lossGrad(th, X, Y, n, g1));
  const th2 = timeIt(() => hand(th, g2));
  rows.push([`p = ${p}, H = ${H}, n = ${n}`, `${(tc * 1e6).toFixed(0)} µs`, `${(th2 * 1e6).toFixed(0)} µs`, (tc / th2).toFixed(3), maxDiff.toExponential(1), `${(1 / tc).toFixed(0)}/s`]);
}
report('modular addition: compiled gradient kernel vs hand-written loop (loss + gradient, one pass; target ratio ≤ 1.5)', ['size', 'compiled', 'hand', 'ratio', 'max |Δ|', 'compiled gradients'], rows);
