/**
 * Jump detection in simulated trajectories (flow, gradient descent, momentum), returning the
 * same JumpSchedule shape as the predictions so that compare.ts can match them.
 *
 * The rule (documented here, used everywhere):
 * 1. When. The loss is non-increasing along a flow (and along descent with a small step), so a
 *    jump from plateau level ℓ_{k−1} to ℓ_k is timed by the first crossing, after the previous
 *    jump, of the geometric midpoint m_k = sqrt(ℓ_{k−1}·max(ℓ_k, 1e-4·ℓ_{k−1})). The floor
 *    makes a final drop to zero loss land two decades below ℓ_{k−1} instead of never.
 *    - With a predicted schedule the levels are its plateaus (theory.md's conjecture: plateau
 *      losses equal the AGF loss levels), one detected jump per predicted jump.
 *    - Without one, drops are found on the log-loss: a drop is a maximal stretch where
 *      −d log L/dt exceeds the run's mean rate (log L clamped at 1e-8·L(0) so the final
 *      exponential decay does not set the mean). Plateaus of length O(log 1/α) sit far below
 *      that rate and drops of length O(1) far above it once α is small. The levels are the loss
 *      at the stretch's ends.
 *    Crossings are located on the dense output when the trajectory has one (bisection on
 *    log-loss), else by log-linear interpolation between stored points — for descent, the
 *    recording interval bounds the resolution.
 * 2. Which neuron. At the jump time the arriving neuron is the one whose squared norm ‖θ_i‖²
 *    grows fastest (central difference), among neurons not active at that time: it is
 *    mid-way from α-scale to its O(1) plateau size, while dormant neurons are still tiny and
 *    active ones only refit. (Option arrival: 'growth' — the largest growth of ‖θ_i‖² since the
 *    previous jump — for heavy-ball runs, whose arriving neuron rings.)
 * 3. Deactivation. Neuron i is active from its jump until ‖θ_i‖ falls below
 *    ρ_c,i = max(sqrt(‖θ_i(0)‖), 1e-3), the geometric mean of its α-scale start and the O(1)
 *    scale floored above integrator drift (the AGF solver's collapse level); that downward crossing is attached to the last jump
 *    before it (AGF attributes it to the jump that caused it).
 *    sign: the sign of the product of a scalar-parameter neuron's parameters (the diagonal
 *    model's sign β_i) at the jump; lossAfter: the simulated loss half-way (in time) to the next
 *    jump (the plateau it settles on), or the final loss.
 */
import type { Problem } from '../problem.ts';
import type { Jump, JumpSchedule } from '../schedule.ts';
import type { Trajectory } from '../trajectory.ts';
import { AGF_COLLAPSE_FLOOR, agfTimeScale, neuronSign } from '../solvers/agf.ts';

export interface DetectOptions {
  /** Predicted schedule whose plateau levels time the jumps (rule 2). */
  predicted?: JumpSchedule;
  /** Activation level per neuron (default sqrt(‖θ_i(0)‖)). */
  levels?: Float64Array;
  /** Method name for the result (default: the trajectory's, 'flow:dopri5' → 'flow'). */
  method?: string;
  /**
   * How rule 2 picks the arriving neuron: 'rate' (default) the fastest-growing ‖θ_i‖² at the jump
   * time; 'growth' the largest growth of ‖θ_i‖² since the previous jump (since the start for the
   * first). Heavy-ball runs need 'growth': the arriving neuron rings (its ‖θ_i‖² swings down as
   * well as up for ~1/(1 − √m) steps), so at the jump time its instantaneous rate can be below a
   * dormant neuron's tiny one, while its growth since the last jump (α-scale to O(1)) is not.
   */
  arrival?: 'rate' | 'growth';
}

function neuronNorm(state: Float64Array, i: number, P: number): number {
  let s = 0;
  for (let a = 0; a < P; a++) s += state[i * P + a] ** 2;
  return Math.sqrt(s);
}

/** Time where f (given at stored points, continuous in between) crosses zero in [t[k−1], t[k]]. */
function locate(tr: Trajectory, k: number, f: (s: Float64Array) => number): number {
  const ta = tr.t[k - 1], tb = tr.t[k];
  const fa = f(tr.states[k - 1]), fb = f(tr.states[k]);
  if (tr.dense) {
    let lo = ta, hi = tb, flo = fa;
    for (let it = 0; it < 80 && hi - lo > 1e-13 * Math.max(1, Math.abs(hi)); it++) {
      const mid = 0.5 * (lo + hi);
      const fm = f(tr.dense(mid));
      if (Math.sign(fm) === Math.sign(flo) && fm !== 0) {
        lo = mid;
        flo = fm;
      } else hi = mid;
    }
    return 0.5 * (lo + hi);
  }
  return fa === fb ? tb : ta + ((tb - ta) * fa) / (fa - fb);
}

/** Drop stretches of a loss curve: maximal runs where −d log L/dt exceeds the mean rate. */
export function dropIntervals(t: number[], loss: number[]): { a: number; b: number }[] {
  const L0 = loss[0];
  const floor = 1e-8 * L0;
  const ell = loss.map((x) => Math.log(Math.max(x, floor)));
  const T = t[t.length - 1] - t[0];
  if (!(T > 0) || !(L0 > 0)) return [];
  const mean = (ell[0] - ell[ell.length - 1]) / T;
  if (!(mean > 0)) return [];
  const out: { a: number; b: number }[] = [];
  let open = -1;
  for (let k = 1; k < t.length; k++) {
    const rate = t[k] > t[k - 1] ? (ell[k - 1] - ell[k]) / (t[k] - t[k - 1]) : 0;
    if (rate > mean) {
      if (open < 0) open = k - 1;
    } else if (open >= 0) {
      out.push({ a: open, b: k - 1 });
      open = -1;
    }
  }
  if (open >= 0) out.push({ a: open, b: t.length - 1 });
  return out;
}

export function detectJumps(p: Problem, tr: Trajectory, opts: DetectOptions = {}): JumpSchedule {
  const { H, P } = p.layout;
  const nT = tr.t.length;
  const theta0 = tr.states[0];
  const level = opts.levels ?? Float64Array.from({ length: H }, (_, i) => Math.max(Math.sqrt(neuronNorm(theta0, i, P)), AGF_COLLAPSE_FLOOR));
  const lossAt = (s: Float64Array): number => p.kernels.loss(s, p.data.X, p.data.Y, p.data.n);
  const stateAt = (time: number): Float64Array => {
    if (tr.dense) return tr.dense(Math.min(Math.max(time, tr.t[0]), tr.t[nT - 1]));
    let k = 0;
    while (k + 1 < nT && tr.t[k + 1] <= time) k++;
    if (k + 1 >= nT) return tr.states[nT - 1];
    const w = (time - tr.t[k]) / (tr.t[k + 1] - tr.t[k]);
    const a = tr.states[k], b = tr.states[k + 1];
    return a.map((x, q) => x + w * (b[q] - x));
  };
  const lossAtTime = (time: number): number => lossAt(stateAt(time));

  // deactivation crossings (downward through the activation level)
  const downs: { t: number; neuron: number }[] = [];
  for (let i = 0; i < H; i++) {
    if (!(level[i] > 0)) continue;
    const f = (s: Float64Array): number => Math.log(neuronNorm(s, i, P) / level[i]);
    let prev = f(tr.states[0]);
    for (let k = 1; k < nT; k++) {
      const cur = f(tr.states[k]);
      if (prev >= 0 && cur < 0) downs.push({ t: locate(tr, k, f), neuron: i });
      prev = cur;
    }
  }

  // 1. jump times from loss-level midpoints
  const targets: { mid: number; after: number }[] = [];
  if (opts.predicted) {
    let before = opts.predicted.initialLoss;
    for (const j of opts.predicted.jumps) {
      targets.push({ mid: Math.sqrt(before * Math.max(j.lossAfter, 1e-4 * before)), after: j.lossAfter });
      before = j.lossAfter;
    }
  } else {
    for (const { a, b } of dropIntervals(tr.t, tr.loss)) {
      const before = tr.loss[a], after = tr.loss[b];
      targets.push({ mid: Math.sqrt(before * Math.max(after, 1e-4 * before)), after });
    }
  }
  const times: number[] = [];
  let k0 = 1;
  for (const { mid } of targets) {
    const g = (s: Float64Array): number => Math.log(lossAt(s) / mid);
    let found = NaN;
    for (let k = k0; k < nT; k++) {
      if (tr.loss[k] <= mid && tr.loss[k - 1] > mid) {
        found = locate(tr, k, g);
        k0 = k;
        break;
      }
      // already below (overlapping drops): the same time as the previous jump
      if (tr.loss[k - 1] <= mid) {
        found = times.length ? times[times.length - 1] : tr.t[k - 1];
        break;
      }
    }
    if (!Number.isFinite(found)) break; // the simulation never got there
    times.push(found);
  }

  // 2. the arriving neuron: fastest-growing ‖θ_i‖² among the inactive ones
  const active = new Uint8Array(H);
  const jumps: Jump[] = [];
  const span = tr.t[nT - 1] - tr.t[0];
  for (let q = 0; q < times.length; q++) {
    const t = times[q];
    for (const d of downs) if (d.t <= t && active[d.neuron]) active[d.neuron] = 0;
    const h = Math.max(1e-6 * span, tr.dense ? 1e-3 : 0.5 * (tr.t[Math.min(nT - 1, 1)] - tr.t[0]));
    const s = stateAt(t);
    const growth = opts.arrival === 'growth';
    // growth: from the last earlier jump (jumps at the same time share one stretch of growth)
    let from = tr.t[0];
    for (let r = q - 1; r >= 0; r--) if (times[r] < t) { from = times[r]; break; }
    const sa = growth ? stateAt(from) : stateAt(t - h), sb = growth ? s : stateAt(t + h);
    let best = -1, bestRate = -Infinity;
    for (let i = 0; i < H; i++) {
      if (active[i]) continue;
      const rate = neuronNorm(sb, i, P) ** 2 - neuronNorm(sa, i, P) ** 2;
      if (rate > bestRate) {
        bestRate = rate;
        best = i;
      }
    }
    if (best < 0) break;
    active[best] = 1;
    const sign = neuronSign(p, s, best);
    // the plateau it settles on: half-way (in time) to the next jump — plateaus last O(log 1/α), drops O(1)
    const next = times[q + 1];
    const lossAfter = next === undefined ? tr.loss[nT - 1] : lossAtTime(0.5 * (t + next));
    jumps.push({ time: t, rescaledTime: NaN, neuron: best, sign, lossAfter, deactivated: [] });
  }
  // 3. deactivations belong to the last jump before them
  for (const d of downs) {
    let k = -1;
    for (let q = 0; q < jumps.length; q++) if (jumps[q].time <= d.t) k = q;
    if (k >= 0) jumps[k].deactivated.push(d.neuron);
  }
  const kappa = p.derived.kappa ?? 2;
  for (const j of jumps) j.rescaledTime = j.time / agfTimeScale(kappa, p.alpha);
  const method = opts.method ?? tr.method.replace(/^flow:.*/, 'flow');
  return {
    model: p.model.spec.name,
    method,
    conventions: { ...tr.conventions, time: `${tr.conventions.time}; rescaledTime = time / ${kappa === 2 ? 'log(1/alpha)' : `((alpha^(2−κ) − 1)/(κ − 2)), κ = ${kappa}`}` },
    initialLoss: tr.loss[0],
    jumps,
    extra: {
      rule: 'time: loss crosses the geometric midpoint of consecutive plateau levels; neuron: fastest-growing ‖θ_i‖² among inactive neurons; deactivation: ‖θ_i‖ falls below max(sqrt(‖θ_i(0)‖), 1e-3)',
      levelsFrom: opts.predicted ? `predicted (${opts.predicted.method})` : 'simulated (drop stretches of log-loss)',
      deactivations: downs,
      finalLoss: tr.loss[nT - 1],
    },
  };
}
