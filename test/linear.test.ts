/**
 * Issue 5: two-layer linear networks, matrix factorisation, Saxe modes, population moments.
 * Each claim is checked against something independent: planted spectra (the generators know
 * σ_k), the compiled loss kernel evaluated at explicitly built saddles, the generic AGF solver,
 * integrated gradient flows (dopri5 and the symplectic gauss4), Saxe's closed form, and a direct
 * integration of the deep scalar chain.
 *
 * Conventions: loss (1/2n)Σ‖y − f‖² (the population loss for moment problems); flow time with
 * unit learning rate; init a_i ~ alpha·N(0, I_c)/√c, w_i ~ alpha·N(0, I_d)/√d (per-factor
 * scale alpha); rescaled time t / log(1/alpha).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linear, factors, balanceMatrix, endToEnd } from '../models/linear.ts';
import { factorization, factorizationUV } from '../models/factorization.ts';
import { linearMoments, spectrumOptions, randomOrthogonal } from '../models/linear-data.ts';
import { saxeMode, saxeTime } from '../models/closed-forms/single-neuron.ts';
import { deepMode, deepModeRate, deepModeTime } from '../models/closed-forms/deep-modes.ts';
import { createProblem, lossOf, gradientOf, type Problem } from '../src/problem.ts';
import { moments } from '../src/data.ts';
import { datasetFromMoments, makeMoments, momentsToJson, parseMomentsJson } from '../src/moments.ts';
import { commutingPrediction, conjecturePrediction, momentsOfProblem, predictLinear, agfLinear } from '../src/solvers/agf-linear.ts';
import { flowJumpsAtLevels } from '../src/analysis/level-crossings.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveExact } from '../src/solvers/exact.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { integrate } from '../src/solvers/ode/index.ts';
import { svd, symEig, matmul } from '../src/util/dense.ts';
import { Rng } from '../src/util/rng.ts';
import { GradflowError } from '../src/util/errors.ts';
import { main } from '../src/cli/main.ts';

const DIM = { c: 4, d: 4, h: 4 };
const CASES = { whitened: 0, commuting: 1, 'non-commuting': 2 } as const;

function lin(alpha: number, kind: keyof typeof CASES, seed = 3, extra: Record<string, number> = {}): Problem {
  return createProblem(linear, { dims: DIM, alpha, seed, options: { case: CASES[kind], ...extra }, monitors: [] });
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, { out: (s) => { out += s + '\n'; }, err: (s) => { err += s + '\n'; }, progress: false });
  return { code, out, err };
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0, s = 0;
  for (let k = 0; k < b.length; k++) s = Math.max(s, Math.abs(b[k]));
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m / Math.max(s, 1e-300);
}

/** θ holding the saddle β_k = Σ_{j<k} u_j (σ_j/λ_j) v_jᵀ of the commuting case, one mode per neuron. */
function commutingSaddle(p: Problem, k: number): Float64Array {
  const m = momentsOfProblem(p);
  const { s, u, v } = svd(m.Syx, m.c, m.d);
  const th = new Float64Array(p.layout.H * p.layout.P);
  const [sa, sw] = p.layout.params;
  for (let j = 0; j < k; j++) {
    const Sv = matmul(m.Sxx, v[j], m.d, m.d, 1);
    const lam = v[j].reduce((acc, x, q) => acc + x * Sv[q], 0);
    const r = Math.sqrt(s[j] / lam);
    for (let q = 0; q < sa.size; q++) th[j * p.layout.P + sa.offset + q] = r * u[j][q];
    for (let q = 0; q < sw.size; q++) th[j * p.layout.P + sw.offset + q] = r * v[j][q];
  }
  return th;
}

// ── population moments ─────────────────────────────────────────────────────────────────────

describe('population moments', () => {
  it('the equivalent dataset reproduces Σ_xx, Σ_yx, Σ_yy (generated moments, every case, with noise)', () => {
    for (const kind of ['whitened', 'commuting', 'non-commuting'] as const) {
      const m = linearMoments(3, 5, kind, spectrumOptions({ noise: 0.3, rank: 2 }, 3, 5), new Rng(7));
      const ds = datasetFromMoments(m);
      const back = moments(ds);
      expect(maxRel(back.Sxx, m.Sxx)).toBeLessThan(1e-13);
      expect(maxRel(back.Syx, m.Syx)).toBeLessThan(1e-13);
      expect(maxRel(back.Syy, m.Syy)).toBeLessThan(1e-13);
      // n = rank of the joint matrix: Σ_xx full rank (5) plus the noise directions (3)
      expect(ds.n).toBe(8);
    }
  });

  it('round trip dataset → moments JSON → equivalent dataset gives the same loss and gradient at any θ', () => {
    const rng = new Rng(11);
    const n = 30, d = 3, c = 2;
    const X = rng.normalArray(n * d), Y = rng.normalArray(n * c);
    const data = { X, Y, n, dIn: d, c, source: 'random' };
    const mo = moments(data);
    const text = JSON.stringify(momentsToJson(makeMoments(mo.Sxx, mo.Syx, mo.Syy, d, c)));
    const eq = datasetFromMoments(parseMomentsJson(text, 'round-trip.json'));
    expect(eq.n).toBeLessThanOrEqual(d + c);
    const p1 = createProblem(linear, { data, dims: { h: 3 }, alpha: 0.7, seed: 1 });
    const p2 = createProblem(linear, { data: eq, dims: { h: 3 }, alpha: 0.7, seed: 1 });
    expect(p2.theta0).toEqual(p1.theta0);
    const g1 = new Float64Array(p1.theta0.length), g2 = new Float64Array(p1.theta0.length);
    const L1 = gradientOf(p1, p1.theta0, g1), L2 = gradientOf(p2, p1.theta0, g2);
    expect(Math.abs(L1 - L2) / L1).toBeLessThan(1e-12);
    expect(maxRel(g2, g1)).toBeLessThan(1e-12);
  });

  it('bad moments files fail with one line and exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-moments-'));
    const cases: [string, unknown, RegExp][] = [
      ['nonsym', { Sxx: [[1, 0.5], [0, 1]], Syx: [[1, 0]] }, /not symmetric/],
      ['notpsd', { Sxx: [[1, 2], [2, 1]], Syx: [[1, 0]] }, /not positive semi-definite/],
      ['shape', { Sxx: [[1, 0], [0, 1]], Syx: [[1, 0, 0]] }, /Syx has 3 columns/],
      ['nan', { Sxx: [[1, 0], [0, 'x']], Syx: [[1, 0]] }, /not a finite number/],
      ['missing', { Sxx: [[1, 0], [0, 1]] }, /no "Syx"/],
      ['syy', { Sxx: [[1, 0], [0, 1]], Syx: [[1, 0]], Syy: [[0.5]] }, /joint matrix.*not positive semi-definite/],
      ['syyshape', { Sxx: [[1, 0], [0, 1]], Syx: [[1, 0]], Syy: [[1, 0], [0, 1]] }, /Syy is 2×2, expected 1×1/],
    ];
    for (const [name, obj, re] of cases) {
      const f = join(dir, `${name}.json`);
      writeFileSync(f, JSON.stringify(obj));
      const r = await cli(['flow', 'linear', '--moments', f, '--t', '1']);
      expect(r.code, name).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err, name).toMatch(re);
    }
    const bad = join(dir, 'broken.json');
    writeFileSync(bad, '{"Sxx": [[1]');
    expect((await cli(['flow', 'linear', '--moments', bad])).err).toMatch(/not valid JSON/);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ Sxx: [[1, 0], [0, 1]], Syx: [[1, 0]] }));
    const both = await cli(['flow', 'linear', '--moments', good, '--data', good]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/either --data or --moments/);
    expect(() => makeMoments(new Float64Array([1]), new Float64Array([1, 2]), null, 1, 1)).toThrow(GradflowError);
  });

  it('a moments file drives compare-linear end to end (jump times 1/σ_k of the given Σ_yx)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-moments-'));
    const f = join(dir, 'm.json');
    // Σ_xx = I, Σ_yx = diag(2, 0.5) (c = d = 2); Syy with an unexplainable part 0.1 per output
    writeFileSync(f, JSON.stringify({ Sxx: [[1, 0], [0, 1]], Syx: [[2, 0], [0, 0.5]], Syy: [[4.1, 0], [0, 0.35]] }));
    const r = await cli(['compare-linear', 'linear', '--moments', f, '--dim', 'h=2', '--alpha', '1e-6', '--json']);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out) as { rows: { predicted: number; level: number; flow: number }[] };
    res.rows.forEach((x, k) => expect(Math.abs(x.predicted - [0.5, 2][k])).toBeLessThan(1e-14));
    expect(res.rows[0].level).toBeCloseTo(0.5 * (4.1 + 0.35) - 0.5 * 4, 12);
    expect(res.rows[1].level).toBeCloseTo(0.1, 12);
    expect(res.rows[0].flow).toBeLessThan(res.rows[1].flow);
  });
});

// ── commuting case: AGF closed form, generic AGF, flow ─────────────────────────────────────

describe('commuting case: jumps at 1/σ_k(Σ_yx), loss levels ½(tr Σ_yy − Σ_{j≤k} μ_j)', () => {
  for (const kind of ['whitened', 'commuting'] as const) {
    it(`${kind}: closed form = planted 1/σ_k (σ_k = 1/k), conjecture reduces to it, levels = kernel loss at the saddles`, () => {
      const p = lin(1e-8, kind);
      const pred = predictLinear(p);
      expect(pred.variant).toBe('commuting');
      expect(pred.commutator).toBeLessThan(1e-12);
      pred.rescaledTimes.forEach((t, k) => expect(Math.abs(t - (k + 1)) / (k + 1)).toBeLessThan(1e-8));
      const conj = conjecturePrediction(momentsOfProblem(p));
      conj.rescaledTimes.forEach((t, k) => expect(Math.abs(t - (k + 1))).toBeLessThan(1e-9));
      const grad = new Float64Array(p.theta0.length);
      for (let k = 0; k <= 4; k++) {
        const th = commutingSaddle(p, k);
        const level = k === 0 ? pred.initialLoss : pred.levels[k - 1];
        expect(Math.abs(lossOf(p, th) - level)).toBeLessThan(1e-10);
        if (k > 0) expect(Math.abs(conj.levels[k - 1] - level)).toBeLessThan(1e-10);
        gradientOf(p, th, grad);
        expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-10); // a critical point: a saddle (or the minimum)
      }
      const sched = agfLinear(p);
      expect(sched.jumps.map((j) => j.time / Math.log(1e8))).toEqual(pred.rescaledTimes);
    });

    it(`${kind}: generic AGF solver from the aligned start gives t_k·σ_k = log(1/‖θ_k(0)‖) and the same levels`, () => {
      const p = lin(1e-8, kind, 3, { aligned: 1 });
      const pred = predictLinear(p);
      const s = solveAgf(p);
      expect(s.jumps).toHaveLength(4);
      const rho = Math.SQRT2 * 1e-8; // ‖(a_k, w_k)‖ with ‖a_k‖ = ‖w_k‖ = alpha
      s.jumps.forEach((j, k) => {
        expect(j.neuron).toBe(k);
        expect(Math.abs(j.time / Math.log(1 / rho) - pred.rescaledTimes[k]) / pred.rescaledTimes[k]).toBeLessThan(1e-8);
        expect(Math.abs(j.lossAfter - pred.levels[k])).toBeLessThan(1e-10);
      });
    });

    it(`${kind}: integrated flow learns the modes in order, rescaled error shrinking over alpha = 1e-4, 1e-8, 1e-12`, () => {
      const pred = predictLinear(lin(1e-8, kind));
      const errs: number[][] = [];
      const r: number[][] = [];
      const alphas = [1e-4, 1e-8, 1e-12];
      for (const a of alphas) {
        const p = lin(a, kind);
        const res = flowJumpsAtLevels(p, pred.initialLoss, pred.levels, { tEnd: 1.5 * 4 * Math.log(1 / a) + 20 });
        const times = res.schedule.jumps.map((j) => j.rescaledTime);
        expect(times).toHaveLength(4);
        for (let k = 1; k < 4; k++) expect(times[k]).toBeGreaterThan(times[k - 1]);
        r.push(times);
        errs.push(times.map((t, k) => Math.abs(t - pred.rescaledTimes[k])));
        // plateaus sit on the saddle levels up to the finite-alpha leak of the next mode
        res.plateaus.forEach((l, k) => expect(Math.abs(l - pred.levels[k])).toBeLessThan(1e-2 * pred.initialLoss));
      }
      for (let k = 0; k < 4; k++) {
        expect(errs[1][k]).toBeLessThan(errs[0][k]);
        expect(errs[2][k]).toBeLessThan(errs[1][k]);
        expect(errs[2][k]).toBeLessThan(0.1 * pred.rescaledTimes[k]);
      }
      // commuting theory: t_k/log(1/α) = 1/σ_k + b_k/log(1/α) + o(1); eliminate b_k between 1e-8 and 1e-12
      const L1 = Math.log(1e8), L2 = Math.log(1e12);
      const extrap = r[1].map((x, k) => (L2 * r[2][k] - L1 * x) / (L2 - L1));
      console.log(`${kind} flow t_k/log(1/α): ${alphas.map((a, q) => `α=${a}: ${r[q].map((x) => x.toFixed(6)).join(' ')}`).join(' | ')} | extrapolated ${extrap.map((x) => x.toFixed(6)).join(' ')} | AGF ${pred.rescaledTimes.join(' ')}`);
      extrap.forEach((x, k) => expect(Math.abs(x - pred.rescaledTimes[k]) / pred.rescaledTimes[k]).toBeLessThan(1e-3));
    });
  }

  it('Σ_xx ≠ I: modes are learned in σ order, not μ order (loss levels use μ in σ order)', () => {
    // Σ_yx = diag(1, 0.5), Σ_xx = diag(1, 0.1): σ = (1, 0.5) but μ = σ²/λ = (1, 2.5)
    const m = makeMoments(Float64Array.from([1, 0, 0, 0.1]), Float64Array.from([1, 0, 0, 0.5]), null, 2, 2);
    const p = createProblem(linear, { data: datasetFromMoments(m), dims: { h: 2 }, alpha: 1e-10, seed: 1, monitors: [] });
    const pred = commutingPrediction(momentsOfProblem(p));
    expect(pred.drops[0]).toBeCloseTo(1, 12);
    expect(pred.drops[1]).toBeCloseTo(2.5, 12);
    const res = flowJumpsAtLevels(p, pred.initialLoss, pred.levels, { tEnd: 1.5 * 2 * Math.log(1e10) });
    expect(res.schedule.jumps).toHaveLength(2);
    // plateau after jump 1: ½(tr Σ_yy − 1) = 1.25, not the μ-sorted ½(tr Σ_yy − 2.5) = 0.5
    expect(Math.abs(res.plateaus[0] - 1.25)).toBeLessThan(1e-3);
    res.schedule.jumps.forEach((j, k) => expect(Math.abs(j.rescaledTime - [1, 2][k]) / [1, 2][k]).toBeLessThan(0.1));
  });

  it('whitened, finite alpha: the first jump is Saxe’s sigmoid of the mode’s growing component (units check: the product grows at 2σ)', () => {
    for (const a of [1e-8, 1e-12]) {
      const p = lin(a, 'whitened');
      const m = momentsOfProblem(p);
      const { s, u, v } = svd(m.Syx, m.c, m.d);
      const { A, W, H } = factors(p.layout, p.theta0);
      // linear phase: (u₁ᵀa_i, v₁ᵀw_i) grows along (1, 1)/√2 at rate σ₁, so u₁ᵀAWv₁ → ¼Σ_i(u₁ᵀa_i + v₁ᵀw_i)² e^{2σ₁t}
      let g2 = 0;
      for (let i = 0; i < H; i++) {
        let al = 0, om = 0;
        for (let q = 0; q < 4; q++) { al += u[0][q] * A[q * H + i]; om += v[0][q] * W[i * 4 + q]; }
        g2 += (al + om) ** 2;
      }
      const pred = predictLinear(p);
      const res = flowJumpsAtLevels(p, pred.initialLoss, pred.levels.slice(0, 1), { tEnd: 3 * Math.log(1 / a) });
      // the loss midpoint of mode 1 is at u = s(1 − 1/√2): ½(s − u)² = ¼s²
      const tSaxe = saxeTime(s[0], g2 / 4, s[0] * (1 - Math.SQRT1_2));
      expect(Math.abs(res.schedule.jumps[0].time - tSaxe) / tSaxe).toBeLessThan(1e-8);
    }
  });
});

// ── Saxe's aligned balanced start ──────────────────────────────────────────────────────────

describe('Saxe modes', () => {
  it('aligned balanced start, whitened: integrated flow = Saxe sigmoid per mode to 1e-9', () => {
    const p = lin(1e-6, 'whitened', 2, { aligned: 1 });
    const m = momentsOfProblem(p);
    const { s } = svd(m.Syx, 4, 4);
    const ex = solveExact(p, { tEnd: 40, points: 401 });
    expect(ex.method).toBe('exact:saxe');
    const tr = solveFlow(p, { tEnd: 40, rtol: 1e-12, tEval: ex.t });
    let worst = 0;
    for (let q = 0; q < ex.t.length; q++) {
      const { A, W, H } = factors(p.layout, tr.states[q]);
      for (let k = 0; k < 4; k++) {
        // mode k lives on neuron k: u_k = ‖a_k‖‖w_k‖
        let na = 0, nw = 0;
        for (let r = 0; r < 4; r++) { na += A[r * H + k] ** 2; nw += W[k * 4 + r] ** 2; }
        const uFlow = Math.sqrt(na * nw);
        const uSaxe = saxeMode(s[k], 1e-12)(ex.t[q]);
        worst = Math.max(worst, Math.abs(uFlow - uSaxe) / s[k]);
      }
    }
    console.log(`Saxe aligned start (alpha = 1e-6, t ∈ [0, 40], dopri5 rtol 1e-12): max_k,t |u_flow − u_saxe|/s_k = ${worst.toExponential(3)}`);
    expect(worst).toBeLessThan(1e-9);
    // the full state agrees too
    expect(Math.max(...tr.states.map((st, q) => maxRel(st, ex.states[q])))).toBeLessThan(1e-9);
  });

  it('the saxe closed form refuses random starts and non-whitened data, with a reason', () => {
    expect(() => solveExact(lin(1e-3, 'whitened'), { tEnd: 1 })).toThrow(/not balanced|not aligned/);
    expect(() => solveExact(lin(1e-3, 'commuting', 3, { aligned: 1 }), { tEnd: 1 })).toThrow(/not whitened/);
  });

  it('deep modes (N weight layers): u̇ = N u^{2−2/N}(s − u) matches the balanced scalar chain; t(u) by quadrature; N = 2 is Saxe', () => {
    const s = 1.5, u0 = 1e-6;
    expect(Math.abs(deepModeTime(s, u0, 1, 2) - saxeTime(s, u0, 1)) / saxeTime(s, u0, 1)).toBeLessThan(1e-14);
    for (const N of [2, 3, 4, 6]) {
      // the chain ȧ_j = Π_{l≠j} a_l (s − Π a), all a_j = u0^{1/N}
      const a0 = Float64Array.from({ length: N }, () => Math.pow(u0, 1 / N));
      const rhs = (_t: number, a: Float64Array, da: Float64Array): void => {
        let u = 1;
        for (let j = 0; j < N; j++) u *= a[j];
        for (let j = 0; j < N; j++) {
          let pr = 1;
          for (let l = 0; l < N; l++) if (l !== j) pr *= a[l];
          da[j] = pr * (s - u);
        }
      };
      const tHalf = deepModeTime(s, u0, s / 2, N);
      // past the half-rise u → s within rounding for N ≥ 3 and t(u) is ill-conditioned there
      const tEval = [0.3, 0.8, 0.95, 1].map((f) => f * tHalf);
      const sol = integrate('dopri5', rhs, 0, a0, tEval[tEval.length - 1], { rtol: 1e-13, atol: 1e-20, tEval });
      const uAt = deepMode(s, u0, N);
      sol.y.forEach((a, q) => {
        const u = a.reduce((x, y) => x * y, 1);
        expect(Math.abs(deepModeTime(s, u0, u, N) - sol.t[q]) / sol.t[q]).toBeLessThan(1e-10);
        expect(Math.abs(uAt(sol.t[q]) - u) / s).toBeLessThan(1e-10);
        // the rate law itself, at the chain's state
        const da = new Float64Array(N);
        rhs(0, a, da);
        let du = 0;
        for (let j = 0; j < N; j++) du += (da[j] * u) / a[j];
        expect(Math.abs(deepModeRate(u, s, N) - du) / Math.max(Math.abs(du), 1e-300)).toBeLessThan(1e-10);
      });
    }
  });
});

// ── conservation ───────────────────────────────────────────────────────────────────────────

describe('conservation of AᵀA − W Wᵀ', () => {
  it('gauss4 keeps it to 1e-12 (relative to ‖A‖² + ‖W‖²) through the jumps; dopri5 to its tolerance', () => {
    const p = lin(1e-2, 'non-commuting', 5);
    const Q0 = balanceMatrix(p.layout, p.theta0);
    const drift = (states: Float64Array[]): number => {
      let d = 0, scale = 0;
      for (const st of states) {
        const Q = balanceMatrix(p.layout, st);
        d = Math.max(d, Math.max(...Q.map((x, k) => Math.abs(x - Q0[k]))));
        scale = Math.max(scale, st.reduce((acc, x) => acc + x * x, 0));
      }
      return d / scale;
    };
    const g = solveFlow(p, { tEnd: 25, method: 'gauss4', dt: 0.02 });
    const dp = solveFlow(p, { tEnd: 25 });
    expect(g.loss[g.loss.length - 1]).toBeLessThan(1e-3 * g.loss[0]); // it went through the jumps
    const dg = drift(g.states), dd = drift(dp.states);
    console.log(`AᵀA − WWᵀ drift (relative to max ‖θ‖²): gauss4 dt 0.02 ${dg.toExponential(2)}, dopri5 rtol 1e-10 ${dd.toExponential(2)}`);
    expect(dg).toBeLessThan(1e-12);
    expect(dd).toBeLessThan(1e-8);
  });
});

// ── non-commuting case: conjecture vs simulation (reported, not asserted) ──────────────────

describe('non-commuting case', () => {
  it('prints conjecture vs simulation per jump (and the α → 0 extrapolation)', () => {
    for (const seed of [3, 5]) {
      const base = lin(1e-8, 'non-commuting', seed);
      const m = momentsOfProblem(base);
      const conj = conjecturePrediction(m);
      expect(conj.commutator).toBeGreaterThan(1e-3);
      expect(predictLinear(base).variant).toBe('conjecture');
      // the saddle levels are exact (reduced-rank regression), whatever the timing
      const E = symEig(explained(m), 4);
      E.values.forEach((mu, k) => expect(Math.abs(conj.drops[k] - mu)).toBeLessThan(1e-12));
      const alphas = [1e-8, 1e-12, 1e-16];
      const r: number[][] = [];
      const plateaus: number[][] = [];
      for (const a of alphas) {
        const p = lin(a, 'non-commuting', seed);
        const res = flowJumpsAtLevels(p, conj.initialLoss, conj.levels, { tEnd: 1.5 * conj.rescaledTimes[3] * Math.log(1 / a) + 20 });
        expect(res.schedule.jumps).toHaveLength(4);
        r.push(res.schedule.jumps.map((j) => j.rescaledTime));
        plateaus.push(res.plateaus);
      }
      const L = alphas.map((a) => Math.log(1 / a));
      const extrap = r[1].map((_, k) => (L[2] * r[2][k] - L[0] * r[0][k]) / (L[2] - L[0]));
      const rows = conj.rescaledTimes.map((t, k) => `  ${k + 1}  ${t.toFixed(6)}  ${r.map((x) => x[k].toFixed(6)).join('  ')}  ${extrap[k].toFixed(6)}  ${((extrap[k] - t) / t).toExponential(2)}  ${conj.levels[k].toExponential(6)}  ${plateaus[2][k].toExponential(6)}`);
      console.log([
        `non-commuting (seed ${seed}, c = d = H = 4, commutator ${conj.commutator.toExponential(2)}): rescaled jump times t_k/log(1/α)`,
        '  k  conjecture  flow α=1e-8  flow α=1e-12  flow α=1e-16  extrap.(1e-8,1e-16)  rel.diff  saddle loss  flow plateau(1e-16)',
        ...rows,
      ].join('\n'));
      // generic per-neuron AGF (src/solvers/agf.ts) for comparison, from the random and the aligned start
      const gRand = solveAgf(base).jumps.map((j) => j.rescaledTime.toFixed(4)).join(' ');
      const gAl = solveAgf(lin(1e-8, 'non-commuting', seed, { aligned: 1 })).jumps.map((j) => j.rescaledTime.toFixed(4)).join(' ');
      console.log(`  generic AGF at α = 1e-8 (t/log(1/α)): random start ${gRand}; aligned start ${gAl}`);
      // the first jump is 1/σ₁ under any theory (nothing has been learned yet)
      expect(Math.abs(extrap[0] - 1 / conj.sigma[0]) * conj.sigma[0]).toBeLessThan(1e-3);
      for (let k = 1; k < 4; k++) expect(r[2][k]).toBeGreaterThan(r[2][k - 1]);
    }
  });
});

function invert(S: Float64Array, n: number): Float64Array {
  const { values, vectors } = symEig(S, n);
  const out = new Float64Array(n * n);
  values.forEach((l, k) => { for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] += (vectors[k][i] * vectors[k][j]) / l; });
  return out;
}

function explained(m: { Sxx: Float64Array; Syx: Float64Array; c: number; d: number }): Float64Array {
  const B = matmul(m.Syx, invert(m.Sxx, m.d), m.c, m.d, m.d);
  const out = new Float64Array(m.c * m.c);
  for (let i = 0; i < m.c; i++) for (let j = 0; j < m.c; j++) for (let q = 0; q < m.d; q++) out[i * m.c + j] += B[i * m.d + q] * m.Syx[j * m.d + q];
  return out;
}

// ── matrix factorisation ───────────────────────────────────────────────────────────────────

describe('matrix factorisation', () => {
  it('the data construction makes the loss exactly ½‖M − UUᵀ‖_F² (symmetric) and ½‖M − UVᵀ‖_F² (asymmetric)', () => {
    const ps = createProblem(factorization, { dims: { d: 5, h: 3 }, alpha: 0.5, seed: 4 });
    const M = targetOf(ps);
    const U = ps.theta0; // neuron i = u_i (length d)
    const R = Float64Array.from(M);
    for (let i = 0; i < 3; i++) for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) R[a * 5 + b] -= U[i * 5 + a] * U[i * 5 + b];
    expect(Math.abs(lossOf(ps, U) - 0.5 * R.reduce((acc, x) => acc + x * x, 0))).toBeLessThan(1e-13);
    const pa = createProblem(factorizationUV, { dims: { c: 3, d: 5, h: 2 }, alpha: 0.5, seed: 4 });
    const Ma = targetOf(pa);
    const B = endToEnd(pa.layout, pa.theta0);
    expect(Math.abs(lossOf(pa, pa.theta0) - 0.5 * Ma.reduce((acc, x, k) => acc + (x - B[k]) ** 2, 0))).toBeLessThan(1e-13);
    expect(maxRel(moments(pa.data).Syx, Ma)).toBeLessThan(1e-14); // Σ_yx = M, Σ_xx = I
  });

  it('symmetric: eigenmodes learned in decreasing order at rescaled 1/(2λ_k); levels = kernel loss at U = [√λ_j q_j]', () => {
    const p0 = createProblem(factorization, { dims: { d: 4, h: 4 }, alpha: 1e-8, seed: 1 });
    const pred = predictLinear(p0);
    expect(pred.variant).toBe('symmetric');
    pred.rescaledTimes.forEach((t, k) => expect(Math.abs(t - (k + 1) / 2) / t).toBeLessThan(1e-8));
    const M = targetOf(p0);
    const { values, vectors } = symEig(M, 4);
    for (let k = 0; k <= 4; k++) {
      const th = new Float64Array(16);
      for (let j = 0; j < k; j++) for (let q = 0; q < 4; q++) th[j * 4 + q] = Math.sqrt(values[j]) * vectors[j][q];
      expect(Math.abs(lossOf(p0, th) - (k === 0 ? pred.initialLoss : pred.levels[k - 1]))).toBeLessThan(1e-12);
    }
    const errs: number[][] = [];
    for (const a of [1e-4, 1e-8, 1e-12]) {
      const p = createProblem(factorization, { dims: { d: 4, h: 4 }, alpha: a, seed: 1 });
      const res = flowJumpsAtLevels(p, pred.initialLoss, pred.levels, { tEnd: 1.5 * 2 * Math.log(1 / a) + 20 });
      expect(res.schedule.jumps).toHaveLength(4);
      errs.push(res.schedule.jumps.map((j, k) => Math.abs(j.rescaledTime - pred.rescaledTimes[k])));
    }
    console.log(`symmetric factorisation |t_k/log(1/α) − 1/(2λ_k)| at α = 1e-4, 1e-8, 1e-12: ${errs.map((e) => e.map((x) => x.toExponential(2)).join(' ')).join(' | ')}`);
    for (let k = 0; k < 4; k++) expect(errs[2][k]).toBeLessThan(errs[0][k]);
    // generic AGF with κ = 2 on the symmetric template: same order and levels
    const g = solveAgf(p0);
    expect(g.jumps).toHaveLength(4);
    g.jumps.forEach((j, k) => expect(Math.abs(j.lossAfter - pred.levels[k])).toBeLessThan(1e-9));
  });

  it('asymmetric UVᵀ is the whitened linear network: commuting prediction, flow agrees in order', () => {
    const p = createProblem(factorizationUV, { dims: { c: 3, d: 4, h: 3 }, alpha: 1e-10, seed: 2 });
    const pred = predictLinear(p);
    expect(pred.variant).toBe('commuting');
    pred.rescaledTimes.forEach((t, k) => expect(Math.abs(t - (k + 1)) / t).toBeLessThan(1e-8));
    const res = flowJumpsAtLevels(p, pred.initialLoss, pred.levels, { tEnd: 1.5 * 3 * Math.log(1e10) });
    expect(res.schedule.jumps.map((j) => j.neuron)).toEqual([0, 1, 2]);
    res.schedule.jumps.forEach((j, k) => expect(Math.abs(j.rescaledTime - pred.rescaledTimes[k]) / pred.rescaledTimes[k]).toBeLessThan(0.1));
  });
});

function targetOf(p: Problem): Float64Array {
  // x_j = √d e_j, y_j = √d M[:, j]  ⇒  M = Yᵀ/√d
  const { Y, n, c } = p.data;
  const M = new Float64Array(c * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < c; i++) M[i * n + j] = Y[j * c + i] / Math.sqrt(n);
  return M;
}

// ── CLI ────────────────────────────────────────────────────────────────────────────────────

describe('compare-linear CLI', () => {
  it('prints the table with conventions, writes the report files, rejects a non-linear model and a bad variant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-cl-'));
    const r = await cli(['compare-linear', 'factorization', '--dim', 'd=3', '--dim', 'h=3', '--alpha', '1e-6', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/loss: 1\/\(2n\) sum of squares/);
    expect(r.out).toMatch(/rescaled t \/ log\(1\/alpha\)/);
    expect(r.out).toMatch(/compare-factorization\.svg/);
    const viaCompare = await cli(['compare', 'linear', '--dim', 'c=3', '--dim', 'd=3', '--dim', 'h=3', '--alpha', '1e-6', '--agf', 'generic', '--json']);
    expect(viaCompare.code, viaCompare.err).toBe(0);
    const js = JSON.parse(viaCompare.out) as { methods: string[]; schedules: Record<string, { method: string }> };
    expect(js.methods).toEqual(['agf', 'flow', 'agf-generic']);
    expect(Object.values(js.schedules).map((x) => x.method)).toEqual(js.methods);
    const bad = await cli(['compare-linear', 'linear', '--variant', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--variant must be/);
    const nonlin = await cli(['compare-linear', 'diagonal']);
    expect(nonlin.code).toBe(2);
    expect(nonlin.err).toMatch(/not a linear network/);
  });
});

// keep the orthogonal generator honest: it is what makes the spectra "planted"
it('randomOrthogonal returns orthonormal columns', () => {
  const Q = randomOrthogonal(6, new Rng(3));
  for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) {
    const dot = Q[a].reduce((acc, x, k) => acc + x * Q[b][k], 0);
    expect(Math.abs(dot - (a === b ? 1 : 0))).toBeLessThan(1e-14);
  }
});
