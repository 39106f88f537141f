/**
 * AGF in closed form for two-layer linear networks and symmetric matrix factorisation
 * (theory.md §5). Everything is a function of the population moments.
 *
 * Units (derived here, not assumed). For f_i = a_i w_iᵀx the utility at residual correlation
 * G = Σ_yx − B Σ_xx is U_i = a_iᵀ G w_i; on the unit sphere ‖a‖² + ‖w‖² = 1 its maximum is σ_1(G)/2
 * (a = u/√2, w = v/√2). AGF's dormant law (κ = 2) d‖θ_i‖/dt = 2‖θ_i‖Û_i then gives
 * ‖θ_i(t)‖ = ‖θ_i(0)‖ e^{σ_1 t}: each FACTOR grows at rate σ (the product u = a·w grows at 2σ, the
 * Saxe rate u̇ ≈ 2su). A neuron activates when its accumulated σ·t reaches log(1/‖θ_i(0)‖). With
 * ‖a_i(0)‖, ‖w_i(0)‖ ~ alpha (the init convention of models/linear.ts) the threshold is
 * log(1/alpha) + O(1), so in rescaled time t / log(1/alpha) the commuting-case jump k sits at
 * 1/σ_k(Σ_yx) as alpha → 0, measured from t = 0 (all modes grow in parallel from the start).
 * If alpha denoted the scale of the PRODUCT A W (entries ~alpha), the same jumps would sit at
 * 1/(2σ_k): the statement "τ_k = 1/σ_k" holds with alpha the per-factor (per-layer) scale.
 * Symmetric factorisation f_i = u_i u_iᵀx: U_i = u_iᵀ sym(G) u_i, max λ_1 on the unit sphere, so
 * ‖u_i‖ grows at 2λ_1 and the jumps sit at 1/(2λ_k) (Σ_xx = I).
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { moments } from '../data.ts';
import { makeMoments, explainedCovariance, type PopulationMoments } from '../moments.ts';
import { frobenius, matmul, svd, symEig, trace, transpose } from '../util/dense.ts';
import { maxAbsDiffFromIdentity } from '../util/linalg.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';

export type LinearForm = 'asymmetric' | 'symmetric';
export type LinearVariant = 'commuting' | 'conjecture' | 'symmetric';

export interface LinearPrediction {
  variant: LinearVariant;
  /** Rescaled jump times t_k / log(1/alpha), k = 1..K. */
  rescaledTimes: number[];
  /** Rescaled increments Δ_k = τ_k − τ_{k−1}. */
  increments: number[];
  /** Loss on the plateau after jump k (mean convention). */
  levels: number[];
  /** Loss at the origin, ½ tr Σ_yy. */
  initialLoss: number;
  /** Singular values of Σ_yx (or eigenvalues of sym Σ_yx for the symmetric form), decreasing. */
  sigma: number[];
  /** Loss drop of each learned mode, in learning order. */
  drops: number[];
  /** Loss that no linear map removes: ½(tr Σ_yy − Σ_j μ_j). */
  constant: number;
  /** ‖Σ_xx GᵀG − GᵀG Σ_xx‖_F / (‖Σ_xx‖_F ‖GᵀG‖_F) with G = Σ_yx: 0 in the commuting case. */
  commutator: number;
}

/** Which linear form a problem's model is (null: not one this module handles). */
export function linearForm(p: Problem): LinearForm | null {
  const t = p.model.spec.template.replace(/\s+/g, '');
  const params = p.layout.params;
  if (t === 'a*dot(w,x)' && params.length === 2 && params[0].shape.length === 1 && params[1].shape.length === 1) return 'asymmetric';
  if (t === 'u*dot(u,x)' && params.length === 1 && params[0].shape.length === 1) return 'symmetric';
  return null;
}

export function momentsOfProblem(p: Problem): PopulationMoments {
  const { Sxx, Syx, Syy } = moments(p.data);
  return makeMoments(Sxx, Syx, Syy, p.data.dIn, p.data.c, p.data.source);
}

/** Relative commutator of Σ_xx with Σ_yxᵀΣ_yx. */
export function commutator(m: PopulationMoments): number {
  const { d, c } = m;
  const GtG = matmul(transpose(m.Syx, c, d), m.Syx, d, c, d);
  const AB = matmul(m.Sxx, GtG, d, d, d);
  const BA = matmul(GtG, m.Sxx, d, d, d);
  let s = 0;
  for (let k = 0; k < AB.length; k++) s += (AB[k] - BA[k]) ** 2;
  const scale = frobenius(m.Sxx) * frobenius(GtG);
  return scale > 0 ? Math.sqrt(s) / scale : 0;
}

/** Modes below this fraction of the top one are treated as zero (never learned). */
const RANK_TOL = 1e-10;

function levelsFrom(initialLoss: number, drops: number[]): number[] {
  const out: number[] = [];
  let l = initialLoss;
  for (const mu of drops) {
    l -= 0.5 * mu;
    out.push(l);
  }
  return out;
}

/**
 * Commuting case: jump k at rescaled time 1/σ_k(Σ_yx), measured from 0; the mode learned is
 * (u_k, v_k) and it removes μ_k = σ_k²/λ_k from 2L, λ_k = v_kᵀΣ_xx v_k. Learning follows σ, not μ:
 * when Σ_xx ≠ I the two orders can differ, so ℓ_k = ½(tr Σ_yy − Σ_{j≤k} μ_j) with μ taken in σ order
 * (theory.md's "½ Σ_{j>k} μ_j + constant" is this when the orders agree).
 */
export function commutingPrediction(m: PopulationMoments): LinearPrediction {
  const { s, v } = svd(m.Syx, m.c, m.d);
  const K = s.filter((x) => x > RANK_TOL * s[0]).length;
  const sigma = s.slice(0, K);
  const drops = sigma.map((x, k) => {
    const Sv = matmul(m.Sxx, v[k], m.d, m.d, 1);
    const lam = v[k].reduce((acc, q, j) => acc + q * Sv[j], 0);
    return (x * x) / lam;
  });
  const times = sigma.map((x) => 1 / x);
  const initialLoss = 0.5 * trace(m.Syy, m.c);
  const total = symEig(explainedCovariance(m), m.c).values.reduce((a, b) => a + Math.max(b, 0), 0);
  return {
    variant: 'commuting',
    rescaledTimes: times,
    increments: times.map((t, k) => t - (k > 0 ? times[k - 1] : 0)),
    levels: levelsFrom(initialLoss, drops),
    initialLoss,
    sigma: s,
    drops,
    constant: initialLoss - 0.5 * total,
    commutator: commutator(m),
  };
}

/** P⊥_U M for U a list of orthonormal c-vectors and M c×d. */
function projectOut(M: Float64Array, U: Float64Array[], c: number, d: number): Float64Array {
  const R = Float64Array.from(M);
  for (const u of U) {
    const uM = matmul(u, R, 1, c, d);
    for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) R[i * d + j] -= u[i] * uM[j];
  }
  return R;
}

/**
 * The published conjecture (theory.md §5): saddles β_k = P_{U_k} Σ_yx Σ_xx⁻¹ with U_k the top-k
 * eigenvectors of Σ_yx Σ_xx⁻¹ Σ_xy; increments solve Σ_{i=0}^{k−1} σ_{i,k−1−i} Δ_{i+1} = 1 with
 * σ_{i,j} the j-th (0-based) singular value of P⊥_{U_i} Σ_yx. A Δ_k ≤ 0 (the k-th mode would have
 * crossed its threshold before the (k−1)-th saddle) is kept as computed and flagged by the caller.
 */
export function conjecturePrediction(m: PopulationMoments): LinearPrediction {
  const { c, d } = m;
  const E = symEig(explainedCovariance(m), c);
  const K = E.values.filter((x) => x > RANK_TOL * E.values[0]).length;
  const sig: number[][] = [];
  for (let i = 0; i < K; i++) sig.push(svd(projectOut(m.Syx, E.vectors.slice(0, i), c, d), c, d).s);
  const inc: number[] = [];
  for (let k = 1; k <= K; k++) {
    let acc = 0;
    for (let i = 0; i <= k - 2; i++) acc += (sig[i][k - 1 - i] ?? 0) * inc[i];
    inc.push((1 - acc) / sig[k - 1][0]);
  }
  const times: number[] = [];
  inc.forEach((x, k) => times.push((k > 0 ? times[k - 1] : 0) + x));
  const initialLoss = 0.5 * trace(m.Syy, c);
  const drops = E.values.slice(0, K);
  return {
    variant: 'conjecture',
    rescaledTimes: times,
    increments: inc,
    levels: levelsFrom(initialLoss, drops),
    initialLoss,
    sigma: svd(m.Syx, c, d).s,
    drops,
    constant: initialLoss - 0.5 * drops.reduce((a, b) => a + b, 0),
    commutator: commutator(m),
  };
}

/** Symmetric factorisation with Σ_xx = I: jumps at 1/(2λ_k) for the positive eigenvalues of sym Σ_yx, drops λ_k². */
export function symmetricPrediction(m: PopulationMoments): LinearPrediction {
  const { d, c } = m;
  if (c !== d) throw new GradflowError(`symmetric factorisation needs as many outputs as inputs (c = ${c}, d = ${d})`);
  const dev = maxAbsDiffFromIdentity(m.Sxx, d);
  if (dev > 1e-9) throw new GradflowError(`the symmetric-factorisation prediction needs Σ_xx = I (max |Σ_xx − I| = ${dev.toExponential(2)})`);
  const S = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) S[i * d + j] = 0.5 * (m.Syx[i * d + j] + m.Syx[j * d + i]);
  const lam = symEig(S, d).values;
  const top = Math.max(lam[0], 0);
  const pos = lam.filter((x) => x > RANK_TOL * top);
  const times = pos.map((x) => 1 / (2 * x));
  const drops = pos.map((x) => x * x);
  const initialLoss = 0.5 * trace(m.Syy, c);
  return {
    variant: 'symmetric',
    rescaledTimes: times,
    increments: times.map((t, k) => t - (k > 0 ? times[k - 1] : 0)),
    levels: levelsFrom(initialLoss, drops),
    initialLoss,
    sigma: lam,
    drops,
    constant: initialLoss - 0.5 * drops.reduce((a, b) => a + b, 0),
    commutator: commutator(m),
  };
}

export interface LinearAgfOptions {
  /** auto: commuting when the commutator is below commuteTol, else the conjecture. */
  variant?: 'auto' | 'commuting' | 'conjecture';
  commuteTol?: number;
}

export function predictLinear(p: Problem, opts: LinearAgfOptions = {}): LinearPrediction {
  const form = linearForm(p);
  if (!form) throw new GradflowError(`agf-linear: model '${p.model.spec.name}' is not a two-layer linear network (template a * dot(w, x)) or a symmetric factorisation (u * dot(u, x))`);
  const m = momentsOfProblem(p);
  if (form === 'symmetric') return symmetricPrediction(m);
  const variant = opts.variant ?? 'auto';
  if (variant === 'conjecture') return conjecturePrediction(m);
  const comm = commutator(m);
  const tol = opts.commuteTol ?? 1e-9;
  if (variant === 'commuting') {
    if (comm > tol) throw new GradflowError(`agf-linear: Σ_xx does not commute with Σ_yxᵀΣ_yx (relative commutator ${comm.toExponential(2)}); use the conjecture variant (--variant conjecture)`);
    return commutingPrediction(m);
  }
  return comm <= tol ? commutingPrediction(m) : conjecturePrediction(m);
}

/** The prediction as a JumpSchedule (flow time = rescaled time · log(1/alpha)); jump k's "neuron" is mode k − 1. */
export function predictionSchedule(p: Problem, pred: LinearPrediction): JumpSchedule {
  const L = Math.log(1 / p.alpha);
  const jumps: Jump[] = pred.rescaledTimes.map((r, k) => ({
    time: r * L,
    rescaledTime: r,
    neuron: k,
    sign: 1,
    lossAfter: pred.levels[k],
    deactivated: [],
  }));
  return {
    model: p.model.spec.name,
    method: `agf-linear:${pred.variant}`,
    conventions: { ...p.conventions, time: 'flow time (rescaledTime = t / log(1/alpha), alpha = per-factor init scale)' },
    initialLoss: pred.initialLoss,
    jumps,
    extra: {
      note: 'hidden units of a linear network are interchangeable under rotations; jump k is labelled by the mode index k − 1',
      increments: pred.increments,
      sigma: pred.sigma,
      drops: pred.drops,
      constantLoss: pred.constant,
      commutator: pred.commutator,
      negativeIncrements: pred.increments.map((x, k) => (x <= 0 ? k : -1)).filter((k) => k >= 0),
    },
  };
}

export function agfLinear(p: Problem, opts: LinearAgfOptions = {}): JumpSchedule {
  return predictionSchedule(p, predictLinear(p, opts));
}
