/**
 * ReLU AGF (solveAgf → the activation-cone branch, cones.ts) against the integrated ReLU flow
 * (relu-flow.ts: an independent method, kink events + Filippov sliding) on the 2-D
 * teacher–student data, at α = 1e-4, 1e-8, 1e-12.
 *
 * Setting: `relu --opt data=1 --opt bias=0` (2-unit teacher through the origin, outputs 1 and
 * −0.7, 24 inputs near the unit circle; 6-unit student, seed 0). Loss (1/2n)Σ(y − f)², flow time,
 * rescaled time t/log(1/α), initial entries α·N(0, 1).
 *
 * What is compared, and how the flow's side is measured without AGF's numbers:
 * - order: a flow unit activates at the flow jump (loss-midpoint rule, analysis/jumps.ts) whose
 *   time is nearest to the time its norm first reaches half its final norm; AGF's jump k activates its
 *   winner and the units co-activated on the winner's cone. The groups must be the same sets, in
 *   the same order;
 * - directions: the flow's plateau k is its closest approach to a critical point between jumps k
 *   and k + 1, argmin of |d log L/dt| = ‖∇L‖²/L; there every unit AGF holds active must point where
 *   AGF's does (angle of w_i, the gauge-invariant direction: a_i is fixed by the balance);
 * - times: the rescaled gap between the flow's and AGF's jump times shrinks like 1/log(1/α): the
 *   gap in flow time, gap·log(1/α), is the same at all three α (AGF is exact for the α → 0 rates,
 *   so the gap is the O(1) flow time of the jump itself).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { relu } from '../models/relu.ts';
import { createProblem, gradientOf, type Problem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { detectJumps } from '../src/analysis/jumps.ts';
import { symEig } from '../src/util/dense.ts';
import type { JumpSchedule } from '../src/schedule.ts';
import type { Trajectory } from '../src/trajectory.ts';

const ALPHAS = [1e-4, 1e-8, 1e-12];

interface Run { p: Problem; agf: JumpSchedule; flow: Trajectory; flowJumps: JumpSchedule; tEnd: number }

const norm = (v: ArrayLike<number>): number => { let s = 0; for (let q = 0; q < v.length; q++) s += v[q] ** 2; return Math.sqrt(s); };

function angle(u: ArrayLike<number>, v: ArrayLike<number>): number {
  let d = 0;
  for (let q = 0; q < u.length; q++) d += u[q] * v[q];
  const c = d / (norm(u) * norm(v));
  // acos loses half the digits near 1: use the chord
  let s = 0;
  for (let q = 0; q < u.length; q++) s += (u[q] / norm(u) - v[q] / norm(v)) ** 2;
  return c > 0 ? 2 * Math.asin(Math.sqrt(s) / 2) : Math.PI;
}

/** The flow state on plateau k: argmin of ‖∇L‖²/L between the flow's jumps k and k + 1 (and its time). */
function plateauPoint(r: Run, k: number): { t: number; s: Float64Array } {
  const { p, flow, flowJumps, tEnd } = r;
  const a = flowJumps.jumps[k].time, b = flowJumps.jumps[k + 1]?.time ?? tEnd;
  const g = new Float64Array(p.theta0.length);
  let best = Infinity, at = { t: b, s: flow.dense!(b) };
  for (let q = 1; q < 400; q++) {
    const t = a + ((b - a) * q) / 400;
    const s = flow.dense!(t);
    const L = gradientOf(p, s, g);
    const rate = g.reduce((x, v) => x + v * v, 0) / L;
    if (rate < best) { best = rate; at = { t, s }; }
  }
  return at;
}

/** w_i of unit i (bias-free template a·relu(wᵀx): θ_i = (a_i, w_i)). */
const incoming = (p: Problem, th: ArrayLike<number>, i: number): number[] => Array.from({ length: p.layout.P - 1 }, (_, q) => th[i * p.layout.P + 1 + q]);

const runs: Run[] = [];
beforeAll(() => {
  for (const alpha of ALPHAS) {
    const p = createProblem(relu, { alpha, seed: 0, options: { data: 1, bias: 0 } });
    const agf = solveAgf(p);
    const tEnd = 1.5 * agf.jumps[agf.jumps.length - 1].time + 40;
    const flow = solveFlow(p, { tEnd, rtol: 1e-11 });
    runs.push({ p, agf, flow, flowJumps: detectJumps(p, flow, { predicted: agf, method: 'flow' }), tEnd });
  }
}, 120_000);

describe('ReLU AGF vs the ReLU flow on the 2-D teacher–student data (bias-free teacher)', () => {
  it('same activation order, co-activated groups included', () => {
    for (const { p, agf, flow, flowJumps } of runs) {
      const { H, P } = p.layout;
      const co = agf.extra!.coActivated as number[][];
      const agfGroups = agf.jumps.map((j, k) => [j.neuron, ...co[k]].sort());
      expect(agf.extra!.status).toBe('zero-loss');
      expect(flowJumps.jumps.length).toBe(agf.jumps.length);
      const end = flow.states[flow.states.length - 1];
      const flowGroups: number[][] = flowJumps.jumps.map(() => []);
      for (let i = 0; i < H; i++) {
        const target = 0.5 * norm(end.subarray(i * P, (i + 1) * P));
        if (target < 0.05) continue; // never activates
        const k = flow.states.findIndex((s) => norm(s.subarray(i * P, (i + 1) * P)) >= target);
        const tHalf = flow.t[k];
        let w = 0;
        flowJumps.jumps.forEach((j, q) => { if (Math.abs(j.time - tHalf) < Math.abs(flowJumps.jumps[w].time - tHalf)) w = q; });
        flowGroups[w].push(i);
      }
      expect(flowGroups.map((g) => g.sort())).toEqual(agfGroups);
      expect(agfGroups.some((g) => g.length > 1)).toBe(true); // the data do exercise co-activation
    }
  });

  const angles = (r: Run): number[][] => r.agf.jumps.map((_, k) => {
    const a = solveAgf(r.p, { maxJumps: k + 1 });
    const th = a.extra!.finalTheta as number[];
    const active = (a.extra!.activeSets as number[][])[k];
    const s = plateauPoint(r, k).s;
    return active.map((i) => angle(incoming(r.p, th, i), incoming(r.p, s, i)));
  });

  it('active-unit directions at the plateaus: ≤ 1e-3 rad at α = 1e-8 and 1e-12, and shrinking with α', () => {
    const worst = runs.map((r) => angles(r).map((a) => Math.max(...a)));
    console.log(`relu AGF vs flow, worst plateau angle (rad) per plateau: ${worst.map((w, q) => `α = ${ALPHAS[q]}: ${w.map((x) => x.toExponential(2)).join(', ')}`).join('; ')}`);
    for (const q of [1, 2]) for (const w of worst[q]) expect(w).toBeLessThanOrEqual(1e-3);
    // the flow's distance from the AGF saddle is a finite-α effect: it falls as α → 0 on every plateau
    for (let k = 0; k < worst[0].length; k++) {
      expect(worst[1][k]).toBeLessThan(worst[0][k]);
      expect(worst[2][k]).toBeLessThan(worst[1][k]);
    }
  });

  // Not met at α = 1e-4: 1.10e-3 rad on plateau 1 and 1.46e-3 on plateau 2 (bar 1e-3; this file's
  // log line, since the early hand-over to Newton; it was 1.17e-3 and 7.5e-4 before). Plateau 1
  // measured on α = 1e-3 … 1e-14 before that change (report): 1.90e-3, 1.17e-3 (1e-4), 1.00e-3 (3e-5), 8.8e-4 (1e-5), 6.9e-4 (1e-6), 4.2e-4 (1e-8), 2.5e-4
  // (1e-10), 1.5e-4 (1e-12), 8.7e-5 (1e-14): a power law α^0.112 from 1e-4 down, so the bar is met
  // from α ≈ 3e-5. It is the flow, not the engine (the two tests below): AGF's saddle is the point
  // the flow of its active units converges to, and the flow's angle at its plateau point is the
  // transient e^{−λ_s s*} of the slowest Hessian mode λ_s at the saddle, s* the time from the jump
  // to the plateau point, which grows only like 0.47·log(1/α) because the next units (at norm 0.12
  // there at α = 1e-4) end the plateau. Other choices of the plateau point do not rescue α = 1e-4:
  // closest approach to AGF's state in θ 1.45e-3, where the loss crosses AGF's plateau level 1.55e-3;
  // the midpoint in time gives 4.3e-4, but there the loss is already 28 % below the plateau level
  // and the next units are at norm 0.26 — that point is inside the second jump, not on a plateau.
  it.fails('active-unit directions ≤ 1e-3 rad at α = 1e-4 (known not to hold, see the comment)', () => {
    for (const a of angles(runs[0])) for (const x of a) expect(x).toBeLessThanOrEqual(1e-3);
  });

  it('α = 1e-4, the engine side: the flow of AGF\'s plateau-1 units alone converges to AGF\'s saddle (≤ 1e-4 rad, an O(α) offset)', () => {
    const r = runs[0];
    const { H, P } = r.p.layout;
    const a = solveAgf(r.p, { maxJumps: 1 });
    const th = a.extra!.finalTheta as number[];
    const active = (a.extra!.activeSets as number[][])[0];
    // the true flow's own state just after its first jump, with every other unit removed
    const s0 = r.flow.dense!(r.flowJumps.jumps[0].time + 2);
    const start = new Float64Array(H * P);
    for (const i of active) start.set(s0.subarray(i * P, (i + 1) * P), i * P);
    const f = solveFlow(r.p, { tEnd: 600, rtol: 1e-11, theta0: start });
    const end = f.states[f.states.length - 1];
    const off = Math.max(...active.map((i) => angle(incoming(r.p, th, i), incoming(r.p, end, i))));
    console.log(`relu AGF α = 1e-4: the active units' own flow ends ${off.toExponential(2)} rad from AGF's saddle`);
    expect(off).toBeLessThanOrEqual(1e-4);
  });

  it('α dependence of the plateau-1 angle is the saddle\'s slowest relaxation: angle ∝ exp(−λ_s·s*), λ_s from the Hessian at AGF\'s saddle', () => {
    // λ_s: smallest non-zero eigenvalue of the loss Hessian (central differences of ∇L) at AGF's
    // first saddle, on its active units (the others are zero there)
    const r = runs[1];
    const { H, P } = r.p.layout;
    const a = solveAgf(r.p, { maxJumps: 1 });
    const active = (a.extra!.activeSets as number[][])[0];
    const base = new Float64Array(H * P);
    for (const i of active) for (let k = 0; k < P; k++) base[i * P + k] = (a.extra!.finalTheta as number[])[i * P + k];
    const idx = active.flatMap((i) => Array.from({ length: P }, (_, k) => i * P + k));
    const m = idx.length, h = 1e-6;
    const Hm = new Float64Array(m * m), gp = new Float64Array(H * P), gm = new Float64Array(H * P);
    idx.forEach((ia, c) => {
      const x = base.slice();
      x[ia] += h; gradientOf(r.p, x, gp);
      x[ia] -= 2 * h; gradientOf(r.p, x, gm);
      idx.forEach((ib, q) => { Hm[q * m + c] = (gp[ib] - gm[ib]) / (2 * h); });
    });
    for (let q = 0; q < m; q++) for (let c = 0; c < q; c++) { const v = 0.5 * (Hm[q * m + c] + Hm[c * m + q]); Hm[q * m + c] = v; Hm[c * m + q] = v; }
    const ev = symEig(Hm, m).values.filter((v) => v > 1e-8);
    const lambdaS = Math.min(...ev);
    // the flow's plateau-1 angle and the time from its jump to its plateau point, at α = 1e-4 and 1e-12
    const at = (q: number): { ang: number; s: number } => ({ ang: Math.max(...angles(runs[q])[0]), s: plateauPoint(runs[q], 0).t - runs[q].flowJumps.jumps[0].time });
    const lo = at(0), hi = at(2);
    const measured = Math.log(lo.ang / hi.ang), predicted = lambdaS * (hi.s - lo.s);
    const dL = Math.log(ALPHAS[0] / ALPHAS[2]);
    console.log(`relu AGF plateau 1: λ_s = ${lambdaS.toPrecision(4)}; angle ${lo.ang.toExponential(2)} → ${hi.ang.toExponential(2)} (α^${(measured / dL).toFixed(3)}); s* ${lo.s.toFixed(2)} → ${hi.s.toFixed(2)}; log-ratio measured ${measured.toFixed(3)}, λ_s·Δs* ${predicted.toFixed(3)}`);
    expect(Math.abs(measured - predicted)).toBeLessThanOrEqual(0.15 * predicted);
    // a power of α, not 1/log(1/α): the exponent is the same on both halves of the α range
    const mid = Math.max(...angles(runs[1])[0]);
    const p1 = Math.log(lo.ang / mid) / Math.log(ALPHAS[0] / ALPHAS[1]), p2 = Math.log(mid / hi.ang) / Math.log(ALPHAS[1] / ALPHAS[2]);
    expect(Math.abs(p1 - p2)).toBeLessThanOrEqual(0.1 * p2);
  });

  it('rescaled jump-time error shrinks like 1/log(1/α): the flow-time gap is the same at every α', () => {
    const gaps = runs.map((r) => r.agf.jumps.map((j, k) => r.flowJumps.jumps[k].time - j.time));
    const rescaled = runs.map((r, q) => gaps[q].map((g) => Math.abs(g) / Math.log(1 / r.p.alpha)));
    console.log(`relu AGF vs flow, flow-time gaps per jump: ${gaps.map((g, q) => `α = ${ALPHAS[q]}: ${g.map((x) => x.toFixed(4)).join(', ')}`).join('; ')}; rescaled: ${rescaled.map((g) => g.map((x) => x.toExponential(2)).join(', ')).join('; ')}`);
    for (let k = 0; k < gaps[0].length; k++) {
      // g_k(α)·… constant ⇔ rescaled gap ∝ 1/log(1/α): within 10 % between every pair of α
      for (const q of [0, 1]) expect(Math.abs(gaps[q][k] - gaps[2][k])).toBeLessThanOrEqual(0.1 * Math.abs(gaps[2][k]));
      expect(rescaled[1][k]).toBeLessThan(rescaled[0][k]);
      expect(rescaled[2][k]).toBeLessThan(rescaled[1][k]);
    }
  });
});

describe('ReLU AGF co-activation: four units on one cone (3-unit teacher, seed 1)', () => {
  // Units 0, 1, 3, 5 converge into one activation cone and grow at its top rate; when unit 3 reaches
  // norm 1 the others sit at norms 0.25–0.7. The flow keeps all four and stops on that plateau.
  it('AGF activates the whole group and stops where the flow stops: same active units, same final loss (1e-6)', () => {
    const p = createProblem(relu, { alpha: 1e-8, seed: 1, options: { data: 1, teacher: 3 } });
    const a = solveAgf(p);
    const { H, P } = p.layout;
    expect(a.jumps.length).toBe(1);
    expect(a.extra!.status).toBe('no-positive-utility');
    const group = [a.jumps[0].neuron, ...(a.extra!.coActivated as number[][])[0]].sort();
    expect(group.length).toBeGreaterThan(1);
    const flow = solveFlow(p, { tEnd: 3 * a.jumps[0].time, rtol: 1e-11 });
    const end = flow.states[flow.states.length - 1];
    const active = Array.from({ length: H }, (_, i) => i).filter((i) => norm(end.subarray(i * P, (i + 1) * P)) > 0.05);
    expect(active).toEqual(group);
    expect(Math.abs(flow.loss[flow.loss.length - 1] - a.jumps[0].lossAfter)).toBeLessThan(1e-6 * a.jumps[0].lossAfter);
  });
});

describe('ReLU AGF on the teacher–student data with biases (the default): why the flow does not meet it at α ≥ 1e-12', () => {
  // Measured (report, not asserted): on this data the flow's plateau directions differ from AGF's by 0.52, 0.27,
  // 0.26 rad at α = 1e-4, 1e-8, 1e-12. The cause is the flow, not the engine: AGF's first saddle is a
  // stationary point that the flow of the active unit alone reaches — but only at the slow rate of
  // its bias (≈ 0.035 per unit flow time), against a plateau of ≈ 1.9·log(1/α) flow-time units.
  it('AGF\'s first cost minimiser is where the flow of its active units converges (angle ≤ 1e-6, loss to 1e-9)', () => {
    const p = createProblem(relu, { alpha: 1e-8, seed: 0, options: { data: 1 } });
    const a = solveAgf(p, { maxJumps: 1 });
    const th = a.extra!.finalTheta as number[];
    const active = (a.extra!.activeSets as number[][])[0];
    const { H, P } = p.layout;
    const start = new Float64Array(H * P);
    for (const i of active) start.set(p.theta0.subarray(i * P, (i + 1) * P), i * P);
    const flow = solveFlow(p, { tEnd: 1000, rtol: 1e-11, theta0: start });
    const end = flow.states[flow.states.length - 1];
    const wb = (s: ArrayLike<number>, i: number): number[] => Array.from({ length: P - 1 }, (_, q) => s[i * P + 1 + q]);
    for (const i of active) expect(angle(wb(th, i), wb(end, i))).toBeLessThan(1e-6);
    const lossEnd = flow.loss[flow.loss.length - 1];
    expect(Math.abs(lossEnd - a.jumps[0].lossAfter)).toBeLessThan(1e-9 * a.jumps[0].lossAfter);
    // the relaxation is slow: half an α = 1e-12 plateau after this unit's jump (loss at the geometric
    // midpoint of its drop), the same flow is still far off the saddle
    const level = Math.sqrt(a.initialLoss * a.jumps[0].lossAfter);
    const tJump = flow.t[flow.loss.findIndex((l) => l <= level)];
    const mid = flow.dense!(tJump + (1.9 * Math.log(1e12)) / 2);
    const far = Math.max(...active.map((i) => angle(wb(th, i), wb(mid, i))));
    console.log(`relu AGF, biased teacher–student data: the active unit's flow ends ${Math.max(...active.map((i) => angle(wb(th, i), wb(end, i)))).toExponential(2)} rad from AGF's saddle, but is ${far.toExponential(2)} rad off half an α = 1e-12 plateau after its jump`);
    expect(far).toBeGreaterThan(1e-3);
  });
});

describe('ReLU AGF in the α → 0 limit (limit: true, `agf relu --alpha 0`): rescaled times against two independent α → 0 extrapolations', () => {
  /** α → 0 extrapolation of rescaled jump times from flow times at two α: T_k = τ_k·log(1/α) + c_k + o(1). */
  const extrapolate = (lo: number[], hi: number[], aLo: number, aHi: number): number[] => hi.map((t, k) => (t - lo[k]) / Math.log(aLo / aHi));
  const groups = (s: JumpSchedule): number[][] => s.jumps.map((j, k) => [j.neuron, ...(s.extra!.coActivated as number[][])[k]].sort());

  it('bias-free teacher: equal to the true flow extrapolated from α = 1e-8, 1e-12 (≤ 1e-4) and to the finite-α engine extrapolated from α = 1e-150, 1e-300 (≤ 1e-8)', () => {
    const lim = solveAgf(runs[0].p, { limit: true });
    expect(lim.extra!.status).toBe('zero-loss');
    expect(lim.conventions.alpha).toBe(0);
    const flowLimit = extrapolate(runs[1].flowJumps.jumps.map((j) => j.time), runs[2].flowJumps.jumps.map((j) => j.time), ALPHAS[1], ALPHAS[2]);
    const fin = [1e-150, 1e-300].map((alpha) => solveAgf(createProblem(relu, { alpha, seed: 0, options: { data: 1, bias: 0 } })));
    const engineLimit = extrapolate(fin[0].jumps.map((j) => j.time), fin[1].jumps.map((j) => j.time), 1e-150, 1e-300);
    console.log(`relu AGF α → 0: rescaled ${lim.jumps.map((j) => j.rescaledTime.toFixed(6)).join(', ')}; flow extrapolated ${flowLimit.map((x) => x.toFixed(6)).join(', ')}; engine extrapolated ${engineLimit.map((x) => x.toFixed(6)).join(', ')}`);
    expect(lim.jumps.length).toBe(flowLimit.length);
    lim.jumps.forEach((j, k) => {
      expect(Math.abs(j.rescaledTime - flowLimit[k])).toBeLessThanOrEqual(1e-4 * flowLimit[k]);
      expect(Math.abs(j.rescaledTime - engineLimit[k])).toBeLessThanOrEqual(1e-8 * engineLimit[k]);
    });
    expect(groups(lim)).toEqual(groups(fin[1]));
    expect(Math.abs(lim.jumps[0].lossAfter - fin[1].jumps[0].lossAfter)).toBeLessThanOrEqual(1e-9 * fin[1].jumps[0].lossAfter);
  });

  it('biased and 3-unit teachers, seeds 0 and 1: the finite-α engine\'s α → 0 extrapolation, with the same co-activated groups (and shares: the same plateau levels)', () => {
    for (const options of [{ data: 1 }, { data: 1, teacher: 3 }] as Record<string, number>[]) for (const seed of [0, 1]) {
      const lim = solveAgf(createProblem(relu, { alpha: 1e-4, seed, options }), { limit: true });
      const fin = [1e-150, 1e-300].map((alpha) => solveAgf(createProblem(relu, { alpha, seed, options })));
      const engineLimit = extrapolate(fin[0].jumps.map((j) => j.time), fin[1].jumps.map((j) => j.time), 1e-150, 1e-300);
      expect(lim.jumps.length).toBe(fin[1].jumps.length);
      expect(lim.extra!.status).toBe(fin[1].extra!.status);
      expect(groups(lim)).toEqual(groups(fin[1]));
      lim.jumps.forEach((j, k) => {
        expect(Math.abs(j.rescaledTime - engineLimit[k])).toBeLessThanOrEqual(1e-8 * engineLimit[k]);
        if (fin[1].jumps[k].lossAfter > 1e-12 * fin[1].initialLoss) expect(Math.abs(j.lossAfter - fin[1].jumps[k].lossAfter)).toBeLessThanOrEqual(1e-6 * fin[1].jumps[k].lossAfter);
      });
    }
  });
});
