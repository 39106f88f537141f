/**
 * Command-line arguments: positionals, `--key value`, `--key=value` and boolean flags.
 * Each command declares its options, so an unknown or malformed option is a one-line error.
 */
import { GradflowError } from '../util/errors.ts';
import { hasOwn, parseDecimal, printable } from '../util/limits.ts';

export type OptionKind = 'number' | 'int' | 'string' | 'flag' | 'list' | 'numbers';

export interface OptionDecl {
  kind: OptionKind;
  help: string;
  /** Repeatable options collect every value (e.g. --dim d=20 --dim c=3). */
  repeat?: boolean;
  default?: string;
  /** The value's name in help (FILE, DIR, …); else one from the kind. */
  metavar?: string;
}

export type ParsedValue = number | string | boolean | string[] | number[];

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, ParsedValue>;
  /** The command line as given (after `gradflow`), for the JSON envelope. */
  argv: string[];
}

/**
 * A decimal with a non-zero mantissa that Number() rounds to 0 (1e-400): rejected, because a
 * parameter such as --alpha would otherwise turn into 0 — for `agf` the α → 0 limit — silently.
 */
function checkUnderflow(name: string, raw: string, v: number): void {
  if (v === 0 && /[1-9]/.test(raw.trim().split(/[eE]/)[0])) {
    throw new GradflowError(`--${name}: '${printable(raw.trim())}' underflows to 0 in double precision (the smallest positive double is about 5e-324)`);
  }
}

function convert(name: string, kind: OptionKind, raw: string): ParsedValue {
  switch (kind) {
    case 'number': {
      const v = parseDecimal(raw);
      if (v === null) throw new GradflowError(`--${name} needs a number (a finite decimal; got '${printable(raw)}')`);
      checkUnderflow(name, raw, v);
      return v;
    }
    case 'int': {
      const v = parseDecimal(raw);
      if (v === null || !Number.isSafeInteger(v)) throw new GradflowError(`--${name} needs an integer (got '${printable(raw)}')`);
      return v;
    }
    case 'numbers':
      return raw.split(',').map((s) => {
        const v = parseDecimal(s);
        if (v === null) throw new GradflowError(`--${name} needs comma-separated finite decimal numbers (got '${printable(raw)}')`);
        checkUnderflow(name, s, v);
        return v;
      });
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return raw;
  }
}

/** Edit distance with adjacent transpositions (optimal string alignment): tiem → time is one edit. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Spellings other tools use for gradflow's options (a distance metric cannot see that tend means t). */
const SYNONYMS: Record<string, string[]> = {
  t: ['tend', 't-end', 't_end', 'tmax', 't-max', 'time', 'horizon', 'T'],
  lr: ['learning-rate', 'learning_rate', 'eta', 'step-size', 'stepsize'],
  steps: ['iters', 'iterations', 'n-steps', 'nsteps', 'epochs'],
  alpha: ['init-scale', 'scale', 'a'],
  out: ['output', 'outdir', 'out-dir', 'o'],
  methods: ['method'],
  method: ['methods', 'solver', 'integrator'],
  'max-steps': ['maxsteps', 'max_steps', 'maxSteps'],
  seed: ['seeds', 'random-seed'],
  seeds: ['seed'],
  alphas: ['alpha'],
};

/**
 * The names in `candidates` a user most likely meant by `given`: those at the smallest distance,
 * where a known synonym counts 0 (1 with a one-letter slip), a near spelling its edit distance,
 * and a prefix either way the distance limit.
 */
export function suggest(given: string, candidates: readonly string[]): string[] {
  const g = given.toLowerCase();
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const limit = c.length <= 3 ? 1 : c.length <= 6 ? 2 : 3;
    let best = Infinity;
    const d = editDistance(g, c.toLowerCase());
    if (d <= limit && d < Math.max(g.length, c.length)) best = d;
    else if (g.length >= 3 && c.length >= 3 && (c.startsWith(g) || g.startsWith(c))) best = limit;
    for (const syn of hasOwn(SYNONYMS, c) ? SYNONYMS[c] : []) {
      const ds = editDistance(syn.toLowerCase(), g);
      if (ds === 0 || (ds === 1 && syn.length > 3)) best = Math.min(best, ds);
    }
    if (best < Infinity) scored.push([c, best]);
  }
  const min = Math.min(...scored.map(([, d]) => d));
  return scored.filter(([, d]) => d === min).map(([c]) => c).sort().slice(0, 3);
}

/** Where the options are parsed for: names the command in errors and says which commands take an option it lacks. */
export interface ParseContext {
  command: string;
  /** Every command's option names, for "--lr is an option of descent, compare". */
  others?: Record<string, readonly string[]>;
}

function unknownOption(name: string, decls: Record<string, OptionDecl>, ctx?: ParseContext): GradflowError {
  const shown = printable(name);
  const where = ctx ? ` for '${ctx.command}'` : '';
  const close = suggest(name, Object.keys(decls));
  if (close.length) return new GradflowError(`unknown option --${shown}${where} (did you mean ${close.map((c) => `--${c}`).join(' or ')}?)`);
  const owners = ctx?.others ? Object.entries(ctx.others).filter(([c, names]) => c !== ctx.command && names.includes(name)).map(([c]) => c) : [];
  if (owners.length) return new GradflowError(`unknown option --${shown}${where} (--${shown} is an option of ${owners.join(', ')}; see gradflow help ${ctx?.command})`);
  return new GradflowError(`unknown option --${shown}${where} (see ${ctx ? `gradflow help ${ctx.command}` : '--help'})`);
}

export function parseArgs(argv: string[], decls: Record<string, OptionDecl>, ctx?: ParseContext): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, ParsedValue>();
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (/^-[A-Za-z]/.test(a)) {
      const bare = a.slice(1).split('=')[0];
      const hint = hasOwn(decls, bare) ? `--${bare}` : suggest(bare, Object.keys(decls)).map((c) => `--${c}`).join(' or ') || 'see --help';
      throw new GradflowError(`unknown option ${printable(a)}: options take two dashes (${hint === 'see --help' ? hint : `did you mean ${printable(hint)}?`})`);
    }
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const decl = hasOwn(decls, name) ? decls[name] : undefined;
    if (!decl) throw unknownOption(name, decls, ctx);
    if (!decl.repeat && values.has(name)) throw new GradflowError(`--${name} is given twice`);
    if (decl.kind === 'flag') {
      if (eq > 0) throw new GradflowError(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    let raw: string;
    if (eq > 0) raw = a.slice(eq + 1);
    else {
      if (k + 1 >= argv.length) throw new GradflowError(`--${name} needs a value`);
      raw = argv[++k];
    }
    if (raw.trim() === '') throw new GradflowError(`--${name} needs a value (got an empty one)`);
    const v = convert(name, decl.kind, raw);
    if (decl.repeat) {
      const prev = (values.get(name) as string[] | undefined) ?? [];
      values.set(name, [...prev, raw]);
    } else values.set(name, v);
  }
  return { positionals, values, argv: [...argv] };
}

/** Help text: usage, summary and one block per non-empty group of options. */
export function formatHelp(usage: string, summary: string, groups: [string, Record<string, OptionDecl>][]): string {
  const rowsOf = (decls: Record<string, OptionDecl>): [string, string][] => Object.entries(decls).map(([k, d]) => {
    const arg = d.kind === 'flag' ? '' : d.metavar ? ` ${d.metavar}` : d.kind === 'number' || d.kind === 'int' ? ' N' : d.kind === 'numbers' ? ' N,N,…' : d.kind === 'list' ? ' A,B,…' : ' VALUE';
    return [`  --${k}${arg}`, d.help + (d.default ? ` (default ${d.default})` : '')];
  });
  const blocks = groups.map(([title, decls]) => [title, rowsOf(decls)] as const).filter(([, rows]) => rows.length);
  const w = Math.max(...blocks.flatMap(([, rows]) => rows.map((r) => r[0].length)), 10) + 2;
  return `${usage}\n\n${summary}\n${blocks.map(([title, rows]) => `\n${title}:\n${rows.map(([a, b]) => a.padEnd(w) + b).join('\n')}\n`).join('')}`;
}
