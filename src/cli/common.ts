/** What the commands share: resolving a model, building a Problem from options, emitting results. */
import type { LossChoice } from '../symbolic/losses.ts';
import { GradflowError } from '../util/errors.ts';
import type { OptionDecl, ParsedArgs, ParsedValue } from './args.ts';
import type { ModelDefinition } from '../spec.ts';
import { BUILTIN_MODELS, findModel } from '../../models/index.ts';
import { readSpec } from '../specfile.ts';
import { checkModelOptions } from '../model-options.ts';
import { readDataset } from '../data.ts';
import { momentsDataset } from '../moments.ts';
import { createProblem, type Problem } from '../problem.ts';
import { writeReport, type ReportContent } from '../report/files.ts';
import { svgToPdf, svgToPng } from '../report/raster.ts';
import { FIGURE_LAYOUTS, type FigureLayout } from '../report/svg.ts';
import type { Layout } from '../compile/layout.ts';
import { hasOwn, parseDecimal, printable, readInputFile } from '../util/limits.ts';
import { envelope, gradflowVersion, jsonText, type OutputKind } from '../report/json.ts';
import { renderHtml } from '../report/html.ts';
import type { Table } from '../report/table.ts';
import { jumpProgressLine, type JumpReporter } from '../util/progress.ts';
import { timeUnit } from '../schedule.ts';
import { parseSeeds } from '../sweep/grid.ts';

export interface CommandIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether progress may be drawn (stderr is a TTY or --progress). */
  progress: boolean;
}

export interface Command {
  name: string;
  /** Other names the command answers to (e.g. `force` for `forces`). */
  aliases?: string[];
  summary: string;
  usage: string;
  options: Record<string, OptionDecl>;
  /** How many positional arguments (the model name) it takes; default 1. */
  positionals?: number;
  /** Per-model forms of the command (compare): `help cmd <model>` shows only what applies, and run rejects the rest. */
  variants?: readonly CommandVariant[];
  run(args: ParsedArgs, io: CommandIO): void | Promise<void>;
}

/** One model family's form of a command: its usage and the declared options that do nothing for it. */
export interface CommandVariant {
  /** A short name (labels in the command's full help), e.g. 'linear models'. */
  label: string;
  /** The models, in words. */
  models: string;
  /** Declared options whose help or default differ for these models. */
  options?: Record<string, Partial<OptionDecl>>;
  matches: (def: ModelDefinition) => boolean;
  usage: string;
  /** Options that do not apply to these models: left out of their help, rejected when given. */
  omit: readonly string[];
  /** Options that apply to these models only together with another one (lr → methods): labelled in help, rejected alone. */
  requires?: Record<string, string>;
  /** What the command does for them instead (the rejection's reason). */
  why: string;
}

export function commandVariant(cmd: Command, def: ModelDefinition): CommandVariant | undefined {
  return cmd.variants?.find((v) => v.matches(def));
}

/** The options of the model's variant that it does not take are an error (one list for help and run). */
export function rejectForModel(cmd: Command, args: ParsedArgs, def: ModelDefinition): void {
  const v = commandVariant(cmd, def);
  if (!v) return;
  const where = `${cmd.name} ${def.spec.name} (${v.why}; see gradflow help ${cmd.name} ${def.spec.name})`;
  rejectOptions(args, v.omit, where);
  for (const [k, needs] of Object.entries(v.requires ?? {})) if (args.values.has(k) && !args.values.has(needs)) throw new GradflowError(`--${k} does not apply to ${where.replace(' (', ` without --${needs} (`)}`);
}

export const COMMON_OPTIONS: Record<string, OptionDecl> = {
  json: { kind: 'flag', help: 'print machine-readable JSON on stdout' },
  out: { kind: 'string', metavar: 'DIR', help: 'write report files to this directory: tables (.md, .csv, .tex), JSON, figures (.svg, .png, .pdf) and report.html' },
  debug: { kind: 'flag', help: 'show stack traces on errors' },
  progress: { kind: 'flag', help: 'show progress on stderr even when it is not a terminal' },
  help: { kind: 'flag', help: 'show this help' },
};

export const MODEL_OPTIONS: Record<string, OptionDecl> = {
  spec: { kind: 'string', metavar: 'FILE', help: 'a model spec file (JSON) instead of a built-in model' },
  data: { kind: 'string', metavar: 'FILE', help: 'dataset file: JSON {"X": [[…]], "y": […]} or CSV (last column = y)' },
  moments: { kind: 'string', metavar: 'FILE', help: 'population moments JSON {"Sxx": [[…]], "Syx": [[…]], "Syy": [[…]]} instead of --data (models linear in x)' },
  dim: { kind: 'string', metavar: 'NAME=N', repeat: true, help: 'set a dimension, e.g. --dim d=20 (repeatable)' },
  alpha: { kind: 'number', help: 'initial scale alpha > 0', default: '1e-3' },
  seed: { kind: 'int', help: 'random seed for data and initialisation', default: '0' },
  opt: { kind: 'string', metavar: 'NAME=N', repeat: true, help: 'model option, e.g. --opt delta=-2 (see `gradflow list`)' },
  init: { kind: 'string', metavar: 'JSON|FILE', help: 'explicit initial state θ(0), inline JSON or a JSON file: a flat array or {"param": [values, neuron-major]}, e.g. {"a": [0.1], "w": [0.2, 0, 0]}' },
};

export function num(args: ParsedArgs, key: string, fallback: number): number {
  const v = args.values.get(key);
  return v === undefined ? fallback : (v as number);
}

export function str(args: ParsedArgs, key: string): string | undefined {
  return args.values.get(key) as string | undefined;
}

export function flag(args: ParsedArgs, key: string): boolean {
  return args.values.get(key) === true;
}

/** Options a command declares but that do nothing on this path are an error, not silently ignored. */
export function rejectOptions(args: ParsedArgs, names: readonly string[], where: string): void {
  for (const n of names) if (args.values.has(n)) throw new GradflowError(`--${n} does not apply to ${where}`);
}

export function resolveModel(args: ParsedArgs): ModelDefinition {
  const specPath = str(args, 'spec');
  const name = args.positionals[0];
  if (specPath) {
    if (name) throw new GradflowError(`give either a model name ('${name}') or --spec FILE, not both`);
    return readSpec(specPath);
  }
  if (!name) throw new GradflowError(`name a model (${BUILTIN_MODELS.map((m) => m.spec.name).join(', ')}) or give --spec FILE`);
  const m = findModel(name);
  if (!m) throw new GradflowError(`unknown model '${name}' (built-in: ${BUILTIN_MODELS.map((x) => x.spec.name).join(', ')}; or give --spec FILE)`);
  return m;
}

/** name=number pairs into a null-prototype record (so 'constructor' or 'toString' is just an unknown name). */
function keyValues(list: ParsedValue | undefined, what: string): Record<string, number> {
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const item of (list as string[] | undefined) ?? []) {
    for (const part of item.split(',')) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(part);
      const v = m ? parseDecimal(m[2]) : null;
      if (!m || v === null) throw new GradflowError(`${what} must look like name=number with a decimal number (got '${printable(part)}')`);
      if (hasOwn(out, m[1])) throw new GradflowError(`${what} ${m[1]} is given twice`);
      out[m[1]] = v;
    }
  }
  return out;
}

/** The --opt values, checked against the model's declared options. */
export function modelOptions(args: ParsedArgs, def: ModelDefinition): Record<string, number> {
  const options = keyValues(args.values.get('opt'), '--opt');
  checkModelOptions(def, options);
  return options;
}

export function buildProblem(args: ParsedArgs, def: ModelDefinition, defaults: { alpha?: number; loss?: LossChoice } = {}): Problem {
  const loss = defaults.loss;
  const dims = keyValues(args.values.get('dim'), '--dim');
  for (const k of Object.keys(dims)) if (!hasOwn(def.spec.dims, k)) throw new GradflowError(`--dim ${k}: model '${def.spec.name}' has no dimension '${k}' (it has ${Object.keys(def.spec.dims).join(', ') || 'none'})`);
  const options = modelOptions(args, def);
  const dataPath = str(args, 'data');
  const momentsPath = str(args, 'moments');
  if (dataPath && momentsPath) throw new GradflowError('give either --data or --moments, not both');
  const data = dataPath ? readDataset(dataPath) : momentsPath ? momentsDataset(def, momentsPath) : undefined;
  const alpha = num(args, 'alpha', defaults.alpha ?? 1e-3);
  const seed = num(args, 'seed', 0);
  const initPath = str(args, 'init');
  if (!initPath) return createProblem(def, { data, dims, alpha, seed, options, loss });
  // build once for the layout, then again with the explicit start (validation stays in createProblem)
  const probe = createProblem(def, { data, dims, alpha, seed, options, loss });
  return createProblem(def, { data: probe.data, dims, alpha, seed, options, loss, theta0: readInitialState(initPath, probe.layout) });
}

/** --init takes inline JSON (what --help shows) or the name of a JSON file. */
export function readInitialState(value: string, layout: Layout): Float64Array {
  const inline = /^\s*[[{]/.test(value);
  const text = inline ? value : readInputFile(value, '--init');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GradflowError(`--init: cannot read ${inline ? 'the inline value' : printable(value)} as JSON (${(err as Error).message})`);
  }
  const total = layout.H * layout.P;
  const check = (v: unknown, what: string, len: number): number[] => {
    if (!Array.isArray(v) || v.length !== len || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new GradflowError(`--init: ${what} must be an array of ${len} finite numbers`);
    }
    return v as number[];
  };
  if (Array.isArray(raw)) return Float64Array.from(check(raw, 'the state', total));
  if (typeof raw !== 'object' || raw === null) throw new GradflowError('--init: expected a JSON array or an object of parameter arrays');
  const th = new Float64Array(total);
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!layout.params.some((s) => s.name === k)) throw new GradflowError(`--init: '${k}' is not a parameter (parameters: ${layout.params.map((s) => s.name).join(', ')})`);
  for (const slot of layout.params) {
    if (!hasOwn(obj, slot.name)) throw new GradflowError(`--init: missing parameter '${slot.name}'`);
    const vals = check(obj[slot.name], `'${slot.name}'`, layout.H * slot.size);
    for (let i = 0; i < layout.H; i++) for (let k = 0; k < slot.size; k++) th[i * layout.P + slot.offset + k] = vals[i * slot.size + k];
  }
  return th;
}

/**
 * Write report files atomically when --out is given, with report.html (every figure among the
 * files inlined, every table in `tables`); tell the user where they went.
 */
export function emitFiles(args: ParsedArgs, io: CommandIO, files: Record<string, ReportContent | (() => ReportContent)>, tables: Table[] = []): void {
  const dir = str(args, 'out');
  if (!dir) return;
  const svgs = Object.keys(files).filter((name) => name.endsWith('.svg'));
  const all = { ...files };
  if (svgs.length || tables.length) {
    all['report.html'] = () => renderHtml({
      title: `gradflow ${args.argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')}`,
      argv: args.argv,
      version: gradflowVersion(),
      figures: svgs.map((name) => {
        const v = files[name];
        const svg = typeof v === 'function' ? v() : v;
        return { name, svg: typeof svg === 'string' ? svg : Buffer.from(svg).toString('utf8') };
      }),
      tables,
    });
  }
  const paths = writeReport(dir, all);
  if (!flag(args, 'json')) io.out(`wrote ${paths.join(', ')}`);
}

export function conventionLines(p: Problem, time?: string): string[] {
  return [
    `loss: ${p.conventions.loss} (mean over samples)`,
    `time: ${time ?? p.conventions.time}`,
    `init: ${p.conventions.init}; alpha = ${p.alpha}`,
    `data: ${p.data.source}`,
  ];
}

/** A result with the JSON envelope (schema/gradflow.schema.json): schema version, gradflow version, argv, seed. */
/**
 * The JSON envelope of a result. With the problem it ran on, the body also says its sizes and data
 * (dims, data: the description the text output's `data:` line prints), where the body has none.
 */
export function resultJson(args: ParsedArgs, kind: OutputKind, seed: number | number[] | null, body: Record<string, unknown>, p?: Pick<Problem, 'layout' | 'data'>): Record<string, unknown> {
  const setting = p ? { ...(body.dims === undefined ? { dims: p.layout.dims } : {}), ...(body.data === undefined ? { data: p.data.source } : {}) } : {};
  return envelope(kind, { argv: args.argv, seed }, { ...body, ...setting });
}

/** Print a result as JSON when --json is given. */
export function printJson(args: ParsedArgs, io: CommandIO, json: unknown): boolean {
  if (!flag(args, 'json')) return false;
  io.out(jsonText(json).trimEnd());
  return true;
}

/** A figure as NAME.svg, NAME.png and NAME.pdf (rendered once, when the files are written). */
export function figureFiles(name: string, svg: string | (() => string)): Record<string, () => ReportContent> {
  let cached: string | undefined;
  const get = (): string => (cached ??= typeof svg === 'function' ? svg() : svg);
  return { [`${name}.svg`]: get, [`${name}.png`]: () => svgToPng(get()), [`${name}.pdf`]: () => svgToPdf(get()) };
}

/** For the commands that draw figures: the size preset (src/report/svg.ts FIGURE_LAYOUTS). */
export const FIGURE_OPTIONS: Record<string, OptionDecl> = {
  'figure-size': { kind: 'string', metavar: 'PRESET', help: 'figures under --out: screen (640×400-px panels), column (3.5 in wide, one panel a row) or page (7 in, two a row); print sizes set 12-px text at 7.2 pt, PNG at 300 dpi', default: 'screen' },
};

/** The --figure-size preset, checked before anything runs (null: the command has none or it is not given). */
export function figureLayout(args: ParsedArgs): FigureLayout | null {
  const v = str(args, 'figure-size');
  if (v === undefined) return null;
  if (!hasOwn(FIGURE_LAYOUTS, v)) throw new GradflowError(`--figure-size must be ${Object.keys(FIGURE_LAYOUTS).join(', ')} (got '${printable(v)}')`);
  if (str(args, 'out') === undefined) throw new GradflowError('--figure-size sizes the figures written by --out DIR: give --out too');
  return FIGURE_LAYOUTS[v];
}

export const TABLE_OPTIONS: Record<string, OptionDecl> = {
  columns: { kind: 'string', help: 'table columns: narrow (jump, neuron, times per method, relative errors) or full (adds flow times, loss levels, neurons per method)', default: 'narrow' },
};

export function tableColumns(args: ParsedArgs): 'narrow' | 'full' {
  const c = str(args, 'columns') ?? 'narrow';
  if (c !== 'narrow' && c !== 'full') throw new GradflowError(`--columns must be narrow or full (got '${c}')`);
  return c;
}

/** A jump-by-jump progress line for an AGF run (stderr, when progress is drawn), in the problem's rescaled time. */
export function agfProgress(io: CommandIO, label: string, p: Problem): JumpReporter | undefined {
  return io.progress ? jumpProgressLine(io.err, label, timeUnit(p.derived.kappa, p.alpha).label) : undefined;
}

/** The --seeds option, one meaning in every command: a list and/or ranges of seeds (0..9, 0,3,7; 5 is the seed 5). */
export const SEEDS_OPTION: OptionDecl = { kind: 'string', metavar: 'LIST', help: 'seeds: a list and/or ranges, e.g. 0..9 or 0,3,7 (a bare 5 is the one seed 5)' };

/** --seeds as a list (at most `cap`), or by default `count` seeds from --seed on; --seed and --seeds together are an error. */
export function seedList(args: ParsedArgs, count: number, cap: number): number[] {
  const text = str(args, 'seeds');
  if (text === undefined) {
    const s0 = num(args, 'seed', 0);
    return Array.from({ length: count }, (_, k) => s0 + k);
  }
  if (args.values.has('seed')) throw new GradflowError('give --seeds (every seed, e.g. 0..4) or --seed (the first of the default seeds), not both');
  const seeds = parseSeeds(text);
  if (seeds.length > cap) throw new GradflowError(`--seeds: ${seeds.length} seeds is past the cap of ${cap}`);
  return seeds;
}

/** The envelope's seed for a run over several seeds: the one seed, or their list. */
export function envelopeSeed(seeds: readonly number[]): number | number[] {
  return seeds.length === 1 ? seeds[0] : [...seeds];
}

/** Seeds for a note: `0 … 4` when consecutive, else the list. */
export function seedText(seeds: readonly number[]): string {
  const consecutive = seeds.every((s, k) => k === 0 || s === seeds[k - 1] + 1);
  return consecutive && seeds.length > 2 ? `${seeds[0]} … ${seeds[seeds.length - 1]}` : seeds.join(', ');
}
