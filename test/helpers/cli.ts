/** Running the CLI in-process for tests: captured stdout/stderr lines and the exit code. */
import { expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/common.ts';

export async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const io: CommandIO = { out: (s) => out.push(s), err: (s) => err.push(s), progress: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A scratch directory and a writer for input files inside it. */
export function scratch(prefix: string): { dir: string; file: (name: string, text: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}

/** The bad-input contract: exit code 2, exactly one line on stderr matching `re`, no stack trace. */
export async function expectBadInput(argv: string[], re: RegExp): Promise<void> {
  const r = await run(...argv);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(re);
  expect(r.err.split('\n').filter((l) => l !== '')).toHaveLength(1);
  expect(r.err).not.toMatch(/at .*\.ts:\d+/);
}
