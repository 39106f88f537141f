/**
 * Dense least squares (src/solvers/lsq.ts) against the normal equations solved independently
 * (util/linalg.ts, Gaussian elimination on AᵀA x = Aᵀy) on well-conditioned problems, and the
 * block form against its defining property: the same fitted values Ax (the same column span) with
 * the columns that depend on their own block's others set to zero.
 */
import { describe, expect, it } from 'vitest';
import { lsqPivoted, lsqPivotedBlocks } from '../src/solvers/lsq.ts';
import { solveLinear } from '../src/util/linalg.ts';
import { Rng } from '../src/util/rng.ts';

const rng = new Rng(11);
const randomCol = (n: number): Float64Array => Float64Array.from({ length: n }, () => rng.normal());

/** Ax for columns cols. */
function apply(cols: Float64Array[], x: ArrayLike<number>, n: number): Float64Array {
  const f = new Float64Array(n);
  cols.forEach((c, q) => { for (let i = 0; i < n; i++) f[i] += x[q] * c[i]; });
  return f;
}

/** The least-squares fit of y on independent columns by the normal equations. */
function normalFit(cols: Float64Array[], y: Float64Array): Float64Array {
  const k = cols.length, n = y.length;
  const G = new Float64Array(k * k), b = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    for (let i = 0; i < n; i++) b[a] += cols[a][i] * y[i];
    for (let c = 0; c < k; c++) for (let i = 0; i < n; i++) G[a * k + c] += cols[a][i] * cols[c][i];
  }
  return apply(cols, solveLinear(G, b, k)!, n);
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('least squares by pivoted QR', () => {
  it('full column rank: the fit equals the normal equations\' to 1e-12', () => {
    const n = 30, cols = Array.from({ length: 8 }, () => randomCol(n)), y = randomCol(n);
    const { x, rank } = lsqPivoted(cols, y);
    expect(rank).toBe(8);
    expect(maxDiff(apply(cols, x, n), normalFit(cols, y))).toBeLessThan(1e-12);
  });

  it('blocks with dependent columns (a diagonal neuron\'s v·x and u·x): same fit as on the independent columns, zero on the dropped ones', () => {
    const n = 40, y = randomCol(n);
    const base = Array.from({ length: 6 }, () => randomCol(n));
    // blocks of 2: neurons 0–3 have parallel pairs (rank 1), neuron 4 two independent columns
    const cols: Float64Array[] = [];
    for (let i = 0; i < 4; i++) {
      const [su, sv] = [0.3 + i, -1.7 + 0.2 * i];
      cols.push(base[i].map((v) => su * v), base[i].map((v) => sv * v));
    }
    cols.push(base[4], base[5]);
    const { x, rank } = lsqPivotedBlocks(cols, 2, y);
    expect(rank).toBe(6);
    expect(maxDiff(apply(cols, x, n), normalFit(base, y))).toBeLessThan(1e-12);
    // one column of each parallel pair carries the coefficient, the larger one (the block's pivot)
    for (let i = 0; i < 4; i++) {
      const big = Math.abs(0.3 + i) >= Math.abs(-1.7 + 0.2 * i) ? 0 : 1;
      expect(x[2 * i + big]).not.toBe(0);
      expect(x[2 * i + 1 - big]).toBe(0);
    }
    expect(x[8] * x[9]).not.toBe(0);
    // and the plain pivoted QR on every column gives the same fitted values
    expect(maxDiff(apply(cols, lsqPivoted(cols, y, 1e-9).x, n), apply(cols, x, n))).toBeLessThan(1e-12);
  });
});
