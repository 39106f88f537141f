/**
 * The TensorFlow.js descent backend against gradflow's float64 loop (a second, independent
 * implementation: generated scalar code in double precision vs batched tensor ops in float32).
 *
 * Tolerance: float32 rounds with unit u = 2⁻²⁴ ≈ 6e-8. One step's gradient carries a relative
 * error of a few u per sample sum (n ≤ 40 here: ≲ n·u ≈ 2.4e-6 worst case, ~√n·u typical), and
 * over K steps the errors add (the GD map is at most mildly expanding at these step sizes):
 * ≲ K·(few u) ≈ 200 × 3 × 6e-8 ≈ 4e-5 in θ, relative. 1e-4 leaves a factor ~2.5 of margin over
 * that bound (observed: 2e-7 … 7e-6). A relative criterion on the loss needs the loss to stay away
 * from 0: near an exact fit the residual f − y is a difference of O(‖y‖) numbers known to u‖y‖,
 * so L32 has an absolute floor ~ (u‖y‖)² and its relative error is unbounded. The datasets
 * below therefore have a positive minimum loss (label noise, or a rank-limited model).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createProblem, type Problem } from '../src/problem.ts';
import { solveDescent, type DescentBackend } from '../src/solvers/descent.ts';
import { loadTfjs, tfjsBackend, type LoadedTfjs } from '../src/backends/tfjs.ts';
import { buildTfjsModel } from '../src/backends/tfjs-model.ts';
import { DivergenceError, GradflowError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { singleNeuron } from '../models/single-neuron.ts';
import { diagonal } from '../models/diagonal.ts';
import type { ModelDefinition, ModelSpec } from '../src/spec.ts';
import type { Trajectory } from '../src/trajectory.ts';
import { main } from '../src/cli/main.ts';
import type { CommandIO } from '../src/cli/common.ts';

const TOL = 1e-4;
const STEPS = 200;

/** Two-layer linear, vector output; h = 2 < c = 3 cannot fit the rank-3 teacher, so min L > 0. */
const linearVec: ModelDefinition = {
  spec: { name: 'linear-vec', dims: { d: 4, c: 3, h: 2 }, params: { a: ['c'], w: ['d'] }, inputs: { x: ['d'] }, output: ['c'], neurons: 'h', template: 'a * dot(w, x)' },
};
/** κ = 3 homogeneous quadratic network (the modular-addition architecture). */
const quadratic: ModelDefinition = {
  spec: { name: 'quadratic', dims: { p: 3, h: 4 }, params: { u: ['p'], v: ['p'], w: ['p'] }, inputs: { xa: ['p'], xb: ['p'] }, output: ['p'], neurons: 'h', template: 'w * (dot(u, xa) + dot(v, xb))^2' },
};

interface Case {
  name: string;
  problem: () => Problem;
  lr: number;
}

const CASES: Case[] = [
  { name: 'single neuron (noisy labels)', problem: () => createProblem(singleNeuron, { alpha: 0.1, seed: 3, options: { noise: 0.3 } }), lr: 0.05 },
  { name: 'diagonal network', problem: () => createProblem(diagonal, { alpha: 0.1, seed: 3, options: { noise: 0.1 } }), lr: 0.05 },
  { name: 'two-layer linear, vector output', problem: () => createProblem(linearVec, { alpha: 0.3, seed: 3 }), lr: 0.05 },
  { name: 'κ = 3 quadratic', problem: () => createProblem(quadratic, { alpha: 0.5, seed: 3 }), lr: 0.05 },
];

function maxRelErrors(ref: Trajectory, got: Trajectory): { loss: number; theta: number } {
  expect(got.monitors.step).toEqual(ref.monitors.step);
  let loss = 0, theta = 0;
  for (let k = 0; k < ref.loss.length; k++) {
    loss = Math.max(loss, Math.abs(got.loss[k] - ref.loss[k]) / ref.loss[k]);
    let d = 0, s = 0;
    for (let q = 0; q < ref.states[k].length; q++) {
      d += (got.states[k][q] - ref.states[k][q]) ** 2;
      s += ref.states[k][q] ** 2;
    }
    theta = Math.max(theta, Math.sqrt(d / s));
  }
  return { loss, theta };
}

let cpu: DescentBackend;
let cpuLib: LoadedTfjs;
beforeAll(async () => {
  cpuLib = await loadTfjs('cpu');
  cpu = await tfjsBackend({ preference: 'cpu' });
});

describe('tfjs-cpu descent matches the float64 backend to float32 accuracy', () => {
  for (const c of CASES) {
    for (const momentum of [0, 0.9]) {
      it(`${c.name}, ${momentum === 0 ? 'gradient descent' : `momentum ${momentum}`}`, () => {
        const p = c.problem();
        const lr = momentum === 0 ? c.lr : c.lr / 5;
        const ref = solveDescent(p, { lr, steps: STEPS, momentum, recordEvery: 10 });
        const got = solveDescent(p, { lr, steps: STEPS, momentum, recordEvery: 10, backend: cpu });
        // the run must go somewhere, or agreement would be trivial
        expect(ref.loss.at(-1)!).toBeLessThan(0.9 * ref.loss[0]);
        expect(ref.loss.at(-1)!).toBeGreaterThan(1e-3 * ref.loss[0]);
        const e = maxRelErrors(ref, got);
        expect(e.theta).toBeLessThan(TOL);
        expect(e.loss).toBeLessThan(TOL);
        expect(got.stats.backend).toBe('tfjs-cpu (float32)');
        expect(got.t).toEqual(ref.t);
      });
    }
  }
});

/** The per-step pieces a trajectory test could average away: one gradient against the compiled kernel. */
const GRADIENT_SPECS: ModelSpec[] = [
  { name: 'relu', dims: { d: 3, h: 4 }, params: { a: [], w: ['d'], b: [] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'a * relu(dot(w, x) + b)' },
  { name: 'matrix', dims: { d: 3, m: 2 }, params: { A: ['m', 'd'], b: ['m'] }, inputs: { x: ['d'] }, output: [], neurons: 2, template: 'sum(b * relu(A @ x)) + sq(dot(b, A @ x))' },
  { name: 'per-neuron index', dims: { d: 3, h: 3 }, params: { w: ['h'], a: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 'h', template: 'w[i] * dot(a, x)^3' },
  { name: 'outer/transpose', dims: { d: 3, m: 2 }, params: { u: ['m'], v: ['d'] }, inputs: { x: ['d'] }, output: ['m'], neurons: 2, template: 'transpose(outer(v, u)) @ x + u * x[i]' },
  { name: 'diagonal', dims: { d: 5 }, params: { u: [], v: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd', template: 'u * v * x[i]' },
];

describe('tfjs loss and gradient equal the float64 kernels at a random θ', () => {
  for (const spec of GRADIENT_SPECS) {
    it(spec.name, () => {
      const p = createProblem({ spec }, { seed: 5 });
      const { tf } = cpuLib;
      const rng = new Rng(11);
      const th = rng.normalArray(p.layout.H * p.layout.P);
      const { X, Y, n } = p.data;
      const g64 = new Float64Array(th.length);
      const L64 = p.kernels.lossGrad(th, X, Y, n, g64);
      const model = buildTfjsModel(tf, p.derived, p.layout, X, Y, n);
      try {
        let L32 = NaN, g32 = new Float64Array(0);
        tf.tidy(() => {
          const { loss, grad } = model.lossAndGrad(tf.tensor2d(Float32Array.from(th), [p.layout.H, p.layout.P]));
          L32 = loss.dataSync()[0];
          g32 = Float64Array.from(grad.dataSync());
        });
        expect(Math.abs(L32 - L64) / L64).toBeLessThan(1e-5);
        const scale = Math.max(...g64.map(Math.abs));
        for (let q = 0; q < g64.length; q++) expect(Math.abs(g32[q] - g64[q])).toBeLessThan(1e-5 * scale);
      } finally {
        model.dispose();
      }
    });
  }
});

describe('divergence', () => {
  it('is a DivergenceError naming the first step with a non-finite loss, whatever the recording interval', () => {
    // just past the stable step size: oscillations grow over a dozen steps before overflowing
    const p = CASES[1].problem();
    const stepOf = (backend: DescentBackend | undefined, recordEvery: number): number => {
      try {
        solveDescent(p, { lr: 3.5, steps: 400, recordEvery, backend });
      } catch (err) {
        expect(err).toBeInstanceOf(DivergenceError);
        const m = /diverged at step (\d+)/.exec((err as Error).message);
        expect(m).not.toBeNull();
        return Number(m![1]);
      }
      throw new Error('expected divergence');
    };
    const every = stepOf(cpu, 1);
    expect(every).toBeGreaterThan(5);
    // recording rarely, the step is found by replaying from the last recorded state
    expect(stepOf(cpu, 1000)).toBe(every);
    expect(stepOf(cpu, 4)).toBe(every);
    // float32 overflows (3.4e38) before float64 (1.8e308); once the cubic terms dominate, log|θ|
    // grows geometrically, so the gap from 1e38 to 1e308 is a few steps only
    const ref = stepOf(undefined, 1);
    expect(every).toBeLessThanOrEqual(ref);
    expect(ref - every).toBeLessThanOrEqual(3);
  });
});

describe('engines and options', () => {
  it('the wasm engine agrees with the cpu engine (when installed)', async (ctx) => {
    let wasm: DescentBackend;
    try {
      wasm = await tfjsBackend({ preference: 'wasm' });
    } catch (err) {
      if (err instanceof GradflowError && /not installed/.test(err.message)) ctx.skip();
      throw err;
    }
    const p = CASES[1].problem();
    const ref = solveDescent(p, { lr: 0.05, steps: STEPS, recordEvery: 10 });
    const got = solveDescent(p, { lr: 0.05, steps: STEPS, recordEvery: 10, backend: wasm });
    const e = maxRelErrors(ref, got);
    expect(e.theta).toBeLessThan(TOL);
    expect(e.loss).toBeLessThan(TOL);
    expect(got.stats.backend).toBe('tfjs-wasm (float32)');
    // switching back: the cpu backend selects its engine again
    const again = solveDescent(p, { lr: 0.05, steps: 20, backend: cpu });
    expect(again.stats.backend).toBe('tfjs-cpu (float32)');
  });

  it('leaves no tensors behind, after a normal run and after a divergence', () => {
    const { tf } = cpuLib;
    const before = tf.memory().numTensors;
    solveDescent(CASES[3].problem(), { lr: 0.01, steps: 50, momentum: 0.9, recordEvery: 7, backend: cpu });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => solveDescent(CASES[1].problem(), { lr: 3.5, steps: 100, recordEvery: 30, backend: cpu })).toThrow(DivergenceError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('float64 is refused with a pointer to the float64 backend', async () => {
    await expect(tfjsBackend({ preference: 'cpu', dtype: 'float64' as 'float32' })).rejects.toThrow(/float32 only.*--backend float64/);
  });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const io: CommandIO = { out: (s) => out.push(s), err: (s) => err.push(s), progress: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('CLI --backend', () => {
  it('a missing tfjs-node-gpu is one line and exit code 2', async () => {
    const r = await cli('descent', 'diagonal', '--steps', '5', '--backend', 'tfjs-node-gpu');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/@tensorflow\/tfjs-node-gpu is not installed: npm install @tensorflow\/tfjs-node-gpu \(needs CUDA\) — or use --backend float64/);
  });

  it('a missing tfjs-node is one line and exit code 2', async () => {
    const r = await cli('descent', 'diagonal', '--steps', '5', '--backend', 'tfjs-node');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/@tensorflow\/tfjs-node is not installed/);
  });

  it('an unknown backend is one line and exit code 2', async () => {
    const r = await cli('descent', 'diagonal', '--backend', 'tpu');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown backend 'tpu'.*float64, tfjs-cpu/);
  });

  it('tfjs-cpu runs end to end and reports the float64 result to float32 accuracy', async () => {
    const args = ['descent', 'diagonal', '--alpha', '0.1', '--steps', '100', '--lr', '0.05', '--points', '3', '--json'];
    const a = await cli(...args);
    const b = await cli(...args, '--backend', 'tfjs-cpu');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const ja = JSON.parse(a.out), jb = JSON.parse(b.out);
    expect(ja.stats.backend).toBe('float64');
    expect(jb.stats.backend).toBe('tfjs-cpu (float32)');
    expect(Math.abs(jb.final.loss - ja.final.loss) / ja.final.loss).toBeLessThan(TOL);
    expect(jb.final.theta).toHaveLength(ja.final.theta.length);
    const d = Math.hypot(...ja.final.theta.map((v: number, q: number) => v - jb.final.theta[q]));
    expect(d).toBeLessThan(TOL * Math.hypot(...ja.final.theta));
  });
});
