/**
 * The moment form of the MSE loss for models linear in a single input x with a scalar output
 * (f(x) = βᵀx, β = Σ_i ∇_x f_i(θ_i)): the loss and its gradient depend on the data only through
 * Σ_xx = XᵀX/n, Σ_yx = Xᵀy/n and the least-squares residual, so after one pass over the data every
 * evaluation costs O(d_in²), whatever n is (derive prints the same form: θ̇ = −∇_θ f(x := g)).
 *
 * The loss is kept accurate near the optimum by measuring it from the least-squares solution β*
 * (Σ_xx β* = Σ_yx, a basic solution by pivoted Cholesky when Σ_xx is singular):
 *   L(β) = c₀ + δᵀr* + ½ δᵀΣ_xx δ,  δ = β − β*,  c₀ = L(β*) = (1/2n) Σ_j (y_j − β*ᵀx_j)²  (summed directly),
 *   g = Σ_xx β − Σ_yx = Σ_xx δ + r*,  r* = Σ_xx β* − Σ_yx = ∇L(β*)  (the solve's rounding: kept, so that
 *   both are exact for whatever β* the solve returned — the loss is a quadratic in β).
 * Nothing here cancels O(1) quantities, unlike ½βᵀΣ_xxβ − βᵀΣ_yx + ½Σ_yy.
 */
import { fingerprintX } from './row-tables.ts';

export interface DataMoments {
  dIn: number;
  /** Σ_xx, dIn × dIn row-major (both triangles filled). */
  Sxx: Float64Array;
  betaStar: Float64Array;
  rStar: Float64Array;
  c0: number;
}

export function dataMoments(X: Float64Array, Y: Float64Array, n: number, dIn: number): DataMoments {
  // columns of X made contiguous, so every Σ_xx entry is one dot product of two n-vectors held in
  // registers (no read-modify-write of Σ_xx per sample)
  const XT = new Float64Array(dIn * n);
  for (let j = 0; j < n; j++) for (let a = 0; a < dIn; a++) XT[a * n + j] = X[j * dIn + a];
  const S = new Float64Array(dIn * dIn), s = new Float64Array(dIn);
  const inv = 1 / n;
  for (let a = 0; a < dIn; a++) {
    const ao = a * n;
    let sy = 0;
    for (let j = 0; j < n; j++) sy += XT[ao + j] * Y[j];
    s[a] = sy * inv;
    for (let b = a; b < dIn; b++) {
      const bo = b * n;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0;
      for (; j + 3 < n; j += 4) {
        s0 += XT[ao + j] * XT[bo + j];
        s1 += XT[ao + j + 1] * XT[bo + j + 1];
        s2 += XT[ao + j + 2] * XT[bo + j + 2];
        s3 += XT[ao + j + 3] * XT[bo + j + 3];
      }
      for (; j < n; j++) s0 += XT[ao + j] * XT[bo + j];
      const v = (s0 + s1 + s2 + s3) * inv;
      S[a * dIn + b] = v;
      S[b * dIn + a] = v;
    }
  }
  const betaStar = solvePsd(S, s, dIn);
  const rStar = new Float64Array(dIn);
  for (let a = 0; a < dIn; a++) {
    let acc = -s[a];
    for (let b = 0; b < dIn; b++) acc += S[a * dIn + b] * betaStar[b];
    rStar[a] = acc;
  }
  let c0 = 0;
  for (let j = 0; j < n; j++) {
    let f = 0;
    for (let a = 0; a < dIn; a++) f += betaStar[a] * X[j * dIn + a];
    c0 += (Y[j] - f) ** 2;
  }
  return { dIn, Sxx: S, betaStar, rStar, c0: 0.5 * c0 * inv };
}

/**
 * A solution of S β = s for symmetric positive semi-definite S with s in its range: pivoted
 * Cholesky S_ππ = L Lᵀ up to rank r (pivots below dIn·ε·max S_aa are treated as zero), the
 * remaining coordinates set to 0.
 */
function solvePsd(S: Float64Array, s: Float64Array, d: number): Float64Array {
  const A = Float64Array.from(S);
  const perm = Array.from({ length: d }, (_, k) => k);
  let maxDiag = 0;
  for (let a = 0; a < d; a++) maxDiag = Math.max(maxDiag, A[a * d + a]);
  const tol = d * Number.EPSILON * maxDiag;
  let r = 0;
  for (; r < d; r++) {
    let best = r;
    for (let k = r + 1; k < d; k++) if (A[k * d + k] > A[best * d + best]) best = k;
    if (!(A[best * d + best] > tol)) break;
    if (best !== r) {
      // symmetric swap of rows and columns r, best (the computed columns of L move with their rows)
      for (let m = 0; m < d; m++) { const t = A[r * d + m]; A[r * d + m] = A[best * d + m]; A[best * d + m] = t; }
      for (let m = 0; m < d; m++) { const t = A[m * d + r]; A[m * d + r] = A[m * d + best]; A[m * d + best] = t; }
      [perm[r], perm[best]] = [perm[best], perm[r]];
    }
    const l = Math.sqrt(A[r * d + r]);
    A[r * d + r] = l;
    for (let k = r + 1; k < d; k++) A[k * d + r] /= l;
    for (let k = r + 1; k < d; k++) {
      const lk = A[k * d + r];
      if (lk === 0) continue;
      for (let m = r + 1; m < d; m++) A[k * d + m] -= lk * A[m * d + r];
    }
  }
  // L z = s_π and Lᵀ w = z on the leading r pivots; the other coordinates of the basic solution are 0
  const w = new Float64Array(r);
  for (let k = 0; k < r; k++) {
    let acc = s[perm[k]];
    for (let m = 0; m < k; m++) acc -= A[k * d + m] * w[m];
    w[k] = acc / A[k * d + k];
  }
  for (let k = r - 1; k >= 0; k--) {
    let acc = w[k];
    for (let m = k + 1; m < r; m++) acc -= A[m * d + k] * w[m];
    w[k] = acc / A[k * d + k];
  }
  const beta = new Float64Array(d);
  for (let k = 0; k < r; k++) beta[perm[k]] = w[k];
  return beta;
}

/** A few strided entries of X and Y: a buffer refilled in place is noticed. */
function fingerprint(X: Float64Array, Y: Float64Array): number {
  return fingerprintX(X) + 1.5 * fingerprintX(Y);
}

/**
 * Whether a data set is evaluated from its moments: decided from the sizes alone, so that the
 * same inputs give the same bytes whatever was called before (a rule that waited for the calls to
 * pay off would make results depend on the call history). The moments are used when an
 * evaluation there costs under half a pass over the samples and forming them costs at most
 * SETUP_PASSES passes (a one-off caller pays at most that); an evaluation's cost is compared in time,
 * a pass of a sample-blocked kernel counting 1/perSampleGain of its operations. Keyed by the identity of X and Y
 * (solvers pass the Problem's immutable data); a buffer refilled in place is caught by a
 * fingerprint and its moments are formed again.
 */
export const SETUP_PASSES = 30;

export class MomentSwitch {
  private X: Float64Array | null = null;
  private Y: Float64Array | null = null;
  private n = -1;
  private fp = 0;
  private moments: DataMoments | null = null;

  constructor(
    private readonly dIn: number,
    /** Work of one pass over one sample in the per-sample kernel (multiply-adds). */
    private readonly perSample: number,
    /** Work of one moment-form evaluation apart from Σ_xx δ. */
    private readonly perEval: number,
    /** How much faster per operation the per-sample kernel runs than the moment evaluation's loops (sample blocking). */
    private readonly perSampleGain = 1,
  ) {}

  /** Whether the moment form applies to data of these sizes (the rule above). */
  applies(n: number): boolean {
    const d = this.dIn;
    const pass = n * this.perSample, evalCost = d * d + this.perEval;
    const setup = n * d * (d + 1) * 0.5 + (d * d * d) / 3 + 2 * n * d;
    return d <= 2048 && 2 * evalCost < pass / this.perSampleGain && setup <= SETUP_PASSES * pass;
  }

  /** Whether calls on this data set are evaluated from the moments. */
  active(X: Float64Array, Y: Float64Array, n: number): boolean {
    return Y.length === n && X.length === n * this.dIn && this.applies(n);
  }

  /** The moments to use for this call, or null for the per-sample kernel. */
  use(X: Float64Array, Y: Float64Array, n: number): DataMoments | null {
    if (!this.active(X, Y, n)) return null;
    if (X !== this.X || Y !== this.Y || n !== this.n || fingerprint(X, Y) !== this.fp) {
      this.X = X; this.Y = Y; this.n = n;
      this.fp = fingerprint(X, Y);
      this.moments = dataMoments(X, Y, n, this.dIn);
    }
    return this.moments;
  }
}
