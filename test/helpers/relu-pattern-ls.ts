/**
 * An independent oracle for where the two-layer ReLU flow comes to rest: with the activation
 * pattern frozen, f(x_j) = Σ_i m_ij v_iᵀx̃_j (v_i = a_i(w_i, b_i), x̃_j = (x_j, 1)) is linear in the
 * v_i, and a sliding kink (unit i pinned at sample j*) is the linear constraint v_iᵀx̃_{j*} = 0.
 * At a stationary point of the Filippov flow (a_i ≠ 0) the residual is orthogonal to every
 * active unit's masked features up to a multiple of x̃_{j*}: the KKT conditions of the convex
 * equality-constrained least squares over the v_i. So the flow's limiting loss is that least
 * squares' minimum, found here by projecting y off an orthonormal basis of the constrained
 * feature columns (Gram–Schmidt twice) — no ODE, no event logic.
 * Loss (1/2n) Σ (y_j − f_j)².
 */

/** Orthonormalise cols (each of length len) in place, dropping those that fall below tol of their norm. */
function orthonormal(cols: Float64Array[], tol: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (const c0 of cols) {
    const c = c0.slice();
    const n0 = Math.hypot(...c);
    if (n0 === 0) continue;
    for (let pass = 0; pass < 2; pass++) for (const q of out) {
      let s = 0;
      for (let k = 0; k < c.length; k++) s += q[k] * c[k];
      for (let k = 0; k < c.length; k++) c[k] -= s * q[k];
    }
    const nc = Math.hypot(...c);
    if (nc <= tol * n0) continue;
    out.push(c.map((v) => v / nc));
  }
  return out;
}

export interface PatternUnit {
  /** Samples on which the unit is active (argument > 0), pinned samples excluded. */
  on: number[];
  /** Samples at which its kink is pinned. */
  pinned: number[];
}

/** min over the v_i of (1/2n)‖y − f‖² under the pattern's masks and pinned-kink constraints. */
export function patternLeastSquares(X: Float64Array, Y: Float64Array, n: number, d: number, bias: boolean, units: PatternUnit[]): number {
  const e = bias ? d + 1 : d;
  const xt = (j: number): Float64Array => {
    const v = new Float64Array(e);
    for (let k = 0; k < d; k++) v[k] = X[j * d + k];
    if (bias) v[d] = 1;
    return v;
  };
  const columns: Float64Array[] = [];
  for (const u of units) {
    // basis of {v : vᵀx̃_{j*} = 0 for each pinned j*}: the unit vectors with the constraints projected out
    const cons = orthonormal(u.pinned.map(xt), 1e-12);
    const free = orthonormal(Array.from({ length: e }, (_, k) => {
      const v = new Float64Array(e);
      v[k] = 1;
      for (const c of cons) for (let q = 0; q < e; q++) v[q] -= c[k] * c[q];
      return v;
    }), 1e-8);
    for (const b of free) {
      const col = new Float64Array(n);
      for (const j of u.on) {
        const x = xt(j);
        let s = 0;
        for (let q = 0; q < e; q++) s += b[q] * x[q];
        col[j] = s;
      }
      columns.push(col);
    }
  }
  const Q = orthonormal(columns, 1e-10);
  const r = Float64Array.from(Y);
  for (let pass = 0; pass < 2; pass++) for (const q of Q) {
    let s = 0;
    for (let j = 0; j < n; j++) s += q[j] * r[j];
    for (let j = 0; j < n; j++) r[j] -= s * q[j];
  }
  let s = 0;
  for (let j = 0; j < n; j++) s += r[j] * r[j];
  return (0.5 * s) / n;
}
