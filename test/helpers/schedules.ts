import { expect } from 'vitest';
import type { JumpSchedule } from '../../src/schedule.ts';

/** Two AGF schedules of one Problem agree: same neurons, signs, deactivations; times to tol relative; losses to 1e-9·L(0). Returns the worst time error. */
export function expectSameSchedule(generic: JumpSchedule, closed: JumpSchedule, tol = 1e-6): number {
  expect(generic.jumps.length).toBe(closed.jumps.length);
  let worst = 0;
  closed.jumps.forEach((c, k) => {
    const g = generic.jumps[k];
    expect(g.neuron).toBe(c.neuron);
    expect(g.sign).toBe(c.sign);
    expect([...g.deactivated].sort()).toEqual([...c.deactivated].sort());
    const rel = Math.abs(g.time - c.time) / c.time;
    worst = Math.max(worst, rel);
    expect(rel).toBeLessThanOrEqual(tol);
    expect(Math.abs(g.lossAfter - c.lossAfter)).toBeLessThanOrEqual(1e-9 * generic.initialLoss);
  });
  return worst;
}
