import { describe, it, expect } from 'vitest';
import { Matrix, solve } from 'ml-matrix';
import {
  whitenedSolution,
  whitenedLoss,
  initFromAlphaDelta,
  whitenedData,
  saxeMode,
  saxeTime,
  psiDelta,
  gradPsiDelta,
  implicitBiasInterpolant,
} from '../models/closed-forms/single-neuron.ts';
import { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';

// ---------------------------------------------------------------------------
// self-contained helpers: nothing here comes from the project's solvers

const EPS = Number.EPSILON;

function dot(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}
function nrm(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  if (m === 0) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] / m) ** 2;
  return m * Math.sqrt(s);
}
function sub(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const o = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) o[i] = x[i] - y[i];
  return o;
}

/** Right-hand side of the whitened single-neuron flow, state = [a, w...]. */
function rhsWhitened(state: Float64Array, bs: Float64Array): Float64Array {
  const d = bs.length;
  const a = state[0];
  const g = new Float64Array(d);
  for (let i = 0; i < d; i++) g[i] = a * state[1 + i] - bs[i];
  const out = new Float64Array(d + 1);
  let ad = 0;
  for (let i = 0; i < d; i++) {
    ad -= state[1 + i] * g[i];
    out[1 + i] = -a * g[i];
  }
  out[0] = ad;
  return out;
}

/** Right-hand side for general data, mean-convention loss. */
function rhsData(state: Float64Array, X: Float64Array, y: Float64Array, n: number, d: number): Float64Array {
  const a = state[0];
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < d; j++) v += X[i * d + j] * a * state[1 + j];
    r[i] = v - y[i];
  }
  const g = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let v = 0;
    for (let i = 0; i < n; i++) v += X[i * d + j] * r[i];
    g[j] = v / n;
  }
  const out = new Float64Array(d + 1);
  out[0] = -dot(state.subarray(1), g);
  for (let j = 0; j < d; j++) out[1 + j] = -a * g[j];
  return out;
}

/** Classical fixed-step RK4. */
function rk4(f: (x: Float64Array) => Float64Array, x0: Float64Array, T: number, steps: number): Float64Array {
  const h = T / steps;
  let x = Float64Array.from(x0);
  const m = x.length;
  const tmp = new Float64Array(m);
  for (let k = 0; k < steps; k++) {
    const k1 = f(x);
    for (let i = 0; i < m; i++) tmp[i] = x[i] + 0.5 * h * k1[i];
    const k2 = f(tmp);
    for (let i = 0; i < m; i++) tmp[i] = x[i] + 0.5 * h * k2[i];
    const k3 = f(tmp);
    for (let i = 0; i < m; i++) tmp[i] = x[i] + h * k3[i];
    const k4 = f(tmp);
    const nx = new Float64Array(m);
    for (let i = 0; i < m; i++) nx[i] = x[i] + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    x = nx;
  }
  return x;
}

function stateAt(sol: (t: number) => { a: number; w: Float64Array }, t: number): Float64Array {
  const { a, w } = sol(t);
  const x = new Float64Array(w.length + 1);
  x[0] = a;
  x.set(w, 1);
  return x;
}

function randomBetaStar(rng: Rng, d: number, s: number): Float64Array {
  const v = rng.unitVector(d);
  for (let i = 0; i < d; i++) v[i] *= s;
  return v;
}

/**
 * Fourth-order central differences of the closed form vs the ODE right-hand side,
 * checked separately for ȧ and ẇ (truncation ~ h⁴x⁽⁵⁾/30 ≈ 1e-12·R⁴ relative for
 * h = 1e-3). Differences cannot resolve a derivative below their own round-off,
 * ~ eps·|x|/h, so that floor (with a safety factor of 100) is added to the 1e-6
 * relative tolerance; `informative` counts the checks where the relative part
 * dominated, so the test cannot pass vacuously once the flow has converged.
 */
function checkOde(
  sol: (t: number) => { a: number; w: Float64Array },
  bs: Float64Array,
  times: number[],
): { maxRel: number; informative: number } {
  const h = 1e-3;
  let maxRel = 0;
  let informative = 0;
  for (const t of times) {
    const xp = stateAt(sol, t + h);
    const xm = stateAt(sol, t - h);
    const xp2 = stateAt(sol, t + 2 * h);
    const xm2 = stateAt(sol, t - 2 * h);
    const x = stateAt(sol, t);
    const f = rhsWhitened(x, bs);
    const fd = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) fd[i] = (8 * (xp[i] - xm[i]) - (xp2[i] - xm2[i])) / (12 * h);
    const blocks: Array<[number, number]> = [
      [0, 1],
      [1, x.length],
    ];
    for (const [lo, hi] of blocks) {
      const fb = f.subarray(lo, hi);
      const err = nrm(sub(fd.subarray(lo, hi), fb));
      const floor = (100 * EPS * (nrm(xp2.subarray(lo, hi)) + nrm(xm2.subarray(lo, hi)))) / h;
      const rel = 1e-6 * nrm(fb);
      expect(err).toBeLessThanOrEqual(rel + floor);
      if (rel > floor) {
        informative++;
        maxRel = Math.max(maxRel, err / nrm(fb));
      }
    }
  }
  return { maxRel, informative };
}

const TIMES: number[] = [];
// dense where the flow moves (it has converged to round-off by t ≈ 10 for δ = 2), sparse after
TIMES.push(0.002, 0.01, 0.05);
for (let k = 1; k <= 100; k++) TIMES.push(k * 0.1);
for (let k = 21; k <= 60; k++) TIMES.push(k * 0.5);

// ---------------------------------------------------------------------------

describe('whitenedSolution: exact single-neuron flow for whitened input', () => {
  const d = 5;
  for (const delta of [-2, 0, 2]) {
    for (const alpha of [1e-1, 1e-6]) {
      it(`satisfies the ODE, the initial condition and conserves δ (δ = ${delta}, α = ${alpha})`, () => {
        const rng = new Rng(1000 + 17 * delta + (alpha < 1e-3 ? 1 : 0));
        const bs = randomBetaStar(rng, d, 2);
        const dir = rng.unitVector(d);
        if (dot(dir, bs) < 0) for (let i = 0; i < d; i++) dir[i] = -dir[i]; // the no-crossing case
        const { a0, w0 } = initFromAlphaDelta(alpha, delta, dir);
        const sol = whitenedSolution(a0, w0, bs);

        const x0 = sol(0);
        expect(Math.abs(x0.a - a0)).toBeLessThanOrEqual(1e-14 * Math.abs(a0));
        expect(nrm(sub(x0.w, w0))).toBeLessThanOrEqual(1e-14 * nrm(w0));

        const { maxRel, informative } = checkOde(sol, bs, TIMES);
        expect(informative).toBeGreaterThanOrEqual(30);
        expect(maxRel).toBeLessThanOrEqual(1e-6);

        // δ(t) = (|a| − ‖w‖)(|a| + ‖w‖): the factored form avoids a² − ‖w‖² cancelling
        const d0 = (Math.abs(a0) - nrm(w0)) * (Math.abs(a0) + nrm(w0));
        for (const t of TIMES) {
          const { a, w } = sol(t);
          const wn = nrm(w);
          const dt = (Math.abs(a) - wn) * (Math.abs(a) + wn);
          expect(Math.abs(dt - d0)).toBeLessThanOrEqual(1e-12 * (a * a + wn * wn));
        }
        // and it converges to the global minimum β = β*
        const end = sol(30);
        const beta = end.w.map((v) => v * end.a);
        expect(nrm(sub(beta, bs))).toBeLessThan(1e-8);
        expect(whitenedLoss(beta, bs, 0.3)).toBeCloseTo(0.15, 12);
      });
    }
  }

  for (const alpha of [0.1, 1]) {
    it(`handles a crossing zero when δ < 0 and w0·β* < 0 (α = ${alpha})`, () => {
      const rng = new Rng(77);
      const bs = randomBetaStar(rng, d, 2);
      // mostly against β*: crossing needs δ + 2p0/a0 < −R, i.e. cos(w0, β*) > 0.26 at α = 1
      const pert = rng.unitVector(d);
      const dir = bs.map((v, i) => -v / 2 + 0.3 * pert[i]);
      const { a0, w0 } = initFromAlphaDelta(alpha, -2, dir);
      expect(dot(w0, bs)).toBeLessThan(0);
      const sol = whitenedSolution(a0, w0, bs);
      const signs = TIMES.map((t) => Math.sign(sol(t).a));
      expect(a0).toBeGreaterThan(0);
      expect(signs[signs.length - 1]).toBe(-1);
      // find the crossing and check the ODE densely around it
      let tc = 0;
      for (let k = 1; k < TIMES.length; k++) if (signs[k] !== signs[k - 1]) tc = TIMES[k];
      const near: number[] = [];
      for (let k = -20; k <= 20; k++) near.push(Math.max(2e-3, tc + k * 0.013));
      const { maxRel } = checkOde(sol, bs, [...near, ...TIMES]);
      expect(maxRel).toBeLessThanOrEqual(1e-6);
      const x0 = sol(0);
      expect(Math.abs(x0.a - a0)).toBeLessThanOrEqual(1e-14 * a0);
      expect(nrm(sub(x0.w, w0))).toBeLessThanOrEqual(1e-14 * nrm(w0));
      // RK4 reference through the crossing
      const ref = rk4((x) => rhsWhitened(x, bs), stateAt(sol, 0), 5, 20000);
      const cf = stateAt(sol, 5);
      expect(nrm(sub(cf, ref))).toBeLessThanOrEqual(1e-8 * nrm(ref));
    });
  }

  it('the a0 = 0 limit works (and is continuous in a0)', () => {
    const rng = new Rng(5);
    const bs = randomBetaStar(rng, d, 2);
    for (const sign of [1, -1]) {
      const w0 = rng.unitVector(d);
      if (sign * dot(w0, bs) < 0) for (let i = 0; i < d; i++) w0[i] = -w0[i];
      const sol = whitenedSolution(0, w0, bs);
      expect(sol(0).a).toBe(0);
      expect(nrm(sub(sol(0).w, w0))).toBeLessThanOrEqual(1e-14);
      const { maxRel } = checkOde(sol, bs, TIMES);
      expect(maxRel).toBeLessThanOrEqual(1e-6);
      const ref = rk4((x) => rhsWhitened(x, bs), stateAt(sol, 0), 5, 20000);
      expect(nrm(sub(stateAt(sol, 5), ref))).toBeLessThanOrEqual(1e-8 * nrm(ref));
      const solEps = whitenedSolution(1e-9, w0, bs);
      for (const t of [0.5, 2, 7]) {
        expect(nrm(sub(stateAt(solEps, t), stateAt(sol, t)))).toBeLessThan(1e-7);
      }
    }
    // a = 0 and w ⊥ β* is a fixed point
    const wp = new Float64Array(d);
    wp[0] = bs[1];
    wp[1] = -bs[0];
    const fixed = whitenedSolution(0, wp, bs)(3);
    expect(fixed.a).toBe(0);
    expect(nrm(sub(fixed.w, wp))).toBeLessThanOrEqual(1e-15);
  });

  for (const delta of [-2, 0, 2]) {
    it(`matches an independent RK4 integration at t = 5 (δ = ${delta}, α = 0.1)`, () => {
      const rng = new Rng(300 + delta);
      const bs = randomBetaStar(rng, d, 2);
      const { a0, w0 } = initFromAlphaDelta(0.1, delta, rng.unitVector(d));
      const sol = whitenedSolution(a0, w0, bs);
      const ref = rk4((x) => rhsWhitened(x, bs), stateAt(sol, 0), 5, 20000);
      const cf = stateAt(sol, 5);
      expect(nrm(sub(cf, ref))).toBeLessThanOrEqual(1e-8 * nrm(ref));
    });
  }

  it('keeps tiny components to full relative accuracy (‖w0‖ ~ 1e-12)', () => {
    // δ = 2, α = 1e-6 gives ‖w0‖ ≈ 7e-13. With β* along e₀ the components w₁..w₄ are
    // exactly the part orthogonal to β*; they obey the linear ODE ẇ⊥ = −a²w⊥, which RK4
    // integrates to full relative accuracy, so compare them one by one.
    const rng = new Rng(9);
    const bs = new Float64Array([2, 0, 0, 0, 0]);
    const { a0, w0 } = initFromAlphaDelta(1e-6, 2, rng.unitVector(d));
    expect(nrm(w0)).toBeLessThan(1e-12);
    const sol = whitenedSolution(a0, w0, bs);
    for (const T of [0.01, 1, 4]) {
      const ref = rk4((x) => rhsWhitened(x, bs), stateAt(sol, 0), T, 4000);
      const cf = stateAt(sol, T);
      for (let i = 0; i < cf.length; i++) {
        expect(Math.abs(cf[i] - ref[i])).toBeLessThanOrEqual(1e-9 * Math.abs(ref[i]));
      }
    }
  });

  it('stays finite at very large t, and throws GradflowError rather than return NaN', () => {
    const rng = new Rng(11);
    const bs = randomBetaStar(rng, d, 2);
    const { a0, w0 } = initFromAlphaDelta(0.1, -1, rng.unitVector(d));
    const sol = whitenedSolution(a0, w0, bs);
    for (const t of [1e3, 1e6, 1e12]) {
      const { a, w } = sol(t);
      expect(Number.isFinite(a)).toBe(true);
      const beta = w.map((v) => v * a);
      expect(nrm(sub(beta, bs))).toBeLessThan(1e-12);
    }
    // a0 = 1, w0 = −β̂*: δ = 0 and ν0 = −s, the stable manifold of the saddle at 0.
    // By hand: ν ≡ −s, Ȧ = −2A(s + A), so a(t) = e^{−st}/sqrt(1 + (1 − e^{−2st})/s).
    const s = 2;
    const b1 = new Float64Array([s, 0, 0]);
    const solS = whitenedSolution(1, new Float64Array([-1, 0, 0]), b1);
    for (const t of [0.5, 3, 20]) {
      const exact = Math.exp(-s * t) / Math.sqrt(1 + -Math.expm1(-2 * s * t) / s);
      expect(Math.abs(solS(t).a - exact)).toBeLessThanOrEqual(1e-14 * exact);
      expect(Math.abs(solS(t).w[0] + exact)).toBeLessThanOrEqual(1e-14 * exact);
    }
    expect(() => solS(1000)).toThrow(GradflowError);
    expect(() => whitenedSolution(1, new Float64Array([1, 0]), new Float64Array(2))).toThrow(GradflowError);
  });

  it('agrees with the Saxe sigmoid in one dimension at δ = 0 (u = a·w)', () => {
    const s = 1.7;
    const u0 = 1e-4;
    const sol = whitenedSolution(Math.sqrt(u0), new Float64Array([Math.sqrt(u0)]), new Float64Array([s]));
    const u = saxeMode(s, u0);
    for (const t of [0, 0.5, 1, 2, 3, 5, 10]) {
      const x = sol(t);
      expect(Math.abs(x.a * x.w[0] - u(t))).toBeLessThanOrEqual(1e-13 * u(t));
    }
  });
});

describe('initFromAlphaDelta', () => {
  it('has ‖β0‖ = α², a0 > 0, a0² − ‖w0‖² = δ, and a0 = ‖w0‖ = α at δ = 0', () => {
    const rng = new Rng(3);
    for (const delta of [-5, -2, -1e-3, 0, 1e-3, 2, 5]) {
      for (const alpha of [1e-6, 1e-1, 1, 3]) {
        const dir = rng.unitVector(4);
        const { a0, w0 } = initFromAlphaDelta(alpha, delta, dir);
        const wn = nrm(w0);
        expect(a0).toBeGreaterThan(0);
        expect(Math.abs(a0 * wn - alpha * alpha)).toBeLessThanOrEqual(4 * EPS * alpha * alpha);
        const dd = (a0 - wn) * (a0 + wn);
        expect(Math.abs(dd - delta)).toBeLessThanOrEqual(8 * EPS * (a0 * a0 + wn * wn));
        for (let i = 0; i < 4; i++) expect(Math.abs(w0[i] - wn * dir[i])).toBeLessThanOrEqual(4 * EPS * wn);
        if (delta === 0) {
          expect(Math.abs(a0 - alpha)).toBeLessThanOrEqual(2 * EPS * alpha);
          expect(Math.abs(wn - alpha)).toBeLessThanOrEqual(2 * EPS * alpha);
        }
      }
    }
    expect(() => initFromAlphaDelta(0, 1, new Float64Array([1]))).toThrow(GradflowError);
    expect(() => initFromAlphaDelta(-1, 1, new Float64Array([1]))).toThrow(GradflowError);
    expect(() => initFromAlphaDelta(Number.NaN, 1, new Float64Array([1]))).toThrow(GradflowError);
  });
});

describe('whitenedData', () => {
  it('has XᵀX/n = I and Σ_yx = β*, with and without noise', () => {
    const n = 60;
    const d = 7;
    const rng = new Rng(21);
    const bs = rng.normalArray(d);
    for (const noise of [0, 0.5]) {
      const { X, y } = whitenedData(n, d, bs, rng, noise);
      let maxErr = 0;
      for (let j = 0; j < d; j++) {
        for (let k = 0; k < d; k++) {
          let v = 0;
          for (let i = 0; i < n; i++) v += X[i * d + j] * X[i * d + k];
          maxErr = Math.max(maxErr, Math.abs(v / n - (j === k ? 1 : 0)));
        }
      }
      expect(maxErr).toBeLessThanOrEqual(1e-12);
      let resid2 = 0;
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let i = 0; i < n; i++) v += X[i * d + j] * y[i];
        expect(Math.abs(v / n - bs[j])).toBeLessThanOrEqual(1e-12 * nrm(bs));
      }
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < d; j++) v += X[i * d + j] * bs[j];
        resid2 += (y[i] - v) ** 2;
      }
      if (noise === 0) expect(resid2).toBeLessThan(1e-24);
      else expect(Math.sqrt(resid2 / n)).toBeGreaterThan(0.2);
    }
    expect(() => whitenedData(3, 5, new Float64Array(5), rng)).toThrow(GradflowError);
  });
});

describe('Saxe one-mode sigmoid', () => {
  for (const [s, u0] of [
    [2, 1e-3],
    [0.5, 1e-8],
    [1, 3],
  ] as const) {
    it(`satisfies u̇ = 2u(s − u) and saxeTime inverts it (s = ${s}, u0 = ${u0})`, () => {
      const u = saxeMode(s, u0);
      expect(Math.abs(u(0) - u0)).toBeLessThanOrEqual(4 * EPS * u0);
      const h = 1e-4;
      for (let k = 1; k <= 60; k++) {
        const t = k * 0.5;
        const fd = (u(t + h) - u(t - h)) / (2 * h);
        const f = 2 * u(t) * (s - u(t));
        expect(Math.abs(fd - f)).toBeLessThanOrEqual(1e-6 * Math.abs(f) + (100 * EPS * u(t)) / h);
      }
      for (const t of [0.1, 1, 3, 7]) {
        const uf = u(t);
        if (uf === s) continue;
        expect(Math.abs(saxeTime(s, u0, uf) - t)).toBeLessThanOrEqual(1e-9 * t + 1e-12);
      }
      const ref = rk4((x) => new Float64Array([2 * x[0] * (s - x[0])]), new Float64Array([u0]), 4, 40000)[0];
      expect(Math.abs(u(4) - ref)).toBeLessThanOrEqual(1e-10 * Math.abs(ref));
      expect(u(1e6)).toBe(s);
    });
  }
  it('rejects unreachable targets', () => {
    expect(() => saxeTime(1, 0.1, 1.5)).toThrow(GradflowError);
    expect(() => saxeMode(0, 0.1)).toThrow(GradflowError);
  });
});

// ---------------------------------------------------------------------------
// implicit bias

function minNormSolution(X: Float64Array, y: Float64Array, n: number, d: number): Float64Array {
  const Xm = new Matrix(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) Xm.set(i, j, X[i * d + j]);
  const G = Xm.mmul(Xm.transpose());
  const c = solve(G, Matrix.columnVector(Array.from(y)));
  return Float64Array.from(Xm.transpose().mmul(c).to1DArray());
}

/** Orthonormal basis of null(X) by projecting random vectors and Gram–Schmidt. */
function nullBasis(X: Float64Array, n: number, d: number, rng: Rng): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const v = Float64Array.from(X.subarray(i * d, (i + 1) * d));
    for (let pass = 0; pass < 2; pass++) for (const r of rows) { const c = dot(r, v); for (let j = 0; j < d; j++) v[j] -= c * r[j]; }
    const nv = nrm(v);
    for (let j = 0; j < d; j++) v[j] /= nv;
    rows.push(v);
  }
  const basis: Float64Array[] = [];
  while (basis.length < d - n) {
    const v = rng.normalArray(d);
    for (let pass = 0; pass < 2; pass++) {
      for (const r of [...rows, ...basis]) { const c = dot(r, v); for (let j = 0; j < d; j++) v[j] -= c * r[j]; }
    }
    const nv = nrm(v);
    for (let j = 0; j < d; j++) v[j] /= nv;
    basis.push(v);
  }
  return basis;
}

function projectNull(v: Float64Array, basis: Float64Array[]): Float64Array {
  const o = new Float64Array(v.length);
  for (const b of basis) { const c = dot(b, v); for (let j = 0; j < v.length; j++) o[j] += c * b[j]; }
  return o;
}

/**
 * Generic damped Newton on F(z) = Ψ_δ(βp + Nz) − ψᵀ(βp + Nz) using only values of
 * psiDelta: gradient by central differences, Hessian by differences of that
 * gradient, backtracking on ‖∇F‖. Independent of gradPsiDelta and of the KKT code.
 */
function bruteForce(betaP: Float64Array, N: Float64Array[], delta: number, psi: Float64Array): Float64Array {
  const d = betaP.length;
  const k = N.length;
  const beta = (z: Float64Array): Float64Array => {
    const b = Float64Array.from(betaP);
    for (let i = 0; i < k; i++) for (let j = 0; j < d; j++) b[j] += z[i] * N[i][j];
    return b;
  };
  const F = (z: Float64Array): number => { const b = beta(z); return psiDelta(b, delta) - dot(psi, b); };
  const grad = (z: Float64Array): Float64Array => {
    const g = new Float64Array(k);
    const h = 1e-5 * (1 + nrm(beta(z)));
    for (let i = 0; i < k; i++) {
      const zp = Float64Array.from(z); zp[i] += h;
      const zm = Float64Array.from(z); zm[i] -= h;
      const zp2 = Float64Array.from(z); zp2[i] += 2 * h;
      const zm2 = Float64Array.from(z); zm2[i] -= 2 * h;
      // fourth-order stencil: truncation O(h⁴) keeps the gradient to ~1e-11
      g[i] = (8 * (F(zp) - F(zm)) - (F(zp2) - F(zm2))) / (12 * h);
    }
    return g;
  };
  let z = new Float64Array(k);
  let g = grad(z);
  for (let it = 0; it < 100 && nrm(g) > 1e-10; it++) {
    const hh = 1e-4;
    const H = new Matrix(k, k);
    for (let i = 0; i < k; i++) {
      const zp = Float64Array.from(z); zp[i] += hh;
      const zm = Float64Array.from(z); zm[i] -= hh;
      const gp = grad(zp);
      const gm = grad(zm);
      for (let j = 0; j < k; j++) H.set(j, i, (gp[j] - gm[j]) / (2 * hh));
    }
    const Hs = H.add(H.transpose()).mul(0.5);
    const step = solve(Hs, Matrix.columnVector(Array.from(g)).mul(-1)).to1DArray();
    let t = 1;
    let improved = false;
    for (let ls = 0; ls < 40; ls++) {
      const zn = z.map((v, i) => v + t * step[i]);
      const gn = grad(zn);
      if (nrm(gn) < nrm(g)) { z = zn; g = gn; improved = true; break; }
      t *= 0.5;
    }
    if (!improved) break;
  }
  return beta(z);
}

describe('implicit bias (Kunin et al. 2024)', () => {
  it('the two gradient forms agree and match finite differences of Ψ_δ', () => {
    const rng = new Rng(31);
    for (const delta of [-50, -3, -0.1, 0, 0.5, 4, 50]) {
      for (const scale of [1e-3, 1, 30]) {
        const beta = rng.normalArray(6, scale);
        const r = dot(beta, beta);
        const q = Math.sqrt(delta * delta + 4 * r);
        const g = gradPsiDelta(beta, delta);
        const nb = Math.sqrt(r);
        const qpd = q + delta;
        const form1 = beta.map((v) => (2 * v) / Math.sqrt(qpd));
        const form2 = beta.map((v) => (Math.sqrt(q - delta) * v) / nb);
        // each textbook form is evaluated naively here, so allow for the
        // cancellation in q + δ (δ < 0) or q − δ (δ > 0) at small ‖β‖
        const cancel = Math.abs(delta) / Math.max(Math.min(Math.abs(qpd), Math.abs(q - delta)), 1e-300);
        const tolForm = 1e-14 * Math.max(1, cancel);
        expect(nrm(sub(form1, form2))).toBeLessThanOrEqual(tolForm * nrm(g));
        const best = delta < 0 ? form2 : form1;
        expect(nrm(sub(g, best))).toBeLessThanOrEqual(1e-14 * nrm(g));
        // finite differences of the value
        const h = 1e-6 * Math.max(nb, 1e-3);
        const fd = new Float64Array(6);
        for (let i = 0; i < 6; i++) {
          const bp = Float64Array.from(beta); bp[i] += h;
          const bm = Float64Array.from(beta); bm[i] -= h;
          fd[i] = (psiDelta(bp, delta) - psiDelta(bm, delta)) / (2 * h);
        }
        const fdFloor = (1e3 * EPS * Math.abs(psiDelta(beta, delta))) / h;
        expect(nrm(sub(fd, g))).toBeLessThanOrEqual(1e-7 * nrm(g) + fdFloor);
      }
    }
    expect(() => gradPsiDelta(new Float64Array(3), -1)).toThrow(GradflowError);
    expect(nrm(gradPsiDelta(new Float64Array(3), 1))).toBe(0);
  });

  for (const delta of [-2, -0.5, 0, 0.5, 2]) {
    it(`interpolant: Xβ = y, stationarity, and agreement with brute-force minimisation (δ = ${delta})`, () => {
      const rng = new Rng(500 + Math.round(10 * delta));
      const n = 3;
      const d = 7;
      const X = rng.normalArray(n * d);
      const y = rng.normalArray(n);
      const beta0 = rng.normalArray(d, 0.3);
      const beta = implicitBiasInterpolant(X, y, n, d, delta, beta0);
      for (let i = 0; i < n; i++) {
        const r = dot(X.subarray(i * d, (i + 1) * d), beta) - y[i];
        expect(Math.abs(r)).toBeLessThanOrEqual(1e-12 * (1 + nrm(y)));
      }
      const N = nullBasis(X, n, d, rng);
      const psi = gradPsiDelta(beta0, delta);
      const stat = projectNull(sub(gradPsiDelta(beta, delta), psi), N);
      expect(nrm(stat)).toBeLessThanOrEqual(1e-10 * (1 + nrm(psi)));
      const bf = bruteForce(minNormSolution(X, y, n, d), N, delta, psi);
      expect(nrm(sub(bf, beta))).toBeLessThanOrEqual(1e-6 * nrm(beta));
    });
  }

  for (const delta of [-1, 0, 1]) {
    it(`is the limit of gradient flow on rank-deficient data (δ = ${delta}, RK4)`, () => {
      // The theorem's mechanism: ∇²Ψ_δ(β)·(a²I + wwᵀ) = sqrt(2)|a|·I, so ∇Ψ_δ(β(t)) moves
      // only within the row space of X. Integrate the flow independently and compare.
      const rng = new Rng(900 + delta);
      const n = 3;
      const d = 6;
      const X = rng.normalArray(n * d);
      const y = rng.normalArray(n);
      const bmn = minNormSolution(X, y, n, d);
      const dir = Float64Array.from(bmn);
      const pert = rng.normalArray(d, 0.5 * nrm(bmn));
      for (let j = 0; j < d; j++) dir[j] += pert[j];
      const { a0, w0 } = initFromAlphaDelta(0.7, delta, dir);
      const x0 = new Float64Array(d + 1);
      x0[0] = a0;
      x0.set(w0, 1);
      const f = (x: Float64Array): Float64Array => rhsData(x, X, y, n, d);
      let x: Float64Array = x0;
      let minA = a0;
      for (let seg = 0; seg < 400; seg++) {
        x = rk4(f, x, 1, 200);
        minA = Math.min(minA, x[0]);
      }
      expect(minA).toBeGreaterThan(0); // β never passes through 0, where Ψ_δ (δ < 0) is not smooth
      const betaInf = x.subarray(1).map((v) => v * x[0]);
      const r = rhsData(x, X, y, n, d);
      expect(nrm(r)).toBeLessThan(1e-12);
      const beta0 = w0.map((v) => v * a0);
      const beta = implicitBiasInterpolant(X, y, n, d, delta, beta0);
      expect(nrm(sub(betaInf, beta))).toBeLessThanOrEqual(1e-8 * nrm(beta));
    });
  }

  it('approaches the minimum-‖β − β0‖ interpolant as δ → +∞', () => {
    // ∇Ψ_δ(β) = 2β/sqrt(q + δ) with q + δ = 2δ(1 + O(‖β‖²/δ²)), so the objective is
    // (1/sqrt(2δ))‖β − β0‖² + const up to relative O(‖β‖²/δ²)
    const rng = new Rng(44);
    const n = 2;
    const d = 5;
    const X = rng.normalArray(n * d);
    const y = rng.normalArray(n);
    const beta0 = rng.normalArray(d);
    const Xb0 = new Float64Array(n);
    for (let i = 0; i < n; i++) Xb0[i] = y[i] - dot(X.subarray(i * d, (i + 1) * d), beta0);
    const corr = minNormSolution(X, Xb0, n, d);
    const proj = beta0.map((v, j) => v + corr[j]);
    const errs: number[] = [];
    for (const delta of [1e2, 1e4]) {
      const b = implicitBiasInterpolant(X, y, n, d, delta, beta0);
      errs.push(nrm(sub(b, proj)) / nrm(proj));
    }
    const r2 = dot(proj, proj) + dot(beta0, beta0);
    expect(errs[1]).toBeLessThanOrEqual((10 * r2) / 1e8);
    expect(errs[1]).toBeLessThan(errs[0] / 100);
  });

  it('rejects bad shapes and inconsistent systems', () => {
    const X = new Float64Array([1, 2, 3, 1, 2, 3]);
    expect(() => implicitBiasInterpolant(X, new Float64Array([1, 2]), 2, 3, 1, new Float64Array([1, 0, 0]))).toThrow(GradflowError);
    expect(() => implicitBiasInterpolant(X, new Float64Array([1, 2]), 2, 4, 1, new Float64Array([1, 0, 0, 0]))).toThrow(GradflowError);
    expect(() => implicitBiasInterpolant(X, new Float64Array([1]), 2, 3, 1, new Float64Array([1, 0, 0]))).toThrow(GradflowError);
    // dependent but consistent rows are fine
    const b = implicitBiasInterpolant(X, new Float64Array([2, 2]), 2, 3, -1, new Float64Array([1, 0.5, 0]));
    expect(Math.abs(b[0] + 2 * b[1] + 3 * b[2] - 2)).toBeLessThan(1e-13);
  });
});
