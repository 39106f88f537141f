/**
 * The cells file (JSON Lines, one cell per line): appended to as cells finish, so an
 * interrupted sweep keeps every finished cell, and rewritten in cell order once the sweep is
 * complete, so the final file depends only on the grid (not on worker count, interruptions or
 * shards). A torn last line (the process was killed mid-write) is dropped on resume.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { GradflowError } from '../util/errors.ts';
import { writeFileAtomic } from '../report/files.ts';
import type { CellRecord } from './cell.ts';

export const CELLS_FILE = 'cells.jsonl';
export const GRID_FILE = 'grid.json';

/** Cap on a cells file read back (resume, merge). */
export const MAX_CELLS_FILE_BYTES = 2 ** 31 - 1;

export interface ReadCells {
  lines: Map<number, string>;
  /** Byte length of the complete lines (where appending resumes). */
  validBytes: number;
  tornTail: boolean;
}

/** Parses a cells file, checking each line belongs to `fingerprint` and has an index below `total`. */
export function readCellsFile(path: string, fingerprint: string, total: number): ReadCells {
  const buf = readFileSync(path);
  if (buf.length > MAX_CELLS_FILE_BYTES) throw new GradflowError(`${path}: larger than the ${MAX_CELLS_FILE_BYTES}-byte cap`);
  const text = buf.toString('utf8');
  const lines = new Map<number, string>();
  let pos = 0, lineNo = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    lineNo++;
    if (nl < 0) return { lines, validBytes: Buffer.byteLength(text.slice(0, pos)), tornTail: true };
    const line = text.slice(pos, nl);
    pos = nl + 1;
    if (line.trim() === '') continue;
    let rec: CellRecord;
    try {
      rec = JSON.parse(line) as CellRecord;
    } catch {
      throw new GradflowError(`${path}:${lineNo}: not a JSON line (a cells file holds one JSON object per line)`);
    }
    if (rec?.kind !== 'gradflow.sweep.cell') throw new GradflowError(`${path}:${lineNo}: not a sweep cell line`);
    if (rec.grid !== fingerprint) throw new GradflowError(`${path}:${lineNo}: cell from another grid (fingerprint ${rec.grid}, this grid is ${fingerprint}); use a fresh --out directory`);
    if (!(Number.isInteger(rec.index) && rec.index >= 0 && rec.index < total)) throw new GradflowError(`${path}:${lineNo}: cell index ${rec.index} is outside the grid (0…${total - 1})`);
    const prev = lines.get(rec.index);
    if (prev !== undefined && prev !== line) throw new GradflowError(`${path}:${lineNo}: cell ${rec.index} appears twice with different contents`);
    lines.set(rec.index, line);
  }
  return { lines, validBytes: Buffer.byteLength(text), tornTail: false };
}

/**
 * Appends lines: one write per cell, so a killed process loses no finished cell (the kernel
 * holds what was written); an fsync at most once a second and at close bounds what a machine
 * crash can lose to the last second's cells (resume recomputes them). An fsync per cell cost
 * ~5 ms, as much as a small model's whole cell.
 */
export class CellAppender {
  private fd: number;
  private lastSync = Date.now();
  private unsynced = false;
  constructor(path: string, keepBytes: number | null) {
    if (keepBytes !== null && existsSync(path)) truncateSync(path, keepBytes);
    this.fd = openSync(path, keepBytes === null ? 'w' : 'a');
  }
  append(line: string): void {
    writeSync(this.fd, line + '\n');
    this.unsynced = true;
    if (Date.now() - this.lastSync >= SYNC_INTERVAL_MS) this.sync();
  }
  private sync(): void {
    fsyncSync(this.fd);
    this.lastSync = Date.now();
    this.unsynced = false;
  }
  close(): void {
    if (this.unsynced) this.sync();
    closeSync(this.fd);
  }
}

const SYNC_INTERVAL_MS = 1000;

/** The final cells file: every line in cell order. */
export function writeCellsInOrder(path: string, lines: Map<number, string>): void {
  const order = [...lines.keys()].sort((a, b) => a - b);
  writeFileAtomic(path, order.map((i) => lines.get(i) + '\n').join(''));
}
