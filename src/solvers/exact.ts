/** Closed-form trajectories a model registers (e.g. the whitened single neuron, Saxe's mode). */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import { buildTrajectory, type Trajectory } from '../trajectory.ts';

export interface ExactOptions {
  tEnd: number;
  /** Which closed form (default: the first that applies). */
  name?: string;
  tEval?: number[];
  points?: number;
}

export function solveExact(p: Problem, opts: ExactOptions): Trajectory {
  const forms = p.model.exact ?? [];
  if (forms.length === 0) throw new GradflowError(`exact: model '${p.model.spec.name}' has no closed-form solution`);
  if (!Number.isFinite(opts.tEnd) || opts.tEnd < 0) throw new GradflowError(`exact: the end time must be a non-negative number (got ${opts.tEnd})`);
  const candidates = opts.name ? forms.filter((f) => f.name === opts.name) : forms;
  if (candidates.length === 0) throw new GradflowError(`exact: no closed form named '${opts.name}' (available: ${forms.map((f) => f.name).join(', ')})`);
  const reasons: string[] = [];
  for (const form of candidates) {
    const why = form.applies(p);
    if (why !== null) {
      reasons.push(`${form.name}: ${why}`);
      continue;
    }
    const at = form.solve(p);
    const m = opts.points ?? 201;
    const t = opts.tEval ?? Array.from({ length: m }, (_, k) => (opts.tEnd * k) / (m - 1));
    return buildTrajectory(p, `exact:${form.name}`, t, t.map(at), { dense: at, stats: { closedForm: form.name } });
  }
  throw new GradflowError(`exact: no closed form applies to this problem (${reasons.join('; ')})`);
}
