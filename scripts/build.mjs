#!/usr/bin/env node
// Builds dist/: the library (dist/index.js) and the CLI (dist/cli.js) bundled by esbuild with
// shared chunks, so that bin/gradflow starts in-process without tsx; `--types` also emits the
// .d.ts files (tsc, declarations only) that package.json's `exports` points at.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const withTypes = process.argv.includes('--types');
const quiet = process.argv.includes('--quiet');

// a JS-only build (npm start) keeps the declarations of the last full build
for (const old of withTypes ? ['dist'] : ['dist/chunks', 'dist/index.js', 'dist/cli.js', 'dist/sweep-worker.js']) rmSync(join(root, old), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // the sweep's worker threads load dist/sweep-worker.js (src/sweep/pool.ts)
  entryPoints: { index: 'src/index.ts', cli: 'src/cli/main.ts', 'sweep-worker': 'src/sweep/worker.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ml-matrix is bundled (tree-shaken: importing the package costs ~50 ms of start-up); the
  // optional TensorFlow.js peers stay dynamic imports; the PNG renderer (a native addon) and its font
  // package are loaded at run time from node_modules
  external: ['@tensorflow/*', '@resvg/resvg-js', 'dejavu-fonts-ttf'],
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: quiet ? 'error' : 'warning',
});
if (withTypes) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // declarations keep the sources' './x.ts' specifiers; consumers resolve './x.js' to x.d.ts
  for (const entry of readdirSync(join(root, 'dist', 'types'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    const text = readFileSync(file, 'utf8');
    const fixed = text.replace(/((?:from\s+|import\()(['"])\.{1,2}\/[^'"]*?)\.ts\2/g, '$1.js$2');
    if (fixed !== text) writeFileSync(file, fixed);
  }
  // the entry's declarations sit at dist/types/src/index.d.ts (rootDir is the repo: src imports models/)
  writeFileSync(join(root, 'dist', 'index.d.ts'), "export * from './types/src/index.js';\n");
}
if (!quiet) console.log(`built dist/${withTypes ? ' (with types)' : ''}`);
