/**
 * ReLU AGF's cost minimisation (agf/relu-fit.ts: the masked relu flow, then Newton in its
 * pattern) and the dormant state of a collapsed unit (cones.ts, collapsedDormantState), against
 * the true flow (relu-flow.ts, all units, from the problem's θ(0)) and a by-hand cone matrix.
 *
 * Setting: `relu` on the default cluster data (3 Gaussian clusters in d = 2, 3 classes, n = 12,
 * y = −1, 0, 1; 6 units with bias). Loss (1/2n)Σ(y − f)², flow time, initial entries α·N(0, 1).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { relu } from '../models/relu.ts';
import { createProblem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveReluFlow } from '../src/solvers/relu-flow.ts';
import { collapsedDormantState } from '../src/solvers/cones.ts';
import { expectBadInput } from './helpers/cli.ts';
import { rescalingSymmetries } from '../src/solvers/agf/rescaling.ts';
import type { ModelDefinition, ModelSpec } from '../src/spec.ts';

/** The true flow's loss after tEnd flow-time units (no dense output: long runs). */
function flowLoss(alpha: number, seed: number, tEnd: number): number {
  const p = createProblem(relu, { alpha, seed });
  const f = solveReluFlow(p, { tEnd, rtol: 1e-10, dense: false, saveSteps: false });
  return f.loss[f.loss.length - 1];
}

describe('ReLU AGF fits where the flow fits (default cluster data)', () => {
  it('seed 2: the level after jump 2 is the flow\'s plateau, 6.94199e-2, at α = 1e-8 and 1e-12 (L-BFGS gave 7.03e-2 or 1.03e-1 depending on α)', () => {
    const levels = [1e-8, 1e-12].map((alpha) => {
      const a = solveAgf(createProblem(relu, { alpha, seed: 2 }));
      expect(a.jumps.length).toBe(2);
      return a.jumps[1].lossAfter;
    });
    // the true flow at α = 1e-8 has converged by t = 2500 (its loss falls 3e-8 between 1000 and 2500)
    const flow = flowLoss(1e-8, 2, 2500);
    console.log(`relu seed 2: AGF level after jump 2 ${levels.map((l) => l.toPrecision(10)).join(', ')} (α = 1e-8, 1e-12); true flow at α = 1e-8, t = 2500: ${flow.toPrecision(10)}`);
    for (const l of levels) expect(Math.abs(l - flow)).toBeLessThanOrEqual(1e-6 * flow);
    expect(Math.abs(levels[0] - levels[1])).toBeLessThanOrEqual(1e-9 * flow);
  }, 300_000);

  // Not met at α = 1e-4 (and 1e-3; measured, not run here: one AGF run takes minutes): AGF gives
  // 7.0217e-2, a Filippov-stationary point its masked flow creeps to (24,000 flow-time units, a
  // kink whose sliding weight → 1; Newton there: field 1.7e-16), while the true flow at α = 1e-4 and
  // 1e-3 reaches 6.9423e-2 by t = 800. AGF's first fit needs 192 flow-time units to settle and the
  // second unit arrives 6.7 units after the first (12 at α = 1e-8): the flow's second fit starts
  // before its first has finished, AGF's after, and this seed's second fit sits near a basin boundary.

  it('seed 1, α = 1e-8: two jumps and the flow\'s final level 9.283222e-3; no unit collapses and none returns (the flow has no third jump by t = 25000; the old fit collapsed unit 3 and brought it back at t = 20535)', () => {
    const a = solveAgf(createProblem(relu, { alpha: 1e-8, seed: 1 }));
    expect(a.jumps.length).toBe(2);
    expect(a.extra!.status).toBe('no-positive-utility');
    expect(a.jumps.every((j) => j.deactivated.length === 0)).toBe(true);
    // the flow creeps on (5.4e-9 between t = 2500 and 25000) but has no jump: the old engine's third one dropped the loss by 2 %
    const early = flowLoss(1e-8, 1, 2500), late = flowLoss(1e-8, 1, 25000);
    expect(Math.abs(late - early)).toBeLessThanOrEqual(1e-5 * late);
    expect(Math.abs(a.jumps[1].lossAfter - late)).toBeLessThanOrEqual(1e-6 * late);
  }, 300_000);
});

describe('collapsedDormantState: the growing component of a collapsed unit from a² − ‖w‖² − b² = Q', () => {
  // By hand: on a cone S (samples with wᵀx_j + b > 0) the dormant field is θ̇ = Mθ with
  // M = [[0, vᵀ], [v, 0]], v = (1/n) Σ_{j∈S} r_j (x_j, 1), eigenvalues ±‖v‖, eigenvectors e± = (1, ±v̂)/√2
  // and 0 on (0, u⊥), u⊥ ⟂ v. θ = c₊e₊ + c₋e₋ + (0, u⊥) has a² − ‖u‖² = 2c₊c₋ − ‖u⊥‖².
  const p = createProblem(relu, { alpha: 1e-12, seed: 0 });
  const { X, Y, n } = p.data;
  const r = Y; // the residual before any unit is active
  const vOf = (u: number[]): number[] => {
    const v = [0, 0, 0];
    for (let j = 0; j < n; j++) if (u[0] * X[2 * j] + u[1] * X[2 * j + 1] + u[2] > 0) { v[0] += (r[j] * X[2 * j]) / n; v[1] += (r[j] * X[2 * j + 1]) / n; v[2] += r[j] / n; }
    return v;
  };
  // a self-consistent cone: u ∝ v̂ of its own pattern; with c₋ < 0 dominant (a < 0, u ∝ +v̂) θ shrinks along e₋ on it
  let u = [0.3, -0.8, 0.2];
  for (let it = 0; it < 20; it++) { const w = vOf(u); const m = Math.hypot(...w); u = w.map((x) => x / m); }
  const v = vOf(u), nv = Math.hypot(...v), vh = v.map((x) => x / nv);
  const perp = [vh[1], -vh[0], 0].map((x) => x / Math.hypot(vh[1], vh[0]));
  const S = Float64Array.from([1, -1, -1, -1]);

  for (const [Q, du] of [[1e-24, 1e-12], [-5e-20, 0], [1e-16, 1e-9]] as [number, number][]) {
    it(`Q = ${Q}, ‖u⊥‖ = ${du}: the growing coordinate c₊ = (Q + ‖u⊥‖²)/(2c₋), far below the float vector's round-off`, () => {
      const cm = -1e-3;
      const cp = (Q + du * du) / (2 * cm);
      const s2 = Math.SQRT1_2;
      const theta = Float64Array.from([s2 * (cp + cm), ...vh.map((x, k) => s2 * (cp - cm) * x + du * perp[k])]);
      for (let j = 0; j < n; j++) expect(Math.sign(theta[1] * X[2 * j] + theta[2] * X[2 * j + 1] + theta[3])).toBe(Math.sign(u[0] * X[2 * j] + u[1] * X[2 * j + 1] + u[2]));
      const st = collapsedDormantState(p, 0, theta, r, S, Q);
      const g = st.values.findIndex((l) => l > 0);
      expect(st.values.filter((l) => l > 1e-12).length).toBe(1);
      expect(Math.abs(st.values[g] - nv)).toBeLessThanOrEqual(1e-12 * nv);
      // e₊ = (1, v̂)/√2 up to sign
      const dot = st.basis[g][0] * s2 + vh.reduce((acc, x, k) => acc + x * s2 * st.basis[g][1 + k], 0);
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-12);
      expect(st.sign[g] * Math.sign(dot)).toBe(Math.sign(cp));
      // the float vector holds u⊥'s coordinates to ε·‖θ‖ absolute: c₊ is determined to (2‖u⊥‖·ε‖θ‖ + ε|Q|)/(2|c₋|)
      const eps = Number.EPSILON, bound = (2 * du * eps * Math.hypot(...theta) + eps * Math.abs(Q)) / (2 * Math.abs(cm));
      expect(Math.abs(Math.exp(st.log[g]) - Math.abs(cp))).toBeLessThanOrEqual(10 * bound + 1e-12 * Math.abs(cp));
      // in the first case the float vector itself does not carry c₊ (|c₊| is below its round-off ε·‖θ‖)
      if (Q === 1e-24) expect(Math.abs(cp)).toBeLessThan(eps * Math.hypot(...theta));
    });
  }
});

describe('agf relu: the fit options of the polynomial engine are refused', () => {
  it('--fit-iter and --fit-relax: one line, exit 2 (the relu fit is the masked flow then Newton, with no L-BFGS budget)', async () => {
    await expectBadInput(['agf', 'relu', '--fit-iter', '10'], /--fit-iter is not an option for relu/);
    await expectBadInput(['agf', 'relu', '--fit-relax', '5'], /--fit-relax is not an option for relu/);
  });
});

describe('K = 4 clusters, seed 1: where AGF and the flow part, and why (the flow, not the engine)', () => {
  // AGF (every α ≤ 1e-8): unit 3 → 0.15350779, units 2 + 0 (co-activated) → 0.036924, unit 5 →
  // 7.023e-3; the true flow at α = 1e-8 and 1e-60 instead holds units 0, 2, 3 at 0.026879 (α = 1e-60)
  // and ends near 0.0130 (α = 1e-8). The split is at the second activation: even at α = 1e-60 the
  // flow's units 0 and 2 grow 55 flow-time units after unit 3, while unit 3's own fit relaxes at
  // ≈ 3e-3 per unit of flow time — AGF's separation (the fit done before the next unit moves) would
  // need log(1/α) in the hundreds, beyond float64. Measured, not run here (minutes): the flow from
  // AGF's own state at jump 1 (α = 1e-60) does not stop at 0.036924 either: units 0, 2, 3 creep for
  // thousands of units, unit 5 enters on the way, and it ends at 0.022169780.
  const p = createProblem(relu, { alpha: 1e-60, seed: 1, options: { K: 4 } });
  const { H, P } = p.layout;
  const norm = (s: Float64Array, i: number): number => Math.hypot(...s.subarray(i * P, (i + 1) * P));
  let a1: ReturnType<typeof solveAgf>;
  let flow: ReturnType<typeof solveReluFlow>;
  beforeAll(() => {
    a1 = solveAgf(p, { maxJumps: 1 });
    const t1 = a1.jumps[0].time;
    flow = solveReluFlow(p, { tEnd: t1 + 60, rtol: 1e-11, tEval: [t1, t1 + 60], dense: false });
  }, 120_000);

  it('AGF\'s first fit is the limit of unit 3\'s own flow from the true flow\'s state at the jump (loss to 1e-8, state to 1e-4)', () => {
    const start = new Float64Array(H * P);
    start.set(flow.states[0].subarray(3 * P, 4 * P), 3 * P);
    const own = solveReluFlow(p, { theta0: start, tEnd: 3500, rtol: 1e-11, tEval: [60, 3500], dense: false });
    const th = a1.extra!.finalTheta as number[];
    expect(Math.abs(own.loss[1] - a1.jumps[0].lossAfter)).toBeLessThanOrEqual(1e-8 * a1.jumps[0].lossAfter);
    for (let k = 0; k < P; k++) expect(Math.abs(own.states[1][3 * P + k] - th[3 * P + k])).toBeLessThanOrEqual(1e-4 * norm(own.states[1], 3));
    // …but slowly: 60 flow-time units after the jump it is still ≥ 4 % above its level
    expect(own.loss[0]).toBeGreaterThan(1.04 * a1.jumps[0].lossAfter);
  }, 120_000);

  it('in the true flow, units 0 and 2 are at O(0.1) norms 60 flow-time units after unit 3\'s jump (from α = 1e-60)', () => {
    const end = flow.states[1];
    expect(norm(end, 3)).toBeGreaterThan(1);
    for (const i of [0, 2]) expect(norm(end, i)).toBeGreaterThan(0.05);
    for (const i of [1, 4, 5]) expect(norm(end, i)).toBeLessThan(1e-30);
  }, 120_000);
});

describe('every relu fit ends at a stationary point (default cluster data, α = 1e-8)', () => {
  // seeds 3 and 4: the masked flow creeps in its second fit (‖F‖ 2e-5 after 25,000 flow-time units
  // with the early hand-over alone); Newton in its end pattern, kept on the Filippov field, finishes it
  // (levels 0.16666667 and 0.0093622416, as before the hand-over)
  it('seeds 3 and 4: no fit stops short, the Filippov field at every fit below 100 × the tolerance', () => {
    for (const seed of [3, 4]) {
      const a = solveAgf(createProblem(relu, { alpha: 1e-8, seed }));
      // (seed 4's schedule is flagged for another reason: jump 2 comes before fit 1 relaxed and the
      // flow at this α levels 0.5 % above AGF's fit, relu-coevolution.test.ts)
      expect(String(a.extra!.warning ?? '')).not.toMatch(/stopped short/);
      for (const g of a.extra!.fitGradNorms as number[]) expect(g).toBeLessThan(1e-12);
    }
  }, 120_000);

  // seed 6: the second fit's masked flow met a kink the event logic re-flagged at t = 2.411 without
  // end (an error after 2000 switches); a flow restarted short of it takes its pattern afresh
  it('seed 6: the schedule completes, its fits stationary, and its last level is the true flow\'s limit (below its loss at t = 3000, within 3e-4)', () => {
    const p = createProblem(relu, { alpha: 1e-8, seed: 6 });
    const a = solveAgf(p);
    expect(a.extra!.warning).toBeUndefined();
    for (const g of a.extra!.fitGradNorms as number[]) expect(g).toBeLessThan(1e-12);
    const last = a.jumps[a.jumps.length - 1].lossAfter;
    // the flow's loss never rises, so its limit is at most its value at t = 3000 (0.112689; it creeps along a sliding kink)
    const flow = solveReluFlow(p, { tEnd: 3000, rtol: 1e-10, tEval: [3000] });
    const L = flow.loss[flow.loss.length - 1];
    expect(last).toBeLessThanOrEqual(L);
    expect((L - last) / L).toBeLessThan(3e-4);
  }, 120_000);
});

describe('the fit\'s rescaling orbits come from the kernels, not from a parameter named `a`', () => {
  // the same network with its output weight named u: rescaling.ts finds the one symmetry
  // (u, w, b) → (e^s u, e^{−s} w, e^{−s} b) from the compiled kernels, so the fit's basin test and its
  // rebalancing act as for `a` (before, a spec without an `a` slot silently had neither)
  const renamed = (bias: boolean): ModelDefinition => {
    const base = relu.variant!({ bias: bias ? 1 : 0 });
    const spec = base.spec;
    const params: ModelSpec['params'] = { u: spec.params.a, w: spec.params.w, ...(bias ? { b: spec.params.b } : {}) };
    const init = { ...spec.init! } as Record<string, unknown>;
    init.u = init.a;
    delete init.a;
    return { ...base, variant: undefined, spec: { ...spec, params, template: spec.template.replace(/^a \*/, 'u *'), init: init as ModelSpec['init'] } };
  };
  for (const [label, bias, alpha, seed, options] of [
    ['default cluster data, seed 2, α = 1e-8', true, 1e-8, 2, {}],
    ['K = 4, seed 1, α = 1e-8', true, 1e-8, 1, { K: 4 }],
    ['teacher–student, no bias, α = 1e-4', false, 1e-4, 0, { data: 1 }],
  ] as [string, boolean, number, number, Record<string, number>][]) {
    it(`${label}: the one symmetry vector ∝ (1, −1, −1) (no bias: (1, −1)), and AGF equal to the \`a\`-named spec's, levels and final state to 1e-12`, () => {
      const pa = createProblem(relu, { alpha, seed, options: { ...options, bias: bias ? 1 : 0 } });
      const pu = createProblem(renamed(bias), { alpha, seed, options: { ...options, bias: bias ? 1 : 0 } });
      expect(Array.from(pu.theta0)).toEqual(Array.from(pa.theta0));
      const syms = rescalingSymmetries(pu);
      expect(syms.length).toBe(1);
      const want = (bias ? [1, -1, -1] : [1, -1]).map((v) => v / Math.sqrt(bias ? 3 : 2));
      const sg = Math.sign(syms[0][0]);
      syms[0].forEach((v, g) => expect(Math.abs(sg * v - want[g])).toBeLessThan(1e-6));
      const a = solveAgf(pa), u = solveAgf(pu);
      expect(u.jumps.length).toBe(a.jumps.length);
      a.jumps.forEach((j, k) => expect(Math.abs(u.jumps[k].lossAfter - j.lossAfter)).toBeLessThanOrEqual(1e-12 * Math.max(j.lossAfter, 1e-300) + 1e-30));
      const ta = a.extra!.finalTheta as number[], tu = u.extra!.finalTheta as number[];
      const scale = Math.max(...ta.map(Math.abs));
      ta.forEach((v, q) => expect(Math.abs(tu[q] - v)).toBeLessThanOrEqual(1e-12 * scale));
    }, 120_000);
  }
});

describe('a dead unit with a sample exactly on its kink (default cluster data, seed 3, α = 1e-4)', () => {
  // Before: unit 1's dormant dynamics (no sample on, M = 0) read a side from the rounding of an
  // argument that is exactly 0 and "crossed" that kink every 5e-16 time units until the switch
  // budget ran out, so `agf relu --seed 3` failed with "too many cone switches".
  it('the schedule completes and ends where the true flow ends: the same single active unit, the loss to 1e-9', () => {
    const p = createProblem(relu, { alpha: 1e-4, seed: 3 });
    const a = solveAgf(p);
    expect(a.extra!.status).toBe('no-positive-utility');
    const f = solveReluFlow(p, { tEnd: 20000, rtol: 1e-10, dense: false, saveSteps: false });
    const { H, P } = p.layout;
    const end = f.states[f.states.length - 1];
    const active = Array.from({ length: H }, (_, i) => i).filter((i) => Math.hypot(...end.subarray(i * P, (i + 1) * P)) > 0.05);
    const agfActive = a.jumps.flatMap((j, k) => [j.neuron, ...(a.extra!.coActivated as number[][])[k]]).sort();
    expect(agfActive).toEqual(active);
    const last = a.jumps[a.jumps.length - 1].lossAfter;
    expect(Math.abs(f.loss[f.loss.length - 1] - last)).toBeLessThanOrEqual(1e-9 * last);
  }, 60_000);
});
