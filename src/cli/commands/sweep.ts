/**
 * `gradflow sweep <model|--spec FILE>` (a grid of alphas × seeds × widths on a worker pool,
 * shardable across machines) and `gradflow merge DIR…` (combine shard directories). Thin shells
 * over src/sweep/.
 */
import { fmtDuration, progressBar } from '../../util/progress.ts';
import { readFileSync } from 'node:fs';
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, SEEDS_OPTION, flag, modelOptions, rejectOptions, resolveModel, str } from '../common.ts';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import { readDataset, type Dataset } from '../../data.ts';
import { momentsDataset } from '../../moments.ts';
import type { ModelDefinition } from '../../spec.ts';
import { renderText } from '../../report/table.ts';
import { canonicalArgv, gridFingerprint, gridJson, checkAlphas, checkMethods, gridCells, parseDimLists, parseSeeds, parseShard, sha256, cellCount, SWEEP_CAPS, SWEEP_METHODS, type Shard, type SweepGrid } from '../../sweep/grid.ts';
import { cellProblem, type SweepContext } from '../../sweep/cell.ts';
import { defaultWorkers, forkedWorkers, MAX_WORKERS, WorkerPool } from '../../sweep/pool.ts';
import { mergeShardDirs, runSweep, summarise, writeSweepDir } from '../../sweep/run.ts';
import { extrapolationTable, jumpTable, summaryJson } from '../../sweep/report.ts';
import type { SweepSummary } from '../../sweep/aggregate.ts';
import { CELLS_FILE } from '../../sweep/cells-file.ts';
import { envelope, jsonText } from '../../report/json.ts';

const DEFAULT_ALPHAS = '1e-2,1e-4,1e-8,1e-16';
/** A batch holds every run's stored states (~20000 per run) until the batch ends. */
const MAX_BATCH = 64;

function fileHash(path: string, what: string): string {
  try {
    return sha256(readFileSync(path));
  } catch (err) {
    throw new GradflowError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The grid and the context every cell shares, from the command line; validates one problem per width. */
export function sweepContextFromArgs(args: ParsedArgs): { ctx: SweepContext; def: ModelDefinition } {
  const def = resolveModel(args);
  const specPath = str(args, 'spec');
  const dataPath = str(args, 'data'), momentsPath = str(args, 'moments');
  if (dataPath && momentsPath) throw new GradflowError('give either --data or --moments, not both');
  let data: Dataset | null = null;
  let dataRef: SweepGrid['data'] = null;
  if (dataPath) {
    data = readDataset(dataPath);
    dataRef = { kind: 'data', path: dataPath, sha256: fileHash(dataPath, '--data') };
  } else if (momentsPath) {
    data = momentsDataset(def, momentsPath);
    dataRef = { kind: 'moments', path: momentsPath, sha256: fileHash(momentsPath, '--moments') };
  }
  rejectOptions(args, ['alpha'], 'sweep (give the initial scales with --alphas)');
  rejectOptions(args, ['seed'], 'sweep (give the seeds with --seeds, e.g. --seeds 0..9)');
  const options = Object.entries(modelOptions(args, def)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const agf = str(args, 'agf') ?? 'auto';
  if (agf !== 'auto' && agf !== 'generic' && agf !== 'closed') throw new GradflowError(`--agf must be auto, generic or closed (got '${agf}')`);
  const lr = args.values.get('lr') as number | undefined, t = args.values.get('t') as number | undefined;
  if (lr !== undefined && !(lr > 0 && Number.isFinite(lr))) throw new GradflowError(`--lr must be a positive number (got ${lr})`);
  if (t !== undefined && !(t > 0 && Number.isFinite(t))) throw new GradflowError(`--t must be a positive flow time (got ${t})`);
  const specText = specPath ? readFileSync(specPath, 'utf8') : null;
  const grid: SweepGrid = {
    model: def.spec.name,
    spec: specPath ? { path: specPath, sha256: sha256(specText as string) } : null,
    data: dataRef,
    alphas: checkAlphas((args.values.get('alphas') as number[] | undefined) ?? DEFAULT_ALPHAS.split(',').map(Number)),
    seeds: parseSeeds(str(args, 'seeds') ?? '0'),
    dims: parseDimLists((args.values.get('dim') as string[] | undefined) ?? [], def.spec.dims, def.spec.name),
    options,
    methods: checkMethods((args.values.get('methods') as string[] | undefined) ?? ['agf', 'flow']),
    run: { agf, lr: lr ?? null, t: t ?? null },
  };
  if (lr !== undefined && !grid.methods.includes('gd')) throw new GradflowError("--lr does not apply to sweep without gd in --methods (it is gradient descent's step)");
  const total = cellCount(grid);
  if (total > SWEEP_CAPS.cells) throw new GradflowError(`sweep: ${total} cells is past the cap of ${SWEEP_CAPS.cells}; shrink the grid`);
  const ctx: SweepContext = { grid, specText, data };
  // bad dims, options or data for any width fail here, once, before any worker starts
  const seen = new Set<string>();
  for (const cell of gridCells(grid)) {
    const key = JSON.stringify(cell.dims);
    if (seen.has(key)) continue;
    seen.add(key);
    cellProblem(ctx, def, { ...cell, alpha: grid.alphas[0], seed: grid.seeds[0] });
  }
  return { ctx, def };
}

/** A progress bar with ETA for the whole grid (stderr, at most once a second, and at the end). */
export function progressReporter(io: CommandIO, label: string, clock: () => number = Date.now): (done: number, total: number, resumed: number) => void {
  const start = clock();
  let last = start;
  return (done, total, resumed) => {
    if (!io.progress) return;
    const now = clock();
    if (done < total && now - last < 1000 && done !== resumed) return;
    last = now;
    const fresh = done - resumed, elapsed = now - start;
    const eta = fresh > 0 && done < total ? ` · ETA ${fmtDuration((elapsed / fresh) * (total - done))}` : '';
    io.err(`${label} ${progressBar(total ? done / total : 1)} ${done}/${total} cells${resumed ? ` (${resumed} resumed)` : ''} · ${fmtDuration(elapsed)}${eta}`);
  };
}

function emitSummary(args: ParsedArgs, io: CommandIO, grid: SweepGrid, s: SweepSummary): void {
  if (flag(args, 'json')) io.out(jsonText(summaryJson(grid, s, args.argv)).trimEnd());
  else io.out(`${renderText(jumpTable(grid, s))}\n${s.extrapolation.length ? renderText(extrapolationTable(grid, s)) : `α → 0 extrapolation: ${s.extrapolationNote ?? 'no jump was found at every alpha for any seed'}\n`}`);
}

function failIfCellsFailed(s: SweepSummary): void {
  if (!s.failed.length) return;
  const f = s.failed[0];
  throw new GradflowError(`sweep: ${s.failed.length} of ${s.cells.total} cells failed (first: cell ${f.index}, alpha = ${f.alpha}, seed ${f.seed}: ${f.error}); the others are in the tables`);
}

const GRID_OPTIONS: Command['options'] = {
  spec: { kind: 'string', help: 'a model spec file (JSON) instead of a built-in model' },
  data: { kind: 'string', help: 'dataset file for every cell (JSON {"X", "y"} or CSV); default: each seed generates its own' },
  moments: { kind: 'string', help: 'population moments JSON {"Sxx", "Syx", "Syy"} instead of --data (models linear in x)' },
  alphas: { kind: 'numbers', help: 'initial scales, each in (0, 1)', default: DEFAULT_ALPHAS },
  seeds: { ...SEEDS_OPTION, default: '0' },
  alpha: { kind: 'number', help: 'not used by sweep: give the initial scales with --alphas' },
  seed: { kind: 'int', help: 'not used by sweep: give the seeds with --seeds' },
  dim: { kind: 'string', repeat: true, help: 'a dimension and its values, e.g. --dim d=5,10 (repeatable: the grid is the product)' },
  opt: { kind: 'string', repeat: true, help: 'model option for every cell, e.g. --opt n=40' },
  methods: { kind: 'list', help: `methods in every cell (${SWEEP_METHODS.join(', ')}; agf required)`, default: 'agf,flow' },
  agf: { kind: 'string', help: 'AGF solver: auto, generic or closed (see compare)', default: 'auto' },
  lr: { kind: 'number', help: 'gradient-descent step for gd (default 0.01/λ̂ per cell)' },
  t: { kind: 'number', help: 'simulated flow time (default per cell: 1.3 × the last predicted jump + 20)' },
};

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'Jump-time tables over a grid of alpha × seed × width: mean ± sd over seeds, relative errors, α → 0 extrapolation; worker pool, --resume, --shard k/N.',
  usage: 'gradflow sweep <model|--spec FILE> --alphas 1e-2,1e-4,1e-8 --seeds 0..9 [--dim d=5,10] [--methods agf,flow,gd] [--workers N] [--out DIR [--resume]] [--shard k/N --out DIR] [--json]',
  options: {
    ...GRID_OPTIONS,
    workers: { kind: 'int', help: 'worker processes computing cells (default: every core)' },
    batch: { kind: 'int', help: 'with gd: step the gradient descents of up to N cells of one width together (same bytes; default 1)' },
    shard: { kind: 'string', help: 'compute only shard k of N (1 ≤ k ≤ N; cells with index ≡ k−1 mod N) into --out; combine with gradflow merge' },
    resume: { kind: 'flag', help: 'continue the sweep in --out DIR: keep its finished cells, compute the rest' },
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
    out: { kind: 'string', help: 'directory for grid.json, cells.jsonl (streamed as cells finish) and the reports (sweep.md/.csv/.tex/.json/.svg)' },
  },
  async run(args, io) {
    const workersArg = args.values.get('workers') as number | undefined;
    if (workersArg !== undefined && !(workersArg >= 1 && workersArg <= MAX_WORKERS)) throw new GradflowError(`--workers must lie in 1…${MAX_WORKERS} (got ${workersArg})`);
    const workers = workersArg ?? defaultWorkers();
    const batch = args.values.get('batch') as number | undefined;
    if (batch !== undefined && !(batch >= 1 && batch <= MAX_BATCH)) throw new GradflowError(`--batch must lie in 1…${MAX_BATCH} (got ${batch})`);
    // forked first, so their start-up overlaps the grid's set-up below
    const pool = new WorkerPool(forkedWorkers(workers));
    try {
      await sweepRun(args, io, workers, batch ?? 1, pool);
    } finally {
      pool.release();
    }
  },
};

async function sweepRun(args: ParsedArgs, io: CommandIO, workers: number, batch: number, pool: WorkerPool): Promise<void> {
  const { ctx } = sweepContextFromArgs(args);
  const grid = ctx.grid;
  if (batch > 1 && !grid.methods.includes('gd')) throw new GradflowError('--batch applies to sweeps with gd in --methods (it batches their gradient descents)');
  const shardText = str(args, 'shard');
  const shard: Shard | null = shardText ? parseShard(shardText) : null;
  const outDir = str(args, 'out') ?? null;
  if (shard && !outDir) throw new GradflowError('--shard needs --out DIR (the shard\'s cells go to DIR/cells.jsonl for gradflow merge)');
  if (flag(args, 'resume') && !outDir) throw new GradflowError('--resume needs --out DIR (the directory of the interrupted sweep)');
  const label = shard ? `sweep ${shard.k}/${shard.N}` : 'sweep';
  const run = await runSweep(ctx, { argv: args.argv, workers, shard, outDir, resume: flag(args, 'resume'), onProgress: progressReporter(io, label), pool, batch });
  if (shard) {
    const failedCells = run.records.filter((r) => r.status === 'error').length;
    const msg = `shard ${shard.k}/${shard.N}: ${run.records.length} cells (${run.computed} computed, ${run.resumed} resumed${failedCells ? `, ${failedCells} failed` : ''}) in ${outDir}/${CELLS_FILE}; combine the shards with gradflow merge DIR… --out DIR`;
    if (flag(args, 'json')) io.out(jsonText(envelope('sweep-grid', { argv: args.argv, seed: grid.seeds.length === 1 ? grid.seeds[0] : grid.seeds }, { model: grid.model, reproduce: canonicalArgv(grid), fingerprint: gridFingerprint(grid), cells: cellCount(grid), seeds: grid.seeds, grid: JSON.parse(gridJson(grid)) as unknown, shard: { k: shard.k, N: shard.N, cells: run.records.length, computed: run.computed, resumed: run.resumed, failed: failedCells, dir: outDir } })).trimEnd());
    else io.out(msg);
    return;
  }
  const s = summarise(grid, run.records);
  if (outDir) {
    const paths = writeSweepDir(outDir, grid, run.lines, s, args.argv);
    if (!flag(args, 'json')) io.err(`wrote ${paths.join(', ')} and ${outDir}/${CELLS_FILE}`);
  }
  emitSummary(args, io, grid, s);
  failIfCellsFailed(s);
}

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'Combine the shard directories of one sweep (gradflow sweep --shard k/N --out DIR) into the full grid and its reports.',
  usage: 'gradflow merge DIR… --out DIR [--json]',
  positionals: Infinity,
  options: {
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
    out: { kind: 'string', help: 'directory for the merged grid.json, cells.jsonl and reports' },
  },
  run(args, io) {
    const merged = mergeShardDirs(args.positionals);
    const s = summarise(merged.grid, merged.records);
    const outDir = str(args, 'out');
    if (outDir) {
      const paths = writeSweepDir(outDir, merged.grid, merged.lines, s, args.argv);
      if (!flag(args, 'json')) io.err(`wrote ${paths.join(', ')} and ${outDir}/${CELLS_FILE}`);
    }
    emitSummary(args, io, merged.grid, s);
    failIfCellsFailed(s);
  },
};
