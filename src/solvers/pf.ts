/**
 * Pesme–Flammarion algorithm (theory.md §4): the α → 0 limit of gradient flow on the diagonal
 * network f(x) = (u ⊙ v)ᵀx, in rescaled time t̃ = t / log(1/α), for the (1/2n) loss.
 *
 * State: β and s ∈ [−1, 1]^d, where s_i = (accumulated −∫∂L/∂β_i dt̃) clipped at ±1 (s_i = ψ_i / (2 log 1/α)
 * in the notation of agf-diagonal.ts). Each step advances t̃ until the next |s_i| reaches 1,
 * then refits β by sign-constrained least squares (sign-lsq.ts): coordinates with s_i = ±1 may
 * be non-zero with that sign, the others are pinned at 0.
 *
 * Times: the gradient used is that of the (1/2n) loss; with the unnormalised gradient −Xᵀr
 * the times would be n× smaller (theory.md §4). `rescaledTime` is the primary output; `time`
 * is rescaledTime·log(1/α) for the Problem's α — the leading-order flow time at that α — so
 * that PF sits in the same columns as agf / flow / gd (its O(1) flow-time corrections are not
 * modelled, by construction).
 */
import type { Problem } from '../problem.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';
import { diagonalData, type DiagonalData } from './diagonal-data.ts';
import { residualLossGrad, signLsq, type SignConstraint } from './sign-lsq.ts';

export interface PfOptions {
  /** Stop when ‖∇L(β)‖∞ ≤ gradTol·‖∇L(0)‖∞ (default 1e-9). Gradient entries below this are treated as 0. */
  gradTol?: number;
  /** Maximum number of steps (default 10·d + 50). */
  maxIter?: number;
}

export interface PfRun {
  initialLoss: number;
  jumps: Jump[];
  /** β after each jump. */
  betas: Float64Array[];
  /** s after each jump. */
  s: Float64Array[];
  /** 'converged' (∇L = 0 to tolerance) or 'max-iterations'. */
  status: string;
  finalGradNorm: number;
}

export function pfRun(data: DiagonalData, opts: PfOptions = {}): PfRun {
  const { X, y, n, d, alpha } = data;
  const logInv = Math.log(1 / alpha);
  const g = new Float64Array(d);
  let beta: Float64Array = new Float64Array(d);
  const s = new Float64Array(d);
  const initialLoss = residualLossGrad(X, y, n, d, beta, g);
  let g0 = 0;
  for (let i = 0; i < d; i++) g0 = Math.max(g0, Math.abs(g[i]));
  const tolG = (opts.gradTol ?? 1e-9) * g0;
  const maxIter = opts.maxIter ?? 10 * d + 50;
  const jumps: Jump[] = [];
  const betas: Float64Array[] = [];
  const ss: Float64Array[] = [];
  let tt = 0;
  let status = 'max-iterations';
  let gmax = g0;
  for (let it = 0; it < maxIter; it++) {
    gmax = 0;
    for (let i = 0; i < d; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax <= tolG) { status = 'converged'; break; }
    // next coordinate to reach ±1: s_i moves at speed −g_i towards T_i = −sign(g_i)
    let delta = Infinity, k = -1;
    for (let i = 0; i < d; i++) {
      if (Math.abs(g[i]) <= tolG) continue;
      const target = -Math.sign(g[i]);
      if (s[i] === target) continue; // already clipped in the direction it is pushed (KKT says this is round-off)
      const di = Math.abs(target - s[i]) / Math.abs(g[i]);
      if (di < delta) { delta = di; k = i; }
    }
    if (k < 0) { status = 'converged'; break; }
    tt += delta;
    for (let i = 0; i < d; i++) {
      if (Math.abs(g[i]) <= tolG) continue;
      s[i] = Math.min(1, Math.max(-1, s[i] - delta * g[i]));
    }
    s[k] = -Math.sign(g[k]);
    const constraints: SignConstraint[] = Array.from(s, (si) => (si === 1 ? 1 : si === -1 ? -1 : 0));
    const sol = signLsq({ X, y, n, d, constraints }, { warmStart: beta });
    const deactivated: number[] = [];
    for (let i = 0; i < d; i++) if (i !== k && beta[i] !== 0 && sol.beta[i] === 0) deactivated.push(i);
    beta = sol.beta;
    g.set(sol.gradient);
    jumps.push({
      time: tt * logInv,
      rescaledTime: tt,
      neuron: k,
      sign: Math.sign(beta[k]) || s[k],
      lossAfter: sol.loss,
      deactivated,
    });
    betas.push(Float64Array.from(beta));
    ss.push(Float64Array.from(s));
  }
  if (status === 'max-iterations') {
    gmax = 0;
    for (let i = 0; i < d; i++) gmax = Math.max(gmax, Math.abs(g[i]));
    if (gmax <= tolG) status = 'converged';
  }
  return { initialLoss, jumps, betas, s: ss, status, finalGradNorm: gmax };
}

/** The PF schedule of a diagonal-model Problem (method 'pf'). */
export function solvePf(p: Problem, opts: PfOptions = {}): JumpSchedule {
  const data = diagonalData(p, 'pf');
  const run = pfRun(data, opts);
  return {
    model: p.model.spec.name,
    method: 'pf',
    conventions: { ...p.conventions, time: 'rescaled time t/log(1/alpha) (alpha → 0 limit); jump.time = rescaledTime·log(1/alpha) at this alpha' },
    initialLoss: run.initialLoss,
    jumps: run.jumps,
    extra: {
      status: run.status,
      finalGradNorm: run.finalGradNorm,
      beta: Array.from(run.betas.at(-1) ?? new Float64Array(data.d)),
      supportAfter: run.betas.map((b) => Array.from(b).flatMap((v, i) => (v !== 0 ? [i] : []))),
    },
  };
}
