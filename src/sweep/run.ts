/**
 * Running a sweep (library entry points): compute the grid's cells — all, or one shard's — on a
 * worker pool, streaming each finished line to DIR/cells.jsonl, resuming from what is there;
 * merging the cells files of shard directories; and writing the reports of a complete grid.
 *
 * Directory layout (identical bytes whoever computed it, as long as the grid is the same):
 *   grid.json        the grid (canonical argv, fingerprint, cell count)
 *   cells.jsonl      one line per cell, in cell order once complete
 *   sweep.{md,csv,tex,json,svg}, sweep-extrapolation.csv   reports (complete grids only)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GradflowError } from '../util/errors.ts';
import { writeFileAtomic, writeReport } from '../report/files.ts';
import { renderCsv, renderLatex, renderMarkdown } from '../report/table.ts';
import { svgToPdf, svgToPng } from '../report/raster.ts';
import { canonicalArgv, cellCount, gridCells, gridFingerprint, gridJson, inShard, parseGrid, type Shard, type SweepGrid } from './grid.ts';
import type { CellRecord, SweepContext } from './cell.ts';
import { CELLS_FILE, CellAppender, GRID_FILE, readCellsFile, writeCellsInOrder } from './cells-file.ts';
import { computeCells, type WorkerPool } from './pool.ts';
import { summarise, type SweepSummary } from './aggregate.ts';
import { extrapolationTable, jumpDataTable, jumpTable, summaryJson, sweepFigure } from './report.ts';
import { envelope, jsonText } from '../report/json.ts';
import type { ReportContent } from '../report/files.ts';

export interface SweepRunOptions {
  /** This invocation's command line (after `gradflow`), for the files' envelope. */
  argv: string[];
  workers: number;
  shard: Shard | null;
  /** Directory for grid.json and cells.jsonl (null: in memory only). */
  outDir: string | null;
  resume: boolean;
  /** Called after each finished cell: cells done in this shard (resumed ones included) and the shard's total. */
  onProgress?: (done: number, total: number, resumed: number) => void;
  /** Workers forked ahead of the grid (pool.ts); released when the cells are done. */
  pool?: WorkerPool;
  /** Cells of one width whose gradient descents run as one batch (cell.ts runCellBatch; same bytes); default 1. */
  batch?: number;
}

export interface SweepRun {
  /** This shard's cells (every cell without --shard), in cell order. */
  records: CellRecord[];
  lines: Map<number, string>;
  resumed: number;
  computed: number;
}

/**
 * grid.json: the envelope (this invocation's argv) around the grid, its canonical command line
 * (`reproduce`), fingerprint and cell count. Shards and resumes compare the grid itself, not
 * the file's text, since their argv differ.
 */
export function gridFileText(grid: SweepGrid, argv: string[]): string {
  return jsonText(envelope('sweep-grid', { argv, seed: grid.seeds.length === 1 ? grid.seeds[0] : grid.seeds }, { model: grid.model, reproduce: canonicalArgv(grid), fingerprint: gridFingerprint(grid), cells: cellCount(grid), seeds: grid.seeds, grid: JSON.parse(gridJson(grid)) as unknown }));
}

/** The grid stored in a grid.json, as canonical grid JSON. */
function storedGrid(path: string): { grid: SweepGrid; canonical: string } {
  const grid = parseGrid(readFileSync(path, 'utf8'), path);
  return { grid, canonical: gridJson(grid) };
}

function parseRecords(lines: Map<number, string>): CellRecord[] {
  return [...lines.keys()].sort((a, b) => a - b).map((i) => JSON.parse(lines.get(i) as string) as CellRecord);
}

export async function runSweep(ctx: SweepContext, opts: SweepRunOptions): Promise<SweepRun> {
  const grid = ctx.grid;
  const fp = gridFingerprint(grid);
  const total = cellCount(grid);
  const mine = gridCells(grid).filter((c) => inShard(c.index, opts.shard));
  const lines = new Map<number, string>();
  let appender: CellAppender | null = null;
  if (opts.outDir) {
    const cellsPath = join(opts.outDir, CELLS_FILE), gridPath = join(opts.outDir, GRID_FILE);
    let keep: number | null = null;
    if (existsSync(cellsPath)) {
      if (!opts.resume) throw new GradflowError(`${cellsPath} exists: add --resume to continue that sweep, or choose another --out directory`);
      if (!existsSync(gridPath) || storedGrid(gridPath).canonical !== gridJson(grid)) throw new GradflowError(`--resume: ${opts.outDir} holds a different sweep (its ${GRID_FILE} does not match this grid); use the command in its ${GRID_FILE} "argv", or another --out directory`);
      const read = readCellsFile(cellsPath, fp, total);
      for (const [i, line] of read.lines) if (inShard(i, opts.shard)) lines.set(i, line);
      if (lines.size !== read.lines.size) throw new GradflowError(`--resume: ${cellsPath} holds cells of another shard; resume each shard in its own directory`);
      keep = read.validBytes;
    }
    writeFileAtomic(gridPath, gridFileText(grid, opts.argv));
    appender = new CellAppender(cellsPath, keep);
  }
  const resumed = lines.size;
  const todo = mine.filter((c) => !lines.has(c.index));
  opts.onProgress?.(lines.size, mine.length, resumed);
  try {
    await computeCells(ctx, todo, opts.workers, (index, line) => {
      appender?.append(line);
      lines.set(index, line);
      opts.onProgress?.(lines.size, mine.length, resumed);
    }, opts.pool, opts.batch ?? 1);
  } finally {
    opts.pool?.release();
    appender?.close();
  }
  if (opts.outDir) writeCellsInOrder(join(opts.outDir, CELLS_FILE), lines);
  return { records: parseRecords(lines), lines, resumed, computed: todo.length };
}

export interface MergedSweep {
  grid: SweepGrid;
  records: CellRecord[];
  lines: Map<number, string>;
}

/** Reads shard directories (each with grid.json and cells.jsonl) of one grid and checks every cell is there. */
export function mergeShardDirs(dirs: string[]): MergedSweep {
  if (dirs.length === 0) throw new GradflowError('merge: name at least one sweep directory (each holds grid.json and cells.jsonl)');
  let canonical: string | null = null, grid: SweepGrid | null = null;
  const lines = new Map<number, string>();
  for (const dir of dirs) {
    const gp = join(dir, GRID_FILE), cp = join(dir, CELLS_FILE);
    if (!existsSync(gp) || !existsSync(cp)) throw new GradflowError(`merge: ${dir} is not a sweep directory (needs ${GRID_FILE} and ${CELLS_FILE})`);
    const stored = storedGrid(gp);
    if (canonical === null) ({ grid, canonical } = stored);
    else if (stored.canonical !== canonical) throw new GradflowError(`merge: ${dir} is a shard of a different sweep (its ${GRID_FILE} grid differs from ${dirs[0]}'s)`);
    const g = grid as SweepGrid;
    const read = readCellsFile(cp, gridFingerprint(g), cellCount(g));
    for (const [i, line] of read.lines) {
      const prev = lines.get(i);
      if (prev !== undefined && prev !== line) throw new GradflowError(`merge: cell ${i} differs between shards (same grid, different results: different gradflow builds?)`);
      lines.set(i, line);
    }
  }
  const g = grid as SweepGrid;
  const total = cellCount(g);
  if (lines.size !== total) {
    const missing = gridCells(g).filter((c) => !lines.has(c.index)).map((c) => c.index);
    throw new GradflowError(`merge: ${missing.length} of ${total} cells are missing (first: ${missing.slice(0, 5).join(', ')}); run the remaining shards (or --resume them) first`);
  }
  return { grid: g, records: parseRecords(lines), lines };
}

/** Writes grid.json, cells.jsonl (cell order) and the reports of a complete grid into dir. */
export function writeSweepDir(dir: string, grid: SweepGrid, lines: Map<number, string>, summary: SweepSummary, argv: string[]): string[] {
  writeFileAtomic(join(dir, GRID_FILE), gridFileText(grid, argv));
  writeCellsInOrder(join(dir, CELLS_FILE), lines);
  return writeReport(dir, sweepReportFiles(grid, summary, argv));
}

export function sweepReportFiles(grid: SweepGrid, s: SweepSummary, argv: string[]): Record<string, ReportContent | (() => ReportContent)> {
  const jt = jumpTable(grid, s), et = extrapolationTable(grid, s);
  let svg: string | undefined;
  const figure = (): string => (svg ??= sweepFigure(grid, s));
  return {
    'sweep.md': () => `${renderMarkdown(jt)}\n${renderMarkdown(et)}`,
    'sweep.tex': () => `${renderLatex(jt)}\n${renderLatex(et)}`,
    'sweep.csv': () => renderCsv(jumpDataTable(grid, s)),
    'sweep-extrapolation.csv': () => renderCsv(extrapolationTable(grid, s, true)),
    'sweep.json': () => jsonText(summaryJson(grid, s, argv)),
    'sweep.svg': figure,
    'sweep.png': () => svgToPng(figure()),
    'sweep.pdf': () => svgToPdf(figure()),
  };
}

export { summarise };
