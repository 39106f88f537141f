/**
 * `gradflow forces` and `gradflow laws softmax` end to end: the printed numbers against library
 * calls that are tested elsewhere, the laws output naming the translation law, and the bad-input
 * contract (exit 2, one line).
 */
import { describe, expect, it } from 'vitest';
import { expectBadInput, run, scratch } from './helpers/cli.ts';
import { createProblem } from '../src/problem.ts';
import { taskOf, tinyLm } from '../models/tiny-lm.ts';
import { fitReference, referenceOf, sequencePreferenceRun } from '../src/analysis/sequence-forces.ts';

describe('gradflow forces', () => {
  it('prints the decomposition with the η² slope and the influence table; --json carries the terms', async () => {
    const r = await run('forces', 'softmax', '--opt', 'n=12', '--observe', '0,3');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('A·K·G decomposition of one GD step of size η = 0.01');
    expect(r.out).toContain('loss: cross-entropy');
    const j = JSON.parse((await run('forces', 'softmax', '--opt', 'n=12', '--observe', '0,3', '--json')).out) as { kind: string; terms: { etaSweep: { slope: number }; predicted: number[]; actual: number[] }[]; influence: { matrix: number[][] } };
    expect(j.kind).toBe('forces');
    expect(j.terms).toHaveLength(2);
    for (const t of j.terms) expect(Math.abs(t.etaSweep.slope - 2)).toBeLessThan(0.1);
    expect(j.influence.matrix[0]).toHaveLength(12);
  });

  it('a saturated π (100 GD steps of size 1e6: π(y_o) = 1, G = 0): the step changes nothing, so no error slope — "—" and a note, null in JSON, never NaN', async () => {
    const argv = ['forces', 'softmax', '--at', '100', '--lr', '1e6'];
    const r = await run(...argv);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(/NaN/);
    expect(r.out).toContain('error slope —: the error is 0');
    const j = JSON.parse((await run(...argv, '--json')).out) as { terms: { G: number[]; pi: number[]; predicted: number[]; actual: number[]; etaSweep: { slope: number | null; errors: number[] } }[] };
    for (const t of j.terms) {
      expect(Math.max(...t.G.map(Math.abs))).toBe(0);
      expect(t.etaSweep.errors.every((e) => e === 0)).toBe(true);
      expect(t.etaSweep.slope).toBeNull();
    }
  });

  it('--squeeze: the negative gradient on the least likely of 50 classes lowers most of them', async () => {
    const r = await run('forces', 'softmax', '--dim', 'V=50', '--dim', 'd=4', '--alpha', '1.2', '--opt', 'n=5', '--squeeze', '0', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { squeezing: { sign: string; rank: string; fallFraction: number; argmaxGain: number; relError: number }[] };
    const low = j.squeezing.find((c) => c.sign === 'negative' && c.rank === 'low')!;
    expect(low.fallFraction).toBeGreaterThan(0.5);
    expect(low.argmaxGain).toBeGreaterThan(0);
    for (const c of j.squeezing) expect(c.relError).toBeLessThan(1e-6);
  });

  it('writes report files with --out', async () => {
    const { dir } = scratch('gradflow-forces-');
    const r = await run('forces', 'softmax', '--opt', 'n=8', '--out', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote .*forces\.md/);
  });

  it('rejects bad input with one line and exit code 2', async () => {
    await expectBadInput(['forces', 'softmax', '--opt', 'n=8', '--observe', '9'], /observed example 9 is out of range: the data have 8 examples/);
    await expectBadInput(['forces', 'softmax', '--loss', 'hinge'], /"loss" must be one of mse, cross-entropy/);
    await expectBadInput(['forces', 'softmax', '--loss', 'dpo', '--beta', '-1'], /beta must be a positive number/);
    await expectBadInput(['forces', 'single-neuron'], /force analysis needs softmax logits/);
    await expectBadInput(['forces', 'softmax', '--eta', '0'], /eta must be a positive number/);
    await expectBadInput(['forces', 'softmax', '--paths', '--squeeze', '0'], /give one of --squeeze, --paths, --preference/);
  });
});

describe('gradflow force tiny-lm (the sequence form)', () => {
  it('prints the sequence decomposition for y⁺, y⁻ and the argmax; --json carries A, K, G blocks with η² slopes and predictions that match the measured change', async () => {
    const r = await run('force', 'tiny-lm', '--opt', 'n=6', '--observe', '1');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('sequence A·K·G: one GD step of size η = 0.01 on pair u\'s DPO loss');
    expect(r.out).toContain('force split of one full-batch DPO step');
    expect(r.out).toContain('influence of each training pair on log π(y | x_o)');
    expect(r.out).toMatch(/loss: DPO .*sequence log-probabilities/);
    const j = JSON.parse((await run('forces', 'tiny-lm', '--opt', 'n=6', '--observe', '1', '--json')).out) as {
      kind: string; sequence: { L: number; V: number; influence: { byPair: number[]; predicted: number; actual: number }[]; terms: { response: string; A: number[][]; K: number[]; G: number[]; rowsU: number; predictedSequence: number; actualSequence: number; etaSweep: { slope: number } }[] };
    };
    expect(j.kind).toBe('forces');
    const { L, V } = j.sequence;
    expect(j.sequence.terms.map((t) => t.response)).toEqual(['y⁺', 'y⁻', 'y*']);
    for (const inf of j.sequence.influence) {
      expect(inf.byPair).toHaveLength(6);
      expect(Math.abs(inf.actual - inf.predicted)).toBeLessThan(0.05 * Math.abs(inf.predicted) + 1e-6);
    }
    for (const t of j.sequence.terms) {
      expect(t.A).toHaveLength(L);
      expect(t.rowsU).toBe(2 * L);
      expect(t.K).toHaveLength(L * V * 2 * L * V);
      expect(t.G).toHaveLength(2 * L * V);
      expect(Math.abs(t.etaSweep.slope - 2)).toBeLessThan(0.1);
      // η = 0.01: first order to within a few per cent
      expect(Math.abs(t.actualSequence - t.predictedSequence)).toBeLessThan(0.05 * Math.abs(t.predictedSequence) + 1e-6);
    }
  });

  it('--preference: the table’s changes are the library’s runs (seed by seed)', async () => {
    const r = await run('forces', 'tiny-lm', '--opt', 'n=6', '--preference', '--seeds', '0..1', '--steps', '40', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { preference: { logChanges: Record<'sft' | 'dpo', { chosen: number[]; rejected: number[] }> } };
    for (const seed of [0, 1]) {
      const p = createProblem(tinyLm, { alpha: 0.1, seed, options: { n: 6 } });
      const task = taskOf(p);
      const ref = fitReference(p, task, p.theta0, 0.05, 100);
      const run2 = sequencePreferenceRun(p, task, ref, { name: 'dpo', beta: 0.1, reference: referenceOf(p, task, ref) }, 0.05, 40, 40);
      const [a, b] = [run2.points[0], run2.points[1]];
      expect(j.preference.logChanges.dpo.chosen[seed]).toBeCloseTo(b.logChosen - a.logChosen, 12);
      expect(j.preference.logChanges.dpo.rejected[seed]).toBeCloseTo(b.logRejected - a.logRejected, 12);
    }
    const { dir } = scratch('gradflow-seqpref-');
    const t = await run('forces', 'tiny-lm', '--opt', 'n=6', '--preference', '--seeds', '0', '--steps', '20', '--out', dir);
    expect(t.out).toContain('seeds with log π(y⁺)↓ · log π(y⁻)↓ · π(argmax)↑');
    expect(t.out).toMatch(/wrote .*preference\.svg/);
  });

  it('rejects what the sequence analysis cannot do, with one line and exit code 2', async () => {
    await expectBadInput(['forces', 'tiny-lm', '--loss', 'cross-entropy'], /trains sft or dpo on whole responses/);
    await expectBadInput(['forces', 'tiny-lm', '--noise'], /--noise is for the single-token softmax models/);
    await expectBadInput(['forces', 'tiny-lm', '--opt', 'n=4', '--observe', '4'], /observed prompt 4 is out of range/);
  });
});

describe('gradflow laws softmax', () => {
  it('finds and proves the translation law (column sums of W, 1ᵀb) and audits it along the flow', async () => {
    const r = await run('laws', 'softmax', '--t', '3', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { laws: { text: string }[]; proofs: { status: string; scope: string }[]; audit: { flow: { maxRelDrift: number }[] } };
    expect(j.laws.map((l) => l.text)).toEqual(['𝟏ᵀW (the column sums of W)', '𝟏ᵀb']);
    for (const p of j.proofs) expect(p.status).toBe('proved');
    for (const f of j.audit.flow) expect(f.maxRelDrift).toBeLessThan(1e-12);
  });

  it('softmax-mlp: proves 𝟏ᵀa_i; the audit reports the implicit methods that cannot step across relu kinks instead of failing', async () => {
    const r = await run('laws', 'softmax-mlp', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { proofs: { text: string; status: string }[]; audit: { flow: { method: string; maxRelDrift: number | null; worstLaw: string }[] } };
    expect(j.proofs.find((q) => q.text.includes('𝟏ᵀa_i'))?.status).toBe('proved');
    const dopri = j.audit.flow.find((f) => f.method === 'dopri5')!;
    expect(dopri.maxRelDrift).toBeLessThan(1e-10);
    for (const f of j.audit.flow) if (f.maxRelDrift === null) expect(f.worstLaw).toMatch(/^not run: /);
  });
});
