/** The runnable examples keep working (they are what the README points researchers to). */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsx = createRequire(import.meta.url).resolve('tsx/cli');

describe('examples/', () => {
  it('library.ts runs: flow matches the closed form and AGF equals PF in rescaled time', () => {
    const r = spawnSync(process.execPath, [tsx, 'examples/library.ts'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const err = /relative error ([\d.e+-]+)/.exec(r.stdout);
    expect(Number(err![1])).toBeLessThan(1e-9);
    const jumps = [...r.stdout.matchAll(/= ([\d.]+) \(AGF\), ([\d.]+) \(PF\)/g)];
    expect(jumps.length).toBeGreaterThan(0);
    for (const m of jumps) expect(m[1]).toBe(m[2]);
  });
});
