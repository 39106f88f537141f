/**
 * Independent reference for the two-layer ReLU flow (scalar output, with or without bias):
 * hand-written gradient, classical RK4 with a fixed step, kinks located by re-stepping RK4 over
 * a bisected step length, Filippov sliding from the closed-form linear system for the weights μ
 * (ż_ij = ẇ_i·x_j + ḃ_i is affine in μ). Shares no code with src/solvers/relu-flow.ts.
 */
export interface RefProblem { X: Float64Array; Y: Float64Array; n: number; d: number; H: number; bias: boolean }

export function referenceReluFlow(pr: RefProblem, theta0: Float64Array, times: number[], h: number): Float64Array[] {
  const { X, Y, n, d, H, bias } = pr;
  const P = 1 + d + (bias ? 1 : 0);
  // 0 off, 1 on, 2 pinned (mu in muv)
  const st = new Uint8Array(H * n);
  const muv = new Float64Array(H * n);
  const z = (th: Float64Array, i: number, j: number): number => {
    let s = bias ? th[i * P + 1 + d] : 0;
    for (let q = 0; q < d; q++) s += th[i * P + 1 + q] * X[j * d + q];
    return s;
  };
  const mask = (i: number, j: number): number => (st[i * n + j] === 2 ? muv[i * n + j] : st[i * n + j]);
  const field = (th: Float64Array, out: Float64Array): Float64Array => {
    const r = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let f = 0;
      for (let i = 0; i < H; i++) f += th[i * P] * mask(i, j) * z(th, i, j);
      r[j] = f - Y[j];
    }
    out.fill(0);
    for (let i = 0; i < H; i++) for (let j = 0; j < n; j++) {
      const m = mask(i, j);
      if (m === 0) continue;
      const a = th[i * P];
      out[i * P] -= (r[j] * m * z(th, i, j)) / n;
      for (let q = 0; q < d; q++) out[i * P + 1 + q] -= (r[j] * a * m * X[j * d + q]) / n;
      if (bias) out[i * P + 1 + d] -= (r[j] * a * m) / n;
    }
    return r;
  };
  const zdot = (F: Float64Array, i: number, j: number): number => {
    let s = bias ? F[i * P + 1 + d] : 0;
    for (let q = 0; q < d; q++) s += F[i * P + 1 + q] * X[j * d + q];
    return s;
  };
  const pinnedList = (): number[] => { const l: number[] = []; for (let k = 0; k < H * n; k++) if (st[k] === 2) l.push(k); return l; };
  const rhs = (th: Float64Array, out: Float64Array): void => {
    const pins = pinnedList();
    if (pins.length) {
      for (const k of pins) muv[k] = 0;
      const r = field(th, out);
      const m = pins.length;
      const A = new Float64Array(m * m), b = new Float64Array(m);
      pins.forEach((k, s) => {
        const i = Math.floor(k / n), j = k % n;
        b[s] = -zdot(out, i, j);
        pins.forEach((k2, s2) => {
          const i2 = Math.floor(k2 / n), j2 = k2 % n;
          if (i2 !== i) return;
          let xx = bias ? 1 : 0;
          for (let q = 0; q < d; q++) xx += X[j * d + q] * X[j2 * d + q];
          A[s * m + s2] = (-r[j2] * th[i * P] * xx) / n;
        });
      });
      const mu = gauss(A, b, m);
      pins.forEach((k, s) => { muv[k] = mu[s]; });
    }
    field(th, out);
  };
  const rk4 = (th: Float64Array, s: number): Float64Array => {
    const D = th.length;
    const k1 = new Float64Array(D), k2 = new Float64Array(D), k3 = new Float64Array(D), k4 = new Float64Array(D), tmp = new Float64Array(D);
    rhs(th, k1);
    for (let q = 0; q < D; q++) tmp[q] = th[q] + 0.5 * s * k1[q];
    rhs(tmp, k2);
    for (let q = 0; q < D; q++) tmp[q] = th[q] + 0.5 * s * k2[q];
    rhs(tmp, k3);
    for (let q = 0; q < D; q++) tmp[q] = th[q] + s * k3[q];
    rhs(tmp, k4);
    const out = new Float64Array(D);
    for (let q = 0; q < D; q++) out[q] = th[q] + (s / 6) * (k1[q] + 2 * k2[q] + 2 * k3[q] + k4[q]);
    return out;
  };
  const violated = (th: Float64Array): number[] => {
    const v: number[] = [];
    for (let i = 0; i < H; i++) for (let j = 0; j < n; j++) {
      const k = i * n + j;
      if (st[k] === 2) continue;
      const zz = z(th, i, j);
      if ((st[k] === 1 && zz < 0) || (st[k] === 0 && zz > 0)) v.push(k);
    }
    if (pinnedList().length) {
      rhs(th, new Float64Array(th.length));
      for (const k of pinnedList()) if (muv[k] < 0 || muv[k] > 1) v.push(k);
    }
    return v;
  };
  const settle = (th: Float64Array, k: number): void => {
    const i = Math.floor(k / n), j = k % n;
    const F = new Float64Array(th.length);
    st[k] = 1; rhs(th, F); const up = zdot(F, i, j);
    st[k] = 0; rhs(th, F); const down = zdot(F, i, j);
    if (up > 0 && down > 0) st[k] = 1;
    else if (up < 0 && down < 0) st[k] = 0;
    else if (up <= 0 && down >= 0) { st[k] = 2; muv[k] = down / (down - up); }
    else st[k] = z(th, i, j) > 0 ? 1 : 0;
  };
  let th: Float64Array = Float64Array.from(theta0);
  for (let i = 0; i < H; i++) for (let j = 0; j < n; j++) st[i * n + j] = z(th, i, j) > 0 ? 1 : 0;
  let t = 0;
  const out: Float64Array[] = [];
  for (const target of times) {
    while (t < target) {
      const s = Math.min(h, target - t);
      const next = rk4(th, s);
      const v = violated(next);
      if (!v.length) { th = next; t += s; continue; }
      let lo = 0, hi = s;
      for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(1, t); it++) {
        const mid = 0.5 * (lo + hi);
        if (violated(rk4(th, mid)).length) hi = mid; else lo = mid;
      }
      th = rk4(th, hi);
      t += hi;
      for (const k of violated(th)) {
        if (st[k] === 2) st[k] = muv[k] > 1 ? 1 : 0;
        settle(th, k);
      }
    }
    out.push(th.slice());
  }
  return out;
}

function gauss(A: Float64Array, b: Float64Array, m: number): Float64Array {
  const M = A.slice(), x = b.slice();
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r * m + c]) > Math.abs(M[p * m + c])) p = r;
    for (let k = 0; k < m; k++) [M[c * m + k], M[p * m + k]] = [M[p * m + k], M[c * m + k]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < m; r++) {
      const f = M[r * m + c] / M[c * m + c];
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
