/**
 * Force analysis (theory.md §9) against independent computations: A against finite differences of
 * log softmax (the tree-walking evaluator), K against the product of Jacobians built from finite
 * differences of the compiled forward pass, G against finite differences of the compiled loss,
 * the first-order error falling like η² (log-log slope 2 ± 0.1 over η ∈ [1e-4, 1e-1]) on every
 * softmax model, the squeezing effect against the free-logit closed form, and the translation law
 * along the flow.
 */
import { describe, expect, it } from 'vitest';
import { createProblem, type Problem } from '../src/problem.ts';
import { softmax, softmaxMlp } from '../models/softmax.ts';
import { tinyLm } from '../models/tiny-lm.ts';
import { sym } from '../src/symbolic/expr.ts';
import { parseTemplate } from '../src/symbolic/parse.ts';
import { evaluate } from '../src/symbolic/evaluate.ts';
import { etaSweep, firstOrderFalls, forceTerms, influenceMatrix, logits, softmaxOf, squeezing } from '../src/analysis/forces.ts';
import { dpoForces, pairsOf, preferenceRun, withReference } from '../src/analysis/learning-paths.ts';
import { discoverLaws, lawInstances } from '../src/laws/discover.ts';
import { lawDrift } from '../src/laws/audit.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { deriveModel } from '../src/symbolic/derive.ts';
import type { LossChoice } from '../src/symbolic/losses.ts';

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let e = 0;
  for (let k = 0; k < a.length; k++) e = Math.max(e, Math.abs(a[k] - b[k]));
  return e;
};

function problem(def = softmax, loss: LossChoice | undefined = undefined, alpha = 0.7): Problem {
  return createProblem(def, { alpha, seed: 4, loss, options: { n: 9 } });
}

describe('A, K, G against finite differences', () => {
  it('A = I − 1πᵀ is the Jacobian of log softmax (evaluator + central differences)', () => {
    const p = problem();
    const t = forceTerms(p, p.theta0, 1, 5, 1e-3);
    const V = t.V;
    const z = logits(p, p.theta0, p.data.X.subarray(p.data.dIn, 2 * p.data.dIn));
    const zs = sym('z', [V], 'output');
    const logPi = parseTemplate('z - logsumexp(z) * 1', new Map([['z', zs]]));
    const at = (v: Float64Array): Float64Array => (evaluate(logPi, new Map([['z', { data: v, shape: [V] }]])) as { data: Float64Array }).data;
    const h = 1e-6;
    for (let k = 0; k < V; k++) {
      const zp = Float64Array.from(z), zm = Float64Array.from(z);
      zp[k] += h;
      zm[k] -= h;
      const col = at(zp).map((v, m) => (v - at(zm)[m]) / (2 * h));
      for (let m = 0; m < V; m++) expect(Math.abs(t.A[m * V + k] - col[m])).toBeLessThan(1e-8);
    }
  });

  for (const [def, name] of [[softmax, 'softmax'], [softmaxMlp, 'softmax-mlp']] as const) {
    it(`${name}: K = J_o J_uᵀ against Jacobians from finite differences of the forward pass; G against finite differences of the loss`, () => {
      const p = problem(def);
      const o = 2, u = 7;
      const t = forceTerms(p, p.theta0, o, u, 1e-3);
      const V = t.V, D = p.theta0.length, dIn = p.data.dIn;
      const fdJ = (j: number): Float64Array => {
        const x = p.data.X.subarray(j * dIn, (j + 1) * dIn);
        const J = new Float64Array(V * D);
        const h = 1e-6;
        for (let q = 0; q < D; q++) {
          const a = Float64Array.from(p.theta0), b = Float64Array.from(p.theta0);
          a[q] += h;
          b[q] -= h;
          const za = logits(p, a, x), zb = logits(p, b, x);
          for (let k = 0; k < V; k++) J[k * D + q] = (za[k] - zb[k]) / (2 * h);
        }
        return J;
      };
      const Jo = fdJ(o), Ju = fdJ(u);
      let scale = 0;
      for (let m = 0; m < V; m++) for (let l = 0; l < V; l++) {
        let s = 0;
        for (let q = 0; q < D; q++) s += Jo[m * D + q] * Ju[l * D + q];
        scale = Math.max(scale, Math.abs(s));
        expect(Math.abs(t.K[m * V + l] - s)).toBeLessThan(1e-7 * Math.max(1, Math.abs(s)));
      }
      expect(scale).toBeGreaterThan(0);
      // G = ∇_z ℓ(z_u, t_u) by central differences of the compiled loss
      const TW = p.kernels.targetWidth;
      const zu = logits(p, p.theta0, p.data.X.subarray(u * dIn, (u + 1) * dIn));
      const T = p.data.Y.subarray(u * TW, (u + 1) * TW);
      for (let k = 0; k < V; k++) {
        const a = Float64Array.from(zu), b = Float64Array.from(zu);
        a[k] += 1e-6;
        b[k] -= 1e-6;
        const fd = (p.kernels.outputLoss(a, T, 1, null) - p.kernels.outputLoss(b, T, 1, null)) / 2e-6;
        expect(Math.abs(t.G[k] - fd)).toBeLessThan(1e-8);
      }
    });
  }

  it('linear softmax regression: K(x, x) = (‖x‖² + 1) I (free logits scaled by the input norm)', () => {
    const p = problem();
    const t = forceTerms(p, p.theta0, 3, 3, 1e-3);
    const x = p.data.X.subarray(3 * p.data.dIn, 4 * p.data.dIn);
    const kappa = x.reduce((s, v) => s + v * v, 0) + 1;
    const V = t.V;
    for (let m = 0; m < V; m++) for (let l = 0; l < V; l++) expect(Math.abs(t.K[m * V + l] - (m === l ? kappa : 0))).toBeLessThan(1e-12 * kappa);
  });
});

describe('first-order prediction error falls like η²', () => {
  const cases: [string, () => Problem][] = [
    ['softmax / cross-entropy', () => problem()],
    ['softmax / label smoothing', () => problem(softmax, { name: 'label-smoothing', epsilon: 0.2 })],
    ['softmax / dpo', () => problem(softmax, { name: 'dpo', beta: 0.5 })],
    ['softmax-mlp / cross-entropy', () => problem(softmaxMlp)],
    ['softmax-mlp / neg-grad', () => problem(softmaxMlp, { name: 'neg-grad' })],
    // the sequence model's per-position network on its per-token SFT rows (whole sequences: forces-sequence.test.ts)
    ['tiny-lm / cross-entropy per token', () => createProblem(tinyLm, { alpha: 0.5, seed: 4, dims: { H: 4 }, options: { n: 4 } })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: log-log slope 2 ± 0.1 over η ∈ [1e-4, 1e-1]`, () => {
      const p = make();
      const s = etaSweep(p, p.theta0, 0, 4);
      expect(s.etas[0]).toBeCloseTo(1e-4, 15);
      expect(s.etas[s.etas.length - 1]).toBeCloseTo(1e-1, 15);
      expect(Math.abs(s.slope - 2)).toBeLessThan(0.1);
    });
  }

  it('influence rows sum to the batch prediction, which matches the full GD step to O(η²)', () => {
    const p = problem();
    const errs = [1e-3, 1e-2].map((eta) => {
      const inf = influenceMatrix(p, p.theta0, [0, 3], eta);
      inf.influence.forEach((row, r) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(inf.predicted[r], 14));
      return Math.max(...inf.predicted.map((v, r) => Math.abs(v - inf.actual[r])));
    });
    expect(Math.log(errs[1] / errs[0]) / Math.log(10)).toBeGreaterThan(1.8);
  });
});

describe('the squeezing effect (50 classes, input dimension 4)', () => {
  const p = createProblem(softmax, { dims: { V: 50, d: 4 }, alpha: 1.2, seed: 1, options: { n: 5 } });
  const eta = 1e-4;
  const cases = squeezing(p, p.theta0, 0, eta);
  const x = p.data.X.subarray(0, 4);
  const kappa = x.reduce((s, v) => s + v * v, 0) + 1;
  const z = logits(p, p.theta0, x);
  const pi = softmaxOf(z);

  it('measured one-step changes equal the free-logit closed form π′ = softmax(z − ηκG), κ = ‖x‖² + 1, to ≤ 1e-6 relative', () => {
    for (const c of cases) {
      const s = c.sign === 'negative' ? 1 : -1;
      // by hand: G = ±(e_y − π), Δz = −ηκG
      const next = softmaxOf(z.map((v, k) => v - eta * kappa * s * ((k === c.label ? 1 : 0) - pi[k])));
      const byHand = next.map((v, k) => v - pi[k]);
      const den = Math.max(...byHand.map(Math.abs));
      expect(maxAbs(c.measured, byHand) / den).toBeLessThan(1e-6);
      // the first-order rule counts the same falling classes
      expect(c.fallFraction).toBe(firstOrderFalls(pi, c.label, c.sign).filter(Boolean).length / 50);
    }
  });

  it('negative gradient on the least likely label: most classes lose probability and the argmax gains', () => {
    const low = cases.find((c) => c.sign === 'negative' && c.rank === 'low')!;
    expect(low.fallFraction).toBeGreaterThan(0.5);
    expect(low.argmaxGain).toBeGreaterThan(0);
    expect(low.measured[low.label]).toBeLessThan(0);
    // the contrast: a positive step on the same label raises it and lowers the argmax
    const pos = cases.find((c) => c.sign === 'positive' && c.rank === 'low')!;
    expect(pos.measured[pos.label]).toBeGreaterThan(0);
    expect(pos.argmaxGain).toBeLessThan(0);
  });
});

describe('translation law along the flow', () => {
  it('1ᵀW and 1ᵀb drift ≤ 1e-12 along the cross-entropy flow; an MSE softmax-shaped model has no such law', () => {
    const p = createProblem(softmax, { alpha: 0.5, seed: 3 });
    const laws = lawInstances(discoverLaws(softmax), p.derived, p.layout);
    expect(laws.length).toBe(p.layout.dims.d + 1);
    const tr = solveFlow(p, { tEnd: 20, method: 'dopri5', rtol: 1e-10, atol: 1e-12 });
    expect(lawDrift(laws, tr.states).drift).toBeLessThan(1e-12);
    // the loss moved: the law is not trivially constant
    expect(tr.loss[tr.loss.length - 1]).toBeLessThan(0.9 * tr.loss[0]);
    for (const q of laws) for (const th of tr.states) expect(Math.abs(q.poly.evaluate(th) - q.poly.evaluate(tr.states[0]))).toBeLessThan(1e-12);
    const mse = discoverLaws(deriveModel({ ...softmax.spec, name: 'mse-logits', loss: 'mse' }));
    expect(mse.laws.some((l) => l.family.kind === 'translation')).toBe(false);
    expect(mse.notApplicable.find((n) => n.kind === 'translation')?.reason).toMatch(/the loss is mse/);
  });
});

describe('translation law along the softmax-mlp flow', () => {
  it('1ᵀa_i drifts ≤ 1e-12 along the cross-entropy flow across relu kinks (a linear law: every RHS evaluation keeps it)', () => {
    const p = createProblem(softmaxMlp, { alpha: 0.5, seed: 2, options: { n: 20 } });
    const laws = lawInstances(discoverLaws(softmaxMlp), p.derived, p.layout).filter((q) => /translation/.test(q.label));
    expect(laws.length).toBe(p.layout.H);
    const tr = solveFlow(p, { tEnd: 10, method: 'dopri5', rtol: 1e-10, atol: 1e-12 });
    expect(tr.loss[tr.loss.length - 1]).toBeLessThan(0.9 * tr.loss[0]);
    for (const q of laws) for (const th of tr.states) expect(Math.abs(q.poly.evaluate(th) - q.poly.evaluate(tr.states[0]))).toBeLessThan(1e-12);
  });
});

describe('DPO forces', () => {
  it('single-token DPO on linear softmax regression: the π terms of G cancel, so a pair’s own step raises log π(y⁺) by ηκc(1 − π⁺ + π⁻) > 0 (closed form)', () => {
    const base = createProblem(softmax, { dims: { V: 6 }, alpha: 1, seed: 8, loss: { name: 'dpo', beta: 0.7 }, options: { n: 10, offpolicy: 1 } });
    const p = withReference(base, base.theta0.map((v, q) => 0.3 * v + 0.1 * Math.cos(q)));
    const { chosen, rejected } = pairsOf(p);
    const V = 6, TW = 3 * V, dIn = p.data.dIn, eta = 1e-3;
    for (let u = 0; u < p.data.n; u++) {
      const x = p.data.X.subarray(u * dIn, (u + 1) * dIn);
      const kappa = x.reduce((s2, v) => s2 + v * v, 0) + 1;
      const z = logits(p, p.theta0, x), r = p.data.Y.subarray(u * TW + 2 * V, (u + 1) * TW);
      const lse = (a: ArrayLike<number>): number => Math.log(Array.from(a).reduce((s2, v) => s2 + Math.exp(v), 0));
      const yp = chosen[u], ym = rejected[u];
      const margin = 0.7 * ((z[yp] - lse(z)) - (r[yp] - lse(r)) - (z[ym] - lse(z)) + (r[ym] - lse(r)));
      const c = 0.7 / (1 + Math.exp(margin));
      const pi = softmaxOf(z);
      const t = forceTerms(p, p.theta0, u, u, eta);
      for (let k = 0; k < V; k++) {
        const want = eta * kappa * c * ((k === yp ? 1 : 0) - (k === ym ? 1 : 0) - (pi[yp] - pi[ym]));
        expect(Math.abs(t.predicted[k] - want)).toBeLessThan(1e-12);
      }
      expect(t.predicted[yp]).toBeGreaterThan(0);
    }
  });

  it('the positive and negative halves of DPO’s G add up to the full first-order change (A K G is linear in G)', () => {
    const base = createProblem(softmax, { dims: { V: 6 }, alpha: 1, seed: 5, loss: { name: 'dpo', beta: 1 }, options: { n: 12 } });
    const p = withReference(base, base.theta0.map((v) => 0.5 * v));
    const { chosen } = pairsOf(p);
    const eta = 1e-3;
    const run = preferenceRun(p, p.theta0, 0.1, 2, 1);
    const f = dpoForces(p, p.theta0, eta, run.argmaxClass);
    const inf = influenceMatrix(p, p.theta0, Array.from({ length: p.data.n }, (_, j) => j), eta);
    // influenceMatrix tracks the chosen class (the argmax of the target row)
    expect(inf.labels).toEqual(chosen);
    const mean = inf.predicted.reduce((a, b) => a + b, 0) / p.data.n;
    expect(f.chosen.positive + f.chosen.negative).toBeCloseTo(mean, 14);
    // the chosen response is pulled up by its own half
    expect(f.chosen.positive).toBeGreaterThan(0);
  });
});
