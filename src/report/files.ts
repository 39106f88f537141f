/**
 * Report output that is never half-written: a reader (a LaTeX build, a watcher) sees either the
 * old file or the new one, because each file is written to a temp name beside it and renamed,
 * and rename within one directory is atomic on POSIX filesystems.
 */
import { accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, statfsSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { GradflowError } from '../util/errors.ts';
import { printable } from '../util/limits.ts';

/** statfs magic numbers of kernel pseudo-filesystems, where a "file" is an interface, not storage. */
const PSEUDO_FS = new Map([[0x9fa0, '/proc'], [0x62656572, '/sys'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2']]);

/** The path itself if it exists, else its nearest existing ancestor, with the missing components below it. */
function existingAncestor(dir: string): { base: string; missing: string[] } {
  let base = resolve(dir);
  const missing: string[] = [];
  for (;;) {
    try {
      statSync(base);
      return { base, missing };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new GradflowError(`--out ${printable(dir)}: cannot use ${printable(base)} (${code})`);
      const up = dirname(base);
      if (up === base) return { base, missing };
      missing.unshift(basename(base));
      base = up;
    }
  }
}

/**
 * Checks a report directory before any computation, so a run that cannot save its results
 * fails at once, in one line, and leaves nothing behind: the directory (or the first of its
 * ancestors that exists) must be a writable directory on a real filesystem, and the name fit.
 */
export function checkOutputDir(dir: string): void {
  if (dir.trim() === '') throw new GradflowError('--out needs a directory name');
  const abs = resolve(dir);
  if (Buffer.byteLength(abs) > 4000 || abs.split(sep).some((c) => Buffer.byteLength(c) > 255)) throw new GradflowError(`--out ${printable(dir.slice(0, 60))}…: the path is too long (at most 255 bytes a name, 4000 in all)`);
  const { base, missing } = existingAncestor(dir);
  const what = missing.length ? `its parent ${printable(base)}` : printable(base);
  if (!statSync(base).isDirectory()) throw new GradflowError(`--out ${printable(dir)}: ${what} is not a directory`);
  const fs = PSEUDO_FS.get(statfsSync(base).type);
  if (fs) throw new GradflowError(`--out ${printable(dir)}: ${what} is on ${fs}, not a filesystem for report files`);
  try {
    accessSync(base, constants.W_OK);
  } catch {
    throw new GradflowError(`--out ${printable(dir)}: ${what} is not writable`);
  }
}

/** mkdir -p without { recursive: true }, which loops forever under /proc on Node 20. */
function makeDirs(dir: string): void {
  const { base, missing } = existingAncestor(dir);
  let p = base;
  for (const c of missing) {
    p = join(p, c);
    try {
      mkdirSync(p);
    } catch (err) {
      // another process made it between our look and our mkdir (GNU parallel's shards under one
      // new --out parent: shard-2 failed with EEXIST): a directory there is what was wanted
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(p).isDirectory()) throw err;
    }
  }
  if (!statSync(p).isDirectory()) throw new GradflowError(`${printable(dir)} is not a directory`);
}

/** A filesystem error while saving becomes the user's one-line message (disk full, permissions), never an internal error. */
function writeFailure(err: unknown, dir: string): unknown {
  if (err instanceof GradflowError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return code ? new GradflowError(`cannot write the report files to ${printable(dir)} (${code}); nothing was written`) : err;
}

let tempCounter = 0;

/** Temp files being written right now: removed by removePendingTemps when the process is stopped mid-write. */
const pendingTemps = new Set<string>();

export function removePendingTemps(): void {
  for (const t of pendingTemps) rmSync(t, { force: true });
  pendingTemps.clear();
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++tempCounter}.tmp`);
}

function writeDurable(path: string, content: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    if (typeof content === 'string') writeSync(fd, content);
    else writeSync(fd, content);
    // flush before the rename, or a crash could leave the new name pointing at empty data
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = tempPathFor(path);
  try {
    makeDirs(dirname(path));
    pendingTemps.add(tmp);
    writeDurable(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeFailure(e, dirname(path));
  } finally {
    pendingTemps.delete(tmp);
  }
}

/**
 * Writes `files` (relative name → content) under `dir` and returns the paths in input order.
 * A value may be a thunk, so rendering happens here before anything touches the disk: if any
 * rendering or temp write throws, no target file is created or changed. Only a failure during
 * the final renames can leave a mix of old and new files.
 */
export type ReportContent = string | Uint8Array;

export function writeReport(dir: string, files: Record<string, ReportContent | (() => ReportContent)>): string[] {
  const names = Object.keys(files);
  for (const name of names) {
    const n = normalize(name);
    if (!name || isAbsolute(name) || n === '..' || n.startsWith(`..${sep}`)) {
      throw new GradflowError(`report file name '${name}' must be a relative path inside the report directory`);
    }
  }
  const contents = names.map((name) => {
    const v = files[name];
    return typeof v === 'function' ? v() : v;
  });
  const paths = names.map((name) => join(dir, name));
  const temps: string[] = [];
  try {
    paths.forEach((p, i) => {
      makeDirs(dirname(p));
      const tmp = tempPathFor(p);
      temps.push(tmp);
      pendingTemps.add(tmp);
      writeDurable(tmp, contents[i]);
    });
    paths.forEach((p, i) => renameSync(temps[i], p));
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw writeFailure(e, dir);
  } finally {
    for (const t of temps) pendingTemps.delete(t);
  }
  return paths;
}
