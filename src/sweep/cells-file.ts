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

/** Appends lines durably (one write + fsync per cell: cells take far longer than a sync). */
export class CellAppender {
  private fd: number;
  constructor(path: string, keepBytes: number | null) {
    if (keepBytes !== null && existsSync(path)) truncateSync(path, keepBytes);
    this.fd = openSync(path, keepBytes === null ? 'w' : 'a');
  }
  append(line: string): void {
    writeSync(this.fd, line + '\n');
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** The final cells file: every line in cell order. */
export function writeCellsInOrder(path: string, lines: Map<number, string>): void {
  const order = [...lines.keys()].sort((a, b) => a - b);
  writeFileAtomic(path, order.map((i) => lines.get(i) + '\n').join(''));
}
