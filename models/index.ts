/** The built-in models, by name. Each lives in its own file. */
import type { ModelDefinition } from '../src/spec.ts';
import { singleNeuron } from './single-neuron.ts';
import { diagonal } from './diagonal.ts';
import { linear } from './linear.ts';
import { factorization, factorizationUV } from './factorization.ts';
import { modular } from './modular.ts';
import { relu } from './relu.ts';
import { reluDeep } from './relu-deep.ts';
import { softmax, softmaxMlp } from './softmax.ts';
import { tinyLm } from './tiny-lm.ts';

export const BUILTIN_MODELS: ModelDefinition[] = [singleNeuron, diagonal, linear, factorization, factorizationUV];
BUILTIN_MODELS.push(modular);
BUILTIN_MODELS.push(relu, reluDeep);
BUILTIN_MODELS.push(softmax, softmaxMlp);
BUILTIN_MODELS.push(tinyLm);

export function findModel(name: string): ModelDefinition | undefined {
  return BUILTIN_MODELS.find((m) => m.spec.name === name);
}
