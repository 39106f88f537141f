/**
 * Kernels.bind (issue 14): lossGrad on data bound once against the unbound call, which looks up
 * the data's moments / data pass / row tables and fingerprints X and Y on every call. Per call and
 * over whole runs (a small flow, a descent, a sweep's batched descents), bound and unbound in
 * interleaved batches of one run (each side's fastest batch kept); the bytes are checked equal.
 * Ratios are bound ÷ unbound (below 1: binding is faster), their spread over 3 rounds. `npx tsx bench/bind.ts [--quick]`
 */
import { createProblem, type Problem } from '../src/problem.ts';
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { modular } from '../models/modular.ts';
import { integrate } from '../src/solvers/ode/index.ts';
import { solveDescent, type DescentBackend } from '../src/solvers/descent.ts';
import { stateScale } from '../src/solvers/flow.ts';
import { batchReps, report } from './timing.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 3;
const BATCHES = quick ? 6 : 12;
const spread = (xs: number[]): string => {
  const lo = Math.min(...xs), hi = Math.max(...xs);
  return lo.toFixed(2) === hi.toFixed(2) ? lo.toFixed(2) : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
};
const fmt = (s: number): string => (s >= 1e-3 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(2)} µs`);
const same = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/**
 * Rounds of two functions, each round 12 short batches of each, interleaved A B A B …, keeping each
 * side's fastest batch (a shared machine's load only ever adds time): the last round's times and
 * every round's ratio b ÷ a.
 */
function compare(a: () => unknown, b: () => unknown): { ta: number; tb: number; ratios: number[] } {
  // batch size: about 5 ms of a (after a warm-up of both)
  for (let k = 0; k < 20; k++) { a(); b(); }
  const reps = batchReps(a, 5);
  const batch = (f: () => unknown): number => {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) f();
    return (performance.now() - t0) / reps / 1e3;
  };
  const ratios: number[] = [];
  let ta = Infinity, tb = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    ta = Infinity; tb = Infinity;
    for (let k = 0; k < BATCHES; k++) {
      ta = Math.min(ta, batch(a));
      tb = Math.min(tb, batch(b));
    }
    ratios.push(tb / ta);
  }
  return { ta, tb, ratios };
}

const cases: { name: string; p: Problem }[] = [
  { name: 'diagonal d = 5, n = 40', p: createProblem(diagonal, { alpha: 1e-4, seed: 0, monitors: [] }) },
  { name: 'diagonal d = 10, n = 56', p: createProblem(diagonal, { dims: { d: 10 }, alpha: 1e-4, seed: 0, monitors: [] }) },
  { name: 'linear c = d = h = 10', p: createProblem(linear, { dims: { c: 10, d: 10, h: 10 }, alpha: 1e-8, seed: 1, monitors: [] }) },
  { name: 'diagonal d = 1000, n = 40', p: createProblem(diagonal, { dims: { d: 1000 }, alpha: 1e-4, seed: 0, monitors: [] }) },
  { name: 'modular p = 11 (row tables)', p: createProblem(modular, { dims: { p: 11 }, seed: 0, monitors: [] }) },
];

const rows: string[][] = [];
for (const { name, p } of cases) {
  const { X, Y, n } = p.data;
  const k = p.kernels, kb = k.bind(X, Y, n);
  const th = p.theta0.slice(), g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
  const l1 = k.lossGrad(th, X, Y, n, g1), l2 = kb.lossGrad(th, g2);
  const ok = Object.is(l1, l2) && same(g1, g2);
  const r = compare(() => k.lossGrad(th, X, Y, n, g1), () => kb.lossGrad(th, g2));
  rows.push([name, k.formFor(X, Y, n), fmt(r.ta), fmt(r.tb), spread(r.ratios), ok ? 'yes' : 'NO']);
}
report('lossGrad per call: unbound (fingerprints X, Y every call) vs bound once', ['problem', 'form', 'unbound', 'bound', 'ratio', 'same bits'], rows);

// ---- whole runs: the flow's RHS and the descent loop, bound vs the unbound calls they replaced
const runRows: string[][] = [];
for (const { name, p } of cases.slice(0, 3)) {
  const { X, Y, n } = p.data;
  const k = p.kernels, kb = k.bind(X, Y, n);
  const tEnd = name.startsWith('linear') ? 1.5 * 4 * Math.log(1e8) + 20 : 50 * Math.log(1e4);
  const opts = { rtol: 1e-10, atol: 1e-10 * 1e-3 * stateScale(p.theta0), tEval: [tEnd], dense: false };
  const y0 = p.theta0;
  const unbound = () => integrate('dop853', (_t, y, dy) => k.velocity(y, X, Y, n, dy), 0, y0, tEnd, opts);
  const bound = () => integrate('dop853', (_t, y, dy) => kb.velocity(y, dy), 0, y0, tEnd, opts);
  const ok = same(unbound().y[0], bound().y[0]);
  const r = compare(unbound, bound);
  runRows.push([`flow dop853 rtol 1e-10, ${name}`, fmt(r.ta), fmt(r.tb), spread(r.ratios), ok ? 'yes' : 'NO']);
}
/** The float64 descent loop as it was: kernels.lossGrad on the data every step (momentum 0). */
const unboundGd: DescentBackend = {
  name: 'float64',
  run(p, { lr, steps, recordEvery }, theta0, record) {
    const { X, Y, n } = p.data;
    const th = Float64Array.from(theta0), g = new Float64Array(th.length);
    for (let k = 0; k <= steps; k++) {
      const loss = p.kernels.lossGrad(th, X, Y, n, g);
      if (k % recordEvery === 0 || k === steps) record({ step: k, theta: th.slice(), loss });
      if (k === steps) break;
      for (let q = 0; q < th.length; q++) th[q] -= lr * g[q];
    }
  },
};
for (const { name, p } of cases.slice(0, 3)) {
  const steps = 2000, lr = 1e-2;
  const unbound = () => solveDescent(p, { lr, steps, backend: unboundGd });
  const bound = () => solveDescent(p, { lr, steps });
  const ok = same(unbound().states.at(-1)!, bound().states.at(-1)!);
  const r = compare(unbound, bound);
  runRows.push([`GD ${steps} steps, ${name}`, fmt(r.ta), fmt(r.tb), spread(r.ratios), ok ? 'yes' : 'NO']);
}
report('whole runs, bound vs unbound (same run, alternating)', ['run', 'unbound', 'bound', 'ratio', 'same bits'], runRows);
