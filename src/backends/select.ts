/** The --backend names of `gradflow descent`, resolved to a DescentBackend (tfjs ones load lazily). */
import { GradflowError } from '../util/errors.ts';
import { float64Backend, type DescentBackend } from '../solvers/descent.ts';
import { tfjsBackend, type TfjsPreference } from './tfjs.ts';

export const DESCENT_BACKEND_NAMES = ['float64', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'auto'] as const;
export type DescentBackendName = (typeof DESCENT_BACKEND_NAMES)[number];

const TFJS: Record<Exclude<DescentBackendName, 'float64'>, TfjsPreference> = {
  'tfjs-cpu': 'cpu',
  'tfjs-wasm': 'wasm',
  'tfjs-node': 'node',
  'tfjs-node-gpu': 'node-gpu',
  auto: 'auto',
};

function isName(s: string): s is DescentBackendName {
  return (DESCENT_BACKEND_NAMES as readonly string[]).includes(s);
}

/** 'auto' is the first TensorFlow.js engine that loads (node-gpu, node, wasm, cpu). */
export async function descentBackend(name: string): Promise<DescentBackend> {
  if (!isName(name)) throw new GradflowError(`unknown backend '${name}' (choose ${DESCENT_BACKEND_NAMES.join(', ')})`);
  if (name === 'float64') return float64Backend;
  return tfjsBackend({ preference: TFJS[name] });
}
