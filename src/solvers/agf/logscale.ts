/**
 * Signed numbers kept as (sign, log-magnitude), in two arithmetics:
 *  - finite α: natural logarithms, exact signed log-sum-exp;
 *  - the α → 0 limit ("tropical"): logarithms in units of log(1/α), so every O(1) factor has
 *    log 0 and a sum is the max of its terms (the max-plus limit of log-sum-exp).
 * A dormant AGF state spans hundreds of orders of magnitude (e^{±460} at α = 1e-200); a float
 * cannot add e^{-460} to 1, but its logarithm keeps both.
 */
export interface LogArith {
  readonly tropical: boolean;
}

export const FINITE: LogArith = { tropical: false };
export const TROPICAL: LogArith = { tropical: true };

/** log|x| of an O(1) factor (0 in the tropical limit), −∞ for 0. */
export function logOf(ar: LogArith, x: number): number {
  if (x === 0) return -Infinity;
  return ar.tropical ? 0 : Math.log(Math.abs(x));
}

/** (s1·e^{l1}) + (s2·e^{l2}) written into out[0] (sign) and out[1] (log-magnitude). */
export function signedAdd(ar: LogArith, s1: number, l1: number, s2: number, l2: number, out: Float64Array): void {
  if (s2 === 0 || l2 === -Infinity) { out[0] = s1; out[1] = s1 === 0 ? -Infinity : l1; return; }
  if (s1 === 0 || l1 === -Infinity) { out[0] = s2; out[1] = l2; return; }
  let sb = s1, lb = l1, ss = s2, ls = l2;
  if (l2 > l1) { sb = s2; lb = l2; ss = s1; ls = l1; }
  if (ar.tropical) { out[0] = sb; out[1] = lb; return; }
  const d = ls - lb; // ≤ 0
  if (sb === ss) { out[0] = sb; out[1] = lb + Math.log1p(Math.exp(d)); return; }
  if (d === 0) { out[0] = 0; out[1] = -Infinity; return; }
  out[0] = sb;
  out[1] = lb + Math.log1p(-Math.exp(d));
}

/** log Σ e^{v_k} over finite entries (max in the tropical limit). */
export function logSumExp(ar: LogArith, v: ArrayLike<number>, n = v.length): number {
  let m = -Infinity;
  for (let k = 0; k < n; k++) if (v[k] > m) m = v[k];
  if (m === -Infinity || ar.tropical) return m;
  let s = 0;
  for (let k = 0; k < n; k++) if (v[k] !== -Infinity) s += Math.exp(v[k] - m);
  return m + Math.log(s);
}
