/**
 * Sweep statistics against independent references: published Student-t quantiles (and SciPy's
 * when python3 has it), exact recovery of known coefficients from synthetic series, and the
 * frequentist coverage of the stated 95% interval on noisy synthetic seeds. Grid enumeration
 * and sharding against brute-force counting.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { extrapolateToZero, meanSd, polyFit, studentTCdf, studentTQuantile } from '../src/sweep/stats.ts';
import { cellCount, gridCells, inShard, parseSeeds, parseShard, type SweepGrid } from '../src/sweep/grid.ts';
import { Rng } from '../src/util/rng.ts';
import { expectGradflowError } from './helpers/errors.ts';

describe('Student t', () => {
  // two-sided 95% critical values from any statistics table (e.g. Abramowitz & Stegun 26.10)
  const table: [number, number][] = [[1, 12.7062], [2, 4.3027], [3, 3.1824], [5, 2.5706], [10, 2.2281], [30, 2.0423], [Infinity, 1.95996]];
  for (const [nu, q] of table) {
    it(`t(0.975, ${nu}) = ${q}`, () => expect(studentTQuantile(0.975, nu)).toBeCloseTo(q, 3));
  }
  it('Cauchy (ν = 1) CDF in closed form: 1/2 + atan(t)/π', () => {
    for (const t of [-3, -0.5, 0, 0.7, 5]) expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12);
  });
  it('ν = 2 CDF in closed form: 1/2 + t/(2√(2 + t²))', () => {
    for (const t of [-2, 0.3, 4]) expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 12);
  });
  it('agrees with SciPy at fractional ν (skipped without python3 + scipy)', (ctx) => {
    const r = spawnSync('python3', ['-c', 'from scipy.stats import t; print(" ".join(repr(float(t.ppf(0.975, n))) for n in (1.5, 2.7, 7.3, 19.9)))'], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log('skipped: python3 with scipy is not available for the Student-t cross-check');
      ctx.skip();
      return;
    }
    const ref = r.stdout.trim().split(' ').map(Number);
    [1.5, 2.7, 7.3, 19.9].forEach((nu, i) => expect(studentTQuantile(0.975, nu)).toBeCloseTo(ref[i], 8));
  });
});

describe('mean ± sd', () => {
  it('sample sd with the n − 1 denominator', () => {
    const r = meanSd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(r.mean).toBe(5);
    expect(r.sd).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(meanSd([3])).toEqual({ n: 1, mean: 3, sd: null });
    expect(meanSd([])).toEqual({ n: 0, mean: null, sd: null });
  });
});

describe('α → 0 extrapolation a + b/log(1/α) + c/log²(1/α)', () => {
  const alphas = [1e-3, 1e-5, 1e-8, 1e-12, 1e-16];
  const x = alphas.map((a) => 1 / Math.log(1 / a));
  const curve = (a: number, b: number, c: number): number[] => x.map((v) => a + b * v + c * v * v);

  it('recovers known coefficients exactly from noiseless series (3 and 5 alphas)', () => {
    const e5 = extrapolateToZero(alphas, [curve(0.4, 1.3, -2.5)]);
    expect(e5.a).toBeCloseTo(0.4, 12);
    expect(e5.slope[0]).toBeCloseTo(1.3, 10);
    expect(e5.slope[1]).toBeCloseTo(-2.5, 8);
    expect(e5.seFit).toBeLessThan(1e-12);
    const e3 = extrapolateToZero(alphas.slice(0, 3), [curve(7, -4, 11).slice(0, 3)]);
    expect(e3.a).toBeCloseTo(7, 10);
    expect(e3.fitDof).toBe(0);
    expect(e3.seFit).toBeNull();
  });

  it('the seed-mean intercept is the mean of per-seed intercepts; sd over seeds / √S is its standard error', () => {
    const s1 = curve(1, 2, 3), s2 = curve(1.2, 1, -1), s3 = curve(0.9, 3, 0);
    const e = extrapolateToZero(alphas, [s1, s2, s3]);
    expect(e.a).toBeCloseTo((1 + 1.2 + 0.9) / 3, 12);
    expect(e.seSeeds).toBeCloseTo((meanSd([1, 1.2, 0.9]).sd as number) / Math.sqrt(3), 12);
  });

  it('two alphas fit a + b·x; one alpha is the value itself', () => {
    const e2 = extrapolateToZero([1e-2, 1e-6], [[0.5 + 2 / Math.log(100), 0.5 + 2 / Math.log(1e6)]]);
    expect(e2.terms).toBe(2);
    expect(e2.a).toBeCloseTo(0.5, 12);
    expect(extrapolateToZero([1e-2], [[3]]).a).toBe(3);
  });

  it('the 95% interval covers the true intercept about 95% of the time (noisy seeds, 400 trials)', () => {
    const rng = new Rng(12345);
    let covered = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      // each seed has its own intercept (problem-to-problem scatter) plus small per-alpha noise
      const series = Array.from({ length: 6 }, () => {
        const a = 2 + 0.1 * rng.normal();
        return curve(a, 1.5, -3).map((v) => v + 0.01 * rng.normal());
      });
      const e = extrapolateToZero(alphas, series);
      if (Math.abs(e.a - 2) <= (e.ci95 as number)) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.9);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it('polyFit is exact for a quadratic at tiny x (column scaling keeps it conditioned)', () => {
    const xs = [1e-3, 2e-3, 5e-3, 9e-3];
    const f = polyFit(xs, xs.map((v) => 3 - 40 * v + 1e4 * v * v), 3);
    expect(f.coef[0]).toBeCloseTo(3, 10);
    expect(f.coef[1]).toBeCloseTo(-40, 6);
    expect(f.coef[2]).toBeCloseTo(1e4, 3);
  });

  it('bad input is a one-line error', () => {
    expectGradflowError(() => extrapolateToZero([1e-2, 1e-2], [[1, 1]]), /distinct/);
    expectGradflowError(() => extrapolateToZero([1e-2, 2], [[1, 1]]), /alpha must lie in \(0, 1\)/);
    expectGradflowError(() => extrapolateToZero([1e-2, 1e-3], [[1, NaN]]), /finite value/);
  });
});

describe('grid and shards', () => {
  const grid: SweepGrid = { model: 'diagonal', spec: null, data: null, alphas: [1e-2, 1e-4, 1e-8], seeds: [0, 1, 2, 3, 4], dims: [['d', [3, 5]], ['n', [1, 2]]], options: [], methods: ['agf', 'flow'], run: { agf: 'auto', lr: null, t: null } };
  it('cells are the full product, each (dims, alpha, seed) once, indices 0…N−1', () => {
    const cells = gridCells(grid);
    expect(cells.length).toBe(2 * 2 * 3 * 5);
    expect(cellCount(grid)).toBe(cells.length);
    expect(new Set(cells.map((c) => JSON.stringify([c.dims, c.alpha, c.seed]))).size).toBe(cells.length);
    expect(cells.map((c) => c.index)).toEqual([...cells.keys()]);
  });
  it('shards k/N partition the cells (disjoint, complete, sizes differ by at most one)', () => {
    const cells = gridCells(grid);
    for (const N of [1, 4, 7, 60, 61]) {
      const sizes: number[] = [];
      const seen = new Set<number>();
      for (let k = 1; k <= N; k++) {
        const mine = cells.filter((c) => inShard(c.index, { k, N }));
        sizes.push(mine.length);
        for (const c of mine) {
          expect(seen.has(c.index)).toBe(false);
          seen.add(c.index);
        }
      }
      expect(seen.size).toBe(cells.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
  it('seeds and shards parse, and bad ones are one-line errors', () => {
    expect(parseSeeds('0..3,7')).toEqual([0, 1, 2, 3, 7]);
    expect(parseShard('2/8')).toEqual({ k: 2, N: 8 });
    expectGradflowError(() => parseSeeds('3..1'), /backwards/);
    expectGradflowError(() => parseSeeds('1,1'), /twice/);
    expectGradflowError(() => parseSeeds('0..99999'), /cap/);
    expectGradflowError(() => parseShard('0/4'), /1 ≤ k ≤ N/);
    expectGradflowError(() => parseShard('5/4'), /1 ≤ k ≤ N/);
    expectGradflowError(() => parseShard('two'), /k\/N/);
  });
});
