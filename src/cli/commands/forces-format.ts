/** Number formats and list options shared by the force-analysis reports (forces.ts, forces-sequence.ts). */
import type { ParsedArgs } from '../args.ts';
import { str } from '../common.ts';
import { GradflowError } from '../../util/errors.ts';
import { formatNumber, type Table } from '../../report/table.ts';

export const MAX_OBSERVED = 50;
export const f6 = (v: unknown): string => (typeof v === 'number' ? formatNumber(v, 6) : String(v ?? '—'));
export const f3 = (v: unknown): string => (typeof v === 'number' ? formatNumber(v, 3) : String(v ?? '—'));

export const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
export const sd = (a: number[]): number => (a.length < 2 ? 0 : Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1)));
/** mean ± sample sd, 4 and 2 significant digits. */
export const pm = (a: number[]): string => `${formatNumber(mean(a), 4)} ± ${formatNumber(sd(a), 2)}`;

/** A comma-separated list of example indices (at most MAX_OBSERVED). */
export function intList(args: ParsedArgs, key: string, fallback: number[]): number[] {
  const s = str(args, key);
  if (s === undefined) return fallback;
  const out = s.split(',').map((t) => Number(t.trim()));
  if (out.length === 0 || out.length > MAX_OBSERVED || out.some((v) => !Number.isInteger(v))) throw new GradflowError(`--${key} must be a comma-separated list of at most ${MAX_OBSERVED} example indices (got '${s}')`);
  return out;
}

/** The columns every decomposition table shares: the norms of A, K, G, the prediction, the measurement, the error and its η slope. */
export function termColumns(headers: { pred: string; actual: string; err: string }): Table['columns'] {
  return [
    { key: 'nA', header: '‖A‖_F', align: 'right', format: f3 }, { key: 'nK', header: '‖K‖_F', align: 'right', format: f3 }, { key: 'nG', header: '‖G‖', align: 'right', format: f3 },
    { key: 'pred', header: headers.pred, align: 'right', format: f6 }, { key: 'actual', header: headers.actual, align: 'right', format: f6 },
    { key: 'err', header: headers.err, align: 'right', format: f3 },
    { key: 'slope', header: 'error slope vs η', align: 'right', format: (v) => (Number.isFinite(v) ? (v as number).toFixed(3) : '—') },
  ];
}

/** The note under a decomposition table whose error slope could not be fitted (every error 0: a saturated π, G = 0). */
export function slopeNotes(rows: readonly { slope: number }[]): string[] {
  return rows.some((r) => !Number.isFinite(r.slope)) ? ['error slope —: the error is 0 at (all but one of) the 7 η, nothing to fit (π saturated at 0 or 1: G = 0, the step changes nothing)'] : [];
}
