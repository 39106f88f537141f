/**
 * The truncation picture measured on the TRUE flow: integrate θ̇ = −∇_θ L (the model's own loss,
 * kink by kink), map θ(t) to gauge-invariant cumulative quantities (src/analysis/truncation.ts),
 * and put the measurements next to what the effective equations (Euclidean flow of C̃ in the
 * thresholds, aligned case) predict: truncated fractions N_T/N, threshold relaxation rates,
 * the effective equations' velocity error, and neural-collapse metrics.
 */
import type { Problem } from '../problem.ts';
import { solveFlow } from '../solvers/flow.ts';
import { GradflowError } from '../util/errors.ts';
import {
  collapseMetrics, cumulative, effectiveThresholdVelocity, gainSigns, inputChain, inputLayerCost, layersOf, misalignment, owners, pulledBackTargets,
  type CollapseMetrics,
} from './truncation.ts';
import { blockDistance, blockNorm, cumulativeVelocity, inputCostGradient, lossGradientCumulative, projectGauge } from './truncation-general.ts';

export interface TruncationSample {
  t: number;
  loss: number;
  /** C̃ = (1/2N) Σ ‖ξ^{(L−1)}_j − ỹ_j‖². */
  inputCost: number;
  /** Per hidden layer: share of samples with at least one component clipped at that layer. */
  truncated: number[];
  /** Thresholds β^{(ℓ)} (hidden layers × Q). */
  beta: number[][];
  /** Measured −d log|β − β*|/dt per threshold (NaN where nothing sits on it). */
  rate: number[][];
  /** N_T/N per threshold: the share of samples whose component ends on it (the effective rate). */
  share: number[][];
  /** ‖β̇_true − β̇_eff‖ / ‖β̇_eff‖ (null where β̇_eff = 0). */
  effectiveError: number | null;
  /**
   * General case (no alignment assumed), hidden layers, gauge projected out:
   * ‖P⊥ċ_true − (−∇_c C̃)‖/‖∇_c C̃‖ with ċ_true = Jθ̇ (truncation-general.ts); null where ∇_c C̃ = 0.
   */
  generalError: number | null;
  /** Its loss part: ‖P⊥(∇_c L − ∇_c C̃)‖/‖∇_c C̃‖ (0 when W^(L) is orthogonal: then L = C̃). */
  costError: number | null;
  misalignment: number;
  collapse: CollapseMetrics;
}

export interface TruncationPlateau {
  layer: number;
  component: number;
  tStart: number;
  tEnd: number;
  share: number;
  /** Median of the measured rate over the plateau's interior samples (plateaus of ≥ 3 samples). */
  rate: number;
}

export interface TruncationRun {
  samples: TruncationSample[];
  plateaus: TruncationPlateau[];
  /** Fitted exponential decay rate of tr Σ_W over the last half of the run (null if not decaying). */
  collapseRate: number | null;
  classes: number;
  L: number;
  Q: number;
  flowStats: Record<string, number | string>;
}

/** Class labels from distinct target rows (exact equality): the generators give one target per class. */
export function labelsFromTargets(Y: Float64Array, n: number, c: number): { labels: Int32Array; K: number } {
  const keys = new Map<string, number>();
  const labels = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const key = Array.from(Y.subarray(j * c, (j + 1) * c)).join(',');
    let k = keys.get(key);
    if (k === undefined) { k = keys.size; keys.set(key, k); }
    labels[j] = k;
  }
  return { labels, K: keys.size };
}

function median(v: number[]): number {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
}

export function runTruncation(p: Problem, opts: { tEnd: number; points: number; rtol?: number }): TruncationRun {
  if (!(Number.isFinite(opts.tEnd) && opts.tEnd > 0)) throw new GradflowError(`truncation: --t must be a positive flow time (got ${opts.tEnd})`);
  if (!(Number.isInteger(opts.points) && opts.points >= 3 && opts.points <= 5000)) throw new GradflowError(`truncation: --points must be an integer in [3, 5000] (got ${opts.points})`);
  const { X, Y, n } = p.data;
  const probe = layersOf(p.layout, p.theta0);
  const { L, Q } = probe;
  if (p.data.c !== Q || p.data.dIn !== Q) throw new GradflowError(`truncation: input and output must both have width Q = ${Q}`);
  const { labels, K } = labelsFromTargets(Y, n, Q);
  const times = Array.from({ length: opts.points }, (_, k) => (opts.tEnd * k) / (opts.points - 1));
  const tr = solveFlow(p, { tEnd: opts.tEnd, rtol: opts.rtol ?? 1e-10, tEval: times });
  if (!tr.dense) throw new GradflowError('truncation: the flow gave no dense output');
  const dense = tr.dense;
  const betaAt = (t: number): Float64Array[] | null => {
    const c = cumulative(layersOf(p.layout, dense(t)));
    return c.beta.every((b) => b) ? (c.beta as Float64Array[]) : null;
  };
  const samples: TruncationSample[] = [];
  const ownersAt: Int32Array[] = [];
  const dt = opts.tEnd / (opts.points - 1);
  for (let k = 0; k < times.length; k++) {
    const t = times[k];
    const th = tr.states[k];
    const c = cumulative(layersOf(p.layout, th));
    const chain = inputChain(c, X, n);
    const yt = pulledBackTargets(c, Y, n);
    const last = chain.xi[L - 1];
    const beta = c.beta.map((b) => (b ? b : new Float64Array(Q).fill(NaN)));
    const signs = gainSigns(c);
    const own = owners(beta, X, n, Q, signs);
    ownersAt.push(own);
    const truncated = chain.clipped.map((cl) => {
      let m = 0;
      for (let j = 0; j < n; j++) { let any = false; for (let q = 0; q < Q; q++) if (cl[j * Q + q]) any = true; if (any) m++; }
      return m / n;
    });
    const share: number[][] = beta.map(() => new Array(Q).fill(0));
    const target: number[][] = beta.map(() => new Array(Q).fill(0));
    for (let j = 0; j < n; j++) for (let q = 0; q < Q; q++) {
      const o = own[j * Q + q];
      if (o > 0) { share[o - 1][q] += 1 / n; target[o - 1][q] += yt[j * Q + q]; }
    }
    // true threshold velocity by a central difference on the dense output (one-sided at the ends)
    const h = 1e-3 * dt;
    const ta = Math.max(0, t - h), tb = Math.min(opts.tEnd, t + h);
    const ba = betaAt(ta), bb = betaAt(tb);
    const vEff = effectiveThresholdVelocity(beta, X, yt, n, Q, signs);
    let num = 0, den = 0;
    const rate: number[][] = beta.map(() => new Array(Q).fill(NaN));
    for (let l = 0; l < beta.length; l++) for (let q = 0; q < Q; q++) {
      if (!ba || !bb) continue;
      const v = (bb[l][q] - ba[l][q]) / (tb - ta);
      num += (v - vEff[l][q]) ** 2;
      den += vEff[l][q] ** 2;
      if (share[l][q] > 0) {
        const star = target[l][q] / (share[l][q] * n);
        const gap = beta[l][q] - star;
        rate[l][q] = gap !== 0 ? -v / gap : NaN;
      }
    }
    const grad = new Float64Array(th.length);
    p.kernels.lossGrad(th, X, Y, n, grad);
    const layers = layersOf(p.layout, th);
    const vTrue = projectGauge(c, cumulativeVelocity(layers, layersOf(p.layout, grad.map((v) => -v))));
    const gEff = inputCostGradient(c, X, Y, n);
    const gL = projectGauge(c, lossGradientCumulative(c, X, Y, n));
    const negEff = { W: gEff.W.map((w) => w.map((v) => -v)), b: gEff.b.map((b) => b.map((v) => -v)) };
    const effNorm = blockNorm(gEff, L - 1);
    const generalError = effNorm > 0 ? blockDistance(vTrue, negEff, L - 1) / effNorm : null;
    const costError = effNorm > 0 ? blockDistance(gL, gEff, L - 1) / effNorm : null;
    samples.push({
      t, loss: tr.loss[k], inputCost: inputLayerCost(last, yt, n), truncated,
      beta: beta.map((b) => Array.from(b)), rate, share, effectiveError: den > 0 ? Math.sqrt(num / den) : null, generalError, costError,
      misalignment: misalignment(c), collapse: collapseMetrics(last, labels, n, Q, K),
    });
  }
  // plateaus: maximal runs of samples with the same owner pattern
  const plateaus: TruncationPlateau[] = [];
  let start = 0;
  const same = (a: Int32Array, b: Int32Array): boolean => a.every((v, i) => v === b[i]);
  for (let k = 1; k <= samples.length; k++) {
    if (k < samples.length && same(ownersAt[k], ownersAt[start])) continue;
    const seg = samples.slice(start, k);
    // a rate needs interior samples: runs of fewer than 3 sampled times are switching transients
    if (seg.length < 3) { start = k; continue; }
    const Lh = seg[0].share.length;
    for (let l = 0; l < Lh; l++) for (let q = 0; q < Q; q++) {
      if (!(seg[0].share[l][q] > 0)) continue;
      const interior = seg.slice(1, -1);
      plateaus.push({ layer: l + 1, component: q, tStart: seg[0].t, tEnd: seg[seg.length - 1].t, share: seg[0].share[l][q], rate: median(interior.map((s) => s.rate[l][q])) });
    }
    start = k;
  }
  // exponential fit of tr Σ_W over the second half
  const half = samples.slice(Math.floor(samples.length / 2)).filter((s) => s.collapse.withinTrace > 0);
  let collapseRate: number | null = null;
  if (half.length >= 3) {
    const xs = half.map((s) => s.t), ys = half.map((s) => Math.log(s.collapse.withinTrace));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxy = 0, sxx = 0;
    for (let i = 0; i < xs.length; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; }
    const slope = sxy / sxx;
    collapseRate = slope < 0 ? -slope : null;
  }
  return { samples, plateaus, collapseRate, classes: K, L, Q, flowStats: tr.stats };
}
