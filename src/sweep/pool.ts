/**
 * Computes sweep cells on a pool of worker processes (node:child_process fork, IPC with
 * structured-clone serialisation), and hands each finished line to the caller as it arrives
 * (completion order). N workers are N forked processes, or this process and N − 1 forked ones
 * when it runs single-threaded too (below); with one worker it computes in this process alone. A worker that hits a bug (anything but a GradflowError, which
 * the cell records itself) stops the whole pool.
 *
 * Why processes, started with `--single-threaded`: a V8 isolate with default flags runs its
 * optimising compiler and garbage collector on background threads, so one sweep worker already
 * keeps ~1.4 cores busy, and N workers on N cores fight over them; most of that background work
 * is the JIT warming up the solvers, which every isolate pays again. V8 flags are per process
 * (worker_threads cannot take them), so each worker is a process with its compiler and GC on its
 * own thread: N workers use N cores, and the total CPU of a sweep drops (bench/sweep.ts).
 * Workers stay up for the whole grid (one warm-up each) and always hold the next cell, so a
 * worker never waits for the main process between cells.
 *
 * Workers run from the sources under tsx (development, tests: src/sweep/worker.ts with tsx's
 * loader) and from the build (its own entry, dist/sweep-worker.js; scripts/build.mjs).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { GradflowError } from '../util/errors.ts';
import type { SweepCell } from './grid.ts';
import { cellLine, resolveContextModel, runCellBatch, type SweepContext } from './cell.ts';

/** Work goes out in groups (one cell, or a batch of one width's cells: runCellBatch); each group's lines come back together. */
export type PoolRequest = { type: 'init'; context: SweepContext } | { type: 'cells'; cells: SweepCell[] };
export type PoolReply = { type: 'ready' } | { type: 'done'; lines: [number, string][] } | { type: 'fatal'; message: string; stack: string };

/** Workers to use by default: every core. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export const MAX_WORKERS = 512;

/** V8 flags of a pooled worker: compiler and GC on the worker's own thread (see above). */
export const WORKER_V8_FLAGS = ['--single-threaded'];

/** Groups handed to a worker ahead of its answers: the one it computes and the next. */
const PREFETCH = 2;

/**
 * Hands out cells in contiguous blocks, one per worker, front to back; a worker whose block is
 * empty takes from the back of the block with the most left. Cells are in grid order (widths
 * outermost), so a worker mostly stays on one width and warms one set of kernels up, not all.
 */
export class BlockQueue {
  private lo: number[];
  private hi: number[];
  constructor(total: number, blocks: number) {
    this.lo = Array.from({ length: blocks }, (_, q) => Math.floor((q * total) / blocks));
    this.hi = Array.from({ length: blocks }, (_, q) => Math.floor(((q + 1) * total) / blocks));
  }
  /** The next cell position for worker q, or null when every block is empty. */
  take(q: number): number | null {
    if (this.lo[q] < this.hi[q]) return this.lo[q]++;
    let best = -1;
    for (let b = 0; b < this.lo.length; b++) if (this.hi[b] - this.lo[b] > 0 && (best < 0 || this.hi[b] - this.lo[b] > this.hi[best] - this.lo[best])) best = b;
    return best < 0 ? null : --this.hi[best];
  }
}

function workerEntry(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    // the build bundles this module into dist/ or dist/chunks/; the worker is its own entry, dist/sweep-worker.js
    for (const rel of ['./sweep-worker.js', '../sweep-worker.js']) {
      const path = fileURLToPath(new URL(rel, here));
      if (existsSync(path)) return { path, execArgv: [...WORKER_V8_FLAGS] };
    }
    throw new GradflowError('sweep --workers: dist/sweep-worker.js is missing (rebuild with npm run build, or use --workers 1)');
  }
  const req = createRequire(here);
  let loader: string;
  try {
    loader = join(dirname(req.resolve('tsx/package.json')), 'dist', 'loader.mjs');
  } catch {
    throw new GradflowError('sweep --workers: running from TypeScript sources needs the tsx package (npm install), or run the built dist/');
  }
  if (!existsSync(loader)) throw new GradflowError(`sweep --workers: tsx's loader is not at ${loader} (tsx version?); use --workers 1 or the built dist/`);
  return { path: fileURLToPath(new URL('./worker.ts', here)), execArgv: [...WORKER_V8_FLAGS, '--import', pathToFileURL(loader).href] };
}

function spawn(): ChildProcess {
  const { path, execArgv } = workerEntry();
  return fork(path, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/**
 * Forked workers started ahead of the grid: a command starts them first thing, so their process
 * start and module load (~0.1 s each) overlap its own set-up (parsing, the model, one problem per
 * width). computeCells uses them (and forks more if it needs more); release() ends the ones it
 * did not use, and must be called on every path out of the command (a connected child keeps this
 * process alive).
 */
export class WorkerPool {
  private idle: ChildProcess[];
  constructor(count: number) {
    this.idle = Array.from({ length: Math.max(0, count) }, () => spawn());
  }
  /** `count` live workers: the prestarted ones first, then freshly forked. */
  take(count: number): ChildProcess[] {
    const live = this.idle.filter((w) => w.exitCode === null && w.signalCode === null && w.connected);
    for (const w of this.idle) if (!live.includes(w)) w.kill();
    const out = live.splice(0, count);
    this.idle = live;
    while (out.length < count) out.push(spawn());
    return out;
  }
  release(): void {
    for (const w of this.idle) if (w.connected) w.disconnect();
    this.idle = [];
  }
}

/**
 * Whether this process runs V8 single-threaded, as the forked workers do. Only then does it
 * compute cells itself: with node's default flags its JIT and GC threads make each cell cost
 * ~1.3× the CPU (bench/sweep.ts: 8.56 vs 6.43 s for 240 cells), which on a machine with a core
 * per worker is CPU the workers lack; it then only hands out cells.
 */
export function mainSingleThreaded(): boolean {
  // node refuses --single-threaded in NODE_OPTIONS, and setting it at run time (v8.setFlagsFromString) aborts V8
  return process.execArgv.includes('--single-threaded');
}

/** The forked workers of a run with `workers` computing processes: N − 1 when this process computes too, else N (none for one). */
export function forkedWorkers(workers: number): number {
  const n = Math.max(1, Math.floor(workers));
  return n === 1 ? 0 : mainSingleThreaded() ? n - 1 : n;
}

/**
 * Computes `cells` and calls `onLine` with each cell's line as it finishes. Resolves when all
 * are done; rejects on the first failure (after stopping the workers).
 *
 * With n ≥ 2 and this process single-threaded (mainSingleThreaded), n − 1 forked workers and
 * this process compute: it has the model and its kernels already (the command built one problem
 * per width), so it pays no start-up and no second warm-up, and it computes between its
 * workers' messages (one group, then the event loop: every worker always holds its next
 * group, so none waits while one runs here). Otherwise n forked workers compute.
 */
export async function computeCells(ctx: SweepContext, cells: SweepCell[], workers: number, onLine: (index: number, line: string) => void, prestarted?: WorkerPool, batch = 1): Promise<void> {
  const groups = cellGroups(cells, batch);
  const n = Math.min(Math.max(1, Math.floor(workers)), groups.length);
  const compute = (def: ReturnType<typeof resolveContextModel>, group: SweepCell[]): [number, string][] => runCellBatch(ctx, def, group).map((r) => [r.index, cellLine(r)]);
  if (n <= 1) {
    prestarted?.release();
    if (groups.length === 0) return;
    const def = resolveContextModel(ctx);
    for (const group of groups) {
      for (const [index, line] of compute(def, group)) onLine(index, line);
      // let timers (progress) and signals in between groups
      await new Promise((r) => setImmediate(r));
    }
    return;
  }
  const def = resolveContextModel(ctx);
  const forks = forkedWorkers(n);
  // the first block is this process's when it computes (forks = n − 1)
  const first = n - forks;
  const pool = (prestarted ?? new WorkerPool(0)).take(forks);
  prestarted?.release();
  await new Promise<void>((resolve, reject) => {
    const queue = new BlockQueue(groups.length, n);
    let done = 0, settled = false;
    const stop = (): void => {
      for (const w of pool) if (w.exitCode === null && w.signalCode === null) w.kill();
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      stop();
      reject(err);
    };
    const finished = (lines: [number, string][]): void => {
      for (const [index, line] of lines) onLine(index, line);
      if (++done === groups.length) {
        settled = true;
        // disconnecting lets each worker exit once its queue is empty
        for (const x of pool) if (x.connected) x.disconnect();
        resolve();
      }
    };
    const feed = (q: number, w: ChildProcess, outstanding: { n: number }): void => {
      while (!settled && outstanding.n < PREFETCH) {
        const at = queue.take(q);
        if (at === null) return;
        outstanding.n++;
        w.send({ type: 'cells', cells: groups[at] } satisfies PoolRequest);
      }
    };
    pool.forEach((w, k) => {
      const q = k + first;
      const outstanding = { n: 0 };
      w.on('message', (m: PoolReply) => {
        if (settled) return;
        if (m.type === 'fatal') return fail(Object.assign(new Error(`sweep worker: ${m.message}`), { stack: m.stack }));
        if (m.type === 'done') {
          outstanding.n--;
          try {
            finished(m.lines);
          } catch (err) {
            return fail(err as Error);
          }
        }
        feed(q, w, outstanding);
      });
      w.on('error', (err) => fail(err));
      w.on('exit', (code, signal) => {
        if (!settled) fail(new Error(`sweep worker exited (${signal ?? `code ${code}`}) before the sweep finished`));
      });
      w.send({ type: 'init', context: ctx } satisfies PoolRequest);
      feed(q, w, outstanding);
    });
    const here = (): void => {
      if (settled) return;
      const at = queue.take(0);
      if (at === null) return;
      try {
        finished(compute(def, groups[at]));
      } catch (err) {
        return fail(err as Error);
      }
      setImmediate(here);
    };
    if (first === 1) setImmediate(here);
  });
}

/**
 * The units of work: runs of consecutive cells of one width, at most `batch` long (batch 1: one
 * cell each). The cells come in grid order, so a group is one width's seeds (and alphas).
 */
export function cellGroups(cells: SweepCell[], batch: number): SweepCell[][] {
  const B = Math.max(1, Math.floor(batch));
  const groups: SweepCell[][] = [];
  let key = '';
  for (const c of cells) {
    const k = JSON.stringify(c.dims);
    const last = groups[groups.length - 1];
    if (last && k === key && last.length < B) last.push(c);
    else groups.push([c]);
    key = k;
  }
  return groups;
}
