/**
 * A flow whose every accepted step (state and interpolant) would outgrow the store: integrated
 * again, kept only at checkpoints. Long horizons (κ > 2 plateaus of ~1/α flow time, relu flows
 * creeping along kinks for 1e4 time units) of wide models need it; the jumps and tables only read
 * the loss on a fine enough grid, and the times a caller names are kept exactly.
 */
import { GradflowError } from '../util/errors.ts';
import { formatNumber } from '../report/table.ts';
import type { Problem } from '../problem.ts';
import type { Trajectory } from '../trajectory.ts';
import { DEFAULT_MAX_STORED } from '../solvers/ode/dense.ts';
import type { FlowOptions } from '../solvers/flow.ts';

/** The most equally spaced checkpoints a fallback keeps. */
export const FALLBACK_CHECKPOINTS = 20001;

/** Fewer than this many checkpoints would not resolve a jump: the store error stands. */
const MIN_CHECKPOINTS = 101;

export interface StoredFlow { tr: Trajectory; note: string | null }

export function integrateWithinStore(p: Problem, integrate: (o: FlowOptions) => Trajectory, opts: FlowOptions, keep: readonly number[] = []): StoredFlow {
  try {
    return { tr: integrate(opts), note: null };
  } catch (e) {
    const cap = opts.maxStoredValues ?? DEFAULT_MAX_STORED;
    const T = opts.tEnd;
    const named = [...new Set(keep.filter((t) => t >= 0 && t <= T))];
    const G = Math.min(FALLBACK_CHECKPOINTS, Math.floor(cap / (2 * p.theta0.length))) - named.length;
    if (!(e instanceof GradflowError && /stored output would exceed/.test(e.message)) || G < MIN_CHECKPOINTS || opts.tEval) throw e;
    const grid = Array.from({ length: G }, (_, k) => (T * k) / (G - 1));
    const tEval = [...new Set([...grid, ...named])].sort((a, b) => a - b);
    const tr = integrate({ ...opts, tEval, dense: false });
    const extra = named.length ? ` plus the ${named.length} times the output names, kept exactly (other times: the nearest stored)` : ' and its jumps are interpolated between them';
    return { tr, note: `flow: every step's state and dense output would exceed the store of ${cap} doubles (${formatNumber((cap * 8) / 2 ** 20)} MiB), so the flow is stored at ${G} equally spaced times instead (every ${formatNumber(T / (G - 1))} time units)${extra}` };
  }
}
