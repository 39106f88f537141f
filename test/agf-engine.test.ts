/**
 * The generic AGF engine (src/solvers/agf.ts) against independent oracles, at every α:
 * - diagonal: the closed-form AGF (agf-diagonal.ts: cosh formulas, least squares, Lawson–Hanson
 *   active → dormant rule) and, for α → 0, Pesme–Flammarion (pf.ts: sign-constrained LSQ);
 * - linear networks / factorisations from random starts: the commuting closed form τ_k = 1/σ_k
 *   with levels ½(tr Σ_yy − Σ_{j≤k} μ_j), and in the non-commuting case the published
 *   conjecture (agf-linear.ts: Σ_i σ_{i,k−1−i} Δ_{i+1} = 1 on the deflated Σ_yx);
 * - κ = 3: finite-α schedules converge to their α → 0 limit, jumps exist down to α = 1e-300.
 * Conventions: loss (1/2n)Σ(y − f)², flow time (unit learning rate), rescaled t/log(1/α) (κ = 2).
 */
import { describe, expect, it } from 'vitest';
import { diagonal, example2d } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { factorization, factorizationUV } from '../models/factorization.ts';
import { createProblem } from '../src/problem.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { solveAgfDiagonal } from '../src/solvers/agf-diagonal.ts';
import { solvePf } from '../src/solvers/pf.ts';
import { commutingPrediction, conjecturePrediction, momentsOfProblem, predictLinear } from '../src/solvers/agf-linear.ts';
import { readSpec } from '../src/specfile.ts';
import { runMethods } from '../src/analysis/runs.ts';
import { correlatedData } from './helpers/data.ts';
import { expectSameSchedule } from './helpers/schedules.ts';
import { neuronJacobianColumn, neuronOutput, quadForms } from '../src/solvers/agf/quadratic.ts';
import { eigenbasis, jacobiEig } from '../src/solvers/agf/spectral.ts';
import { activationLowerBound, activationTime } from '../src/solvers/agf/graded.ts';
import { FINITE } from '../src/solvers/agf/logscale.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { Rng } from '../src/util/rng.ts';

describe('diagonal: generic engine = closed form at every α', () => {
  it('random and correlated datasets (d up to 40, with deactivations), α = 1e-2 … 1e-300: ≤ 1e-9 relative', () => {
    let runs = 0, deactivations = 0, worst = 0;
    for (const [seed, d] of [[1, 6], [2, 12], [3, 20], [4, 40], [5, 8], [6, 16]] as const) {
      const data = seed % 2 ? correlatedData(seed, 2 * d, d) : undefined;
      for (const alpha of [1e-2, 1e-4, 1e-8, 1e-16, 1e-100, 1e-300]) {
        const p = createProblem(diagonal, { data, dims: { d }, alpha, seed, options: data ? {} : { n: 2 * d } });
        const c = solveAgfDiagonal(p);
        worst = Math.max(worst, expectSameSchedule(solveAgf(p), c, 1e-9));
        deactivations += c.jumps.reduce((s, j) => s + j.deactivated.length, 0);
        runs++;
      }
    }
    console.log(`diagonal generic vs closed form: ${runs} runs, ${deactivations} deactivations, worst relative rescaled-time error ${worst.toExponential(2)}`);
    expect(deactivations).toBeGreaterThan(0);
  });

  it('100 more random datasets (d = 5, 12, 30, half with correlated inputs), each at one α ≥ 1e-8 and one ≤ 1e-16: ≤ 1e-9 relative, same neurons, signs and deactivations', () => {
    const small = [1e-2, 1e-4, 1e-8], tiny = [1e-16, 1e-100, 1e-300];
    let runs = 0, deactivations = 0, reactivations = 0, worst = 0;
    for (let seed = 0; seed < 100; seed++) {
      const d = [5, 12, 30][seed % 3];
      const data = seed % 2 ? correlatedData(seed, 2 * d, d) : undefined;
      for (const alpha of [small[seed % 3], tiny[(seed >> 1) % 3]]) {
        const p = createProblem(diagonal, { data, dims: { d }, alpha, seed, options: data ? {} : { n: 2 * d } });
        const c = solveAgfDiagonal(p);
        // every jump, the last one into zero loss included: it is timed by the slowest rate, a
        // correlation of an already tiny residual (hence Gauss–Newton at the end of each fit)
        worst = Math.max(worst, expectSameSchedule(solveAgf(p), c, 1e-9));
        const seen = new Set<number>();
        for (const j of c.jumps) {
          if (seen.has(j.neuron)) reactivations++;
          seen.add(j.neuron);
          deactivations += j.deactivated.length;
        }
        runs++;
      }
    }
    console.log(`diagonal generic vs closed form: ${runs} more runs on 100 datasets, ${deactivations} deactivations, ${reactivations} reactivations, worst relative time error ${worst.toExponential(2)}`);
    expect(deactivations).toBeGreaterThan(10);
    expect(reactivations).toBeGreaterThan(10);
  });

  it('n = 40 < d (degenerate least squares): d = 50 and 100 at α = 1e-8, same schedule as the closed form to 1e-9', () => {
    // where the fit's path crosses a zero the constrained optimum does not need, the neuron re-enters at
    // once and rejoins the same jump (no zero-length deactivation)
    for (const [d, seed] of [[50, 0], [50, 1], [100, 1], [100, 3]] as const) {
      const p = createProblem(diagonal, { dims: { d }, alpha: 1e-8, seed });
      const c = solveAgfDiagonal(p);
      expectSameSchedule(solveAgf(p), c, 1e-9);
      expect(c.jumps.some((j) => j.deactivated.length > 1)).toBe(true);
    }
  });

  it('α → 0 limit (max-plus) = Pesme–Flammarion, including the 2-D worked example', () => {
    const cases = [createProblem(diagonal, { data: example2d(), alpha: 1e-3 })];
    for (const seed of [1, 3, 7]) cases.push(createProblem(diagonal, { data: correlatedData(seed, 16, 8), alpha: 1e-3 }));
    for (const p of cases) {
      const g = solveAgf(p, { limit: true });
      const pf = solvePf(p);
      expect(g.jumps.length).toBe(pf.jumps.length);
      pf.jumps.forEach((q, k) => {
        expect(g.jumps[k].neuron).toBe(q.neuron);
        expect(Math.abs(g.jumps[k].rescaledTime - q.rescaledTime)).toBeLessThanOrEqual(1e-10 * q.rescaledTime);
        expect(Math.abs(g.jumps[k].lossAfter - q.lossAfter)).toBeLessThanOrEqual(1e-9 * pf.initialLoss);
      });
      expect(g.conventions.alpha).toBe(0);
    }
  });
});

describe('the fast paths of the κ = 2 engine against direct computations', () => {
  it('d = 1000, n = 40 (the bench problem): generic = closed form to 1e-9', () => {
    const p = createProblem(diagonal, { dims: { d: 1000 }, alpha: 1e-8, seed: 4 });
    const c = solveAgfDiagonal(p);
    expectSameSchedule(solveAgf(p), c, 1e-9);
    expect(c.jumps.length).toBeGreaterThan(40);
  });

  it('quadratic-form table: outputs = the kernel\'s neuronOutputs, Jacobian columns = one-hot vjps (exact rows of J), on diagonal and linear networks; refused for κ = 3', () => {
    const rng = new Rng(5), rnd = (): number => rng.uniform();
    for (const p of [createProblem(diagonal, { dims: { d: 7 }, alpha: 0.1, seed: 1 }), createProblem(linear, { dims: { c: 3, d: 4, h: 3 }, alpha: 0.1, seed: 2 })]) {
      const Q = quadForms(p)!;
      expect(Q).not.toBeNull();
      const { H, P, c } = p.layout;
      const { X, n } = p.data;
      const nc = n * c;
      const th = Float64Array.from({ length: H * P }, () => rnd() - 0.5);
      const outs = new Float64Array(H * nc);
      p.kernels.neuronOutputs(th, X, n, outs);
      const f = new Float64Array(nc), col = new Float64Array(nc);
      let scale = 0;
      for (const v of outs) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < H; i++) {
        neuronOutput(Q, th, i, f);
        for (let q = 0; q < nc; q++) expect(Math.abs(f[q] - outs[i * nc + q])).toBeLessThanOrEqual(1e-13 * scale);
      }
      // J row m of neuron i: n·vjpMean with cotangent e_m, restricted to slot i
      const E = new Float64Array(nc), g = new Float64Array(H * P);
      for (const m of [0, 3, nc - 1]) {
        E.fill(0);
        E[m] = n;
        p.kernels.vjpMean(th, X, E, n, g, null);
        for (let i = 0; i < H; i++) for (let a = 0; a < P; a++) {
          neuronJacobianColumn(Q, th, i, a, col);
          expect(Math.abs(col[m] - g[i * P + a])).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(g[i * P + a])));
        }
      }
    }
    const three = createProblem(readSpec('examples/three-factor-diagonal.json'), { alpha: 0.1, seed: 1 });
    expect(quadForms(three)).toBeNull(); // outputs cubic in θ_i: the premise check refuses the table
  });

  it('a plateau keeps the previous eigenbasis exactly when its vectors are still eigenvectors, with the eigenvalues of a fresh decomposition; otherwise it decomposes afresh', () => {
    const rng = new Rng(11), rnd = (): number => rng.uniform();
    const tol = { zeroTol: 1e-10, clusterTol: 1e-10, snapTol: 1e-9 };
    for (let trial = 0; trial < 50; trial++) {
      const P = 2 + (trial % 5);
      const A = Float64Array.from({ length: P * P }, () => rnd() - 0.5);
      for (let a = 0; a < P; a++) for (let b = 0; b < a; b++) A[a * P + b] = A[b * P + a];
      const prev = eigenbasis(A, P, 1, tol);
      // same eigenvectors, new eigenvalues (one repeated pair when P ≥ 4, one zero when P ≥ 3): M = V diag(μ) Vᵀ
      const mu = Array.from({ length: P }, () => 2 * rnd() - 1);
      if (P >= 4) mu[1] = mu[2];
      if (P >= 3) mu[0] = 0;
      const M = new Float64Array(P * P);
      prev.vectors.forEach((v, k) => { for (let a = 0; a < P; a++) for (let b = 0; b < P; b++) M[a * P + b] += mu[k] * v[a] * v[b]; });
      const kept = eigenbasis(M, P, 1, tol, prev);
      const fresh = jacobiEig(M, P).values;
      kept.vectors.forEach((v) => expect(prev.vectors.includes(v)).toBe(true));
      kept.values.forEach((x, k) => expect(Math.abs(x - (Math.abs(fresh[k]) <= 1e-10 ? 0 : fresh[k]))).toBeLessThanOrEqual(1e-13));
      // a rotated M: its eigenvectors moved, the basis is recomputed (vectors are M's to round-off)
      const R = Float64Array.from(M);
      R[0] += 0.3; R[P * P - 1] -= 0.2;
      const moved = eigenbasis(R, P, 1, tol, prev);
      const ref = jacobiEig(R, P).values;
      moved.values.forEach((x, k) => expect(Math.abs(x - ref[k])).toBeLessThanOrEqual(1e-12));
      moved.vectors.forEach((v, k) => {
        let res = 0;
        for (let a = 0; a < P; a++) { let w = 0; for (let b = 0; b < P; b++) w += R[a * P + b] * v[b]; res += (w - moved.values[k] * v[a]) ** 2; }
        expect(Math.sqrt(res)).toBeLessThanOrEqual(1e-12);
      });
    }
  });

  it('gradient descent: fits are rebalanced to the flow\'s conserved u² − v², so the saddle\'s sharpness is the one descent meets — seed 5, d = 8, lr = 0.05: the schedule continues past the saddle an unbalanced fit called unstable (lr·λ_max 2.52), as simulated descent does', () => {
    const p = createProblem(diagonal, { data: correlatedData(5, 16, 8), dims: { d: 8 }, alpha: 1e-8, seed: 5 });
    const g = solveAgf(p, { algorithm: { kind: 'gd', lr: 0.05 } });
    expect(g.extra?.status).not.toBe('unstable');
    // the active neurons keep the flow's invariant u² − v² = 2α² (init u = √2·α, v = 0)
    const th = g.extra!.finalTheta as number[], act = (g.extra!.activeSets as number[][]).at(-1)!;
    expect(act.length).toBeGreaterThan(2);
    for (const i of act) expect(Math.abs(th[2 * i] ** 2 - th[2 * i + 1] ** 2 - 2e-16)).toBeLessThanOrEqual(1e-12 * (th[2 * i] ** 2 + th[2 * i + 1] ** 2));
    const last = g.jumps.at(-1)!, before = g.jumps.at(-2)!;
    const steps = Math.ceil(1.3 * last.step!);
    const tr = solveDescent(p, { lr: 0.05, steps, recordEvery: 100 });
    // the simulated loss ends on the predicted last plateau, and crosses the midpoint between the
    // last two plateaus near the predicted step (the jump's width is O(1/λ) steps; α-offsets O(1/log(1/α)))
    expect(Math.abs(tr.loss.at(-1)! - last.lossAfter)).toBeLessThanOrEqual(1e-3 * last.lossAfter);
    const mid = 0.5 * (last.lossAfter + before.lossAfter);
    const k = tr.loss.findIndex((L) => L < mid);
    expect(k).toBeGreaterThan(0);
    expect(Math.abs(tr.monitors.step[k] - last.step!)).toBeLessThanOrEqual(0.05 * last.step!);
  });

  it('the activation lower bound never exceeds the activation time (random graded states, rates of both signs)', () => {
    const rng = new Rng(3), rnd = (): number => rng.uniform();
    let tight = 0;
    for (let trial = 0; trial < 500; trial++) {
      const P = 1 + (trial % 6);
      const values = Float64Array.from({ length: P }, () => 2 * rnd() - 0.8);
      values.sort().reverse();
      const st = { basis: { values, vectors: [] }, s: Float64Array.from({ length: P }, () => (rnd() < 0.2 ? 0 : rnd() < 0.5 ? -1 : 1)), l: Float64Array.from({ length: P }, () => -40 * rnd()) };
      for (let k = 0; k < P; k++) if (st.s[k] === 0) st.l[k] = -Infinity;
      const lo = activationLowerBound(FINITE, st), t = activationTime(FINITE, st);
      // to round-off (one coordinate: the bound is the root itself); the engine skips only above τ·(1 + 1e-9)
      expect(lo).toBeLessThanOrEqual(t * (1 + 1e-12));
      if (Number.isFinite(t) && t - lo <= 0.05 * t) tight++;
    }
    expect(tight).toBeGreaterThan(50); // the bound is close enough to skip most neurons
  });
});

describe('linear networks and factorisations from random starts', () => {
  it('commuting moments: all rank(Σ_yx) jumps at every α down to 1e-300; the limit is τ_k = 1/σ_k with levels ½(tr Σ_yy − Σμ) to 1e-8', () => {
    for (const [c, d, h, kase] of [[4, 4, 4, 0], [6, 5, 6, 1], [10, 10, 10, 0]] as const) {
      const p0 = createProblem(linear, { dims: { c, d, h }, alpha: 1e-4, seed: 2, options: { case: kase } });
      const pred = commutingPrediction(momentsOfProblem(p0));
      const rank = pred.rescaledTimes.length;
      const lim = solveAgf(p0, { limit: true });
      expect(lim.jumps.length).toBe(rank);
      lim.jumps.forEach((j, k) => {
        expect(Math.abs(j.rescaledTime - pred.rescaledTimes[k])).toBeLessThanOrEqual(1e-8 * pred.rescaledTimes[k]);
        expect(Math.abs(j.lossAfter - pred.levels[k])).toBeLessThanOrEqual(1e-8 * lim.initialLoss);
      });
      let prevGap = Infinity, offset = 0;
      for (const alpha of [1e-4, 1e-16, 1e-100, 1e-300]) {
        const g = solveAgf(createProblem(linear, { dims: { c, d, h }, alpha, seed: 2, options: { case: kase } }));
        expect(g.jumps.length).toBe(rank);
        expect(g.extra?.status).toBe('zero-loss');
        // finite α approaches the limit like 1/log(1/α)
        const gap = Math.max(...g.jumps.map((j, k) => Math.abs(j.rescaledTime - pred.rescaledTimes[k])));
        expect(gap).toBeLessThan(prevGap);
        prevGap = gap;
        offset = Math.max(offset, gap * Math.log(1 / alpha)); // the flow-time offset stays O(1)
      }
      expect(offset).toBeLessThan(40);
    }
  });

  it('non-commuting moments: the engine’s α → 0 limit equals the published conjecture to ≤ 1e-6', () => {
    for (const seed of [1, 2, 3]) {
      const p = createProblem(linear, { dims: { c: 5, d: 5, h: 5 }, alpha: 1e-4, seed, options: { case: 2 } });
      const conj = conjecturePrediction(momentsOfProblem(p));
      const lim = solveAgf(p, { limit: true });
      expect(lim.jumps.length).toBe(conj.rescaledTimes.length);
      lim.jumps.forEach((j, k) => {
        expect(Math.abs(j.rescaledTime - conj.rescaledTimes[k])).toBeLessThanOrEqual(1e-6 * conj.rescaledTimes[k]);
        expect(Math.abs(j.lossAfter - conj.levels[k])).toBeLessThanOrEqual(1e-8 * lim.initialLoss);
      });
    }
  });

  it('non-commuting moments: the simulated flow approaches the engine\'s limit (= the conjecture) like 1/log(1/α) from α = 1e-4 to 1e-16', () => {
    // the flow's rescaled gap e(α) = |t_flow/log(1/α) − τ_k|: an O(1) flow-time offset, so e·log(1/α)
    // stays put while e itself falls 4-fold from α = 1e-4 to 1e-16 (a constant or α^p error would not)
    const make = (alpha: number) => createProblem(linear, { alpha, seed: 0, options: { case: 2 } });
    const lim = solveAgf(make(1e-4), { limit: true });
    const conj = conjecturePrediction(momentsOfProblem(make(1e-4)));
    lim.jumps.forEach((j, k) => expect(Math.abs(j.rescaledTime - conj.rescaledTimes[k])).toBeLessThanOrEqual(1e-6 * conj.rescaledTimes[k]));
    const alphas = [1e-4, 1e-8, 1e-16];
    const gaps = alphas.map((alpha) => {
      const flow = runMethods(make(alpha), { methods: ['flow'] }).schedules.find((s) => s.method === 'flow')!;
      expect(flow.jumps).toHaveLength(lim.jumps.length);
      return flow.jumps.map((j, k) => Math.abs(j.rescaledTime - lim.jumps[k].rescaledTime));
    });
    const rows = lim.jumps.map((j, k) => `  ${k + 1}  ${j.rescaledTime.toFixed(6)}  ${gaps.map((g) => g[k].toExponential(3)).join('  ')}  ${gaps.map((g, a) => (g[k] * Math.log(1 / alphas[a])).toFixed(4)).join('  ')}`);
    console.log(['linear case=2 (c = d = h = 4), rescaled t/log(1/α): limit, flow gap at α = 1e-4 / 1e-8 / 1e-16, gap × log(1/α)', ...rows].join('\n'));
    lim.jumps.forEach((_, k) => {
      const scaled = gaps.map((g, a) => g[k] * Math.log(1 / alphas[a]));
      expect(Math.max(...scaled) / Math.min(...scaled)).toBeLessThan(1.5);
      expect(gaps[2][k]).toBeLessThan(gaps[0][k] / 2.5);
    });
  });

  it('symmetric factorisation uuᵀ and UVᵀ: limits 1/(2λ_k) and 1/σ_k (closed forms), every mode learned at α = 1e-300', () => {
    for (const model of [factorization, factorizationUV]) {
      const p = createProblem(model, { alpha: 1e-4, seed: 3 });
      const pred = predictLinear(p);
      const lim = solveAgf(p, { limit: true });
      expect(lim.jumps.map((j) => j.rescaledTime).map((t, k) => Math.abs(t - pred.rescaledTimes[k]) / pred.rescaledTimes[k]).every((e) => e < 1e-8)).toBe(true);
      const tiny = solveAgf(createProblem(model, { alpha: 1e-300, seed: 3 }));
      expect(tiny.jumps.length).toBe(pred.rescaledTimes.length);
    }
  });

  it('a user spec with a hidden bias (linear-with-bias.json) is a linear network on [x; 1]: its limit matches the conjecture on the augmented moments', () => {
    const def = readSpec('examples/linear-with-bias.json');
    const p = createProblem(def, { alpha: 1e-4, seed: 0 });
    const lim = solveAgf(p, { limit: true });
    const fin = solveAgf(createProblem(def, { alpha: 1e-100, seed: 0 }));
    expect(fin.jumps.length).toBe(lim.jumps.length);
    // finite α is within O(1/log(1/α)) of the limit, jump by jump
    fin.jumps.forEach((j, k) => expect(Math.abs(j.rescaledTime - lim.jumps[k].rescaledTime)).toBeLessThan(0.05 * lim.jumps[k].rescaledTime));
    expect(lim.extra?.status).toBe('zero-loss');
  });
});

describe('κ = 3', () => {
  it('three-factor diagonal spec: the same four activations down to α = 1e-300, converging as α → 0', () => {
    const def = readSpec('examples/three-factor-diagonal.json');
    const runs = [1e-6, 1e-15, 1e-100, 1e-300].map((alpha) => solveAgf(createProblem(def, { alpha, seed: 0 })));
    for (const r of runs) {
      expect(r.jumps.map((j) => j.neuron)).toEqual(runs[0].jumps.map((j) => j.neuron));
      expect(r.extra?.status).toBe('zero-loss');
    }
    // rescaled times settle: the κ = 3 corrections are O(α), far below the ODE tolerance at α ≤ 1e-15
    runs[3].jumps.forEach((j, k) => expect(Math.abs(j.rescaledTime - runs[2].jumps[k].rescaledTime)).toBeLessThan(1e-6 * j.rescaledTime));
  });
});

describe('fits that stop short of a critical point are reported', () => {
  it('each jump records ‖∇L‖ where its fit stopped (equal to the gradient recomputed at the final state); a budget too small to converge warns, the default does not', () => {
    const def = readSpec('examples/three-factor-diagonal.json');
    const p = createProblem(def, { alpha: 1e-6, seed: 0 });
    const { H, P } = p.layout;
    const { X, Y, n } = p.data;
    const gradAtEnd = (s: ReturnType<typeof solveAgf>): number => {
      const th = Float64Array.from(s.extra?.finalTheta as number[]);
      const mask = new Uint8Array(H);
      for (const i of (s.extra?.activeSets as number[][]).at(-1)!) mask[i] = 1;
      const g = new Float64Array(H * P);
      p.kernels.lossGrad(th, X, Y, n, g, mask);
      return Math.hypot(...g);
    };
    const full = solveAgf(p);
    const norms = full.extra?.fitGradNorms as number[];
    expect(norms).toHaveLength(full.jumps.length);
    expect(full.extra?.warning).toBeUndefined();
    expect(Math.abs(norms.at(-1)! - gradAtEnd(full))).toBeLessThanOrEqual(1e-12 + 1e-9 * norms.at(-1)!);
    const short = solveAgf(p, { fitIter: 1, maxJumps: 2 });
    const sn = short.extra?.fitGradNorms as number[];
    expect(sn.at(-1)! / gradAtEnd(short)).toBeCloseTo(1, 9);
    expect(Math.max(...sn)).toBeGreaterThan(1e3 * Math.max(...norms));
    expect(String(short.extra?.warning)).toMatch(/stopped short of a critical point .* raise --fit-iter/);
  });
});

describe('κ = 3: the α → 0 limit against the flow extrapolated in α', () => {
  it('three-factor spec: Richardson extrapolation of the flow\'s rescaled jump times from α = 1e-2, 5e-3, 2.5e-3 equals the engine\'s limit within the extrapolation\'s own error', async () => {
    const { solveFlow } = await import('../src/solvers/flow.ts');
    const { detectJumps } = await import('../src/analysis/jumps.ts');
    const def = readSpec('examples/three-factor-diagonal.json');
    const lim = solveAgf(createProblem(def, { alpha: 1e-2, seed: 0 }), { limit: true });
    expect(lim.conventions.alpha).toBe(0);
    // u(α) = u₀ + aα + bα² + …: the κ = 3 corrections are O(α) (activation at q = 1 instead of
    // 0, T₃(α) = 1/α − 1, O(1) flow-time transitions), so halving α twice gives u₀ to O(α³)
    const flows = [1e-2, 5e-3, 2.5e-3].map((alpha) => {
      const p = createProblem(def, { alpha, seed: 0 });
      const agf = solveAgf(p);
      const tr = solveFlow(p, { tEnd: 1.2 * agf.jumps.at(-1)!.time + 50, rtol: 1e-11, dense: true });
      return detectJumps(p, tr, { predicted: agf }).jumps;
    });
    const rows = lim.jumps.map((j, k) => {
      const [u1, u2, u3] = flows.map((f) => f[k].rescaledTime);
      flows.forEach((f) => expect(f[k].neuron).toBe(j.neuron));
      const quad = (8 * u3 - 6 * u2 + u1) / 3, lin = 2 * u3 - u2;
      const err = Math.abs(quad - lin); // the size of the term the quadratic fit removed
      expect(Math.abs(j.rescaledTime - quad)).toBeLessThanOrEqual(Math.max(err, 1e-9 * quad));
      return `jump ${k + 1} (neuron ${j.neuron}): limit ${j.rescaledTime.toFixed(7)}, flow extrapolated ${quad.toFixed(7)} (±${err.toExponential(1)}), flow at α = 2.5e-3 ${u3.toFixed(7)}`;
    });
    console.log(['three-factor spec, rescaled t/T₃(α), T₃ = 1/α − 1, loss (1/2n)Σ(y − f)²:', ...rows].join('\n  '));
  });
});

describe('CLI', () => {
  it('agf --max-jumps N stops after N jumps (the first N of the full schedule) and names the flag; bad values are one line, exit 2', async () => {
    const { run, expectBadInput } = await import('./helpers/cli.ts');
    const full = JSON.parse((await run('agf', 'diagonal', '--json')).out);
    const cut = await run('agf', 'diagonal', '--max-jumps', '2');
    expect(cut.code).toBe(0);
    expect(cut.out).toContain('raise it with --max-jumps');
    const two = JSON.parse((await run('agf', 'diagonal', '--max-jumps', '2', '--json')).out);
    const fj = (full.schedule ?? full).jumps as { time: number; neuron: number }[];
    const tj = (two.schedule ?? two).jumps as { time: number; neuron: number }[];
    expect(tj.length).toBe(2);
    tj.forEach((j, k) => { expect(j.neuron).toBe(fj[k].neuron); expect(j.time).toBe(fj[k].time); });
    await expectBadInput(['agf', 'diagonal', '--max-jumps', '0'], /--max-jumps must be an integer/);
    await expectBadInput(['agf', 'diagonal', '--max-jumps', '2', '--closed'], /--max-jumps is an option of the generic engine/);
  });

  it('gradflow agf diagonal --alpha 0 --json prints the α → 0 schedule, equal to pf', async () => {
    const { run } = await import('./helpers/cli.ts');
    const agf = await run('agf', 'diagonal', '--alpha', '0', '--json');
    const pf = await run('pf', 'diagonal', '--json');
    expect(agf.code).toBe(0);
    const a = JSON.parse(agf.out), q = JSON.parse(pf.out);
    const ja = (a.schedule ?? a).jumps as { rescaledTime: number; neuron: number }[];
    const jq = (q.schedule ?? q).jumps as { rescaledTime: number; neuron: number }[];
    expect(ja.length).toBe(jq.length);
    ja.forEach((j, k) => {
      expect(j.neuron).toBe(jq[k].neuron);
      expect(Math.abs(j.rescaledTime - jq[k].rescaledTime)).toBeLessThanOrEqual(1e-10 * jq[k].rescaledTime);
    });
    // the text table of the limit has no flow-time column (flow time diverges as α → 0): its first
    // time column is pf's rescaled time
    const text = await run('agf', 'diagonal', '--alpha', '0');
    const header = text.out.split('\n')[1].trim().split(/\s+/);
    expect(header.slice(0, 2)).toEqual(['k', 't/log(1/α)']);
    const row1 = text.out.split('\n')[3].trim().split(/\s+/);
    expect(Math.abs(Number(row1[1]) - jq[0].rescaledTime)).toBeLessThanOrEqual(1e-5 * jq[0].rescaledTime);
    expect(text.out).toMatch(/time: rescaled time t\/log\(1\/α\) in the alpha → 0 limit/);
  });
});

describe('ReLU (κ = 2, piecewise linear): the engine through the activation-cone mechanism', () => {
  it('relu model vs its integrated flow at α = 1e-4, 1e-8, 1e-12: same units, the rescaled gap shrinks like 1/log(1/α)', async () => {
    const { findModel } = await import('../models/index.ts');
    const { runMethods } = await import('../src/analysis/runs.ts');
    const { compareSchedules } = await import('../src/analysis/compare.ts');
    const relu = findModel('relu')!;
    const gaps: number[][] = [];
    for (const alpha of [1e-4, 1e-8, 1e-12]) {
      const p = createProblem(relu, { alpha, seed: 0 });
      const runs = runMethods(p, { methods: ['agf', 'flow'] });
      const agf = runs.schedules.find((s) => s.method === 'agf')!;
      const flow = runs.schedules.find((s) => s.method === 'flow')!;
      expect(agf.jumps.length).toBeGreaterThanOrEqual(2);
      expect(flow.jumps.map((j) => j.neuron)).toEqual(agf.jumps.map((j) => j.neuron));
      const cmp = compareSchedules(runs.schedules, 'agf');
      gaps.push(cmp.jumps.map((j) => Math.abs(Number(j.rescaledTime.flow) - Number(j.rescaledTime.agf))));
    }
    // every jump's rescaled gap shrinks as α → 0, and the flow-time gap (× log 1/α) stays O(1)
    for (let k = 0; k < gaps[0].length; k++) {
      expect(gaps[2][k]).toBeLessThan(gaps[0][k]);
      expect(gaps[2][k] * Math.log(1e12)).toBeLessThan(10);
    }
  });
});
