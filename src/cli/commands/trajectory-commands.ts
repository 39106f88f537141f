/** flow, descent and exact: three solvers, one reporting path. */
import { progressLine } from '../../util/progress.ts';
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, MODEL_OPTIONS, buildProblem, conventionLines, emitFiles, figureFiles, flag, num, printJson, resolveModel, resultJson, str } from '../common.ts';
import { gradflowVersion, jsonText, plain } from '../../report/json.ts';
import { MAX_EXPORT_ROWS, checkExportAt, listedExportTimes, trajectoryCsv, trajectoryNpy, trajectoryTable, type TrajectoryTable } from '../../report/trajectory-export.ts';
import { writeFileAtomic } from '../../report/files.ts';
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import { CAPS, checkCap, hasOwn, printable } from '../../util/limits.ts';
import { nearestIndex } from '../../trajectory.ts';
import { formatNumber } from '../../report/table.ts';
import type { Problem } from '../../problem.ts';
import type { Trajectory } from '../../trajectory.ts';
import { solveFlow } from '../../solvers/flow.ts';
import { integrateWithinStore } from '../../analysis/flow-store.ts';
import { solveDescent } from '../../solvers/descent.ts';
import { DESCENT_BACKEND_NAMES, descentBackend } from '../../backends/select.ts';
import { solveExact } from '../../solvers/exact.ts';
import type { OdeMethod } from '../../solvers/ode/types.ts';
import { checkpointTable, checkpointTimes, checkpoints, trajectoryJson, trajectoryPlots, type Checkpoint } from '../../report/trajectory-report.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText } from '../../report/table.ts';

const REPORT_OPTIONS = {
  points: { kind: 'int' as const, help: 'number of checkpoints in the table', default: '11' },
  export: { kind: 'string' as const, metavar: 'FILE', help: 'write the trajectory (t, loss, every parameter θ(t), full precision) to FILE.csv, FILE.json or FILE.npy' },
  'export-at': { kind: 'string' as const, metavar: 'TIMES', help: 'times to export: all (stored steps), log:N, lin:N or t1,t2,… (flow time)', default: 'all' },
  overlay: { kind: 'list' as const, metavar: 'METHODS', help: 'also run these over the same time span and draw every method in one figure: flow, descent (or gd), exact, or all (those that apply); the table notes give the largest loss gap at the checkpoints' },
};

const EXPORT_FORMATS = ['.csv', '.json', '.npy'];

/** --export and --overlay are checked before anything is computed (--out is, by the common checks): a typo must not cost the run. */
function checkOutputs(args: ParsedArgs, primary: Solver): void {
  overlayList(args, primary);
  const file = str(args, 'export');
  if (file !== undefined) {
    if (!EXPORT_FORMATS.includes(extname(file).toLowerCase())) throw new GradflowError(`--export ${file}: the name must end in ${EXPORT_FORMATS.join(', ')} (it chooses the format)`);
    const dir = dirname(resolve(file));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GradflowError(`--export ${file}: directory ${dir} does not exist`);
    if (existsSync(file) && statSync(file).isDirectory()) throw new GradflowError(`--export ${file} is a directory; give a file name`);
  }
  const at = str(args, 'export-at');
  if (at !== undefined) {
    if (file === undefined && !args.values.has('out')) throw new GradflowError('--export-at selects the times of --export FILE or --out DIR; give one of them');
    checkExportAt(at);
  }
}

function exportContent(file: string, tab: TrajectoryTable, json: () => Record<string, unknown>, comments: string[]): string | Uint8Array {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return trajectoryNpy(tab);
  if (ext === '.json') return jsonText(json());
  return trajectoryCsv(tab, comments);
}

/** --points before any computation: a table of 2 … cap rows. */
function checkPoints(args: ParsedArgs): void {
  const points = num(args, 'points', 11);
  if (points < 2) throw new GradflowError(`--points must be at least 2 (the start and the end; got ${points})`);
  checkCap(CAPS.points, points, '--points');
}

type Solver = 'flow' | 'descent' | 'exact';
const OVERLAY_NAMES: Record<string, Solver> = { flow: 'flow', descent: 'descent', gd: 'descent', exact: 'exact' };
/** The step of a gradient-descent overlay: descent's default. */
const OVERLAY_LR = 0.01;

/** --overlay's methods, checked before anything is computed; `all` keeps only what applies (exact needs a closed form). */
function overlayList(args: ParsedArgs, primary: Solver): { solvers: Solver[]; all: boolean } {
  const list = (args.values.get('overlay') as string[] | undefined) ?? [];
  if (!args.values.has('overlay')) return { solvers: [], all: false };
  if (list.length === 0) throw new GradflowError('--overlay needs at least one of flow, descent, exact or all');
  if (list.includes('all')) {
    if (list.length > 1) throw new GradflowError('--overlay all stands alone (it means flow, descent and exact)');
    return { solvers: (['flow', 'descent', 'exact'] as Solver[]).filter((m) => m !== primary), all: true };
  }
  const solvers: Solver[] = [];
  for (const m of list) {
    const s = hasOwn(OVERLAY_NAMES, m) ? OVERLAY_NAMES[m] : undefined;
    if (!s) throw new GradflowError(`--overlay: unknown method '${printable(m)}' (use flow, descent, gd, exact or all)`);
    if (s === primary) throw new GradflowError(`--overlay ${m}: this command already runs ${primary}`);
    if (solvers.includes(s)) throw new GradflowError(`--overlay: ${m} is given twice`);
    solvers.push(s);
  }
  return { solvers, all: false };
}

/** The overlaid runs over the primary run's time span, with default settings (each named in the notes). */
function runOverlays(p: Problem, tr: Trajectory, want: { solvers: Solver[]; all: boolean }): { runs: Trajectory[]; notes: string[] } {
  const T = tr.t[tr.t.length - 1];
  const runs: Trajectory[] = [], notes: string[] = [];
  for (const s of want.solvers) {
    if (s === 'flow') {
      runs.push(solveFlow(p, { tEnd: T }));
      notes.push('overlay flow: dopri5, rtol = 1e-10');
    } else if (s === 'descent') {
      const steps = Math.ceil(T / OVERLAY_LR - 1e-9);
      runs.push(solveDescent(p, { lr: OVERLAY_LR, steps }));
      notes.push(`overlay gd: lr = ${OVERLAY_LR}, ${steps} steps, t = k·lr`);
    } else {
      try {
        runs.push(solveExact(p, { tEnd: T }));
      } catch (err) {
        // `all` means every method that applies; naming exact means the user wants the reason
        if (!(want.all && err instanceof GradflowError)) throw err;
        notes.push(`overlay exact: skipped (${err.message})`);
      }
    }
  }
  return { runs, notes };
}

/** A run's loss at time t: dense output when it has one, else linear between stored points. */
function lossAt(p: Problem, tr: Trajectory, t: number): number {
  if (tr.dense) return p.kernels.loss(tr.dense(t), p.data.X, p.data.Y, p.data.n);
  let k = nearestIndex(tr, t);
  if (tr.t[k] > t && k > 0) k--;
  if (k >= tr.t.length - 1) return tr.loss[tr.t.length - 1];
  const u = (t - tr.t[k]) / (tr.t[k + 1] - tr.t[k]);
  return tr.loss[k] + u * (tr.loss[k + 1] - tr.loss[k]);
}

/**
 * Largest |L_primary(t) − L_overlay(t)| over the checkpoint times (the overlay evaluated at exactly
 * those times), also as a fraction of L(0): near a zero-loss end a pointwise relative gap means nothing.
 */
export function overlayGap(p: Problem, cps: Checkpoint[], other: Trajectory, initialLoss: number): { maxAbs: number; ofInitialLoss: number | null } {
  let maxAbs = 0;
  for (const c of cps) maxAbs = Math.max(maxAbs, Math.abs(c.loss - lossAt(p, other, c.t)));
  return { maxAbs, ofInitialLoss: initialLoss > 0 ? maxAbs / initialLoss : null };
}

function report(args: ParsedArgs, io: CommandIO, p: Problem, tr: Trajectory, primary: Solver, runNotes: readonly string[] = []): void {
  const cps = checkpoints(tr, p, num(args, 'points', 11));
  const over = runOverlays(p, tr, overlayList(args, primary));
  const gaps = over.runs.map((o) => ({ method: o.method, ...overlayGap(p, cps, o, tr.loss[0]) }));
  const notes = [
    ...conventionLines(p, tr.conventions.time),
    ...runNotes,
    ...over.notes,
    ...gaps.map((g) => `overlay ${g.method}: largest |ΔL| at the ${cps.length} checkpoints = ${formatNumber(g.maxAbs, 3)} (${g.ofInitialLoss === null ? 'L(0) = 0' : `${formatNumber(g.ofInitialLoss, 3)}·L(0)`})`),
  ];
  const table = checkpointTable(tr, p, cps, notes);
  const body = trajectoryJson(tr, p, cps);
  const json = resultJson(args, 'trajectory', p.seed, gaps.length ? { ...body, overlays: plain(gaps) } : body);
  const at = str(args, 'export-at') ?? 'all';
  const exportFile = str(args, 'export');
  // --out keeps the whole trajectory too, thinned to log-spaced times only when it is too long to read
  const tab = (sel: string): TrajectoryTable => trajectoryTable(tr, p, sel);
  const outSel = args.values.has('export-at') || tr.t.length <= MAX_EXPORT_ROWS ? at : 'log:10000';
  const exportJson = (t: TrajectoryTable): Record<string, unknown> => ({ ...json, sampling: t.sampling, parameters: t.parameters, t: t.t, loss: plain(t.loss), theta: t.theta.map((s) => Array.from(s)) });
  const comments = [`${p.model.spec.name} · ${tr.method} · gradflow ${gradflowVersion()} · ${args.argv.join(' ')}`, ...notes];
  if (exportFile) {
    const t = tab(at);
    writeFileAtomic(exportFile, exportContent(exportFile, t, () => exportJson(t), comments));
    if (!flag(args, 'json')) io.out(`wrote ${exportFile} (${t.t.length} rows: t, loss, ${t.parameters.length} parameters)`);
  }
  if (!printJson(args, io, json)) io.out(renderText(table));
  const base = tr.method.replace(/[^\w-]+/g, '-');
  emitFiles(args, io, {
    [`${base}-trajectory.csv`]: () => trajectoryCsv(tab(outSel), comments),
    [`${base}.md`]: () => renderMarkdown(table),
    [`${base}.csv`]: () => renderCsv(table),
    [`${base}.tex`]: () => renderLatex(table),
    [`${base}.json`]: () => jsonText(json),
    ...figureFiles(base, () => trajectoryPlots([tr, ...over.runs], p, `time: ${tr.conventions.time}; α = ${p.alpha}; init: ${p.conventions.init}.${over.notes.length ? ` ${over.notes.join('; ')}.` : ''}`)),
  }, [table]);
}

/** The solver's advice names its option (maxSteps, rtol); on the command line they are --max-steps and --rtol. */
function withFlagNames<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof GradflowError && /raise maxSteps/.test(err.message)) throw new GradflowError(err.message.replace(/raise maxSteps or loosen rtol/, 'raise --max-steps or loosen --rtol').replace(/give a larger dt or raise maxSteps/, 'give a larger --dt or raise --max-steps'), err.exitCode);
    throw err;
  }
}

export const flowCommand: Command = {
  name: 'flow',
  summary: 'Integrate the gradient flow θ̇ = −∇L(θ) and print checkpoints (loss, ‖θ‖, monitored quantities).',
  usage: 'gradflow flow <model|--spec FILE> [--t T] [--method dopri5|dop853|gbs|gauss4|midpoint|rk4|rkc] [--rtol R] [--alpha A] [--opt delta=…]',
  options: {
    ...MODEL_OPTIONS,
    t: { kind: 'number', help: 'end time (flow time)', default: '30' },
    method: { kind: 'string', help: 'integrator: dopri5, dop853 (8th order, for tight tolerances), gbs (extrapolation: few high-order steps), gauss4 (symplectic, preserves quadratic laws), midpoint, rk4, rkc (Runge–Kutta–Chebyshev with error control, second order: for stiff flows such as modular at small alpha, where the explicit methods sit at their stability limit; give it --rtol 1e-6 or so)', default: 'dopri5' },
    rtol: { kind: 'number', help: 'relative tolerance', default: '1e-10' },
    atol: { kind: 'number', help: 'absolute tolerance', default: '1e-3·rtol·(smallest non-zero |θ0|)' },
    dt: { kind: 'number', help: 'fixed step for gauss4/midpoint/rk4 (also dopri5, dop853, rkc)' },
    'max-steps': { kind: 'int', help: 'most integrator steps before the run stops with an error', default: '1000000' },
    ...REPORT_OPTIONS,
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    checkOutputs(args, 'flow');
    checkPoints(args);
    const maxSteps = num(args, 'max-steps', 1_000_000);
    if (maxSteps < 1) throw new GradflowError(`--max-steps must be a positive integer (got ${maxSteps})`);
    const p = buildProblem(args, resolveModel(args));
    const T = num(args, 't', 30);
    // where every step would not fit the store: the table's checkpoints and any listed export times are kept exactly
    const at = str(args, 'export-at');
    const keep = [...checkpointTimes(0, T, num(args, 'points', 11)), ...(at !== undefined ? listedExportTimes(at) : [])];
    const { tr, note } = withFlagNames(() => integrateWithinStore(p, (o) => solveFlow(p, o), {
      tEnd: T,
      method: (str(args, 'method') ?? 'dopri5') as OdeMethod,
      rtol: args.values.has('rtol') ? num(args, 'rtol', 1e-10) : undefined,
      atol: args.values.has('atol') ? num(args, 'atol', 0) : undefined,
      dt: args.values.has('dt') ? num(args, 'dt', 0) : undefined,
      maxSteps,
      onProgress: io.progress ? progressLine(io.err, 'flow') : undefined,
    }, keep));
    report(args, io, p, tr, 'flow', note ? [note] : []);
  },
};

export const descentCommand: Command = {
  name: 'descent',
  summary: 'Run gradient descent (or heavy-ball momentum); step k is reported at flow time t = k·lr/(1 − momentum).',
  usage: 'gradflow descent <model|--spec FILE> [--lr η] [--steps K] [--momentum m [--nesterov]] [--alpha A] [--backend float64|tfjs-cpu|…]',
  options: {
    ...MODEL_OPTIONS,
    lr: { kind: 'number', help: 'learning rate η', default: '0.01' },
    steps: { kind: 'int', help: 'number of steps', default: '3000' },
    momentum: { kind: 'number', help: 'heavy-ball momentum in [0, 1)', default: '0' },
    nesterov: { kind: 'flag', help: 'Nesterov momentum instead of heavy ball (PyTorch nesterov=True: b ← m·b + ∇L, θ ← θ − lr(∇L + m·b); needs --momentum, float64 backend)' },
    backend: { kind: 'string', help: `${DESCENT_BACKEND_NAMES.join(', ')}: tfjs-* run TensorFlow.js in float32 (optional packages); auto = the first of node-gpu, node, wasm, cpu installed`, default: 'float64' },
    ...REPORT_OPTIONS,
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  async run(args, io) {
    checkOutputs(args, 'descent');
    checkPoints(args);
    const p = buildProblem(args, resolveModel(args));
    const backend = await descentBackend(str(args, 'backend') ?? 'float64');
    const tr = solveDescent(p, { lr: num(args, 'lr', 0.01), steps: num(args, 'steps', 3000), momentum: num(args, 'momentum', 0), nesterov: flag(args, 'nesterov'), backend, onProgress: io.progress ? progressLine(io.err, 'descent') : undefined });
    report(args, io, p, tr, 'descent');
  },
};

export const exactCommand: Command = {
  name: 'exact',
  summary: 'Evaluate a closed-form solution the model ships (e.g. the whitened single neuron, Saxe’s sigmoid).',
  usage: 'gradflow exact <model> [--t T] [--name whitened|saxe] [--alpha A] [--opt delta=…]',
  options: {
    ...MODEL_OPTIONS,
    t: { kind: 'number', help: 'end time (flow time)', default: '30' },
    name: { kind: 'string', help: 'which closed form (default: the first that applies)' },
    ...REPORT_OPTIONS,
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    checkOutputs(args, 'exact');
    checkPoints(args);
    const p = buildProblem(args, resolveModel(args));
    const tr = solveExact(p, { tEnd: num(args, 't', 30), name: str(args, 'name') });
    report(args, io, p, tr, 'exact');
  },
};
