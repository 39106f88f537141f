/**
 * User-written model specs (JSON). The same ModelSpec as the built-ins, validated field by
 * field so a typo gives one line naming the field, not a crash three layers down.
 */
import { GradflowError } from './util/errors.ts';
import { CAPS, checkCap, checkIdentifier, hasControlCharacters, hasOwn, readInputFile } from './util/limits.ts';
import type { ModelDefinition, ModelSpec, ParamInit } from './spec.ts';
import { deriveModel } from './symbolic/derive.ts';

const KNOWN = new Set(['name', 'title', 'description', 'dims', 'params', 'inputs', 'output', 'neurons', 'template', 'loss', 'init', 'initConvention', '$schema']);

function isShape(v: unknown): v is (string | number)[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'string' || typeof d === 'number');
}

export function parseSpec(text: string, source: string): ModelDefinition {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GradflowError(`spec ${source}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GradflowError(`spec ${source}: must be a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new GradflowError(`spec ${source}: unknown field "${k}" (known: ${[...KNOWN].filter((x) => x !== '$schema').join(', ')})`);
  const need = (k: string): unknown => {
    if (!hasOwn(o, k)) throw new GradflowError(`spec ${source}: missing field "${k}"`);
    return o[k];
  };
  const name = need('name');
  if (typeof name !== 'string' || !/^[A-Za-z][\w-]*$/.test(name)) throw new GradflowError(`spec ${source}: "name" must be an identifier-like string`);
  const dims = (o.dims ?? {}) as Record<string, unknown>;
  if (typeof dims !== 'object' || dims === null || Array.isArray(dims)) throw new GradflowError(`spec ${source}: "dims" must be an object like {"d": 10}`);
  for (const [k, v] of Object.entries(dims)) {
    checkIdentifier(k, `spec ${source}: the dimension`);
    if (!Number.isInteger(v) || (v as number) < 1) throw new GradflowError(`spec ${source}: dims.${k} must be a positive integer`);
    checkCap(CAPS.dim, v as number, `spec ${source}: dims.${k}`);
  }
  const shapes = (k: string): Record<string, (string | number)[]> => {
    const v = need(k);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new GradflowError(`spec ${source}: "${k}" must be an object mapping names to shapes, e.g. {"w": ["d"]}`);
    for (const [n, s] of Object.entries(v)) {
      checkIdentifier(n, `spec ${source}: the ${k === 'params' ? 'parameter' : 'input'} name`);
      if (!isShape(s)) throw new GradflowError(`spec ${source}: ${k}.${n} must be a shape: [] or ["d"] or ["m", "d"]`);
      for (const d of s) if (typeof d === 'number') checkCap(CAPS.dim, d, `spec ${source}: ${k}.${n} has a dimension`);
    }
    return v as Record<string, (string | number)[]>;
  };
  const params = shapes('params');
  const inputs = shapes('inputs');
  const output = o.output ?? [];
  if (!isShape(output)) throw new GradflowError(`spec ${source}: "output" must be a shape ([] for a scalar output)`);
  const neurons = o.neurons ?? 1;
  if (!(typeof neurons === 'string' || (Number.isInteger(neurons) && (neurons as number) >= 1))) throw new GradflowError(`spec ${source}: "neurons" must be a positive integer or a dimension name`);
  if (typeof neurons === 'number') checkCap(CAPS.neurons, neurons, `spec ${source}: "neurons"`);
  if (typeof neurons === 'string' && !hasOwn(dims, neurons)) throw new GradflowError(`spec ${source}: "neurons" names the dimension '${neurons}', which is not in "dims"`);
  const template = need('template');
  if (typeof template !== 'string') throw new GradflowError(`spec ${source}: "template" must be an expression string such as "a * dot(w, x)"`);
  if (o.loss !== undefined && o.loss !== 'mse') throw new GradflowError(`spec ${source}: "loss" must be "mse" (the only loss so far)`);
  const init = o.init as Record<string, ParamInit> | undefined;
  if (init !== undefined) {
    if (typeof init !== 'object' || init === null) throw new GradflowError(`spec ${source}: "init" must map parameter names to {"dist": …, "scale": …}`);
    for (const [k, v] of Object.entries(init)) {
      if (!hasOwn(params, k)) throw new GradflowError(`spec ${source}: init.${k} names no parameter`);
      if (typeof v !== 'object' || v === null || !['normal', 'constant', 'zero', 'sphere'].includes((v as ParamInit).dist)) {
        throw new GradflowError(`spec ${source}: init.${k}.dist must be one of normal, sphere, constant, zero`);
      }
      if ((v as ParamInit).scale !== undefined && !Number.isFinite((v as ParamInit).scale)) throw new GradflowError(`spec ${source}: init.${k}.scale must be a number`);
    }
  }
  for (const k of ['title', 'description', 'initConvention'] as const) {
    const v = o[k];
    if (v !== undefined && typeof v !== 'string') throw new GradflowError(`spec ${source}: "${k}" must be a string`);
    // free text is printed in tables, CSV comments and terminals: one line, no escape sequences
    if (typeof v === 'string' && hasControlCharacters(v)) throw new GradflowError(`spec ${source}: "${k}" holds a newline or control character; keep it to one line of plain text`);
  }
  const spec: ModelSpec = {
    name,
    title: typeof o.title === 'string' ? o.title : undefined,
    description: typeof o.description === 'string' ? o.description : undefined,
    dims: dims as Record<string, number>,
    params,
    inputs,
    output,
    neurons: neurons as string | number,
    template,
    init,
    initConvention: typeof o.initConvention === 'string' ? o.initConvention : undefined,
  };
  deriveModel(spec); // surfaces template errors (syntax, undefined symbols, shapes) now, with the file named
  return { spec };
}

export function readSpec(path: string): ModelDefinition {
  return parseSpec(readInputFile(path, 'spec'), path);
}

