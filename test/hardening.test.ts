/**
 * Validation at the edge (issue 12): template indices bounds-checked per neuron, option domains
 * declared by every built-in model, CSV headers only of names, every writer escaping hostile
 * text for its format, and certificates that are the same bytes on every run.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectGradflowError } from './helpers/errors.ts';
import { run, scratch } from './helpers/cli.ts';
import { deriveModel } from '../src/symbolic/derive.ts';
import { parseSpec } from '../src/specfile.ts';
import { createProblem } from '../src/problem.ts';
import { parseDatasetCsv } from '../src/data.ts';
import { BUILTIN_MODELS } from '../models/index.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText, type Table } from '../src/report/table.ts';
import { renderSvg } from '../src/report/svg.ts';
import { printable, terminalSafe } from '../src/util/limits.ts';
import type { ModelSpec } from '../src/spec.ts';

const base: ModelSpec = { name: 'b', dims: { d: 3 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, output: [], neurons: 1, template: 'a * dot(w, x)' };

describe('template indices are checked for every neuron before a kernel exists', () => {
  it('a constant past the end, a shift by the neuron index and a negative index are refused with the valid range', () => {
    expectGradflowError(() => deriveModel({ ...base, template: 'w[3] * dot(w, x)' }), /index w\[3\] = 3 at neuron i = 0 is out of range: valid indices are 0 … 2 \(length 3\)/);
    expectGradflowError(() => deriveModel({ ...base, template: 'w[i + 3] * dot(w, x)' }), /= 3 at neuron i = 0 is out of range/);
    expectGradflowError(() => deriveModel({ ...base, template: 'w[0 - 1] * dot(w, x)' }), /= -1 at neuron i = 0/);
    // neurons = d: x[i] is in range for every neuron, x[i + 1] leaves it at the last one
    const diag: ModelSpec = { ...base, params: { u: [], v: [] }, neurons: 'd', template: 'u * v * x[i]' };
    expect(() => deriveModel(diag)).not.toThrow();
    expectGradflowError(() => deriveModel({ ...diag, template: 'u * v * x[i + 1]' }), /x\[i \+ 1\] = 3 at neuron i = 2 is out of range: valid indices are 0 … 2/);
  });

  it('an index valid at the default dims is re-checked when a Problem binds smaller ones', () => {
    const def = parseSpec(JSON.stringify({ ...base, template: 'w[2] * dot(w, x)' }), 'test');
    expect(createProblem(def, { dims: { d: 3 } }).layout.P).toBe(4);
    expectGradflowError(() => createProblem(def, { dims: { d: 2 } }), /index w\[2\] = 2 at neuron i = 0 is out of range: valid indices are 0 … 1/);
  });

  it('an index must be a function of the neuron index alone', () => {
    expectGradflowError(() => deriveModel({ ...base, template: 'w[a] * dot(w, x)' }), /the index in w\[a\] is not a constant: it uses 'a'/);
  });
});

describe('model options', () => {
  it('every option of every built-in model has a declared domain', () => {
    for (const m of BUILTIN_MODELS) {
      for (const k of Object.keys(m.options ?? {})) expect(m.optionDomains?.[k], `${m.spec.name}: --opt ${k}`).toBeDefined();
    }
  });
});

describe('CSV', () => {
  it('a header row of names is skipped; a first row with NaN, text or hex is data and an error', () => {
    const withHeader = parseDatasetCsv('x1,x2,y\n1,2,3\n4,5,6\n', 'h.csv');
    expect(Array.from(withHeader.X)).toEqual([1, 2, 4, 5]);
    expect(Array.from(withHeader.Y)).toEqual([3, 6]);
    expectGradflowError(() => parseDatasetCsv('1,NaN,1\n1,2,3\n', 'n.csv'), /non-finite value \(NaN\) at row 0, column 1/);
    expectGradflowError(() => parseDatasetCsv('0x10,1,2\n1,2,3\n', 'x.csv'), /'0x10' at row 0, column 0, which is not a decimal number/);
    expectGradflowError(() => parseDatasetCsv('1,2,3\n0b11,1,2\n', 'b.csv'), /'0b11' at row 1, column 0/);
  });
});

describe('every writer escapes hostile text for its format', () => {
  const hostile = '^^M}\\input{/etc/passwd}\\write18{rm -rf ~}<script>alert(1)</script>\n=HYPERLINK("http://x")\u001b[31m';
  const table: Table = {
    title: hostile,
    columns: [{ key: 'name', header: 'name' }, { key: 'v', header: 'value' }],
    rows: [{ name: hostile, v: 1.5 }, { name: '=1+1', v: -2 }, { name: '-x', v: 3 }],
    notes: [hostile],
  };

  it('CSV: comments stay comments, formulas stay text, numbers stay numbers', () => {
    const csv = renderCsv(table);
    // RFC 4180: a quoted field may span lines, so count records outside quotes
    const records: string[] = [];
    let cur = '', quoted = false;
    for (const ch of csv) {
      if (ch === '"') quoted = !quoted;
      if (ch === '\n' && !quoted) { records.push(cur); cur = ''; } else cur += ch;
    }
    const data = records.filter((r) => !r.startsWith('#'));
    expect(records.filter((r) => r.startsWith('#'))).toHaveLength(2); // title + one note, each one line
    expect(data).toHaveLength(4); // header + 3 rows: nothing injected
    expect(data[2]).toBe(`"'=1+1",-2`);
    expect(data[3]).toBe(`"'-x",3`);
    for (const r of data.slice(1)) expect(r).not.toMatch(/^=|^"=/);
  });

  it('Markdown: no raw HTML', () => {
    const md = renderMarkdown(table);
    expect(md).not.toContain('<script>');
    expect(md).toContain('&lt;script&gt;');
  });

  it('LaTeX: no control sequence or group survives from the text', () => {
    const tex = renderLatex(table);
    expect(tex).not.toMatch(/\\input\{|\\write18/);
    expect(tex).not.toContain('^^');
    expect(tex.split('\n').filter((l) => l.startsWith('%'))).toHaveLength(1);
  });

  it('SVG: text is XML-escaped', () => {
    const svg = renderSvg({ title: hostile, xLabel: '<x>', yLabel: '&', series: [{ name: '<script>', x: [0, 1], y: [1, 2] }], caption: hostile });
    expect(svg).not.toContain('<script>');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;|#)/);
  });

  it('terminal: escape sequences are shown, not run; line breaks of a report stay', () => {
    expect(terminalSafe(renderText(table))).not.toContain('\u001b');
    expect(terminalSafe('a\nb\tc')).toBe('a\nb\tc');
    expect(terminalSafe('\\times')).toBe('\\times');
    expect(printable('a\nb\u001b')).toBe('a\\nb\\u001b');
  });
});

describe('reproducible files', () => {
  it('laws --out writes the same bytes twice (no wall-clock time without --timings)', async () => {
    const { dir } = scratch('gradflow-laws-');
    const a = join(dir, 'a'), b = join(dir, 'b');
    for (const out of [a, b]) expect((await run('laws', 'single-neuron', '--no-audit', '--out', out)).code).toBe(0);
    const files = readdirSync(a).sort();
    expect(files.length).toBeGreaterThan(1);
    expect(readdirSync(b).sort()).toEqual(files);
    // the JSON records its own command line (argv), which names the --out directory
    const same = (f: string, s: string): string => s.split(f === 'laws.json' ? a : '\0').join(b);
    for (const f of files) expect(readFileSync(join(b, f), 'utf8'), f).toBe(same(f, readFileSync(join(a, f), 'utf8')));
  });
});
