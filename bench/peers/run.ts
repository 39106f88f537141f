/**
 * gradflow beside the tools a researcher would otherwise use: SciPy's solve_ivp and NumPy loops on
 * the same problems, tolerances and data, in one run. Each side is timed in its own process
 * (gradflow in-process here, the peer inside python3, start-up excluded), rounds alternate, and
 * every figure is a ratio gradflow ÷ peer with its spread over the rounds (below 1: gradflow
 * faster). Wall-clock and CPU-time ratios are both printed: on a shared machine a descheduled
 * process's wall clock counts the other tenants, its CPU time (Python: process_time, all threads)
 * does not. Accuracy is measured against one reference (gradflow dopri5 at rtol 1e-13) so that
 * times are compared at the accuracy each side actually reached. Skips with a message when
 * python3 lacks numpy or scipy. `npx tsx bench/peers/run.ts [--quick] [--only=flows,kernels,gd,process] [--match=TEXT]`
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProblem, type Problem } from '../../src/problem.ts';
import { singleNeuron } from '../../models/single-neuron.ts';
import { diagonal } from '../../models/diagonal.ts';
import { linear } from '../../models/linear.ts';
import { solveFlow, stateScale } from '../../src/solvers/flow.ts';
import { solveDescent } from '../../src/solvers/descent.ts';
import type { OdeMethod } from '../../src/solvers/ode/types.ts';
import { report, timeIt } from '../timing.ts';
import { Rng } from '../../src/util/rng.ts';
import { makeDataset } from '../../src/data.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const quick = process.argv.includes('--quick');
// --only flows,kernels,gd,process runs those sections
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = new Set((onlyArg ? onlyArg.slice(7) : 'flows,kernels,gd,process').split(','));
// --match=TEXT keeps the flow and kernel cases whose name contains TEXT
const matchArg = process.argv.find((a) => a.startsWith('--match='));
const matches = (name: string): boolean => !matchArg || name.includes(matchArg.slice(8));
const ROUNDS = quick ? 2 : 3;

const probe = spawnSync('python3', ['-c', 'import numpy, scipy; print(numpy.__version__, scipy.__version__)'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.log('bench/peers: skipped (python3 with numpy and scipy not found; gradflow itself never needs them)');
  process.exit(0);
}
const [npv, spv] = probe.stdout.trim().split(' ');
console.log(`peers: NumPy ${npv}, SciPy ${spv}; ${ROUNDS} alternating rounds; ratios are gradflow ÷ peer (min–max over rounds)`);

type Job = Record<string, unknown>;
function python(jobs: Job[]): Record<string, unknown>[] {
  const r = spawnSync('python3', [join(here, 'scipy_peer.py')], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`scipy_peer.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

function dataJob(p: Problem, extra: Job): Job {
  const { X, Y, n } = p.data;
  return { X: Array.from(X), Y: Array.from(Y), n, theta0: Array.from(p.theta0), ...extra };
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
};
const spread = (xs: number[]): string => {
  const lo = Math.min(...xs), hi = Math.max(...xs);
  return lo.toFixed(2) === hi.toFixed(2) ? lo.toFixed(2) : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
};
const fmt = (s: number): string => (s >= 0.1 ? `${s.toFixed(2)} s` : s >= 1e-4 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} µs`);
/** CPU seconds of this process so far (user + system, all threads). */
const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
/** Best CPU seconds per call of fn over 5 batches of reps calls (after a warm-up batch). */
function cpuIt(fn: () => unknown, reps: number): number {
  for (let k = 0; k < reps; k++) fn();
  let best = Infinity;
  for (let b = 0; b < 5; b++) {
    const c0 = cpuNow();
    for (let k = 0; k < reps; k++) fn();
    best = Math.min(best, (cpuNow() - c0) / reps);
  }
  return best;
}

// ---------------------------------------------------------------- flows
interface FlowCase { name: string; model: 'diagonal' | 'linear'; p: Problem; tEnd: number; c?: number; d?: number }
const flowCases: FlowCase[] = [];
if (only.has('flows')) {
for (const alpha of [1e-4, 1e-6]) {
  const p = createProblem(diagonal, { alpha, seed: 0, monitors: [] });
  flowCases.push({ name: `diagonal d = 5, n = 40, α = ${alpha}`, model: 'diagonal', p, tEnd: 50 * Math.log(1 / alpha) });
}
{
  const p = createProblem(linear, { dims: { c: 10, d: 10, h: 10 }, alpha: 1e-8, seed: 1, monitors: [] });
  flowCases.push({ name: 'linear c = d = h = 10, α = 1e-8', model: 'linear', p, tEnd: 1.5 * 4 * Math.log(1e8) + 20, c: 10, d: 10 });
}
{
  const p = createProblem(diagonal, { dims: { d: 1000 }, alpha: 1e-4, seed: 0, monitors: [] });
  flowCases.push({ name: 'diagonal d = 1000, n = 40, α = 1e-4', model: 'diagonal', p, tEnd: 100 });
}
}
const RTOL = 1e-10;
const GF_METHODS: OdeMethod[] = ['dopri5', 'dop853'];
const PEER_METHODS = ['RK45', 'DOP853', 'LSODA'];

const flowRows: string[][] = [];
for (const fc of flowCases.filter((c) => matches(c.name))) {
  const atol = RTOL * 1e-3 * stateScale(fc.p.theta0);
  const lean = { tEnd: fc.tEnd, rtol: RTOL, atol, tEval: [fc.tEnd], dense: false };
  const ref = solveFlow(fc.p, { ...lean, method: 'dopri5', rtol: 1e-13, atol: 1e-13 * 1e-3 * stateScale(fc.p.theta0) }).states[0];
  const gfTimes: Record<string, number[]> = {}, gfInfo: Record<string, { err: number; fevals: number }> = {};
  const peerTimes: Record<string, number[]> = {}, peerInfo: Record<string, { err: number; fevals: number }> = {};
  const gfCpu: Record<string, number[]> = {}, peerCpu: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const runGf = (): void => {
      for (const m of GF_METHODS) {
        if (r === 0) solveFlow(fc.p, { ...lean, method: m });
        const c0 = cpuNow(), t0 = performance.now();
        const tr = solveFlow(fc.p, { ...lean, method: m });
        (gfTimes[m] ??= []).push((performance.now() - t0) / 1000);
        (gfCpu[m] ??= []).push(cpuNow() - c0);
        gfInfo[m] = { err: relErr(tr.states[0], ref), fevals: Number(tr.stats.fevals) };
      }
    };
    const runPeer = (): void => {
      const [out] = python([dataJob(fc.p, { kind: 'flow', model: fc.model, c: fc.c, d: fc.d, tEnd: fc.tEnd, rtol: RTOL, atol, methods: PEER_METHODS, rounds: 1 })]);
      for (const m of PEER_METHODS) {
        const o = out[m] as { seconds: number; cpu: number; nfev: number; final: number[] };
        (peerTimes[m] ??= []).push(o.seconds);
        (peerCpu[m] ??= []).push(o.cpu);
        peerInfo[m] = { err: relErr(o.final, ref), fevals: o.nfev };
      }
    };
    if (r % 2) { runPeer(); runGf(); } else { runGf(); runPeer(); }
  }
  const best = (xs: number[]): number => Math.min(...xs);
  const gfBest = GF_METHODS.reduce((a, b) => (best(gfCpu[a]) <= best(gfCpu[b]) ? a : b));
  for (const m of GF_METHODS) {
    flowRows.push([fc.name, `gradflow ${m}`, fmt(best(gfTimes[m])), fmt(best(gfCpu[m])), String(gfInfo[m].fevals), gfInfo[m].err.toExponential(1), m === gfBest ? '←' : '', '']);
  }
  for (const m of PEER_METHODS) {
    const ratios = gfTimes[gfBest].map((g, k) => g / peerTimes[m][k]);
    const cpuRatios = gfCpu[gfBest].map((g, k) => g / peerCpu[m][k]);
    flowRows.push([fc.name, `SciPy ${m}`, fmt(best(peerTimes[m])), fmt(best(peerCpu[m])), String(peerInfo[m].fevals), peerInfo[m].err.toExponential(1), spread(ratios), spread(cpuRatios)]);
  }
}
if (flowRows.length) report(`in-process flow to t_end at rtol ${RTOL} (atol = 1e-3·rtol·min|θ0|, the same on both sides); error = max|θ − θ_ref|/max|θ_ref| at t_end; ratios: gradflow's method with less CPU (←) ÷ this peer, per round`,
  ['problem', 'solver', 'best wall', 'best CPU', 'RHS evals', 'error', 'ratio wall', 'ratio CPU'], flowRows);

// ---------------------------------------------------------------- loss + gradient
interface KernelCase { name: string; model: string; p: Problem; c?: number; d?: number }
const kernelCases: KernelCase[] = !only.has('kernels') ? [] : [
  { name: 'single neuron d = 100, n = 1000', model: 'single-neuron', p: createProblem(singleNeuron, { dims: { d: 100 }, options: { n: 1000, whitened: 0 }, alpha: 0.1, seed: 1, monitors: [] }) },
  { name: 'diagonal d = 100, n = 1000', model: 'diagonal', p: createProblem(diagonal, { dims: { d: 100 }, options: { n: 1000 }, alpha: 0.1, seed: 1, monitors: [] }) },
  // the moment form's cost does not grow with n; NumPy's does
  { name: 'diagonal d = 100, n = 10000', model: 'diagonal', p: createProblem(diagonal, { dims: { d: 100 }, options: { n: 10000 }, alpha: 0.1, seed: 1, monitors: [] }) },
  { name: 'linear c = d = h = 50', model: 'linear', p: createProblem(linear, { dims: { c: 50, d: 50, h: 50 }, alpha: 0.1, seed: 1, monitors: [] }), c: 50, d: 50 },
  // user data with n ≫ d: the vector-output moment form (B from f on the identity rows), flat in n
  ...[1000, 10000].map((nn) => {
    const rng = new Rng(4);
    const data = makeDataset(rng.normalArray(nn * 50), rng.normalArray(nn * 50), nn, 50, 50, 'bench: Gaussian X, Y');
    return { name: `linear c = d = h = 50, n = ${nn} (random data)`, model: 'linear', p: createProblem(linear, { data, dims: { c: 50, d: 50, h: 50 }, alpha: 0.1, seed: 1, monitors: [] }), c: 50, d: 50 };
  }),
];
const kernelRows: string[][] = [];
for (const kc of kernelCases.filter((c) => matches(c.name))) {
  const { X, Y, n } = kc.p.data;
  const g = new Float64Array(kc.p.theta0.length);
  const gf: number[] = [], peer: number[] = [], gfC: number[] = [], peerC: number[] = [];
  let gradErr = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const runGf = (): void => {
      const call = (): number => kc.p.kernels.lossGrad(kc.p.theta0, X, Y, n, g);
      const t = timeIt(call, quick ? 100 : 300);
      gf.push(t);
      gfC.push(cpuIt(call, Math.max(5, Math.round(0.05 / t))));
    };
    const runPeer = (): void => {
      const [o] = python([dataJob(kc.p, { kind: 'lossgrad', model: kc.model, c: kc.c, d: kc.d, reps: 200, rounds: 5 })]) as { seconds: number; cpu: number; grad: number[] }[];
      peer.push(o.seconds);
      peerC.push(o.cpu);
      kc.p.kernels.lossGrad(kc.p.theta0, X, Y, n, g);
      gradErr = relErr(g, o.grad);
    };
    if (r % 2) { runPeer(); runGf(); } else { runGf(); runPeer(); }
  }
  kernelRows.push([kc.name, `n = ${n}`, kc.p.kernels.formFor(X, Y, n), fmt(Math.min(...gf)), fmt(Math.min(...peer)), fmt(Math.min(...gfC)), fmt(Math.min(...peerC)), gradErr.toExponential(1), spread(gf.map((x, k) => x / peer[k])), spread(gfC.map((x, k) => x / peerC[k]))]);
}
if (kernelRows.length) report('loss + gradient, one evaluation (gradflow compiled kernel vs NumPy matrix products), wall (median) and CPU (best batch); form: moments = from Σ_xx, Σ_yx (formed once, not timed), wasm = X β and Xᵀr in WebAssembly SIMD, samples = per-sample loops; grad diff = max relative difference of the two gradients',
  ['problem', 'samples', 'form', 'gradflow', 'NumPy', 'gradflow CPU', 'NumPy CPU', 'grad diff', 'ratio wall', 'ratio CPU'], kernelRows);

// ---------------------------------------------------------------- gradient descent
const gdCases = !only.has('gd') ? [] : [
  { name: 'diagonal d = 100, n = 40', p: createProblem(diagonal, { dims: { d: 100 }, options: { n: 40 }, alpha: 0.1, seed: 1, monitors: [] }), steps: quick ? 5000 : 20000 },
  { name: 'diagonal d = 2000, n = 800', p: createProblem(diagonal, { dims: { d: 2000 }, options: { n: 800 }, alpha: 0.1, seed: 1, monitors: [] }), steps: quick ? 100 : 400 },
];
const gdRows: string[][] = [];
for (const gc of gdCases) {
  const lr = 1e-3;
  const gf: number[] = [], peer: number[] = [], gfC: number[] = [], peerC: number[] = [];
  let diff = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const runGf = (): void => {
      solveDescent(gc.p, { lr, steps: Math.ceil(gc.steps / 10) });
      const c0 = cpuNow(), t0 = performance.now();
      const tr = solveDescent(gc.p, { lr, steps: gc.steps });
      gf.push((performance.now() - t0) / 1000);
      gfC.push(cpuNow() - c0);
      const [o] = r === 0 ? (python([dataJob(gc.p, { kind: 'gd', model: 'diagonal', lr, steps: gc.steps, rounds: 1 })]) as { final: number[] }[]) : [null];
      if (o) diff = relErr(tr.states[tr.states.length - 1], o.final);
    };
    const runPeer = (): void => {
      const [o] = python([dataJob(gc.p, { kind: 'gd', model: 'diagonal', lr, steps: gc.steps, rounds: 2 })]) as { seconds: number; cpu: number }[];
      peer.push(o.seconds);
      peerC.push(o.cpu);
    };
    if (r % 2) { runPeer(); runGf(); } else { runGf(); runPeer(); }
  }
  const sps = (s: number): string => Math.round(gc.steps / s).toLocaleString('en-US');
  gdRows.push([gc.name, String(gc.steps), sps(Math.min(...gf)), sps(Math.min(...peer)), diff.toExponential(1), spread(gf.map((x, k) => x / peer[k])), spread(gfC.map((x, k) => x / peerC[k]))]);
}
if (gdRows.length) report('gradient descent, float64, lr = 1e-3: steps per second of wall clock (gradflow solveDescent vs a NumPy loop); θ diff = relative difference of the final states; ratios = time ÷ time',
  ['problem', 'steps', 'gradflow steps/s', 'NumPy steps/s', 'θ diff', 'ratio wall', 'ratio CPU'], gdRows);

// ---------------------------------------------------------------- whole process
if (only.has('process')) {
  const alpha = 1e-4, tEnd = 200;
  const p = createProblem(diagonal, { alpha, seed: 0, monitors: [] });
  const dir = mkdtempSync(join(tmpdir(), 'gradflow-peers-'));
  const X: number[][] = [], y: number[] = [];
  for (let j = 0; j < p.data.n; j++) {
    X.push(Array.from(p.data.X.subarray(j * p.data.dIn, (j + 1) * p.data.dIn)));
    y.push(p.data.Y[j]);
  }
  const dataFile = join(dir, 'data.json');
  writeFileSync(dataFile, JSON.stringify({ X, y }));
  const gfCmd = [join(root, 'bin', 'gradflow.js'), 'flow', 'diagonal', '--data', dataFile, '--alpha', String(alpha), '--t', String(tEnd), '--rtol', '1e-10'];
  const pyCmd = [join(here, 'scipy_flow_cli.py'), dataFile, String(alpha), String(tEnd), '1e-10'];
  const wall = (cmd: string, args: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const bare = (): number => wall(process.execPath, ['-e', '0']);
  const gf: number[] = [], peer: number[] = [], nodeBare: number[] = [];
  for (let r = 0; r < (quick ? 3 : 7); r++) {
    if (r % 2) { peer.push(wall('python3', pyCmd)); gf.push(wall(process.execPath, gfCmd)); }
    else { gf.push(wall(process.execPath, gfCmd)); peer.push(wall('python3', pyCmd)); }
    nodeBare.push(bare());
  }
  const list: number[] = [];
  for (let r = 0; r < (quick ? 3 : 7); r++) list.push(wall(process.execPath, [join(root, 'bin', 'gradflow.js'), 'list']));
  report('whole process, wall clock (start-up included): `gradflow flow diagonal` (d = 5, n = 40, α = 1e-4, t = 200, rtol 1e-10, 11 checkpoints) vs `python3 scipy_flow_cli.py` (SciPy DOP853, same data and checkpoints)',
    ['command', 'best', 'ratio'], [
      ['gradflow flow diagonal …', fmt(Math.min(...gf)), ''],
      ['python3 + SciPy DOP853', fmt(Math.min(...peer)), spread(gf.map((x, k) => x / peer[k]))],
      ['gradflow list', fmt(Math.min(...list)), `${(Math.min(...list) / Math.min(...nodeBare)).toFixed(2)} × node -e 0`],
      ['node -e 0', fmt(Math.min(...nodeBare)), ''],
    ]);
}
