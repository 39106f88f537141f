/**
 * One sweep cell: build the Problem at (dims, alpha, seed), run the grid's methods, match the
 * schedules (analysis/compare.ts) and serialise the comparison as one JSON line. The line is a
 * pure function of the grid, its data and the cell, and is produced by the same function in
 * the main thread and in every worker, so a sweep's bytes do not depend on who computed what.
 */
import type { Dataset } from '../data.ts';
import type { ModelDefinition } from '../spec.ts';
import { createProblem, type Problem } from '../problem.ts';
import { runMethods } from '../analysis/runs.ts';
import { compareSchedules, comparisonJson, type MatchedJump } from '../analysis/compare.ts';
import { machineConventions, type MachineConventions } from '../report/json.ts';
import { findModel } from '../../models/index.ts';
import { parseSpec } from '../specfile.ts';
import { GradflowError } from '../util/errors.ts';
import { gridFingerprint, type SweepCell, type SweepGrid } from './grid.ts';
import { SCHEMA_VERSION } from '../report/json.ts';

/** What every cell of a grid shares; structured-clonable so it can be posted to a worker once. */
export interface SweepContext {
  grid: SweepGrid;
  /** The spec file's text (so workers and machines read the same model, whatever the cwd). */
  specText: string | null;
  /** Data read from --data / --moments (null: each cell generates its own from its seed). */
  data: Dataset | null;
}

/** A cell as stored on its line: the comparison (the schema's comparison body) or the error that stopped it. */
export interface CellRecord {
  kind: 'gradflow.sweep.cell';
  schemaVersion: number;
  grid: string;
  index: number;
  model: string;
  dims: Record<string, number>;
  alpha: number;
  seed: number;
  status: 'ok' | 'error';
  error?: string;
  dataSource?: string;
  comparison?: CellComparison;
}

/** comparisonJson's body (schema/gradflow.schema.json, $defs/comparisonBody) plus the runs' notes. */
export interface CellComparison {
  model: string;
  reference: string;
  methods: string[];
  conventions: MachineConventions;
  schedules: Record<string, { method: string; jumps: { time: number | null; rescaledTime: number | null; neuron: number; sign: number | null; lossAfter: number | null; deactivated: number[] }[]; extra?: Record<string, unknown> }>;
  /** compare.ts's MatchedJump as comparisonJson writes it (neuron_ → neuronPerMethod). */
  matched: (Omit<MatchedJump, 'neuron_'> & { neuronPerMethod: Record<string, number | null> })[];
  notes: string[];
}

export function resolveContextModel(ctx: SweepContext): ModelDefinition {
  if (ctx.grid.spec) {
    if (ctx.specText === null) throw new GradflowError('sweep: the spec text is missing from the sweep context');
    return parseSpec(ctx.specText, ctx.grid.spec.path);
  }
  const def = findModel(ctx.grid.model);
  if (!def) throw new GradflowError(`unknown model '${ctx.grid.model}'`);
  return def;
}

export function cellProblem(ctx: SweepContext, def: ModelDefinition, cell: SweepCell): Problem {
  return createProblem(def, { data: ctx.data ?? undefined, dims: cell.dims, alpha: cell.alpha, seed: cell.seed, options: Object.fromEntries(ctx.grid.options) });
}

function head(ctx: SweepContext, cell: SweepCell): Omit<CellRecord, 'status'> {
  return { kind: 'gradflow.sweep.cell', schemaVersion: SCHEMA_VERSION, grid: gridFingerprint(ctx.grid), index: cell.index, model: ctx.grid.model, dims: cell.dims, alpha: cell.alpha, seed: cell.seed };
}

/**
 * Runs one cell (the comparison `compare --json` prints, without the envelope). A GradflowError inside the cell (divergence, a cap, a model's domain check) is
 * recorded on the line, so one bad corner of a grid does not lose the rest; anything else is a
 * bug and propagates.
 */
export function runCell(ctx: SweepContext, def: ModelDefinition, cell: SweepCell): CellRecord {
  try {
    const p = cellProblem(ctx, def, cell);
    const g = ctx.grid;
    const runs = runMethods(p, { methods: g.methods, agf: g.run.agf, lr: g.run.lr ?? undefined, horizon: g.run.t ?? undefined });
    const cmp = compareSchedules(runs.schedules, 'agf');
    const kappa = p.derived.kappa;
    const conventions = machineConventions(p.conventions, kappa, { time: 'flow time (gd: t = k·lr); rescaledTime = time / timeScale' });
    return {
      ...head(ctx, cell),
      status: 'ok',
      dataSource: p.data.source,
      comparison: comparisonJson(cmp, kappa, conventions, { notes: runs.notes }) as unknown as CellComparison,
    };
  } catch (err) {
    if (!(err instanceof GradflowError)) throw err;
    return { ...head(ctx, cell), status: 'error', error: err.message };
  }
}

/** The cell's line in the JSON Lines file (no trailing newline). */
export function cellLine(r: CellRecord): string {
  return JSON.stringify(r);
}
