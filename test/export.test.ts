/**
 * --export: θ(t) and the loss at full precision. The integrated flow's export is checked against
 * the closed form's export at the same times (whitened single neuron, an independent solution),
 * the .npy against the CSV bit for bit (and against NumPy's reader when python3 has numpy), the
 * JSON against the schema's trajectory kind.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectBadInput, run, scratch } from './helpers/cli.ts';

const { dir } = scratch('gradflow-export-');

function readCsv(path: string): { header: string[]; rows: number[][]; comments: string[] } {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const comments = lines.filter((l) => l.startsWith('# '));
  const body = lines.filter((l) => !l.startsWith('# '));
  return { header: body[0].split(','), rows: body.slice(1).map((l) => l.split(',').map(Number)), comments };
}

function readNpy(path: string): { shape: number[]; data: Float64Array } {
  const buf = readFileSync(path);
  expect([...buf.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  expect(header).toMatch(/'descr': '<f8', 'fortran_order': False/);
  expect((10 + hlen) % 64).toBe(0);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  const bytes = buf.subarray(10 + hlen);
  const data = new Float64Array(bytes.length / 8);
  for (let k = 0; k < data.length; k++) data[k] = bytes.readDoubleLE(8 * k);
  return { shape, data };
}

describe('--export', () => {
  const times = '0,0.5,1,2.5,4,6';
  const common = ['single-neuron', '--alpha', '0.01', '--seed', '3', '--t', '6', '--export-at', times];

  it('flow θ(t) agrees with the closed form at the exported times; names every parameter', async () => {
    const f = join(dir, 'flow.csv'), e = join(dir, 'exact.csv');
    expect((await run('flow', ...common, '--rtol', '1e-12', '--export', f)).code).toBe(0);
    expect((await run('exact', ...common, '--export', e)).code).toBe(0);
    const a = readCsv(f), b = readCsv(e);
    expect(a.header).toEqual(['t', 'loss', 'a[0]', ...Array.from({ length: 10 }, (_, k) => `w[0][${k}]`)]);
    expect(a.comments.join('\n')).toMatch(/loss: 1\/\(2n\) sum of squares/);
    expect(a.comments.join('\n')).toMatch(/alpha = 0\.01/);
    expect(a.rows.map((r) => r[0])).toEqual(times.split(',').map(Number));
    for (let k = 0; k < a.rows.length; k++) {
      const scale = Math.max(...b.rows[k].slice(2).map(Math.abs));
      for (let q = 2; q < a.header.length; q++) expect(Math.abs(a.rows[k][q] - b.rows[k][q]) / scale).toBeLessThan(1e-8);
      expect(Math.abs(a.rows[k][1] - b.rows[k][1]) / b.rows[k][1]).toBeLessThan(1e-8);
    }
  });

  it('.npy holds the CSV numbers bit for bit (and NumPy reads it when python3 has numpy)', async () => {
    const c = join(dir, 'g.csv'), n = join(dir, 'g.npy');
    expect((await run('descent', 'diagonal', '--steps', '400', '--export', c, '--export-at', 'log:20')).code).toBe(0);
    expect((await run('descent', 'diagonal', '--steps', '400', '--export', n, '--export-at', 'log:20')).code).toBe(0);
    const csv = readCsv(c), npy = readNpy(n);
    expect(npy.shape).toEqual([csv.rows.length, csv.header.length]);
    expect(Array.from(npy.data)).toEqual(csv.rows.flat());
    const py = spawnSync('python3', ['-c', `import numpy as np, sys; a = np.load(sys.argv[1]); print(a.shape[0], a.shape[1], repr(float(a[-1, -1])))`, n], { encoding: 'utf8' });
    if (py.status !== 0) console.warn('export.test: python3 with numpy not available; checked the .npy header and bytes by hand only');
    else expect(py.stdout.trim()).toBe(`${csv.rows.length} ${csv.header.length} ${String(csv.rows.at(-1)!.at(-1))}`);
  });

  it('JSON export is the schema\'s trajectory kind with t, loss, θ(t)', async () => {
    const j = join(dir, 'f.json');
    expect((await run('flow', 'diagonal', '--t', '2', '--export', j, '--export-at', 'lin:3')).code).toBe(0);
    const o = JSON.parse(readFileSync(j, 'utf8'));
    expect(o.kind).toBe('trajectory');
    expect(o.t).toEqual([0, 1, 2]);
    expect(o.theta).toHaveLength(3);
    expect(o.theta[0]).toHaveLength(o.parameters.length);
    expect(o.parameters.slice(0, 2)).toEqual(['u[0]', 'v[0]']);
  });

  it('bad --export / --export-at / --out: one line, exit 2, before computing', async () => {
    await expectBadInput(['flow', 'single-neuron', '--export', join(dir, 'x.txt')], /must end in \.csv, \.json, \.npy/);
    await expectBadInput(['flow', 'single-neuron', '--export', join(dir, 'missing', 'x.csv')], /does not exist/);
    await expectBadInput(['flow', 'single-neuron', '--export', join(dir, 'x.csv'), '--export-at', 'log:1'], /N must be between 2/);
    await expectBadInput(['flow', 'single-neuron', '--t', '1', '--export', join(dir, 'x.csv'), '--export-at', '0,5'], /outside the trajectory/);
    await expectBadInput(['flow', 'single-neuron', '--out', join(dir, 'g.csv')], /is not a directory/);
    // without --export or --out the selection would be ignored
    await expectBadInput(['flow', 'single-neuron', '--export-at', 'log:10'], /^gradflow: --export-at selects the times of --export FILE or --out DIR/);
    await expectBadInput(['descent', 'single-neuron', '--export', join(dir, 'x.csv'), '--export-at', '1,,2'], /comma-separated times \(got '1,,2'\)/);
  });
});
