/**
 * TensorFlow.js as an optional engine for gradient descent on large models. Every tfjs package
 * is loaded by dynamic import so gradflow installs, type-checks and runs without any of them;
 * a missing one is a one-line GradflowError that says how to install it. The specifier is a
 * variable, so tsc needs no declarations for packages absent at type-check time (tfjs-node,
 * tfjs-node-gpu): the module comes back as `unknown` and is narrowed to tfjs-core's API, whose
 * types are only imported as types (erased at run time).
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { GradflowError } from '../util/errors.ts';
import type { DescentBackend } from '../solvers/descent.ts';
import { tfjsDescentBackend } from './tfjs-descent.ts';

export type Tf = typeof tfc;
export type TfjsKind = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export type TfjsPreference = TfjsKind | 'auto';

export interface LoadedTfjs {
  tf: Tf;
  kind: TfjsKind;
  /** The tfjs backend name ('tensorflow', 'wasm' or 'cpu') to select before running. */
  backend: string;
}

/** 'auto' tries these in order: GPU, native TensorFlow, then the pure-JS engines. */
export const TFJS_ORDER: readonly TfjsKind[] = ['node-gpu', 'node', 'wasm', 'cpu'];

const INSTALL: Record<TfjsKind, { pkgs: string[]; note: string }> = {
  'node-gpu': { pkgs: ['@tensorflow/tfjs-node-gpu'], note: ' (needs CUDA)' },
  node: { pkgs: ['@tensorflow/tfjs-node'], note: '' },
  wasm: { pkgs: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'], note: '' },
  cpu: { pkgs: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'], note: '' },
};

/** A package that is absent (as opposed to present but failing to load). */
class MissingPackage extends Error {
  constructor(readonly pkg: string, readonly kind: TfjsKind) {
    super(`${pkg} is not installed: npm install ${INSTALL[kind].pkgs.join(' ')}${INSTALL[kind].note} — or use --backend float64`);
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').find((l) => l.trim() !== '')?.trim() ?? msg;
}

/**
 * import() of an optional package. "Not found" only counts when it is this package that is
 * missing: a present package whose own dependency or native library is missing must say so.
 */
async function importOptional(pkg: string, kind: TfjsKind): Promise<unknown> {
  try {
    // A variable specifier keeps bundlers and vitest from resolving absent packages at transform time
    // (vite still reports an absent optional peer as "Could not resolve …").
    return await import(/* @vite-ignore */ pkg);
  } catch (err) {
    const code = errorCode(err);
    const msg = err instanceof Error ? err.message : String(err);
    const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)|Failed to (load|resolve)|Could not resolve/.test(msg);
    if (notFound && (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`))) throw new MissingPackage(pkg, kind);
    throw new GradflowError(`${pkg} is installed but failed to load: ${firstLine(err)} — or use --backend float64`);
  }
}

/**
 * The tf namespace of a tfjs package seen through import() (CommonJS: module.exports is
 * `default`). Every tfjs entry point (core, tfjs-node, tfjs-node-gpu) exports the core API,
 * so tfjs-core's types describe it; the check guards against an unrelated module.
 */
function namespaceOf(mod: unknown, pkg: string): Tf {
  const m = mod as Partial<Tf> & { default?: Partial<Tf> };
  const ns = m.default && typeof m.default.tensor === 'function' ? m.default : m;
  if (typeof ns.tensor !== 'function' || typeof ns.setBackend !== 'function') throw new GradflowError(`${pkg} does not export the TensorFlow.js API — or use --backend float64`);
  return ns as Tf;
}

async function select(tf: Tf, backend: string, pkg: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
  } catch (err) {
    throw new GradflowError(`${pkg}: the '${backend}' backend failed to start: ${firstLine(err)} — or use --backend float64`);
  }
  if (!ok || tf.getBackend() !== backend) throw new GradflowError(`${pkg}: the '${backend}' backend failed to start — or use --backend float64`);
}

async function loadKind(kind: TfjsKind): Promise<LoadedTfjs> {
  if (kind === 'node-gpu' || kind === 'node') {
    const pkg = INSTALL[kind].pkgs[0];
    // tfjs-node brings its own tfjs-core; use the namespace it exports so the native backend
    // it registered and the ops we call live in the same engine.
    const tf = namespaceOf(await importOptional(pkg, kind), pkg);
    tf.enableProdMode();
    await select(tf, 'tensorflow', pkg);
    return { tf, kind, backend: 'tensorflow' };
  }
  const tf = namespaceOf(await importOptional('@tensorflow/tfjs-core', kind), '@tensorflow/tfjs-core');
  const pkg = INSTALL[kind].pkgs[1];
  await importOptional(pkg, kind);
  // Production mode skips per-op debug checks and silences the "install tfjs-node" banner.
  tf.enableProdMode();
  await select(tf, kind, pkg);
  return { tf, kind, backend: kind };
}

const loaded = new Map<TfjsKind, Promise<LoadedTfjs>>();

function loadOnce(kind: TfjsKind): Promise<LoadedTfjs> {
  let p = loaded.get(kind);
  if (!p) {
    p = loadKind(kind);
    loaded.set(kind, p);
    // a failed load may succeed later (e.g. after an install in a long-lived process)
    p.catch(() => loaded.delete(kind));
  }
  return p;
}

/**
 * Load TensorFlow.js with the requested engine; 'auto' takes the first of node-gpu, node, wasm,
 * cpu that loads. Throws a one-line GradflowError when the requested engine is not installed.
 */
export async function loadTfjs(preference: TfjsPreference): Promise<LoadedTfjs> {
  if (preference !== 'auto' && !TFJS_ORDER.includes(preference)) {
    throw new GradflowError(`unknown TensorFlow.js engine '${String(preference)}' (choose ${TFJS_ORDER.join(', ')} or auto)`);
  }
  const kinds = preference === 'auto' ? TFJS_ORDER : [preference];
  const failures: string[] = [];
  for (const kind of kinds) {
    try {
      return await loadOnce(kind);
    } catch (err) {
      if (preference !== 'auto') throw err instanceof MissingPackage ? new GradflowError(err.message) : err;
      failures.push(err instanceof MissingPackage ? `${err.pkg} not installed` : firstLine(err));
    }
  }
  throw new GradflowError(`no TensorFlow.js engine could be loaded (${failures.join('; ')}): npm install @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu — or use --backend float64`);
}

export interface TfjsBackendOptions {
  /** Which engine to load (default 'auto'). */
  preference?: TfjsPreference;
  /** TensorFlow.js computes in float32 only (it has no float64 dtype on any engine). */
  dtype?: 'float32';
}

/** A DescentBackend that runs the batched model through TensorFlow.js. */
export async function tfjsBackend(opts: TfjsBackendOptions = {}): Promise<DescentBackend> {
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32') throw new GradflowError(`TensorFlow.js has no ${String(dtype)} tensors (float32 only) — use --backend float64 for double precision`);
  const lib = await loadTfjs(opts.preference ?? 'auto');
  return tfjsDescentBackend(lib, dtype);
}
