/**
 * Quadratic network on modular addition (issue 6, theory.md §6). Independent references: the
 * closed-form utility maximiser and its value (derived in models/modular-theory.ts), Parseval,
 * finite differences and a hand-written gradient, the exact κ = 3 dormant solution from an
 * aligned start, and gradient flow (RKC2) against AGF.
 */
import { describe, expect, it } from 'vitest';
import { expectBadInput } from './helpers/cli.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modular, modularProblem } from '../models/modular.ts';
import { dft, encodingVector, parseSpectrum, powerSpectrum, roll, type SpectrumEntry } from '../models/modular-data.ts';
import { classLoss, maximiser, predictModular, utilityStar } from '../models/modular-theory.ts';
import { groupByFrequency, neuronFrequency, phaseLockDefect, residualClassLoss, scheduleActivations, trajectoryActivations } from '../models/modular-analysis.ts';
import { maximiseUtility } from '../src/analysis/utility.ts';
import { solveAgfModular } from '../src/solvers/agf-modular.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { MODULAR_GENERIC_AGF, runModular } from '../models/modular-compare.ts';
import { solveFlowRkc } from '../src/solvers/rkc-flow.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { Rng } from '../src/util/rng.ts';
import { main } from '../src/cli/main.ts';
import { createProblem, derived } from '../src/problem.ts';

function utilityOf(pr: ReturnType<typeof modularProblem>, dir: Float64Array): number {
  const { X, Y, n } = pr.data;
  const th = new Float64Array(pr.theta0.length);
  th.set(dir, 0);
  const out = new Float64Array(pr.layout.H * n * pr.layout.c);
  pr.kernels.neuronOutputs(th, X, n, out);
  let s = 0;
  for (let q = 0; q < n * pr.layout.c; q++) s += out[q] * Y[q];
  return s / n;
}

describe('modular data conventions', () => {
  it('the encoding vector has the requested |X[ξ]|, zero mean, and roll shifts phases as e^{−2πiξa/p}', () => {
    const p = 13;
    const spec = parseSpectrum('1:10,4:3,6:0.5');
    const x = encodingVector(p, spec, 'random', new Rng(5));
    const X = dft(x);
    expect(Math.abs(X.re[0]) + Math.abs(X.im[0])).toBeLessThan(1e-12);
    for (let xi = 1; xi < p; xi++) {
      const c = Math.min(xi, p - xi);
      const want = spec.find((e) => e.freq === c)?.amp ?? 0;
      expect(Math.hypot(X.re[xi], X.im[xi])).toBeCloseTo(want, 10);
    }
    const a = 4, R = dft(roll(x, a));
    for (let xi = 0; xi < p; xi++) {
      const ang = (-2 * Math.PI * xi * a) / p;
      expect(R.re[xi]).toBeCloseTo(Math.cos(ang) * X.re[xi] - Math.sin(ang) * X.im[xi], 10);
      expect(R.im[xi]).toBeCloseTo(Math.sin(ang) * X.re[xi] + Math.cos(ang) * X.im[xi], 10);
    }
    // Parseval: the class powers sum to ‖x‖²
    const P = powerSpectrum(x);
    expect(P.reduce((s, v) => s + v, 0)).toBeCloseTo(x.reduce((s, v) => s + v * v, 0), 10);
  });

  it('initial loss and per-class residual loss equal the closed form Σ_ξ (|X[ξ]|² + |X[−ξ]|²)/(2p)', () => {
    const pr = modularProblem({ p: 20, H: 3, alpha: 0.1 });
    const zero = new Float64Array(pr.theta0.length);
    const L = pr.kernels.loss(zero, pr.data.X, pr.data.Y, pr.data.n);
    expect(L).toBeCloseTo(6.5625, 12); // 262.5/(2·20); torch MSELoss: 0.65625 (theory.md)
    const cls = residualClassLoss(pr, zero);
    expect(cls[1]).toBeCloseTo(classLoss(20, 1, 10), 12);
    expect(cls[3]).toBeCloseTo(classLoss(20, 3, 5), 12);
    expect(cls[5]).toBeCloseTo(classLoss(20, 5, 2.5), 12);
    const pred = predictModular(20, parseSpectrum('1:10,3:5,5:2.5'), 0.1);
    expect(pred.order.map((o) => o.freq)).toEqual([1, 3, 5]);
    expect(pred.order.map((o) => o.levelAfterTorch)).toEqual([0.15625, 0.03125, 0]);
    expect(pred.initialLossTorch).toBeCloseTo(0.65625, 14);
    expect(pred.order.map((o) => o.levelAfter)).toEqual([1.5625, 0.3125, 0]);
  });

  it('rejects bad spectra with one-line errors (exit 2)', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (s: string) => err.push(s), progress: false };
    expect(await main(['utility', 'modular', '--spectrum', '1:10,x'], io)).toBe(2);
    expect(await main(['utility', 'modular', '--spectrum', '11:1', '--dim', 'p=20'], io)).toBe(2);
    expect(await main(['utility', 'modular', '--spectrum', '1:1,1:2'], io)).toBe(2);
    expect(err.every((l) => !l.includes('\n') && l.startsWith('gradflow: '))).toBe(true);
  });
});

describe('compiled model', () => {
  it('κ = 3 and the compiled gradient equals finite differences and a hand-written gradient', () => {
    expect(derived(modular).kappa).toBe(3);
    const p = 7, H = 3;
    const pr = modularProblem({ p, H, alpha: 0.5, initSeed: 3, spectrum: parseSpectrum('1:4,2:2,3:1'), phases: 'random', seed: 2 });
    const { X, Y, n } = pr.data;
    const th = new Rng(9).normalArray(H * 3 * p, 0.4);
    const g = new Float64Array(th.length);
    pr.kernels.lossGrad(th, X, Y, n, g);
    // hand-written: f = Σ_i w_i z_i², z_i = u_i·xa + v_i·xb
    const gh = new Float64Array(th.length);
    const P = 3 * p;
    for (let j = 0; j < n; j++) {
      const z = new Float64Array(H), f = new Float64Array(p);
      for (let i = 0; i < H; i++) {
        for (let k = 0; k < p; k++) z[i] += th[i * P + k] * X[j * 2 * p + k] + th[i * P + p + k] * X[j * 2 * p + p + k];
        for (let k = 0; k < p; k++) f[k] += th[i * P + 2 * p + k] * z[i] * z[i];
      }
      for (let i = 0; i < H; i++) {
        let wr = 0;
        for (let k = 0; k < p; k++) wr += th[i * P + 2 * p + k] * (f[k] - Y[j * p + k]);
        for (let k = 0; k < p; k++) {
          gh[i * P + k] += (2 * wr * z[i] * X[j * 2 * p + k]) / n;
          gh[i * P + p + k] += (2 * wr * z[i] * X[j * 2 * p + p + k]) / n;
          gh[i * P + 2 * p + k] += (z[i] * z[i] * (f[k] - Y[j * p + k])) / n;
        }
      }
    }
    let maxG = 0;
    for (let q = 0; q < th.length; q++) maxG = Math.max(maxG, Math.abs(g[q]));
    for (let q = 0; q < th.length; q++) {
      expect(Math.abs(g[q] - gh[q])).toBeLessThan(1e-12 * maxG);
      const h = 1e-5;
      const a = th.slice(), b = th.slice();
      a[q] += h;
      b[q] -= h;
      const fd = (pr.kernels.loss(a, X, Y, n) - pr.kernels.loss(b, X, Y, n)) / (2 * h);
      expect(Math.abs(g[q] - fd)).toBeLessThan(1e-7 * maxG);
    }
  });
});

describe('utility maximisation on the sphere', () => {
  const cases: [number, string, boolean][] = [
    [11, '1:10,3:5,5:2.5', false],
    [11, '2:1,4:3', true],
    [20, '1:10,3:5,5:2.5', false],
    [20, '3:4,7:6,9:1', true],
    [20, '3:5,10:4.5', false], // Nyquist: |X[10]| < |X[3]| yet U*_10 > U*_3 (constant 2/√27 vs √(2/27))
    [31, '1:10,3:5,5:2.5', true],
    [31, '2:3,7:4,11:1', false],
  ];
  for (const [p, sp, random] of cases) {
    it(`p = ${p}, spectrum ${sp}${random ? ' (random phases)' : ''}: single-frequency cosines at the closed-form value`, () => {
      const spectrum: SpectrumEntry[] = parseSpectrum(sp);
      const pr = modularProblem({ p, H: 4, alpha: 0.1, spectrum, phases: random ? 'random' : 'zero', seed: p });
      const x = pr.data.Y.subarray(0, p);
      const res = maximiseUtility(pr, { seed: 7 });
      const best = [...spectrum].sort((a, b) => utilityStar(p, b.freq, b.amp) - utilityStar(p, a.freq, a.amp))[0];
      const uStar = utilityStar(p, best.freq, best.amp);
      // the closed-form maximiser itself, evaluated through the compiled kernels
      const X = dft(x);
      const argX = Math.atan2(X.im[best.freq], X.re[best.freq]);
      expect(Math.abs(utilityOf(pr, maximiser(p, best.freq, argX)) - uStar)).toBeLessThan(1e-12 * uStar);
      res.directions.forEach((d, k) => {
        expect(res.converged[k]).toBe(true);
        const nf = neuronFrequency(d, p, 0);
        expect(nf.fraction).toBeGreaterThanOrEqual(0.99);
        // every start ends at a single-frequency critical point with that frequency's closed-form value
        const amp = spectrum.find((e) => e.freq === nf.freq)!.amp;
        const closed = utilityStar(p, nf.freq, amp);
        expect(Math.abs(res.values[k] - closed) / closed).toBeLessThanOrEqual(1e-6);
        for (let part = 0; part < 3; part++) expect(Math.hypot(...d.subarray(part * p, (part + 1) * p))).toBeCloseTo(1 / Math.sqrt(3), 5);
        if (2 * nf.freq !== p) expect(Math.abs(phaseLockDefect(d, p, 0, nf.freq, x))).toBeLessThan(1e-4);
      });
      expect(Math.abs(res.values[res.best] - uStar) / uStar).toBeLessThanOrEqual(1e-6);
      expect(neuronFrequency(res.directions[res.best], p, 0).freq).toBe(best.freq);
    });
  }
});

describe('AGF (κ = 3)', () => {
  it('from aligned starts each frequency jumps exactly at τ_ξ = (1/‖θ(0)‖ − 1)/(3U*_ξ)', () => {
    const p = 11, alpha = 0.05;
    const spectrum = parseSpectrum('1:10,3:5');
    // one neuron on the maximiser stays on it while dormant: 1/‖θ‖ falls at rate 3U*_ξ
    const base = modularProblem({ p, H: 1, alpha, spectrum });
    const pred = predictModular(p, spectrum, alpha);
    const got = pred.order.map((o) => {
      const s = solveAgfModular(base, { theta0: maximiser(p, o.freq, 0).map((v) => alpha * v), rtol: 1e-11, maxJumps: 1 });
      expect(Math.abs(s.jumps[0].time - o.tau) / o.tau).toBeLessThan(1e-7);
      return s.jumps[0].time;
    });
    console.log(`aligned start (p = ${p}, alpha = ${alpha}): AGF jumps ${got.map((t) => t.toFixed(8)).join(', ')}; closed form τ = ${pred.order.map((o) => o.tau.toFixed(8)).join(', ')} (flow time)`);
  });

  it('frequency order and plateau levels: AGF (the generic engine as compare modular runs it, and agf-modular) vs gradient flow (p = 11, H = 12, spectrum 1:10,3:5)', () => {
    const p = 11, H = 12, alpha = 0.1;
    const spectrum = parseSpectrum('1:10,3:5');
    const pr = modularProblem({ p, H, alpha, spectrum, initSeed: 1 });
    const pred = predictModular(p, spectrum, alpha);
    const engines = { generic: solveAgf(pr, MODULAR_GENERIC_AGF), 'agf-modular': solveAgfModular(pr) };
    const groups = Object.fromEntries(Object.entries(engines).map(([k, s]) => [k, groupByFrequency(p, Float64Array.from(s.extra!.finalDormant as number[]), scheduleActivations(s))]));
    const horizon = 1.3 * Math.max(...Object.values(groups).flatMap((g) => g.map((q) => q.times[0]))) + 10;
    const tr = solveFlowRkc(pr, { tEnd: horizon, dt: 0.02 });
    const gF = groupByFrequency(p, tr.states[tr.states.length - 1], trajectoryActivations(tr, 3 * p, H));
    expect(gF.map((g) => g.freq).slice(0, 2)).toEqual([1, 3]);
    const t3F = gF[1].times[0];
    let k = 0;
    while (tr.t[k + 1] < 0.95 * t3F) k++;
    const plF = tr.loss[k];
    const level1 = pred.order[0].levelAfter;
    const final = tr.loss[tr.loss.length - 1];
    const lines = [`p = ${p}, H = ${H}, alpha = ${alpha}; loss 1/(2n)Σ‖·‖², flow time; plateau after ξ = 1: closed form ${level1.toFixed(5)} (torch ${pred.order[0].levelAfterTorch.toFixed(5)}), flow ${plF.toFixed(5)}; final flow ${final.toExponential(2)}`];
    expect(Math.abs(plF - level1) / level1).toBeLessThan(0.05);
    expect(final).toBeLessThan(0.02 * pred.initialLoss);
    for (const [name, agf] of Object.entries(engines)) {
      const gA = groups[name];
      // order: decreasing |X[ξ]|, as in the flow
      expect(gA.map((g) => g.freq).slice(0, 2)).toEqual([1, 3]);
      // plateau after ξ = 1: the loss just before the first ξ = 3 activation
      const plA = agf.jumps.filter((j) => j.time < gA[1].times[0]).at(-1)!.lossAfter;
      lines.push(`  ${name}: plateau after ξ = 1 ${plA.toFixed(5)}, final ${agf.jumps.at(-1)!.lossAfter.toExponential(2)}; ` + pred.order.map((o) => {
        const a = gA.find((g) => g.freq === o.freq), f = gF.find((g) => g.freq === o.freq);
        return `ξ = ${o.freq}: τ aligned ${o.tau.toFixed(3)}, first activation ${a?.times[0].toFixed(3)} / flow ${f?.times[0].toFixed(3)}, neurons ${a?.neurons.length} / flow ${f?.neurons.length}`;
      }).join('; '));
      expect(Math.abs(plA - level1) / level1).toBeLessThan(0.05);
      // first activations: AGF's prediction within 25% of the flow at alpha = 0.1; the aligned τ is a lower bound
      for (let q = 0; q < 2; q++) {
        expect(Math.abs(gA[q].times[0] - gF[q].times[0]) / gF[q].times[0]).toBeLessThan(0.25);
        expect(pred.order[q].tau).toBeLessThan(gF[q].times[0]);
      }
    }
    console.log(lines.join('\n'));
  });
});

describe('AGF (κ = 3) at the default size: p = 20, H = 18, α = 1e-4, spectrum 1:10,3:5,5:2.5', () => {
  it('with the model\'s own fits (masked flow, adaptive RKC): frequencies in the closed-form order, plateau levels at the closed form', () => {
    const spectrum = parseSpectrum('1:10,3:5,5:2.5');
    const pr = modularProblem({ p: 20, H: 18, alpha: 1e-4, spectrum });
    const rho0 = Math.max(...Array.from({ length: 18 }, (_, i) => Math.hypot(...pr.theta0.subarray(i * pr.layout.P, (i + 1) * pr.layout.P))));
    const pred = predictModular(20, spectrum, rho0);
    const s = solveAgf(pr);
    const groups = groupByFrequency(20, Float64Array.from(s.extra!.finalDormant as number[]), scheduleActivations(s));
    // the plateau of frequency k: the loss just before the next frequency's first activation
    const levels = [0, 1].map((q) => s.jumps.filter((j) => j.time < groups[q + 1].times[0]).at(-1)!.lossAfter);
    console.log(`p = 20, H = 18, α = 1e-4 (loss 1/(2n)Σ‖·‖²): ${groups.map((g, q) => `ξ = ${g.freq}: ${s.jumps.filter((j) => j.time >= g.times[0] && (q + 1 >= groups.length || j.time < groups[q + 1].times[0])).length} jumps before the next frequency, ${g.neurons.length} neurons carrying it at the end, first at t/T₃ = ${s.jumps.find((j) => j.time === g.times[0])!.rescaledTime.toFixed(4)}`).join('; ')}; levels ${levels.map((l, q) => `${l.toPrecision(6)} (closed form ${pred.order[q].levelAfter.toPrecision(6)})`).join(', ')}`);
    expect(groups.map((g) => g.freq).slice(0, 3)).toEqual(pred.order.map((o) => o.freq));
    for (let q = 0; q < 2; q++) expect(Math.abs(levels[q] - pred.order[q].levelAfter) / pred.order[q].levelAfter).toBeLessThan(0.01);
    expect(s.jumps.length).toBeLessThanOrEqual(18);
  });
});

describe('AGF (κ = 3): fitFinal', () => {
  it('the last fit (no dormant neuron left to grow) taken to the minimum reaches the closed-form last level 0, where the 2-unit transient alone stops at 3.6e-3 (p = 11, H = 12, α = 0.1)', () => {
    const spectrum = parseSpectrum('1:10,3:5');
    const pr = modularProblem({ p: 11, H: 12, alpha: 0.1, spectrum, initSeed: 1 });
    const pred = predictModular(11, spectrum, 0.1);
    const level = pred.order.at(-1)!.levelAfter; // closed form: every frequency removed
    expect(level).toBeLessThan(1e-12);
    const transient = { fitRelax: 2, fitIter: 0, fitNewton: 0 };
    const base = solveAgf(pr, transient);
    const fin = solveAgf(pr, { ...transient, fitFinal: 2000 });
    // same schedule up to the last jump; only the last fit differs
    expect(fin.jumps.map((j) => [j.neuron, j.time])).toEqual(base.jumps.map((j) => [j.neuron, j.time]));
    const lb = base.jumps.at(-1)!.lossAfter, lf = fin.jumps.at(-1)!.lossAfter;
    console.log(`p = 11, H = 12, α = 0.1: last level, transient only ${lb.toExponential(3)}, with fitFinal 2000 ${lf.toExponential(3)} (closed form ${level.toExponential(1)}; L(0) = ${pred.initialLoss.toFixed(4)})`);
    expect(lb).toBeGreaterThan(1e-4 * pred.initialLoss);
    expect(lf - level).toBeLessThan(1e-6 * pred.initialLoss);
    expect(() => solveAgf(pr, { ...transient, fitFinal: -1 })).toThrow(/fitFinal must be an integer ≥ 0/);
  });
});

describe('RKC flow where its step is unstable', () => {
  // p = 11, H = 9, α = 1e-2 at step 0.1: the state blows up near t = 10 (loss 1e37 while y[0] stays
  // finite, λ of L ~1e26). A gradient flow cannot do that — ∫‖∇L‖² dt ≤ L(0) bounds the path — so it
  // is the fixed step: RKC restarts at half the step
  const pr = modularProblem({ p: 11, H: 9, alpha: 1e-2, spectrum: parseSpectrum('1:10,3:5'), initSeed: 0 });
  it('restarts at half the step, and then follows the flow: loss at t = 10 = dopri5 (rtol 1e-8) to 1 %, non-increasing throughout', () => {
    const tr = solveFlowRkc(pr, { tEnd: 10, dt: 0.1 });
    expect(tr.stats.halvings).toBe(1);
    expect(tr.stats.dt).toBe(0.05);
    const ref = solveFlow(pr, { tEnd: 10, rtol: 1e-8, tEval: [10], dense: false });
    const L = tr.loss[tr.loss.length - 1], Lref = ref.loss[ref.loss.length - 1];
    expect(Math.abs(L - Lref) / Lref).toBeLessThan(0.01);
    for (let k = 1; k < tr.loss.length; k++) expect(tr.loss[k]).toBeLessThanOrEqual(tr.loss[k - 1] * (1 + 1e-9));
    // the fit path (final state only) checks the end state too: it returned loss 1e37 before
    const fin = solveFlowRkc(pr, { tEnd: 10, dt: 0.1, finalOnly: true });
    expect(Math.abs(fin.loss[0] - Lref) / Lref).toBeLessThan(0.01);
  });
  it('a step still unstable after five halvings is a DivergenceError naming the step and the halvings', () => {
    expect(() => solveFlowRkc(pr, { tEnd: 128, dt: 64, finalOnly: true })).toThrow(/the loss rose to .* which a gradient flow cannot do — still unstable after halving the step 5 times from 64$/);
  });
});

describe('compare modular: the momentum run at its default step', () => {
  // p = 7, H = 6, α = 1e-2, seed 0: the flow's sharpness reaches λ_max ≈ 5e3, past the heavy ball's
  // stability limit 2(1 + m)/lr ≈ 1270 at the default lr = 0.003 — that run diverges
  const pr = createProblem(modular, { dims: { p: 7, h: 6 }, alpha: 1e-2, seed: 0 });
  it('a given --lr that diverges is the user\'s error; the default is halved until its run completes, and the note says so', () => {
    expect(() => runModular(pr, { methods: ['momentum'], lr: 0.003 })).toThrow(/diverged at step \d+ .* at lr = 0.003; give a smaller --lr/);
    const r = runModular(pr, { methods: ['momentum'] });
    const note = r.notes.find((n) => n.startsWith('momentum:'))!;
    const lr = Number(/lr = ([0-9.e-]+)/.exec(note)![1]);
    const halvings = Number(/halved (\d)×/.exec(note)![1]);
    expect(halvings).toBeGreaterThanOrEqual(1);
    expect(lr).toBe(0.003 / 2 ** halvings);
    expect(note).toMatch(/the default 0.003 diverged.*; --lr sets it/);
    // the run it reports is that step's, whole: every checkpoint finite, out to the horizon
    const tr = r.trajectories.momentum;
    expect(tr.loss.every(Number.isFinite)).toBe(true);
    expect(tr.t[tr.t.length - 1]).toBeGreaterThan(50);
  }, 120_000);
});

describe('one-hot encoding', () => {
  it('flat spectrum: every frequency has the same U*, so no frequency is learned first — no ordered plateaus', () => {
    const p = 7, H = 10;
    // plain one-hot e_0 has X[0] = 1: its utility maximiser is the constant mode (value below), learned
    // first; the centred one-hot e_0 − 1/p has the flat spectrum the 'no saddles' statement is about
    const plain = modularProblem({ p, H: 4, alpha: 0.1, oneHot: true });
    const rPlain = maximiseUtility(plain, { seed: 3 });
    const fPlain = neuronFrequency(rPlain.directions[rPlain.best], p, 0);
    const pr = modularProblem({ p, H, alpha: 0.1, oneHot: 'centred', initSeed: 2 });
    const x = pr.data.Y.subarray(0, p);
    const X = dft(x);
    for (let xi = 1; xi < p; xi++) expect(Math.hypot(X.re[xi], X.im[xi])).toBeCloseTo(1, 12);
    expect(Math.abs(X.re[0])).toBeLessThan(1e-12);
    // utility maximisation: starts land on different frequencies, all at the same value √(2/27)·p^{−3/2}
    const res = maximiseUtility(pr, { seed: 3 });
    const uStar = utilityStar(p, 1, 1);
    const landed = new Set<number>();
    res.directions.forEach((d, k) => {
      const nf = neuronFrequency(d, p, 0);
      if (nf.freq > 0 && nf.fraction > 0.99) {
        landed.add(nf.freq);
        expect(Math.abs(res.values[k] - uStar) / uStar).toBeLessThan(1e-6);
      }
    });
    expect(landed.size).toBeGreaterThanOrEqual(2);
    // gradient flow: first activations of the different frequencies come in one window
    const tr = solveFlowRkc(pr, { tEnd: 1000, dt: 0.5 });
    const groups = groupByFrequency(p, tr.states[tr.states.length - 1], trajectoryActivations(tr, 3 * p, H));
    const firsts = groups.filter((g) => g.freq > 0).map((g) => g.times[0]);
    const L = tr.loss;
    console.log(`plain one-hot e_0: utility maximiser at ξ = ${fPlain.freq} (power ${fPlain.fraction.toFixed(4)}), Û = ${rPlain.values[rPlain.best].toPrecision(6)} vs U*_{ξ≠0} = ${utilityStar(p, 1, 1).toPrecision(6)}`);
    console.log(`centred one-hot p = ${p}, H = ${H}, alpha = 0.1 (flow, RKC2 step 0.5): L0 = ${L[0].toFixed(5)}, L(250) = ${L[Math.round(L.length / 4)].toFixed(4)}, L(500) = ${L[Math.round(L.length / 2)].toFixed(4)}, L(1000) = ${L.at(-1)!.toExponential(2)}; first activation per frequency ${groups.map((g) => `ξ=${g.freq}: ${g.times[0].toFixed(1)} (${g.neurons.length} neurons)`).join(', ')}; utility maximisers landed on ξ ∈ {${[...landed].join(', ')}}`);
    expect(firsts.length).toBeGreaterThanOrEqual(2);
    // with the spectrum 1:10,3:5 the ratio is 8 (U*_1/U*_3); here the spread comes from the random starts only
    expect(Math.max(...firsts) / Math.min(...firsts)).toBeLessThan(3);
  });
});

describe('CLI', () => {
  it('utility and compare modular run end to end on a small case (--json)', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), progress: false };
    expect(await main(['utility', 'modular', '--dim', 'p=11', '--dim', 'h=3', '--spectrum', '1:10,3:5', '--json'], io)).toBe(0);
    const u = JSON.parse(out.pop()!);
    expect(u.starts[u.best].freq).toBe(1);
    expect(Math.abs(u.starts[u.best].value - utilityStar(11, 1, 10)) / utilityStar(11, 1, 10)).toBeLessThan(1e-6);
    expect(await main(['compare', 'modular', '--dim', 'p=7', '--dim', 'h=6', '--spectrum', '1:4,2:1', '--alpha', '0.3', '--json'], io)).toBe(0);
    const c = JSON.parse(out.pop()!);
    expect(c.frequencies.map((r: { freq: number }) => r.freq)).toEqual([1, 2]);
    expect(c.frequencies[0].level).toBeCloseTo(classLoss(7, 2, 1), 12);
  });

  it('agf modular --spectrum (as compare and utility take it): the schedule of that spectrum, its last level the closed-form residual of the unlearned frequency', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => undefined, progress: false };
    const argv = ['agf', 'modular', '--dim', 'p=7', '--dim', 'h=6', '--spectrum', '1:4,2:1', '--alpha', '1e-4'];
    expect(await main(argv, io)).toBe(0);
    expect(out.pop()!).toMatch(/^data: modular addition mod 7, x with \|X\[ξ\]\| = 1:4,2:1 /m);
    expect(await main([...argv, '--json'], io)).toBe(0);
    const j = JSON.parse(out.pop()!) as { jumps: { lossAfter: number }[] };
    const last = j.jumps.at(-1)!.lossAfter;
    expect(Math.abs(last - classLoss(7, 2, 1)) / classLoss(7, 2, 1)).toBeLessThan(1e-6);
    expect(await main(['agf', 'diagonal', '--spectrum', '1:4'], io)).toBe(2);
  });

  it('compare modular: a narrow table by default (ξ, U*, t½ per method, rel. diff vs AGF, neurons), --columns full for the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-modular-cols-'));
    const argv = ['compare', 'modular', '--dim', 'p=7', '--dim', 'h=6', '--spectrum', '1:4,2:1', '--alpha', '0.3'];
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => undefined, progress: false };
    expect(await main([...argv, '--out', dir], io)).toBe(0);
    const csv = readFileSync(join(dir, 'compare.csv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(csv[0].split(',')).toEqual(['freq', 'u_star', 'half_agf', 'half_flow', 'half_momentum', 'rel_flow', 'rel_momentum', 'n_agf', 'n_flow', 'n_momentum']);
    // rel. diff recomputed from the JSON's t½ of each method
    const j = JSON.parse(readFileSync(join(dir, 'compare.json'), 'utf8')) as { frequencies: { half: Record<string, number | null> }[] };
    const row = csv[1].split(',');
    const half = j.frequencies[0].half;
    for (const [m, col] of [['flow', 5], ['momentum', 6]] as const) expect(Number(row[col])).toBeCloseTo((half[m]! - half.agf!) / half.agf!, 12);
    const text = out.join('\n').split('\n');
    expect(Math.max(...text.slice(1, 5).map((l) => l.length))).toBeLessThan(120);
    out.length = 0;
    expect(await main([...argv, '--columns', 'full'], io)).toBe(0);
    const full = out.join('\n').split('\n')[1];
    for (const h of ['|X[ξ]|', 'τ aligned', 't1 agf', 't½ momentum', 'rel. diff flow', 'level torch', 'plateau momentum']) expect(full).toContain(h);
  });
});

describe('compare modular at a small alpha: the simulations\' lengths are checked before either runs', () => {
  // κ = 3 plateaus last ~1/α: at α = 1e-6 (p = 7) the heavy ball needs 1000·T/(lr/(1 − m)) ≈ 3e7
  // steps, the default flow (p = 20) 2.4e8 fixed RKC steps — hours, where the cap is 1e7 steps
  it('p = 7, h = 6, α = 1e-6: one line naming the steps, the horizon and the cap; exit 2, no simulation run', async () => {
    const t0 = performance.now();
    await expectBadInput(['compare', 'modular', '--dim', 'p=7', '--dim', 'h=6', '--alpha', '1e-6'], /^gradflow: momentum: \d+ steps needed to reach t = [\d.e+]+ \(heavy ball, lr = 0\.003, m = 0\.9; cap 10000000, GRADFLOW_MAX_STEPS\)/);
    // AGF alone ran (about a second), not 8.9e6 flow steps
    expect(performance.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});

describe('compare modular: the flow\'s t½ against an independent flow', () => {
  // reference: dopri5 at rtol 1e-10 with dense output, the crossing of each frequency's residual
  // class loss through half its initial value located by bisection on the dense output (no series,
  // no sampling) — the table's t½ had been read off 200 samples of a fixed-step RKC flow (p = 20,
  // α = 0.3: ξ = 1 at 1.2125 where the crossing is 1.1248)
  it('p = 7, h = 6, spectrum 1:4,2:1, α = 0.3: the flow\'s t½ of ξ = 1 within 1e-4 (relative) of the reference; ξ = 2, not learned by t_end in the reference, has none', () => {
    const pr = modularProblem({ p: 7, H: 6, alpha: 0.3, spectrum: parseSpectrum('1:4,2:1') });
    const run = runModular(pr, { methods: ['flow'] });
    const tEnd = run.trajectories.flow.t.at(-1)!;
    const ref = solveFlow(pr, { tEnd, rtol: 1e-10, method: 'dopri5', maxSteps: 1e7, tEval: [tEnd] });
    const init = residualClassLoss(pr, new Float64Array(pr.theta0.length));
    for (const f of [1, 2]) {
      const g = (t: number): number => residualClassLoss(pr, ref.dense!(t))[f] - 0.5 * init[f];
      // first sign change on a scan of 2000 points, then bisection
      let a = 0, b = 0;
      for (let k = 1; k <= 2000; k++) { b = (tEnd * k) / 2000; if (g(b) <= 0) break; a = b; }
      if (f === 2) {
        expect(g(b)).toBeGreaterThan(0);
        expect(run.rows.find((r) => r.freq === f)!.half.flow).toBeNull();
        continue;
      }
      expect(g(b)).toBeLessThanOrEqual(0);
      for (let it = 0; it < 60; it++) { const m = 0.5 * (a + b); if (g(m) > 0) a = m; else b = m; }
      const half = run.rows.find((r) => r.freq === f)!.half.flow!;
      console.log(`compare modular p = 7, α = 0.3, ξ = ${f}: flow t½ ${half.toPrecision(8)}, reference ${b.toPrecision(8)}`);
      expect(Math.abs(half - b) / b).toBeLessThan(1e-4);
    }
  }, 120_000);

  it('α = 1e-2 (p = 7, h = 6, 1:4,2:1): the flow\'s t½ of ξ = 1 within 1e-4 of the reference, whatever the horizon (its checkpoints are ~horizon/4000 apart)', () => {
    const pr = modularProblem({ p: 7, H: 6, alpha: 1e-2, spectrum: parseSpectrum('1:4,2:1') });
    const halves = [undefined, 600].map((horizon) => runModular(pr, { methods: ['flow'], horizon }).rows.find((r) => r.freq === 1)!.half.flow!);
    const tEnd = 1.2 * halves[0];
    const ref = solveFlow(pr, { tEnd, rtol: 1e-10, method: 'dopri5', maxSteps: 1e7, tEval: [tEnd] });
    const init = residualClassLoss(pr, new Float64Array(pr.theta0.length));
    const g = (t: number): number => residualClassLoss(pr, ref.dense!(t))[1] - 0.5 * init[1];
    let a = 0, b = 0;
    for (let k = 1; k <= 4000; k++) { b = (tEnd * k) / 4000; if (g(b) <= 0) break; a = b; }
    expect(g(b)).toBeLessThanOrEqual(0);
    for (let it = 0; it < 60; it++) { const m = 0.5 * (a + b); if (g(m) > 0) a = m; else b = m; }
    console.log(`compare modular p = 7, α = 1e-2, ξ = 1: flow t½ ${halves.map((h) => h.toPrecision(10)).join(' / ')} (default horizon / 600), reference ${b.toPrecision(10)}`);
    for (const h of halves) expect(Math.abs(h - b) / b).toBeLessThan(1e-4);
  }, 120_000);

  it('the heavy ball\'s t½ (stored every few steps) equals the crossing read at every step of the same run (α = 1e-2, p = 7)', () => {
    const pr = modularProblem({ p: 7, H: 6, alpha: 1e-2, spectrum: parseSpectrum('1:4,2:1') });
    const run = runModular(pr, { methods: ['momentum'] });
    const tr = run.trajectories.momentum;
    const steps = tr.monitors.step.at(-1)!;
    expect(tr.monitors.step[1]).toBeGreaterThan(1); // stored every few steps: the case that needs the re-run
    const lr = Number(tr.stats.lr), m = Number(tr.stats.momentum);
    const every = solveDescent(pr, { lr, momentum: m, steps, recordEvery: 1 });
    const init = residualClassLoss(pr, new Float64Array(pr.theta0.length));
    let ref: number | null = null;
    for (let k = 1; k < every.states.length && ref === null; k++) {
      const a = residualClassLoss(pr, every.states[k - 1])[1] - 0.5 * init[1], b = residualClassLoss(pr, every.states[k])[1] - 0.5 * init[1];
      if (a > 0 && b <= 0) ref = every.t[k - 1] + (a / (a - b)) * (every.t[k] - every.t[k - 1]);
    }
    const half = run.rows.find((r) => r.freq === 1)!.half.momentum!;
    console.log(`compare modular p = 7, α = 1e-2, heavy ball ξ = 1: t½ ${half.toPrecision(10)}, every step ${ref!.toPrecision(10)} (stored every ${tr.monitors.step[1]} steps)`);
    expect(Math.abs(half - ref!) / ref!).toBeLessThan(1e-12);
  }, 120_000);

  it('AGF\'s t½ is its own jump: the first jump whose state has the residual at ξ at or below half (AGF\'s loss is constant between jumps)', () => {
    const pr = modularProblem({ p: 7, H: 6, alpha: 0.3, spectrum: parseSpectrum('1:4,2:1') });
    const run = runModular(pr, { methods: [] });
    const states = run.agf.extra!.states as Float64Array[];
    const init = residualClassLoss(pr, new Float64Array(pr.theta0.length));
    const k = states.findIndex((st) => residualClassLoss(pr, st)[1] <= 0.5 * init[1]);
    expect(k).toBeGreaterThan(0);
    expect(run.rows.find((r) => r.freq === 1)!.half.agf).toBe(run.agf.jumps[k].time);
  });
});
