/**
 * Datasets: X is n×(input row length) row-major, Y is n×c row-major (c = 1 for scalar targets).
 * Readers accept JSON {X, y} / {X, Y} and CSV (last c columns are targets); every shape or
 * value problem is a one-line GradflowError.
 */
import { GradflowError } from './util/errors.ts';
import { CAPS, checkCap, parseDecimal, printable, readInputFile } from './util/limits.ts';

export interface Dataset {
  X: Float64Array;
  Y: Float64Array;
  n: number;
  /** Length of one input row. */
  dIn: number;
  /** Number of outputs. */
  c: number;
  /** Where it came from, for the conventions line. */
  source: string;
}

/**
 * The sample and entry caps for a dataset of n samples, dIn inputs and c outputs. Generators call it
 * before they allocate (a modular dataset is 3p³ values), and makeDataset calls it again for data that
 * arrives already allocated (files, user arrays).
 */
export function checkDatasetSize(n: number, dIn: number, c: number, source: string): void {
  checkCap(CAPS.samples, n, `data: ${source} samples`);
  checkCap(CAPS.dataEntries, n * (dIn + c), `data: ${source} entries`);
}

export function makeDataset(X: Float64Array, Y: Float64Array, n: number, dIn: number, c: number, source: string): Dataset {
  checkDatasetSize(n, dIn, c, source);
  if (X.length !== n * dIn) throw new GradflowError(`data: X has ${X.length} entries, expected n·d = ${n}·${dIn}`);
  if (Y.length !== n * c) throw new GradflowError(`data: y has ${Y.length} entries, expected n·c = ${n}·${c}`);
  checkFinite(X, 'X', dIn);
  checkFinite(Y, 'y', c);
  return { X, Y, n, dIn, c, source };
}

function checkFinite(a: Float64Array, what: string, cols: number): void {
  for (let k = 0; k < a.length; k++) {
    if (!Number.isFinite(a[k])) throw new GradflowError(`data: ${what} has a non-finite value (${a[k]}) at row ${Math.floor(k / cols)}, column ${k % cols}`);
  }
}

function toMatrix(v: unknown, what: string): number[][] {
  if (!Array.isArray(v) || v.length === 0) throw new GradflowError(`data: '${what}' must be a non-empty array`);
  if (v.every((r) => typeof r === 'number' || r === null)) return (v as number[]).map((x) => [x === null ? NaN : x]);
  const rows = v.map((r, j) => {
    if (!Array.isArray(r)) throw new GradflowError(`data: row ${j} of '${what}' is not an array`);
    return r.map((x: unknown) => (typeof x === 'number' ? x : x === null ? NaN : Number.NaN));
  });
  const w = rows[0].length;
  rows.forEach((r, j) => {
    if (r.length !== w) throw new GradflowError(`data: row ${j} of '${what}' has ${r.length} entries, row 0 has ${w}`);
  });
  return rows;
}

export function parseDatasetJson(text: string, source: string): Dataset {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new GradflowError(`data: ${source} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null) throw new GradflowError(`data: ${source} must hold an object {"X": [[…]], "y": […]}`);
  const o = obj as Record<string, unknown>;
  if (!('X' in o)) throw new GradflowError(`data: ${source} has no "X"`);
  const yKey = 'Y' in o ? 'Y' : 'y' in o ? 'y' : null;
  if (!yKey) throw new GradflowError(`data: ${source} has no "y" (or "Y")`);
  const X = toMatrix(o.X, 'X');
  const Y = toMatrix(o[yKey], yKey);
  if (X.length !== Y.length) throw new GradflowError(`data: X has ${X.length} rows but ${yKey} has ${Y.length}`);
  return makeDataset(Float64Array.from(X.flat()), Float64Array.from(Y.flat()), X.length, X[0].length, Y[0].length, source);
}

/** A header cell is a column name: it starts with a letter or _ and is not a number word such as NaN or Infinity. */
const HEADER_CELL = /^[A-Za-z_][A-Za-z0-9_ .()\[\]-]*$/;
const NUMBER_WORDS = /^[+-]?(nan|inf|infinity)$/i;

/** CSV: optional header row of column names; the last `c` columns are the targets. */
export function parseDatasetCsv(text: string, source: string, c = 1): Dataset {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new GradflowError(`data: ${source} is empty`);
  let rows = lines.map((l) => l.split(',').map((s) => s.trim()));
  // a first row is a header only when every cell is a name; a row of numbers with a NaN or a typo is data (and an error below)
  if (rows[0].every((s) => HEADER_CELL.test(s) && !NUMBER_WORDS.test(s))) rows = rows.slice(1);
  if (rows.length === 0) throw new GradflowError(`data: ${source} has a header but no rows`);
  checkCap(CAPS.samples, rows.length, `data: ${source} rows`);
  const w = rows[0].length;
  if (w <= c) throw new GradflowError(`data: ${source} needs at least ${c + 1} columns (inputs, then ${c} target column${c > 1 ? 's' : ''})`);
  const X: number[] = [];
  const Y: number[] = [];
  rows.forEach((r, j) => {
    if (r.length !== w) throw new GradflowError(`data: row ${j} of ${source} has ${r.length} columns, the first has ${w}`);
    r.forEach((s, k) => {
      const v = parseDecimal(s);
      if (v === null) {
        if (NUMBER_WORDS.test(s)) throw new GradflowError(`data: ${source} has a non-finite value (${s}) at row ${j}, column ${k}`);
        throw new GradflowError(`data: ${source} has '${printable(s.slice(0, 40))}' at row ${j}, column ${k}, which is not a decimal number`);
      }
      (k < w - c ? X : Y).push(v);
    });
  });
  return makeDataset(Float64Array.from(X), Float64Array.from(Y), rows.length, w - c, c, source);
}

export function readDataset(path: string, c = 1): Dataset {
  const text = readInputFile(path, 'data');
  return path.toLowerCase().endsWith('.csv') ? parseDatasetCsv(text, path, c) : parseDatasetJson(text, path);
}

/** Input and input-output second moments Σ_xx = XᵀX/n (d×d) and Σ_yx = YᵀX/n (c×d). */
export function moments(ds: Dataset): { Sxx: Float64Array; Syx: Float64Array; Syy: Float64Array } {
  const { X, Y, n, dIn: d, c } = ds;
  const Sxx = new Float64Array(d * d);
  const Syx = new Float64Array(c * d);
  const Syy = new Float64Array(c * c);
  for (let j = 0; j < n; j++) {
    const xo = j * d, yo = j * c;
    for (let a = 0; a < d; a++) {
      const xa = X[xo + a];
      for (let b = a; b < d; b++) Sxx[a * d + b] += xa * X[xo + b];
      for (let k = 0; k < c; k++) Syx[k * d + a] += Y[yo + k] * xa;
    }
    for (let k = 0; k < c; k++) for (let l = 0; l < c; l++) Syy[k * c + l] += Y[yo + k] * Y[yo + l];
  }
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) { Sxx[a * d + b] /= n; Sxx[b * d + a] = Sxx[a * d + b]; }
  for (let k = 0; k < Syx.length; k++) Syx[k] /= n;
  for (let k = 0; k < Syy.length; k++) Syy[k] /= n;
  return { Sxx, Syx, Syy };
}

/**
 * Gaussian inputs with covariance diag(1, 1/2, …, 1/d) and targets y = Xβ* + noise·N(0, 1):
 * the default anisotropic regression problem of the built-in linear-in-x models.
 */
export function gaussianTeacherData(n: number, d: number, betaStar: Float64Array, rng: { normal(): number }, noise = 0): { X: Float64Array; Y: Float64Array } {
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < d; q++) {
      X[j * d + q] = rng.normal() / Math.sqrt(q + 1);
      s += X[j * d + q] * betaStar[q];
    }
    Y[j] = s + noise * rng.normal();
  }
  return { X, Y };
}
