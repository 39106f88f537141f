/**
 * Sweep speed-up on the worker pool: the issue's grid (3 alpha × 10 seeds × 2 widths) of the
 * diagonal network and of the two-layer linear network, through the built CLI (bin/gradflow →
 * dist/), with --workers 1 and --workers N (N = 2, and every core when there are more: N forked
 * workers; src/sweep/pool.ts), and `node --single-threaded … --workers 2` (the command computes
 * beside one forked worker). The one-worker run computes in the CLI's own process with node's
 * default flags (its JIT and GC on background threads: ~1.4 cores busy); the bench also times it
 * under the forked workers' flags (`node --single-threaded … --workers 1`), the like-for-like
 * baseline.
 *
 * The machine is shared (other jobs load it), so each configuration runs BENCH_SWEEP_ROUNDS times
 * (default 2, interleaved) and the least wall time is kept, and every node process of a run
 * reports its own CPU seconds at exit (a preload through NODE_OPTIONS, inherited by the forked
 * workers). Printed: wall, CPU of the process tree, the busiest process's CPU, N·cpu₁/cpu_N (the
 * CPU the pool adds), and an idle-machine estimate that load does not move much: a single-threaded
 * run's wall is its CPU, and an N-worker run's is at best serial + (cpu_N − serial)/N, the serial
 * part measured as the CPU of the same command resuming the complete grid (start, set-up, tables,
 * report files). The cells files are checked byte-identical. Needs dist/ (npm run build).
 * Last, a grid with gd (2 alpha × 4 seeds × 2 widths) with --batch 1 and --batch 8 (a width's
 * eight descents stepped together, src/sweep/batched-gd.ts; BENCH_SWEEP_GD=0 skips it).
 * `BENCH_SWEEP_SMALL=1` runs a 3 × 4 × 2 grid, `BENCH_SWEEP_SEEDS=0..39` a larger one,
 * `BENCH_SWEEP_MODEL=diagonal|linear|gd` one of the three.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
const rounds = Math.max(1, Math.floor(Number(process.env.BENCH_SWEEP_ROUNDS ?? 2)));
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
  { label: `2 workers (main ${WORKER_V8_FLAGS.join(' ')})`, workers: 2, nodeFlags: WORKER_V8_FLAGS },
];
const tmp = mkdtempSync(join(tmpdir(), 'gradflow-bench-sweep-'));
// every node process of a run appends "cpu-seconds" to $GRADFLOW_BENCH_CPU at exit
const preload = join(tmp, 'cpu-at-exit.mjs');
writeFileSync(preload, "import { appendFileSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.cpuUsage(); if (process.env.GRADFLOW_BENCH_CPU) appendFileSync(process.env.GRADFLOW_BENCH_CPU, `${(u.user + u.system) / 1e6}\\n`); });\n");
const load = (): string => loadavg()[0].toFixed(1);

interface Timing { wall: number; cpu: number; busiest: number; processes: number }

function once(name: string, argv: string[], c: Config, out: string, resume = false): Timing {
  const cpuFile = join(tmp, 'cpu.txt');
  rmSync(cpuFile, { force: true });
  if (!resume) rmSync(out, { recursive: true, force: true });
  const cmd = [process.execPath, ...c.nodeFlags, bin, 'sweep', ...argv, '--workers', String(c.workers), '--out', out, '--json', ...(resume ? ['--resume'] : [])].map((a) => `'${a}'`).join(' ');
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(preload).href}`.trim(), GRADFLOW_BENCH_CPU: cpuFile };
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time ${cmd} > /dev/null`], { encoding: 'utf8', env });
  if (r.status !== 0) {
    console.log(`${name}: ${c.label} failed: ${r.stderr.trim()}`);
    process.exit(1);
  }
  const [wall, user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  const per = readFileSync(cpuFile, 'utf8').trim().split('\n').map(Number);
  return { wall, cpu: user + sys, busiest: Math.max(...per), processes: per.length };
}

console.log(`${cores} cores, load average ${load()}; grid 3 alpha × ${seeds} seeds × 2 widths per model; seconds through bin/gradflow (dist/); least of ${rounds} rounds`);
for (const [name, argv] of grids.filter(([g]) => !only || g === only)) {
  const best: Timing[] = [];
  let refCells: string | null = null;
  const loads: string[] = [];
  for (let round = 0; round < rounds; round++) {
    loads.push(load());
    for (const [q, c] of configs.entries()) {
      const out = join(tmp, `${name}-${q}`);
      const t = once(name, argv, c, out);
      // each figure's least over the rounds (the least disturbed by other jobs)
      const b = best[q];
      best[q] = b ? { wall: Math.min(b.wall, t.wall), cpu: Math.min(b.cpu, t.cpu), busiest: Math.min(b.busiest, t.busiest), processes: t.processes } : t;
      const cells = readFileSync(join(out, 'cells.jsonl'), 'utf8');
      if (refCells === null) refCells = cells;
      else if (cells !== refCells) {
        console.log(`${name}: cells.jsonl differs between ${configs[0].label} and ${c.label}`);
        process.exit(1);
      }
    }
  }
  // the serial part: the same command resuming the complete grid (start, set-up, reading the cells, the tables and report files)
  const serial = once(name, argv, configs[1], join(tmp, `${name}-1`), true).cpu;
  console.log(`${name} (load average at the rounds' starts ${loads.join(', ')}, now ${load()}); serial part (start, set-up, reports; a --resume of the complete grid) ${serial.toFixed(2)} s CPU:`);
  for (const [q, c] of configs.entries()) {
    const b = best[q];
    // idle N-core machine: the serial part on one core, the rest of the pool's CPU spread over N
    const idle = serial + (b.cpu - serial) / c.workers;
    const vs = q < 2 ? '' : ` · ${(best[0].wall / b.wall).toFixed(2)}× vs default 1 worker, ${(best[1].wall / b.wall).toFixed(2)}× vs like-for-like; N·cpu₁/cpu_N = ${((c.workers * best[1].cpu) / b.cpu).toFixed(2)}; idle estimate cpu₁/(serial + (cpu_N − serial)/N) = ${(best[1].cpu / idle).toFixed(2)}×`;
    console.log(`  ${c.label.padEnd(30)} ${b.wall.toFixed(2).padStart(6)} s wall ${b.cpu.toFixed(2).padStart(6)} s CPU (${b.processes} process${b.processes > 1 ? 'es' : ''}, busiest ${b.busiest.toFixed(2)} s)${vs}`);
  }
  console.log(`  cells.jsonl identical across all runs`);
}

// batched gradient descent (--batch, src/sweep/batched-gd.ts): the same cells with gd, one descent at a time vs 8 stepped together
if (process.env.BENCH_SWEEP_GD !== '0' && (!only || only === 'gd')) {
  const argv = ['diagonal', '--methods', 'agf,gd', '--alphas', '1e-2,1e-4', '--seeds', '0..3', '--dim', 'd=5,10'];
  const st = configs[1];
  const best: Timing[] = [];
  let refCells: string | null = null;
  const batches = [1, 8];
  for (let round = 0; round < rounds; round++) {
    for (const [q, b] of batches.entries()) {
      const out = join(tmp, `gd-${q}`);
      const t = once('diagonal gd', [...argv, '--batch', String(b)], st, out);
      const prev = best[q];
      best[q] = prev ? { wall: Math.min(prev.wall, t.wall), cpu: Math.min(prev.cpu, t.cpu), busiest: Math.min(prev.busiest, t.busiest), processes: t.processes } : t;
      const cells = readFileSync(join(out, 'cells.jsonl'), 'utf8');
      if (refCells === null) refCells = cells;
      else if (cells !== refCells) {
        console.log(`diagonal gd: cells.jsonl differs between --batch 1 and --batch ${b}`);
        process.exit(1);
      }
    }
  }
  console.log(`diagonal, methods agf,gd, 2 alpha × 4 seeds × 2 widths, 1 worker ${st.nodeFlags.join(' ')} (load average now ${load()}):`);
  for (const [q, b] of batches.entries()) {
    const vs = q === 0 ? '' : ` · ${(best[0].wall / best[q].wall).toFixed(2)}× wall, ${(best[0].cpu / best[q].cpu).toFixed(2)}× CPU vs --batch 1`;
    console.log(`  --batch ${String(b).padEnd(24)} ${best[q].wall.toFixed(2).padStart(6)} s wall ${best[q].cpu.toFixed(2).padStart(6)} s CPU${vs}`);
  }
  console.log('  cells.jsonl identical');
}
rmSync(tmp, { recursive: true, force: true });
