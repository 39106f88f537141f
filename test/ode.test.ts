import { describe, it, expect } from 'vitest';
import { integrate, type OdeMethod, type OdeRhs } from '../src/solvers/ode/index.ts';
import { GradflowError } from '../src/util/errors.ts';
import { createProblem } from '../src/problem.ts';
import { linear } from '../models/linear.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { ARENA_MIN, stageArena } from '../src/solvers/ode/wasm-stages.ts';
import { combination } from '../src/solvers/ode/lincomb.ts';

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

// Riccati/logistic u' = 2u(s − u); closed form by separation of variables
const S = 1.5;
const U0 = 1e-6;
const logistic: OdeRhs = (_t, y, d) => {
  d[0] = 2 * y[0] * (S - y[0]);
};
const logisticExact = (t: number): number => {
  const e = Math.exp(2 * S * t);
  return (S * e) / (e - 1 + S / U0);
};

// rigid rotation y' = ω × y, whose flow is orthogonal: ‖y‖² is a quadratic invariant
const W = [0.7, -1.3, 0.4];
const rotation: OdeRhs = (_t, y, d) => {
  d[0] = W[1] * y[2] - W[2] * y[1];
  d[1] = W[2] * y[0] - W[0] * y[2];
  d[2] = W[0] * y[1] - W[1] * y[0];
};
const norm2 = (y: Float64Array): number => y[0] * y[0] + y[1] * y[1] + y[2] * y[2];
const maxDrift = (ys: Float64Array[]): number => {
  const q0 = norm2(ys[0]);
  let m = 0;
  for (const y of ys) m = Math.max(m, Math.abs(norm2(y) - q0) / q0);
  return m;
};
const Y_ROT = new Float64Array([0.3, -0.8, 0.5]);

describe('dopri5 accuracy', () => {
  // dop853's local error control is looser per unit of rtol (8th-order steps are long): 1e-13 for the same global error
  it('exponential decay and growth to 1e-10 relative, including dense output (dopri5 at rtol 1e-12, dop853 at 1e-13)', () => {
    for (const [method, rtol] of [['dopri5', 1e-12], ['dop853', 1e-13]] as const) for (const lam of [-1.3, 0.9]) {
      const sol = integrate(method, (_t, y, d) => { d[0] = lam * y[0]; }, 0, new Float64Array([2]), 10, { rtol, dense: true });
      let worst = 0;
      sol.t.forEach((t, k) => { worst = Math.max(worst, relErr(sol.y[k][0], 2 * Math.exp(lam * t))); });
      expect(worst).toBeLessThan(1e-10);
      let worstDense = 0;
      for (let t = 0.0137; t < 10; t += 0.3711) worstDense = Math.max(worstDense, relErr(sol.dense(t)[0], 2 * Math.exp(lam * t)));
      expect(worstDense).toBeLessThan(1e-10);
      expect(sol.t[sol.t.length - 1]).toBe(10);
      expect(sol.status).toBe('done');
    }
  });

  it('logistic growth from 1e-6 over [0, 30] matches the closed form to 1e-9', () => {
    const sol = integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12 });
    let worst = 0;
    sol.t.forEach((t, k) => { worst = Math.max(worst, relErr(sol.y[k][0], logisticExact(t))); });
    console.log(`logistic dopri5: steps=${sol.stats.steps} rejected=${sol.stats.rejected} fevals=${sol.stats.fevals} maxRelErr=${worst.toExponential(3)}`);
    expect(worst).toBeLessThan(1e-9);
  });

  it('tEval returns exactly the requested times', () => {
    const tEval = [0, 0.25, 1, 2.5, 7.75, 30];
    const sol = integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12, tEval });
    expect(sol.t).toEqual(tEval);
    sol.t.forEach((t, k) => expect(relErr(sol.y[k][0], logisticExact(t))).toBeLessThan(1e-9));
  });

  it('dense output outside [t0, tEnd] throws', () => {
    const sol = integrate('dopri5', logistic, 0, new Float64Array([U0]), 2);
    expect(() => sol.dense(2.5)).toThrow(GradflowError);
    expect(() => sol.dense(-0.1)).toThrow(GradflowError);
  });
});

describe('quadratic invariants', () => {
  const cases: [OdeMethod, { dt?: number; rtol?: number }][] = [
    ['gauss4', { dt: 0.01 }],
    ['gauss4', { rtol: 1e-8 }],
    ['midpoint', { dt: 0.01 }],
    ['midpoint', { rtol: 1e-6 }],
  ];
  for (const [method, opts] of cases) {
    it(`${method} ${opts.dt ? 'fixed' : 'adaptive'} conserves ‖y‖² to 1e-13 over [0, 100]`, () => {
      const sol = integrate(method, rotation, 0, Y_ROT, 100, opts);
      const drift = maxDrift(sol.y);
      console.log(`${method} ${JSON.stringify(opts)}: steps=${sol.stats.steps} rejected=${sol.stats.rejected} drift=${drift.toExponential(3)}`);
      expect(drift).toBeLessThan(1e-13);
    });
  }

  it('conservation does not depend on the state scale (tiny inits)', () => {
    const tiny = Y_ROT.map((v) => v * 1e-6);
    for (const method of ['gauss4', 'midpoint'] as const) {
      expect(maxDrift(integrate(method, rotation, 0, tiny, 100, { dt: 0.05 }).y)).toBeLessThan(1e-13);
      expect(maxDrift(integrate(method, rotation, 0, tiny, 100, { rtol: 1e-6 }).y)).toBeLessThan(1e-13);
    }
  });

  it('gauss4 keeps round-off drift small over 1e5 steps (compensated update)', () => {
    const sol = integrate('gauss4', rotation, 0, Y_ROT, 100, { dt: 1e-3 });
    expect(sol.stats.steps).toBe(100000);
    const drift = maxDrift(sol.y);
    console.log(`gauss4 dt=1e-3 (1e5 steps): drift=${drift.toExponential(3)}`);
    expect(drift).toBeLessThan(1e-13);
  });

  it('dopri5 at loose tolerance drifts visibly more than gauss4', () => {
    const rk = maxDrift(integrate('dopri5', rotation, 0, Y_ROT, 100, { rtol: 1e-4 }).y);
    const g = maxDrift(integrate('gauss4', rotation, 0, Y_ROT, 100, { dt: 0.01 }).y);
    console.log(`drift dopri5(rtol 1e-4)=${rk.toExponential(3)} gauss4=${g.toExponential(3)}`);
    expect(rk).toBeGreaterThan(1e3 * g);
  });
});

describe('convergence order', () => {
  // y' = −y(1+t), y(0) = 1  ⇒  y = exp(−t − t²/2)
  const rhs: OdeRhs = (t, y, d) => { d[0] = -y[0] * (1 + t); };
  const errAt = (method: OdeMethod, dt: number): number => {
    const sol = integrate(method, rhs, 0, new Float64Array([1]), 2, { dt });
    return Math.abs(sol.y[sol.y.length - 1][0] - Math.exp(-2 - 2));
  };
  it('gauss4 is order 4', () => {
    const ratio = errAt('gauss4', 0.1) / errAt('gauss4', 0.05);
    console.log(`gauss4 error ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(13);
    expect(ratio).toBeLessThan(19);
  });
  it('midpoint is order 2', () => {
    const ratio = errAt('midpoint', 0.1) / errAt('midpoint', 0.05);
    console.log(`midpoint error ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4.5);
  });
  it('rk4 is order 4', () => {
    const ratio = errAt('rk4', 0.1) / errAt('rk4', 0.05);
    expect(ratio).toBeGreaterThan(13);
    expect(ratio).toBeLessThan(19);
  });
});

describe('rkc (Runge–Kutta–Chebyshev, error-controlled)', () => {
  // y0' = −y0(1 + t) (y0 = exp(−t − t²/2)) beside a stiff forced component
  // y1' = −K(y1 − cos t) − sin t (y1 = cos t from y1(0) = 1): with K = 1000 the steps take ~15
  // Chebyshev stages, each evaluated at its own abscissa — wrong stage times would show in y1
  const K = 1000;
  const rhs: OdeRhs = (t, y, d) => { d[0] = -y[0] * (1 + t); d[1] = -K * (y[1] - Math.cos(t)) - Math.sin(t); };
  const exact = (t: number): [number, number] => [Math.exp(-t - t * t / 2), Math.cos(t)];
  const errAt = (opts: { dt?: number; rtol?: number }): { e: number; fevals: number } => {
    const sol = integrate('rkc', rhs, 0, new Float64Array([1, 1]), 2, { ...opts, atol: 1e-12 });
    const y = sol.y[sol.y.length - 1], ex = exact(2);
    return { e: Math.max(Math.abs(y[0] - ex[0]), Math.abs(y[1] - ex[1])), fevals: sol.stats.fevals };
  };
  it('is order 2 with fixed steps (error ratio at halved steps ≈ 4), stiff component included', () => {
    const ratio = errAt({ dt: 0.1 }).e / errAt({ dt: 0.05 }).e;
    console.log(`rkc error ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4.5);
  });
  it('error-controlled: the closed form to a few rtol at rtol 1e-6 … 1e-8, the error falling with rtol; a tenth of dopri5\'s evaluations on the stiff system', () => {
    const errs = [1e-6, 1e-7, 1e-8].map((rtol) => errAt({ rtol }));
    console.log(`rkc on the stiff forced system: ${errs.map((r) => `${r.e.toExponential(2)} (${r.fevals} evaluations)`).join(', ')}`);
    errs.forEach((r, k) => expect(r.e).toBeLessThan(10 * [1e-6, 1e-7, 1e-8][k]));
    expect(errs[2].e).toBeLessThan(errs[0].e);
  });
  it('where stiffness sets dopri5\'s step (K = 1e4 over [0, 20]): as accurate in under a fifth of its evaluations (9.6× fewer here)', () => {
    const K4 = 1e4;
    const stiff: OdeRhs = (t, y, d) => { d[0] = -K4 * (y[0] - Math.cos(t)) - Math.sin(t); };
    const run = (m: OdeMethod): { e: number; fevals: number } => {
      const sol = integrate(m, stiff, 0, new Float64Array([1]), 20, { rtol: 1e-6, atol: 1e-12, maxSteps: 1e7 });
      return { e: Math.abs(sol.y[sol.y.length - 1][0] - Math.cos(20)), fevals: sol.stats.fevals };
    };
    const [r, d] = [run('rkc'), run('dopri5')];
    console.log(`y' = −1e4(y − cos t) − sin t to t = 20, rtol 1e-6: rkc error ${r.e.toExponential(2)} in ${r.fevals} evaluations, dopri5 ${d.e.toExponential(2)} in ${d.fevals}`);
    expect(r.e).toBeLessThan(1e-5);
    expect(r.fevals * 5).toBeLessThan(d.fevals);
    expect(r.e).toBeLessThan(10 * d.e);
  });
  it('dense output (cubic Hermite on its steps) and tEval agree with the closed form inside the steps', () => {
    const tEval = Array.from({ length: 41 }, (_, k) => k / 20);
    const sol = integrate('rkc', rhs, 0, new Float64Array([1, 1]), 2, { rtol: 1e-8, atol: 1e-12, tEval });
    let worst = 0;
    sol.t.forEach((t, k) => { const ex = exact(t); worst = Math.max(worst, Math.abs(sol.y[k][0] - ex[0]), Math.abs(sol.y[k][1] - ex[1])); });
    console.log(`rkc tEval worst error ${worst.toExponential(2)} over ${sol.stats.steps} steps`);
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('dop853', () => {
  const expDecay: OdeRhs = (_t, y, d) => { d[0] = -y[0]; d[1] = 0.5 * y[1]; };
  const exact = (t: number): number[] => [Math.exp(-t), Math.exp(0.5 * t)];
  const errAt = (sol: { y: Float64Array[] }, t: number): number => {
    const y = sol.y[sol.y.length - 1], e = exact(t);
    return Math.max(relErr(y[0], e[0]), relErr(y[1], e[1]));
  };

  it('is order 8 (fixed steps, error ratio at halved steps ≈ 2^8)', () => {
    const run = (dt: number) => errAt(integrate('dop853', expDecay, 0, new Float64Array([1, 1]), 4, { dt }), 4);
    const order = Math.log2(run(0.5) / run(0.25));
    console.log(`dop853 observed order ${order.toFixed(3)}`);
    expect(order).toBeGreaterThan(7.6);
    expect(order).toBeLessThan(8.6);
  });

  it('its continuous extension is order 7 (interpolation error ratio at halved steps ≈ 2^8 locally)', () => {
    const worst = (dt: number): number => {
      const sol = integrate('dop853', expDecay, 0, new Float64Array([1, 1]), 4, { dt, dense: true });
      let m = 0;
      for (let t = dt * 0.37; t < 4; t += dt) {
        const y = sol.dense(t), e = exact(t);
        m = Math.max(m, relErr(y[0], e[0]), relErr(y[1], e[1]));
      }
      return m;
    };
    const order = Math.log2(worst(0.5) / worst(0.25)) - 1;
    console.log(`dop853 dense output observed order ${order.toFixed(3)}`);
    expect(order).toBeGreaterThan(6.5);
  });

  it('logistic growth from 1e-6 at rtol 1e-12 matches the closed form to 1e-10 with fewer evaluations than dopri5', () => {
    const a = integrate('dop853', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12 });
    const b = integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12 });
    let worst = 0;
    a.t.forEach((t, k) => { worst = Math.max(worst, relErr(a.y[k][0], logisticExact(t))); });
    console.log(`logistic dop853: steps=${a.stats.steps} fevals=${a.stats.fevals} (dopri5 ${b.stats.fevals}) maxRelErr=${worst.toExponential(3)}`);
    expect(worst).toBeLessThan(1e-10);
    expect(a.stats.fevals).toBeLessThan(b.stats.fevals);
  });
});

/**
 * Extrapolation (gbs.ts): against closed forms (logistic, exponentials, rotation), at its own
 * step points and on its dense output, and against dop853 on a gradient flow.
 */
describe('gbs', () => {
  it('logistic growth from 1e-6 matches the closed form to ~rtol at rtol 1e-8 … 1e-12, in fewer (longer) steps than dop853', () => {
    for (const rtol of [1e-8, 1e-10, 1e-12]) {
      const a = integrate('gbs', logistic, 0, new Float64Array([U0]), 30, { rtol });
      const b = integrate('dop853', logistic, 0, new Float64Array([U0]), 30, { rtol });
      let worst = 0;
      a.t.forEach((t, k) => { worst = Math.max(worst, relErr(a.y[k][0], logisticExact(t))); });
      console.log(`logistic gbs rtol ${rtol}: steps=${a.stats.steps} rejected=${a.stats.rejected} fevals=${a.stats.fevals} (dop853 ${b.stats.steps} steps, ${b.stats.fevals} fevals) maxRelErr=${worst.toExponential(3)}`);
      expect(worst).toBeLessThan(100 * rtol);
      expect(a.stats.steps).toBeLessThan(b.stats.steps);
    }
  });

  it('exponential decay and growth to 1e-10 at the steps and on the dense output (rtol 1e-12)', () => {
    for (const lam of [-1.3, 0.9]) {
      const sol = integrate('gbs', (_t, y, d) => { d[0] = lam * y[0]; }, 0, new Float64Array([2]), 10, { rtol: 1e-12 });
      let worst = 0;
      sol.t.forEach((t, k) => { worst = Math.max(worst, relErr(sol.y[k][0], 2 * Math.exp(lam * t))); });
      let worstDense = 0;
      for (let t = 0.0137; t < 10; t += 0.3711) worstDense = Math.max(worstDense, relErr(sol.dense(t)[0], 2 * Math.exp(lam * t)));
      expect(worst).toBeLessThan(1e-10);
      expect(worstDense).toBeLessThan(1e-10);
      expect(sol.t[sol.t.length - 1]).toBe(10);
    }
  });

  it('the dense output is as accurate inside its steps as at their ends (rotation, closed form e^{tΩ} via the rotation formula)', () => {
    const exactRot = (t: number): number[] => {
      // Rodrigues: rotation about ω by angle |ω|t
      const wn = Math.hypot(W[0], W[1], W[2]), k = W.map((w) => w / wn), a = wn * t;
      const v = [...Y_ROT], kv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
      const cr = [k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]];
      return v.map((vi, i) => vi * Math.cos(a) + cr[i] * Math.sin(a) + k[i] * kv * (1 - Math.cos(a)));
    };
    for (const rtol of [1e-8, 1e-11]) {
      const sol = integrate('gbs', rotation, 0, Y_ROT, 20, { rtol, atol: rtol });
      const err = (y: ArrayLike<number>, t: number): number => { const e = exactRot(t); return Math.hypot(y[0] - e[0], y[1] - e[1], y[2] - e[2]); };
      let ends = 0, inside = 0;
      sol.t.forEach((t, k) => { ends = Math.max(ends, err(sol.y[k], t)); });
      for (let k = 0; k + 1 < sol.t.length; k++) for (const x of [0.1, 0.25, 0.5, 0.75, 0.9]) {
        const t = sol.t[k] + x * (sol.t[k + 1] - sol.t[k]);
        inside = Math.max(inside, err(sol.dense(t), t));
      }
      console.log(`rotation gbs rtol ${rtol}: ${sol.stats.steps} steps, error at steps ${ends.toExponential(2)}, inside ${inside.toExponential(2)}`);
      expect(ends).toBeLessThan(100 * rtol);
      expect(inside).toBeLessThan(2 * ends + 10 * rtol);
    }
  });

  it('tEval inside the steps and a lean run (no dense output: the cheaper 2, 4, 6, … sequence) agree with the closed form', () => {
    const tEval = [0, 0.25, 1, 2.5, 7.75, 30];
    const sol = integrate('gbs', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12, tEval, dense: false });
    expect(sol.t).toEqual(tEval);
    sol.t.forEach((t, k) => expect(relErr(sol.y[k][0], logisticExact(t))).toBeLessThan(1e-9));
    const lean = integrate('gbs', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12, tEval: [30], dense: false });
    expect(relErr(lean.y[0][0], logisticExact(30))).toBeLessThan(1e-10);
    expect(lean.stats.fevals).toBeLessThan(sol.stats.fevals);
    expect(() => lean.dense(1)).toThrow(GradflowError);
  });

  it('a gradient flow (linear network through saddles, α = 1e-6) equals dop853 to 1e-9 at 21 checkpoints', () => {
    const p = createProblem(linear, { dims: { c: 3, d: 4, h: 3 }, alpha: 1e-6, seed: 2, monitors: [] });
    const tEval = Array.from({ length: 21 }, (_, k) => k * 3);
    const a = solveFlow(p, { tEnd: 60, method: 'gbs', rtol: 1e-12, tEval, dense: false });
    const b = solveFlow(p, { tEnd: 60, method: 'dop853', rtol: 1e-13, tEval, dense: false });
    let worst = 0;
    a.states.forEach((s, k) => {
      let d = 0, m = 0;
      for (let q = 0; q < s.length; q++) { d = Math.max(d, Math.abs(s[q] - b.states[k][q])); m = Math.max(m, Math.abs(b.states[k][q])); }
      worst = Math.max(worst, d / m);
    });
    console.log(`linear flow gbs vs dop853: max rel diff ${worst.toExponential(2)}, loss ${a.loss[0].toExponential(3)} → ${a.loss[20].toExponential(3)}`);
    expect(a.loss[20]).toBeLessThan(1e-3 * a.loss[0]);
    expect(worst).toBeLessThan(1e-9);
  });

  it('a fixed step is refused with a message naming the methods that take one', () => {
    expect(() => integrate('gbs', logistic, 0, new Float64Array([U0]), 1, { dt: 0.1 })).toThrow(/dt .*gauss4/);
  });
});

/**
 * Stage combinations in WebAssembly memory (wasm-stages.ts), used by dop853 at ≥ ARENA_MIN
 * components: equal to the generated JavaScript loops (lincomb.ts), odd and even sizes, and a
 * dop853 run at that size against the closed form.
 */
describe('stage arena', () => {
  it('a combination equals the JavaScript loop to rounding (n = 64, 65, 1001)', () => {
    for (const n of [ARENA_MIN, ARENA_MIN + 1, 1001]) {
      const arena = stageArena(5, n);
      if (!arena) return; // no WebAssembly SIMD here: dop853 keeps the JavaScript loops
      const [k0, k1, k2, base, out] = arena.vectors;
      for (let i = 0; i < n; i++) { k0[i] = Math.sin(i); k1[i] = Math.cos(3 * i); k2[i] = i / n; base[i] = 1 + i; }
      const w = [0.3, 0, -1.7, 2.5];
      arena.combination(w)(out, base, [k0, k1, k2, base], 0.125, n);
      const ref = new Float64Array(n);
      combination(w)(ref, base, [k0, k1, k2, base], 0.125, n);
      for (let i = 0; i < n; i++) expect(Math.abs(out[i] - ref[i])).toBeLessThanOrEqual(1e-15 * Math.abs(ref[i]));
      expect(() => arena.combination(w)(new Float64Array(n), base, [k0, k1, k2, base], 1, n)).toThrow(/arena/);
    }
  });

  it('dop853 on 200 decoupled exponentials (arena-sized state) matches e^{λ_i t} to 1e-10 at rtol 1e-13', () => {
    const n = 200, lam = Float64Array.from({ length: n }, (_, i) => -1 + (2 * i) / n);
    const sol = integrate('dop853', (_t, y, d) => { for (let i = 0; i < n; i++) d[i] = lam[i] * y[i]; }, 0, new Float64Array(n).fill(1), 5, { rtol: 1e-13, tEval: [5], dense: false });
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, relErr(sol.y[0][i], Math.exp(5 * lam[i])));
    expect(worst).toBeLessThan(1e-10);
  });
});

describe('events', () => {
  const unit: OdeRhs = (_t, _y, d) => { d[0] = 1; };
  const methods: OdeMethod[] = ['dopri5', 'dop853', 'gbs', 'gauss4', 'midpoint', 'rk4'];

  for (const method of methods) {
    it(`${method}: linear crossing located to 1e-12`, () => {
      const sol = integrate(method, unit, 0, new Float64Array([0]), 1, {
        dt: method === 'dopri5' || method === 'dop853' || method === 'gbs' ? undefined : 0.07,
        events: [{ name: 'hit', g: (_t, y) => y[0] - 0.3 }],
      });
      expect(sol.events).toHaveLength(1);
      expect(Math.abs(sol.events[0].t - 0.3)).toBeLessThan(1e-12);
      expect(sol.status).toBe('done');
      expect(sol.tEnd).toBe(1);
    });
  }

  it('a terminal event truncates the solution at the event', () => {
    const sol = integrate('dopri5', unit, 0, new Float64Array([0]), 1, {
      dense: true,
      events: [{ name: 'stop', g: (_t, y) => y[0] - 0.3, terminal: true }],
    });
    expect(sol.status).toBe('event');
    expect(Math.abs(sol.tEnd - 0.3)).toBeLessThan(1e-12);
    expect(sol.t[sol.t.length - 1]).toBe(sol.tEnd);
    expect(Math.abs(sol.y[sol.y.length - 1][0] - 0.3)).toBeLessThan(1e-12);
    expect(() => sol.dense(0.5)).toThrow(GradflowError);
  });

  it('a terminal event with tEval keeps only the requested times before it', () => {
    const sol = integrate('gauss4', logistic, 0, new Float64Array([U0]), 30, {
      rtol: 1e-10,
      dense: true,
      tEval: [0, 1, 2, 10, 20],
      events: [{ name: 'half', g: (_t, y) => y[0] - S / 2, terminal: true }],
    });
    expect(sol.status).toBe('event');
    expect(sol.t).toEqual([0, 1, 2]);
    expect(Math.abs(sol.dense(sol.tEnd)[0] - S / 2)).toBeLessThan(1e-12);
  });

  it('direction filtering keeps only the requested crossings', () => {
    // sin crosses zero downward at π and upward at 2π on (0, 7)
    const osc: OdeRhs = (_t, y, d) => { d[0] = y[1]; d[1] = -y[0]; };
    const g = (_t: number, y: Float64Array): number => y[0];
    const run = (direction: 1 | -1 | 0) =>
      integrate('dopri5', osc, 0, new Float64Array([0, 1]), 7, { rtol: 1e-12, events: [{ name: 'z', g, direction }] }).events.map((e) => e.t);
    const both = run(0);
    expect(both).toHaveLength(2);
    expect(Math.abs(both[0] - Math.PI)).toBeLessThan(1e-9);
    expect(Math.abs(both[1] - 2 * Math.PI)).toBeLessThan(1e-9);
    expect(run(-1).map((t) => Math.round(t / Math.PI))).toEqual([1]);
    expect(run(1).map((t) => Math.round(t / Math.PI))).toEqual([2]);
  });

  for (const method of ['dopri5', 'dop853', 'gbs'] as const) {
    it(`${method}: events on a nonlinear problem are located on the dense output to 1e-9`, () => {
      const tStar = Math.log(S / U0 - 1) / (2 * S);
      const sol = integrate(method, logistic, 0, new Float64Array([U0]), 30, {
        rtol: 1e-12,
        events: [{ name: 'half', g: (_t, y) => y[0] - S / 2 }],
      });
      expect(sol.events).toHaveLength(1);
      const e = Math.abs(sol.events[0].t - tStar);
      console.log(`logistic half-saturation event error (${method}) ${e.toExponential(3)} (t* = ${tStar})`);
      expect(e).toBeLessThan(1e-9);
      expect(sol.t.includes(sol.events[0].t)).toBe(false);
    });
  }
});

describe('control and validation', () => {
  it('stopWhen stops with status stopped', () => {
    const sol = integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { stopWhen: (_t, y) => y[0] > 1 });
    expect(sol.status).toBe('stopped');
    expect(sol.y[sol.y.length - 1][0]).toBeGreaterThan(1);
    expect(sol.y[sol.y.length - 2][0]).toBeLessThanOrEqual(1);
    expect(sol.tEnd).toBe(sol.t[sol.t.length - 1]);
    expect(sol.tEnd).toBeLessThan(30);
  });

  it('rtol below double precision, a bad store cap and dense output turned off are refused', () => {
    const y = new Float64Array([1]);
    expect(() => integrate('dopri5', logistic, 0, y, 1, { rtol: 1e-300 })).toThrow(/below what double precision resolves/);
    expect(() => integrate('dopri5', logistic, 0, y, 1, { maxStoredValues: 0 })).toThrow(GradflowError);
    expect(() => integrate('dopri5', logistic, 0, y, 1, { dense: false }).dense(0.5)).toThrow(/dense output was turned off/);
  });

  it('stored output is bounded: past maxStoredValues the run fails with a message naming the cap', () => {
    // every accepted step stores 1 value (plus 5 for dopri5's dense record): 50 values allow < 50 steps
    expect(() => integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12, maxStoredValues: 50 })).toThrow(/exceed 50 values/);
    // tEval only: the same run stores just the requested times, whatever the number of steps
    const sol = integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { rtol: 1e-12, tEval: [0, 15, 30], dense: false, maxStoredValues: 50 });
    expect(sol.stats.steps).toBeGreaterThan(50);
    expect(sol.t).toEqual([0, 15, 30]);
    expect(relErr(sol.y[2][0], logisticExact(30))).toBeLessThan(1e-9);
  });

  it('bad inputs throw GradflowError', () => {
    const y = new Float64Array([1]);
    expect(() => integrate('dopri5', logistic, 1, y, 0)).toThrow(GradflowError);
    expect(() => integrate('dopri5', logistic, 0, new Float64Array([Number.NaN]), 1)).toThrow(GradflowError);
    expect(() => integrate('dopri5', logistic, 0, y, 1, { rtol: 0 })).toThrow(GradflowError);
    expect(() => integrate('dopri5', logistic, 0, y, 1, { rtol: -1e-6 })).toThrow(GradflowError);
    expect(() => integrate('gauss4', logistic, 0, y, 1, { tEval: [0.5, 2] })).toThrow(GradflowError);
  });

  it('maxSteps and divergence are reported', () => {
    expect(() => integrate('dopri5', logistic, 0, new Float64Array([U0]), 30, { maxSteps: 5 })).toThrow(/maxSteps/);
    // y' = y² from 1 blows up at t = 1
    const blow: OdeRhs = (_t, y, d) => { d[0] = y[0] * y[0]; };
    expect(() => integrate('rk4', blow, 0, new Float64Array([1]), 2, { dt: 0.25 })).toThrow(GradflowError);
    expect(() => integrate('dopri5', blow, 0, new Float64Array([1]), 2)).toThrow(GradflowError);
  });
});
