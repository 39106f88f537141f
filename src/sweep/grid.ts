/**
 * A sweep grid: one model (built-in or spec file), lists of alphas, seeds and dimension values,
 * the methods to run in every cell, and the options every cell shares. Cells are the product
 * dims × alpha × seed in a fixed order, so a cell's index names it on every machine; a shard
 * k/N takes the cells with index ≡ k − 1 (mod N) (round robin, so every shard gets a mix of
 * cheap and expensive alphas).
 *
 * The grid's canonical argv is the command that reproduces it (without --workers, --shard,
 * --resume, --out: they change where and how fast, never what), and its fingerprint — a hash of
 * the canonical grid, data and spec contents included — is stamped on every cell line so cells
 * from different grids cannot be merged by accident.
 */
import { createHash } from 'node:crypto';
import { GradflowError } from '../util/errors.ts';

export const SWEEP_METHODS = ['agf', 'pf', 'flow', 'gd'] as const;

/** Caps that keep a typo from launching an unbounded run. */
export const SWEEP_CAPS = { cells: 100_000, seeds: 10_000, listLength: 1000 } as const;

export interface SweepGrid {
  /** Built-in model name, or the spec's name when `spec` is set. */
  model: string;
  /** Spec file as given (path) and the sha256 of its contents; null for a built-in model. */
  spec: { path: string; sha256: string } | null;
  /** Data or moments file as given and the sha256 of its contents; null for generated data. */
  data: { kind: 'data' | 'moments'; path: string; sha256: string } | null;
  alphas: number[];
  seeds: number[];
  /** Dimension lists in the order given, e.g. [['d', [5, 10]]]. */
  dims: [string, number[]][];
  /** Model options (--opt), sorted by name. */
  options: [string, number][];
  methods: string[];
  run: { agf: 'auto' | 'generic' | 'closed'; lr: number | null; t: number | null };
}

export interface SweepCell {
  index: number;
  dims: Record<string, number>;
  alpha: number;
  seed: number;
}

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Every cell of the grid in canonical order: dims (first list outermost), then alpha, then seed. */
export function gridCells(g: SweepGrid): SweepCell[] {
  let combos: Record<string, number>[] = [{}];
  for (const [name, values] of g.dims) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  const cells: SweepCell[] = [];
  for (const dims of combos) for (const alpha of g.alphas) for (const seed of g.seeds) cells.push({ index: cells.length, dims, alpha, seed });
  return cells;
}

export function cellCount(g: SweepGrid): number {
  return g.dims.reduce((acc, [, v]) => acc * v.length, 1) * g.alphas.length * g.seeds.length;
}

export interface Shard { k: number; N: number }

/** `k/N` with 1 ≤ k ≤ N (SLURM array ids and GNU parallel's ::: 1 2 … N count from 1). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new GradflowError(`--shard must look like k/N, e.g. 2/8 (got '${text}')`);
  const k = Number(m[1]), N = Number(m[2]);
  if (!(N >= 1 && k >= 1 && k <= N)) throw new GradflowError(`--shard k/N needs 1 ≤ k ≤ N (got ${k}/${N})`);
  if (N > SWEEP_CAPS.cells) throw new GradflowError(`--shard: N = ${N} is past the cap of ${SWEEP_CAPS.cells}`);
  return { k, N };
}

export function inShard(index: number, shard: Shard | null): boolean {
  return shard === null || index % shard.N === shard.k - 1;
}

/** `0..9`, `0,1,2` or a mix (`0..4,10`); non-negative integers, no repeats. */
export function parseSeeds(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const r = /^(\d+)\s*\.\.\s*(\d+)$/.exec(part);
    if (r) {
      const a = Number(r[1]), b = Number(r[2]);
      if (b < a) throw new GradflowError(`--seeds: range '${part}' runs backwards`);
      if (b - a + 1 > SWEEP_CAPS.seeds) throw new GradflowError(`--seeds: range '${part}' has more than ${SWEEP_CAPS.seeds} seeds (the cap)`);
      for (let s = a; s <= b; s++) out.push(s);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else throw new GradflowError(`--seeds needs non-negative integers or ranges like 0..9 (got '${part}')`);
  }
  if (out.length === 0) throw new GradflowError('--seeds needs at least one seed');
  if (out.length > SWEEP_CAPS.seeds) throw new GradflowError(`--seeds: ${out.length} seeds is past the cap of ${SWEEP_CAPS.seeds}`);
  if (new Set(out).size !== out.length) throw new GradflowError('--seeds: a seed is listed twice');
  for (const s of out) if (!Number.isSafeInteger(s)) throw new GradflowError(`--seeds: ${s} is not a safe integer`);
  return out;
}

export function checkAlphas(alphas: number[]): number[] {
  if (alphas.length === 0) throw new GradflowError('--alphas needs at least one value');
  if (alphas.length > SWEEP_CAPS.listLength) throw new GradflowError(`--alphas: ${alphas.length} values is past the cap of ${SWEEP_CAPS.listLength}`);
  for (const a of alphas) if (!(Number.isFinite(a) && a > 0 && a < 1)) throw new GradflowError(`--alphas: every alpha must lie in (0, 1) (got ${a})`);
  if (new Set(alphas).size !== alphas.length) throw new GradflowError('--alphas: a value is listed twice');
  return alphas;
}

/** `--dim d=5,10` (repeatable, or `--dim d=5,10 --dim c=3`): each dimension with its list of values. */
export function parseDimLists(items: string[], modelDims: Record<string, number>, model: string): [string, number[]][] {
  const out: [string, number[]][] = [];
  for (const item of items) {
    const m = /^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$/.exec(item);
    if (!m) throw new GradflowError(`--dim must look like name=v1,v2,… (got '${item}')`);
    const [, name, list] = m;
    if (!Object.prototype.hasOwnProperty.call(modelDims, name)) throw new GradflowError(`--dim ${name}: model '${model}' has no dimension '${name}' (it has ${Object.keys(modelDims).join(', ') || 'none'})`);
    if (out.some(([n]) => n === name)) throw new GradflowError(`--dim ${name} is given twice (list its values once: --dim ${name}=a,b,c)`);
    const values = list.split(',').map((s) => s.trim()).map((s) => {
      const v = Number(s);
      if (s === '' || !Number.isInteger(v) || v < 1) throw new GradflowError(`--dim ${name}: values must be positive integers (got '${s}')`);
      return v;
    });
    if (values.length > SWEEP_CAPS.listLength) throw new GradflowError(`--dim ${name}: ${values.length} values is past the cap of ${SWEEP_CAPS.listLength}`);
    if (new Set(values).size !== values.length) throw new GradflowError(`--dim ${name}: a value is listed twice`);
    out.push([name, values]);
  }
  return out;
}

export function checkMethods(methods: string[]): string[] {
  if (methods.length === 0) throw new GradflowError(`--methods needs at least one of ${SWEEP_METHODS.join(', ')}`);
  for (const m of methods) if (!(SWEEP_METHODS as readonly string[]).includes(m)) throw new GradflowError(`--methods: unknown method '${m}' (use ${SWEEP_METHODS.join(', ')})`);
  if (new Set(methods).size !== methods.length) throw new GradflowError('--methods: a method is listed twice');
  if (!methods.includes('agf')) throw new GradflowError('--methods must include agf: the sweep table is built around the AGF prediction');
  return methods;
}

/** The command line that reproduces the grid's results (paths as given). */
export function canonicalArgv(g: SweepGrid): string[] {
  const argv = ['sweep'];
  if (g.spec) argv.push('--spec', g.spec.path);
  else argv.push(g.model);
  if (g.data) argv.push(`--${g.data.kind}`, g.data.path);
  argv.push('--alphas', g.alphas.map(String).join(','), '--seeds', g.seeds.map(String).join(','));
  for (const [name, values] of g.dims) argv.push('--dim', `${name}=${values.join(',')}`);
  for (const [name, v] of g.options) argv.push('--opt', `${name}=${v}`);
  argv.push('--methods', g.methods.join(','), '--agf', g.run.agf);
  if (g.run.lr !== null) argv.push('--lr', String(g.run.lr));
  if (g.run.t !== null) argv.push('--t', String(g.run.t));
  return argv;
}

/** The grid as canonical JSON (fixed key order); equal grids give equal text. */
export function gridJson(g: SweepGrid): string {
  const canonical = {
    model: g.model,
    spec: g.spec ? { path: g.spec.path, sha256: g.spec.sha256 } : null,
    data: g.data ? { kind: g.data.kind, path: g.data.path, sha256: g.data.sha256 } : null,
    alphas: g.alphas,
    seeds: g.seeds,
    dims: g.dims.map(([n, v]) => [n, v]),
    options: g.options.map(([n, v]) => [n, v]),
    methods: g.methods,
    run: { agf: g.run.agf, lr: g.run.lr, t: g.run.t },
  };
  return JSON.stringify(canonical);
}

export function gridFingerprint(g: SweepGrid): string {
  return sha256(gridJson(g)).slice(0, 16);
}

/** Parses and validates a grid read back from grid.json (merge, resume). */
export function parseGrid(text: string, source: string): SweepGrid {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GradflowError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const o = raw as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new GradflowError(`${source}: not a sweep grid (${what})`);
  };
  if (typeof o !== 'object' || o === null) bad('not an object');
  const grid = (o.grid ?? o) as Record<string, unknown>;
  if (typeof grid.model !== 'string') bad('no model');
  const nums = (v: unknown, what: string): number[] => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : bad(what));
  const pairs = (v: unknown, what: string): unknown[][] => (Array.isArray(v) && v.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string') ? (v as unknown[][]) : bad(what));
  const run = (grid.run ?? bad('no run options')) as Record<string, unknown>;
  const g: SweepGrid = {
    model: grid.model as string,
    spec: (grid.spec as SweepGrid['spec']) ?? null,
    data: (grid.data as SweepGrid['data']) ?? null,
    alphas: nums(grid.alphas, 'alphas'),
    seeds: nums(grid.seeds, 'seeds'),
    dims: pairs(grid.dims, 'dims').map(([n, v]) => [n as string, nums(v, 'dims')]),
    options: pairs(grid.options, 'options').map(([n, v]) => [n as string, typeof v === 'number' ? v : bad('options')]),
    methods: Array.isArray(grid.methods) && grid.methods.every((m) => typeof m === 'string') ? (grid.methods as string[]) : bad('methods'),
    run: { agf: run.agf as SweepGrid['run']['agf'], lr: (run.lr as number | null) ?? null, t: (run.t as number | null) ?? null },
  };
  return g;
}
