/**
 * The group-block Newton polish of κ > 2 fits (src/solvers/agf/group-newton.ts) against
 * independent references: its Hessian blocks against the exact Hessian of a hand-written modular
 * gradient (forward-mode dual numbers, no differences), its groups against the Fourier structure
 * (neurons on different frequencies have orthogonal outputs), and its end points against a
 * gradient recomputed by the hand-written code. Its use inside AGF (the three-factor spec: each
 * fit = the normal equations' least-squares fit) is in agf-rescaling.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { modularProblem } from '../models/modular.ts';
import { parseSpectrum } from '../models/modular-data.ts';
import { maximiser } from '../models/modular-theory.ts';
import { couplingGroups, groupHessians, groupNewton } from '../src/solvers/agf/group-newton.ts';
import { lbfgs } from '../src/solvers/lbfgs.ts';
import { Rng } from '../src/util/rng.ts';
import type { Problem } from '../src/problem.ts';

/**
 * ∇L of L = (1/2n) Σ_j ‖y_j − Σ_i w_i (u_i·xa_j + v_i·xb_j)²‖² over the masked neurons, and its
 * directional derivative along dth (dual numbers: every quantity carries its derivative).
 */
function handGradDual(pr: Problem, th: Float64Array, dth: Float64Array, mask: Uint8Array): { g: Float64Array; dg: Float64Array } {
  const { X, Y, n } = pr.data;
  const p = pr.layout.c, H = pr.layout.H, P = 3 * p;
  const g = new Float64Array(th.length), dg = new Float64Array(th.length);
  const z = new Float64Array(H), dz = new Float64Array(H), f = new Float64Array(p), df = new Float64Array(p);
  for (let j = 0; j < n; j++) {
    f.fill(0);
    df.fill(0);
    for (let i = 0; i < H; i++) {
      if (!mask[i]) continue;
      let s = 0, ds = 0;
      for (let k = 0; k < p; k++) {
        const xa = X[j * 2 * p + k], xb = X[j * 2 * p + p + k];
        s += th[i * P + k] * xa + th[i * P + p + k] * xb;
        ds += dth[i * P + k] * xa + dth[i * P + p + k] * xb;
      }
      z[i] = s;
      dz[i] = ds;
      for (let k = 0; k < p; k++) {
        f[k] += th[i * P + 2 * p + k] * s * s;
        df[k] += dth[i * P + 2 * p + k] * s * s + 2 * th[i * P + 2 * p + k] * s * ds;
      }
    }
    for (let i = 0; i < H; i++) {
      if (!mask[i]) continue;
      let wr = 0, dwr = 0;
      for (let k = 0; k < p; k++) {
        const r = f[k] - Y[j * p + k];
        wr += th[i * P + 2 * p + k] * r;
        dwr += dth[i * P + 2 * p + k] * r + th[i * P + 2 * p + k] * df[k];
      }
      for (let k = 0; k < p; k++) {
        const xa = X[j * 2 * p + k], xb = X[j * 2 * p + p + k], r = f[k] - Y[j * p + k];
        const c = 2 * wr * z[i], dc = 2 * (dwr * z[i] + wr * dz[i]);
        g[i * P + k] += (c * xa) / n;
        dg[i * P + k] += (dc * xa) / n;
        g[i * P + p + k] += (c * xb) / n;
        dg[i * P + p + k] += (dc * xb) / n;
        g[i * P + 2 * p + k] += (z[i] * z[i] * r) / n;
        dg[i * P + 2 * p + k] += (2 * z[i] * dz[i] * r + z[i] * z[i] * df[k]) / n;
      }
    }
  }
  return { g, dg };
}

/** The polisher's use in AGF: after L-BFGS (here 300 iterations, all neurons active). */
function lbfgsStart(pr: Problem, th: Float64Array): void {
  const { X, Y, n } = pr.data;
  const r = lbfgs((x, g) => pr.kernels.lossGrad(x, X, Y, n, g), th, { maxIter: 300, memory: 20, gtol: 0, ftol: 0 });
  th.set(r.x);
}

const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));


describe('coupled groups and their Hessian blocks', () => {
  const p = 7;
  const pr = modularProblem({ p, H: 4, alpha: 0.5, spectrum: parseSpectrum('1:4,2:3,3:2'), seed: 2, initSeed: 3 });
  const { H, P } = pr.layout;
  // neurons 0 and 3 on frequency 1 (different phases), 1 on frequency 2, 2 on frequency 3
  const th = new Float64Array(H * P);
  [[1, 0], [2, 0], [3, 0], [1, 1.1]].forEach(([freq, phase], i) => { const m = maximiser(p, freq, phase); for (let a = 0; a < P; a++) th[i * P + a] = 1.3 * m[a]; });
  const mask = new Uint8Array(H).fill(1);

  it('neurons on different frequencies (orthogonal outputs) are apart, neurons sharing one are together', () => {
    expect(couplingGroups(pr, th, mask).map((g) => g.slice().sort()).sort()).toEqual([[0, 3], [1], [2]]);
  });

  it('each block = the exact Hessian (dual numbers on a hand-written gradient) within its group, to ≤ 1e-7 relative', () => {
    const members = couplingGroups(pr, th, mask);
    const { B } = groupHessians(pr, th, mask, members);
    members.forEach((grp, k) => {
      const q2 = grp.flatMap((j) => Array.from({ length: P }, (_, a) => j * P + a)); // active order = neuron order here
      const m = q2.length;
      let top = 0, err = 0;
      q2.forEach((q, col) => {
        const e = new Float64Array(H * P);
        e[q] = 1;
        const { dg } = handGradDual(pr, th, e, mask);
        q2.forEach((r, row) => { top = Math.max(top, Math.abs(dg[r])); err = Math.max(err, Math.abs(B[k][row * m + col] - dg[r])); });
      });
      expect(err).toBeLessThan(1e-7 * top);
    });
  });
});

describe('group Newton', () => {
  it('modular p = 7, one neuron after L-BFGS from random starts (an attained minimum): ‖∇L‖ recomputed by the hand-written gradient ≤ 1e-11', () => {
    // (two neurons on one frequency class have no attained minimum: their norms grow without bound as L creeps down)
    const pr = modularProblem({ p: 7, H: 1, alpha: 0.5, spectrum: parseSpectrum('1:4'), phases: 'random', seed: 2, initSeed: 3 });
    const { H, P } = pr.layout;
    for (const seed of [11, 12, 13]) {
      const th = new Rng(seed).normalArray(H * P, 0.5);
      const mask = Uint8Array.from([1]);
      lbfgsStart(pr, th);
      const L0 = pr.kernels.loss(th, pr.data.X, pr.data.Y, pr.data.n);
      const r = groupNewton(pr, th, mask, { gtol: 1e-12, maxSteps: 100 });
      const { g } = handGradDual(pr, th, new Float64Array(H * P), mask);
      expect(norm(g)).toBeLessThan(1e-11);
      expect(Math.abs(r.gradNorm - norm(g))).toBeLessThan(1e-12);
      expect(r.loss).toBeLessThanOrEqual(L0);
    }
  });
});
