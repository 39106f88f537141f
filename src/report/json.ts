/**
 * The one envelope every `--json` output and every written .json file carries (schema in
 * schema/gradflow.schema.json): schema version, gradflow's version, the command line, the seed,
 * and conventions as fields a script can test instead of prose to parse. No wall-clock numbers:
 * the same inputs give the same bytes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOSS_CONVENTION, type Conventions } from '../problem.ts';
import { timeUnit, type JumpSchedule } from '../schedule.ts';

/** Bumped when a field changes name or meaning; new fields do not bump it. */
export const SCHEMA_VERSION = 1;

export type OutputKind = 'schedule' | 'comparison' | 'trajectory' | 'sweep' | 'sweep-grid' | 'derivation' | 'laws' | 'models' | 'utility' | 'demo' | 'truncation' | 'forces';

let cachedVersion: string | undefined;

/** gradflow's version from its package.json, found by walking up from this module (source or build). */
export function gradflowVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gradflow' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // no package.json here: keep walking up
    }
    dir = dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

export interface MachineConventions {
  /** Prose, as printed under tables. */
  loss: string;
  /** How the squared residuals are reduced over samples ('mean': 1/n) and the constant factor (½); null for a loss that is not the standard MSE. */
  lossReduction: 'mean' | null;
  lossFactor: number | null;
  /** Prose. */
  time: string;
  /** Unit of every `time` field: flow time of θ̇ = −∇L (descent step k at t = k·lr, momentum at k·lr/(1 − m)). */
  timeUnit: 'flow time';
  /** Unit of every `rescaledTime` field: rescaledTime = time / timeScale (null where the output has none). */
  rescaledTimeUnit: string | null;
  timeScale: number | null;
  kappa: number | null;
  alpha: number | null;
  init: string;
}

/** Conventions as fields. `kappa` null: not homogeneous, or the output has no rescaled time. */
export function machineConventions(c: Conventions, kappa: number | null, opts: { rescaled?: boolean; time?: string } = {}): MachineConventions {
  const rescaled = opts.rescaled ?? true;
  const alpha = Number.isFinite(c.alpha) ? c.alpha : null;
  const unit = rescaled && alpha !== null && alpha > 0 && alpha < 1 && kappa !== null && kappa >= 2 ? timeUnit(kappa, alpha) : null;
  const std = c.loss === LOSS_CONVENTION;
  return {
    loss: c.loss,
    lossReduction: std ? 'mean' : null,
    lossFactor: std ? 0.5 : null,
    time: opts.time ?? c.time,
    timeUnit: 'flow time',
    rescaledTimeUnit: unit ? unit.formula : null,
    timeScale: unit ? unit.scale : null,
    kappa,
    alpha,
    init: c.init,
  };
}

export interface EnvelopeContext {
  /** The command line after `gradflow` (command name first). */
  argv: string[];
  /** A sweep over several seeds gives their list. */
  seed: number | number[] | null;
}

/** `{ schemaVersion, gradflow, kind, command, argv, seed, ...body }`, envelope fields first. */
export function envelope(kind: OutputKind, ctx: EnvelopeContext, body: Record<string, unknown>): Record<string, unknown> {
  return { schemaVersion: SCHEMA_VERSION, gradflow: gradflowVersion(), kind, command: ctx.argv[0] ?? '', argv: ctx.argv, seed: ctx.seed, ...body };
}

/** JSON text of a result: two-space indent and a final newline, identical on stdout and on disk. */
export function jsonText(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

/** Solver internals too large to read in a result file (states, final θ: --export has trajectories), and wall-clock seconds, which would make the bytes differ run to run. */
const INTERNAL_EXTRAS = new Set(['finalTheta', 'accumulatedUtility', 'states', 'finalDormant', 'seconds', 'timings']);

/** JSON-safe copy: typed arrays become arrays, non-finite numbers null (JSON.stringify would write NaN as null anyway, Infinity too). */
export function plain(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>, (x) => plain(x));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && typeof x !== 'function') out[k] = plain(x);
    return out;
  }
  return v;
}

/** A jump schedule in the DESIGN.md shape, with machine-readable conventions and `sign` always present (null when the method has none). */
export function scheduleBody(s: JumpSchedule, kappa: number | null): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.extra ?? {})) if (!INTERNAL_EXTRAS.has(k)) extra[k] = v;
  return {
    model: s.model,
    method: s.method,
    conventions: machineConventions(s.conventions, kappa),
    initialLoss: plain(s.initialLoss),
    jumps: s.jumps.map((j) => ({ time: plain(j.time), rescaledTime: plain(j.rescaledTime), ...(j.step !== undefined ? { step: j.step } : {}), neuron: j.neuron, sign: j.sign ?? null, lossAfter: plain(j.lossAfter), deactivated: j.deactivated })),
    extra: plain(extra),
  };
}
