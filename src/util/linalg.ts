/** Small dense linear-algebra helpers on row-major Float64Array (ml-matrix for the heavy lifting). */
export function maxAbsDiffFromIdentity(A: Float64Array, d: number): number {
  let m = 0;
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m = Math.max(m, Math.abs(A[a * d + b] - (a === b ? 1 : 0)));
  return m;
}

export function norm2(v: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k] * v[k];
  return Math.sqrt(s);
}

export function dotv(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
}

/** Relative distance ‖a − b‖ / max(‖b‖, floor). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-300): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return Math.sqrt(s) / Math.max(norm2(b), floor);
}

/**
 * Solve A x = b (A m×m, row-major) by Gaussian elimination with partial pivoting; null when a
 * pivot is at most relTol·max|A| (relTol 0: only an exact zero pivot counts as singular).
 */
export function solveLinear(A: ArrayLike<number>, b: ArrayLike<number>, m: number, relTol = 0): Float64Array | null {
  const M = Float64Array.from(A), x = Float64Array.from(b);
  let scale = 0;
  for (let k = 0; k < M.length; k++) scale = Math.max(scale, Math.abs(M[k]));
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r * m + c]) > Math.abs(M[p * m + c])) p = r;
    if (!(Math.abs(M[p * m + c]) > relTol * scale)) return null;
    if (p !== c) {
      for (let k = 0; k < m; k++) [M[c * m + k], M[p * m + k]] = [M[p * m + k], M[c * m + k]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < m; r++) {
      const f = M[r * m + c] / M[c * m + c];
      if (f === 0) continue;
      for (let k = c; k < m; k++) M[r * m + k] -= f * M[c * m + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = m - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < m; k++) s -= M[c * m + k] * x[k];
    x[c] = s / M[c * m + c];
  }
  return x;
}
