/**
 * The sweep's progress bar for the whole grid (issue 15, item 5): cells done of the grid's (or
 * the shard's) total, resumed cells named, elapsed time, and an ETA from the rate of the cells
 * computed in this run (resumed cells cost nothing, so they do not speed the estimate up).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressReporter } from '../src/cli/commands/sweep.ts';
import { main } from '../src/cli/main.ts';
import type { CommandIO } from '../src/cli/common.ts';

function io(progress: boolean): CommandIO & { lines: string[]; outs: string[] } {
  const lines: string[] = [], outs: string[] = [];
  return { out: (s) => outs.push(s), err: (s) => lines.push(s), progress, lines, outs };
}

describe('sweep progress bar', () => {
  it('a fake clock: a line at the start, at most one a second, ETA = elapsed / fresh cells × cells left, a final line', () => {
    let now = 10_000;
    const sink = io(true);
    const report = progressReporter(sink, 'sweep', () => now);
    report(0, 20, 0); // the start
    now += 400; report(1, 20, 0); // under a second since the last line: nothing
    now += 1600; report(4, 20, 0); // 2 s for 4 cells: 16 cells left at 0.5 s each = 8 s
    now += 500; report(5, 20, 0);
    now += 27_500; report(20, 20, 0); // the end always prints, without an ETA
    expect(sink.lines).toEqual([
      `sweep [${'.'.repeat(24)}] 0/20 cells · 0:00`,
      `sweep [${'#'.repeat(5)}${'.'.repeat(19)}] 4/20 cells · 0:02 · ETA 0:08`,
      `sweep [${'#'.repeat(24)}] 20/20 cells · 0:30`,
    ]);
  });

  it('resumed cells are counted as done but not in the rate', () => {
    let now = 0;
    const sink = io(true);
    const report = progressReporter(sink, 'sweep 2/4', () => now);
    report(6, 12, 6);
    now = 3000; report(8, 12, 6); // 2 fresh cells in 3 s, 4 left: 6 s
    expect(sink.lines).toEqual([
      `sweep 2/4 [${'#'.repeat(12)}${'.'.repeat(12)}] 6/12 cells (6 resumed) · 0:00`,
      `sweep 2/4 [${'#'.repeat(16)}${'.'.repeat(8)}] 8/12 cells (6 resumed) · 0:03 · ETA 0:06`,
    ]);
  });

  it('nothing is drawn without a terminal or --progress', () => {
    const sink = io(false);
    const report = progressReporter(sink, 'sweep', () => 0);
    report(0, 3, 0);
    report(3, 3, 0);
    expect(sink.lines).toEqual([]);
  });

  it('end to end: --progress draws the grid total and ends at N/N; the files are the same bytes as without it', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gradflow-sweep-progress-'));
    try {
      const grid = ['sweep', 'diagonal', '--alphas', '1e-2,1e-4', '--seeds', '0..1', '--dim', 'd=4', '--workers', '1'];
      const a = io(true), b = io(false);
      expect(await main([...grid, '--out', join(tmp, 'a'), '--json'], a)).toBe(0);
      expect(await main([...grid, '--out', join(tmp, 'b'), '--json'], b)).toBe(0);
      const bars = a.lines.filter((l) => l.startsWith('sweep ['));
      expect(bars[0]).toMatch(/^sweep \[\.{24}\] 0\/4 cells · 0:00$/);
      expect(bars.at(-1)).toMatch(/^sweep \[#{24}\] 4\/4 cells · \d+:\d\d$/);
      expect(b.lines.filter((l) => l.startsWith('sweep ['))).toEqual([]);
      expect(readFileSync(join(tmp, 'a', 'cells.jsonl'), 'utf8')).toBe(readFileSync(join(tmp, 'b', 'cells.jsonl'), 'utf8'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
