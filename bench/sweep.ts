/**
 * Sweep speed-up on a worker pool: the grid (3 alpha × 10 seeds × 2 widths) of the
 * diagonal network and of the two-layer linear network, through the built CLI (bin/gradflow →
 * dist/), with --workers 1 and --workers N (N = 2, and every core when there are more). Prints
 * wall-clock ratios measured in this run, and checks that the cells files are byte-identical.
 * Needs dist/ (npm run build). `BENCH_SWEEP_SMALL=1` runs a 3 × 4 × 2 grid instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'gradflow.js');
if (!existsSync(join(root, 'dist', 'sweep-worker.js'))) {
  console.log('skipped: dist/ is not built (npm run build)');
  process.exit(0);
}
const seeds = process.env.BENCH_SWEEP_SMALL ? '0..3' : '0..9';
const grids: [string, string[]][] = [
  ['diagonal', ['diagonal', '--alphas', '1e-2,1e-4,1e-8', '--seeds', seeds, '--dim', 'd=5,10']],
  ['linear', ['linear', '--alphas', '1e-2,1e-4,1e-8', '--seeds', seeds, '--dim', 'h=3,4']],
];
const cores = availableParallelism();
const counts = [...new Set([1, 2, cores])].filter((n) => n <= Math.max(2, cores));
const tmp = mkdtempSync(join(tmpdir(), 'gradflow-bench-sweep-'));
console.log(`${cores} cores, load average ${loadavg()[0].toFixed(1)}; grid 3 alpha × ${seeds} seeds × 2 widths per model; wall-clock seconds through bin/gradflow (dist/)`);
for (const [name, argv] of grids) {
  const secs: Record<number, number> = {}, cpu: Record<number, number> = {};
  let refCells: string | null = null;
  for (const n of counts) {
    const out = join(tmp, `${name}-${n}`);
    const cmd = [process.execPath, bin, 'sweep', ...argv, '--workers', String(n), '--out', out, '--json'].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time ${cmd} > /dev/null`], { encoding: 'utf8' });
    const [wall, user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
    secs[n] = wall;
    cpu[n] = user + sys;
    if (r.status !== 0) {
      console.log(`${name}: --workers ${n} failed: ${r.stderr.trim()}`);
      process.exit(1);
    }
    const cells = readFileSync(join(out, 'cells.jsonl'), 'utf8');
    if (refCells === null) refCells = cells;
    else if (cells !== refCells) {
      console.log(`${name}: cells.jsonl differs between --workers 1 and ${n}`);
      process.exit(1);
    }
  }
  const rows = counts.map((n) => `--workers ${n}: ${secs[n].toFixed(1)} s wall (speed-up ${(secs[1] / secs[n]).toFixed(2)}×), ${cpu[n].toFixed(1)} s CPU (N·cpu₁/cpu_N = ${((n * cpu[1]) / cpu[n]).toFixed(2)})`);
  console.log(`${name}: ${rows.join('; ')}; cells.jsonl identical`);
}
rmSync(tmp, { recursive: true, force: true });
