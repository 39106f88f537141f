/**
 * Gradient flow of the diagonal network f(x) = (u ⊙ v)ᵀx integrated in exact hyperbolic
 * coordinates ψ, for starts where every neuron has u_i > |v_i| (the standard u = √2α, v = 0).
 *
 * ── Why ──────────────────────────────────────────────────────────────────────────────────
 * In (u, v) a neuron that became active (|u| ≈ |v| ~ 1) and must shrink and regrow with the
 * other sign carries its whole state in u − v = c_i/(u + v) ~ α², below one ulp of u once
 * α ≲ 1e-8: the (u, v) integration then has u = v exactly and the neuron never comes back.
 * DESIGN.md asks for log-norm or rescaled coordinates where values span many decades; these
 * are exact, not an approximation.
 *
 * ── Derivation ────────────────────────────────────────────────────────────────────────────
 * With g = ∇_β L (β = u ⊙ v), the flow is u̇_i = −v_i g_i, v̇_i = −u_i g_i. Then
 * d/dt (u_i² − v_i²) = −2u v g + 2v u g = 0: each neuron conserves c_i = u_i² − v_i² (= 2α² at
 * the standard start). For c_i > 0 and u_i > 0 parametrise
 *     u_i = √c_i cosh(ψ_i/2),   v_i = √c_i sinh(ψ_i/2),
 * so u̇ = (√c/2) sinh(ψ/2) ψ̇ = −v g = −√c sinh(ψ/2) g gives, with no approximation,
 *     ψ̇_i = −2 g_i(β),   β_i = u_i v_i = (c_i/2) sinh ψ_i.
 * ψ is O(1) to O(log 1/α) (a neuron reaches norm 1 at |ψ| ≈ 2 log(1/α)), so ordinary relative
 * and absolute tolerances resolve it at any α; shrinking through β = 0 is ψ passing through 0.
 * ψ_i(0) = 2 atanh(v_i/u_i) (0 at the standard start). g = −Xᵀr/n with r = y − Xβ is computed
 * from β directly: going through the compiled ∇_θL and dividing ∂L/∂u_i by v_i would be
 * ill-conditioned (v_i = 0 at the start).
 *
 * The result is an ordinary Trajectory over θ = (u, v) reconstructed from ψ (states, dense
 * output, events all see θ); the loss is computed from β exactly. c_i is constant by
 * construction: reconstructed states satisfy u² − v² = c_i up to rounding of cosh² − sinh².
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { buildTrajectory, type Trajectory } from '../trajectory.ts';
import { integrate } from './ode/index.ts';
import { flowMethod, flowOdeOptions, withProgress, type FlowOptions } from './flow.ts';
import { residualLossGrad } from './sign-lsq.ts';

/** The ψ-coordinate map of one start: c_i = u_i² − v_i² and ψ_i(0). */
export interface PsiCoordinates {
  c: Float64Array;
  psi0: Float64Array;
}

/** Validates that θ0 is a diagonal-model state with u_i > |v_i| for all i, and returns its c and ψ. */
export function psiCoordinates(p: Problem, theta0: Float64Array): PsiCoordinates {
  if (p.model.spec.name !== 'diagonal') throw new GradflowError(`flow (ψ coordinates) applies to the diagonal model only (got '${p.model.spec.name}')`);
  const { H, P, params } = p.layout;
  const iu = params.findIndex((s) => s.name === 'u'), iv = params.findIndex((s) => s.name === 'v');
  if (P !== 2 || iu < 0 || iv < 0) throw new GradflowError('flow (ψ coordinates): expected the diagonal model with scalar parameters u, v per neuron');
  if (p.data.c !== 1 || p.data.dIn !== H) throw new GradflowError(`flow (ψ coordinates): the diagonal model needs one output and d = ${H} input columns (got c = ${p.data.c}, dIn = ${p.data.dIn})`);
  if (theta0.length !== H * P) throw new GradflowError(`flow (ψ coordinates): the start has ${theta0.length} entries, expected ${H * P}`);
  const c = new Float64Array(H), psi0 = new Float64Array(H);
  for (let i = 0; i < H; i++) {
    const u = theta0[i * P + params[iu].offset], v = theta0[i * P + params[iv].offset];
    // (u − v)(u + v) rather than u² − v²: no cancellation, and it stays representable for smaller u
    const ci = (u - v) * (u + v);
    if (!(u > 0) || !(ci > 0) || !Number.isFinite(ci)) throw new GradflowError(`flow (ψ coordinates): neuron ${i} starts at u = ${u}, v = ${v}; the ψ coordinates need u > 0 and u² − v² > 0 (representable) for every neuron — use the (u, v) flow for this start`);
    c[i] = ci;
    psi0[i] = 2 * Math.atanh(v / u);
  }
  return { c, psi0 };
}

export function solveFlowPsi(p: Problem, opts: FlowOptions): Trajectory {
  const { tEnd } = opts;
  const method = flowMethod(opts);
  const { c, psi0 } = psiCoordinates(p, Float64Array.from(opts.theta0 ?? p.theta0));
  const { H, P, params } = p.layout;
  const ou = params.find((s) => s.name === 'u')!.offset, ov = params.find((s) => s.name === 'v')!.offset;
  const sqrtC = c.map(Math.sqrt);
  const rtol = opts.rtol ?? 1e-10;
  // ψ is O(1)…O(log 1/α): an ordinary absolute tolerance, not one tied to α
  const atol = opts.atol ?? rtol * 1e-3;
  const { X, Y, n } = p.data;
  const beta = new Float64Array(H), g = new Float64Array(H);
  const lossAndGrad = (psi: Float64Array): number => {
    for (let i = 0; i < H; i++) beta[i] = 0.5 * c[i] * Math.sinh(psi[i]);
    return residualLossGrad(X, Y, n, H, beta, g);
  };
  const thetaOf = (psi: Float64Array): Float64Array => {
    const th = new Float64Array(H * P);
    for (let i = 0; i < H; i++) {
      th[i * P + ou] = sqrtC[i] * Math.cosh(0.5 * psi[i]);
      th[i * P + ov] = sqrtC[i] * Math.sinh(0.5 * psi[i]);
    }
    return th;
  };
  const rhs = (_t: number, psi: Float64Array, dpsi: Float64Array): void => {
    lossAndGrad(psi);
    for (let i = 0; i < H; i++) dpsi[i] = -2 * g[i];
  };
  const ode = flowOdeOptions(opts, rtol, atol, thetaOf);
  if (opts.untilGradNorm !== undefined) {
    const tol = opts.untilGradNorm;
    // ‖∇_θL‖∞ as solveFlow measures it: ∂L/∂u_i = v_i g_i, ∂L/∂v_i = u_i g_i, g_i = −ψ̇_i/2
    ode.stopWhen = (_t, psi, dpsi) => {
      let m = 0;
      for (let i = 0; i < H; i++) m = Math.max(m, 0.5 * Math.abs(dpsi[i]) * sqrtC[i] * Math.cosh(0.5 * psi[i]));
      return m < tol;
    };
  }
  withProgress(ode, opts.onProgress, tEnd);
  const sol = integrate(method, rhs, 0, psi0, tEnd, ode);
  opts.onProgress?.(1);
  return buildTrajectory(p, `flow:psi-${method}`, sol.t, sol.y.map(thetaOf), {
    loss: sol.y.map(lossAndGrad),
    events: sol.events.map((e) => ({ name: e.name, t: e.t, state: thetaOf(e.y) })),
    dense: ode.dense ? (t) => thetaOf(sol.dense(t)) : undefined,
    stats: { steps: sol.stats.steps, rejected: sol.stats.rejected, fevals: sol.stats.fevals, rtol, atol, tEnd: sol.tEnd, coordinates: 'psi: u = sqrt(c) cosh(psi/2), v = sqrt(c) sinh(psi/2), c = u^2 - v^2' },
    status: sol.status,
  });
}
