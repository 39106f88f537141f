/** The built-in models, by name. Each lives in its own file. */
import type { ModelDefinition } from '../src/spec.ts';
import { singleNeuron } from './single-neuron.ts';
import { diagonal } from './diagonal.ts';

export const BUILTIN_MODELS: ModelDefinition[] = [singleNeuron, diagonal];

export function findModel(name: string): ModelDefinition | undefined {
  return BUILTIN_MODELS.find((m) => m.spec.name === name);
}
