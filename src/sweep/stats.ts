/**
 * Statistics a sweep table prints: mean ± sample standard deviation over seeds, Student-t
 * quantiles for confidence intervals, and the α → 0 extrapolation of rescaled jump times.
 *
 * Extrapolation model. A κ = 2 jump at small α happens at t = τ·log(1/α) + O(1) (the O(1) is
 * the escape from the saddle's neighbourhood and the O(1)-time transit), so the rescaled time
 * t/log(1/α) = τ + b·x + c·x² + …, x = 1/log(1/α). The series is fitted by least squares in
 * x with p = min(3, m) terms for m distinct alphas; the intercept is the α → 0 value.
 *
 * Uncertainty of the intercept, two sources:
 *  - seeds: every seed is one draw of the problem (data and/or initialisation), seen at every
 *    alpha, so its errors are correlated across alphas; the fit is linear, so the intercept of
 *    the seed-mean series is the mean of per-seed intercepts, and their standard error over
 *    seeds (sd/√S, S − 1 degrees of freedom) accounts for that correlation exactly;
 *  - fit: the residual scatter about the fitted curve when m > p (truncation of the series),
 *    s²·[(AᵀA)⁻¹]₀₀ with s² = RSS/(m − p), m − p degrees of freedom.
 * They are added in quadrature; the 95% interval uses the Student-t quantile at the
 * Welch–Satterthwaite degrees of freedom. With m = p (e.g. three alphas) the fit has no
 * residual, so only the seed part is stated and the result says `fitDof: 0`.
 */
import { GradflowError } from '../util/errors.ts';

export interface MeanSd {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1 denominator); null for n < 2. */
  sd: number | null;
}

export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  if (n === 0) return { n, mean: null, sd: null };
  let s = 0;
  for (const v of values) s += v;
  const mean = s / n;
  if (n < 2) return { n, mean, sd: null };
  let q = 0;
  for (const v of values) q += (v - mean) * (v - mean);
  return { n, mean, sd: Math.sqrt(q / (n - 1)) };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the regularised incomplete beta (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d; h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d; if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b), the regularised incomplete beta function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  return x < (a + 1) / (a + b + 2) ? (Math.exp(lnFront) * betaCf(a, b, x)) / a : 1 - (Math.exp(lnFront) * betaCf(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with ν degrees of freedom (ν may be fractional, ν > 0). */
export function studentTCdf(t: number, nu: number): number {
  const ib = incompleteBeta(nu / (nu + t * t), nu / 2, 0.5);
  return t >= 0 ? 1 - ib / 2 : ib / 2;
}

/** The p-quantile of Student's t (0.5 < p < 1), by bisection on the CDF; ν = ∞ gives the normal quantile. */
export function studentTQuantile(p: number, nu: number): number {
  if (!(p > 0.5 && p < 1)) throw new GradflowError(`studentTQuantile: p must lie in (0.5, 1) (got ${p})`);
  if (!(nu > 0)) throw new GradflowError(`studentTQuantile: degrees of freedom must be positive (got ${nu})`);
  const n = Number.isFinite(nu) ? nu : 1e12;
  let lo = 0, hi = 1;
  while (studentTCdf(hi, n) < p) hi *= 2;
  for (let it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, n) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

export interface Extrapolation {
  /** α → 0 value: the intercept a of a + b·x + c·x², x = 1/log(1/α). */
  a: number;
  /** Higher coefficients [b, c] (as many as were fitted). */
  slope: number[];
  /** Number of fitted terms (1–3) and of distinct alphas used. */
  terms: number;
  alphas: number;
  /** Seeds whose series was complete (every alpha). */
  seeds: number;
  /** Standard error of a over seeds (null for one seed). */
  seSeeds: number | null;
  /** Standard error of a from the fit residual (null when alphas = terms). */
  seFit: number | null;
  fitDof: number;
  /** Combined standard error (quadrature) and its Welch–Satterthwaite degrees of freedom. */
  se: number | null;
  dof: number | null;
  /** Half-width of the 95% interval: t(0.975, dof)·se. */
  ci95: number | null;
}

/** Solves the symmetric positive-definite system M z = r (Gaussian elimination with partial pivoting; p ≤ 3). */
function solveSmall(M: number[][], r: number[]): number[] {
  const p = r.length;
  const A = M.map((row, i) => [...row, r[i]]);
  for (let k = 0; k < p; k++) {
    let piv = k;
    for (let i = k + 1; i < p; i++) if (Math.abs(A[i][k]) > Math.abs(A[piv][k])) piv = i;
    [A[k], A[piv]] = [A[piv], A[k]];
    if (A[k][k] === 0) throw new GradflowError('extrapolation: the alphas do not determine the fit (repeated values?)');
    for (let i = k + 1; i < p; i++) {
      const f = A[i][k] / A[k][k];
      for (let j = k; j <= p; j++) A[i][j] -= f * A[k][j];
    }
  }
  const z = new Array<number>(p).fill(0);
  for (let k = p - 1; k >= 0; k--) {
    let s = A[k][p];
    for (let j = k + 1; j < p; j++) s -= A[k][j] * z[j];
    z[k] = s / A[k][k];
  }
  return z;
}

/**
 * Least-squares fit of y = Σ_j coef_j x^j (j < terms) at the points x; returns the coefficients
 * and [(AᵀA)⁻¹]₀₀. Columns are scaled by max|x|^j first so the normal equations stay well
 * conditioned when x is small.
 */
export function polyFit(x: readonly number[], y: readonly number[], terms: number): { coef: number[]; inv00: number } {
  const m = x.length;
  if (m < terms) throw new GradflowError(`extrapolation: ${terms} terms need at least ${terms} alphas (got ${m})`);
  const s = Math.max(...x.map(Math.abs)) || 1;
  const col = (i: number, j: number): number => (x[i] / s) ** j;
  const M = Array.from({ length: terms }, (_, j) => Array.from({ length: terms }, (_, k) => {
    let acc = 0;
    for (let i = 0; i < m; i++) acc += col(i, j) * col(i, k);
    return acc;
  }));
  const r = Array.from({ length: terms }, (_, j) => {
    let acc = 0;
    for (let i = 0; i < m; i++) acc += col(i, j) * y[i];
    return acc;
  });
  const z = solveSmall(M, r);
  const e0 = solveSmall(M, Array.from({ length: terms }, (_, j) => (j === 0 ? 1 : 0)));
  return { coef: z.map((v, j) => v / s ** j), inv00: e0[0] };
}

/**
 * Extrapolates per-seed series to α → 0. `series[s][i]` is seed s's rescaled time at alphas[i]
 * (all alphas distinct, every series complete). See the header for the model and uncertainty.
 */
export function extrapolateToZero(alphas: readonly number[], series: readonly (readonly number[])[]): Extrapolation {
  const m = alphas.length;
  if (m === 0 || series.length === 0) throw new GradflowError('extrapolation: no data');
  for (const a of alphas) if (!(a > 0 && a < 1)) throw new GradflowError(`extrapolation: alpha must lie in (0, 1) (got ${a})`);
  if (new Set(alphas).size !== m) throw new GradflowError('extrapolation: alphas must be distinct');
  for (const s of series) if (s.length !== m || !s.every(Number.isFinite)) throw new GradflowError('extrapolation: every series needs a finite value at every alpha');
  const x = alphas.map((a) => 1 / Math.log(1 / a));
  const terms = Math.min(3, m);
  const S = series.length;
  const mean = x.map((_, i) => series.reduce((acc, s) => acc + s[i], 0) / S);
  const fit = polyFit(x, mean, terms);
  const perSeed = series.map((s) => polyFit(x, s, terms).coef[0]);
  const ms = meanSd(perSeed);
  const seSeeds = ms.sd === null ? null : ms.sd / Math.sqrt(S);
  const fitDof = m - terms;
  let seFit: number | null = null;
  if (fitDof > 0) {
    let rss = 0;
    for (let i = 0; i < m; i++) {
      let yi = 0;
      for (let j = 0; j < terms; j++) yi += fit.coef[j] * x[i] ** j;
      rss += (mean[i] - yi) ** 2;
    }
    seFit = Math.sqrt((rss / fitDof) * fit.inv00);
  }
  const parts: [number, number][] = [];
  if (seSeeds !== null) parts.push([seSeeds, S - 1]);
  if (seFit !== null) parts.push([seFit, fitDof]);
  let se: number | null = null, dof: number | null = null, ci95: number | null = null;
  if (parts.length) {
    const v = parts.reduce((acc, [s]) => acc + s * s, 0);
    se = Math.sqrt(v);
    const denom = parts.reduce((acc, [s, nu]) => acc + s ** 4 / nu, 0);
    dof = denom > 0 ? (v * v) / denom : Infinity;
    ci95 = se === 0 ? 0 : studentTQuantile(0.975, dof) * se;
  }
  return { a: fit.coef[0], slope: fit.coef.slice(1), terms, alphas: m, seeds: S, seSeeds, seFit, fitDof, se, dof: dof === null || Number.isFinite(dof) ? dof : null, ci95 };
}
