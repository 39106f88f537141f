/**
 * Dense least squares min ‖y − A x‖ by Householder QR with column pivoting (Businger–Golub).
 * The active-set solvers (sign-constrained LSQ, the diagonal AGF's cost step) call this on
 * column subsets that can be rank-deficient (n < d, collinear columns): pivoting reveals the
 * numerical rank and the *basic* solution is returned (x = 0 on the columns judged dependent),
 * which is a least-squares minimiser — Ax, hence the residual and the gradient, is the same as
 * for the minimum-norm solution, and that is all the active-set logic depends on.
 */

const EPS = 2.220446049250313e-16;

export interface LsqResult {
  /** Solution, one entry per column of A (in the order given). */
  x: Float64Array;
  /** Numerical rank found by the pivoted QR. */
  rank: number;
}

/**
 * Least squares on columns `cols` (each of length n = y.length). `rcond`: a column is treated
 * as dependent when its remaining norm is ≤ rcond·|R₀₀| (default 10·max(n, k)·ε, the usual
 * LAPACK-style choice relative to the problem's own scale).
 */
export function lsqPivoted(cols: ArrayLike<number>[], y: ArrayLike<number>, rcond?: number): LsqResult {
  const k = cols.length;
  const n = y.length;
  const x = new Float64Array(k);
  if (k === 0 || n === 0) return { x, rank: 0 };
  const a = cols.map((c) => Float64Array.from(c));
  const b = Float64Array.from(y);
  const perm = Array.from({ length: k }, (_, q) => q);
  const tol = rcond ?? 10 * Math.max(n, k) * EPS;
  const m = Math.min(n, k);
  let rank = 0;
  let r00 = 0;
  for (let j = 0; j < m; j++) {
    // pivot on the largest remaining column norm (recomputed exactly: k and n are small here,
    // and downdating the norms loses accuracy exactly in the rank-deficient cases we care about)
    let best = j, bestNorm = -1;
    for (let q = j; q < k; q++) {
      let s = 0;
      const c = a[q];
      for (let i = j; i < n; i++) s += c[i] * c[i];
      if (s > bestNorm) { bestNorm = s; best = q; }
    }
    if (best !== j) {
      [a[j], a[best]] = [a[best], a[j]];
      [perm[j], perm[best]] = [perm[best], perm[j]];
    }
    const normx = Math.sqrt(bestNorm);
    if (j === 0) r00 = normx;
    if (normx === 0 || normx <= tol * r00) break;
    const cj = a[j];
    const alph = cj[j] >= 0 ? -normx : normx;
    const v0 = cj[j] - alph;
    let vnorm2 = v0 * v0;
    for (let i = j + 1; i < n; i++) vnorm2 += cj[i] * cj[i];
    cj[j] = alph;
    const reflect = (c: Float64Array): void => {
      let s = v0 * c[j];
      for (let i = j + 1; i < n; i++) s += cj[i] * c[i];
      const f = (2 * s) / vnorm2;
      c[j] -= f * v0;
      for (let i = j + 1; i < n; i++) c[i] -= f * cj[i];
    };
    for (let q = j + 1; q < k; q++) reflect(a[q]);
    reflect(b);
    rank++;
  }
  // back substitution on the leading rank×rank block of R (R[i][q] = a[q][i])
  const z = new Float64Array(rank);
  for (let i = rank - 1; i >= 0; i--) {
    let s = b[i];
    for (let q = i + 1; q < rank; q++) s -= a[q][i] * z[q];
    z[i] = s / a[i][i];
  }
  for (let q = 0; q < rank; q++) x[perm[q]] = z[q];
  return { x, rank };
}

/**
 * lsqPivoted on columns that come in blocks (one block per neuron: its Jacobian columns), after
 * dropping, block by block, the columns that depend on the block's others (pivoted Gram–Schmidt,
 * relative tolerance `rcond` within the block). A neuron's rescaling symmetry makes its own
 * columns dependent (a diagonal neuron's ∂f/∂u = v·x and ∂f/∂v = u·x are parallel), so the global
 * QR, whose cost grows with the square of the column count, runs on about half the columns. The
 * span is unchanged, so Ax and the residual are those of lsqPivoted on every column; x stays a
 * basic solution (0 on the dropped columns).
 */
export function lsqPivotedBlocks(cols: ArrayLike<number>[], blockSize: number, y: ArrayLike<number>, rcond = 1e-9): LsqResult {
  const k = cols.length, n = y.length;
  const keep: number[] = [];
  for (let b0 = 0; b0 < k; b0 += blockSize) {
    let first = 0;
    const b1 = Math.min(k, b0 + blockSize);
    const rest = Array.from({ length: b1 - b0 }, (_, q) => Float64Array.from(cols[b0 + q]));
    const left = rest.map((_, q) => b0 + q);
    while (left.length) {
      let best = 0, bestNorm = -1;
      left.forEach((_, q) => {
        let s = 0;
        const c = rest[q];
        for (let i = 0; i < n; i++) s += c[i] * c[i];
        if (s > bestNorm) { bestNorm = s; best = q; }
      });
      const norm = Math.sqrt(bestNorm);
      if (first === 0) first = norm;
      if (!(norm > rcond * first)) break;
      keep.push(left[best]);
      const u = rest[best];
      left.splice(best, 1);
      rest.splice(best, 1);
      for (const c of rest) {
        let d = 0;
        for (let i = 0; i < n; i++) d += u[i] * c[i];
        const f = d / bestNorm;
        for (let i = 0; i < n; i++) c[i] -= f * u[i];
      }
    }
  }
  const sol = lsqPivoted(keep.map((q) => cols[q]), y, rcond);
  const x = new Float64Array(k);
  keep.forEach((q, m) => { x[q] = sol.x[m]; });
  return { x, rank: sol.rank };
}
