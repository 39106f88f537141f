/**
 * Matching jump schedules from several methods (agf, pf, flow, gd, …) jump by jump.
 *
 * Jumps are matched by their index k: every method describes the same sequence of saddles
 * (theory.md §3's conjecture), so the k-th jump of one is compared with the k-th of another;
 * whether they name the same neuron is reported (`neuronAgrees`) rather than used to re-pair,
 * so a swapped order shows up as a disagreement instead of being hidden. Relative errors are
 * |t_m − t_ref| / |t_ref| in flow time (identical to the rescaled-time error, both methods
 * sharing α), against the reference method (the first prediction: agf, else pf, else the first).
 */
import type { JumpSchedule } from '../schedule.ts';
import type { Column, Table } from '../report/table.ts';
import { formatNumber } from '../report/table.ts';
import type { TimeUnit } from '../schedule.ts';
import { plain, scheduleBody, type MachineConventions } from '../report/json.ts';

export interface MatchedJump {
  k: number;
  /** Reference method's neuron, sign and loss level. */
  neuron: number | null;
  sign: number | null;
  time: Record<string, number | null>;
  rescaledTime: Record<string, number | null>;
  lossAfter: Record<string, number | null>;
  neuron_: Record<string, number | null>;
  deactivated: Record<string, number[] | null>;
  /** |t_m − t_ref| / |t_ref| for every non-reference method. */
  relError: Record<string, number | null>;
  /** t_m − t_ref (flow time). */
  gap: Record<string, number | null>;
  neuronAgrees: Record<string, boolean | null>;
}

export interface Comparison {
  reference: string;
  methods: string[];
  schedules: JumpSchedule[];
  jumps: MatchedJump[];
}

const PREDICTIONS = ['agf', 'pf', 'exact'];

export function compareSchedules(schedules: JumpSchedule[], reference?: string): Comparison {
  if (schedules.length === 0) return { reference: '', methods: [], schedules, jumps: [] };
  const methods = schedules.map((s) => s.method);
  const ref = reference ?? PREDICTIONS.find((m) => methods.includes(m)) ?? methods[0];
  const refSched = schedules[methods.indexOf(ref)];
  const K = Math.max(...schedules.map((s) => s.jumps.length));
  const jumps: MatchedJump[] = [];
  for (let k = 0; k < K; k++) {
    const r = refSched.jumps[k];
    const row: MatchedJump = {
      k: k + 1,
      neuron: r?.neuron ?? null,
      sign: r?.sign ?? null,
      time: {}, rescaledTime: {}, lossAfter: {}, neuron_: {}, deactivated: {}, relError: {}, gap: {}, neuronAgrees: {},
    };
    for (const s of schedules) {
      const j = s.jumps[k];
      row.time[s.method] = j?.time ?? null;
      row.rescaledTime[s.method] = j?.rescaledTime ?? null;
      row.lossAfter[s.method] = j?.lossAfter ?? null;
      row.neuron_[s.method] = j?.neuron ?? null;
      row.deactivated[s.method] = j?.deactivated ?? null;
      if (s.method === ref) continue;
      row.relError[s.method] = j && r ? Math.abs(j.time - r.time) / Math.abs(r.time) : null;
      row.gap[s.method] = j && r ? j.time - r.time : null;
      row.neuronAgrees[s.method] = j && r ? j.neuron === r.neuron : null;
    }
    jumps.push(row);
  }
  return { reference: ref, methods, schedules, jumps };
}

/** Largest relative error of a method over the matched jumps (null if none matched). */
export function worstRelError(c: Comparison, method: string): number | null {
  let w: number | null = null;
  for (const j of c.jumps) {
    const e = j.relError[method];
    if (e !== null && e !== undefined) w = Math.max(w ?? 0, e);
  }
  return w;
}

const fmtNeuron = (v: unknown): string => (v === null || v === undefined ? '—' : String(v));
const fmtSign = (v: unknown): string => (v === 1 ? '+' : v === -1 ? '−' : v === 0 ? '0' : '—');
const fmtList = (v: unknown): string => (Array.isArray(v) && v.length ? v.join(' ') : '—');

export interface ComparisonTableOptions {
  /** Unit of the rescaled times (from the model's κ and α); labels every rescaled column. */
  unit: TimeUnit;
  /** 'narrow' (default): jump, neuron, sign, rescaled time per method, relative errors. 'full' adds flow times, loss levels, per-method neurons, deactivations. */
  columns?: 'narrow' | 'full';
}

/** One table: jump k, neuron, sign, rescaled time per method, relative errors (and, in full, flow times, loss levels, neurons). */
export function comparisonTable(c: Comparison, notes: string[], opts: ComparisonTableOptions): Table {
  const others = c.methods.filter((m) => m !== c.reference);
  const full = opts.columns === 'full';
  const u = opts.unit;
  const relFmt = (v: unknown): string => (typeof v === 'number' ? formatNumber(v, 3) : '—');
  const columns: Column[] = [
    { key: 'k', header: 'k' },
    { key: 'neuron', header: 'neuron', format: fmtNeuron },
    { key: 'sign', header: 'sign', format: fmtSign },
    ...(full ? c.methods.map((m) => ({ key: `time_${m}`, header: `t ${m}`, latexHeader: `$t_{\\mathrm{${m}}}$` })) : []),
    ...c.methods.map((m) => ({ key: `rescaled_time_${m}`, header: `${u.label} ${m}`, latexHeader: `$${u.latex}$ ${m}` })),
    ...(full ? c.methods.map((m) => ({ key: `loss_after_${m}`, header: `loss after ${m}`, latexHeader: `$\\mathcal{L}$ after ${m}` })) : []),
    ...others.map((m) => ({ key: `rel_err_${m}`, header: `rel err ${m}`, latexHeader: `rel.\\ err.\\ ${m}`, format: relFmt })),
    ...(full ? others.map((m) => ({ key: `neuron_${m}`, header: `neuron ${m}`, format: fmtNeuron })) : []),
    ...(full ? [{ key: 'deactivated', header: `deactivated (${c.reference})`, format: fmtList }] : []),
  ];
  const rows = c.jumps.map((j) => {
    const row: Record<string, unknown> = { k: j.k, neuron: j.neuron, sign: j.sign, deactivated: j.deactivated[c.reference] };
    for (const m of c.methods) {
      row[`time_${m}`] = j.time[m];
      row[`rescaled_time_${m}`] = j.rescaledTime[m];
      row[`loss_after_${m}`] = j.lossAfter[m];
    }
    for (const m of others) {
      row[`rel_err_${m}`] = j.relError[m];
      row[`neuron_${m}`] = j.neuron_[m];
    }
    return row;
  });
  return {
    title: `Jump schedule comparison (reference: ${c.reference})`,
    columns,
    rows,
    notes: [
      `matched by jump index; rel err = |t_method − t_${c.reference}| / t_${c.reference} (flow time, equal to the rescaled-time error)`,
      `time: ${u.note}`,
      ...notes,
    ],
  };
}

/** The `compare --json` body: one schedule per method plus the matched table (DESIGN.md), for every model. */
export function comparisonJson(c: Comparison, kappa: number | null, conventions: MachineConventions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: c.schedules[0]?.model ?? '',
    reference: c.reference,
    methods: c.methods,
    conventions,
    schedules: Object.fromEntries(c.schedules.map((s) => [s.method, scheduleBody(s, kappa)])),
    matched: c.jumps.map((j) => plain({
      k: j.k,
      neuron: j.neuron,
      sign: j.sign,
      time: j.time,
      rescaledTime: j.rescaledTime,
      lossAfter: j.lossAfter,
      neuronPerMethod: j.neuron_,
      deactivated: j.deactivated,
      gap: j.gap,
      relError: j.relError,
      neuronAgrees: j.neuronAgrees,
    })),
    ...extra,
  };
}
