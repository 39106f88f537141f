/**
 * Compiled gradient kernels vs hand-written loops, measured in the same run (issue 2):
 * single neuron and diagonal network at d = 100, n = 1000. Prints time per gradient and the
 * ratio compiled ÷ hand (target ≤ 1.2) — the per-sample kernel (moments off) against the
 * per-sample hand loop. Then (issue 14) the moment form at growing n (its cost does not grow
 * with n; scalar outputs and the linear network's vector output), the WebAssembly data pass and
 * the sample-blocked lossGrad against one sample at a time, and the modular model's kernels with and without row tables.
 * `npx tsx bench/kernels.ts`
 */
import { singleNeuron } from '../models/single-neuron.ts';
import { diagonal } from '../models/diagonal.ts';
import { createProblem } from '../src/problem.ts';
import { Rng } from '../src/util/rng.ts';
import { makeDataset } from '../src/data.ts';
import { compileModel } from '../src/compile/kernels.ts';
import { modular } from '../models/modular.ts';
import { linear } from '../models/linear.ts';
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
  const k = compileModel(p.derived, p.layout.dims, undefined, { moments: false });
  const th = rng.normalArray(p.theta0.length, 0.1);
  const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
  const l1 = k.lossGrad(th, X, Y, n, g1), l2 = hand(th, g2);
  let maxDiff = Math.abs(l1 - l2);
  for (let q = 0; q < th.length; q++) maxDiff = Math.max(maxDiff, Math.abs(g1[q] - g2[q]));
  // alternate the two a few times and keep each one's best median: robust to a busy machine
  let tc = Infinity, th2 = Infinity;
  for (let round = 0; round < 5; round++) {
    tc = Math.min(tc, timeIt(() => k.lossGrad(th, X, Y, n, g1), 150));
    th2 = Math.min(th2, timeIt(() => hand(th, g2), 150));
  }
  rows.push([name, `d = ${d}, n = ${n}`, `${(tc * 1e6).toFixed(1)} µs`, `${(th2 * 1e6).toFixed(1)} µs`, (tc / th2).toFixed(3), maxDiff.toExponential(1)]);
}
report('compiled per-sample gradient kernel (moment form off) vs hand-written loop (loss + gradient, one pass)', ['model', 'size', 'compiled', 'hand', 'ratio', 'max |Δ|'], rows);


// ---- the moment form: loss + gradient from Σ_xx, Σ_yx; per-call cost independent of n
const momentRows: string[][] = [];
const momentCases = [
  ['single neuron', singleNeuron, d, 1, {}, [1000, 10000, 40000]],
  ['diagonal', diagonal, d, 1, {}, [1000, 10000, 40000]],
  // vector output: B = A W from f on the identity rows (cost ≈ a pass over d/2 samples, flat in n)
  ['linear c = d = h = 50', linear, 50, 50, { c: 50, d: 50, h: 50 }, [200, 1000, 10000]],
] as const;
for (const [name, def, dm, cm, dims, sizes] of momentCases) {
  for (const nn of sizes) {
    const r2 = new Rng(5);
    const Xn = r2.normalArray(nn * dm), Yn = r2.normalArray(nn * cm);
    const p = createProblem(def, { data: makeDataset(Xn, Yn, nn, dm, cm, 'bench'), dims, alpha: 0.1, seed: 2, monitors: [] });
    const per = compileModel(p.derived, p.layout.dims, undefined, { moments: false });
    const th = r2.normalArray(p.theta0.length, 0.1);
    const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
    const t0 = performance.now();
    p.kernels.lossGrad(th, Xn, Yn, nn, g1); // forms the moments
    const setup = (performance.now() - t0) / 1000;
    const l1 = p.kernels.lossGrad(th, Xn, Yn, nn, g1), l2 = per.lossGrad(th, Xn, Yn, nn, g2);
    let gd = 0, gs = 0;
    for (let q = 0; q < th.length; q++) { gd = Math.max(gd, Math.abs(g1[q] - g2[q])); gs = Math.max(gs, Math.abs(g2[q])); }
    let tm = Infinity, ts = Infinity;
    for (let round = 0; round < 3; round++) {
      tm = Math.min(tm, timeIt(() => p.kernels.lossGrad(th, Xn, Yn, nn, g1), 100));
      ts = Math.min(ts, timeIt(() => per.lossGrad(th, Xn, Yn, nn, g2), 100));
    }
    momentRows.push([name, `d = ${dm}, n = ${nn}`, p.kernels.formFor(Xn, Yn, nn), `${(tm * 1e6).toFixed(1)} µs`, `${(ts * 1e6).toFixed(1)} µs`, (ts / tm).toFixed(1), `${(setup * 1e3).toFixed(1)} ms`, `${Math.abs(l1 - l2).toExponential(1)} / ${(gd / gs).toExponential(1)}`]);
  }
}
report('moment form (loss + gradient from the data\'s moments; its time does not grow with n) vs the per-sample kernel, same data; setup = first call, which forms Σ_xx once',
  ['model', 'size', 'form', 'moments', 'per-sample', 'speed-up', 'setup', '|ΔL| / rel Δgrad'], momentRows);

// ---- the linear network's moment form as matrix products (wasm-gemm.ts: 4×4 register-blocked
// f64x2) against the generic moment path (f and its vjp on the identity rows, wasm: false) and the
// per-sample kernel, same data; the GEMM_GAIN size rule (wasm-gemm.ts) reads these figures
{
  const rowsG: string[][] = [];
  for (const sz of [10, 50]) {
    const nn = sz;
    const r2 = new Rng(6);
    const Xn = r2.normalArray(nn * sz), Yn = r2.normalArray(nn * sz);
    const p = createProblem(linear, { data: makeDataset(Xn, Yn, nn, sz, sz, 'bench'), dims: { c: sz, d: sz, h: sz }, alpha: 0.1, seed: 2, monitors: [] });
    const generic = compileModel(p.derived, p.layout.dims, undefined, { wasm: false });
    const per = compileModel(p.derived, p.layout.dims, undefined, { moments: false });
    const th = r2.normalArray(p.theta0.length, 0.1), g = new Float64Array(th.length);
    const t = (k: typeof per): number => Math.min(...[0, 1, 2].map(() => timeIt(() => k.lossGrad(th, Xn, Yn, nn, g), 100)));
    const tp = t(p.kernels), tg = t(generic), ts = t(per);
    const us = (x: number): string => `${(x * 1e6).toFixed(1)} µs`;
    rowsG.push([`c = d = h = ${sz}, n = ${nn}`, p.kernels.formFor(Xn, Yn, nn), us(tp), us(tg), us(ts), (tg / tp).toFixed(1), (ts / tp).toFixed(1)]);
  }
  report('linear network loss + gradient: moment form as WebAssembly SIMD matrix products vs the generic moment path and the per-sample kernel',
    ['size', 'form', 'products', 'generic moments', 'per-sample', 'generic ÷ products', 'per-sample ÷ products'], rowsG);
}

// ---- sample blocking: the unmasked lossGrad (SB samples per pass over the neurons) against the
// masked kernel with every neuron on (one sample at a time: the previous kernel), same data
{
  const rowsB: string[][] = [];
  for (const [dd, nn] of [[100, 40], [1000, 40], [2000, 800]] as const) {
    const p = createProblem(diagonal, { dims: { d: dd }, options: { n: nn }, alpha: 0.1, seed: 1, monitors: [] });
    const k = compileModel(p.derived, p.layout.dims, undefined, { moments: false });
    const kw = compileModel(p.derived, p.layout.dims); // the default: the WebAssembly data pass where present
    const { X: Xb, Y: Yb } = p.data;
    const th = p.theta0.map((v, q) => v + 0.01 * Math.sin(q));
    const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length), all = new Uint8Array(p.layout.H).fill(1);
    // the Kernels object runs an all-ones mask as no mask: the masked kernel straight from its source
    const oneSample = new Function(k.source.lossGrad)() as typeof k.lossGrad;
    const l1 = k.lossGrad(th, Xb, Yb, nn, g1), l2 = oneSample(th, Xb, Yb, nn, g2, all);
    let gd = 0, gs = 0;
    for (let q = 0; q < th.length; q++) { gd = Math.max(gd, Math.abs(g1[q] - g2[q])); gs = Math.max(gs, Math.abs(g2[q])); }
    const g3 = new Float64Array(th.length);
    const l3 = kw.lossGrad(th, Xb, Yb, nn, g3);
    let gw = 0;
    for (let q = 0; q < th.length; q++) gw = Math.max(gw, Math.abs(g3[q] - g2[q]));
    const tb: number[] = [], to: number[] = [], tw: number[] = [];
    for (let round = 0; round < 4; round++) {
      tw.push(timeIt(() => kw.lossGrad(th, Xb, Yb, nn, g3), 80));
      tb.push(timeIt(() => k.lossGrad(th, Xb, Yb, nn, g1), 80));
      to.push(timeIt(() => oneSample(th, Xb, Yb, nn, g2, all), 80));
    }
    const sp = (a: number[], b: number[]): string => { const r = a.map((x, q) => x / b[q]); return `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`; };
    const us = (xs: number[]): string => `${(Math.min(...xs) * 1e6).toFixed(1)} µs`;
    rowsB.push([`diagonal d = ${dd}, n = ${nn}`, kw.formFor(Xb, Yb, nn), us(tw), us(tb), us(to), sp(to, tb), sp(to, tw),
      `${(Math.abs(l1 - l2) / l2).toExponential(1)} / ${(gd / gs).toExponential(1)}`, `${(Math.abs(l3 - l2) / l2).toExponential(1)} / ${(gw / gs).toExponential(1)}`]);
  }
  report('per-sample kernels, same data: the default form (wasm = X β and Xᵀr in WebAssembly SIMD), the sample-blocked lossGrad, and one sample at a time (the masked kernel, all neurons on: the kernel before blocking); speed-ups over one sample, min–max over 4 alternating rounds; rel. differences vs one sample',
    ['problem', 'form', 'default', 'blocked', 'one sample', '× blocked', '× default', 'Δ blocked', 'Δ default'], rowsB);
}

// ---- masked calls (AGF's fits): the loops over the active neurons against the route lossGrad takes
// (an all-ones mask runs unmasked; many active neurons take the data pass), diagonal d = 1000, n = 40
{
  const dd = 1000, nn = 40;
  const p = createProblem(diagonal, { dims: { d: dd }, options: { n: nn }, alpha: 0.1, seed: 1, monitors: [] });
  const k = p.kernels, H = p.layout.H;
  const loops = new Function(k.source.lossGrad)() as typeof k.lossGrad;
  const { X: Xb, Y: Yb } = p.data;
  const th = p.theta0.map((v, q) => v + 0.01 * Math.sin(q));
  const rowsK: string[][] = [];
  for (const active of [40, 80, 160, 400, 999, 1000]) {
    const mask = Uint8Array.from({ length: H }, (_, i) => ((i * active) % H < active ? 1 : 0));
    const on = mask.reduce((a, b) => a + b, 0);
    const g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
    const l1 = k.lossGrad(th, Xb, Yb, nn, g1, mask), l2 = loops(th, Xb, Yb, nn, g2, mask);
    let gd = 0, gs = 0;
    for (let q = 0; q < th.length; q++) { gd = Math.max(gd, Math.abs(g1[q] - g2[q])); gs = Math.max(gs, Math.abs(g2[q])); }
    const tr: number[] = [], tl: number[] = [];
    for (let round = 0; round < 4; round++) {
      tr.push(timeIt(() => k.lossGrad(th, Xb, Yb, nn, g1, mask), 60));
      tl.push(timeIt(() => loops(th, Xb, Yb, nn, g2, mask), 60));
    }
    const r = tl.map((x, q) => x / tr[q]);
    rowsK.push([`${on}`, k.formFor(Xb, Yb, nn, mask), `${(Math.min(...tr) * 1e6).toFixed(1)} µs`, `${(Math.min(...tl) * 1e6).toFixed(1)} µs`, `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`, `${(Math.abs(l1 - l2) / l2).toExponential(1)} / ${(gd / gs).toExponential(1)}`]);
  }
  report(`masked lossGrad, diagonal d = ${dd}, n = ${nn}: the route taken vs the active-neuron loops; speed-up min–max over 4 alternating rounds`,
    ['active', 'route', 'route', 'loops', 'speed-up', 'rel. ΔL / Δgrad'], rowsK);
}

// ---- modular (κ = 3 AGF's kernels): all p² pairs, so x_a and x_b each take p distinct rows
{
  const p = createProblem(modular, { alpha: 0.01, seed: 0 });
  const { X: Xm, Y: Ym, n: nm } = p.data;
  const L = p.layout;
  const plain = compileModel(p.derived, L.dims, undefined, { rowTables: false });
  const th = p.theta0.map((v, q) => v + 0.1 * Math.sin(q));
  const out = new Float64Array(L.H * nm * L.c), E = Float64Array.from(Ym, (v, q) => v + Math.cos(q));
  const g = new Float64Array(th.length);
  const mask = new Uint8Array(L.H).fill(1);
  mask[3] = 0;
  const cases: [string, (k: typeof plain) => void][] = [
    ['neuronOutputs', (k) => k.neuronOutputs(th, Xm, nm, out)],
    ['vjpMean (masked)', (k) => k.vjpMean(th, Xm, E, nm, g, mask)],
    ['lossGrad', (k) => k.lossGrad(th, Xm, Ym, nm, g)],
    ['lossGrad (masked)', (k) => k.lossGrad(th, Xm, Ym, nm, g, mask)],
    ['forward (masked)', (k) => k.forward(th, Xm, nm, out, mask)],
  ];
  const rowsM: string[][] = [];
  for (const [name, f] of cases) {
    let tr = Infinity, tp = Infinity;
    for (let round = 0; round < 3; round++) {
      tr = Math.min(tr, timeIt(() => f(p.kernels), 100));
      tp = Math.min(tp, timeIt(() => f(plain), 100));
    }
    rowsM.push([name, `${(tr * 1e3).toFixed(3)} ms`, `${(tp * 1e3).toFixed(3)} ms`, (tp / tr).toFixed(2)]);
  }
  report(`modular p = ${L.dims.p}, H = ${L.H}, n = ${nm} (form: ${p.kernels.formFor(Xm, Ym, nm)}): row tables vs plain per-sample loops (both with short loops written out)`,
    ['kernel', 'row tables', 'plain', 'speed-up'], rowsM);
}
