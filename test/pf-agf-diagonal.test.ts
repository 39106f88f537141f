/**
 * Issue 3 (diagonal part): sign-constrained least squares, the Pesme–Flammarion algorithm and
 * the closed-form AGF of the diagonal network, each checked against something independent:
 * brute-force enumeration of active sets (with ml-matrix's pseudo-inverse, not our QR) and the
 * KKT conditions; PF vs AGF (different state bookkeeping: clipped s vs ψ on the cosh curve,
 * LH from scratch vs the active → dormant rule); a hand computation of the 2-D worked example;
 * and an integrated gradient flow of the real network (u, v) at finite α.
 *
 * Conventions: loss (1/2n)‖y − Xβ‖²; PF times are rescaled t̃ = t/log(1/α); AGF and flow
 * times are flow time, rescaled by log(1/α); init u = √2α, v = 0.
 */
import { describe, expect, it } from 'vitest';
import { Matrix, pseudoInverse } from 'ml-matrix';
import { diagonal, example2d } from '../models/diagonal.ts';
import { singleNeuron } from '../models/single-neuron.ts';
import { createProblem, lossOf, type Problem } from '../src/problem.ts';
import type { Dataset } from '../src/data.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveFlowPsi } from '../src/solvers/flow-psi.ts';
import { signLsq, signLsqKkt, residualLossGrad, type SignConstraint } from '../src/solvers/sign-lsq.ts';
import { pfRun, solvePf } from '../src/solvers/pf.ts';
import { activationThreshold, agfDiagonalRun, solveAgfDiagonal } from '../src/solvers/agf-diagonal.ts';
import { diagonalData, validateDiagonalData } from '../src/solvers/diagonal-data.ts';
import { GradflowError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { relDiff } from '../src/util/linalg.ts';
import type { JumpSchedule } from '../src/schedule.ts';
import { correlatedData } from './helpers/data.ts';
import { expectGradflowError } from './helpers/errors.ts';

// ── helpers ────────────────────────────────────────────────────────────────────────────────

/** Brute force: every support S ⊆ P ∪ N (F always in), unconstrained min-norm LSQ by pseudo-inverse, keep sign-feasible ones, best loss. */
function bruteForce(X: Float64Array, y: Float64Array, n: number, d: number, cons: SignConstraint[]): { beta: Float64Array; loss: number } {
  const signed = cons.flatMap((c, i) => (c === 1 || c === -1 ? [i] : []));
  const free = cons.flatMap((c, i) => (c === 'free' ? [i] : []));
  let best = { beta: new Float64Array(d), loss: Infinity };
  for (let mask = 0; mask < 1 << signed.length; mask++) {
    const S = [...free, ...signed.filter((_, q) => mask & (1 << q))].sort((a, b) => a - b);
    const beta = new Float64Array(d);
    if (S.length > 0) {
      const A = new Matrix(n, S.length);
      for (let j = 0; j < n; j++) S.forEach((i, q) => A.set(j, q, X[j * d + i]));
      const b = pseudoInverse(A).mmul(Matrix.columnVector(Array.from(y)));
      S.forEach((i, q) => { beta[i] = b.get(q, 0); });
    }
    const feasible = signed.every((i) => (cons[i] as number) * beta[i] >= -1e-12 * Math.max(1, Math.abs(beta[i])));
    if (!feasible) continue;
    const loss = residualLossGrad(X, y, n, d, beta);
    if (loss < best.loss) best = { beta, loss };
  }
  return best;
}

function randomConstraints(rng: Rng, d: number, withFree: boolean): SignConstraint[] {
  const pool: SignConstraint[] = withFree ? [1, -1, 0, 'free'] : [1, -1, 1, -1, 0];
  return Array.from({ length: d }, () => pool[Math.floor(rng.uniform() * pool.length)]);
}


function scheduleLine(s: JumpSchedule): string {
  return s.jumps.map((j, k) => `  jump ${k + 1}: neuron ${j.neuron} sign ${j.sign} t = ${j.time.toPrecision(10)} t̃ = ${j.rescaledTime.toPrecision(10)} lossAfter = ${j.lossAfter.toPrecision(10)} deactivated [${j.deactivated}]`).join('\n');
}

// ── 1. sign-constrained least squares ───────────────────────────────────────────────────────

describe('sign-constrained least squares vs brute-force enumeration and KKT', () => {
  const cases: Array<[number, number, boolean]> = [];
  for (const d of [3, 4, 5, 6]) for (const n of [d + 4, Math.max(2, d - 2)]) for (const withFree of [false, true]) cases.push([n, d, withFree]);
  for (const [n, d, withFree] of cases) {
    it(`n = ${n}, d = ${d}${withFree ? ', with free coordinates' : ''} (8 seeds)`, () => {
      for (let seed = 1; seed <= 8; seed++) {
        const rng = new Rng(1000 * d + 10 * n + seed + (withFree ? 7 : 0));
        const ds = correlatedData(seed * 31 + d, n, d, 0.5, 1);
        const cons = randomConstraints(rng, d, withFree);
        const input = { X: ds.X, y: ds.Y, n, d, constraints: cons };
        const sol = signLsq(input);
        const bf = bruteForce(ds.X, ds.Y, n, d, cons);
        const L0 = residualLossGrad(ds.X, ds.Y, n, d, new Float64Array(d));
        expect(Math.abs(sol.loss - bf.loss)).toBeLessThanOrEqual(1e-10 * L0);
        expect(signLsqKkt(input, sol.beta)).toBeLessThan(1e-9);
        for (let i = 0; i < d; i++) {
          if (cons[i] === 0) expect(sol.beta[i]).toBe(0);
          if (cons[i] === 1) expect(sol.beta[i]).toBeGreaterThanOrEqual(0);
          if (cons[i] === -1) expect(sol.beta[i]).toBeLessThanOrEqual(0);
        }
        // full column rank: the minimiser is unique, so β itself must match
        if (n >= d + 2) expect(relDiff(sol.beta, bf.beta, 1e-12)).toBeLessThan(1e-8);
        // a warm start from a random feasible point reaches the same optimum
        const start = cons.map((c) => (c === 0 ? 0 : c === 'free' ? rng.normal() : c * rng.uniform() * 3));
        const warm = signLsq(input, { warmStart: start });
        expect(Math.abs(warm.loss - bf.loss)).toBeLessThanOrEqual(1e-10 * L0);
        expect(signLsqKkt(input, warm.beta)).toBeLessThan(1e-9);
      }
    });
  }

  it('rank-deficient: duplicated and collinear columns (loss matches brute force, KKT holds)', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const n = 8, d = 5;
      const ds = correlatedData(seed, n, d, 0.3, 1);
      for (let j = 0; j < n; j++) {
        ds.X[j * d + 1] = ds.X[j * d + 0];
        ds.X[j * d + 3] = -2 * ds.X[j * d + 2];
      }
      const cons: SignConstraint[] = [1, 1, 1, 1, -1];
      const input = { X: ds.X, y: ds.Y, n, d, constraints: cons };
      const sol = signLsq(input);
      const bf = bruteForce(ds.X, ds.Y, n, d, cons);
      expect(Math.abs(sol.loss - bf.loss)).toBeLessThanOrEqual(1e-10 * residualLossGrad(ds.X, ds.Y, n, d, new Float64Array(d)));
      expect(signLsqKkt(input, sol.beta)).toBeLessThan(1e-9);
    }
  });

  it('is scale-invariant: X·1e8 and y·1e-5 give β·1e-13 with the same support', () => {
    const n = 10, d = 6;
    const ds = correlatedData(5, n, d, 0.7, 1);
    const cons: SignConstraint[] = [1, -1, 1, -1, 1, 'free'];
    const a = signLsq({ X: ds.X, y: ds.Y, n, d, constraints: cons });
    const b = signLsq({ X: ds.X.map((v) => v * 1e8), y: ds.Y.map((v) => v * 1e-5), n, d, constraints: cons });
    expect(relDiff(b.beta.map((v) => v * 1e13), a.beta)).toBeLessThan(1e-9);
    expect(Array.from(b.beta, (v) => v !== 0)).toEqual(Array.from(a.beta, (v) => v !== 0));
  });
});

// ── 2. PF vs closed-form AGF at α = 1e-100 ─────────────────────────────────────────────────

describe('AGF (closed form, α = 1e-100) ÷ log(1/α) equals Pesme–Flammarion', () => {
  const shapes: Array<[number, number]> = [[12, 6], [30, 8], [4, 7], [6, 10]];
  let deactivations = 0;
  for (const [n, d] of shapes) {
    it(`n = ${n}, d = ${d} (${n < d ? 'n < d' : 'n ≥ d'}), 6 seeds: same neurons, signs, deactivations; times ≤ 1e-6 rel.; losses ≤ 1e-9`, () => {
      let worstT = 0, worstL = 0;
      for (let seed = 1; seed <= 6; seed++) {
        const p = createProblem(diagonal, { data: correlatedData(seed, n, d), alpha: 1e-100 });
        const pf = solvePf(p);
        const agf = solveAgfDiagonal(p);
        expect(pf.extra?.status).toBe('converged');
        expect(agf.extra?.status).toBe('converged');
        expect(agf.jumps.length).toBe(pf.jumps.length);
        expect(pf.jumps.length).toBeGreaterThanOrEqual(Math.min(n, d));
        // independent: the first PF jump is the coordinate with the largest |∇L(0)|, at t̃ = 1/max|∇L(0)|
        const g0 = new Float64Array(d);
        residualLossGrad(p.data.X, p.data.Y, n, d, new Float64Array(d), g0);
        const first = g0.reduce((k, v, i) => (Math.abs(v) > Math.abs(g0[k]) ? i : k), 0);
        expect(pf.jumps[0].neuron).toBe(first);
        expect(Math.abs(pf.jumps[0].rescaledTime * Math.abs(g0[first]) - 1)).toBeLessThan(1e-14);
        pf.jumps.forEach((j, k) => {
          const a = agf.jumps[k];
          expect(a.neuron).toBe(j.neuron);
          expect(a.sign).toBe(j.sign);
          expect(a.deactivated).toEqual(j.deactivated);
          worstT = Math.max(worstT, Math.abs(a.rescaledTime - j.rescaledTime) / j.rescaledTime);
          worstL = Math.max(worstL, Math.abs(a.lossAfter - j.lossAfter));
          deactivations += j.deactivated.length;
        });
        // the run ends at a stationary point: interpolation when n < d, least squares otherwise
        if (n < d) expect(pf.jumps.at(-1)!.lossAfter).toBeLessThan(1e-20);
      }
      console.log(`PF vs AGF(α=1e-100), n=${n}, d=${d}: worst rel. rescaled-time gap ${worstT.toExponential(2)}, worst loss gap ${worstL.toExponential(2)} (1/(2n) loss)`);
      expect(worstT).toBeLessThanOrEqual(1e-6);
      expect(worstL).toBeLessThanOrEqual(1e-9);
    });
  }
  it('the random cases above exercised the active → dormant rule', () => {
    expect(deactivations).toBeGreaterThanOrEqual(3);
  });

  it('AGF at finite α is PF stretched by arccosh(1/(2α²))/2 (times), with identical levels', () => {
    const data = correlatedData(4, 6, 10);
    for (const alpha of [1e-2, 1e-6, 1e-30]) {
      const dd = validateDiagonalData(data.X, data.Y, 6, 10, alpha, 'test');
      const pf = pfRun(dd), agf = agfDiagonalRun(dd);
      const A = Math.acosh(1 / (2 * alpha * alpha));
      expect(Math.abs(activationThreshold(alpha) - A) / A).toBeLessThan(1e-14);
      pf.jumps.forEach((j, k) => {
        expect(Math.abs(agf.jumps[k].time - (j.rescaledTime * A) / 2) / agf.jumps[k].time).toBeLessThan(1e-12);
        expect(agf.jumps[k].lossAfter).toBe(j.lossAfter);
      });
    }
  });

  it('the activation threshold is finite and ≈ 2·log(1/α) down to α = 1e-300', () => {
    for (const alpha of [1e-100, 1e-160, 1e-300]) {
      const A = activationThreshold(alpha);
      expect(Number.isFinite(A)).toBe(true);
      expect(Math.abs(A - 2 * Math.log(1 / alpha)) / A).toBeLessThan(1e-15);
    }
    expect(Math.abs(activationThreshold(0.5) - Math.acosh(2))).toBeLessThan(1e-15);
  });
});

// ── 3. the worked 2-D example ───────────────────────────────────────────────────────────────

describe('worked 2-D example (theory.md §4)', () => {
  const ds = example2d();
  const { X, Y: y } = ds;
  const n = 2, d = 2;
  const grad = (beta: number[]): number[] => {
    const g = new Float64Array(2);
    residualLossGrad(X, y, n, d, beta, g);
    return Array.from(g);
  };
  // hand computation of the PF schedule (n = d = 2, everything in closed form)
  const col = (i: number) => [X[i], X[2 + i]];
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1];
  const ga = grad([0, 0]);
  const t1 = 1 / Math.abs(ga[0]);
  const b0 = dot(col(0), Array.from(y)) / dot(col(0), col(0));
  const gb = grad([b0, 0]);
  const s1 = -t1 * ga[1];
  const t2 = t1 + (1 - s1) / Math.abs(gb[1]);
  const b1 = dot(col(1), Array.from(y)) / dot(col(1), col(1));
  const gc = grad([0, b1]);
  const t3 = t2 + 2 / Math.abs(gc[0]);
  const L = (beta: number[]) => residualLossGrad(X, y, n, d, beta);
  const hand = { times: [t1, t2, t3], levels: [L([b0, 0]), L([0, b1]), 0] };

  it('initial loss 2.311099… in the 1/(2n) convention, and the hand computation is self-consistent', () => {
    expect(L([0, 0])).toBeCloseTo(2.311099, 6);
    // (1/4)‖Xβ*‖² with β* = (−0.2, 2)
    const r = [X[0] * -0.2 + X[1] * 2, X[2] * -0.2 + X[3] * 2];
    expect(Math.abs(L([0, 0]) - dot(r, r) / 4)).toBeLessThan(1e-14);
    // both coordinates start growing positive, 0 faster; then the constrained fit pins 0 at zero
    expect(ga[0] < 0 && ga[1] < 0 && Math.abs(ga[0]) > Math.abs(ga[1])).toBe(true);
    expect(b0).toBeGreaterThan(0);
    expect(gb[1]).toBeLessThan(0);
    expect(gc[0]).toBeGreaterThan(0); // KKT at β0 = 0 with β0 ≥ 0: coordinate 0 is pushed negative
  });

  for (const method of ['pf', 'agf'] as const) {
    it(`${method}: three jumps — 0 (+), then 1 (+) with 0 returning to the dormant set, then 0 (−); final loss 0; matches the hand computation`, () => {
      const alpha = method === 'pf' ? 1e-100 : 1e-6;
      const p = createProblem(diagonal, { data: ds, alpha });
      const s = method === 'pf' ? solvePf(p) : solveAgfDiagonal(p);
      console.log(`2-D example, ${method} (α = ${alpha}; loss 1/(2n) sum of squares; t flow time, t̃ = t/log(1/α)); initial loss ${s.initialLoss}\n${scheduleLine(s)}`);
      expect(s.initialLoss).toBeCloseTo(2.311099307798, 11);
      expect(s.jumps.map((j) => j.neuron)).toEqual([0, 1, 0]);
      expect(s.jumps.map((j) => j.sign)).toEqual([1, 1, -1]);
      expect(s.jumps.map((j) => j.deactivated)).toEqual([[], [0], []]);
      expect(s.jumps[2].lossAfter).toBeLessThan(1e-25);
      for (let k = 0; k < 2; k++) expect(Math.abs(s.jumps[k].lossAfter - hand.levels[k])).toBeLessThan(1e-12);
      // PF: t̃ directly; AGF at finite α: t = t̃·arccosh(1/(2α²))/2, with the deactivated coordinate
      // waiting arccosh(1/(2α²))/|g₀| to shrink from norm 1 and regrow (its c = −A)
      const A = Math.acosh(1 / (2 * alpha * alpha));
      for (let k = 0; k < 3; k++) {
        const want = method === 'pf' ? hand.times[k] : (hand.times[k] * A) / 2;
        const got = method === 'pf' ? s.jumps[k].rescaledTime : s.jumps[k].time;
        expect(Math.abs(got - want) / want).toBeLessThan(1e-12);
      }
      const beta = (s.extra?.beta ?? []) as number[];
      expect(Math.abs(beta[0] + 0.2)).toBeLessThan(1e-12);
      expect(Math.abs(beta[1] - 2)).toBeLessThan(1e-12);
    });
  }
});

// ── 4. AGF vs the integrated gradient flow of the real network ──────────────────────────────

/**
 * Jump time in a simulated flow: first time the loss falls through the geometric midpoint
 * √(L_{k−1} L_k) of consecutive AGF plateau levels; when the next level is 0 (interpolation)
 * the geometric midpoint is 0 and is never crossed, so half of L_{k−1} is used instead.
 */
function flowJumpTimes(p: Problem, agf: JumpSchedule): number[] {
  const levels = [agf.initialLoss, ...agf.jumps.map((j) => j.lossAfter)];
  const mids = agf.jumps.map((_, k) => (levels[k + 1] > 1e-12 * levels[0] ? Math.sqrt(levels[k] * levels[k + 1]) : levels[k] / 2));
  const tEnd = agf.jumps.at(-1)!.time * 1.3 + 10;
  const tr = solveFlow(p, {
    tEnd,
    rtol: 1e-10,
    events: mids.map((m, k) => ({ name: `jump${k}`, g: (_t: number, th: Float64Array) => lossOf(p, th) - m, direction: -1 as const })),
  });
  return mids.map((_, k) => tr.events.find((e) => e.name === `jump${k}`)?.t ?? NaN);
}

describe('closed-form AGF vs integrated gradient flow of (u, v) (dopri5, rtol 1e-10)', () => {
  // Why not α ≤ 1e-8 here: in (u, v) coordinates a neuron that was active (|u|, |v| ~ 1) and must
  // shrink carries its state in z = u − v = 2α²/(u + v) ~ α², which is below one ulp of u once
  // α² ≲ 1e-16: at α = 1e-8 the integrated flow loses it (u = v exactly) and coordinate 0 of the
  // 2-D example never regrows. α ∈ {1e-4, 1e-6} keeps z ≥ ~1e-12, resolvable in double precision.
  it('2-D example at α = 1e-6: per-jump gap O(1) in flow time, rescaled gap < 0.1; the gap is the same at α = 1e-4', () => {
    const rows: string[] = [];
    const gaps: Record<number, number[]> = {};
    for (const alpha of [1e-4, 1e-6]) {
      const p = createProblem(diagonal, { data: example2d(), alpha });
      const agf = solveAgfDiagonal(p);
      const tf = flowJumpTimes(p, agf);
      gaps[alpha] = tf.map((t, k) => t - agf.jumps[k].time);
      tf.forEach((t, k) => rows.push(`  α=${alpha} jump ${k + 1}: flow ${t.toFixed(4)}  agf ${agf.jumps[k].time.toFixed(4)}  gap ${(t - agf.jumps[k].time).toFixed(4)}  rescaled gap ${((t - agf.jumps[k].time) / Math.log(1 / alpha)).toFixed(4)}`));
      expect(tf.every(Number.isFinite)).toBe(true);
    }
    console.log(`2-D example, flow vs AGF (flow time; loss 1/(2n); init u=√2α, v=0):\n${rows.join('\n')}`);
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(gaps[1e-6][k]) / Math.log(1e6)).toBeLessThan(0.1);
      // an O(1) constant: it does not grow with log(1/α) (×1.5 from 1e-4 to 1e-6)
      expect(Math.abs(gaps[1e-6][k] - gaps[1e-4][k])).toBeLessThan(0.05);
    }
  });

  it('2-D example at α = 1e-6: the deactivated coordinate passes through β₀ = 0 when its ψ reaches 0 (AGF: t₂ + A/(2|g₀|))', () => {
    const alpha = 1e-6;
    const p = createProblem(diagonal, { data: example2d(), alpha });
    const run = agfDiagonalRun(diagonalData(p, 'test'));
    const g = new Float64Array(2);
    residualLossGrad(p.data.X, p.data.Y, 2, 2, run.betas[1], g);
    const tBottom = run.jumps[1].time + run.threshold / (2 * Math.abs(g[0]));
    const tr = solveFlow(p, {
      tEnd: run.jumps[2].time,
      rtol: 1e-10,
      events: [{ name: 'beta0', g: (_t, th) => th[0] * th[1], direction: 0 }],
    });
    const cross = tr.events.filter((e) => e.name === 'beta0' && e.t > run.jumps[0].time).map((e) => e.t);
    expect(cross.length).toBe(1);
    const gap = cross[0] - tBottom;
    console.log(`2-D example α=1e-6: β₀ crosses 0 in the flow at t = ${cross[0].toFixed(4)}, AGF predicts ${tBottom.toFixed(4)} (gap ${gap.toFixed(4)} flow time, ${(gap / Math.log(1 / alpha)).toFixed(4)} rescaled)`);
    expect(Math.abs(gap) / Math.log(1 / alpha)).toBeLessThan(0.05);
  });

  it('random problem (n = 8, d = 4, correlated inputs, no noise) at α = 1e-6: relative gap < 0.1 per jump, gap α-independent', () => {
    // The gap is O(1) in ψ, i.e. O(1/|g|) in flow time: late jumps driven by small gradients have
    // large flow-time gaps and long times alike, so the relative gap |t_flow − t_agf|/t_agf
    // (= rescaled gap / rescaled time) is the unit-free measure asserted here.
    const rows: string[] = [];
    const gaps: Record<number, number[]> = {};
    for (const alpha of [1e-4, 1e-6]) {
      const p = createProblem(diagonal, { data: correlatedData(1, 8, 4, 0.8, 0), alpha });
      const agf = solveAgfDiagonal(p);
      const tf = flowJumpTimes(p, agf);
      expect(agf.jumps.length).toBe(4);
      gaps[alpha] = tf.map((t, k) => t - agf.jumps[k].time);
      tf.forEach((t, k) => {
        const a = agf.jumps[k].time;
        rows.push(`  α=${alpha} jump ${k + 1} (neuron ${agf.jumps[k].neuron}): flow ${t.toFixed(4)}  agf ${a.toFixed(4)}  gap ${(t - a).toFixed(4)}  rescaled gap ${((t - a) / Math.log(1 / alpha)).toFixed(4)}  relative ${((t - a) / a).toFixed(4)}`);
        expect(Number.isFinite(t)).toBe(true);
        if (alpha === 1e-6) expect(Math.abs(t - a) / a).toBeLessThan(0.1);
      });
    }
    console.log(`random n=8, d=4, flow vs AGF (flow time; loss 1/(2n)):\n${rows.join('\n')}`);
    for (let k = 0; k < 4; k++) expect(Math.abs(gaps[1e-6][k] - gaps[1e-4][k])).toBeLessThan(0.05);
  });
});

/**
 * The same flow in the exact coordinates ψ_i (src/solvers/flow-psi.ts: u = √c cosh(ψ/2),
 * v = √c sinh(ψ/2), c = 2α², so β_i = α² sinh ψ_i and ψ̇ = −2∇_βL): nothing is lost to
 * round-off at any α, so the α-sweep the (u, v) integration cannot do (see above) can be run;
 * jump times by the same midpoint rule.
 */
function psiFlowJumpTimes(p: Problem, agf: JumpSchedule): number[] {
  const levels = [agf.initialLoss, ...agf.jumps.map((j) => j.lossAfter)];
  const mids = agf.jumps.map((_, k) => (levels[k + 1] > 1e-12 * levels[0] ? Math.sqrt(levels[k] * levels[k + 1]) : levels[k] / 2));
  const tr = solveFlowPsi(p, {
    tEnd: agf.jumps.at(-1)!.time * 1.3 + 10,
    rtol: 1e-10,
    atol: 1e-12,
    events: mids.map((m, k) => ({ name: `jump${k}`, g: (_t: number, th: Float64Array) => lossOf(p, th) - m, direction: -1 as const })),
  });
  return mids.map((_, k) => tr.events.find((e) => e.name === `jump${k}`)?.t ?? NaN);
}

describe('closed-form AGF vs the exact flow in ψ coordinates: α-sweep 1e-4, 1e-8, 1e-16', () => {
  it('2-D example: ψ-flow matches the (u, v) flow at α = 1e-4; the flow-time gap stays constant as α → 0, the rescaled gap shrinks like 1/log(1/α)', () => {
    const rows: string[] = [];
    const gaps: number[][] = [];
    for (const alpha of [1e-4, 1e-8, 1e-16]) {
      const p = createProblem(diagonal, { data: example2d(), alpha });
      const agf = solveAgfDiagonal(p);
      const tf = psiFlowJumpTimes(p, agf);
      if (alpha === 1e-4) {
        const uv = flowJumpTimes(p, agf);
        for (let k = 0; k < 3; k++) expect(Math.abs(tf[k] - uv[k]) / uv[k]).toBeLessThan(1e-6);
      }
      gaps.push(tf.map((t, k) => t - agf.jumps[k].time));
      tf.forEach((t, k) => rows.push(`  α=${alpha} jump ${k + 1}: ψ-flow ${t.toFixed(4)}  agf ${agf.jumps[k].time.toFixed(4)}  gap ${(t - agf.jumps[k].time).toFixed(4)}  rescaled gap ${((t - agf.jumps[k].time) / Math.log(1 / alpha)).toFixed(5)}`));
    }
    console.log(`2-D example, exact ψ-coordinate flow vs AGF (flow time; loss 1/(2n)):\n${rows.join('\n')}`);
    for (let k = 0; k < 3; k++) {
      expect(gaps.every((gk) => Number.isFinite(gk[k]))).toBe(true);
      expect(Math.abs(gaps[2][k] - gaps[0][k])).toBeLessThan(0.05);
      expect(Math.abs(gaps[2][k]) / Math.log(1e16)).toBeLessThan(0.05);
    }
  });
});

// ── 5. bad input ───────────────────────────────────────────────────────────────────────────

describe('bad input → one-line GradflowError (exit code 2)', () => {
  const good = example2d();
  const both = (p: Problem, pattern: RegExp) => {
    expectGradflowError(() => solvePf(p), pattern);
    expectGradflowError(() => solveAgfDiagonal(p), pattern);
  };

  it('non-finite data', () => {
    const X = Float64Array.from(good.X); X[1] = NaN;
    both(createProblem(diagonal, { data: { ...good, X } }), /X has a non-finite value \(NaN\) at row 0, column 1/);
    const Y = Float64Array.from(good.Y); Y[1] = Infinity;
    both(createProblem(diagonal, { data: { ...good, Y } }), /y has a non-finite value/);
  });

  it('X and y of different lengths', () => {
    both(createProblem(diagonal, { data: { ...good, Y: Float64Array.from([1, 2, 3]) } }), /same number of rows/);
    expectGradflowError(() => validateDiagonalData(good.X, good.Y, 3, 2, 1e-3, 'pf'), /X has 4 entries but n·d = 3·2/);
  });

  it('alpha out of range: ≤ 0 and ≥ 1 for both; 2α² ≥ 1 for the closed-form AGF', () => {
    expectGradflowError(() => createProblem(diagonal, { data: good, alpha: 0 }), /alpha/);
    expectGradflowError(() => createProblem(diagonal, { data: good, alpha: -1 }), /alpha/);
    expectGradflowError(() => validateDiagonalData(good.X, good.Y, 2, 2, 0, 'pf'), /alpha must lie in \(0, 1\)/);
    expectGradflowError(() => validateDiagonalData(good.X, good.Y, 2, 2, NaN, 'pf'), /alpha must lie in \(0, 1\)/);
    both(createProblem(diagonal, { data: good, alpha: 1 }), /alpha must lie in \(0, 1\)/);
    both(createProblem(diagonal, { data: good, alpha: 3 }), /alpha must lie in \(0, 1\)/);
    const p = createProblem(diagonal, { data: good, alpha: 0.8 });
    expectGradflowError(() => solveAgfDiagonal(p), /0 < alpha < 1\/sqrt\(2\)/);
    expect(solvePf(p).jumps.length).toBe(3); // PF is the α → 0 limit; α only converts its time unit
  });

  it('a degenerate X with an all-zero column is rejected (that coordinate could never activate)', () => {
    const X = Float64Array.from(good.X); X[1] = 0; X[3] = 0;
    both(createProblem(diagonal, { data: { ...good, X } }), /column 1 of X is all zero.*drop that column/);
  });

  it('a non-diagonal model, or a non-standard start for the closed form', () => {
    const q = createProblem(singleNeuron, { alpha: 1e-3 });
    expectGradflowError(() => solvePf(q), /diagonal model only/);
    expectGradflowError(() => solveAgfDiagonal(q), /diagonal model only/);
    const p = createProblem(diagonal, { data: good, alpha: 1e-3, theta0: Float64Array.from([1e-3, 1e-3, 1e-3, 0]) });
    expectGradflowError(() => solveAgfDiagonal(p), /standard start/);
  });

  it('sign-lsq: mismatched shapes and constraints', () => {
    expectGradflowError(() => signLsq({ X: good.X, y: [1, 2, 3], n: 2, d: 2, constraints: [1, 1] }), /y has 3 entries/);
    expectGradflowError(() => signLsq({ X: good.X, y: good.Y, n: 2, d: 2, constraints: [1] }), /1 constraints for 2/);
    expectGradflowError(() => signLsq({ X: good.X, y: [NaN, 1], n: 2, d: 2, constraints: [1, 1] }), /non-finite/);
  });
});
