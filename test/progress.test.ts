/**
 * Progress lines on long loops (issue 13, item 7): drawn on stderr only when asked (stderr a
 * terminal or --progress), at most once a second plus once at the end, with an ETA from the
 * elapsed time and the fraction done; results are the same bytes with or without them.
 */
import { describe, expect, it } from 'vitest';
import { fmtDuration, jumpProgressLine, progressLine, type JumpProgress } from '../src/util/progress.ts';
import { main } from '../src/cli/main.ts';
import type { CommandIO } from '../src/cli/common.ts';
import { createProblem } from '../src/problem.ts';
import { diagonal } from '../models/diagonal.ts';
import { solveDescent } from '../src/solvers/descent.ts';
import { solveFlow } from '../src/solvers/flow.ts';
import { solveAgf } from '../src/solvers/agf.ts';
import { findModel } from '../models/index.ts';
import { modular } from '../models/modular.ts';

const BAR = /^[a-z -]+(: [a-z0-9 ]+)? \[[#.]{24}\] \d{1,3}% · \d+:\d\d( · ETA \d+:\d\d)?$/;
const JUMPS = /^[a-z :-]+?: (done, [a-z-]+: )?\d+ jumps? · t\/(log\(1\/α\)|T₃\(α\)) = [-\d.e+]+ · loss [-\d.e+]+ = \d\.\d\de[-+]\d+·L\(0\) · \d+:\d\d$/;

async function cli(progress: boolean, ...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const io: CommandIO = { out: (s) => out.push(s), err: (s) => err.push(s), progress };
  return { code: await main(argv, io), out, err };
}

describe('progress lines', () => {
  it('a fake clock: one line a second at most, ETA = elapsed·(1 − f)/f, one final line', () => {
    let now = 0;
    const lines: string[] = [];
    const report = progressLine((l) => lines.push(l), 'run', () => now);
    now = 500; report(0.1); // under a second since the start: nothing
    now = 2000; report(0.25); // 2 s for a quarter: 6 s left
    now = 2500; report(0.3); // under a second since the last line
    now = 4000; report(0.5);
    now = 8000; report(1);
    report(1); // the end is reported once
    expect(lines).toEqual([
      `run [${'#'.repeat(6)}${'.'.repeat(18)}] 25% · 0:02 · ETA 0:06`,
      `run [${'#'.repeat(12)}${'.'.repeat(12)}] 50% · 0:04 · ETA 0:04`,
      `run [${'#'.repeat(24)}] 100% · 0:08`,
    ]);
    expect(fmtDuration(3_725_000)).toBe('1:02:05');
  });

  it('flow and descent report fractions up to 1 and give the same trajectory with or without a reporter', () => {
    const p = createProblem(diagonal, { alpha: 1e-3, seed: 1 });
    const seen: number[] = [];
    const a = solveFlow(p, { tEnd: 50, onProgress: (f) => seen.push(f) });
    const b = solveFlow(p, { tEnd: 50 });
    expect(seen.at(-1)).toBe(1);
    for (let k = 1; k < seen.length; k++) expect(seen[k]).toBeGreaterThanOrEqual(seen[k - 1]);
    expect(Array.from(a.states.at(-1)!)).toEqual(Array.from(b.states.at(-1)!));
    const fr: number[] = [];
    const g = solveDescent(p, { lr: 0.01, steps: 3000, onProgress: (f) => fr.push(f) });
    expect(fr.at(-1)).toBe(1);
    expect(Array.from(g.states.at(-1)!)).toEqual(Array.from(solveDescent(p, { lr: 0.01, steps: 3000 }).states.at(-1)!));
  });

  it('gradflow flow/descent/compare --progress: stderr gets the bar, stdout is unchanged', async () => {
    for (const argv of [['flow', 'diagonal', '--t', '100'], ['descent', 'diagonal', '--steps', '2000'], ['compare', 'diagonal', '--alpha', '1e-3'], ['compare', 'linear']]) {
      const withBar = await cli(true, ...argv, '--progress');
      const without = await cli(false, ...argv);
      expect(withBar.code).toBe(0);
      expect(withBar.out).toEqual(without.out);
      expect(without.err).toEqual([]);
      expect(withBar.err.length).toBeGreaterThan(0);
      for (const l of withBar.err) expect(l).toMatch(l.includes('[') ? BAR : JUMPS);
      expect(withBar.err.at(-1)).toContain('100%');
    }
  });

  it('a jump line: at most one a second, the loss as a multiple of L(0), and a closing line from the schedule', () => {
    let now = 0;
    const lines: string[] = [];
    const report = jumpProgressLine((l) => lines.push(l), 'agf m', 't/log(1/α)', () => now);
    now = 1200; report({ jumps: 1, rescaledTime: 0.5, loss: 2, initialLoss: 8 });
    now = 1700; report({ jumps: 2, rescaledTime: 0.75, loss: 1, initialLoss: 8 }); // within the second: not drawn
    now = 3000;
    report.finish({ jumps: [{ rescaledTime: 0.5, lossAfter: 2 }, { rescaledTime: 0.75, lossAfter: 1 }, { rescaledTime: 1.25, lossAfter: 0.001 }], initialLoss: 8, extra: { status: 'zero-loss' } });
    report({ jumps: 4, rescaledTime: 2, loss: 0, initialLoss: 8 }); // nothing after the closing line
    expect(lines).toEqual([
      'agf m: 1 jump · t/log(1/α) = 0.5000 · loss 2.000 = 2.50e-1·L(0) · 0:01',
      'agf m: done, zero-loss: 3 jumps · t/log(1/α) = 1.250 · loss 0.001000 = 1.25e-4·L(0) · 0:03',
    ]);
  });

  it('AGF (κ = 2 dormant dynamics, relu cones, κ = 3 sphere) reports each jump as its schedule holds it, and the schedule is the same without a reporter', () => {
    const problems = [
      createProblem(diagonal, { alpha: 1e-3, seed: 1 }),
      createProblem(findModel('relu')!, { alpha: 1e-3, seed: 0 }),
      createProblem(modular, { alpha: 0.01, seed: 0, dims: { p: 7, h: 6 } }),
    ];
    for (const p of problems) {
      const seen: JumpProgress[] = [];
      const s = solveAgf(p, { onProgress: (a) => seen.push({ ...a }) });
      expect(JSON.stringify(s)).toBe(JSON.stringify(solveAgf(p)));
      expect(s.jumps.length).toBeGreaterThan(1);
      for (let k = 1; k < seen.length; k++) {
        expect(seen[k].jumps).toBeGreaterThanOrEqual(seen[k - 1].jumps);
        expect(seen[k].rescaledTime).toBeGreaterThanOrEqual(seen[k - 1].rescaledTime);
      }
      // the first report with k jumps is the one made at jump k: its time and loss are that jump's
      s.jumps.forEach((j, k) => {
        const at = seen.find((a) => a.jumps === k + 1)!;
        expect(at.rescaledTime).toBe(j.rescaledTime);
        expect(at.loss).toBe(j.lossAfter);
        expect(at.initialLoss).toBe(s.initialLoss);
      });
    }
  });

  it('gradflow agf / compare modular / laws / forces --preference --progress: progress on stderr; stdout and --json the same bytes', async () => {
    const small = ['--dim', 'p=7', '--dim', 'h=6'];
    for (const argv of [['agf', 'diagonal'], ['agf', 'modular', ...small, '--alpha', '0.01'], ['compare', 'modular', ...small, '--spectrum', '1:4,2:1', '--alpha', '0.3'], ['laws', 'relu'], ['forces', 'tiny-lm', '--opt', 'n=6', '--preference', '--seeds', '0..1', '--steps', '20']]) {
      // the text output once (agf diagonal), --json everywhere
      for (const json of argv[1] === 'diagonal' ? [[], ['--json']] : [['--json']]) {
        const withBar = await cli(true, ...argv, ...json, '--progress');
        const without = await cli(false, ...argv, ...json);
        expect(withBar.code).toBe(0);
        expect(withBar.out).toEqual(without.out);
        // warnings (e.g. an unconverged AGF fit) are the same either way; nothing else without --progress
        const warning = (l: string): boolean => l.startsWith('gradflow: warning: ');
        expect(without.err.filter((l) => !warning(l))).toEqual([]);
        expect(withBar.err.filter(warning)).toEqual(without.err.filter(warning));
        const lines = withBar.err.filter((l) => !l.startsWith('timings (s): ') && !warning(l));
        expect(lines.length).toBeGreaterThan(0);
        for (const l of lines) expect(l).toMatch(l.includes('[') ? BAR : JUMPS);
        if (argv[0] === 'agf' || argv[0] === 'compare') expect(lines.some((l) => /: done, [a-z-]+: \d+ jumps/.test(l))).toBe(true);
      }
    }
  });

  it('laws relu: the implicit audit rows give up at a kink after 10× their planned steps instead of grinding to the storage cap', async () => {
    const r = await cli(false, 'laws', 'relu', '--json');
    const flow = (JSON.parse(r.out.join('')) as { audit: { flow: { method: string; maxRelDrift: number | null; worstLaw: string }[] } }).audit.flow;
    expect(flow.find((f) => f.method === 'dopri5')!.maxRelDrift).toBeLessThan(1e-9);
    for (const m of ['gauss4', 'midpoint']) expect(flow.find((f) => f.method === m)!.worstLaw).toMatch(new RegExp(`^not run: ${m} kept cutting its fixed step dt = [\\d.e-]+ \\(over \\d+ steps where \\d+ were planned\\)`));
  });
});
