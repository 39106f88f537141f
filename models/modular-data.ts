/**
 * Data for the quadratic network on modular addition (theory.md §6).
 *
 * Conventions (fixed here, used by every modular-addition routine):
 * - DFT: X[ξ] = Σ_k x[k] e^{−2πiξk/p} (unnormalised); inverse x[k] = (1/p) Σ_ξ X[ξ] e^{2πiξk/p};
 *   the unitary transform is x̂ = X/√p. Parseval: ‖x‖² = (1/p) Σ_ξ |X[ξ]|².
 * - roll(x, a)[k] = x[(k − a) mod p] (numpy's np.roll), so DFT(roll(x, a))[ξ] = e^{−2πiξa/p} X[ξ].
 * - A spectrum "1:10,3:5" sets |X[±1]| = 10, |X[±3]| = 5 and every other X[ξ] = 0 (in particular
 *   X[0] = 0: the mean is removed). Phases arg X[ξ] are 0 by default (x is then a sum of cosines)
 *   or, with phases = 'random', seeded uniform draws; X[p − ξ] = conj X[ξ] keeps x real. At the
 *   Nyquist frequency ξ = p/2 (even p) X is real, so its phase is 0 or π.
 * - Sample j = a·p + b holds the pair (a, b): input row [roll(x, a), roll(x, b)] (2p values),
 *   target roll(x, (a + b) mod p) (p values). All p² pairs, full batch.
 */
import { checkDatasetSize, type Dataset } from '../src/data.ts';
import { GradflowError } from '../src/util/errors.ts';
import type { Rng } from '../src/util/rng.ts';

export interface SpectrumEntry {
  /** Frequency ξ in 1 … ⌊p/2⌋ (its conjugate p − ξ gets the same magnitude). */
  freq: number;
  /** |X[ξ]| in the unnormalised DFT. */
  amp: number;
}

export const DEFAULT_SPECTRUM: SpectrumEntry[] = [
  { freq: 1, amp: 10 },
  { freq: 3, amp: 5 },
  { freq: 5, amp: 2.5 },
];

export function formatSpectrum(s: SpectrumEntry[]): string {
  return s.map((e) => `${e.freq}:${e.amp}`).join(',');
}

/** "1:10,3:5,5:2.5" → entries; frequencies must be distinct positive integers, amplitudes ≥ 0. */
export function parseSpectrum(src: string): SpectrumEntry[] {
  const out: SpectrumEntry[] = [];
  for (const part of src.split(',')) {
    const m = /^\s*(\d+)\s*:\s*([-+0-9.eE]+)\s*$/.exec(part);
    const amp = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(amp) || amp < 0) throw new GradflowError(`--spectrum must look like 1:10,3:5,5:2.5 (frequency:|X[frequency]|, amplitudes ≥ 0; got '${part}')`);
    const freq = Number(m[1]);
    if (freq < 1) throw new GradflowError(`--spectrum: frequency ${freq} must be ≥ 1 (the mean, frequency 0, is always removed)`);
    if (out.some((e) => e.freq === freq)) throw new GradflowError(`--spectrum: frequency ${freq} is given twice`);
    out.push({ freq, amp });
  }
  return out;
}

/** Check a spectrum against the modulus: each ξ must be a distinct class {ξ, p − ξ} with 1 ≤ ξ ≤ p/2. */
export function checkSpectrum(p: number, s: SpectrumEntry[]): void {
  if (!Number.isInteger(p) || p < 3) throw new GradflowError(`modulus p must be an integer ≥ 3 (got ${p})`);
  if (s.length === 0) throw new GradflowError('--spectrum: give at least one frequency');
  for (const e of s) {
    if (e.freq > p / 2) throw new GradflowError(`--spectrum: frequency ${e.freq} exceeds p/2 = ${p / 2}; use its conjugate ${p - e.freq} ≤ p/2 or a larger modulus (--dim p=…)`);
  }
  if (s.every((e) => e.amp === 0)) throw new GradflowError('--spectrum: every amplitude is 0 (nothing to learn)');
}

export interface Complex {
  re: Float64Array;
  im: Float64Array;
}

/** X[ξ] = Σ_k x[k] e^{−2πiξk/p}; O(p²), p is small. */
// cos and sin of −2πm/p for m = 0 … p − 1, per p: the same arguments as computed inline, so the
// same bits, without 2p² trigonometric calls per transform (residualClassLoss takes p² transforms
// of length p: 3–4 ms at p = 20, most of compare modular's reading of its runs)
const TWIDDLES = new Map<number, { c: Float64Array; s: Float64Array }>();
function twiddles(p: number): { c: Float64Array; s: Float64Array } {
  let t = TWIDDLES.get(p);
  if (!t) {
    t = { c: new Float64Array(p), s: new Float64Array(p) };
    for (let m = 0; m < p; m++) { const ang = (-2 * Math.PI * m) / p; t.c[m] = Math.cos(ang); t.s[m] = Math.sin(ang); }
    if (TWIDDLES.size > 64) TWIDDLES.clear();
    TWIDDLES.set(p, t);
  }
  return t;
}

export function dft(x: ArrayLike<number>): Complex {
  const p = x.length;
  const re = new Float64Array(p), im = new Float64Array(p);
  const { c, s } = twiddles(p);
  for (let xi = 0; xi < p; xi++) {
    let sr = 0, si = 0;
    for (let k = 0; k < p; k++) {
      const m = (xi * k) % p;
      sr += x[k] * c[m];
      si += x[k] * s[m];
    }
    re[xi] = sr;
    im[xi] = si;
  }
  return { re, im };
}

/** Frequency classes {0}, {1, p−1}, …: class ξ ∈ 0 … ⌊p/2⌋. */
export function frequencyClasses(p: number): number {
  return Math.floor(p / 2) + 1;
}

/**
 * Power of a real vector per frequency class: P[ξ] = (|V[ξ]|² + |V[p−ξ]|²)/p for 0 < ξ < p/2, so that
 * Σ_ξ P[ξ] = ‖v‖² (Parseval).
 */
export function powerSpectrum(v: ArrayLike<number>): Float64Array {
  const p = v.length;
  const { re, im } = dft(v);
  const P = new Float64Array(frequencyClasses(p));
  for (let xi = 0; xi < p; xi++) {
    const c = Math.min(xi, p - xi);
    P[c] += (re[xi] * re[xi] + im[xi] * im[xi]) / p;
  }
  return P;
}

export type PhaseMode = 'zero' | 'random';

/** The encoding vector x with the given |X[ξ]| (mean removed) and phases. */
export function encodingVector(p: number, spectrum: SpectrumEntry[], phases: PhaseMode = 'zero', rng?: Rng): Float64Array {
  checkSpectrum(p, spectrum);
  const x = new Float64Array(p);
  for (const { freq, amp } of spectrum) {
    const nyquist = 2 * freq === p;
    let phi = 0;
    if (phases === 'random') {
      if (!rng) throw new Error('encodingVector: random phases need an Rng');
      phi = nyquist ? (rng.uniform() < 0.5 ? 0 : Math.PI) : 2 * Math.PI * rng.uniform();
    }
    // X[ξ] e^{2πiξk/p} + conj: (2A/p) cos(2πξk/p + φ); the Nyquist class has one real term
    const coef = (nyquist ? 1 : 2) * amp / p;
    for (let k = 0; k < p; k++) x[k] += coef * Math.cos((2 * Math.PI * ((freq * k) % p)) / p + phi);
  }
  return x;
}

/** roll(x, s)[k] = x[(k − s) mod p]. */
export function roll(x: ArrayLike<number>, s: number): Float64Array {
  const p = x.length;
  const out = new Float64Array(p);
  const sh = ((s % p) + p) % p;
  for (let k = 0; k < p; k++) out[(k + sh) % p] = x[k];
  return out;
}

/** All p² pairs: row a·p + b = [roll(x, a), roll(x, b)], target roll(x, a + b). */
export function modularDataset(x: Float64Array, source: string): Dataset {
  const p = x.length;
  const n = p * p;
  // all p² pairs with 2p inputs and p outputs each: check the caps before allocating 3p³ values (p = 1000 is 24 GB)
  checkDatasetSize(n, 2 * p, p, `modular addition mod ${p}`);
  const rolls = Array.from({ length: p }, (_, s) => roll(x, s));
  const X = new Float64Array(n * 2 * p);
  const Y = new Float64Array(n * p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      const j = a * p + b;
      X.set(rolls[a], j * 2 * p);
      X.set(rolls[b], j * 2 * p + p);
      Y.set(rolls[(a + b) % p], j * p);
    }
  }
  return { X, Y, n, dIn: 2 * p, c: p, source };
}

/** One-hot x = e_0 (not centred: |X[ξ]| = 1 at every ξ, including ξ = 0). */
export function oneHotVector(p: number): Float64Array {
  const x = new Float64Array(p);
  x[0] = 1;
  return x;
}

/** The spectrum of x in the form --spectrum takes (classes with |X[ξ]| > tol, ξ ≥ 1). */
export function spectrumOf(x: ArrayLike<number>, tol = 1e-9): SpectrumEntry[] {
  const p = x.length;
  const { re, im } = dft(x);
  const out: SpectrumEntry[] = [];
  for (let xi = 1; xi <= p / 2; xi++) {
    const a = Math.hypot(re[xi], im[xi]);
    if (a > tol) out.push({ freq: xi, amp: a });
  }
  return out;
}
