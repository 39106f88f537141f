/**
 * Sweeps at scale: the same grid gives the same bytes on 1, 2 or 3 worker processes, after a kill
 * and --resume, and as 4 shards merged — by the library, by GNU parallel (Debian's `parallel`,
 * skipped with a message when it is not installed) and by the SLURM array script run with the
 * variables SLURM sets. The reference is always the uninterrupted single-worker run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectBadInput, run } from './helpers/cli.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const GRID = ['diagonal', '--dim', 'd=3', '--opt', 'n=20', '--alphas', '1e-2,1e-3', '--seeds', '0..3'];
const tmp = mkdtempSync(join(tmpdir(), 'gradflow-sweep-'));

/**
 * The CLI as a child process: the build (bin/gradflow → dist/, which `npm test` makes first)
 * when it is there, else these sources through tsx; and a `gradflow` on PATH for shell recipes.
 */
const built = existsSync(join(root, 'dist', 'cli.js')) && existsSync(join(root, 'dist', 'sweep-worker.js'));
const cliArgv = built ? [join(root, 'bin', 'gradflow.js')] : [tsxCli, join(root, 'src/cli/main.ts')];
const binDir = join(tmp, 'bin');
function installShim(): void {
  const shim = join(binDir, 'gradflow');
  spawnSync('mkdir', ['-p', binDir]);
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" ${cliArgv.map((a) => `"${a}"`).join(' ')} "$@"\n`);
  chmodSync(shim, 0o755);
}
const shellEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` });

function files(dir: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(dir).filter((f) => !f.startsWith('.')).sort().map((f) => [f, readFileSync(join(dir, f))]));
}

/** The JSON envelope's command line is this invocation's (schema/gradflow.schema.json); everything else must match. */
function withoutArgv(text: string): unknown {
  const { argv: _a, command: _c, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return rest;
}

/** Every file byte for byte, except the two .json files, equal once their argv/command are set aside. */
function expectSameBytes(dir: string, ref: string): void {
  const a = files(dir), b = files(ref);
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const name of Object.keys(b)) {
    if (name.endsWith('.json')) expect(withoutArgv(a[name].toString('utf8')), name).toEqual(withoutArgv(b[name].toString('utf8')));
    else expect(a[name].equals(b[name]), `${name} differs`).toBe(true);
  }
}

const lineCount = (path: string): number => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').length : 0);

const ref = join(tmp, 'ref');

beforeAll(async () => {
  installShim();
  const r = await run('sweep', ...GRID, '--workers', '1', '--out', ref);
  expect(r.code, r.err).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sweep at scale: same bytes whoever computes the cells', () => {
  it('the reference run has the full grid, in cell order, and the reports', () => {
    const cells = readFileSync(join(ref, 'cells.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; status: string });
    expect(cells.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(cells.every((c) => c.status === 'ok')).toBe(true);
    for (const f of ['grid.json', 'sweep.md', 'sweep.csv', 'sweep.tex', 'sweep.json', 'sweep.svg', 'sweep.png', 'sweep.pdf', 'sweep-extrapolation.csv']) expect(existsSync(join(ref, f)), f).toBe(true);
  });

  it('2 worker processes (from the TypeScript sources, through tsx) give the same bytes as 1', async () => {
    const dir = join(tmp, 'w2');
    const r = await run('sweep', ...GRID, '--workers', '2', '--out', dir);
    expect(r.code, r.err).toBe(0);
    expectSameBytes(dir, ref);
  });

  it('from the build (bin/gradflow → dist/), 3 worker processes give the same bytes (skipped without dist/)', (ctx) => {
    if (!built) {
      console.log('skipped: dist/ is not built (npm test builds it first; or npm run build)');
      ctx.skip();
      return;
    }
    const dir = join(tmp, 'dist');
    const r = spawnSync(process.execPath, [join(root, 'bin', 'gradflow.js'), 'sweep', ...GRID, '--workers', '3', '--out', dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expectSameBytes(dir, ref);
  });

  it('under node --single-threaded the command computes beside its forked worker: same bytes (skipped without dist/)', (ctx) => {
    if (!built) {
      console.log('skipped: dist/ is not built (npm test builds it first; or npm run build)');
      ctx.skip();
      return;
    }
    const dir = join(tmp, 'main-computes');
    const r = spawnSync(process.execPath, ['--single-threaded', join(root, 'bin', 'gradflow.js'), 'sweep', ...GRID, '--workers', '2', '--out', dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expectSameBytes(dir, ref);
  });

  it('killed midway (SIGKILL) and resumed, the final files equal the uninterrupted run', async () => {
    const dir = join(tmp, 'killed');
    const cellsPath = join(dir, 'cells.jsonl');
    const child = spawn(process.execPath, [...cliArgv, 'sweep', ...GRID, '--workers', '1', '--out', dir], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (lineCount(cellsPath) >= 2) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        } else if (Date.now() - t0 > 50_000) {
          clearInterval(poll);
          child.kill('SIGKILL');
          reject(new Error('the sweep wrote no cells within 50 s'));
        }
      }, 10);
    });
    await exited;
    const done = lineCount(cellsPath);
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(8);
    // a kill during a write leaves a torn last line: resume must drop it
    appendFileSync(cellsPath, '{"kind":"gradflow.sweep.cell","schemaVer');
    expect(existsSync(join(dir, 'sweep.md'))).toBe(false);
    const again = await run('sweep', ...GRID, '--workers', '2', '--out', dir);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists: add --resume/);
    const r = await run('sweep', ...GRID, '--workers', '2', '--out', dir, '--resume');
    expect(r.code, r.err).toBe(0);
    expectSameBytes(dir, ref);
  });

  it('--shard k/4 for k = 1…4 then merge equals the unsharded run byte for byte', async () => {
    const shards = [1, 2, 3, 4].map((k) => join(tmp, `shard-${k}`));
    for (let k = 1; k <= 4; k++) {
      const r = await run('sweep', ...GRID, '--workers', '1', '--shard', `${k}/4`, '--out', shards[k - 1]);
      expect(r.code, r.err).toBe(0);
      expect(lineCount(join(shards[k - 1], 'cells.jsonl'))).toBe(2);
      expect(existsSync(join(shards[k - 1], 'sweep.md'))).toBe(false);
    }
    const partial = await run('merge', ...shards.slice(0, 3), '--out', join(tmp, 'partial'));
    expect(partial.code).toBe(2);
    expect(partial.err).toMatch(/2 of 8 cells are missing/);
    const merged = join(tmp, 'merged');
    const r = await run('merge', ...shards, '--out', merged);
    expect(r.code, r.err).toBe(0);
    expectSameBytes(merged, ref);
    const direct = await run('sweep', ...GRID, '--workers', '1');
    expect(r.out).toBe(direct.out);
  });

  it('the GNU parallel recipe (README) runs and merges to the same bytes (skipped without `parallel`)', async (ctx) => {
    if (spawnSync('sh', ['-c', 'command -v parallel'], { encoding: 'utf8' }).status !== 0) {
      console.log('skipped: GNU parallel is not installed (apt-get install parallel; .ci/run installs it)');
      ctx.skip();
      return;
    }
    const dir = join(tmp, 'gnu');
    // the README's recipe with N = 2 (each shard is a process start; the 4-shard merge is tested above)
    const recipe = `parallel --will-cite --halt now,fail=1 gradflow sweep ${GRID.join(' ')} --workers 1 --shard {}/2 --out ${dir}/shard-{} ::: 1 2 && gradflow merge ${dir}/shard-* --out ${dir}/all`;
    const r = spawnSync('bash', ['-c', recipe], { encoding: 'utf8', env: shellEnv(), cwd: tmp });
    expect(r.status, r.stderr).toBe(0);
    expectSameBytes(join(dir, 'all'), ref);
  });

  it('the SLURM array script (examples/sweep-slurm.sh) run as array tasks 0…1, then merged, equals the unsharded run', async () => {
    const dir = join(tmp, 'slurm');
    for (const id of [0, 1]) {
      const env = { ...shellEnv(), SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '2', SLURM_CPUS_PER_TASK: '1', SWEEP_DIR: dir };
      const r = spawnSync('bash', [join(root, 'examples/sweep-slurm.sh'), ...GRID], { encoding: 'utf8', env, cwd: tmp });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(readdirSync(dir).sort()).toEqual(['shard-1', 'shard-2']);
    const r = await run('merge', join(dir, 'shard-1'), join(dir, 'shard-2'), '--out', join(dir, 'all'));
    expect(r.code, r.err).toBe(0);
    expectSameBytes(join(dir, 'all'), ref);
  });
});

describe('sweep bad input: one line on stderr, exit code 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['alpha ≥ 1', ['sweep', 'diagonal', '--alphas', '1e-2,1'], /every alpha must lie in \(0, 1\)/],
    ['shard 0/4', ['sweep', 'diagonal', '--shard', '0/4', '--out', join(tmp, 'x')], /1 ≤ k ≤ N/],
    ['shard without --out', ['sweep', 'diagonal', '--shard', '1/4'], /--shard needs --out/],
    ['resume without --out', ['sweep', 'diagonal', '--resume'], /--resume needs --out/],
    ['backwards seeds', ['sweep', 'diagonal', '--seeds', '5..2'], /backwards/],
    ['unknown dimension', ['sweep', 'diagonal', '--dim', 'h=2,3'], /no dimension 'h'/],
    ['methods without agf', ['sweep', 'diagonal', '--methods', 'flow'], /must include agf/],
    ['unknown method', ['sweep', 'diagonal', '--methods', 'agf,sgd'], /unknown method 'sgd'/],
    ['zero workers', ['sweep', 'diagonal', '--workers', '0'], /--workers must lie in/],
    ['grid past the cap', ['sweep', 'diagonal', '--seeds', '0..9999', '--alphas', '1e-2,1e-3,1e-4,1e-5,1e-6,1e-7,1e-8,1e-9,1e-10,1e-11,1e-12'], /past the cap/],
    ['merge of nothing', ['merge'], /name at least one sweep directory/],
    ['merge of a non-sweep directory', ['merge', tmpdir()], /not a sweep directory/],
  ];
  for (const [name, argv, re] of cases) it(name, () => expectBadInput(argv, re));

  it('--resume into the directory of another grid is refused', async () => {
    const dir = join(tmp, 'other');
    const first = await run('sweep', ...GRID.slice(0, -1), '0', '--workers', '1', '--out', dir);
    expect(first.code, first.err).toBe(0);
    await expectBadInput(['sweep', ...GRID, '--workers', '1', '--out', dir, '--resume'], /holds a different sweep/);
  });

  it('merging shards of different grids is refused', async () => {
    await expectBadInput(['merge', join(tmp, 'other'), ref, '--out', join(tmp, 'mixed')], /different sweep/);
  });
});
