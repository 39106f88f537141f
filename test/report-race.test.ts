/**
 * Two processes writing reports under one new parent (GNU parallel's shards: `--out DIR/shard-{}`)
 * both see DIR missing and both mkdir it; the second mkdir fails with EEXIST although the
 * directory it wanted is there. Simulated here: the mkdir of a directory named "raced" first
 * makes it (the other process), then runs, so it throws EEXIST exactly as the loser of the race.
 */
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const mkdirSync = ((p: import('node:fs').PathLike, o?: import('node:fs').MakeDirectoryOptions) => {
    if (String(p).endsWith('raced')) fs.mkdirSync(p, o);
    return fs.mkdirSync(p, o);
  }) as typeof fs.mkdirSync;
  return { ...fs, default: { ...fs, mkdirSync }, mkdirSync };
});

describe('report files under a parent another process creates at the same moment', () => {
  it('writeReport succeeds when its mkdir of the parent loses the race (EEXIST on a directory)', async () => {
    const { writeReport } = await import('../src/report/files.ts');
    const tmp = mkdtempSync(join(tmpdir(), 'gradflow-race-'));
    try {
      const [path] = writeReport(join(tmp, 'raced', 'shard-2'), { 'a.txt': 'x' });
      expect(readFileSync(path, 'utf8')).toBe('x');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a file where the directory should be is still an error (EEXIST on a non-directory)', async () => {
    const { writeFileAtomic, writeReport } = await import('../src/report/files.ts');
    const tmp = mkdtempSync(join(tmpdir(), 'gradflow-race-'));
    try {
      writeFileAtomic(join(tmp, 'plain'), 'not a directory');
      expect(() => writeReport(join(tmp, 'plain', 'sub'), { 'a.txt': 'x' })).toThrow(/not a directory|ENOTDIR|cannot write/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
