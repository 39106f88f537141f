/** flow, descent and exact: three solvers, one reporting path. */
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, buildProblem, conventionLines, emitFiles, figureFiles, flag, num, printJson, resolveModel, resultJson, str } from '../common.ts';
import { gradflowVersion, jsonText, plain } from '../../report/json.ts';
import { MAX_EXPORT_ROWS, trajectoryCsv, trajectoryNpy, trajectoryTable, type TrajectoryTable } from '../../report/trajectory-export.ts';
import { writeFileAtomic } from '../../report/files.ts';
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import { CAPS, checkCap } from '../../util/limits.ts';
import type { Problem } from '../../problem.ts';
import type { Trajectory } from '../../trajectory.ts';
import { solveFlow } from '../../solvers/flow.ts';
import { solveDescent } from '../../solvers/descent.ts';
import { DESCENT_BACKEND_NAMES, descentBackend } from '../../backends/select.ts';
import { solveExact } from '../../solvers/exact.ts';
import type { OdeMethod } from '../../solvers/ode/types.ts';
import { checkpointTable, checkpoints, trajectoryJson, trajectoryPlots } from '../../report/trajectory-report.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText } from '../../report/table.ts';

const REPORT_OPTIONS = {
  points: { kind: 'int' as const, help: 'number of checkpoints in the table', default: '11' },
  export: { kind: 'string' as const, metavar: 'FILE', help: 'write the trajectory (t, loss, every parameter θ(t), full precision) to FILE.csv, FILE.json or FILE.npy' },
  'export-at': { kind: 'string' as const, metavar: 'TIMES', help: 'times to export: all (stored steps), log:N, lin:N or t1,t2,… (flow time)', default: 'all' },
};

const EXPORT_FORMATS = ['.csv', '.json', '.npy'];

/** --export is checked before anything is computed (--out is, by the common checks): a typo must not cost the run. */
function checkOutputs(args: ParsedArgs): void {
  const file = str(args, 'export');
  if (file !== undefined) {
    if (!EXPORT_FORMATS.includes(extname(file).toLowerCase())) throw new GradflowError(`--export ${file}: the name must end in ${EXPORT_FORMATS.join(', ')} (it chooses the format)`);
    const dir = dirname(resolve(file));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GradflowError(`--export ${file}: directory ${dir} does not exist`);
    if (existsSync(file) && statSync(file).isDirectory()) throw new GradflowError(`--export ${file} is a directory; give a file name`);
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

function report(args: ParsedArgs, io: CommandIO, p: Problem, tr: Trajectory): void {
  const cps = checkpoints(tr, p, num(args, 'points', 11));
  const notes = conventionLines(p, tr.conventions.time);
  const table = checkpointTable(tr, p, cps, notes);
  const json = resultJson(args, 'trajectory', p.seed, trajectoryJson(tr, p, cps));
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
    ...figureFiles(base, () => trajectoryPlots([tr], p, `time: ${tr.conventions.time}; α = ${p.alpha}; init: ${p.conventions.init}.`)),
  }, [table]);
}

/** The solver's advice names its option (maxSteps, rtol); on the command line they are --max-steps and --rtol. */
function withFlagNames<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof GradflowError && /raise maxSteps/.test(err.message)) throw new GradflowError(err.message.replace(/raise maxSteps or loosen rtol/, 'raise --max-steps or loosen --rtol'), err.exitCode);
    throw err;
  }
}

export const flowCommand: Command = {
  name: 'flow',
  summary: 'Integrate the gradient flow θ̇ = −∇L(θ) and print checkpoints (loss, ‖θ‖, monitored quantities).',
  usage: 'gradflow flow <model|--spec FILE> [--t T] [--method dopri5|dop853|gauss4|midpoint|rk4] [--rtol R] [--alpha A] [--opt delta=…]',
  options: {
    ...MODEL_OPTIONS,
    t: { kind: 'number', help: 'end time (flow time)', default: '30' },
    method: { kind: 'string', help: 'integrator: dopri5, dop853 (8th order, for tight tolerances), gauss4 (symplectic, preserves quadratic laws), midpoint, rk4', default: 'dopri5' },
    rtol: { kind: 'number', help: 'relative tolerance', default: '1e-10' },
    atol: { kind: 'number', help: 'absolute tolerance', default: '1e-3·rtol·(smallest non-zero |θ0|)' },
    dt: { kind: 'number', help: 'fixed step for gauss4/midpoint/rk4' },
    'max-steps': { kind: 'int', help: 'most integrator steps before the run stops with an error', default: '1000000' },
    ...REPORT_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    checkOutputs(args);
    checkPoints(args);
    const maxSteps = num(args, 'max-steps', 1_000_000);
    if (maxSteps < 1) throw new GradflowError(`--max-steps must be a positive integer (got ${maxSteps})`);
    const p = buildProblem(args, resolveModel(args));
    const tr = withFlagNames(() => solveFlow(p, {
      tEnd: num(args, 't', 30),
      method: (str(args, 'method') ?? 'dopri5') as OdeMethod,
      rtol: args.values.has('rtol') ? num(args, 'rtol', 1e-10) : undefined,
      atol: args.values.has('atol') ? num(args, 'atol', 0) : undefined,
      dt: args.values.has('dt') ? num(args, 'dt', 0) : undefined,
      maxSteps,
    }));
    report(args, io, p, tr);
  },
};

export const descentCommand: Command = {
  name: 'descent',
  summary: 'Run gradient descent (or heavy-ball momentum); step k is reported at flow time t = k·lr/(1 − momentum).',
  usage: 'gradflow descent <model|--spec FILE> [--lr η] [--steps K] [--momentum m] [--alpha A] [--backend float64|tfjs-cpu|…]',
  options: {
    ...MODEL_OPTIONS,
    lr: { kind: 'number', help: 'learning rate η', default: '0.01' },
    steps: { kind: 'int', help: 'number of steps', default: '3000' },
    momentum: { kind: 'number', help: 'heavy-ball momentum in [0, 1)', default: '0' },
    backend: { kind: 'string', help: `${DESCENT_BACKEND_NAMES.join(', ')}: tfjs-* run TensorFlow.js in float32 (optional packages); auto = the first of node-gpu, node, wasm, cpu installed`, default: 'float64' },
    ...REPORT_OPTIONS,
    ...COMMON_OPTIONS,
  },
  async run(args, io) {
    checkOutputs(args);
    checkPoints(args);
    const p = buildProblem(args, resolveModel(args));
    const backend = await descentBackend(str(args, 'backend') ?? 'float64');
    const tr = solveDescent(p, { lr: num(args, 'lr', 0.01), steps: num(args, 'steps', 3000), momentum: num(args, 'momentum', 0), backend });
    report(args, io, p, tr);
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
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    checkOutputs(args);
    checkPoints(args);
    const p = buildProblem(args, resolveModel(args));
    const tr = solveExact(p, { tEnd: num(args, 't', 30), name: str(args, 'name') });
    report(args, io, p, tr);
  },
};
