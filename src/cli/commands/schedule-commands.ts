/** agf and pf: a jump schedule alone (table, --json in the DESIGN.md shape, --out files). */
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, buildProblem, emitFiles, flag, printJson, resolveModel, resultJson } from '../common.ts';
import { jsonText, scheduleBody } from '../../report/json.ts';
import { timeUnit } from '../../schedule.ts';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import { MIN_ALPHA, type Problem } from '../../problem.ts';
import type { JumpSchedule } from '../../schedule.ts';
import { solveAgf } from '../../solvers/agf.ts';
import { solveAgfDiagonal } from '../../solvers/agf-diagonal.ts';
import { diagonalData } from '../../solvers/diagonal-data.ts';
import { solvePf } from '../../solvers/pf.ts';
import { scheduleTable } from '../../report/schedule-report.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText } from '../../report/table.ts';

export const DEFAULT_SCHEDULE_ALPHA = 1e-4;

/** AGF and PF need 0 < alpha < 1: log(1/alpha) is their time unit. */

export function checkAlpha(p: Problem): void {
  if (!(p.alpha < 1)) throw new GradflowError(`alpha must lie in (0, 1) for jump schedules (got ${p.alpha}); it is the initial scale and log(1/alpha) the time unit`);
}

function emitSchedule(args: ParsedArgs, io: CommandIO, p: Problem, s: JumpSchedule, notes: string[]): void {
  const table = scheduleTable(s, timeUnit(p.derived.kappa, p.alpha), notes);
  const json = resultJson(args, 'schedule', p.seed, scheduleBody(s, p.derived.kappa));
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, {
    [`${s.method}.md`]: () => renderMarkdown(table),
    [`${s.method}.csv`]: () => renderCsv(table),
    [`${s.method}.tex`]: () => renderLatex(table),
    [`${s.method}.json`]: () => jsonText(json),
  }, [table]);
}

export const agfCommand: Command = {
  name: 'agf',
  summary: 'Alternating Gradient Flows: predicted saddle-to-saddle jump times, neurons and loss levels (any κ-homogeneous model).',
  usage: 'gradflow agf <model|--spec FILE> [--alpha A|0] [--data F] [--closed]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha in (0, 1); 0 gives the alpha → 0 limit in rescaled time t/T_κ(alpha)', default: String(DEFAULT_SCHEDULE_ALPHA) },
    closed: { kind: 'flag', help: 'diagonal model: the closed-form AGF (agf-diagonal), a cross-check of the generic engine' },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    // alpha = 0: the limit; the start's directions come from the model's init at the default scale
    const limit = args.values.get('alpha') !== undefined && Number(args.values.get('alpha')) === 0;
    const built = limit ? { ...args, values: new Map([...args.values].filter(([k]) => k !== 'alpha')) } : args;
    const p = buildProblem(built, resolveModel(args), { alpha: DEFAULT_SCHEDULE_ALPHA });
    checkAlpha(p);
    if (limit && flag(args, 'closed')) throw new GradflowError('--closed computes the schedule at a positive alpha; for alpha = 0 use the generic engine (drop --closed) or `gradflow pf diagonal`');
    if (flag(args, 'closed') && p.model.spec.name !== 'diagonal') throw new GradflowError(`--closed applies to the diagonal model only (got '${p.model.spec.name}')`);
    // a diagonal problem gets the same data checks (e.g. an all-zero column) whichever AGF runs
    if (p.model.spec.name === 'diagonal') diagonalData(p, 'agf');
    const s = flag(args, 'closed') ? solveAgfDiagonal(p) : solveAgf(p, { limit });
    const notes = [`data: ${p.data.source}`, `solver: ${flag(args, 'closed') ? 'closed form (diagonal)' : `generic AGF engine (${p.derived.kappa === 2 ? 'exact linear dormant dynamics in log-magnitudes' : 'direction flow on the sphere'} + L-BFGS cost minimisation)${limit ? (p.derived.kappa === 2 ? ', alpha → 0 limit (max-plus)' : `, alpha → 0 limit (rescaled ODE from alpha = ${MIN_ALPHA})`) : ''}`}`];
    if (limit) {
      const unit = timeUnit(p.derived.kappa, p.alpha);
      notes.push(`alpha → 0: times are rescaled ${unit.label}; the flow-time column is rescaled time × ${unit.formula.replace(/alpha/g, String(p.alpha))} = ${unit.scale.toPrecision(6)}`);
    }
    if (s.extra?.warning) notes.push(`warning: ${String(s.extra.warning)}`);
    if (s.extra?.status) notes.push(`stopped: ${String(s.extra.status)}${s.extra?.stopReason ? ` (${String(s.extra.stopReason)})` : ''}`);
    emitSchedule(args, io, p, s, notes);
    // with --json the notes are not printed; scripts still see the warning on stderr
    if (s.extra?.warning && flag(args, 'json')) io.err(`gradflow: warning: ${String(s.extra.warning)}`);
  },
};

export const pfCommand: Command = {
  name: 'pf',
  summary: 'Pesme–Flammarion schedule (the α → 0 limit of the diagonal network), in rescaled time t/log(1/α).',
  usage: 'gradflow pf diagonal [--data F] [--alpha A]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'alpha in (0, 1), used only to convert rescaled to flow time', default: String(DEFAULT_SCHEDULE_ALPHA) },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const p = buildProblem(args, resolveModel(args), { alpha: DEFAULT_SCHEDULE_ALPHA });
    checkAlpha(p);
    const s = solvePf(p);
    emitSchedule(args, io, p, s, [`data: ${p.data.source}`, `stopped: ${String(s.extra?.status ?? '')}`]);
  },
};
