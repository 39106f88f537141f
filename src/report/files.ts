/**
 * Report output that is never half-written: a reader (a LaTeX build, a watcher) sees either the
 * old file or the new one, because each file is written to a temp name beside it and renamed,
 * and rename within one directory is atomic on POSIX filesystems.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { GradflowError } from '../util/errors.ts';

let tempCounter = 0;

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
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    writeDurable(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
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
      mkdirSync(dirname(p), { recursive: true });
      const tmp = tempPathFor(p);
      temps.push(tmp);
      writeDurable(tmp, contents[i]);
    });
    paths.forEach((p, i) => renameSync(temps[i], p));
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e;
  }
  return paths;
}
