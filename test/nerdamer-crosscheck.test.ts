/**
 * Issue 4: an independent computer-algebra cross-check of the discovered laws. nerdamer (a
 * different CAS, with its own differentiation and expansion) verifies on small instances that
 * Σ_k ∂Q/∂θ_k · ∂f/∂θ_k expands to 0 for every law Q and output component f — the model-level
 * statement that dQ/dt = 0 for every dataset — and that a non-law (a² + ‖w‖²) does not. A
 * translation law (softmax models) moves every output alike instead: ⟨∇Q, ∇(f_k − f_0)⟩ = 0, ≠ ⟨∇Q, ∇f_0⟩.
 */
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { BUILTIN_MODELS } from '../models/index.ts';
import { discoverLaws, lawInstances } from '../src/laws/discover.ts';
import { scalariseModel } from '../src/symbolic/scalarise.ts';
import { derived } from '../src/problem.ts';
import { isPolynomial } from '../src/symbolic/degree.ts';

interface NerdamerExpr { toString(): string }
type Nerdamer = ((expr: string) => NerdamerExpr) & { diff(expr: string, v: string): NerdamerExpr };
const nerdamer = createRequire(import.meta.url)('nerdamer/all.js') as Nerdamer;

const SUPER: Record<string, string> = { '⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9' };
const names = { text: (id: number) => `v${id}`, latex: (id: number) => `v${id}` };

/** gradflow's polynomial text (v0² − v1·v2) → nerdamer syntax (v0^2 - v1*v2). */
function toNerdamer(s: string): string {
  return s.replace(/[⁰¹²³⁴⁵⁶⁷⁸⁹]+/g, (m) => `^${[...m].map((c) => SUPER[c]).join('')}`).replaceAll('·', '*').replaceAll('−', '-');
}

function flowOfQ(q: string, f: string, thetaVars: string[]): string {
  const terms = thetaVars.map((v) => `(${nerdamer.diff(q, v).toString()})*(${nerdamer.diff(f, v).toString()})`);
  return nerdamer(`expand(${terms.join('+')})`).toString();
}

describe('nerdamer cross-check of the discovered laws', () => {
  for (const def of BUILTIN_MODELS) {
    const m = derived(def);
    if (!isPolynomial(m.template)) continue;
    it(`${def.spec.name}: every law instance is conserved for every output (nerdamer expands ⟨∇Q, ∇f⟩ to 0)`, () => {
      const small = Object.fromEntries(Object.keys(def.spec.dims).map((k) => [k, 2]));
      const sm = scalariseModel(m, small);
      const disc = discoverLaws(def);
      const laws = lawInstances(disc, m, sm.layout);
      const thetaVars = Array.from({ length: sm.D }, (_, k) => `v${k}`);
      for (const law of laws) {
        const q = toNerdamer(law.poly.toText(names));
        // a translation law shifts every logit alike (softmax losses have 1ᵀG = 0): ⟨∇Q, ∇(f_k − f_0)⟩ = 0
        const translation = disc.laws.find((l) => l.family.id === law.family)?.family.kind === 'translation';
        for (const f of sm.f) {
          const g = translation ? `(${toNerdamer(f.toText(names))}) - (${toNerdamer(sm.f[0].toText(names))})` : toNerdamer(f.toText(names));
          expect(flowOfQ(q, g, thetaVars)).toBe('0');
        }
        if (translation) expect(flowOfQ(q, toNerdamer(sm.f[0].toText(names)), thetaVars)).not.toBe('0');
      }
      // a symmetry-free model (u uᵀ factorisation) may have no law; the others must have at least one
      if (def.spec.name !== 'factorization') expect(laws.length).toBeGreaterThan(0);
    });
  }

  it('a² + ‖w‖² is not conserved by the single neuron: nerdamer leaves a non-zero residual', () => {
    const def = BUILTIN_MODELS.find((d) => d.spec.name === 'single-neuron')!;
    const sm = scalariseModel(derived(def), { d: 2 });
    const f = toNerdamer(sm.f[0].toText(names));
    const r = flowOfQ('v0^2+v1^2+v2^2', f, ['v0', 'v1', 'v2']);
    expect(r).not.toBe('0');
    expect(r).toMatch(/v0/);
  });
});
