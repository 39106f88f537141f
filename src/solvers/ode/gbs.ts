/**
 * Gragg–Bulirsch–Stoer extrapolation with order and step-size control and dense output, after
 * Hairer's ODEX (Hairer, Nørsett & Wanner, Solving ODEs I, §II.9): each step runs Gragg's
 * midpoint rule with n_j substeps (sequence below), extrapolates the results in h² by
 * Aitken–Neville, and takes the column count (order 2κ) and next step from the work per unit
 * step. At tight tolerances it takes few, long, high-order steps, and its own arithmetic is one
 * vector update per evaluation (DOP853: about six).
 *
 * Dense output (Hairer & Ostermann): the midpoint values and central differences of the slopes
 * at the step's middle, extrapolated like the solution, give the derivatives of order 0…μ
 * (μ = 2κ − 3) there; the interpolant is the cubic Hermite through both ends plus
 * (θ(1−θ))²·R(θ − ½), R matching those derivatives. When events, a dense store or checkpoints
 * inside the interval need it, it is formed for every step and a step whose interpolation error
 * estimate exceeds 10 (in tolerance units) is redone shorter, as ODEX does.
 */
import { DivergenceError, GradflowError } from '../../util/errors.ts';
import type { OdeRhs } from './types.ts';
import type { DenseCodec, Step, StepConfig, Stepper } from './dense.ts';
import { initialStep } from './dopri5.ts';

/** Most columns (ODEX's default); the order is at most 2·(KM − 1) + 2. */
const KM = 9;
/** ODEX's step-size factors and order-change thresholds (its defaults). */
const FAC1 = 0.02, FAC2 = 4.0, FAC3 = 0.8, FAC4 = 0.9, SAFE1 = 0.65, SAFE2 = 0.94;
/** μ = 2κ − MUDIF + 1: the highest midpoint derivative used by the dense output (ODEX's default MUDIF = 4). */
const MUDIF = 4;
const MU_MAX = 2 * KM - MUDIF + 1;

/**
 * Substeps of column j (1-based like ODEX): 4j − 2 = 2, 6, 10, … where the dense output is formed
 * (its midpoint derivatives need n_j ≡ 2 mod 4), else 2j = 2, 4, 6, … (ODEX's default, about half
 * the evaluations per step at the same order).
 */
const sequence = (dense: boolean): number[] => Array.from({ length: KM + 2 }, (_, j) => (j === 0 ? 0 : dense ? 4 * j - 2 : 2 * j));
/** Evaluations up to column j, the one at the step start included. */
const work = (nj: number[]): number[] => nj.map((_, j) => (j === 0 ? 0 : 1 + nj.slice(1, j + 1).reduce((a, b) => a + b, 0)));

const binom = (k: number, i: number): number => {
  let c = 1;
  for (let q = 1; q <= i; q++) c = (c * (k - q + 1)) / q;
  return k < i ? 0 : c;
};

/** max over s ∈ [−½, ½] of (¼ − s²)²·|s|^μ / μ!: the size of the last term of R over the step. */
const ERRFAC = Array.from({ length: MU_MAX + 1 }, (_, mu) => {
  let best = 0, fact = 1;
  for (let q = 2; q <= mu; q++) fact *= q;
  for (let k = 0; k <= 1000; k++) {
    const s = k / 2000;
    best = Math.max(best, (0.25 - s * s) ** 2 * s ** mu);
  }
  return best / fact;
});

export function gbsStepper(f: OdeRhs, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper {
  if (cfg.dt !== undefined) throw new GradflowError('ode (gbs): the extrapolation method chooses its own steps and order; dt (a fixed step) is for gauss4, midpoint, rk4, dopri5, dop853 or rkc');
  const n = y0.length;
  const { rtol, atol, hmax } = cfg;
  const wantDense = cfg.denseNeeded ?? true;
  const NJ = sequence(wantDense), AW = work(NJ);
  let t = t0;
  let y: Float64Array = y0.slice(), yNew: Float64Array = new Float64Array(n);
  let fA: Float64Array = f0.slice(), fB: Float64Array = new Float64Array(n);
  // the extrapolation table, in place: after column j, T[1] = T_jj and T[2] = T_j,j−1
  const T = Array.from({ length: KM + 2 }, () => new Float64Array(n));
  const yh1 = new Float64Array(n), yh2 = new Float64Array(n), dy = new Float64Array(n);
  // per column: the midpoint value z_{n_j/2} and (dense output) every slope f_0 … f_{n_j}
  const zMid: Float64Array[] = [], fs: Float64Array[][] = [];
  const W = new Float64Array(KM + 2), HH = new Float64Array(KM + 2);
  const sc = new Float64Array(n);
  let errold = 0, err = 0;
  let H = cfg.h0 ?? initialStep(f, t0, y0, f0, 5, cfg, t1 - t0);
  let k = Math.max(2, Math.min(KM - 1, Math.floor(-Math.log10(rtol + 1e-40) * 0.6 + 1.5)));
  let reject = false;
  let rejected = 0;

  /** Column j of a step of size h: Gragg's midpoint rule with smoothing, then extrapolation. False: diverging, h halved. */
  const midex = (j: number, h: number): boolean => {
    const nj = NJ[j], hj = h / nj, mid = nj >> 1;
    const fj = wantDense ? (fs[j] ??= Array.from({ length: nj + 1 }, () => new Float64Array(n))) : null;
    const zm = (zMid[j] ??= new Float64Array(n));
    if (fj) fj[0].set(fA);
    for (let i = 0; i < n; i++) { yh1[i] = y[i]; yh2[i] = y[i] + hj * fA[i]; }
    for (let m = 1; m < nj; m++) {
      if (m === mid) zm.set(yh2);
      const fm = fj ? fj[m] : dy;
      f(t + hj * m, yh2, fm);
      const h2 = 2 * hj;
      for (let i = 0; i < n; i++) { const s = yh1[i]; yh1[i] = yh2[i]; yh2[i] = s + h2 * fm[i]; }
    }
    const fe = fj ? fj[nj] : dy;
    f(t + h, yh2, fe);
    const Tj = T[j];
    for (let i = 0; i < n; i++) Tj[i] = (yh1[i] + yh2[i] + hj * fe[i]) / 2;
    if (j === 1) return true;
    for (let l = j; l >= 2; l--) {
      const fac = (nj / NJ[l - 1]) ** 2 - 1, a = T[l], b = T[l - 1];
      for (let i = 0; i < n; i++) b[i] = a[i] + (a[i] - b[i]) / fac;
    }
    let s = 0;
    const T1 = T[1], T2 = T[2];
    for (let i = 0; i < n; i++) {
      const q = (T1[i] - T2[i]) / (atol[i] + rtol * Math.max(Math.abs(y[i]), Math.abs(T1[i])));
      s += q * q;
    }
    err = Math.sqrt(s / n);
    if (!(err * Number.EPSILON < 1) || (j > 2 && err >= errold)) {
      H = h * 0.5;
      reject = true;
      rejected++;
      return false;
    }
    errold = Math.max(4 * err, 1);
    const expo = 1 / (2 * j - 1), facmin = FAC1 ** expo;
    const fac = Math.min(FAC2 / facmin, Math.max(facmin, (err / SAFE1) ** expo / SAFE2));
    HH[j] = Math.min(h / fac, hmax);
    W[j] = AW[j] / HH[j];
    return true;
  };

  // dense output of the last accepted step, one record [yA, Δ, c2, c3, r_0 … r_μ, μ] as the store keeps it
  const width = (4 + MU_MAX + 1) * n + 1;
  const cur = new Float64Array(width);
  const dense = Array.from({ length: 4 + MU_MAX + 1 }, (_, v) => cur.subarray(v * n, (v + 1) * n));
  let mu = 0, hStep = 0, denseFor = -1, accepted = 0;
  const tmp = Array.from({ length: KM + 2 }, () => new Float64Array(n));
  /** Aitken–Neville over columns j0 … kappa of the values v[j] (overwritten); the result in v[kappa]. */
  const neville = (v: Float64Array[], j0: number, kappa: number): Float64Array => {
    for (let l = j0 + 1; l <= kappa; l++) {
      for (let kk = kappa; kk >= l; kk--) {
        const fac = (NJ[kk] / NJ[kk - l + j0]) ** 2 - 1, a = v[kk], b = v[kk - 1];
        for (let i = 0; i < n; i++) a[i] = a[i] + (a[i] - b[i]) / fac;
      }
    }
    return v[kappa];
  };
  /** Forms the interpolant of the step just taken (yA = yNew after the swap, yB = y); returns its error estimate. */
  const formDense = (kappa: number, h: number, yA: Float64Array, yB: Float64Array, fa: Float64Array, fb: Float64Array): number => {
    mu = 2 * kappa - MUDIF + 1;
    const [dA, dD, c2, c3] = dense;
    for (let i = 0; i < n; i++) {
      const d = yB[i] - yA[i];
      dA[i] = yA[i];
      dD[i] = d;
      c2[i] = d - h * fb[i];
      c3[i] = h * fa[i] - d;
    }
    // D_0: the midpoint values, extrapolated over every column
    for (let j = 1; j <= kappa; j++) tmp[j].set(zMid[j]);
    const D0 = neville(tmp, 1, kappa);
    const r = dense.slice(4);
    for (let i = 0; i < n; i++) r[0][i] = 16 * (D0[i] - (yA[i] + dD[i] / 2 + (c2[i] + c3[i]) / 8));
    // D_k = H^k y^(k)(mid) ≈ H·(n_j/2)^(k−1)·δ^(k−1) f_mid over the columns with 2j ≥ k; δ applied in place,
    // level m of column j holding index i in slot i − m
    for (let kd = 1; kd <= mu; kd++) {
      const j0 = (kd + 1) >> 1;
      for (let j = j0; j <= kappa; j++) {
        const fj = fs[j], mid = NJ[j] >> 1, m = kd - 1;
        if (m > 0) {
          // one more level: index i of level m from indices i ± 1 of level m − 1 (slots i − m + 1 ± 1)
          for (let idx = mid - (2 * j - 1) + m; idx <= mid + (2 * j - 1) - m; idx++) {
            const a = fj[idx - m + 2], b = fj[idx - m];
            for (let q = 0; q < n; q++) b[q] = a[q] - b[q];
          }
        }
        const src = fj[mid - m], scale = h * (NJ[j] / 2) ** m, out = tmp[j];
        for (let q = 0; q < n; q++) out[q] = scale * src[q];
      }
      const Dk = neville(tmp, j0, kappa);
      const rk = r[kd], c22 = binom(kd, 2), c44 = 24 * binom(kd, 4);
      for (let i = 0; i < n; i++) {
        let e = Dk[i];
        if (kd === 1) e -= dD[i] + (c2[i] - c3[i]) / 4;
        else if (kd === 2) e += c2[i] + c3[i];
        else if (kd === 3) e += 6 * (c2[i] - c3[i]);
        let v = e;
        if (kd >= 2) v += c22 * r[kd - 2][i];
        if (kd >= 4) v -= c44 * r[kd - 4][i];
        rk[i] = 16 * v;
      }
    }
    let s = 0;
    const rm = r[mu];
    for (let i = 0; i < n; i++) {
      const q = rm[i] / (atol[i] + rtol * Math.max(Math.abs(yA[i]), Math.abs(yB[i])));
      s += q * q;
    }
    cur[width - 1] = mu;
    denseFor = accepted;
    return Math.sqrt(s / n) * ERRFAC[mu];
  };
  /** The record at off, at x = (t − tA)/(tB − tA) ∈ [0, 1]. */
  const evaluate = (buf: Float64Array, off: number, x: number, out: Float64Array): void => {
    const m = buf[off + width - 1], x1 = 1 - x, s = x - 0.5, g = (x * x1) ** 2;
    for (let i = 0; i < n; i++) {
      const o = off + i;
      let ret = buf[o + (4 + m) * n];
      for (let q = m - 1; q >= 0; q--) ret = buf[o + (4 + q) * n] + (ret * s) / (q + 1);
      out[i] = buf[o] + x * (buf[o + n] + x1 * (buf[o + 2 * n] * x + buf[o + 3 * n] * x1)) + g * ret;
    }
  };
  const ready = (): void => {
    // formed at acceptance whenever the run needs dense output (StepConfig.denseNeeded)
    if (denseFor !== accepted) throw new Error('gbs: dense output asked for in a run that declared none (StepConfig.denseNeeded)');
  };
  const interp = (tq: number, out: Float64Array): void => {
    ready();
    evaluate(cur, 0, (tq - step.tA) / hStep, out);
  };
  const codec: DenseCodec = {
    width,
    write(out, off) {
      ready();
      out.set(cur.subarray(0, (5 + mu) * n), off);
      out[off + width - 1] = mu;
    },
    evaluate(buf, off, tA, tB, tq, out) {
      evaluate(buf, off, (tq - tA) / (tB - tA), out);
    },
  };
  const step: Step = { tA: t0, tB: t0, yB: y, fB: fA, interp };

  /** The work-optimal column count and next step after an accepted step at column kc (ODEX). */
  const nextOrder = (kc: number, h: number): void => {
    let kopt: number;
    if (kc === 2) {
      kopt = Math.min(3, KM - 1);
      if (reject) kopt = 2;
    } else if (kc <= k) {
      kopt = kc;
      if (W[kc - 1] < W[kc] * FAC3) kopt = kc - 1;
      if (W[kc] < W[kc - 1] * FAC4) kopt = Math.min(kc + 1, KM - 1);
    } else {
      kopt = kc - 1;
      if (kc > 3 && W[kc - 2] < W[kc - 1] * FAC3) kopt = kc - 2;
      if (W[kc] < W[kopt] * FAC4) kopt = Math.min(kc, KM - 1);
    }
    if (reject) {
      k = Math.min(kopt, kc);
      H = Math.min(h, HH[k]);
      reject = false;
      return;
    }
    if (kopt <= kc) H = HH[kopt];
    else H = kc < k && W[kc] < W[kc - 1] * FAC4 ? (HH[kc] * AW[kopt + 1]) / AW[kc] : (HH[kc] * AW[kopt]) / AW[kc];
    k = kopt;
  };

  /** Runs the columns of one attempt of size h; the accepted column count, or 0 (rejected: H, k reset). */
  const attempt = (h: number): number => {
    let kc = 0;
    for (let j = 1; j <= k - 1; j++) {
      kc = j;
      if (!midex(j, h)) return 0;
    }
    if (!(k === 2 || reject)) {
      if (err <= 1) return kc;
      if (err > ((NJ[k + 1] * NJ[k]) / 4) ** 2) return rejectAt(kc, h);
    }
    if (!midex(k, h)) return 0;
    kc = k;
    if (err <= 1) return kc;
    if (err > (NJ[k + 1] / 2) ** 2) return rejectAt(kc, h);
    kc = k + 1;
    if (!midex(kc, h)) return 0;
    return err > 1 ? rejectAt(kc, h) : kc;
  };
  const rejectAt = (kc: number, _h: number): number => {
    k = Math.min(k, kc, KM - 1);
    if (k > 2 && W[k - 1] < W[k] * FAC3) k--;
    rejected++;
    H = HH[k];
    reject = true;
    return 0;
  };

  return {
    get rejected() {
      return rejected;
    },
    codec,
    step(): Step {
      for (;;) {
        H = Math.min(H, hmax);
        const last = t + 1.01 * H >= t1;
        if (last) H = t1 - t;
        if (!(H > 16 * Number.EPSILON * Math.abs(t)) || !(H > 0)) {
          throw new DivergenceError(`gbs: step size underflow at t = ${t} (solution likely blows up)`);
        }
        const h = H, tNew = last ? t1 : t + h;
        const kc = attempt(h);
        if (kc === 0) continue;
        yNew.set(T[1]);
        f(tNew, yNew, fB);
        let hoptde = Infinity;
        if (wantDense) {
          accepted++;
          const errint = formDense(kc, h, y, yNew, fA, fB);
          accepted--;
          const shrink = Math.max(errint ** (1 / (mu + 4)), 0.01);
          if (errint > 10) {
            H = h / shrink;
            rejected++;
            reject = true;
            continue;
          }
          hoptde = h / shrink;
        }
        step.tA = t;
        step.tB = tNew;
        t = tNew;
        [y, yNew] = [yNew, y];
        [fA, fB] = [fB, fA];
        step.yB = y;
        step.fB = fA;
        hStep = h;
        accepted++;
        nextOrder(kc, h);
        H = Math.min(H, hoptde);
        return step;
      }
    },
  };
}
