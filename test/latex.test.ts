/**
 * LaTeX tables that pdflatex accepts: every character of every table the commands write is
 * ASCII (Unicode translated to \ensuremath commands), and, when a TeX engine is installed
 * (.ci/run installs texlive-latex-base + -recommended for booktabs), the tables compile in a
 * plain article document.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { latexEscape, renderLatex } from '../src/report/table.ts';
import { run, scratch } from './helpers/cli.ts';

const root = join(import.meta.dirname, '..');
const hasPdflatex = spawnSync('pdflatex', ['--version'], { encoding: 'utf8' }).status === 0;

describe('LaTeX escaping', () => {
  it('translates the Unicode gradflow prints into pdflatex-safe commands', () => {
    expect(latexEscape('−0.5')).toBe('\\ensuremath{-}0.5');
    expect(latexEscape('λ̂')).toBe('\\ensuremath{\\hat{\\lambda}}');
    expect(latexEscape('‖θ‖²')).toBe('\\ensuremath{\\|}\\ensuremath{\\theta}\\ensuremath{\\|}\\ensuremath{^{2}}');
    expect(latexEscape('β*')).toBe('\\ensuremath{\\beta}*');
    expect(latexEscape('t/T₃(α)')).toBe('t/T\\ensuremath{_{3}}(\\ensuremath{\\alpha})');
    expect(latexEscape('a_1 & 50%')).toBe('a\\_1 \\& 50\\%');
    expect(latexEscape('☃')).toBe('?');
  });
});

describe('tables written by the commands', () => {
  const { dir, file } = scratch('gradflow-latex-');
  const threeFactor = join(root, 'examples', 'three-factor-diagonal.json');
  const runs: string[][] = [
    ['compare', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--columns', 'full', '--out', join(dir, 'compare')],
    ['compare', '--spec', threeFactor, '--alpha', '0.01', '--methods', 'agf,flow', '--out', join(dir, 'compare3')],
    ['compare-linear', 'factorization', '--dim', 'd=2', '--dim', 'h=2', '--alpha', '1e-4', '--out', join(dir, 'linear')],
    ['agf', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--out', join(dir, 'agf')],
    ['flow', 'single-neuron', '--t', '3', '--out', join(dir, 'flow')],
    ['laws', 'single-neuron', '--t', '2', '--out', join(dir, 'laws')],
    ['sweep', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--alphas', '1e-2,1e-3', '--out', join(dir, 'sweep')],
  ];

  it('are ASCII only, and compile with pdflatex when it is installed', async () => {
    const tables: string[] = [];
    for (const argv of runs) {
      const r = await run(...argv);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(0);
      const out = argv[argv.length - 1];
      for (const f of readdirSync(out).filter((n) => n.endsWith('.tex'))) tables.push(readFileSync(join(out, f), 'utf8'));
    }
    expect(tables.length).toBeGreaterThanOrEqual(runs.length);
    for (const t of tables) {
      const bad = [...t].filter((ch) => ch.charCodeAt(0) > 126 || (ch.charCodeAt(0) < 32 && ch !== '\n'));
      expect(bad, t.slice(0, 200)).toEqual([]);
    }
    // a hand-made table with every kind of cell, too
    tables.push(renderLatex({ columns: [{ key: 'a', header: 'δ = a² − ‖w‖²' }, { key: 'b', header: 'λ̂ · β*' }], rows: [{ a: -1.5e-9, b: 'x ↦ x²' }], notes: ['σ_k(Σ_yx) ≤ 1…'] }));
    if (!hasPdflatex) {
      if (process.env.CI) throw new Error('CI: pdflatex is not installed (.ci/run installs texlive-latex-base and -recommended)');
      console.warn('latex.test: pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended); checked the ASCII whitelist only');
      return;
    }
    const doc = file('tables.tex', `\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\usepackage[margin=1cm,landscape]{geometry}\n\\begin{document}\n${tables.map((t) => `\\noindent\\resizebox{\\linewidth}{!}{\\begin{minipage}{1.6\\linewidth}\n${t}\\end{minipage}}\n\n\\bigskip\n`).join('\n')}\\end{document}\n`);
    const tex = spawnSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', '-no-shell-escape', doc.replace(/\.tex$/, '')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(tex.status, tex.stdout.split('\n').filter((l) => l.startsWith('!') || /^l\.\d+/.test(l)).join('\n')).toBe(0);
    expect(tex.stdout).not.toMatch(/Missing character/);
  });
});
