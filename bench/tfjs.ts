/**
 * Gradient-descent steps per second: gradflow's float64 loop against the TensorFlow.js engines
 * that are installed (cpu, wasm; node and node-gpu when present), on the diagonal network
 * f = Σ_i u_i v_i x_i at a small and a large size. Ratios are against float64 in the same run.
 * Each figure is the median of 3 timed runs of K steps (K chosen so one run takes ≥ 0.5 s),
 * θ and the loss recorded only at steps 0 and K; the per-run model build is included.
 */
import { createProblem, type Problem } from '../src/problem.ts';
import { float64Backend, solveDescent, type DescentBackend } from '../src/solvers/descent.ts';
import { tfjsBackend, type TfjsKind } from '../src/backends/tfjs.ts';
import { diagonal } from '../models/diagonal.ts';
import { report } from './timing.ts';

function stepsPerSecond(p: Problem, backend: DescentBackend, lr: number): number {
  const runFor = (steps: number): number => {
    const t0 = performance.now();
    solveDescent(p, { lr, steps, recordEvery: steps, backend });
    return (performance.now() - t0) / 1000;
  };
  runFor(20); // warm-up: JIT, engine kernels
  let K = 20;
  while (runFor(K) < 0.5) K *= 2;
  const times = [runFor(K), runFor(K), runFor(K)].sort((a, b) => a - b);
  return K / times[1];
}

const backends: DescentBackend[] = [float64Backend];
const skipped: string[] = [];
for (const kind of ['cpu', 'wasm', 'node', 'node-gpu'] as TfjsKind[]) {
  try {
    backends.push(await tfjsBackend({ preference: kind }));
  } catch (err) {
    skipped.push(`tfjs-${kind}: ${(err as Error).message}`);
  }
}

const rows: string[][] = [];
for (const [d, n] of [[100, 40], [2000, 800]]) {
  const p = createProblem(diagonal, { dims: { d }, alpha: 0.1, seed: 1, options: { n } });
  // a stable step for this data: the largest input variance is 1 (covariance diag(1, 1/2, …))
  const lr = 0.05;
  const ref = stepsPerSecond(p, float64Backend, lr);
  for (const b of backends) {
    const sps = b === float64Backend ? ref : stepsPerSecond(p, b, lr);
    rows.push([`d = ${d}, n = ${n}`, b.name, sps.toFixed(0), (sps / ref).toFixed(2)]);
  }
}
report('GD steps per second, diagonal network (loss 1/(2n) sum of squares; alpha = 0.1; lr = 0.05; median of 3)', ['problem', 'backend', 'steps/s', 'vs float64'], rows);
for (const s of skipped) console.log(`skipped ${s}`);
