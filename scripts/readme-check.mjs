#!/usr/bin/env node
// Re-runs the commands the README shows with "real output" and compares what they print today
// with what the README says they print. A README block goes stale silently whenever a change moves
// a number in its last digits; this catches it before a reader does.
//
// usage: node scripts/readme-check.mjs [--timeout S] [--only SUBSTRING] [--verbose] [--fix]
// Blocks recognised (```text fences, and bare ``` fences holding "$ gradflow" lines):
//   - blocks whose lines start with "$ gradflow …": each command's output is the lines up to the
//     next "$ " line (stdout and stderr together, as a terminal shows them);
//   - blocks introduced by a paragraph naming one command in backticks (`gradflow …`) within the
//     prose (at most ten lines) before the fence; `npm start` stands for `gradflow demo`.
// A block matches exactly, or — when its introduction says it is an excerpt ("last lines",
// "excerpt", "lines cut", "first lines", "…") — when its lines occur in the output in order
// (a line cut at N characters matches as a prefix). Commands that read files the README does not
// provide are reported as skipped. Exit code 1 when any block differs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'gradflow.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const timeoutS = Number(opt('--timeout', '120'));
const only = opt('--only', '');
const verbose = args.includes('--verbose');
// --fix rewrites each differing exact block with today's output (excerpts are left to a person)
const fix = args.includes('--fix');
/** @type {{ from: number, to: number, text: string[] }[]} */
const fixes = [];

const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');

/** from, to: the README line indices (0-based, end exclusive) of the check's expected lines */
/** @typedef {{ line: number, command: string, expected: string[], excerpt: boolean, skip?: string, from?: number, to?: number }} Check */
/** @type {Check[]} */
const checks = [];
const excerptWords = /last lines|first lines|excerpt|lines cut|abridged|\bcut\b|trimmed|shortened|prints, after/i;
// output that depends on the clock or the machine, or a listing of written files: not comparable
const unstable = /\bETA \d|\d s wall|\d ms\b/;

for (let i = 0; i < lines.length; i++) {
  if (!lines[i].trim().startsWith('```')) continue;
  const lang = lines[i].trim().slice(3);
  let end = i + 1;
  while (end < lines.length && lines[end].trim() !== '```') end++;
  const body = lines.slice(i + 1, end);
  // ```text fences, and bare ``` fences of "$ gradflow" transcripts; other languages (bash, json) are not output
  if (lang !== 'text' && !(lang === '' && body.some((l) => l.startsWith('$ gradflow')))) {
    i = end;
    continue;
  }
  // the introduction: the prose since the previous fence, at most ten lines
  let introFrom = i - 1;
  while (introFrom > 0 && i - introFrom < 10 && !lines[introFrom - 1].startsWith('```')) introFrom--;
  const intro = lines.slice(introFrom, i).join(' ');
  const excerpt = excerptWords.test(intro) || body.some((l) => l.trim() === '…');
  if (/writes:\s*$/.test(lines[i - 2] ?? '') || /writes:\s*$/.test(intro) || body.some((l) => unstable.test(l))) {
    const m = [...intro.matchAll(/`(gradflow [^`]+)`/g)];
    const cmd = body.find((l) => l.startsWith('$ gradflow'))?.slice(2) ?? m[m.length - 1]?.[1] ?? '(prose)';
    checks.push({ line: i + 1, command: cmd, expected: [], excerpt, skip: 'its output is timing-dependent or a file listing' });
    i = end;
    continue;
  }
  if (body.some((l) => l.startsWith('$ gradflow'))) {
    let cmd = null;
    let out = [];
    let at = 0;
    const flush = () => {
      if (cmd !== null) checks.push({ line: at + 1, command: cmd, expected: out, excerpt, from: at + 1, to: at + 1 + out.length });
    };
    for (let k = 0; k < body.length; k++) {
      const l = body[k];
      if (l.startsWith('$ ')) {
        flush();
        cmd = l.startsWith('$ gradflow') ? l.slice(2) : null;
        out = [];
        at = i + 1 + k;
      } else if (cmd !== null) out.push(l);
    }
    flush();
  } else {
    const m = [...intro.matchAll(/`(gradflow [^`]+)`/g)];
    // `npm start` is `gradflow demo` on the built package (package.json)
    if (m.length === 0 && !/`npm start`/.test(intro)) continue;
    const lastCmd = m.length > 0 ? m[m.length - 1] : null;
    const npmStart = intro.lastIndexOf('`npm start`');
    const command = lastCmd !== null && (lastCmd.index ?? 0) > npmStart ? lastCmd[1] : 'gradflow demo';
    // a prose reference with an ellipsis ("gradflow pf diagonal …") is not a runnable command
    if (command.includes('…')) continue;
    // a later "$ other-command" inside the block (e.g. "$ head -8 FILE") ends this command's output
    const cut = body.findIndex((l) => l.startsWith('$ '));
    const expected = cut >= 0 ? body.slice(0, cut) : body;
    checks.push({ line: i + 1, command, expected, excerpt: excerpt || cut >= 0, from: i + 1, to: i + 1 + expected.length });
  }
  i = end;
}

/** Split a shell-like command line; strips a trailing "# comment". */
function words(command) {
  const noComment = command.replace(/\s+#\s.*$/, '');
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(noComment)) !== null) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function matches(expected, actual, excerpt) {
  const exp = expected.map((l) => l.replace(/\s+$/, ''));
  const act = actual.map((l) => l.replace(/\s+$/, ''));
  while (exp.length && exp[exp.length - 1] === '') exp.pop();
  while (act.length && act[act.length - 1] === '') act.pop();
  if (!excerpt) {
    for (let k = 0; k < Math.max(exp.length, act.length); k++) {
      if (exp[k] !== act[k]) return { ok: false, at: k, want: exp[k], got: act[k] };
    }
    return { ok: true };
  }
  let j = 0;
  for (let k = 0; k < exp.length; k++) {
    const want = exp[k];
    if (want === '' || want === '…' || want === '...') continue;
    while (j < act.length && act[j] !== want && !(act[j].startsWith(want) && want.length >= 40)) j++;
    if (j === act.length) return { ok: false, at: k, want, got: '(not found in order)' };
    j++;
  }
  return { ok: true };
}

let failed = 0;
let skipped = 0;
let passed = 0;
for (const c of checks) {
  if (only && !c.command.includes(only)) continue;
  if (c.skip) {
    skipped++;
    console.log(`skip  README:${c.line}  ${c.command}  (${c.skip})`);
    continue;
  }
  const argv = words(c.command).slice(1);
  const needsFile = argv.some((a, k) => (argv[k - 1] === '--spec' || argv[k - 1] === '--data') && !a.startsWith('examples/'));
  if (needsFile) {
    skipped++;
    console.log(`skip  README:${c.line}  ${c.command}  (reads a file the README does not ship)`);
    continue;
  }
  const cwd = mkdtempSync(join(tmpdir(), 'gradflow-readme-'));
  const argvHere = argv.map((a) => (a.startsWith('examples/') ? join(root, a) : a));
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, ...argvHere], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    env: { ...process.env, NO_COLOR: '1', COLUMNS: '200' },
    maxBuffer: 64 << 20,
  });
  rmSync(cwd, { recursive: true, force: true });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.error || r.signal) {
    skipped++;
    console.log(`skip  README:${c.line}  ${c.command}  (${r.error ? r.error.message : r.signal} after ${secs} s)`);
    continue;
  }
  // a terminal interleaves the two streams; an excerpt may quote either, so try both orders
  const actual = `${r.stdout}${r.stderr}`.split('\n');
  let m = matches(c.expected, actual, c.excerpt);
  if (!m.ok && c.excerpt) {
    const other = matches(c.expected, `${r.stderr}${r.stdout}`.split('\n'), true);
    if (other.ok) m = other;
  }
  if (m.ok) {
    passed++;
    console.log(`ok    README:${c.line}  ${c.command}  (${c.excerpt ? 'excerpt' : 'exact'}, ${secs} s)`);
  } else {
    failed++;
    console.log(`DIFF  README:${c.line}  ${c.command}  (${c.excerpt ? 'excerpt' : 'exact'}, line ${m.at + 1} of the block)`);
    console.log(`      README: ${m.want ?? '(nothing)'}`);
    console.log(`      today:  ${m.got ?? '(nothing)'}`);
    if (verbose) console.log(actual.map((l) => `      | ${l}`).join('\n'));
    if (fix && !c.excerpt && c.from !== undefined && c.to !== undefined) {
      const text = actual.map((l) => l.replace(/\s+$/, ''));
      while (text.length && text[text.length - 1] === '') text.pop();
      fixes.push({ from: c.from, to: c.to, text });
    }
  }
}
if (fixes.length > 0) {
  const out = [...lines];
  for (const f of fixes.sort((a, b) => b.from - a.from)) out.splice(f.from, f.to - f.from, ...f.text);
  writeFileSync(join(root, 'README.md'), out.join('\n'));
  console.log(`rewrote ${fixes.length} block(s) in README.md from today's output`);
}
console.log(`\n${passed} match, ${failed} differ, ${skipped} skipped (of ${checks.length} blocks)`);
process.exit(failed > 0 ? 1 : 0);
