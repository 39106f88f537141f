import { describe, expect, it } from 'vitest';
import { createProblem } from '../src/problem.ts';
import { relu } from '../models/relu.ts';
import { solveReluFlow } from '../src/solvers/relu-flow.ts';
import { advanceReluDormant } from '../src/solvers/cones.ts';

const norm = (th: Float64Array): number => Math.hypot(...th);

// One unit, no active neurons: the residual is y. Started at alpha = 1e-12 and stopped at norm
// 1e-8, the gradient flow of L equals the dormant flow θ̇ = ∇U(θ; y) up to O(‖θ‖²/|y|) ~ 1e-16.
describe('exact dormant dynamics of a ReLU unit in activation cones (cones.ts) vs the ReLU flow', () => {
  for (const [seed, data] of [[1, 1], [2, 1], [1, 0]]) {
    it(`seed ${seed}, ${data ? 'teacher–student' : 'clusters'}: same kink events, state to 1e-10, time to 1e-10`, () => {
      const p = createProblem(relu, { alpha: 1e-12, seed, dims: { r: 1 }, options: { data } });
      const target = 1e-8;
      const tr = solveReluFlow(p, { tEnd: 1e4, rtol: 1e-12, events: [{ name: 'norm', g: (_t, th) => norm(th) - target, terminal: true }] });
      const d = advanceReluDormant(p, 0, p.theta0, p.data.Y, 1e4, { normTarget: target });
      expect(tr.status).toBe('event');
      expect(d.reason).toBe('norm');
      expect(d.events.length).toBeGreaterThan(0);
      expect(d.events.map((e) => `${e.kind}${e.sample}`)).toEqual(tr.kinkEvents.map((e) => `${e.kind}${e.sample}`));
      d.events.forEach((e, k) => expect(Math.abs(e.t - tr.kinkEvents[k].t)).toBeLessThan(1e-8 * (1 + e.t)));
      const end = tr.states[tr.states.length - 1];
      let diff = 0;
      for (let q = 0; q < end.length; q++) diff = Math.max(diff, Math.abs(end[q] - d.theta[q]));
      expect(diff / norm(end)).toBeLessThan(1e-10);
      expect(Math.abs(d.t - tr.t[tr.t.length - 1]) / d.t).toBeLessThan(1e-10);
      expect(Math.abs(d.logNorm - Math.log(target))).toBeLessThan(1e-12);
    });
  }

  it('is exact at any scale: a start 1e-188 times smaller gives the same events and the scaled state (log-magnitudes)', () => {
    const p = createProblem(relu, { alpha: 1e-12, seed: 2, dims: { r: 1 }, options: { data: 1 } });
    const a = advanceReluDormant(p, 0, p.theta0, p.data.Y, 1e4, { normTarget: 1e-8 });
    const tiny = p.theta0.map((v) => v * 1e-188);
    const b = advanceReluDormant(p, 0, tiny, p.data.Y, 1e4, { normTarget: 1e-196 });
    expect(b.events.map((e) => e.sample)).toEqual(a.events.map((e) => e.sample));
    b.events.forEach((e, k) => expect(Math.abs(e.t - a.events[k].t)).toBeLessThan(1e-9 * (1 + e.t)));
    expect(Math.abs(b.t - a.t)).toBeLessThan(1e-9 * a.t);
    expect(Math.abs(b.logNorm - a.logNorm - Math.log(1e-188))).toBeLessThan(1e-9);
    // and from 1e-200 all the way to norm 1: the flow time is log-scale, the state finite
    const c = advanceReluDormant(p, 0, p.theta0.map((v) => v * 1e-188), p.data.Y, 1e6);
    expect(c.reason).toBe('norm');
    expect(Math.abs(norm(c.theta) - 1)).toBeLessThan(1e-9);
  });
});
