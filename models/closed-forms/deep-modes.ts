/**
 * One singular mode of a deep linear network (Saxe, McClelland & Ganguli 2014; theory.md §2).
 *
 * Convention: N counts WEIGHT layers (N = 2 is the two-layer network f = A W x). A balanced,
 * aligned mode is a chain of N scalars a_1 = … = a_N = u^{1/N} with product u on the loss
 * ½(s − u)² (whitened input, time constant 1). Each factor obeys ȧ_j = (Π_{l≠j} a_l)(s − u), so
 *   u̇ = Σ_j (Π_{l≠j} a_l)² (s − u) = N u^{2 − 2/N} (s − u).
 * theory.md writes (N_l − 1) u^{2 − 2/(N_l − 1)}: the same law with N_l = N + 1 counting layers of
 * units (input, hidden…, output).
 *
 * Time from u0 to uf: with z = ln(u/(s − u)) (so u = s·σ(z), du = u(s − u)/s dz),
 *   t = ∫ du / (N u^{2−2/N} (s − u)) = ∫_{z0}^{zf} (s σ(z))^{2/N − 1} / (N s) dz,
 * a smooth integrand without the endpoint singularities of the u-form (adaptive Gauss–Legendre).
 * For N = 2 the integrand is the constant 1/(2s): t = (zf − z0)/(2s), Saxe's closed form.
 */
import { GradflowError } from '../../src/util/errors.ts';

function checkMode(s: number, u0: number, N: number, who: string): void {
  if (!Number.isInteger(N) || N < 2) throw new GradflowError(`${who}: the number of weight layers N must be an integer ≥ 2 (got ${N})`);
  if (!(s > 0) || !Number.isFinite(s)) throw new GradflowError(`${who}: the mode strength s must be positive and finite (got ${s})`);
  if (!(u0 > 0) || !(u0 < s)) throw new GradflowError(`${who}: the start u0 must lie in (0, s) (got u0 = ${u0}, s = ${s})`);
}

/** u̇ for N weight layers. */
export function deepModeRate(u: number, s: number, N: number): number {
  return N * Math.pow(u, 2 - 2 / N) * (s - u);
}

/** z = ln(u/(s − u)) computed without cancellation for u ≪ s. */
function logit(u: number, s: number): number {
  return Math.log(u) - Math.log(s - u);
}

/** Gauss–Legendre nodes and weights on [−1, 1] (positive half), by Newton on P_m: exact to rounding. */
function gaussLegendre(m: number): { x: number[]; w: number[] } {
  const x: number[] = [], w: number[] = [];
  for (let i = 1; i <= Math.floor(m / 2); i++) {
    let z = Math.cos((Math.PI * (i - 0.25)) / (m + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1, p1 = z;
      for (let k = 2; k <= m; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (m * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x.push(z);
    w.push(2 / ((1 - z * z) * dp * dp));
  }
  return { x, w };
}

const { x: GL_X, w: GL_W } = gaussLegendre(10);

function gauss(f: (z: number) => number, a: number, b: number): number {
  const m = 0.5 * (a + b), h = 0.5 * (b - a);
  let s = 0;
  for (let k = 0; k < 5; k++) s += GL_W[k] * (f(m - h * GL_X[k]) + f(m + h * GL_X[k]));
  return s * h;
}

function adaptive(f: (z: number) => number, a: number, b: number, whole: number, tol: number, depth: number): number {
  const m = 0.5 * (a + b);
  const left = gauss(f, a, m), right = gauss(f, m, b);
  if (depth <= 0 || Math.abs(left + right - whole) <= tol) return left + right;
  return adaptive(f, a, m, left, tol / 2, depth - 1) + adaptive(f, m, b, right, tol / 2, depth - 1);
}

/** Flow time between logits z0 = ln(u0/(s − u0)) and zf (the quadrature of the file comment). */
function zTime(s: number, N: number, z0: number, zf: number): number {
  if (N === 2) return (zf - z0) / (2 * s);
  const p = 2 / N - 1;
  const f = (z: number): number => {
    const lg = z < 0 ? -z + Math.log1p(Math.exp(z)) : Math.log1p(Math.exp(-z)); // ln(1 + e^{−z}) = −ln σ(z)
    return Math.exp(-p * lg + p * Math.log(s)) / (N * s);
  };
  const sign = zf >= z0 ? 1 : -1;
  const a = Math.min(z0, zf), b = Math.max(z0, zf);
  // panels of unit length in z bound the integrand's growth per panel (a factor e^{|p|})
  let total = 0;
  const panels = Math.max(1, Math.ceil(b - a));
  const h = (b - a) / panels;
  for (let k = 0; k < panels; k++) {
    const lo = a + k * h, hi = k === panels - 1 ? b : a + (k + 1) * h;
    const whole = gauss(f, lo, hi);
    total += adaptive(f, lo, hi, whole, 1e-15 * Math.abs(whole), 20);
  }
  return sign * total;
}

/** Flow time for the N-layer mode to go from u0 to uf (0 < u0, uf < s). */
export function deepModeTime(s: number, u0: number, uf: number, N: number): number {
  checkMode(s, u0, N, 'deepModeTime');
  if (!(uf > 0) || !(uf < s)) throw new GradflowError(`deepModeTime: uf must lie in (0, s) (got ${uf})`);
  return zTime(s, N, logit(u0, s), logit(uf, s));
}

/** u(t) for the N-layer mode from u0 (inverse of deepModeTime; closed form for N = 2). */
export function deepMode(s: number, u0: number, N: number): (t: number) => number {
  checkMode(s, u0, N, 'deepMode');
  if (N === 2) {
    const r = (s - u0) / u0;
    return (t) => s / (1 + r * Math.exp(-2 * s * t));
  }
  const z0 = logit(u0, s);
  return (t: number) => {
    if (!Number.isFinite(t) || t < 0) throw new GradflowError(`deepMode: time must be finite and ≥ 0 (got ${t})`);
    if (t === 0) return u0;
    // t(z) is increasing: bracket by doubling, then bisect in z
    let lo = z0, hi = z0 + 1;
    while (hi < 745 && zTime(s, N, z0, hi) < t) { lo = hi; hi = z0 + 2 * (hi - z0); }
    if (hi >= 745) return s;
    for (let it = 0; it < 200 && hi - lo > 1e-15 * Math.max(1, Math.abs(hi)); it++) {
      const mid = 0.5 * (lo + hi);
      if (zTime(s, N, z0, mid) < t) lo = mid;
      else hi = mid;
    }
    return s / (1 + Math.exp(-0.5 * (lo + hi)));
  };
}
