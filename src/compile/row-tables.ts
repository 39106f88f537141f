/**
 * Distinct input rows of a data set. Data sets built from all pairs (modular addition: n = p²
 * samples, but only p distinct x_a and p distinct x_b) repeat each input row many times; the
 * row-table kernels compute every θ·x product once per distinct row instead of once per sample.
 */
import type { Slot } from './layout.ts';

export interface RowTables {
  /** Per tabled input: the distinct row of each sample. */
  rid: Int32Array[];
  /** Per tabled input: the distinct rows, count × size, row-major. */
  rows: Float64Array[];
  count: number[];
}

/** Distinct rows of one input slot, found by hashing the rows' bits and comparing on collision. */
function distinctRows(X: Float64Array, n: number, dIn: number, slot: Slot): { rid: Int32Array; rows: Float64Array; count: number } {
  const { offset, size } = slot;
  const bits = new Uint32Array(X.buffer, X.byteOffset, X.length * 2);
  const buckets = new Map<number, number[]>();
  const rid = new Int32Array(n);
  const first: number[] = [];
  for (let j = 0; j < n; j++) {
    const o = j * dIn + offset;
    let h = 0x811c9dc5;
    for (let k = 0; k < 2 * size; k++) h = Math.imul(h ^ bits[2 * o + k], 0x01000193);
    let list = buckets.get(h);
    if (!list) buckets.set(h, (list = []));
    let found = -1;
    for (const r of list) {
      const o2 = first[r] * dIn + offset;
      let same = true;
      for (let k = 0; k < size && same; k++) same = Object.is(X[o + k], X[o2 + k]);
      if (same) { found = r; break; }
    }
    if (found < 0) {
      found = first.length;
      first.push(j);
      list.push(found);
    }
    rid[j] = found;
  }
  const rows = new Float64Array(first.length * size);
  first.forEach((j, r) => rows.set(X.subarray(j * dIn + offset, j * dIn + offset + size), r * size));
  return { rid, rows, count: first.length };
}

/** A few strided entries of an array (the data's X or Y): a buffer refilled in place is noticed. */
export function fingerprintX(X: Float64Array): number {
  let h = X.length;
  const step = Math.max(1, Math.floor(X.length / 61));
  for (let q = 0, k = 1; q < X.length; q += step, k++) h += k * X[q];
  return h;
}

/**
 * Row tables for the data set last used, kept only when the rows repeat enough to pay (the
 * distinct rows hold at most half the samples' input entries). Decided from the data alone, on
 * first use, so the same inputs give the same bytes whatever was called before.
 */
export class RowTableCache {
  private X: Float64Array | null = null;
  private n = -1;
  private fp = 0;
  private tables: RowTables | null = null;

  constructor(private readonly dIn: number, private readonly slots: Slot[]) {}

  use(X: Float64Array, n: number): RowTables | null {
    if (this.slots.length === 0 || n < 8 || X.length < n * this.dIn) return null;
    if (X !== this.X || n !== this.n || fingerprintX(X) !== this.fp) {
      this.X = X; this.n = n; this.fp = fingerprintX(X);
      const parts = this.slots.map((s) => distinctRows(X, n, this.dIn, s));
      const distinct = parts.reduce((a, p, k) => a + p.count * this.slots[k].size, 0);
      const all = n * this.slots.reduce((a, s) => a + s.size, 0);
      this.tables = 2 * distinct <= all ? { rid: parts.map((p) => p.rid), rows: parts.map((p) => p.rows), count: parts.map((p) => p.count) } : null;
    }
    return this.tables;
  }
}
