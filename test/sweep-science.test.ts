/**
 * What a sweep table claims, against independent oracles:
 *  - diagonal network: every AGF cell equals the Pesme–Flammarion α → 0 schedule (a separate
 *    closed-form algorithm, solvers/pf.ts) of that seed's data, and the α → 0 extrapolation of
 *    the simulated (flow) rescaled times agrees with AGF within the stated 95% interval;
 *  - whitened two-layer linear network: the extrapolated AGF and flow times agree with the
 *    commuting closed form τ_k = 1/σ_k (theory.md, solvers/agf-linear.ts) within their intervals;
 *  - the table renders in Markdown, LaTeX and CSV with the numbers of the JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { run } from './helpers/cli.ts';
import { createProblem } from '../src/problem.ts';
import { solvePf } from '../src/solvers/pf.ts';
import { predictLinear } from '../src/solvers/agf-linear.ts';
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import type { ExtrapolationRow, JumpRow } from '../src/sweep/aggregate.ts';
import type { CellRecord } from '../src/sweep/cell.ts';

interface Summary { rows: JumpRow[]; extrapolation: ExtrapolationRow[]; cells: { total: number; ok: number }; conventions: Record<string, unknown>; schemaVersion: number; kind: string; gradflow: string; argv: string[]; reproduce: string[]; seed: number[] }

const tmp = mkdtempSync(join(tmpdir(), 'gradflow-sweep-science-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ALPHAS = [1e-4, 1e-6, 1e-8, 1e-12];
const SEEDS = [0, 1, 2];

describe('diagonal network: seed-averaged sweep vs the closed forms', () => {
  const dir = join(tmp, 'diagonal');
  let s: Summary;
  let cells: CellRecord[];
  beforeAll(async () => {
    const r = await run('sweep', 'diagonal', '--alphas', ALPHAS.join(','), '--seeds', '0..2', '--methods', 'agf,flow', '--workers', '2', '--out', dir, '--json');
    expect(r.code, r.err).toBe(0);
    s = JSON.parse(r.out) as Summary;
    cells = readFileSync(join(dir, 'cells.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CellRecord);
  });

  it('carries the versioned envelope and validates against schema/gradflow.schema.json (summary and grid.json)', () => {
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'schema', 'gradflow.schema.json'), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    expect(validate(s), ajv.errorsText(validate.errors)).toBe(true);
    const gridFile = JSON.parse(readFileSync(join(dir, 'grid.json'), 'utf8')) as Record<string, unknown>;
    expect(validate(gridFile), ajv.errorsText(validate.errors)).toBe(true);
    expect(gridFile.kind).toBe('sweep-grid');
    expect(s.schemaVersion).toBe(1);
    expect(s.kind).toBe('sweep');
    expect(typeof s.gradflow).toBe('string');
    expect(s.argv[0]).toBe('sweep');
    expect(s.reproduce.slice(0, 2)).toEqual(['sweep', 'diagonal']);
    expect(s.seed).toEqual(SEEDS);
    expect(s.conventions.lossReduction).toBe('mean');
    expect(s.conventions.rescaledTimeUnit).toBe('log(1/alpha)');
    expect(s.conventions.kappa).toBe(2);
    expect(s.cells).toMatchObject({ total: 12, ok: 12 });
  });

  it('every AGF cell equals the Pesme–Flammarion schedule of its seed (an independent α → 0 algorithm)', () => {
    for (const c of cells) {
      const pf = solvePf(createProblem(diagonal, { alpha: c.alpha, seed: c.seed }));
      const agf = c.comparison!.schedules.agf.jumps;
      expect(agf.length).toBe(pf.jumps.length);
      agf.forEach((j, k) => {
        expect(j.rescaledTime).toBeCloseTo(pf.jumps[k].rescaledTime, 6);
        expect(j.neuron).toBe(pf.jumps[k].neuron);
      });
    }
  });

  it('the table\'s AGF mean ± sd over seeds is the mean and sample sd of the PF times', () => {
    const pfs = SEEDS.map((seed) => solvePf(createProblem(diagonal, { alpha: 1e-8, seed })).jumps.map((j) => j.rescaledTime));
    for (const row of s.rows) {
      const v = pfs.map((p) => p[row.k - 1]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
      expect(row.rescaled.agf.mean).toBeCloseTo(mean, 6);
      expect(row.rescaled.agf.sd).toBeCloseTo(sd, 6);
    }
  });

  it('extrapolated α → 0 flow times agree with AGF within their stated 95% interval, jump by jump', () => {
    const flow = s.extrapolation.filter((e) => e.method === 'flow');
    expect(flow.length).toBe(5);
    for (const e of flow) {
      const pfMean = SEEDS.map((seed) => solvePf(createProblem(diagonal, { alpha: 1e-8, seed })).jumps[e.k - 1].rescaledTime).reduce((a, b) => a + b, 0) / SEEDS.length;
      // the seed-averaged value against the closed form, and the sharper paired difference
      expect(Math.abs(e.fit.a - pfMean), `jump ${e.k}`).toBeLessThanOrEqual(e.fit.ci95 as number);
      expect(e.difference).not.toBeNull();
      expect(Math.abs(e.difference!.a), `jump ${e.k} Δ`).toBeLessThanOrEqual(e.difference!.ci95 as number);
      expect(e.consistent).toBe(true);
      // the interval is informative: well below the finite-alpha gap it extrapolates away
      const gaps = cells.filter((c) => c.alpha === ALPHAS[0]).map((c) => Math.abs((c.comparison!.matched[e.k - 1].rescaledTime.flow as number) - (c.comparison!.matched[e.k - 1].rescaledTime.agf as number)));
      expect(e.difference!.ci95 as number).toBeLessThan(gaps.reduce((a, b) => a + b, 0) / gaps.length);
    }
  });

  it('renders in Markdown, LaTeX and CSV with the JSON\'s numbers', () => {
    const md = readFileSync(join(dir, 'sweep.md'), 'utf8');
    const tex = readFileSync(join(dir, 'sweep.tex'), 'utf8');
    const csv = readFileSync(join(dir, 'sweep.csv'), 'utf8');
    expect(md).toMatch(/\| alpha \| k \|/);
    expect(md).toMatch(/ ± /);
    expect(md).toMatch(/α → 0 extrapolation/);
    expect(tex.match(/\\begin\{tabular\}/g)?.length).toBe(2);
    expect(tex).toMatch(/\\toprule/);
    const lines = csv.split('\n').filter((l) => l && !l.startsWith('#'));
    const header = lines[0].split(',');
    const body = lines.slice(1).map((l) => l.split(','));
    expect(body.length).toBe(s.rows.length);
    const col = (name: string): number => { const i = header.indexOf(name); return i >= 0 ? i : header.indexOf(({ rescaled_flow_mean: 't_flow', rescaled_flow_sd: 'sd_flow' } as Record<string, string>)[name]); };
    body.forEach((r, q) => {
      expect(Number(r[col('alpha')])).toBe(s.rows[q].alpha);
      expect(Number(r[col('rescaled_flow_mean')])).toBe(s.rows[q].rescaled.flow.mean);
      expect(Number(r[col('rescaled_flow_sd')])).toBe(s.rows[q].rescaled.flow.sd);
    });
    const svg = readFileSync(join(dir, 'sweep.svg'), 'utf8');
    expect(svg).toMatch(/<svg[ >]/);
    expect(svg).toMatch(/1\/log\(1\/alpha\)/);
  });
});

describe('whitened two-layer linear network: extrapolation recovers the commuting closed form', () => {
  it('τ_k = 1/σ_k within the stated 95% interval, for AGF and for the flow', async () => {
    const dims = ['--dim', 'c=3', '--dim', 'd=3', '--dim', 'h=3'];
    const r = await run('sweep', 'linear', ...dims, '--alphas', ALPHAS.join(','), '--seeds', '0..2', '--methods', 'agf,flow', '--workers', '2', '--json');
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as Summary;
    const p = createProblem(linear, { alpha: 1e-8, seed: 0, dims: { c: 3, d: 3, h: 3 } });
    const pred = predictLinear(p, { variant: 'commuting' });
    expect(pred.rescaledTimes.length).toBe(3);
    for (const m of ['agf', 'flow']) {
      const rows = s.extrapolation.filter((e) => e.method === m);
      expect(rows.length).toBe(3);
      for (const e of rows) {
        const tau = pred.rescaledTimes[e.k - 1];
        expect(Math.abs(e.fit.a - tau), `${m} jump ${e.k}: ${e.fit.a} vs ${tau} ± ${e.fit.ci95}`).toBeLessThanOrEqual(e.fit.ci95 as number);
      }
    }
  });
});

describe('the consistency verdict needs a fit residual', () => {
  it('three alphas (as many as terms): no verdict; the same seeds at five alphas down to 1e-16 agree with AGF within their interval', async () => {
    const json = async (alphas: string): Promise<{ extrapolation: { method: string; k: number; consistent: boolean | null; difference: { a: number; ci95: number; fitDof: number } | null }[] }> => {
      const r = await run('sweep', 'diagonal', '--alphas', alphas, '--seeds', '0..2', '--methods', 'agf,flow', '--json');
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    const three = (await json('1e-2,1e-4,1e-8')).extrapolation.filter((e) => e.method === 'flow');
    expect(three.length).toBe(5);
    for (const e of three) { expect(e.difference!.fitDof).toBe(0); expect(e.consistent).toBeNull(); }
    // the seed scatter alone would have rejected jump 1 there: |Δ| beyond its seed-only interval
    expect(Math.abs(three[0].difference!.a)).toBeGreaterThan(three[0].difference!.ci95);
    const five = (await json('1e-4,1e-6,1e-8,1e-12,1e-16')).extrapolation.filter((e) => e.method === 'flow');
    for (const e of five) {
      expect(e.difference!.fitDof).toBe(2);
      expect(Math.abs(e.difference!.a)).toBeLessThanOrEqual(e.difference!.ci95);
      expect(e.consistent).toBe(true);
    }
    // and the limit itself moved: jump 1's Δ is 1e-3 of the three-alpha one
    expect(Math.abs(five[0].difference!.a)).toBeLessThan(1e-2 * Math.abs(three[0].difference!.a));
  }, 120_000);
});

describe('sweep modular', () => {
  it('says that per-neuron matching mixes a frequency group and points to compare modular; other models do not get the note', async () => {
    const m = await run('sweep', 'modular', '--dim', 'p=5', '--dim', 'h=4', '--alphas', '0.3', '--seeds', '0', '--methods', 'agf,flow');
    expect(m.code, m.err).toBe(0);
    expect(m.out).toContain('modular: the neurons learn in frequency groups');
    expect(m.out).toContain('gradflow compare modular');
    const d = await run('sweep', 'diagonal', '--alphas', '1e-2', '--seeds', '0', '--methods', 'agf,flow');
    expect(d.out).not.toContain('frequency groups');
  }, 60_000);
});
