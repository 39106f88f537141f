/**
 * Every command's --json validates against schema/gradflow.schema.json (ajv, draft 2020-12),
 * and the κ = 3 comparison is in the unit it names: rescaledTime · T₃(α) = time with
 * T₃(α) = 1/α − 1 computed here by hand.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { run, scratch } from './helpers/cli.ts';

const root = join(import.meta.dirname, '..');
const schema = JSON.parse(readFileSync(join(root, 'schema', 'gradflow.schema.json'), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile(schema);
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const threeFactor = join(root, 'examples', 'three-factor-diagonal.json');

async function validJson(argv: string[]): Promise<Record<string, unknown>> {
  const r = await run(...argv);
  expect(r.code, r.err).toBe(0);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  const ok = validate(j);
  expect(ok, `${argv.join(' ')}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  expect(j.argv).toEqual(argv);
  expect(j.gradflow).toBe(version);
  // wall-clock numbers would break byte-for-byte reproducibility
  expect(JSON.stringify(j).match(/"(seconds|timings?|wallClock|elapsed)"/)?.[0] ?? null).toBeNull();
  return j;
}

const COMMANDS: [string, string[]][] = [
  ['list', ['list', '--json']],
  ['derive', ['derive', 'single-neuron', '--json']],
  ['flow', ['flow', 'single-neuron', '--t', '3', '--json']],
  ['descent', ['descent', 'single-neuron', '--steps', '50', '--json']],
  ['exact', ['exact', 'single-neuron', '--t', '3', '--json']],
  ['laws', ['laws', 'single-neuron', '--no-audit', '--timings', '--json']],
  ['agf', ['agf', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--json']],
  ['pf', ['pf', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--json']],
  ['compare diagonal', ['compare', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--json']],
  ['compare linear', ['compare', 'linear', '--dim', 'c=2', '--dim', 'd=2', '--dim', 'h=2', '--alpha', '1e-4', '--json']],
  ['compare-linear', ['compare-linear', 'factorization', '--dim', 'd=2', '--dim', 'h=2', '--alpha', '1e-4', '--json']],
  ['compare modular', ['compare', 'modular', '--dim', 'p=7', '--dim', 'h=6', '--spectrum', '1:4,2:1', '--alpha', '0.3', '--json']],
  ['sweep', ['sweep', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--alphas', '1e-2,1e-3', '--json']],
  ['utility', ['utility', 'modular', '--dim', 'p=7', '--dim', 'h=2', '--spectrum', '1:4', '--json']],
  ['forces', ['forces', 'softmax', '--opt', 'n=8', '--json']],
  ['forces --squeeze', ['forces', 'softmax', '--opt', 'n=8', '--squeeze', '1', '--json']],
  ['flow --overlay', ['flow', 'single-neuron', '--t', '3', '--overlay', 'exact,descent', '--json']],
  ['agf --for gd', ['agf', 'diagonal', '--dim', 'd=3', '--opt', 'n=9', '--alpha', '1e-4', '--for', 'gd', '--lr', '0.05', '--json']],
  ['agf --for momentum --simulate', ['agf', 'diagonal', '--dim', 'd=3', '--opt', 'n=9', '--alpha', '1e-4', '--for', 'momentum', '--lr', '0.05', '--momentum', '0.5', '--simulate', '--json']],
  ['compare --methods agf-gd,gd,agf-momentum,momentum,agf-nesterov,nesterov', ['compare', 'diagonal', '--dim', 'd=3', '--opt', 'n=9', '--alpha', '1e-4', '--methods', 'agf,agf-gd,gd,agf-momentum,momentum,agf-nesterov,nesterov', '--lr', '0.05', '--momentum', '0.5', '--json']],
  ['forces tiny-lm', ['forces', 'tiny-lm', '--opt', 'n=6', '--observe', '1', '--json']],
  ['forces tiny-lm --preference', ['forces', 'tiny-lm', '--opt', 'n=6', '--preference', '--seeds', '0', '--steps', '20', '--json']],
  ['forces --paths', ['forces', 'softmax', '--opt', 'n=8', '--paths', '--steps', '20', '--json']],
  ['forces --preference', ['forces', 'softmax', '--preference', '--seeds', '0..1', '--steps', '20', '--json']],
  ['forces --noise', ['forces', 'softmax', '--noise', '--seeds', '0', '--steps', '20', '--json']],
  ['laws relu (audit rows not run: drift null)', ['laws', 'relu', '--json']],
  ['truncation', ['truncation', 'relu-deep', '--json']],
  ['demo', ['demo', '--json']],
];

describe('--json against schema/gradflow.schema.json', () => {
  it.each(COMMANDS)('%s', async (_name, argv) => {
    const j = await validJson(argv);
    expect(j.schemaVersion).toBe(1);
  });

  it('merge (of two sweep shards), and every command that takes --json is covered here', async () => {
    const { dir } = scratch('schema-merge');
    const shard = (k: number): string[] => ['sweep', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--alphas', '1e-2,1e-3', '--shard', `${k}/2`, '--out', join(dir, `s${k}`), '--json'];
    await validJson(shard(1));
    await validJson(shard(2));
    await validJson(['merge', join(dir, 's1'), join(dir, 's2'), '--json']);
    const { COMMANDS: ALL } = await import('../src/cli/registry.ts');
    const covered = new Set([...COMMANDS.map(([, argv]) => argv[0]), 'merge']);
    expect(ALL.filter((c) => c.options.json && !covered.has(c.name)).map((c) => c.name)).toEqual([]);
  });

  it('compare: every model gives the same comparison shape, schedules keyed by method', async () => {
    for (const argv of [COMMANDS[8][1], COMMANDS[9][1], COMMANDS[11][1]]) {
      const j = await validJson(argv);
      expect(j.kind).toBe('comparison');
      expect(j.reference).toBe('agf');
      expect(Object.keys(j.schedules as object)).toEqual(j.methods);
      for (const s of Object.values(j.schedules as Record<string, { jumps: { sign: unknown }[] }>)) for (const jump of s.jumps) expect(jump).toHaveProperty('sign');
    }
  });

  it('agf, compare, flow: the JSON says the data and sizes it ran on, as the text output\'s data: line does', async () => {
    for (const argv of [['agf', 'relu'], ['compare', 'diagonal', '--dim', 'd=3'], ['flow', 'diagonal', '--t', '2']]) {
      const text = await run(...argv);
      const line = text.out.split('\n').find((l) => l.startsWith('data: '));
      expect(line).toBeDefined();
      const j = await validJson([...argv, '--json']);
      expect(j.data).toBe(line!.slice('data: '.length));
      expect(typeof j.dims).toBe('object');
    }
  });

  it('the schema rejects what it should: a missing envelope field, a wrong kind body, a bad sign', async () => {
    const j = await validJson(COMMANDS[6][1]);
    const { seed: _s, ...noSeed } = j;
    expect(validate(noSeed)).toBe(false);
    expect(validate({ ...j, kind: 'comparison' })).toBe(false);
    const jumps = (j.jumps as Record<string, unknown>[]).map((x) => ({ ...x, sign: 2 }));
    expect(validate({ ...j, jumps })).toBe(false);
  });
});

describe('κ = 3: times are labelled and plotted in t/T₃(α), T₃(α) = 1/α − 1', () => {
  it('JSON conventions, every method\'s rescaledTime and the table header agree with the hand-computed unit', async () => {
    const alpha = 0.01;
    const T3 = 1 / alpha - 1; // ∫_α^1 s^{-2} ds, by hand
    const argv = ['compare', '--spec', threeFactor, '--alpha', String(alpha), '--methods', 'agf,flow', '--json'];
    const j = await validJson(argv);
    const c = j.conventions as Record<string, unknown>;
    expect(c.kappa).toBe(3);
    expect(c.rescaledTimeUnit).toBe('(alpha^(2-kappa)-1)/(kappa-2)');
    expect(c.timeScale as number).toBeCloseTo(T3, 10);
    const schedules = j.schedules as Record<string, { jumps: { time: number; rescaledTime: number }[] }>;
    for (const m of ['agf', 'flow']) {
      expect(schedules[m].jumps.length).toBeGreaterThan(0);
      for (const jump of schedules[m].jumps) expect(jump.rescaledTime * T3).toBeCloseTo(jump.time, 8);
    }
    const text = await run('compare', '--spec', threeFactor, '--alpha', String(alpha), '--methods', 'agf,flow');
    expect(text.out).toMatch(/t\/T₃\(α\) agf/);
    expect(text.out).not.toMatch(/log\(1\/α\)|log\(1\/alpha\)/);
    const row1 = text.out.split('\n').find((l) => /^1\s/.test(l))!;
    const printed = Number(row1.trim().split(/\s+/)[3]);
    expect(printed).toBeCloseTo(schedules.agf.jumps[0].time / T3, 4);

    // the figure: both methods on the same axis, t/T₃(α) with T₃ by hand. The AGF verticals fix
    // the pixel map x = a + b·u from their first and last jumps; every AGF vertical and every
    // detected flow jump (the r = 3 circles) then sits at a + b·(time/T₃) to SVG rounding
    const { dir } = scratch('schema-kappa3-plot');
    const figRun = await run('compare', '--spec', threeFactor, '--alpha', String(alpha), '--methods', 'agf,flow', '--out', dir);
    expect(figRun.code, figRun.err).toBe(0);
    const svg = readFileSync(join(dir, 'compare.svg'), 'utf8');
    expect(svg).toContain('>t/T₃(α), T₃(α) = 1/α − 1<');
    const vx = [...svg.matchAll(/<path class="vline" d="M([\d.]+) /g)].map((m) => Number(m[1]));
    const cx = [...svg.matchAll(/<circle cx="([\d.]+)" cy="[\d.]+" r="3">/g)].map((m) => Number(m[1]));
    const agfU = schedules.agf.jumps.map((jj) => jj.time / T3), flowU = schedules.flow.jumps.map((jj) => jj.time / T3);
    expect(vx).toHaveLength(agfU.length);
    expect(cx).toHaveLength(flowU.length);
    const b = (vx[vx.length - 1] - vx[0]) / (agfU[agfU.length - 1] - agfU[0]), a = vx[0] - b * agfU[0];
    agfU.forEach((u, k) => expect(Math.abs(vx[k] - (a + b * u))).toBeLessThan(0.02));
    flowU.forEach((u, k) => expect(Math.abs(cx[k] - (a + b * u))).toBeLessThan(0.02));
  });
});
