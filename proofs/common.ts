/**
 * What every proof file provides: a statement and a run() that derives, proves and returns a
 * certificate (Markdown with LaTeX). `expect` is 'fails' for negative controls (a quantity that
 * is not conserved must fail with its residual shown).
 */
import { readSpec } from '../src/specfile.ts';
import type { ModelDefinition } from '../src/spec.ts';
import { discoverLaws } from '../src/laws/discover.ts';
import { proveLaw, renderCertificate, type ProofResult } from '../src/laws/prove.ts';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface Certificate {
  name: string;
  status: 'proved' | 'failed';
  markdown: string;
  seconds: number;
  summary: string;
}

export interface ProofFile {
  /** File stem of the certificate (out/proofs/<name>.md). */
  name: string;
  title: string;
  expect: 'proved' | 'fails';
  run(): Certificate;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A user spec from examples/ (the point: laws of a user's model need no new code). */
export function example(file: string): ModelDefinition {
  return readSpec(join(root, 'examples', file));
}

/** Discover the model's laws, prove every independent one, and bundle the certificates. */
export function proveDiscovered(name: string, def: ModelDefinition, title: string, preface = ''): Certificate {
  const t0 = performance.now();
  const disc = discoverLaws(def);
  const results: ProofResult[] = disc.laws.filter((l) => !l.subsumedBy).map((l) => proveLaw(def, l.family));
  if (results.length === 0) throw new Error(`${def.spec.name}: discovery found no law to prove`);
  const ok = results.every((r) => r.status === 'proved');
  const sections = results.map((r) => renderCertificate(r, `${r.model}: $${r.latex}$`).replace(/^# /, '## ').replace(/\n## /g, '\n### '));
  const symLines = disc.symmetries.map((s) => `- **${s.kind}**: $${s.actionLatex}$ — ${s.generatorsVerified} generator(s) verified by expansion of $\\langle \\nabla_\\theta f, \\xi \\rangle$`);
  const subsumed = disc.laws.filter((l) => l.subsumedBy).map((l) => `- $${l.latex}$ is contained in \`${l.subsumedBy}\` (its instances are combinations of that law's)`);
  const markdown = [
    `# ${title}`, '',
    preface,
    `Model \`${def.spec.name}\`: $f_i = $ \`${def.spec.template}\`. Symmetries found from the parameter structure (at ${Object.entries(disc.dims).map(([k, v]) => `${k} = ${v}`).join(', ')}):`, '',
    ...symLines, '',
    ...(subsumed.length ? ['Dependent laws:', '', ...subsumed, ''] : []),
    ...sections,
  ].join('\n');
  const seconds = (performance.now() - t0) / 1000;
  return { name, status: ok ? 'proved' : 'failed', markdown, seconds, summary: results.map((r) => `${r.text.split('  (')[0]}: ${r.status} (${r.scope})`).join('; ') };
}
