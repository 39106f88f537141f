import { describe, expect, it } from 'vitest';
import { completeness } from '../src/laws/completeness.ts';
import { discoverLaws } from '../src/laws/discover.ts';
import { proveLaw } from '../src/laws/prove.ts';
import { reluVector } from '../models/relu.ts';
import { run } from './helpers/cli.ts';

// Marcotte, Gribonval & Peyré (2023): a two-layer ReLU network with r hidden units has exactly r
// independent conservation laws (one rescaling per unit), with or without bias.
describe('two-layer ReLU conservation laws: r laws for r hidden units, complete by the Lie-rank test', () => {
  for (const [n, r, m] of [[2, 2, 2], [3, 3, 3], [3, 4, 4]]) {
    for (const bias of [true, false]) {
      it(`(n, r, m) = (${n}, ${r}, ${m}), ${bias ? 'with' : 'without'} bias`, () => {
        const def = reluVector(bias);
        const dims = { d: n, r, c: m };
        const disc = discoverLaws(def, { dims });
        const want = bias ? 'a_i‖² − ‖w_i‖² − b_i²' : 'a_i‖² − ‖w_i‖²';
        const law = disc.laws.find((l) => !l.subsumedBy);
        expect(law?.text).toContain(want.slice(0, 12));
        for (const l of disc.laws.filter((x) => !x.subsumedBy)) expect(proveLaw(def, l.family).status).toBe('proved');
        const c = completeness(def, { dims, discovery: disc });
        expect(c.D).toBe(r * (m + n + (bias ? 1 : 0)));
        expect([c.expected, c.found], c.message).toEqual([r, r]);
        expect(c.complete).toBe(true);
      });
    }
  }

  it('CLI: laws relu --opt bias=0 derives the bias-free law', async () => {
    const r = await run('laws', 'relu', '--opt', 'bias=0', '--no-audit');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/a_i² − ‖w_i‖²/);
    expect(r.out).not.toMatch(/b_i²/);
  });
});
