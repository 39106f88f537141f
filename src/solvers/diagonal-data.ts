/**
 * The data the diagonal-network schedule solvers (pf, agf-diagonal) work on, taken from a
 * Problem and validated once: X (n×d, row-major), y (n), alpha. Every defect is a one-line
 * GradflowError naming the fix.
 *
 * An all-zero column of X is rejected rather than silently ignored: its coordinate receives a
 * gradient of exactly 0 forever, so it can never activate, and the user almost certainly passed
 * a wrong file or forgot to drop a constant feature; the fix (drop the column) is theirs to make.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';

export interface DiagonalData {
  X: Float64Array;
  y: Float64Array;
  n: number;
  d: number;
  alpha: number;
}

export function validateDiagonalData(X: Float64Array, y: Float64Array, n: number, d: number, alpha: number, who: string): DiagonalData {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 1) throw new GradflowError(`${who}: data must have at least one sample and one coordinate (got n = ${n}, d = ${d})`);
  if (X.length !== n * d) throw new GradflowError(`${who}: X has ${X.length} entries but n·d = ${n}·${d}; X and y must have the same number of rows`);
  if (y.length !== n) throw new GradflowError(`${who}: y has ${y.length} entries but X has ${n} rows; X and y must have the same number of rows`);
  for (let q = 0; q < X.length; q++) {
    if (!Number.isFinite(X[q])) throw new GradflowError(`${who}: X has a non-finite value (${X[q]}) at row ${Math.floor(q / d)}, column ${q % d}`);
  }
  for (let j = 0; j < n; j++) if (!Number.isFinite(y[j])) throw new GradflowError(`${who}: y has a non-finite value (${y[j]}) at row ${j}`);
  for (let i = 0; i < d; i++) {
    let zero = true;
    for (let j = 0; j < n && zero; j++) if (X[j * d + i] !== 0) zero = false;
    if (zero) throw new GradflowError(`${who}: column ${i} of X is all zero, so coordinate ${i} never receives a gradient and can never activate; drop that column`);
  }
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha < 1)) throw new GradflowError(`${who}: alpha must lie in (0, 1) (got ${alpha}); it is the initial scale and log(1/alpha) the time unit`);
  return { X, y, n, d, alpha };
}

export function diagonalData(p: Problem, who: string): DiagonalData {
  if (p.model.spec.name !== 'diagonal') throw new GradflowError(`${who} applies to the diagonal model only (got '${p.model.spec.name}')`);
  const { X, Y, n, dIn, c } = p.data;
  if (c !== 1) throw new GradflowError(`${who}: the diagonal model has one output, the data has ${c}`);
  return validateDiagonalData(X, Y, n, dIn, p.alpha, who);
}
