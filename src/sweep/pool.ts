/**
 * Computes sweep cells on a pool of worker threads (node:worker_threads), one cell per worker
 * at a time, and hands each finished line to the caller as it arrives (completion order). With
 * one worker it computes in this thread. A worker that hits a bug (anything but a
 * GradflowError, which the cell records itself) stops the whole pool with that error.
 *
 * Workers run from the sources under tsx (development, tests) and from the build: from sources
 * the worker is ./worker.ts, booted through tsx's ESM loader (`tsx/esm/api`), so it works under
 * vitest and `tsx`; from dist/ it is the build's own entry dist/sweep-worker.js
 * (scripts/build.mjs), loaded directly.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { GradflowError } from '../util/errors.ts';
import type { SweepCell } from './grid.ts';
import { cellLine, resolveContextModel, runCell, type SweepContext } from './cell.ts';

export type PoolRequest = { type: 'init'; context: SweepContext } | { type: 'cell'; cell: SweepCell };
export type PoolReply = { type: 'ready' } | { type: 'done'; index: number; line: string } | { type: 'fatal'; message: string; stack: string };

/** Workers to use by default: every core. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export const MAX_WORKERS = 512;

function workerEntry(): { url: URL; tsxApi: string | null } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    // the build bundles this module into dist/ or dist/chunks/; the worker is its own entry, dist/sweep-worker.js
    for (const rel of ['./sweep-worker.js', '../sweep-worker.js']) {
      const url = new URL(rel, here);
      if (existsSync(fileURLToPath(url))) return { url, tsxApi: null };
    }
    throw new GradflowError('sweep --workers: dist/sweep-worker.js is missing (rebuild with npm run build, or use --workers 1)');
  }
  const url = new URL('./worker.ts', here);
  // tsx's package exports give `require` the CommonJS build; the worker needs the ESM api
  const req = createRequire(here);
  let api: string;
  try {
    api = join(dirname(req.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs');
  } catch {
    throw new GradflowError('sweep --workers: running from TypeScript sources needs the tsx package (npm install), or run the built dist/');
  }
  if (!existsSync(api)) throw new GradflowError(`sweep --workers: tsx's ESM loader is not at ${api} (tsx version?); use --workers 1 or the built dist/`);
  return { url, tsxApi: pathToFileURL(api).href };
}

const BOOT = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((e) => { setImmediate(() => { throw e; }); });`;

function spawn(): Worker {
  const { url, tsxApi } = workerEntry();
  if (tsxApi === null) return new Worker(url);
  return new Worker(BOOT, { eval: true, workerData: { entry: url.href, tsxApi } });
}

/**
 * Computes `cells` and calls `onLine` with each cell's line as it finishes. Resolves when all
 * are done; rejects on the first worker failure (after terminating the others).
 */
export async function computeCells(ctx: SweepContext, cells: SweepCell[], workers: number, onLine: (index: number, line: string) => void): Promise<void> {
  if (cells.length === 0) return;
  const n = Math.min(Math.max(1, Math.floor(workers)), cells.length);
  if (n === 1) {
    const def = resolveContextModel(ctx);
    for (const cell of cells) {
      onLine(cell.index, cellLine(runCell(ctx, def, cell)));
      // let timers (progress) and signals in between cells
      await new Promise((r) => setImmediate(r));
    }
    return;
  }
  const pool: Worker[] = [];
  await new Promise<void>((resolve, reject) => {
    let next = 0, done = 0, failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of pool) void w.terminate();
      reject(err);
    };
    const feed = (w: Worker): void => {
      if (failed) return;
      if (next < cells.length) w.postMessage({ type: 'cell', cell: cells[next++] } satisfies PoolRequest);
    };
    for (let q = 0; q < n; q++) {
      const w = spawn();
      pool.push(w);
      w.on('message', (m: PoolReply) => {
        if (failed) return;
        if (m.type === 'fatal') return fail(Object.assign(new Error(`sweep worker: ${m.message}`), { stack: m.stack }));
        if (m.type === 'done') {
          try {
            onLine(m.index, m.line);
          } catch (err) {
            return fail(err as Error);
          }
          if (++done === cells.length) {
            for (const x of pool) void x.terminate();
            return resolve();
          }
        }
        feed(w);
      });
      w.on('error', (err) => fail(err));
      w.on('exit', (code) => {
        if (!failed && done < cells.length) fail(new Error(`sweep worker exited with code ${code} before the sweep finished`));
      });
      w.postMessage({ type: 'init', context: ctx } satisfies PoolRequest);
    }
  });
}
