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
