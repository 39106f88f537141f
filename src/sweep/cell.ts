/**
 * One sweep cell: build the Problem at (dims, alpha, seed), run the grid's methods, match the
 * schedules (analysis/compare.ts) and serialise the comparison as one JSON line. The line is a
 * pure function of the grid, its data and the cell, and is produced by the same function in
 * the main thread and in every worker, so a sweep's bytes do not depend on who computed what.
 */
import type { Dataset } from '../data.ts';
import type { ModelDefinition } from '../spec.ts';
import { createProblem, type Problem } from '../problem.ts';
import { defaultStep, runMethods, unsettledNote } from '../analysis/runs.ts';
import { detectJumps } from '../analysis/jumps.ts';
import type { JumpSchedule } from '../schedule.ts';
import { batchedDescent, type GdJob } from './batched-gd.ts';
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
  return guarded(ctx, cell, () => {
    const p = cellProblem(ctx, def, cell);
    const g = ctx.grid;
    const runs = runMethods(p, { methods: g.methods, agf: g.run.agf, lr: g.run.lr ?? undefined, horizon: g.run.t ?? undefined });
    return okRecord(ctx, cell, p, runs.schedules, runs.notes);
  });
}

/** A GradflowError inside the cell becomes its error record; anything else propagates. */
function guarded(ctx: SweepContext, cell: SweepCell, body: () => CellRecord): CellRecord {
  try {
    return body();
  } catch (err) {
    return errorRecord(ctx, cell, err);
  }
}

function errorRecord(ctx: SweepContext, cell: SweepCell, err: unknown): CellRecord {
  if (!(err instanceof GradflowError)) throw err;
  return { ...head(ctx, cell), status: 'error', error: err.message };
}

function okRecord(ctx: SweepContext, cell: SweepCell, p: Problem, schedules: JumpSchedule[], notes: string[]): CellRecord {
  const cmp = compareSchedules(schedules, 'agf');
  const kappa = p.derived.kappa;
  const conventions = machineConventions(p.conventions, kappa, { time: 'flow time (gd: t = k·lr); rescaledTime = time / timeScale' });
  return {
    ...head(ctx, cell),
    status: 'ok',
    dataSource: p.data.source,
    comparison: comparisonJson(cmp, kappa, conventions, { notes }) as unknown as CellComparison,
  };
}

/**
 * Cells of one width with gd in the grid's methods, their gradient descents run as one batch
 * (batched-gd.ts); every other method runs per cell as in runCell. Each cell's record is the
 * one runCell gives (tested byte for byte): the gd run is set up as analysis/runs.ts sets it up
 * (the step 0.01/λ̂ from the start and the AGF end state unless --lr, steps to the horizon
 * 1.3 × the last predicted jump + 20 unless --t, about 20000 stored states), and schedules and
 * notes come in runMethods' order (gd last). Cells without gd run one by one.
 */
export function runCellBatch(ctx: SweepContext, def: ModelDefinition, cells: SweepCell[]): CellRecord[] {
  const g = ctx.grid;
  if (cells.length < 2 || !g.methods.includes('gd')) return cells.map((c) => runCell(ctx, def, c));
  const others = g.methods.filter((m) => m !== 'gd');
  const lrNote = g.run.lr ? 'given' : '0.01/λ̂, λ̂ the largest Hessian eigenvalue at the start and at the predicted end';
  interface Pending { cell: SweepCell; p: Problem; schedules: JumpSchedule[]; notes: string[]; job: GdJob }
  const records: (CellRecord | null)[] = cells.map(() => null);
  const pending: Pending[] = [];
  for (const [q, cell] of cells.entries()) {
    try {
      const p = cellProblem(ctx, def, cell);
      const runs = runMethods(p, { methods: others, agf: g.run.agf, lr: g.run.lr ?? undefined, horizon: g.run.t ?? undefined });
      // agf is in every sweep's methods, and runMethods puts it first
      const agf = runs.schedules[0];
      const last = agf.jumps.length ? agf.jumps[agf.jumps.length - 1].time : 0;
      const horizon = g.run.t ?? 1.3 * last + 20;
      const th = agf.extra?.finalTheta;
      const finalTheta = Array.isArray(th) && th.length === p.theta0.length ? Float64Array.from(th as number[]) : null;
      const lr = g.run.lr ?? defaultStep(p, finalTheta ? [p.theta0, finalTheta] : [p.theta0]);
      const steps = Math.ceil(horizon / lr);
      if (steps > 5e7) throw new GradflowError(`gd: ${steps} steps needed for flow time ${(steps * lr).toPrecision(4)} at lr = ${lr}; give a larger --lr`);
      pending.push({ cell, p, schedules: runs.schedules, notes: runs.notes, job: { p, lr, steps, recordEvery: Math.max(1, Math.floor(steps / 20000)) } });
    } catch (err) {
      records[q] = errorRecord(ctx, cell, err);
    }
  }
  const trajectories = batchedDescent(pending.map((x) => x.job));
  for (const [k, x] of pending.entries()) {
    const tr = trajectories[k];
    const q = cells.indexOf(x.cell);
    records[q] = guarded(ctx, x.cell, () => {
      if (tr instanceof GradflowError) throw tr;
      const sim = detectJumps(x.p, tr, { predicted: x.schedules[0], method: 'gd' });
      const unsettled = unsettledNote(tr, sim);
      const notes = [...x.notes, `gd: lr = ${x.job.lr.toPrecision(4)} (${lrNote}), ${x.job.steps} steps, time t = k·lr`, ...(unsettled ? [unsettled] : [])];
      return okRecord(ctx, x.cell, x.p, [...x.schedules, sim], notes);
    });
  }
  return records as CellRecord[];
}

/** The cell's line in the JSON Lines file (no trailing newline). */
export function cellLine(r: CellRecord): string {
  return JSON.stringify(r);
}
