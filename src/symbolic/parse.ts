/**
 * Parser for neuron templates written as strings in spec files, e.g. "a * dot(w, x)",
 * "u * v * x[i]", "w * (dot(u, xa) + dot(v, xb))^2". Our own small Pratt parser rather than
 * mathjs: templates need our tensor semantics ('*' is elementwise, '@' is a contraction),
 * and errors must name the column and the fix.
 *
 * Grammar:  expr := term (('+'|'-') term)* ; term := unary (('*'|'/'|'@') unary)* ;
 *           unary := '-' unary | power ; power := postfix ('^' integer)? ;
 *           postfix := primary ('[' expr ']')* ; primary := number | name | name '(' args ')' | '(' expr ')'
 */
import { GradflowError } from '../util/errors.ts';
import { CAPS, checkCap } from '../util/limits.ts';
import { degreeBound } from './bounds.ts';
import {
  type Expr, type Sym, ShapeError, add, dot, fn, index, matvec, mul, neg, num, outer, pow, shapeOf, sum, transpose,
} from './expr.ts';

type Tok = { t: 'num'; v: number; at: number } | { t: 'id'; v: string; at: number } | { t: 'op'; v: string; at: number } | { t: 'end'; at: number };

const FUNCTIONS: Record<string, { arity: number; build: (a: Expr[]) => Expr; doc: string }> = {
  dot: { arity: 2, build: ([a, b]) => dot(a, b), doc: 'dot(u, v) = uᵀv' },
  sum: { arity: 1, build: ([a]) => sum(a), doc: 'sum(v) = Σ_k v_k' },
  relu: { arity: 1, build: ([a]) => fn('relu', a), doc: 'relu(z) = max(z, 0), elementwise' },
  step: { arity: 1, build: ([a]) => fn('step', a), doc: 'step(z) = 1[z > 0], elementwise' },
  outer: { arity: 2, build: ([a, b]) => outer(a, b), doc: 'outer(u, v) = u vᵀ' },
  transpose: { arity: 1, build: ([a]) => transpose(a), doc: 'transpose(A) = Aᵀ' },
  matvec: { arity: 2, build: ([A, x]) => matvec(A, x), doc: 'matvec(A, x) = A x' },
  sq: { arity: 1, build: ([a]) => pow(a, 2), doc: 'sq(z) = z²' },
  norm2: { arity: 1, build: ([a]) => dot(a, a), doc: 'norm2(v) = ‖v‖²' },
};

export class TemplateSyntaxError extends GradflowError {}

export function parseTemplate(src: string, scope: ReadonlyMap<string, Sym>, where = 'template'): Expr {
  const toks = tokenize(src, where);
  let pos = 0;
  const peek = (): Tok => toks[pos];
  const fail = (msg: string, at: number): never => {
    throw new TemplateSyntaxError(`${where}: ${msg} at column ${at + 1} of "${src}"`);
  };
  const expectOp = (v: string): void => {
    const k = peek();
    if (k.t !== 'op' || k.v !== v) fail(`expected '${v}'`, k.at);
    pos++;
  };
  const guard = (build: () => Expr, at: number): Expr => {
    try {
      const e = build();
      shapeOf(e);
      return e;
    } catch (err) {
      if (err instanceof ShapeError) return fail(err.message, at);
      throw err;
    }
  };

  function parseExpr(): Expr {
    let left = parseTerm();
    for (;;) {
      const k = peek();
      if (k.t === 'op' && (k.v === '+' || k.v === '-')) {
        pos++;
        const right = parseTerm();
        const l = left;
        left = guard(() => (k.v === '+' ? add(l, right) : add(l, neg(right))), k.at);
      } else return left;
    }
  }
  function parseTerm(): Expr {
    let left = parseUnary();
    for (;;) {
      const k = peek();
      if (k.t === 'op' && (k.v === '*' || k.v === '/' || k.v === '@')) {
        pos++;
        const right = parseUnary();
        const l = left;
        if (k.v === '/') {
          if (right.kind !== 'num') fail('division is only by a number (templates are polynomial)', k.at);
          if (right.kind === 'num' && right.value === 0) fail('division by zero', k.at);
          left = mul(l, num(1 / (right as { value: number }).value));
        } else if (k.v === '@') {
          left = guard(() => (shapeOf(l).length === 2 ? matvec(l, right) : dot(l, right)), k.at);
        } else left = guard(() => mul(l, right), k.at);
      } else return left;
    }
  }
  let depth = 0;
  function parseUnary(): Expr {
    const k = peek();
    // every level of nesting ('(', '-', '[', a call) passes through here: a deep tree would overflow the stack later
    if (++depth > CAPS.nesting.value) checkCap(CAPS.nesting, depth, `${where}: nesting depth at column ${k.at + 1}`);
    try {
      return parseUnaryInner(k);
    } finally {
      depth--;
    }
  }
  function parseUnaryInner(k: Tok): Expr {
    if (k.t === 'op' && k.v === '-') {
      pos++;
      return neg(parseUnary());
    }
    if (k.t === 'op' && k.v === '+') {
      pos++;
      return parseUnary();
    }
    return parsePower();
  }
  function parsePower(): Expr {
    const base = parsePostfix();
    const k = peek();
    if (k.t === 'op' && k.v === '^') {
      pos++;
      const e = peek();
      if (e.t !== 'num' || !Number.isInteger(e.v) || e.v < 0) return fail('an exponent must be a non-negative integer (templates are polynomial)', e.at);
      checkCap(CAPS.exponent, e.v, `${where}: the exponent at column ${e.at + 1}`);
      pos++;
      return pow(base, (e as { v: number }).v);
    }
    return base;
  }
  function parsePostfix(): Expr {
    let e = parsePrimary();
    for (;;) {
      const k = peek();
      if (k.t === 'op' && k.v === '[') {
        pos++;
        const idx = parseExpr();
        expectOp(']');
        const base = e;
        e = guard(() => index(base, idx), k.at);
      } else return e;
    }
  }
  function parsePrimary(): Expr {
    const k = peek();
    if (k.t === 'num') { pos++; return num(k.v); }
    if (k.t === 'op' && k.v === '(') {
      pos++;
      const e = parseExpr();
      expectOp(')');
      return e;
    }
    if (k.t === 'id') {
      pos++;
      const next = peek();
      if (next.t === 'op' && next.v === '(') {
        const f = FUNCTIONS[k.v];
        if (!f) return fail(`unknown function '${k.v}' (known: ${Object.keys(FUNCTIONS).join(', ')})`, k.at);
        pos++;
        const args: Expr[] = [];
        if (!(peek().t === 'op' && (peek() as { v: string }).v === ')')) {
          args.push(parseExpr());
          while (peek().t === 'op' && (peek() as { v: string }).v === ',') { pos++; args.push(parseExpr()); }
        }
        expectOp(')');
        if (args.length !== f.arity) fail(`${k.v}(…) takes ${f.arity} argument${f.arity > 1 ? 's' : ''}, got ${args.length}`, k.at);
        return guard(() => f.build(args), k.at);
      }
      const s = scope.get(k.v);
      if (!s) return fail(`undefined symbol '${k.v}' (declared: ${[...scope.keys()].join(', ') || 'none'})`, k.at);
      return s;
    }
    if (k.t === 'end') return fail('unexpected end of expression', k.at);
    return fail(`unexpected '${(k as { v: string }).v}'`, k.at);
  }

  const e = parseExpr();
  if (peek().t !== 'end') fail(`unexpected '${(peek() as { v: string }).v}'`, peek().at);
  checkCap(CAPS.degree, degreeBound(e), `${where}: the polynomial degree`);
  return e;
}

function tokenize(src: string, where: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    if (out.length === CAPS.templateTokens.value) checkCap(CAPS.templateTokens, out.length + 1, `${where}: the number of tokens`);
    const ch = src[i];
    if (/\s/.test(ch)) { i++; continue; }
    const numMatch = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (numMatch) {
      out.push({ t: 'num', v: Number(numMatch[0]), at: i });
      i += numMatch[0].length;
      continue;
    }
    const idMatch = /^[A-Za-z_][A-Za-z_0-9]*/.exec(src.slice(i));
    if (idMatch) {
      out.push({ t: 'id', v: idMatch[0], at: i });
      i += idMatch[0].length;
      continue;
    }
    if ('+-*/^@()[],'.includes(ch)) {
      out.push({ t: 'op', v: ch, at: i });
      i++;
      continue;
    }
    throw new TemplateSyntaxError(`${where}: unexpected character '${ch}' at column ${i + 1} of "${src}"`);
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

