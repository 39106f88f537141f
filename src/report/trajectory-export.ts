/**
 * Trajectory export: t, loss and every parameter θ(t) at full precision, as CSV, JSON (the
 * schema's trajectory kind) or NumPy .npy (float64, columns t, loss, then the parameters in
 * the order `parameters` lists them). Times are the stored steps, log- or linearly spaced
 * times, or given times; between stored steps the method's dense output is used when it has
 * one, else the nearest stored step (descent), and the export says which.
 */
import { GradflowError } from '../util/errors.ts';
import type { Problem } from '../problem.ts';
import type { Trajectory } from '../trajectory.ts';
import { nearestIndex } from '../trajectory.ts';
import type { Layout } from '../compile/layout.ts';

/** Rows past this need an explicit --export-at: a file a spreadsheet or pandas reads in seconds. */
export const MAX_EXPORT_ROWS = 200_000;

export interface TrajectoryTable {
  parameters: string[];
  t: number[];
  loss: number[];
  theta: Float64Array[];
  /** How the rows were chosen, for the file's header. */
  sampling: string;
}

/** 'a[0]', 'w[0][2]', 'A[1][0][3]': parameter name, neuron, then the entry's indices. */
export function parameterNames(layout: Layout): string[] {
  const names = new Array<string>(layout.H * layout.P);
  for (let i = 0; i < layout.H; i++) {
    for (const slot of layout.params) {
      for (let k = 0; k < slot.size; k++) {
        let rest = k, idx = '';
        for (let a = slot.shape.length - 1; a >= 0; a--) {
          idx = `[${rest % slot.shape[a]}]${idx}`;
          rest = Math.floor(rest / slot.shape[a]);
        }
        names[i * layout.P + slot.offset + k] = `${slot.name}[${i}]${idx}`;
      }
    }
  }
  return names;
}

/** The form of --export-at alone (no trajectory yet), so a typo fails before the solve, not after it. */
export function checkExportAt(spec: string): void {
  if (spec === 'all') return;
  const m = /^(log|lin):(\d+)$/.exec(spec);
  if (m) {
    const n = Number(m[2]);
    if (!(n >= 2 && n <= MAX_EXPORT_ROWS)) throw new GradflowError(`--export-at ${spec}: N must be between 2 and ${MAX_EXPORT_ROWS}`);
    return;
  }
  const parts = spec.split(',');
  if (parts.some((s) => s.trim() === '' || !Number.isFinite(Number(s)))) {
    throw new GradflowError(`--export-at must be all, log:N, lin:N or comma-separated times (got '${spec}')`);
  }
}

/** The times an --export-at list names (t1,t2,…); [] for all, log:N and lin:N, whose times come from the run. */
export function listedExportTimes(spec: string): number[] {
  checkExportAt(spec);
  return spec === 'all' || /^(log|lin):(\d+)$/.test(spec) ? [] : spec.split(',').map((s) => Number(s));
}

/** Parses --export-at: all | log:N | lin:N | t1,t2,… (flow times). */
export function exportTimes(spec: string, tr: Trajectory): number[] | null {
  checkExportAt(spec);
  const t0 = tr.t[0], t1 = tr.t[tr.t.length - 1];
  if (spec === 'all') return null;
  const m = /^(log|lin):(\d+)$/.exec(spec);
  if (m) {
    const n = Number(m[2]);
    if (m[1] === 'lin') return Array.from({ length: n }, (_, k) => t0 + ((t1 - t0) * k) / (n - 1));
    // log-spaced from the first stored step after t0 (or 1e-6·t_end) to the end, with t0 first
    const first = Math.max(tr.t.find((t) => t > t0) ?? t1, t0 + 1e-6 * (t1 - t0)) - t0;
    const span = t1 - t0;
    if (!(span > 0)) return [t0];
    return [t0, ...Array.from({ length: n - 1 }, (_, k) => t0 + first * Math.pow(span / first, k / (n - 2 || 1)))];
  }
  const list = listedExportTimes(spec);
  for (const v of list) if (v < t0 || v > t1) throw new GradflowError(`--export-at: time ${v} is outside the trajectory [${t0}, ${t1}]`);
  return list;
}

export function trajectoryTable(tr: Trajectory, p: Problem, at: string): TrajectoryTable {
  const times = exportTimes(at, tr);
  const parameters = parameterNames(p.layout);
  const lossOf = (s: Float64Array): number => p.kernels.loss(s, p.data.X, p.data.Y, p.data.n);
  if (times === null) {
    if (tr.t.length > MAX_EXPORT_ROWS) throw new GradflowError(`the trajectory has ${tr.t.length} stored steps, more than ${MAX_EXPORT_ROWS} rows: choose times with --export-at log:N or lin:N`);
    return { parameters, t: tr.t.slice(), loss: tr.loss.slice(), theta: tr.states, sampling: `every stored step of ${tr.method}` };
  }
  if (tr.dense) {
    const theta = times.map((t) => tr.dense!(t));
    return { parameters, t: times, loss: theta.map(lossOf), theta, sampling: `${tr.method} dense output at --export-at ${at}` };
  }
  const idx = times.map((t) => nearestIndex(tr, t));
  return { parameters, t: idx.map((q) => tr.t[q]), loss: idx.map((q) => tr.loss[q]), theta: idx.map((q) => tr.states[q]), sampling: `nearest stored step of ${tr.method} to --export-at ${at} (no dense output)` };
}

function csvName(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV: '#' comment lines (conventions, sampling), then t,loss,<parameters>; numbers round-trip exactly. */
export function trajectoryCsv(tab: TrajectoryTable, comments: string[]): string {
  const out = [...comments, `sampling: ${tab.sampling}`].map((c) => `# ${c.replace(/\r?\n/g, ' ')}`);
  out.push(['t', 'loss', ...tab.parameters].map(csvName).join(','));
  for (let k = 0; k < tab.t.length; k++) out.push([tab.t[k], tab.loss[k], ...tab.theta[k]].map((v) => (Number.isFinite(v) ? String(v) : '')).join(','));
  return out.join('\n') + '\n';
}

/** NumPy .npy v1.0: little-endian float64, C order, shape (rows, 2 + parameters). */
export function trajectoryNpy(tab: TrajectoryTable): Uint8Array {
  const rows = tab.t.length, cols = 2 + tab.parameters.length;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const pre = 10; // magic (6) + version (2) + header length (2)
  header = header.padEnd(Math.ceil((pre + header.length + 1) / 64) * 64 - pre - 1, ' ') + '\n';
  const buf = new Uint8Array(pre + header.length + 8 * rows * cols);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let q = 0; q < header.length; q++) buf[pre + q] = header.charCodeAt(q);
  const view = new DataView(buf.buffer, pre + header.length);
  let off = 0;
  for (let k = 0; k < rows; k++) {
    for (const v of [tab.t[k], tab.loss[k], ...tab.theta[k]]) {
      view.setFloat64(off, v, true);
      off += 8;
    }
  }
  return buf;
}
