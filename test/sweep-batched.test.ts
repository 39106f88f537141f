/**
 * Batched gradient descent over a sweep's seeds (src/sweep/batched-gd.ts, runCellBatch): against
 * the unbatched solver, state for state and byte for byte — every path the kernels take on
 * these data (moments: diagonal d = 5; the WebAssembly data pass: d = 10, where the runtime has
 * SIMD; the per-sample kernel: the linear network), runs of different steps and step counts in
 * one batch, a diverging run beside healthy ones, refused options; then whole sweep cells
 * (agf, flow, gd) and the CLI with --batch on 1 and 2 workers against the one-cell-at-a-time run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectBadInput, run } from './helpers/cli.ts';
import { createProblem, type Problem } from '../src/problem.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { defaultStep } from '../src/analysis/runs.ts';
import { batchedDescent, type GdJob } from '../src/sweep/batched-gd.ts';
import { cellLine, runCell, runCellBatch, type SweepContext } from '../src/sweep/cell.ts';
import { gridCells, type SweepGrid } from '../src/sweep/grid.ts';
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { relu } from '../models/relu.ts';
import type { Trajectory } from '../src/trajectory.ts';
import { GradflowError } from '../src/util/errors.ts';
import { wasmAvailable } from '../src/compile/wasm-gemv.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gradflow-sweep-batched-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Everything a trajectory holds, as text: equal text = equal bytes of every number. */
const dump = (tr: Trajectory): string => JSON.stringify({ t: tr.t, states: tr.states.map((s) => Array.from(s)), loss: tr.loss, monitors: tr.monitors, method: tr.method });

function jobsOf(ps: Problem[], steps: (b: number) => number): GdJob[] {
  return ps.map((p, b) => ({ p, lr: defaultStep(p, [p.theta0]), steps: steps(b), recordEvery: 1 + (b % 3) }));
}

describe('batchedDescent equals solveDescent run by run', () => {
  const cases: [string, () => Problem[], string][] = [
    ['diagonal d = 5', () => [0, 1, 2, 3].map((seed) => createProblem(diagonal, { dims: { d: 5 }, alpha: 1e-3, seed })), 'moments'],
    ['diagonal d = 10', () => [0, 1, 2].map((seed) => createProblem(diagonal, { dims: { d: 10 }, alpha: 1e-3, seed })), 'wasm'],
    // the linear network's moments are matrix products in WebAssembly SIMD (wasm-gemm.ts); without SIMD the generic moment path
    ['linear h = 3', () => [0, 1, 2].map((seed) => createProblem(linear, { dims: { h: 3 }, alpha: 1e-3, seed })), 'moments'],
    ['relu h = 3', () => [0, 1, 2].map((seed) => createProblem(relu, { dims: { h: 3 }, alpha: 1e-3, seed })), 'samples'],
  ];
  for (const [name, make, form] of cases) {
    it(`${name} (${form} path): every stored state, loss and step identical, for runs of different lengths in one batch`, () => {
      const ps = make();
      const p0 = ps[0];
      const got = p0.kernels.formFor(p0.data.X, p0.data.Y, p0.data.n);
      // the WebAssembly path needs SIMD; without it the kernels take another path, still compared
      expect(got).toBe((form === 'wasm' || name.startsWith('linear')) && !wasmAvailable() ? got : form);
      const jobs = jobsOf(ps, (b) => 400 + 350 * b);
      const batched = batchedDescent(jobs);
      for (const [b, j] of jobs.entries()) {
        const ref = solveDescent(createProblemLike(j.p), { lr: j.lr, steps: j.steps, recordEvery: j.recordEvery });
        const x = batched[b];
        expect(x).not.toBeInstanceOf(GradflowError);
        expect(dump(x as Trajectory)).toBe(dump(ref));
        expect((x as Trajectory).states.length).toBe(Math.floor(j.steps / j.recordEvery) + (j.steps % j.recordEvery ? 2 : 1));
      }
    });
  }

  it('a diverging run fails with solveDescent\'s error while the others finish; refused options are refused the same way', () => {
    const ps = [0, 1, 2].map((seed) => createProblem(diagonal, { dims: { d: 5 }, alpha: 1e-3, seed }));
    const jobs = jobsOf(ps, () => 300);
    jobs[1] = { ...jobs[1], lr: jobs[1].lr * 500 };
    jobs.push({ p: ps[2], lr: -1, steps: 10, recordEvery: 1 });
    const out = batchedDescent(jobs);
    const refErr = (j: GdJob): string => {
      try {
        solveDescent(j.p, { lr: j.lr, steps: j.steps, recordEvery: j.recordEvery });
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(out[1]).toBeInstanceOf(GradflowError);
    expect((out[1] as GradflowError).message).toBe(refErr(jobs[1]));
    expect((out[1] as GradflowError).message).toMatch(/descent diverged at step \d+/);
    expect(out[3]).toBeInstanceOf(GradflowError);
    expect((out[3] as GradflowError).message).toBe(refErr(jobs[3]));
    for (const b of [0, 2]) expect(dump(out[b] as Trajectory)).toBe(dump(solveDescent(jobs[b].p, { lr: jobs[b].lr, steps: 300, recordEvery: jobs[b].recordEvery })));
  });
});

/** A fresh Problem of the same model, dims, alpha and seed (its own kernels and caches). */
function createProblemLike(p: Problem): Problem {
  return createProblem(p.model, { dims: p.layout.dims, alpha: p.alpha, seed: p.seed });
}

function grid(model: string, dims: [string, number[]][], methods: string[]): SweepGrid {
  return { model, spec: null, data: null, alphas: [1e-2, 1e-3], seeds: [0, 1, 2], dims, options: [], methods, run: { agf: 'auto', lr: null, t: 8 } };
}

describe('runCellBatch gives runCell\'s line for every cell', () => {
  for (const [def, g] of [
    [diagonal, grid('diagonal', [['d', [4]]], ['agf', 'flow', 'gd'])],
    [linear, grid('linear', [['h', [2]]], ['agf', 'gd'])],
  ] as const) {
    it(`${g.model}, methods ${g.methods.join(',')}`, () => {
      const ctx: SweepContext = { grid: g, specText: null, data: null };
      const cells = gridCells(g);
      const lines = runCellBatch(ctx, def, cells).map(cellLine);
      expect(lines).toEqual(cells.map((c) => cellLine(runCell(ctx, def, c))));
      expect(lines.every((l) => JSON.parse(l).status === 'ok')).toBe(true);
      expect(lines.every((l) => /"gd: lr = /.test(l))).toBe(true);
    });
  }

  it('cells whose gd diverges (a given --lr too large for some seeds) get runCell\'s error line, the others their results', () => {
    const g: SweepGrid = { ...grid('diagonal', [['d', [4]]], ['agf', 'gd']), run: { agf: 'auto', lr: 1.2, t: 200 } };
    const ctx: SweepContext = { grid: g, specText: null, data: null };
    const cells = gridCells(g);
    const lines = runCellBatch(ctx, diagonal, cells).map(cellLine);
    expect(lines).toEqual(cells.map((c) => cellLine(runCell(ctx, diagonal, c))));
    const status = lines.map((l) => (JSON.parse(l) as { status: string }).status);
    expect(status).toContain('error');
    expect(status).toContain('ok');
  });
});

describe('sweep --batch', () => {
  const GRID = ['diagonal', '--dim', 'd=3,4', '--alphas', '1e-2,1e-3', '--seeds', '0..2', '--methods', 'agf,gd', '--t', '8'];
  it('on 1 and 2 workers writes the cells of the unbatched run byte for byte', async () => {
    const dirs = ['ref', 'b4', 'b3w2'].map((d) => join(tmp, d));
    const runs = [['--workers', '1'], ['--workers', '1', '--batch', '4'], ['--workers', '2', '--batch', '3']];
    for (const [k, extra] of runs.entries()) {
      const r = await run('sweep', ...GRID, ...extra, '--out', dirs[k]);
      expect(r.code, r.err).toBe(0);
    }
    const ref = readFileSync(join(dirs[0], 'cells.jsonl'), 'utf8');
    expect(ref.trim().split('\n')).toHaveLength(12);
    for (const d of dirs.slice(1)) expect(readFileSync(join(d, 'cells.jsonl'), 'utf8')).toBe(ref);
    for (const f of ['sweep.md', 'sweep.csv']) expect(readFileSync(join(dirs[1], f), 'utf8')).toBe(readFileSync(join(dirs[0], f), 'utf8'));
  });

  it('refuses a batch size out of range, and --batch without gd, in one line', async () => {
    await expectBadInput(['sweep', 'diagonal', '--methods', 'agf,gd', '--batch', '0'], /--batch must lie in 1…64/);
    await expectBadInput(['sweep', 'diagonal', '--methods', 'agf,gd', '--batch', '65'], /--batch must lie in 1…64/);
    await expectBadInput(['sweep', 'diagonal', '--methods', 'agf,flow', '--batch', '4'], /--batch applies to sweeps with gd/);
  });
});
