/**
 * Seeded population moments for two-layer linear networks and matrix factorisation.
 * Σ_yx = U diag(σ) Vᵀ with a power-law spectrum σ_k = scale·k^(−power) (k ≤ rank, else 0) and
 * random orthogonal U, V. The input covariance decides the case:
 *   whitened       Σ_xx = I;
 *   commuting      Σ_xx = V diag(λ) Vᵀ (aligned with Σ_yx's right singular vectors, so Σ_xx
 *                  commutes with Σ_yxᵀ Σ_yx);
 *   non-commuting  Σ_xx = Q diag(λ) Qᵀ with Q an independent random rotation;
 * λ geometric from 1 down to 1/cond. Targets are noise-free unless noise > 0 (Σ_yy gains noise²·I).
 */
import type { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';
import { makeMoments, type PopulationMoments } from '../src/moments.ts';

export type LinearCase = 'whitened' | 'commuting' | 'non-commuting';
export const LINEAR_CASES: LinearCase[] = ['whitened', 'commuting', 'non-commuting'];

/** Haar-random orthogonal n×n matrix (columns), by Gram–Schmidt applied twice on Gaussian columns. */
export function randomOrthogonal(n: number, rng: Rng): Float64Array[] {
  const cols: Float64Array[] = [];
  while (cols.length < n) {
    const v = rng.normalArray(n);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of cols) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[k] * v[k];
        for (let k = 0; k < n; k++) v[k] -= s * q[k];
      }
    }
    let nv = 0;
    for (let k = 0; k < n; k++) nv += v[k] * v[k];
    nv = Math.sqrt(nv);
    if (nv < 1e-8) continue;
    for (let k = 0; k < n; k++) v[k] /= nv;
    cols.push(v);
  }
  return cols;
}

export interface SpectrumOptions {
  power: number;
  scale: number;
  rank: number;
  cond: number;
  noise: number;
}

export function spectrumOptions(opts: Record<string, number>, c: number, d: number): SpectrumOptions {
  const o: SpectrumOptions = {
    power: opts.power ?? 1,
    scale: opts.scale ?? 1,
    rank: opts.rank ?? Math.min(c, d),
    cond: opts.cond ?? 4,
    noise: opts.noise ?? 0,
  };
  if (!Number.isInteger(o.rank) || o.rank < 1 || o.rank > Math.min(c, d)) throw new GradflowError(`--opt rank must be an integer in [1, min(c, d) = ${Math.min(c, d)}] (got ${o.rank})`);
  if (!(o.scale > 0)) throw new GradflowError(`--opt scale must be positive (got ${o.scale})`);
  if (!(o.power >= 0)) throw new GradflowError(`--opt power must be ≥ 0 (got ${o.power})`);
  if (!(o.cond >= 1)) throw new GradflowError(`--opt cond must be ≥ 1 (got ${o.cond})`);
  if (!(o.noise >= 0)) throw new GradflowError(`--opt noise must be ≥ 0 (got ${o.noise})`);
  return o;
}

/** σ_k = scale·k^(−power) for k = 1..rank. */
export function powerLaw(o: SpectrumOptions): number[] {
  return Array.from({ length: o.rank }, (_, k) => o.scale * Math.pow(k + 1, -o.power));
}

export function linearMoments(c: number, d: number, kind: LinearCase, o: SpectrumOptions, rng: Rng): PopulationMoments {
  const sig = powerLaw(o);
  const U = randomOrthogonal(c, rng);
  const V = randomOrthogonal(d, rng);
  const Syx = new Float64Array(c * d);
  sig.forEach((s, k) => {
    for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) Syx[i * d + j] += s * U[k][i] * V[k][j];
  });
  const lam = Array.from({ length: d }, (_, k) => (d === 1 ? 1 : Math.pow(o.cond, -k / (d - 1))));
  const basis = kind === 'whitened' ? null : kind === 'commuting' ? V : randomOrthogonal(d, rng);
  const Sxx = new Float64Array(d * d);
  if (!basis) for (let j = 0; j < d; j++) Sxx[j * d + j] = 1;
  else lam.forEach((l, k) => {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) Sxx[i * d + j] += l * basis[k][i] * basis[k][j];
  });
  // the noise-free Σ_yy is filled in by makeMoments; noise adds noise²·I to it
  const m = makeMoments(Sxx, Syx, null, d, c, `generated ${kind} moments`);
  if (o.noise > 0) for (let k = 0; k < c; k++) m.Syy[k * c + k] += o.noise * o.noise;
  return m;
}

/** A PSD target M = Q diag(λ) Qᵀ, λ_k = scale·k^(−power) for k ≤ rank (d×d, row-major). */
export function psdTarget(d: number, o: SpectrumOptions, rng: Rng): Float64Array {
  const lam = powerLaw(o);
  const Q = randomOrthogonal(d, rng);
  const M = new Float64Array(d * d);
  lam.forEach((l, k) => {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) M[i * d + j] += l * Q[k][i] * Q[k][j];
  });
  return M;
}

/** A target M = U diag(σ) Vᵀ (c×d) with power-law σ. */
export function lowRankTarget(c: number, d: number, o: SpectrumOptions, rng: Rng): Float64Array {
  const sig = powerLaw(o);
  const U = randomOrthogonal(c, rng);
  const V = randomOrthogonal(d, rng);
  const M = new Float64Array(c * d);
  sig.forEach((s, k) => {
    for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) M[i * d + j] += s * U[k][i] * V[k][j];
  });
  return M;
}
