/**
 * Supervisory signals under label noise: Filter-KD's moving average of the teacher's predictions
 * checked against a hand-built distillation (γ = 1 keeps only the last prediction), and the
 * `forces --noise` table's shape and range.
 */
import { describe, expect, it } from 'vitest';
import { createProblem } from '../src/problem.ts';
import { softmax } from '../models/softmax.ts';
import { accuracy, descend, probabilities, trainWithTargets } from '../src/analysis/learning-paths.ts';
import { logits } from '../src/analysis/forces.ts';
import { expectBadInput, run } from './helpers/cli.ts';

describe('Filter-KD and accuracy', () => {
  it('γ = 1 with one recording interval distils the teacher’s final predictions', () => {
    const p = createProblem(softmax, { alpha: 0.1, seed: 2, options: { n: 15, flip: 0.2 } });
    const lr = 0.5, steps = 40;
    const run1 = trainWithTargets(p, 'filter-kd', lr, steps, { gamma: 1, every: steps });
    const teacher = descend(p, p.theta0, lr, steps, steps, () => undefined);
    const Y = new Float64Array(p.data.Y.length);
    probabilities(p, teacher).forEach((pi, j) => Y.set(pi, j * p.layout.c));
    const student = descend({ ...p, data: { ...p.data, Y } }, p.theta0, lr, steps, steps, () => undefined);
    expect([...run1.theta]).toEqual([...student]);
  });

  it('accuracy counts argmax hits', () => {
    const p = createProblem(softmax, { alpha: 0.7, seed: 1, options: { n: 10 } });
    const labels = Array.from({ length: 10 }, (_, j) => {
      const z = logits(p, p.theta0, p.data.X.subarray(j * 2, j * 2 + 2));
      return z.indexOf(Math.max(...z));
    });
    expect(accuracy(p, p.theta0, p.data.X, labels)).toBe(1);
    expect(accuracy(p, p.theta0, p.data.X, labels.map((y) => (y + 1) % 3))).toBe(0);
  });
});

describe('gradflow forces --noise', () => {
  it('reports accuracies in [0, 1] per scheme, flip level and seed', async () => {
    const r = await run('forces', 'softmax', '--noise', '--seeds', '0..1', '--steps', '60', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { noise: { flips: number[]; accuracy: Record<string, number[][]> } };
    expect(j.noise.flips).toEqual([0, 0.2, 0.4]);
    for (const k of ['hard', 'label-smoothing', 'filter-kd']) {
      expect(j.noise.accuracy[k]).toHaveLength(3);
      for (const row of j.noise.accuracy[k]) { expect(row).toHaveLength(2); for (const a of row) expect(a >= 0 && a <= 1).toBe(true); }
    }
    await expectBadInput(['forces', 'single-neuron', '--noise'], /--noise needs the built-in softmax mixture data/);
  });
});
