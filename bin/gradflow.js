#!/usr/bin/env node
// The CLI runs in this process from the build (dist/cli.js, made by `npm run build`, which
// `npm install` runs as `prepare`); no TypeScript loader at run time.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write('gradflow: dist/ is missing; run `npm run build` in the gradflow checkout (or `npm run gradflow -- …` to run the sources through tsx)\n');
  process.exit(2);
}
const { runCli } = await import(built.href);
runCli(process.argv.slice(2));
