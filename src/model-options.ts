/**
 * Model options (--opt name=value) checked against the domain each model declares, so a value
 * outside it (sparsity = -1, whitened = 2, a fractional sample count) is one line naming the
 * valid values instead of a run that silently falls back to a default or rounds.
 */
import { GradflowError } from './util/errors.ts';
import { hasOwn } from './util/limits.ts';
import type { ModelDefinition, OptionDomain } from './spec.ts';

/** The domain in words, e.g. "0 or 1", "one of 0, 1, 2" or "an integer ≥ 1". */
export function describeDomain(d: OptionDomain): string {
  if ('values' in d) return d.values.length <= 2 ? d.values.join(' or ') : `one of ${d.values.join(', ')}`;
  const kind = d.integer ? 'an integer' : 'a number';
  const parts: string[] = [];
  if (d.above !== undefined) parts.push(`> ${d.above}`);
  if (d.min !== undefined) parts.push(`≥ ${d.min}`);
  if (d.max !== undefined) parts.push(`≤ ${d.max}`);
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

function inDomain(v: number, d: OptionDomain): boolean {
  if ('values' in d) return d.values.includes(v);
  if (d.integer && !Number.isInteger(v)) return false;
  if (d.above !== undefined && !(v > d.above)) return false;
  if (d.min !== undefined && !(v >= d.min)) return false;
  if (d.max !== undefined && !(v <= d.max)) return false;
  return true;
}

/** Every option must be one the model declares, finite, and inside its declared domain. */
export function checkModelOptions(def: ModelDefinition, options: Readonly<Record<string, number>>): void {
  const declared = def.options ?? {};
  for (const [k, v] of Object.entries(options)) {
    if (!hasOwn(declared, k)) {
      const names = Object.keys(declared);
      throw new GradflowError(`--opt ${k}: model '${def.spec.name}' has no option '${k}'${names.length ? ` (it has ${names.join(', ')})` : ' (it takes none)'}`);
    }
    if (!Number.isFinite(v)) throw new GradflowError(`--opt ${k}=${v}: needs a finite number`);
    const dom = def.optionDomains && hasOwn(def.optionDomains, k) ? def.optionDomains[k] : undefined;
    if (dom && !inDomain(v, dom)) throw new GradflowError(`--opt ${k}=${v}: ${k} must be ${describeDomain(dom)} (model '${def.spec.name}')`);
  }
}
