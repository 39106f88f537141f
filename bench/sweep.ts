/**
 * Sweep speed-up on a worker pool: the grid (3 alpha × 10 seeds × 2 widths) of the
 * diagonal network and of the two-layer linear network, through the built CLI (bin/gradflow →
 * dist/), with --workers 1 and --workers N (N = 2, and every core when there are more). Pooled
 * workers are processes started with the V8 flags in src/sweep/pool.ts (WORKER_V8_FLAGS); the
 * one-worker run computes in the CLI's own process with node's default flags, so the bench
 * also times one worker under the pool's flags (`node --single-threaded … --workers 1`), the
 * like-for-like baseline. Prints wall and CPU seconds (bash `time`, the whole process tree),
 * ratios measured in this run, the load average, and checks that the cells files are
 * byte-identical. Needs dist/ (npm run build). `BENCH_SWEEP_SMALL=1` runs a 3 × 4 × 2 grid,
 * `BENCH_SWEEP_SEEDS=0..39` a larger one, `BENCH_SWEEP_MODEL=diagonal|linear` one model.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_V8_FLAGS } from '../src/sweep/pool.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'gradflow.js');
if (!existsSync(join(root, 'dist', 'sweep-worker.js'))) {
  console.log('skipped: dist/ is not built (npm run build)');
  process.exit(0);
}
// BENCH_SWEEP_SEEDS=0..39 runs a larger grid: the per-worker start-up and JIT warm-up are fixed costs, so the speed-up grows with the grid
const seeds = process.env.BENCH_SWEEP_SEEDS ?? (process.env.BENCH_SWEEP_SMALL ? '0..3' : '0..9');
if (!/^\d+(\.\.\d+)?(,\d+(\.\.\d+)?)*$/.test(seeds)) {
  console.log(`BENCH_SWEEP_SEEDS must be a seed list such as 0..39 (got '${seeds}')`);
  process.exit(2);
}
const only = process.env.BENCH_SWEEP_MODEL;
const grids: [string, string[]][] = [
  ['diagonal', ['diagonal', '--alphas', '1e-2,1e-4,1e-8', '--seeds', seeds, '--dim', 'd=5,10']],
  ['linear', ['linear', '--alphas', '1e-2,1e-4,1e-8', '--seeds', seeds, '--dim', 'h=3,4']],
];
const cores = availableParallelism();
interface Config { label: string; workers: number; nodeFlags: string[] }
const configs: Config[] = [
  { label: '1 worker (default V8 flags)', workers: 1, nodeFlags: [] },
  { label: `1 worker (${WORKER_V8_FLAGS.join(' ')})`, workers: 1, nodeFlags: WORKER_V8_FLAGS },
  ...[...new Set([2, cores])].filter((n) => n <= Math.max(2, cores)).map((n) => ({ label: `${n} workers`, workers: n, nodeFlags: [] })),
];
const tmp = mkdtempSync(join(tmpdir(), 'gradflow-bench-sweep-'));
const load = (): string => loadavg()[0].toFixed(1);
console.log(`${cores} cores, load average ${load()}; grid 3 alpha × ${seeds} seeds × 2 widths per model; seconds through bin/gradflow (dist/)`);
for (const [name, argv] of grids.filter(([g]) => !only || g === only)) {
  const wall: number[] = [], cpu: number[] = [];
  let refCells: string | null = null;
  for (const [q, c] of configs.entries()) {
    const out = join(tmp, `${name}-${q}`);
    const cmd = [process.execPath, ...c.nodeFlags, bin, 'sweep', ...argv, '--workers', String(c.workers), '--out', out, '--json'].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time ${cmd} > /dev/null`], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`${name}: ${c.label} failed: ${r.stderr.trim()}`);
      process.exit(1);
    }
    const [w, user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
    wall[q] = w;
    cpu[q] = user + sys;
    const cells = readFileSync(join(out, 'cells.jsonl'), 'utf8');
    if (refCells === null) refCells = cells;
    else if (cells !== refCells) {
      console.log(`${name}: cells.jsonl differs between ${configs[0].label} and ${c.label}`);
      process.exit(1);
    }
  }
  console.log(`${name} (load average now ${load()}):`);
  for (const [q, c] of configs.entries()) {
    const vs = q < 2 ? '' : ` · speed-up ${(wall[0] / wall[q]).toFixed(2)}× vs default 1 worker, ${(wall[1] / wall[q]).toFixed(2)}× vs like-for-like 1 worker; N·cpu₁/cpu_N = ${((c.workers * cpu[1]) / cpu[q]).toFixed(2)}`;
    console.log(`  ${c.label.padEnd(34)} ${wall[q].toFixed(2).padStart(7)} s wall ${cpu[q].toFixed(2).padStart(7)} s CPU${vs}`);
  }
  console.log(`  cells.jsonl identical across all runs`);
}
rmSync(tmp, { recursive: true, force: true });
