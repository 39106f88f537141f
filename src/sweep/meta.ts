/**
 * The versioned envelope of sweep outputs: schema version and gradflow's version. The version
 * is read from the package.json above this module, found by walking up, so it works from the
 * sources (src/sweep/) and from a build (dist/…/sweep/) alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Version of the sweep cell-line and summary shapes; bump when a field changes meaning. */
export const SWEEP_SCHEMA_VERSION = 1;

let cached: string | null = null;

export function gradflowVersion(): string {
  if (cached !== null) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'gradflow' && typeof pkg.version === 'string') return (cached = pkg.version);
      } catch {
        // not ours or unreadable: keep walking up
      }
    }
    dir = dirname(dir);
  }
  return (cached = 'unknown');
}
