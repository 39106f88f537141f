/**
 * gradflow as an installed package: `npm pack` the build, install the tarball's contents into a
 * scratch node_modules, import it by name from there (no sources, no tsx at run time), type-check
 * a consumer against the shipped .d.ts, and run the CLI launcher on the build.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const root = resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const tsx = require.resolve('tsx/cli');
const tsc = require.resolve('typescript/bin/tsc');

describe('the gradflow package', () => {
  it('is built (dist/ with .d.ts), as npm install (prepare) and npm test do', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js']) expect(existsSync(join(root, f)), f).toBe(true);
  });

  it('packs, installs elsewhere, imports by name with types, and runs the library example', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-pack-'));
    // --ignore-scripts: the build already exists; pack must ship it, not rebuild it
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    const paths = packed[0].files.map((f) => f.path);
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/index.d.ts');
    expect(paths.some((p) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false);
    const pkgDir = join(dir, 'node_modules', 'gradflow');
    mkdirSync(pkgDir, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, packed[0].filename), '-C', pkgDir, '--strip-components=1']);
    // the consumer's own dev tooling: Node's types for tsc (gradflow itself needs nothing installed)
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
    copyFileSync(join(root, 'examples', 'library.ts'), join(dir, 'library.ts'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: ['library.ts'],
    }));
    const typed = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
    expect(typed.stdout + typed.stderr).toBe('');
    expect(typed.status).toBe(0);

    const r = spawnSync(process.execPath, [tsx, 'library.ts'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // the example's own checks: flow vs the closed form, AGF vs Pesme–Flammarion
    expect(Number(/relative error ([\d.e+-]+)/.exec(r.stdout)![1])).toBeLessThan(1e-9);
    const jumps = [...r.stdout.matchAll(/= ([\d.]+) \(AGF\), ([\d.]+) \(PF\)/g)];
    expect(jumps.length).toBeGreaterThan(0);
    for (const m of jumps) expect(m[1]).toBe(m[2]);

    // plain node, ESM import by name: the diagonal network's PF schedule equals AGF's
    const script = "import { createProblem, models, solveAgf, solvePf } from 'gradflow';" +
      'const q = createProblem(models.diagonal, { alpha: 1e-6, seed: 0 });' +
      'const a = solveAgf(q).jumps.map((j) => j.rescaledTime), b = solvePf(q).jumps.map((j) => j.rescaledTime);' +
      'console.log(JSON.stringify({ a, b }));';
    const n = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    expect(n.status).toBe(0);
    const { a, b } = JSON.parse(n.stdout) as { a: number[]; b: number[] };
    expect(a.length).toBe(b.length);
    a.forEach((t, k) => expect(Math.abs(t - b[k])).toBeLessThan(1e-6 * Math.abs(b[k])));

    // the installed launcher runs the build in-process: a bad command is one line and exit 2
    const bin = spawnSync(process.execPath, [join(pkgDir, 'bin', 'gradflow.js'), 'nosuchcommand'], { cwd: dir, encoding: 'utf8' });
    expect(bin.status).toBe(2);
    expect(bin.stderr.trim().split('\n')).toHaveLength(1);
    const list = spawnSync(process.execPath, [join(pkgDir, 'bin', 'gradflow.js'), 'list'], { cwd: dir, encoding: 'utf8' });
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/diagonal/);
  });
});
