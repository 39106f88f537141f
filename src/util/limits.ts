/**
 * Input validation shared by every boundary (CLI arguments, spec files, data files): identifiers,
 * size caps and file reading. Caps exist so that a typo (--dim d=1e9, --points 1e8) is one line
 * naming the cap instead of an out-of-memory crash or an hour of computing; each can be raised
 * for a run that really needs more with an environment variable the message names.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GradflowError } from './errors.ts';

/** [A-Za-z_][A-Za-z0-9_]*: safe in generated code, LaTeX, CSV, Markdown and terminals. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A decimal number as people and CSV writers write it: no hex, binary, octal, Infinity or NaN, which Number() would also read. */
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value of a decimal string (surrounding blanks allowed), or null; finite or overflowing to ±Infinity never passes. */
export function parseDecimal(s: string): number | null {
  const t = s.trim();
  if (!DECIMAL.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** Names a plain JavaScript object already has (constructor, toString, __proto__, …). */
const OBJECT_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** A user-chosen name (parameter, input, dimension, option): a plain identifier that is not an Object key. */
export function checkIdentifier(name: string, what: string): void {
  if (!IDENTIFIER.test(name)) throw new GradflowError(`${what} '${printable(name)}' is not a name: use letters, digits and _ (starting with a letter or _)`);
  if (OBJECT_KEYS.has(name)) throw new GradflowError(`${what} '${name}' is reserved (it names a built-in JavaScript property); choose another name`);
}

/** An own property of a parsed JSON object (never one inherited from Object.prototype). */
export function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** Control and bidirectional characters shown as escapes, so one message stays one line and a terminal runs no escape sequence. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Text for a terminal: line breaks and tabs kept, every other control character (ESC sequences, bidi overrides) shown as an escape. */
export function terminalSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, printable);
}

/** Whether a free-text string (a title, a description) holds characters that would break a line or drive a terminal. */
export function hasControlCharacters(s: string): boolean {
  return printable(s) !== s;
}

export interface Cap {
  /** What is capped, as the message names it. */
  what: string;
  value: number;
  /** The environment variable that raises it. */
  env: string;
}

function cap(what: string, value: number, env: string): Cap {
  const raw = process.env[env];
  const v = raw !== undefined && /^\d+(\.\d+)?(e\d+)?$/i.test(raw.trim()) ? Number(raw) : value;
  return { what, value: v, env };
}

/** The caps, read once per process (so a test or a shell can raise them through the environment). */
export const CAPS = {
  dim: cap('a dimension', 10_000, 'GRADFLOW_MAX_DIM'),
  neurons: cap('the number of neurons', 10_000, 'GRADFLOW_MAX_NEURONS'),
  params: cap('the number of parameters H·P', 1_000_000, 'GRADFLOW_MAX_PARAMS'),
  samples: cap('the number of samples', 1_000_000, 'GRADFLOW_MAX_SAMPLES'),
  dataEntries: cap('the number of data entries n·(d + c)', 20_000_000, 'GRADFLOW_MAX_DATA'),
  points: cap('the number of checkpoints (--points)', 10_000, 'GRADFLOW_MAX_POINTS'),
  starts: cap('the number of random starts (--starts)', 10_000, 'GRADFLOW_MAX_STARTS'),
  steps: cap('the number of descent steps', 10_000_000, 'GRADFLOW_MAX_STEPS'),
  fileBytes: cap('an input file size in bytes', 256 * 1024 * 1024, 'GRADFLOW_MAX_FILE_BYTES'),
  exponent: cap('a template exponent', 16, 'GRADFLOW_MAX_EXPONENT'),
  degree: cap('the polynomial degree of a template', 16, 'GRADFLOW_MAX_DEGREE'),
  templateTokens: cap('the number of tokens in a template', 2_000, 'GRADFLOW_MAX_TOKENS'),
  nesting: cap('the nesting depth of a template', 100, 'GRADFLOW_MAX_NESTING'),
} as const;

/** Throws when `v` exceeds the cap: the message names the input (`subject`), the cap and how to raise it. */
export function checkCap(c: Cap, v: number, subject: string): void {
  if (v > c.value) throw new GradflowError(`${subject}: ${v} exceeds the cap of ${c.value} on ${c.what} (raise it with the environment variable ${c.env} if you mean it)`);
}

/**
 * Reads a user-named input file as UTF-8: regular files only (no /dev/zero, FIFOs or
 * directories, which would read forever or not at all) and at most CAPS.fileBytes bytes.
 */
export function readInputFile(path: string, what: string): string {
  if (path === '') throw new GradflowError(`${what}: the file name is empty`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new GradflowError(`${what}: cannot read ${printable(path)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new GradflowError(`${what}: ${printable(path)} is not a regular file`);
    checkCap(CAPS.fileBytes, st.size, `${what}: ${printable(path)} size in bytes`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const r = readSync(fd, buf, got, st.size - got, got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
