/**
 * Command-line arguments: positionals, `--key value`, `--key=value` and boolean flags.
 * Each command declares its options, so an unknown or malformed option is a one-line error.
 */
import { GradflowError } from '../util/errors.ts';
import { parseDecimal, printable } from '../util/limits.ts';

export type OptionKind = 'number' | 'int' | 'string' | 'flag' | 'list' | 'numbers';

export interface OptionDecl {
  kind: OptionKind;
  help: string;
  /** Repeatable options collect every value (e.g. --dim d=20 --dim c=3). */
  repeat?: boolean;
  default?: string;
}

export type ParsedValue = number | string | boolean | string[] | number[];

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, ParsedValue>;
  /** The command line as given (after `gradflow`), for the JSON envelope. */
  argv: string[];
}

function convert(name: string, kind: OptionKind, raw: string): ParsedValue {
  switch (kind) {
    case 'number': {
      const v = parseDecimal(raw);
      if (v === null) throw new GradflowError(`--${name} needs a number (a finite decimal; got '${printable(raw)}')`);
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
        return v;
      });
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return raw;
  }
}

export function parseArgs(argv: string[], decls: Record<string, OptionDecl>): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, ParsedValue>();
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (/^-[A-Za-z]/.test(a)) throw new GradflowError(`unknown option ${printable(a)}: options take two dashes (e.g. --${printable(a.slice(1))}; see --help)`);
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const decl = Object.prototype.hasOwnProperty.call(decls, name) ? decls[name] : undefined;
    if (!decl) throw new GradflowError(`unknown option --${printable(name)} (see --help)`);
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

export function formatHelp(usage: string, summary: string, decls: Record<string, OptionDecl>): string {
  const rows = Object.entries(decls).map(([k, d]) => {
    const arg = d.kind === 'flag' ? '' : d.kind === 'number' || d.kind === 'int' ? ' N' : d.kind === 'numbers' ? ' N,N,…' : d.kind === 'list' ? ' A,B,…' : ' VALUE';
    return [`  --${k}${arg}`, d.help + (d.default ? ` (default ${d.default})` : '')];
  });
  const w = Math.max(...rows.map((r) => r[0].length), 10) + 2;
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.map(([a, b]) => a.padEnd(w) + b).join('\n')}\n`;
}
