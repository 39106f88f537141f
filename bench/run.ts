/** `npm run bench`: every benchmark script in bench/, one after another, each in its own process. */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const only = process.argv.slice(2);
const scripts = readdirSync(here).filter((f) => f.endsWith('.ts') && !['run.ts', 'timing.ts'].includes(f) && (only.length === 0 || only.some((o) => f.startsWith(o)))).sort();
let failed = 0;
for (const s of scripts) {
  console.log(`\n=== bench/${s}`);
  const r = spawnSync(process.execPath, [tsx, join(here, s)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
