/**
 * Dense matrices as row-major Float64Array with explicit sizes, bridged to ml-matrix for the
 * decompositions. Eigen- and singular values come back sorted in decreasing order, because every
 * caller here (greedy low-rank learning) consumes modes from the top.
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';

export function toMatrix(a: ArrayLike<number>, rows: number, cols: number): Matrix {
  const m = new Matrix(rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m.set(r, c, a[r * cols + c]);
  return m;
}

export function fromMatrix(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows * m.columns);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.columns; c++) out[r * m.columns + c] = m.get(r, c);
  return out;
}

/** C = A (r×k) · B (k×c). */
export function matmul(A: ArrayLike<number>, B: ArrayLike<number>, r: number, k: number, c: number): Float64Array {
  const C = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let q = 0; q < k; q++) {
    const a = A[i * k + q];
    if (a === 0) continue;
    for (let j = 0; j < c; j++) C[i * c + j] += a * B[q * c + j];
  }
  return C;
}

export function transpose(A: ArrayLike<number>, r: number, c: number): Float64Array {
  const T = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) T[j * r + i] = A[i * c + j];
  return T;
}

/** Symmetric eigendecomposition, eigenvalues decreasing; vectors[k] is the k-th eigenvector. */
export function symEig(S: ArrayLike<number>, n: number): { values: number[]; vectors: Float64Array[] } {
  const sym = toMatrix(S, n, n);
  // symmetrise exactly: ml-matrix picks the symmetric (Jacobi/QL) path only for exactly symmetric input
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
    const v = 0.5 * (sym.get(i, j) + sym.get(j, i));
    sym.set(i, j, v);
    sym.set(j, i, v);
  }
  const evd = new EigenvalueDecomposition(sym, { assumeSymmetric: true });
  const V = evd.eigenvectorMatrix;
  const order = evd.realEigenvalues.map((v, k) => ({ v, k })).sort((x, y) => y.v - x.v);
  return {
    values: order.map((o) => o.v),
    vectors: order.map((o) => Float64Array.from(V.getColumn(o.k))),
  };
}

/** Thin SVD of A (r×c), singular values decreasing: A = Σ_k s_k u_k v_kᵀ. */
export function svd(A: ArrayLike<number>, r: number, c: number): { s: number[]; u: Float64Array[]; v: Float64Array[] } {
  const m = toMatrix(A, r, c);
  const res = new SingularValueDecomposition(m, { autoTranspose: true });
  const s = res.diagonal;
  const order = s.map((v, k) => ({ v, k })).sort((x, y) => y.v - x.v);
  return {
    s: order.map((o) => o.v),
    u: order.map((o) => Float64Array.from(res.leftSingularVectors.getColumn(o.k))),
    v: order.map((o) => Float64Array.from(res.rightSingularVectors.getColumn(o.k))),
  };
}

export function singularValues(A: ArrayLike<number>, r: number, c: number): number[] {
  return svd(A, r, c).s;
}

/** Inverse of a symmetric positive-definite matrix through its eigendecomposition (with a clear failure when singular). */
export function symInverse(S: ArrayLike<number>, n: number): Float64Array | null {
  const { values, vectors } = symEig(S, n);
  const top = Math.max(Math.abs(values[0] ?? 0), 1e-300);
  if (values[n - 1] <= 1e-13 * top) return null;
  const inv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const v = vectors[k], l = values[k];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) inv[i * n + j] += (v[i] * v[j]) / l;
  }
  return inv;
}

export function trace(S: ArrayLike<number>, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += S[i * n + i];
  return t;
}

export function frobenius(A: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < A.length; k++) s += A[k] * A[k];
  return Math.sqrt(s);
}
