/**
 * Sequence force analysis on the tiny language model (theory.md §9, src/analysis/sequence-forces.ts)
 * against independent computations: K's blocks against Jacobians from finite differences of the
 * compiled forward pass, A against finite differences of a sequence log-probability written out by
 * hand, G against finite differences of a hand-written DPO loss in the logits, the loss gradient
 * against finite differences in θ, the argmax response against brute-force enumeration, the
 * first-order error falling like η² (slope 2 ± 0.1 over η ∈ [1e-4, 1e-1]) for SFT and DPO, the
 * single-token DPO closed form G = βσ(−u)(e⁻ − e⁺), and the translation law along the DPO flow.
 */
import { describe, expect, it } from 'vitest';
import { createProblem, type Problem } from '../src/problem.ts';
import { contextRows, contextWidth, taskOf, tinyLm, type SequenceTask } from '../models/tiny-lm.ts';
import {
  argmaxResponses, fitReference, pairBatch, referenceOf, sequenceEtaSweep, sequenceForceSplit, sequenceForceTerms, sequenceInfluence, sequenceObjective, type SequenceLoss,
} from '../src/analysis/sequence-forces.ts';
import { logits } from '../src/analysis/forces.ts';
import { discoverLaws, lawInstances } from '../src/laws/discover.ts';
import { integrate } from '../src/solvers/ode/index.ts';

function setup(L = 3, seed = 2, n = 6): { p: Problem; task: SequenceTask; ref: Float64Array; dpo: SequenceLoss; sft: SequenceLoss } {
  const p = createProblem(tinyLm, { alpha: 0.3, seed, dims: { L, H: 4 }, options: { n } });
  const task = taskOf(p);
  const ref = fitReference(p, task, p.theta0, 0.05, 40);
  return { p, task, ref, dpo: { name: 'dpo', beta: 0.5, reference: referenceOf(p, task, ref) }, sft: { name: 'sft', beta: 0 } };
}

/** log π(y | x_j) by hand: the compiled forward at each context row, log softmax written out. */
function seqLogProb(p: Problem, task: SequenceTask, th: Float64Array, j: number, y: ArrayLike<number>): number {
  const w = contextWidth(task), R = contextRows(task, j, y);
  let s = 0;
  for (let t = 0; t < task.L; t++) {
    const z = logits(p, th, R.subarray(t * w, (t + 1) * w));
    const mx = Math.max(...z);
    s += z[y[t]] - mx - Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0));
  }
  return s;
}

const resp = (a: Int32Array, j: number, L: number): Int32Array => a.subarray(j * L, (j + 1) * L);
// a policy away from the reference, so DPO's margin u ≠ 0
const moved = (ref: Float64Array): Float64Array => ref.map((v, q) => v + 0.05 * Math.sin(3 * q + 1));

describe('sequence A, K, G against finite differences', () => {
  const { p, task, ref, dpo } = setup();
  const th = moved(ref);
  const V = p.layout.c, L = task.L, D = th.length, w = contextWidth(task);
  const o = 1, u = 3;
  const t = sequenceForceTerms(p, task, th, o, resp(task.chosen, o, L), u, dpo, 1e-3);

  it('K_{m,l} = J(χ_{o,m}) J(χ_{u,l})ᵀ against Jacobians from central differences of the compiled forward', () => {
    const fdJ = (x: Float64Array): Float64Array => {
      const J = new Float64Array(V * D);
      for (let q = 0; q < D; q++) {
        const a = Float64Array.from(th), b = Float64Array.from(th);
        a[q] += 1e-6;
        b[q] -= 1e-6;
        const za = logits(p, a, x), zb = logits(p, b, x);
        for (let k = 0; k < V; k++) J[k * D + q] = (za[k] - zb[k]) / 2e-6;
      }
      return J;
    };
    const obsRows = contextRows(task, o, resp(task.chosen, o, L));
    const upd = pairBatch(task, [u], task.chosen, task.rejected);
    expect(t.rowsU).toBe(2 * L);
    const KW = t.rowsU * V;
    let biggest = 0;
    for (let m = 0; m < L; m++) {
      const Jo = fdJ(obsRows.subarray(m * w, (m + 1) * w));
      for (let l = 0; l < t.rowsU; l++) {
        const Ju = fdJ(upd.rows.subarray(l * w, (l + 1) * w));
        for (let i = 0; i < V; i++) for (let k = 0; k < V; k++) {
          let s = 0;
          for (let q = 0; q < D; q++) s += Jo[i * D + q] * Ju[k * D + q];
          biggest = Math.max(biggest, Math.abs(s));
          expect(Math.abs(t.K[(m * V + i) * KW + l * V + k] - s)).toBeLessThan(1e-6 * Math.max(1, Math.abs(s)));
        }
      }
    }
    expect(biggest).toBeGreaterThan(1e-2);
  });

  it('A_m = I − 1π_mᵀ: Σ_m J_mᵀ A_mᵀ e_{y_m} is the gradient of log π(y|x) (central differences of the hand-written sequence log-probability)', () => {
    const y = resp(task.rejected, o, L);
    const tr = sequenceForceTerms(p, task, th, o, y, u, dpo, 1e-3);
    const rows = contextRows(task, o, y);
    const g = new Float64Array(D);
    for (let m = 0; m < L; m++) {
      // cotangent A_mᵀ e_{y_m} = e_{y_m} − π_m: its row y_m of A
      const E = Float64Array.from({ length: V }, (_, k) => tr.A[m][y[m] * V + k]);
      const gm = new Float64Array(D);
      p.kernels.vjpMean(th, rows.subarray(m * w, (m + 1) * w), E, 1, gm);
      for (let q = 0; q < D; q++) g[q] += gm[q];
    }
    for (let q = 0; q < D; q += 3) {
      const a = Float64Array.from(th), b = Float64Array.from(th);
      a[q] += 1e-6;
      b[q] -= 1e-6;
      const fd = (seqLogProb(p, task, a, o, y) - seqLogProb(p, task, b, o, y)) / 2e-6;
      expect(Math.abs(g[q] - fd)).toBeLessThan(1e-7);
    }
    // each block is the softmax Jacobian of its own position's π
    for (let m = 0; m < L; m++) for (let i = 0; i < V; i++) for (let k = 0; k < V; k++) expect(tr.A[m][i * V + k]).toBeCloseTo((i === k ? 1 : 0) - tr.pi[m * V + k], 15);
  });

  it('G: the DPO gradient in every logit of both responses against central differences of a hand-written DPO loss', () => {
    const b = pairBatch(task, [u], task.chosen, task.rejected);
    const Z = new Float64Array(b.nRows * V);
    p.kernels.forward(th, b.rows, b.nRows, Z);
    const lossOf = (Zs: Float64Array): number => {
      const lp = (s: number): number => {
        let acc = 0;
        for (let t2 = 0; t2 < L; t2++) {
          const r = s * L + t2, z = Zs.subarray(r * V, (r + 1) * V);
          acc += z[b.tokens[r]] - Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
        }
        return acc;
      };
      const ref2 = dpo.reference!;
      const margin = dpo.beta * ((lp(0) - ref2.chosen[u]) - (lp(1) - ref2.rejected[u]));
      return Math.log(1 + Math.exp(-margin));
    };
    const obj = sequenceObjective(p, th, b, dpo);
    expect(obj.loss).toBeCloseTo(lossOf(Z), 13);
    for (let k = 0; k < Z.length; k++) {
      const a = Float64Array.from(Z), c = Float64Array.from(Z);
      a[k] += 1e-6;
      c[k] -= 1e-6;
      expect(Math.abs(obj.G[k] - (lossOf(a) - lossOf(c)) / 2e-6)).toBeLessThan(1e-9);
      expect(Math.abs(t.G[k] - obj.G[k])).toBe(0);
    }
    // 1ᵀG_l = 0 at every position (the translation invariance of each token's softmax)
    for (let l = 0; l < b.nRows; l++) expect(Math.abs(obj.G.subarray(l * V, (l + 1) * V).reduce((s, v) => s + v, 0))).toBeLessThan(1e-15);
  });

  it('∇_θ of the batch DPO and SFT losses against central differences in θ (the loss by hand)', () => {
    const all = Array.from({ length: task.n }, (_, j) => j);
    const b = pairBatch(task, all, task.chosen, task.rejected);
    const ref2 = dpo.reference!;
    const dpoByHand = (x: Float64Array): number => all.reduce((s, j) => {
      const m = dpo.beta * ((seqLogProb(p, task, x, j, resp(task.chosen, j, L)) - ref2.chosen[j]) - (seqLogProb(p, task, x, j, resp(task.rejected, j, L)) - ref2.rejected[j]));
      return s + Math.log1p(Math.exp(-m));
    }, 0) / task.n;
    const sftByHand = (x: Float64Array): number => -all.reduce((s, j) => s + seqLogProb(p, task, x, j, resp(task.chosen, j, L)), 0) / task.n;
    for (const [loss, byHand] of [[dpo, dpoByHand], [{ name: 'sft', beta: 0 } as SequenceLoss, sftByHand]] as const) {
      const obj = sequenceObjective(p, th, b, loss);
      expect(obj.loss).toBeCloseTo(byHand(th), 12);
      for (let q = 0; q < D; q += 5) {
        const a = Float64Array.from(th), c = Float64Array.from(th);
        a[q] += 1e-6;
        c[q] -= 1e-6;
        expect(Math.abs(obj.grad[q] - (byHand(a) - byHand(c)) / 2e-6)).toBeLessThan(1e-7);
      }
    }
  });
});

describe('sequence first-order error falls like η²', () => {
  const { p, task, ref, dpo, sft } = setup(3, 5, 8);
  const th = moved(ref);
  const L = task.L;
  const cases: [string, SequenceLoss, number, Int32Array, number][] = [
    ['DPO step on pair 2, observed y⁺ of prompt 0', dpo, 0, resp(task.chosen, 0, L), 2],
    ['DPO step on pair 4, observed y⁻ of the same prompt', dpo, 4, resp(task.rejected, 4, L), 4],
    ['SFT step on pair 1, observed y⁺ of prompt 6', sft, 6, resp(task.chosen, 6, L), 1],
  ];
  for (const [name, loss, o, y, u] of cases) {
    it(`${name}: log-log slope 2 ± 0.1 over η ∈ [1e-4, 1e-1]`, () => {
      const s = sequenceEtaSweep(p, task, th, o, y, u, loss);
      expect(s.etas[0]).toBeCloseTo(1e-4, 15);
      expect(s.etas[s.etas.length - 1]).toBeCloseTo(1e-1, 15);
      expect(Math.abs(s.slope - 2)).toBeLessThan(0.1);
      // the prediction is not trivially zero: the first-order term dominates at small η
      const t = sequenceForceTerms(p, task, th, o, y, u, loss, 1e-4);
      expect(Math.abs(t.predictedSequence)).toBeGreaterThan(100 * t.error);
      expect(Math.abs(t.actualSequence - t.predictedSequence)).toBeLessThan(1e-3 * Math.abs(t.predictedSequence));
    });
  }

  it('the DPO force split sums to the full-batch first-order change Σ_u (1/n)(−ηAKG) built pair by pair', () => {
    const eta = 1e-3;
    const star = argmaxResponses(p, task, th).responses;
    const f = sequenceForceSplit(p, task, th, dpo, eta, star);
    let direct = 0;
    for (let o = 0; o < task.n; o++) for (let u = 0; u < task.n; u++) direct += sequenceForceTerms(p, task, th, o, resp(task.chosen, o, L), u, dpo, eta).predictedSequence / task.n;
    direct /= task.n;
    expect(f.chosen.positive + f.chosen.negative).toBeCloseTo(direct, 12);
  });
});

describe('sequence influence of each training pair', () => {
  it('row u equals (1/n) of the pair-u block decomposition −η Σ_m[Σ_l A_m K_ml G_l]_{y_m}; the row sum matches the full-batch step to O(η²)', () => {
    const { p, task, ref, dpo } = setup(3, 6, 6);
    const th = moved(ref);
    const L = task.L;
    for (const y of [resp(task.chosen, 2, L), resp(task.rejected, 2, L)]) {
      const inf = sequenceInfluence(p, task, th, 2, y, dpo, 1e-3);
      for (let u = 0; u < task.n; u++) {
        const blocks = sequenceForceTerms(p, task, th, 2, y, u, dpo, 1e-3).predictedSequence / task.n;
        expect(Math.abs(inf.byPair[u] - blocks)).toBeLessThan(1e-12 * Math.max(1e-6, Math.abs(blocks)) + 1e-18);
      }
      const errs = [1e-3, 1e-2].map((eta) => { const r = sequenceInfluence(p, task, th, 2, y, dpo, eta); return Math.abs(r.actual - r.predicted); });
      expect(Math.log10(errs[1] / errs[0])).toBeGreaterThan(1.8);
    }
  });
});

describe('single-token DPO (L = 1): the π terms of G cancel', () => {
  it('G = βσ(−u)(e_{y⁻} − e_{y⁺}) exactly, so there is no squeezing term; with L = 3 the rejected half keeps its π terms', () => {
    const { p, task, ref, dpo } = setup(1, 3, 5);
    const th = moved(ref);
    const V = p.layout.c;
    for (let u = 0; u < task.n; u++) {
      const b = pairBatch(task, [u], task.chosen, task.rejected);
      const G = sequenceObjective(p, th, b, dpo).G;
      const lp = (y: number): number => seqLogProb(p, task, th, u, [y]);
      const yp = task.chosen[u], ym = task.rejected[u];
      const margin = dpo.beta * ((lp(yp) - dpo.reference!.chosen[u]) - (lp(ym) - dpo.reference!.rejected[u]));
      const c = dpo.beta / (1 + Math.exp(margin));
      for (let k = 0; k < V; k++) expect(G[k] + G[V + k]).toBeCloseTo(c * ((k === ym ? 1 : 0) - (k === yp ? 1 : 0)), 14);
    }
    const s3 = setup(3, 3, 5);
    const b3 = pairBatch(s3.task, [0], s3.task.chosen, s3.task.rejected);
    const G3 = sequenceObjective(s3.p, moved(s3.ref), b3, s3.dpo).G;
    // positions 2 and 3 of y⁻ have their own prefix: nothing cancels their π terms
    const V3 = s3.p.layout.c;
    const rej = G3.subarray(4 * V3, 5 * V3);
    expect(Array.from(rej).filter((v) => Math.abs(v) > 1e-6).length).toBe(V3);
  });
});

describe('argmax response', () => {
  it('prefix-tree enumeration equals the brute-force maximum of log π(y|x) over all V^L responses', () => {
    const { p, task, ref } = setup(3, 1, 4);
    const { responses, logProb } = argmaxResponses(p, task, ref);
    const V = p.layout.c, L = task.L;
    for (let j = 0; j < task.n; j++) {
      let best = -Infinity, arg = -1;
      for (let s = 0; s < V ** L; s++) {
        const y = [Math.floor(s / (V * V)) % V, Math.floor(s / V) % V, s % V];
        const v = seqLogProb(p, task, ref, j, y);
        if (v > best) { best = v; arg = s; }
      }
      expect(logProb[j]).toBeCloseTo(best, 12);
      expect(Array.from(resp(responses, j, L))).toEqual([Math.floor(arg / (V * V)) % V, Math.floor(arg / V) % V, arg % V]);
    }
  });
});

describe('translation law along the sequence DPO flow', () => {
  it('1ᵀa_i (and the GL(H) laws) drift ≤ 1e-12 along dθ/dt = −∇L_DPO; the loss falls', () => {
    const { p, task, ref, dpo } = setup(3, 4, 6);
    const laws = lawInstances(discoverLaws(tinyLm), p.derived, p.layout);
    const translation = laws.filter((q) => /translation/.test(q.label));
    expect(translation.length).toBe(p.layout.H);
    const all = Array.from({ length: task.n }, (_, j) => j);
    const b = pairBatch(task, all, task.chosen, task.rejected);
    const rhs = (_t: number, y: Float64Array, dy: Float64Array): void => {
      const g = sequenceObjective(p, y, b, dpo).grad;
      for (let q = 0; q < y.length; q++) dy[q] = -g[q];
    };
    const sol = integrate('dopri5', rhs, 0, Float64Array.from(ref), 20, { rtol: 1e-10, atol: 1e-12 });
    const lossAt = (y: Float64Array): number => sequenceObjective(p, y, b, dpo).loss;
    expect(lossAt(sol.y[sol.y.length - 1])).toBeLessThan(0.9 * lossAt(sol.y[0]));
    for (const q of translation) {
      const q0 = q.poly.evaluate(sol.y[0]);
      for (const y of sol.y) expect(Math.abs(q.poly.evaluate(y) - q0)).toBeLessThan(1e-12);
    }
    // the neuron-mixing laws hold too (relative to their terms), as for any loss of the logits
    for (const q of laws) {
      const q0 = q.poly.evaluate(sol.y[0]);
      const scale = Math.max(...sol.y.map((y) => q.poly.evaluateAbs(y)));
      for (const y of sol.y) expect(Math.abs(q.poly.evaluate(y) - q0)).toBeLessThan(1e-8 * Math.max(1, scale));
    }
  });
});
