/**
 * Result tables in four renderings (terminal, Markdown, CSV, LaTeX) from one description,
 * so the numbers in a paper, a README and a terminal session come from the same cells.
 * Output depends only on the input: no locale, no clock.
 */

export interface Column {
  key: string;
  header: string;
  align?: 'left' | 'right';
  format?: (v: unknown) => string;
  /** Raw LaTeX for the header (e.g. `$\alpha$`); used unescaped, unlike `header`. */
  latexHeader?: string;
  /** CSV header (default: the key in snake_case, ASCII, so pandas/R column names need no quoting). */
  csvHeader?: string;
}

export interface Table {
  title?: string;
  columns: Column[];
  rows: Record<string, unknown>[];
  /** Convention lines (loss normalisation, time unit, alpha) printed under the table. */
  notes?: string[];
}

const MISSING = '—';

/**
 * `sig` significant digits, trailing zeros dropped. Exponent form outside [1e-3, 1e6) because
 * learning-dynamics quantities (initialisation scales, plateau lengths) span many decades and
 * fixed notation would either lose them or print long runs of zeros.
 */
export function formatNumber(x: number | null | undefined, sig = 6): string {
  if (x === null || x === undefined || Number.isNaN(x)) return MISSING;
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const p = Math.min(21, Math.max(1, Math.round(sig)));
  const ax = Math.abs(x);
  if (ax === 0) return '0';
  if (ax < 1e-3 || ax >= 1e6) return trimExponential(x.toExponential(p - 1));
  if (Number.isInteger(x)) return String(x);
  const s = x.toPrecision(p);
  // rounding can carry into the next decade (999999.7 → '1.00000e+6')
  return s.includes('e') ? trimExponential(s) : s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function trimExponential(s: string): string {
  const [m, e] = s.split('e');
  return `${m.includes('.') ? m.replace(/\.?0+$/, '') : m}e${e}`;
}

interface Cell {
  text: string;
  /** The value was a number formatted by formatNumber (LaTeX typesets these as math). */
  numeric: boolean;
}

function cell(col: Column, row: Record<string, unknown>): Cell {
  const v = row[col.key];
  if (col.format) return { text: col.format(v), numeric: false };
  if (typeof v === 'number') return { text: formatNumber(v), numeric: Number.isFinite(v) };
  if (v === null || v === undefined) return { text: MISSING, numeric: false };
  if (typeof v === 'string') return { text: v, numeric: false };
  if (typeof v === 'bigint' || typeof v === 'boolean') return { text: String(v), numeric: false };
  return { text: JSON.stringify(v) ?? String(v), numeric: false };
}

/** Explicit alignment wins; otherwise columns holding only numbers (or blanks) align right. */
function alignOf(col: Column, rows: Record<string, unknown>[]): 'left' | 'right' {
  if (col.align) return col.align;
  let sawNumber = false;
  for (const r of rows) {
    const v = r[col.key];
    if (typeof v === 'number') sawNumber = true;
    else if (v !== null && v !== undefined) return 'left';
  }
  return sawNumber ? 'right' : 'left';
}

function grid(t: Table): Cell[][] {
  return t.rows.map((r) => t.columns.map((c) => cell(c, r)));
}

export function renderText(t: Table): string {
  const body = grid(t).map((r) => r.map((c) => c.text.replace(/\r?\n/g, ' ')));
  const head = t.columns.map((c) => c.header);
  const align = t.columns.map((c) => alignOf(c, t.rows));
  const width = head.map((h, j) => Math.max([...h].length, ...body.map((r) => [...r[j]].length)));
  const pad = (s: string, j: number): string => {
    const fill = ' '.repeat(width[j] - [...s].length);
    return align[j] === 'right' ? fill + s : s + fill;
  };
  const line = (cells: string[]): string => cells.map(pad).join('  ').trimEnd();
  const out: string[] = [];
  if (t.title) out.push(t.title);
  out.push(line(head), width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) out.push(line(r));
  for (const n of t.notes ?? []) out.push(n);
  return out.join('\n') + '\n';
}

function mdEscape(s: string): string {
  // raw HTML in a cell would be rendered (or run) by Markdown viewers: entities, then our own <br>
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export function renderMarkdown(t: Table): string {
  const row = (cells: string[]): string => `| ${cells.map(mdEscape).join(' | ')} |`;
  const out: string[] = [];
  if (t.title) out.push(`**${mdEscape(t.title)}**`, '');
  out.push(row(t.columns.map((c) => c.header)));
  out.push(`|${t.columns.map((c) => (alignOf(c, t.rows) === 'right' ? ' ---: ' : ' :--- ')).join('|')}|`);
  for (const r of grid(t)) out.push(row(r.map((c) => c.text)));
  for (const n of t.notes ?? []) out.push('', mdEscape(n));
  return out.join('\n') + '\n';
}

function csvField(s: string): string {
  // a text cell starting with = + - @ is a formula to a spreadsheet (=HYPERLINK(…)): a leading ' keeps it text; numbers stay numbers
  const t = /^[=+\-@\t\r]/.test(s) && !/^[+-]?(\d|\.\d|inf)/.test(s) ? `'${s}` : s;
  // a leading '#' would be read as one of our comment lines by comment-aware readers
  return /[",\r\n]|^#|^'/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** A comment line stays one line, so free text cannot start a data row. */
function csvComment(s: string): string {
  return `# ${s.replace(/[\r\n]+/g, ' ')}`;
}

/** 'rescaledTime' → 'rescaled_time', 'loss % drop' → 'loss_drop': ASCII identifiers. */
export function snakeCase(s: string): string {
  const out = s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return out || 'column';
}

/** A CSV value at full precision: the shortest decimal that reads back as the same double. */
function csvValue(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '' : v > 0 ? 'inf' : '-inf';
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(csvValue).join(' ');
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

/**
 * RFC 4180 quoting with LF line ends (diff-friendly in a paper's repository). Raw values, not
 * the display formatting: numbers at full precision (they read back as the same doubles),
 * missing values empty so numeric readers (pandas, R) keep the column numeric, snake_case headers.
 */
export function renderCsv(t: Table): string {
  const out: string[] = [];
  if (t.title) out.push(csvComment(t.title));
  for (const n of t.notes ?? []) out.push(csvComment(n));
  out.push(t.columns.map((c) => csvField(c.csvHeader ?? snakeCase(c.key))).join(','));
  for (const r of t.rows) out.push(t.columns.map((c) => csvField(csvValue(r[c.key]))).join(','));
  return out.join('\n') + '\n';
}

const LATEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  _: '\\_',
  '%': '\\%',
  '&': '\\&',
  '#': '\\#',
  $: '\\$',
  '^': '\\textasciicircum{}',
  '~': '\\textasciitilde{}',
};

/**
 * Unicode that appears in gradflow's headers and notes, as pdflatex-safe ASCII (no inputenc or
 * font package needed): math symbols in \ensuremath so they work in text and in math.
 */
const LATEX_UNICODE: Record<string, string> = {
  α: '\\alpha', β: '\\beta', γ: '\\gamma', δ: '\\delta', ε: '\\varepsilon', ζ: '\\zeta', η: '\\eta', θ: '\\theta', ι: '\\iota', κ: '\\kappa',
  λ: '\\lambda', μ: '\\mu', ν: '\\nu', ξ: '\\xi', π: '\\pi', ρ: '\\rho', σ: '\\sigma', τ: '\\tau', υ: '\\upsilon', φ: '\\phi', χ: '\\chi', ψ: '\\psi', ω: '\\omega',
  Γ: '\\Gamma', Δ: '\\Delta', Θ: '\\Theta', Λ: '\\Lambda', Ξ: '\\Xi', Π: '\\Pi', Σ: '\\Sigma', Φ: '\\Phi', Ψ: '\\Psi', Ω: '\\Omega',
  '−': '-', '×': '\\times', '·': '\\cdot', '÷': '\\div', '±': '\\pm', '≤': '\\le', '≥': '\\ge', '≠': '\\ne', '≈': '\\approx', '∝': '\\propto', '≡': '\\equiv',
  '→': '\\to', '←': '\\leftarrow', '↦': '\\mapsto', '⇒': '\\Rightarrow', '∞': '\\infty', '∂': '\\partial', '∇': '\\nabla', '∑': '\\sum', '∫': '\\int', '√': '\\surd',
  '‖': '\\|', '⟨': '\\langle', '⟩': '\\rangle', '⊙': '\\odot', '⊗': '\\otimes', '∈': '\\in', '∉': '\\notin', '⊂': '\\subset', '∪': '\\cup', '∩': '\\cap', '∀': '\\forall',
  '∅': '\\emptyset', '⊥': '\\perp', '∘': '\\circ', '∗': '*', '′': "'", 'ᵀ': '^{\\top}', '½': '\\frac{1}{2}', 'ℓ': '\\ell', 'ℝ': '\\mathbf{R}',
  '⁰': '^{0}', '¹': '^{1}', '²': '^{2}', '³': '^{3}', '⁴': '^{4}', '⁵': '^{5}', '⁶': '^{6}', '⁷': '^{7}', '⁸': '^{8}', '⁹': '^{9}', '⁻': '^{-}', '⁺': '^{+}',
  '₀': '_{0}', '₁': '_{1}', '₂': '_{2}', '₃': '_{3}', '₄': '_{4}', '₅': '_{5}', '₆': '_{6}', '₇': '_{7}', '₈': '_{8}', '₉': '_{9}', 'ₖ': '_{k}', 'ᵢ': '_{i}', 'ⱼ': '_{j}',
};
const LATEX_TEXT_UNICODE: Record<string, string> = {
  '—': '---', '–': '--', '…': '\\ldots{}', '‘': '`', '’': "'", '“': '``', '”': "''", 'é': "\\'e", 'è': '\\`e', 'ö': '\\"o', 'ü': '\\"u', 'ä': '\\"a', '\u00a0': '~',
};

export function latexEscape(s: string): string {
  const escaped = s.replace(/[\\{}_%&#$^~]/g, (ch) => LATEX_SPECIAL[ch]).replace(/\r?\n/g, ' ');
  let out = '';
  const chars = [...escaped];
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k];
    // a combining circumflex or tilde (λ̂, x̃) puts an accent on the symbol before it
    const accent = chars[k + 1] === '\u0302' ? '\\hat' : chars[k + 1] === '\u0303' ? '\\tilde' : null;
    if (accent) {
      out += `\\ensuremath{${accent}{${LATEX_UNICODE[ch] ?? (/[A-Za-z]/.test(ch) ? ch : '?')}}}`;
      k++;
    } else if (ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127) out += ' '; // control characters (^^M ends a comment)
    else if (ch.charCodeAt(0) < 128) out += ch;
    else if (LATEX_UNICODE[ch] !== undefined) out += `\\ensuremath{${LATEX_UNICODE[ch]}}`;
    else if (LATEX_TEXT_UNICODE[ch] !== undefined) out += LATEX_TEXT_UNICODE[ch];
    else out += '?'; // nothing pdflatex reads: a visible placeholder, never a byte that stops the build
  }
  return out;
}

/** '1.23457e-4' → '$1.23457\times10^{-4}$' so exponents read as in the text of the paper. */
function latexNumber(s: string): string {
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (!m) return s.startsWith('-') ? `$${s}$` : s;
  const exp = `${m[2] === '-' ? '-' : ''}${m[3]}`;
  return m[1] === '1' ? `$10^{${exp}}$` : `$${m[1]}\\times10^{${exp}}$`;
}

/** A booktabs tabular (needs \usepackage{booktabs}); the title goes in a comment, for the caller's caption. */
export function renderLatex(t: Table): string {
  const spec = t.columns.map((c) => (alignOf(c, t.rows) === 'right' ? 'r' : 'l')).join('');
  const row = (cells: string[]): string => `${cells.join(' & ')} \\\\`;
  const out: string[] = [];
  // escaped even in a comment: TeX reads ^^M as a line end, which would end the comment early
  if (t.title) out.push(`% ${latexEscape(t.title)}`);
  out.push(`\\begin{tabular}{${spec}}`, '\\toprule');
  out.push(row(t.columns.map((c) => c.latexHeader ?? latexEscape(c.header))), '\\midrule');
  for (const r of grid(t)) out.push(row(r.map((c) => (c.numeric ? latexNumber(c.text) : latexEscape(c.text)))));
  out.push('\\bottomrule', '\\end{tabular}');
  if (t.notes?.length) out.push(`\\par{\\footnotesize ${t.notes.map(latexEscape).join(' \\quad ')}\\par}`);
  return out.join('\n') + '\n';
}
