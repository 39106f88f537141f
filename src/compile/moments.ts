/**
 * The moment form of the MSE loss for models linear in a single input x (f(x) = B x, B = Σ_i J_i(θ_i)
 * the c × d Jacobian; c = 1: f = βᵀx): the loss and its gradient depend on the data only through
 * Σ_xx = XᵀX/n, Σ_xy = XᵀY/n and the least-squares residual, so after one pass over the data every
 * evaluation costs O(c·d_in²) plus the model's own work, whatever n is (derive prints the scalar
 * form: θ̇ = −∇_θ f(x := g)).
 *
 * The loss is kept accurate near the optimum by measuring it from a least-squares solution B*
 * (Σ_xx B*ᵀ = Σ_xy, a basic solution by pivoted Cholesky when Σ_xx is singular), Δ = B − B*:
 *   L(B) = c₀ + ⟨Δᵀ, R*⟩ + ½ tr(Δ Σ_xx Δᵀ),  c₀ = L(B*) = (1/2n) Σ_j ‖y_j − B* x_j‖²  (summed directly),
 *   Gᵀ = Σ_xx Bᵀ − Σ_xy = Σ_xx Δᵀ + R*,  R* = Σ_xx B*ᵀ − Σ_xy = ∇L(B*)ᵀ  (the solve's rounding: kept, so that
 *   both are exact for whatever B* the solve returned — the loss is a quadratic in B).
 * Nothing here cancels O(1) quantities, unlike ½ tr(BΣ_xxBᵀ) − tr(BΣ_xy) + ½ tr Σ_yy.
 */
import { fingerprintX } from './row-tables.ts';

export interface DataMoments {
  dIn: number;
  /** Outputs per sample (columns of B*ᵀ). */
  c: number;
  /** Σ_xx, dIn × dIn row-major (both triangles filled). */
  Sxx: Float64Array;
  /** B*ᵀ, dIn × c row-major (c = 1: β*). */
  betaStar: Float64Array;
  /** R* = Σ_xx B*ᵀ − Σ_xy, dIn × c. */
  rStar: Float64Array;
  c0: number;
}

export function dataMoments(X: Float64Array, Y: Float64Array, n: number, dIn: number, c = 1): DataMoments {
  // columns of X made contiguous, so every Σ_xx entry is one dot product of two n-vectors held in
  // registers (no read-modify-write of Σ_xx per sample)
  const XT = new Float64Array(dIn * n);
  for (let j = 0; j < n; j++) for (let a = 0; a < dIn; a++) XT[a * n + j] = X[j * dIn + a];
  const S = new Float64Array(dIn * dIn), s = new Float64Array(dIn * c);
  const inv = 1 / n;
  for (let a = 0; a < dIn; a++) {
    const ao = a * n;
    for (let q = 0; q < c; q++) {
      let sy = 0;
      for (let j = 0; j < n; j++) sy += XT[ao + j] * Y[j * c + q];
      s[a * c + q] = sy * inv;
    }
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
  const fac = factorPsd(S, dIn);
  const betaStar = new Float64Array(dIn * c), col = new Float64Array(dIn);
  for (let q = 0; q < c; q++) {
    for (let a = 0; a < dIn; a++) col[a] = s[a * c + q];
    const bq = solveFactored(fac, col);
    for (let a = 0; a < dIn; a++) betaStar[a * c + q] = bq[a];
  }
  const rStar = new Float64Array(dIn * c);
  for (let a = 0; a < dIn; a++) {
    for (let q = 0; q < c; q++) {
      let acc = -s[a * c + q];
      for (let b = 0; b < dIn; b++) acc += S[a * dIn + b] * betaStar[b * c + q];
      rStar[a * c + q] = acc;
    }
  }
  let c0 = 0;
  for (let j = 0; j < n; j++) {
    for (let q = 0; q < c; q++) {
      let f = 0;
      for (let a = 0; a < dIn; a++) f += betaStar[a * c + q] * X[j * dIn + a];
      c0 += (Y[j * c + q] - f) ** 2;
    }
  }
  return { dIn, c, Sxx: S, betaStar, rStar, c0: 0.5 * c0 * inv };
}

interface PsdFactor { L: Float64Array; perm: number[]; rank: number; d: number }

/**
 * Pivoted Cholesky S_ππ = L Lᵀ of a symmetric positive semi-definite S up to rank r (pivots below
 * dIn·ε·max S_aa are treated as zero).
 */
function factorPsd(S: Float64Array, d: number): PsdFactor {
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
  return { L: A, perm, rank: r, d };
}

/** A basic solution of S β = s (s in S's range): L z = s_π, Lᵀ w = z on the leading r pivots, the other coordinates 0. */
function solveFactored({ L: A, perm, rank: r, d }: PsdFactor, s: Float64Array): Float64Array {
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
    /** Outputs per sample. */
    private readonly c: number,
    /** Work of one pass over one sample in the per-sample kernel (multiply-adds). */
    private readonly perSample: number,
    /** Work of one moment-form evaluation apart from Σ_xx Δᵀ (c·d² multiply-adds). */
    private readonly perEval: number,
    /** How much faster per operation the per-sample kernel runs than the moment evaluation's loops (sample blocking). */
    private readonly perSampleGain = 1,
  ) {}

  /** Whether the moment form applies to data of these sizes (the rule above). */
  applies(n: number): boolean {
    const d = this.dIn;
    const pass = n * this.perSample, evalCost = this.c * d * d + this.perEval;
    const setup = n * d * (d + 1) * 0.5 + (d * d * d) / 3 + this.c * (d * d + 2 * n * d);
    return d <= 2048 && 2 * evalCost < pass / this.perSampleGain && setup <= SETUP_PASSES * pass;
  }

  /** Whether calls on this data set are evaluated from the moments. */
  active(X: Float64Array, Y: Float64Array, n: number): boolean {
    return Y.length === n * this.c && X.length === n * this.dIn && this.applies(n);
  }

  /** The moments to use for this call, or null for the per-sample kernel. */
  use(X: Float64Array, Y: Float64Array, n: number): DataMoments | null {
    if (!this.active(X, Y, n)) return null;
    if (X !== this.X || Y !== this.Y || n !== this.n || fingerprint(X, Y) !== this.fp) {
      this.X = X; this.Y = Y; this.n = n;
      this.fp = fingerprint(X, Y);
      this.moments = dataMoments(X, Y, n, this.dIn, this.c);
    }
    return this.moments;
  }
}
