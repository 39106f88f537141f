/**
 * `npm run proofs [-- --out DIR]`: run every proof in proofs/ and write its certificate
 * (Markdown with LaTeX) to DIR (default out/proofs), plus an index. Exit code 1 when a proof that
 * should hold fails, or a negative control unexpectedly passes.
 */
import { writeReport } from '../src/report/files.ts';
import { ALL_PROOFS } from './index.ts';

const argv = process.argv.slice(2);
const k = argv.indexOf('--out');
const out = k >= 0 && argv[k + 1] ? argv[k + 1] : 'out/proofs';
const files: Record<string, string> = {};
const rows: string[] = [];
let bad = 0;
for (const p of ALL_PROOFS) {
  const c = p.run();
  const expected = p.expect === 'fails' ? c.status === 'failed' : c.status === 'proved';
  if (!expected) bad++;
  files[`${c.name}.md`] = c.markdown;
  const verdict = p.expect === 'fails' ? (c.status === 'failed' ? 'fails as expected' : 'UNEXPECTEDLY PASSES') : c.status === 'proved' ? 'proved' : 'FAILED';
  rows.push(`| [${p.title}](${c.name}.md) | ${verdict} | ${(c.seconds * 1000).toFixed(1)} ms |`);
  process.stdout.write(`${verdict.padEnd(18)} ${(c.seconds * 1000).toFixed(1).padStart(8)} ms  ${p.name}: ${c.summary}\n`);
}
files['index.md'] = ['# gradflow proof certificates', '', '| theorem | status | time |', '|---|---|---|', ...rows, ''].join('\n');
const paths = writeReport(out, files);
process.stdout.write(`wrote ${paths.length} files to ${out}\n`);
if (bad) process.exitCode = 1;
