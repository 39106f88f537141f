/**
 * Progress lines on long loops (issue 13, item 7): drawn on stderr only when asked (stderr a
 * terminal or --progress), at most once a second plus once at the end, with an ETA from the
 * elapsed time and the fraction done; results are the same bytes with or without them.
 */
import { describe, expect, it } from 'vitest';
import { fmtDuration, progressLine } from '../src/util/progress.ts';
import { main } from '../src/cli/main.ts';
import type { CommandIO } from '../src/cli/common.ts';
import { createProblem } from '../src/problem.ts';
import { diagonal } from '../models/diagonal.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { solveFlow } from '../src/solvers/flow.ts';

async function cli(progress: boolean, ...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const io: CommandIO = { out: (s) => out.push(s), err: (s) => err.push(s), progress };
  return { code: await main(argv, io), out, err };
}

describe('progress lines', () => {
  it('a fake clock: one line a second at most, ETA = elapsed·(1 − f)/f, one final line', () => {
    let now = 0;
    const lines: string[] = [];
    const report = progressLine((l) => lines.push(l), 'run', () => now);
    now = 500; report(0.1); // under a second since the start: nothing
    now = 2000; report(0.25); // 2 s for a quarter: 6 s left
    now = 2500; report(0.3); // under a second since the last line
    now = 4000; report(0.5);
    now = 8000; report(1);
    report(1); // the end is reported once
    expect(lines).toEqual([
      `run [${'#'.repeat(6)}${'.'.repeat(18)}] 25% · 0:02 · ETA 0:06`,
      `run [${'#'.repeat(12)}${'.'.repeat(12)}] 50% · 0:04 · ETA 0:04`,
      `run [${'#'.repeat(24)}] 100% · 0:08`,
    ]);
    expect(fmtDuration(3_725_000)).toBe('1:02:05');
  });

  it('flow and descent report fractions up to 1 and give the same trajectory with or without a reporter', () => {
    const p = createProblem(diagonal, { alpha: 1e-3, seed: 1 });
    const seen: number[] = [];
    const a = solveFlow(p, { tEnd: 50, onProgress: (f) => seen.push(f) });
    const b = solveFlow(p, { tEnd: 50 });
    expect(seen.at(-1)).toBe(1);
    for (let k = 1; k < seen.length; k++) expect(seen[k]).toBeGreaterThanOrEqual(seen[k - 1]);
    expect(Array.from(a.states.at(-1)!)).toEqual(Array.from(b.states.at(-1)!));
    const fr: number[] = [];
    const g = solveDescent(p, { lr: 0.01, steps: 3000, onProgress: (f) => fr.push(f) });
    expect(fr.at(-1)).toBe(1);
    expect(Array.from(g.states.at(-1)!)).toEqual(Array.from(solveDescent(p, { lr: 0.01, steps: 3000 }).states.at(-1)!));
  });

  it('gradflow flow/descent/compare --progress: stderr gets the bar, stdout is unchanged', async () => {
    for (const argv of [['flow', 'diagonal', '--t', '100'], ['descent', 'diagonal', '--steps', '2000'], ['compare', 'diagonal', '--alpha', '1e-3'], ['compare', 'linear']]) {
      const withBar = await cli(true, ...argv, '--progress');
      const without = await cli(false, ...argv);
      expect(withBar.code).toBe(0);
      expect(withBar.out).toEqual(without.out);
      expect(without.err).toEqual([]);
      expect(withBar.err.length).toBeGreaterThan(0);
      for (const l of withBar.err) expect(l).toMatch(/^[a-z ]+(: [a-z]+)? \[[#.]{24}\] \d{1,3}% · \d+:\d\d( · ETA \d+:\d\d)?$/);
      expect(withBar.err.at(-1)).toContain('100%');
    }
  });
});
