/**
 * Printing of tensor expressions as plain text (Unicode) and LaTeX. One walker, two styles,
 * so the text and LaTeX forms of a derived equation can never disagree.
 */
import { type Expr, shapeOf } from './expr.ts';

interface Style {
  sym(name: string): string;
  num(v: number): string;
  minus: string;
  times(a: string, b: string, hadamard: boolean): string;
  contract(aT: string, b: string): string;
  pow(base: string, exp: number): string;
  transposeOf(s: string): string;
  index(base: string, idx: string): string;
  ones: string;
  unit(idx: string): string;
  paren(s: string): string;
  fn(name: string, arg: string): string;
}

const SUPERSCRIPT = '⁰¹²³⁴⁵⁶⁷⁸⁹';
const GREEK: Record<string, [string, string]> = {
  Sxx: ['Σ_xx', '\\Sigma_{xx}'], Syx: ['Σ_yx', '\\Sigma_{yx}'], Sxy: ['Σ_xy', '\\Sigma_{xy}'], Syy: ['Σ_yy', '\\Sigma_{yy}'],
  alpha: ['α', '\\alpha'], beta: ['β', '\\beta'], delta: ['δ', '\\delta'], theta: ['θ', '\\theta'], eta: ['η', '\\eta'],
  lambda: ['λ', '\\lambda'], sigma: ['σ', '\\sigma'], kappa: ['κ', '\\kappa'], nu: ['ν', '\\nu'],
};

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const s = v.toPrecision(12).replace(/\.?0+(e|$)/, '$1');
  return s;
}

const TEXT: Style = {
  sym: (n) => GREEK[n]?.[0] ?? n,
  num: fmtNum,
  minus: '−',
  times: (a, b, h) => (h ? `${a} ⊙ ${b}` : `${a} ${b}`),
  contract: (aT, b) => `${aT}${b}`,
  pow: (b, e) => (e === -1 ? `${b}⁻¹` : e >= 0 && e < 10 ? `${b}${SUPERSCRIPT[e]}` : `${b}^${e}`),
  transposeOf: (s) => `${s}ᵀ`,
  index: (b, i) => `${b}[${i}]`,
  ones: '𝟏',
  unit: (i) => `e_${i}`,
  paren: (s) => `(${s})`,
  fn: (n, a) => `${n === 'sigmoid' ? 'σ' : n}(${a})`,
};

const LATEX: Style = {
  sym: (n) => {
    const g = GREEK[n];
    if (g) return g[1];
    const m = /^([A-Za-z]+)(\d+)$/.exec(n);
    if (m) return `${m[1]}_{${m[2]}}`;
    return n.length > 1 ? `\\mathrm{${n}}` : n;
  },
  num: fmtNum,
  minus: '-',
  times: (a, b, h) => (h ? `${a} \\odot ${b}` : `${a}\\, ${b}`),
  contract: (aT, b) => `${aT} ${b}`,
  pow: (b, e) => `${b}^{${e}}`,
  transposeOf: (s) => `${s}^{\\top}`,
  index: (b, i) => `${b}_{${i}}`,
  ones: '\\mathbf{1}',
  unit: (i) => `e_{${i}}`,
  paren: (s) => `\\left(${s}\\right)`,
  fn: (n, a) => (n === 'step' ? `\\mathbb{1}\\left[${a} > 0\\right]` : `${LATEX_FN[n] ?? `\\operatorname{${n}}`}\\left(${a}\\right)`),
};

const LATEX_FN: Record<string, string> = { exp: '\\exp', log: '\\log', sigmoid: '\\sigma' };

// precedence: 1 sum, 2 product, 3 power/postfix, 4 atom
function prec(e: Expr): number {
  switch (e.kind) {
    case 'add': return 1;
    case 'mul': case 'dot': case 'matvec': case 'outer': return 2;
    case 'num': return e.value < 0 ? 1 : 4;
    case 'pow': case 'transpose': case 'index': return 3;
    default: return 4;
  }
}

function render(e: Expr, st: Style): string {
  const wrap = (c: Expr, min: number): string => (prec(c) < min ? st.paren(render(c, st)) : render(c, st));
  switch (e.kind) {
    case 'num': return e.value < 0 ? `${st.minus}${st.num(-e.value)}` : st.num(e.value);
    case 'sym': return st.sym(e.name);
    case 'add': {
      let out = '';
      e.terms.forEach((t, k) => {
        const { negative, body } = signed(t, st);
        if (k === 0) out = negative ? `${st.minus}${body}` : body;
        else out += negative ? ` ${st.minus} ${body}` : ` + ${body}`;
      });
      return out;
    }
    case 'mul': {
      const { negative, body } = signed(e, st);
      return negative ? `${st.minus}${body}` : body;
    }
    case 'pow': return st.pow(wrap(e.base, 4), e.exp);
    case 'dot': return st.contract(st.transposeOf(wrap(e.a, 4)), wrap(e.b, 3));
    case 'sum': return st.times(st.transposeOf(st.ones), wrap(e.arg, 3), false);
    case 'matvec': return st.times(wrap(e.A, 3), wrap(e.x, 3), false);
    case 'transpose': return st.transposeOf(wrap(e.A, 4));
    case 'outer': return st.times(wrap(e.a, 3), st.transposeOf(wrap(e.b, 4)), false);
    case 'index': return st.index(wrap(e.arg, 4), render(e.idx, st));
    case 'unit': return st.unit(render(e.idx, st));
    case 'fill': return st.times(wrap(e.value, 3), st.ones, false);
    case 'fn': case 'vfn': return st.fn(e.name, render(e.arg, st));
  }
}

/** A term's sign pulled out front so sums read "a − b" rather than "a + −1 b". */
function signed(t: Expr, st: Style): { negative: boolean; body: string } {
  if (t.kind === 'num') return { negative: t.value < 0, body: st.num(Math.abs(t.value)) };
  if (t.kind === 'fill' && t.value.kind === 'num' && t.value.value < 0) return { negative: true, body: st.times(st.num(-t.value.value), st.ones, false) };
  if (t.kind !== 'mul') return { negative: false, body: prec(t) < 2 ? st.paren(render(t, st)) : render(t, st) };
  let coef = 1;
  const rest: Expr[] = [];
  for (const f of t.factors) {
    if (f.kind === 'num') coef *= f.value;
    else rest.push(f);
  }
  const parts: string[] = [];
  if (Math.abs(coef) !== 1 || rest.length === 0) parts.push(st.num(Math.abs(coef)));
  let body = parts.join('');
  let prevTensor = false;
  for (const f of rest) {
    const s = prec(f) < 3 && !(f.kind === 'dot' || f.kind === 'matvec' || f.kind === 'mul') ? st.paren(render(f, st)) : prec(f) < 2 ? st.paren(render(f, st)) : render(f, st);
    const isTensor = shapeOf(f).length > 0;
    body = body === '' ? s : st.times(body, s, isTensor && prevTensor);
    if (isTensor) prevTensor = true;
  }
  return { negative: coef < 0, body };
}

export const toText = (e: Expr): string => render(e, TEXT);
export const toLatex = (e: Expr): string => render(e, LATEX);
export const symText = (name: string): string => TEXT.sym(name);
export const symLatex = (name: string): string => LATEX.sym(name);
