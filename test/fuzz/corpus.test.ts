/**
 * The bad-input corpus (test/fuzz/corpus.json): every case, run in-process, must be refused the
 * way the README promises — exit code 2, exactly one line on stderr naming the problem, no stack
 * trace, nothing on stdout, and no report file or temp file left behind. The corpus holds the
 * inputs an adversarial pass over all 13 commands found mishandled (issue 12) and their
 * neighbours; add a line there when a new one is found.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, scratch } from '../helpers/cli.ts';
import { COMMANDS } from '../../src/cli/registry.ts';

interface Case { args?: string[]; argv?: string[]; error: string }
interface Group { name: string; commands: string[][]; cases: Case[] }
interface Corpus { files: Record<string, string>; groups: Group[] }

const corpus = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8')) as Corpus;
const { dir, file } = scratch('gradflow-fuzz-');
for (const [name, text] of Object.entries(corpus.files)) file(name, text);
const inputs = new Set(readdirSync(dir));

const declaresOut = (cmd: string): boolean => COMMANDS.some((c) => c.name === cmd && Object.prototype.hasOwnProperty.call(c.options, 'out'));

let outCount = 0;
/** The command line of a case: @name → scratch file, and a fresh --out directory when the command writes reports. */
function argvOf(words: string[]): { argv: string[]; out: string | null } {
  const argv = words.map((w) => (w.startsWith('@') ? join(dir, w.slice(1)) : w));
  if (argv.some((w) => w === '--out' || w.startsWith('--out=')) || !declaresOut(argv[0])) return { argv, out: null };
  const out = join(dir, `out-${++outCount}`);
  return { argv: [...argv, '--out', out], out };
}

const cases: { label: string; words: string[]; error: RegExp }[] = [];
for (const g of corpus.groups) {
  for (const c of g.cases) {
    const lines = c.argv ? [c.argv] : g.commands.map((cmd) => [...cmd, ...(c.args ?? [])]);
    for (const words of lines) cases.push({ label: `${g.name}: ${JSON.stringify(words).slice(0, 160)}`, words, error: new RegExp(c.error, 's') });
  }
}

describe('bad-input corpus: exit 2, one line on stderr, no stack, no stdout, no file', () => {
  it('covers every command with at least 300 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const used = new Set(cases.map((c) => c.words[0]));
    for (const c of COMMANDS) expect(used, `command ${c.name} has no corpus case`).toContain(c.name);
  });

  for (const c of cases) {
    it(c.label, async () => {
      const { argv, out } = argvOf(c.words);
      const r = await run(...argv);
      const lines = r.err.split('\n').filter((l) => l !== '');
      expect({ code: r.code, err: r.err }).toEqual({ code: 2, err: expect.stringMatching(c.error) });
      expect(lines).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at |internal error|\.ts:\d+/);
      expect(r.out).toBe('');
      if (out) expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    }, 30_000);
  }

  it('left no file in the scratch directory besides the inputs', () => {
    const left = readdirSync(dir).filter((f) => !inputs.has(f) && !(f.startsWith('out-') && readdirSync(join(dir, f)).length === 0));
    expect(left).toEqual([]);
  });
});
