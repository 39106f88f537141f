import { describe, expect, it } from 'vitest';
import { createProblem } from '../src/problem.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { reluFieldAt, solveReluFlow } from '../src/solvers/relu-flow.ts';
import { relu } from '../models/relu.ts';
import { reluDeep } from '../models/relu-deep.ts';
import { referenceReluFlow } from './helpers/relu-reference.ts';
import { expectBadInput, run } from './helpers/cli.ts';
import { patternLeastSquares, type PatternUnit } from './helpers/relu-pattern-ls.ts';
import { augmentedRows, maskOffset, patternModel } from '../src/solvers/relu-pattern.ts';
import { fingerprintX } from '../src/compile/row-tables.ts';

function relErr(a: Float64Array, b: Float64Array): number {
  let e = 0, s = 0;
  for (let q = 0; q < a.length; q++) { e = Math.max(e, Math.abs(a[q] - b[q])); s = Math.max(s, Math.abs(b[q])); }
  return e / s;
}

/**
 * The relu flow's end loss beside the least squares of its final pattern (each grown unit on the
 * samples its kink has on the positive side, pinned samples as their own columns): equal at a
 * stationary end point.
 */
function endLossVsPattern(p: ReturnType<typeof createProblem>, tEnd: number): { loss: number; oracle: number } {
  const tr = solveReluFlow(p, { tEnd, rtol: 1e-10, dense: false, saveSteps: false });
  expect(tr.status).toBe('done');
  const th = tr.states[tr.states.length - 1];
  const { H, P } = p.layout, { X, Y, n } = p.data;
  const units: PatternUnit[] = [];
  for (let i = 0; i < H; i++) {
    let m = 0;
    for (let q = 0; q < P; q++) m = Math.max(m, Math.abs(th[i * P + q]));
    if (m < 1e-3) continue; // dormant (≈ α): no feature of the fit
    const pinned = tr.pinnedAtEnd.filter((k) => k.neuron === i).map((k) => k.sample);
    const on: number[] = [];
    for (let j = 0; j < n; j++) if (!pinned.includes(j) && th[i * P + 1] * X[2 * j] + th[i * P + 2] * X[2 * j + 1] + th[i * P + 3] > 0) on.push(j);
    units.push({ on, pinned });
  }
  expect(units.length).toBeGreaterThan(1);
  return { loss: tr.loss[tr.loss.length - 1], oracle: patternLeastSquares(X, Y, n, 2, true, units) };
}

describe('ReLU flow, kink by kink (Filippov sliding)', () => {
  const cases = [
    { name: 'clusters, with bias', alpha: 0.1, data: 0, bias: 1, T: 16 },
    { name: 'teacher–student, no bias', alpha: 0.1, data: 1, bias: 0, T: 12 },
  ];
  for (const c of cases) {
    it(`matches the hand-written RK4 reference with its own event and sliding logic to 1e-8 (${c.name})`, () => {
      const p = createProblem(relu, { alpha: c.alpha, seed: 1, options: { data: c.data, bias: c.bias } });
      const times = [c.T / 2, c.T];
      const tr = solveReluFlow(p, { tEnd: c.T, rtol: 1e-12, tEval: times });
      const ref = referenceReluFlow({ X: p.data.X, Y: p.data.Y, n: p.data.n, d: p.layout.dIn, H: p.layout.H, bias: c.bias === 1 }, p.theta0, times, 2e-3);
      expect(tr.kinkEvents.length).toBeGreaterThan(3);
      for (let k = 0; k < times.length; k++) expect(relErr(tr.states[k], ref[k])).toBeLessThan(1e-8);
    });
  }

  it('a grazing kink (K = 4, seed 1, α = 1e-4: unit 3 meets sample 5 at t = 1.19 with a vanishing rate) is crossed once, not re-flagged every 4e-16 (it used to exceed maxSteps there); states = the RK4 reference to 1e-8', () => {
    const p = createProblem(relu, { alpha: 1e-4, seed: 1, options: { K: 4 } });
    const times = [1.5, 3];
    const tr = solveReluFlow(p, { tEnd: 3, rtol: 1e-12, tEval: times, maxSteps: 20000 });
    expect(tr.kinkEvents.filter((e) => e.neuron === 3 && e.sample === 5).length).toBeLessThanOrEqual(4);
    const ref = referenceReluFlow({ X: p.data.X, Y: p.data.Y, n: p.data.n, d: p.layout.dIn, H: p.layout.H, bias: true }, p.theta0, times, 2e-3);
    for (let k = 0; k < times.length; k++) expect(relErr(tr.states[k], ref[k])).toBeLessThan(1e-8);
  });

  it('the clustered case exercises sliding: a kink pinned at a data point, its μ in [0, 1]', () => {
    const p = createProblem(relu, { alpha: 0.1, seed: 1 });
    const tr = solveReluFlow(p, { tEnd: 16, rtol: 1e-12 });
    expect(tr.kinkEvents.some((k) => k.kind === 'slide')).toBe(true);
  });

  it('runs from alpha = 1e-6 to the end and conserves a_i² − ‖w_i‖² − b_i² per unit (sliding included)', () => {
    const p = createProblem(relu, { alpha: 1e-6, seed: 0 });
    const tr = solveFlow(p, { tEnd: 120 });
    expect(tr.method).toBe('flow:relu-events');
    expect(tr.status).toBe('done');
    expect(tr.loss[tr.loss.length - 1]).toBeLessThan(0.1 * tr.loss[0]);
    const { H, P } = p.layout;
    const law = (th: Float64Array, i: number): number => th[i * P] ** 2 - th[i * P + 1] ** 2 - th[i * P + 2] ** 2 - th[i * P + 3] ** 2;
    const end = tr.states[tr.states.length - 1];
    for (let i = 0; i < H; i++) expect(Math.abs(law(end, i) - law(p.theta0, i))).toBeLessThan(1e-9 * Math.max(1e-12, Math.abs(end[i * P]) ** 2));
  });

  it('deep net (L = 3): per hidden unit ‖row_k W_l‖² + b_lk² − ‖column_k W_{l+1}‖² stays conserved through the kinks', () => {
    const p = createProblem(reluDeep, { alpha: 0.3, seed: 1, options: { depth: 3 } });
    const tr = solveReluFlow(p, { tEnd: 40 });
    expect(tr.kinkEvents.length).toBeGreaterThan(3);
    expect(tr.kinkEvents.some((k) => k.kind === 'slide')).toBe(true);
    const Q = p.layout.dims.Q;
    const laws = (th: Float64Array): number[] => {
      const out: number[] = [];
      const off = (l: number) => l * (Q * Q + Q);
      for (let l = 0; l < 2; l++) for (let k = 0; k < Q; k++) {
        let s = th[off(l) + Q * Q + k] ** 2;
        for (let c = 0; c < Q; c++) s += th[off(l) + k * Q + c] ** 2;
        for (let r = 0; r < Q; r++) s -= th[off(l + 1) + r * Q + k] ** 2;
        out.push(s);
      }
      return out;
    };
    const a = laws(p.theta0), b = laws(tr.states[tr.states.length - 1]);
    for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - b[k])).toBeLessThan(1e-9);
    expect(tr.loss[tr.loss.length - 1]).toBeLessThan(tr.loss[0]);
  });

  it('dense: false (long runs) keeps no continuous extension but gives the same tEval states and the same end as the dense run', () => {
    const p = createProblem(relu, { alpha: 0.1, seed: 1 });
    const times = [3, 7.5, 16];
    const a = solveReluFlow(p, { tEnd: 16, rtol: 1e-12, tEval: times });
    const b = solveReluFlow(p, { tEnd: 16, rtol: 1e-12, tEval: times, dense: false });
    expect(b.dense).toBeUndefined();
    for (let k = 0; k < times.length; k++) expect(relErr(b.states[k], a.states[k])).toBeLessThan(1e-13);
    const c = solveReluFlow(p, { tEnd: 16, rtol: 1e-12, dense: false, saveSteps: false });
    expect(c.states.length).toBe(2);
    expect(relErr(c.states[1], a.states[2])).toBeLessThan(1e-13);
  });

  it('reluFieldAt: −∇L by central differences of the loss off the kinks; on a sliding mode the Filippov field is the flow\'s own velocity', () => {
    const p = createProblem(relu, { alpha: 0.1, seed: 1 });
    const th = p.theta0.map((v) => 10 * v); // a generic point: no argument at a kink
    const { F, stillPinned } = reluFieldAt(p, th, []);
    expect(stillPinned).toBe(true);
    const x = th.slice();
    for (let k = 0; k < th.length; k++) {
      x[k] = th[k] + 1e-6; const lp = p.kernels.loss(x, p.data.X, p.data.Y, p.data.n);
      x[k] = th[k] - 1e-6; const lm = p.kernels.loss(x, p.data.X, p.data.Y, p.data.n);
      x[k] = th[k];
      expect(Math.abs(F[k] + (lp - lm) / 2e-6)).toBeLessThan(1e-8);
    }
    // on a sliding mode: the field at θ(t) with the flow's pinned kinks is the flow's own velocity
    const q = createProblem(relu, { alpha: 0.1, seed: 2 });
    const h = 2e-3, t0 = 200;
    const run = solveReluFlow(q, { tEnd: t0 + h, rtol: 1e-13, tEval: [t0 - h, t0, t0 + h] });
    expect(run.kinkEvents.filter((e) => e.t > t0 - h).length).toBe(0);
    expect(run.pinnedAtEnd.length).toBeGreaterThan(1);
    const at = reluFieldAt(q, run.states[1], run.pinnedAtEnd);
    expect(at.stillPinned).toBe(true);
    const v = run.states[2].map((y, k) => (y - run.states[0][k]) / (2 * h));
    let err = 0;
    for (let k = 0; k < v.length; k++) err = Math.max(err, Math.abs(v[k] - at.F[k]));
    expect(err).toBeLessThan(1e-6 * at.norm);
    // the one-sided field (kinks not pinned) is not the flow's velocity there
    const off = reluFieldAt(q, run.states[1], []);
    let errOff = 0;
    for (let k = 0; k < v.length; k++) errOff = Math.max(errOff, Math.abs(v[k] - off.F[k]));
    expect(errOff).toBeGreaterThan(1e-3 * at.norm);
  });

  it('α = 1e-40, 1e-100 (default clusters, seed 4): runs to the end (it stopped with "dopri5: step size underflow at t = 477.95": b of units grown to 5e-9 sat at 1e-40 with a round-off field); the end loss = the least squares of its final pattern (4 units on all 12 samples: y on (x, 1)) to 1e-10, and = the α = 1e-24 run\'s (which ran before the fix) to 1e-9', () => {
    const endLoss = (alpha: number): { loss: number; oracle: number } => endLossVsPattern(createProblem(relu, { alpha, seed: 4 }), 2500);
    const ref = endLoss(1e-24);
    expect(Math.abs(ref.loss - ref.oracle)).toBeLessThan(1e-10 * ref.oracle);
    for (const alpha of [1e-40, 1e-100]) {
      const r = endLoss(alpha);
      expect(Math.abs(r.loss - r.oracle)).toBeLessThan(1e-10 * r.oracle);
      expect(Math.abs(r.loss - ref.loss)).toBeLessThan(1e-9 * ref.loss);
    }
  });

  it('a sliding mode that leaves its kink tangentially (K = 4 clusters, seed 10, α = 1e-12: μ of unit 4 on sample 3 at its bound, coupled to three other pinned kinks, was released and re-pinned at t = 19730.19 until "keeps switching" stopped the run): runs to t = 2e4, its end loss = the least squares of its final pattern (1e-10) and = the α = 1e-6 run\'s end (1e-9)', () => {
    const r = endLossVsPattern(createProblem(relu, { alpha: 1e-12, seed: 10, options: { K: 4 } }), 2e4);
    expect(Math.abs(r.loss - r.oracle)).toBeLessThan(1e-10 * r.oracle);
    const ref = endLossVsPattern(createProblem(relu, { alpha: 1e-6, seed: 10, options: { K: 4 } }), 2e4);
    expect(Math.abs(r.loss - ref.loss)).toBeLessThan(1e-9 * ref.loss);
  }, 60_000);

  it('sliding modes at their bounds (default clusters, seed 2: co-activated units pinned on sample 9 with μ = 1 ± 2e-11, beside a third kink that made the weights\' system nearly singular, μ = −2.7e20): the flow at α = 1e-12 runs to t = 5000 (it stopped with "dopri5: step size underflow at t = 3896.28") and the α → 0 schedule completes (it stopped with "rosenbrock23: step size underflow"); both end at one level (1e-9)', () => {
    const p = createProblem(relu, { alpha: 1e-12, seed: 2 });
    const tr = solveReluFlow(p, { tEnd: 5000, rtol: 1e-10, dense: false, saveSteps: false });
    expect(tr.status).toBe('done');
    const lim = solveAgf(p, { limit: true });
    expect(lim.extra!.status).toBe('no-positive-utility');
    const level = lim.jumps.at(-1)!.lossAfter;
    expect(Math.abs(tr.loss[tr.loss.length - 1] - level)).toBeLessThan(1e-9 * level);
  }, 60_000);

  it('the masked kernels read the rows afresh on every call: a mask edit that leaves the data fingerprint unchanged (+1 at weight 7, −1 at weights 3 and 4) gives the gradient of a fresh copy of the rows, to the bit', () => {
    // the relu flow edits its rows' mask entries in place; the caches keyed on fingerprintX (row
    // tables, moments, the WebAssembly data pass) would miss an edit like this one
    const p = createProblem(relu, { alpha: 0.3, seed: 1 });
    const pm = patternModel(p);
    const { n, Y } = p.data;
    const R = pm.rowLength;
    // every sample at x_0 (repeated rows: where row tables would be kept, were they on)
    const X = new Float64Array(p.data.X.length);
    for (let j = 0; j < n; j++) X.set(p.data.X.subarray(0, 2), 2 * j);
    const rows = augmentedRows(pm, X, n);
    expect(pm.kernels.formFor(rows, Y, n)).not.toMatch(/moments|wasm|rows/);
    // n·R = 96 entries: fingerprintX samples each, entry q with weight q + 1
    expect(Math.floor(rows.length / 61)).toBe(1);
    const q1 = maskOffset(pm, 0, 4, 0), q2 = maskOffset(pm, 0, 0, 0), q3 = maskOffset(pm, 0, 1, 0);
    expect([q1 + 1, q2 + 1 + q3 + 1]).toEqual([7, 7]);
    for (let j = 0; j < n; j++) for (let i = 0; i < pm.H; i++) rows[j * R + maskOffset(pm, 0, i, 0)] = 1;
    rows[q1] = 0;
    const g0 = new Float64Array(p.theta0.length), g1 = g0.slice(), gFresh = g0.slice();
    pm.kernels.lossGrad(p.theta0, rows, Y, n, g0);
    const fp = fingerprintX(rows);
    rows[q1] = 1; rows[q2] = 0; rows[q3] = 0;
    expect(fingerprintX(rows)).toBe(fp);
    pm.kernels.lossGrad(p.theta0, rows, Y, n, g1);
    pm.kernels.lossGrad(p.theta0, Float64Array.from(rows), Y, n, gFresh);
    expect(Array.from(g1)).toEqual(Array.from(gFresh));
    expect(Math.max(...g1.map((v, q) => Math.abs(v - g0[q])))).toBeGreaterThan(1e-3 * Math.max(...g0.map(Math.abs)));
  });

  it('CLI: flow relu uses the event integrator; bad options are one line, exit 2', async () => {
    const r = await run('flow', 'relu', '--alpha', '1e-3', '--t', '5', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).method ?? r.out).toMatch(/relu-events/);
    await expectBadInput(['flow', 'relu', '--opt', 'bias=2'], /bias must be 0 or 1/);
    await expectBadInput(['flow', 'relu-deep', '--opt', 'depth=40'], /depth must be an integer/);
    // a smooth integrator asked for chatters at the kinks until its step cap: the message says what runs relu models
    await expectBadInput(['flow', 'relu', '--method', 'rkc', '--max-steps', '20000'], /exceeded maxSteps = 20000 .* this model is piecewise linear .* the default method \(dopri5, no --dt\) integrates it kink by kink$/);
  });
});
