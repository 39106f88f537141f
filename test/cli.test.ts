/**
 * The CLI through its entry function: bad input is one line on stderr and exit code 2 (no stack
 * trace, no half-written files); good input prints results with their conventions.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectBadInput, run, scratch } from './helpers/cli.ts';


const { dir, file } = scratch('gradflow-cli-');

describe('bad input: one line on stderr, exit code 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown model', ['flow', 'no-such-model'], /unknown model 'no-such-model'/],
    ['unknown command', ['fly'], /unknown command 'fly'/],
    ['unknown option', ['flow', 'single-neuron', '--alpah', '1'], /unknown option --alpah/],
    ['non-numeric option', ['flow', 'single-neuron', '--alpha', 'small'], /--alpha needs a number/],
    ['alpha ≤ 0', ['flow', 'single-neuron', '--alpha', '0'], /alpha must be a positive number/],
    ['negative alpha', ['flow', 'single-neuron', '--alpha=-1e-3'], /alpha must be a positive number/],
    ['t < 0', ['flow', 'single-neuron', '--t', '-1'], /end time must be a non-negative number/],
    ['unknown integrator', ['flow', 'single-neuron', '--method', 'euler'], /unknown method 'euler'/],
    ['learning rate ≤ 0', ['descent', 'single-neuron', '--lr', '0'], /learning rate must be positive/],
    ['divergent descent', ['descent', 'single-neuron', '--lr', '50', '--steps', '200'], /diverged at step \d+/],
    ['unknown dimension', ['flow', 'single-neuron', '--dim', 'q=3'], /has no dimension 'q'/],
    ['spec syntax error', ['derive', '--spec', file('syntax.json', JSON.stringify({ name: 'bad', dims: { d: 3 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, template: 'a * dot(w, x' }))], /expected '\)'/],
    ['spec undefined symbol', ['derive', '--spec', file('undef.json', JSON.stringify({ name: 'bad', dims: { d: 3 }, params: { a: [], w: ['d'] }, inputs: { x: ['d'] }, template: 'a * dot(q, x)' }))], /undefined symbol 'q'/],
    ['spec not JSON', ['derive', '--spec', file('notjson.json', '{ name: ')], /not valid JSON/],
    ['spec unknown field', ['derive', '--spec', file('typo.json', JSON.stringify({ name: 'bad', dims: { d: 3 }, params: { a: [] }, inputs: { x: ['d'] }, temlate: 'a' }))], /unknown field "temlate"/],
    ['spec undeclared dimension', ['derive', '--spec', file('dim.json', JSON.stringify({ name: 'bad', dims: {}, params: { w: ['d'] }, inputs: { x: ['d'] }, template: 'dot(w, x)' }))], /dimension 'd', which is not declared/],
    ['data with wrong shapes', ['flow', 'single-neuron', '--data', file('shape.json', JSON.stringify({ X: [[1, 2], [3]], y: [1, 2] }))], /row 1 of 'X' has 1 entries/],
    ['data X/y length mismatch', ['flow', 'single-neuron', '--data', file('len.json', JSON.stringify({ X: [[1, 2], [3, 4]], y: [1] }))], /X has 2 rows but y has 1/],
    ['data with NaN', ['flow', 'single-neuron', '--data', file('nan.csv', 'x1,x2,y\n1,2,3\n4,NaN,6\n')], /non-finite value \(NaN\) at row 1, column 1/],
    ['data with null', ['flow', 'single-neuron', '--data', file('null.json', JSON.stringify({ X: [[1, null], [3, 4]], y: [1, 2] }))], /non-finite value/],
    ['missing data file', ['flow', 'single-neuron', '--data', join(dir, 'nope.json')], /cannot read/],
    ['no closed form applies', ['exact', 'single-neuron', '--opt', 'whitened=0'], /no closed form applies.*not whitened/],
    ['unknown model option', ['flow', 'single-neuron', '--opt', 'gamma=1'], /has no option 'gamma'/],
    ['degenerate X (all-zero column) for AGF', ['agf', 'diagonal', '--data', file('zerocol.json', JSON.stringify({ X: [[1, 0], [2, 0], [3, 0]], y: [1, 2, 3] }))], /column 1 of X is all zero/],
    ['alpha ≥ 1 for a jump schedule', ['agf', 'diagonal', '--alpha', '1'], /alpha must lie in \(0, 1\)/],
  ];
  for (const [name, argv, re] of cases) {
    it(name, () => expectBadInput(argv, re));
  }

  it('a failed run leaves no half-written output files', async () => {
    const out = join(dir, 'failed-out');
    const r = await run('descent', 'single-neuron', '--lr', '50', '--steps', '200', '--out', out);
    expect(r.code).toBe(2);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});

describe('good input', () => {
  it('flow prints checkpoints with their conventions, and --out writes the report', async () => {
    const out = join(dir, 'flow-out');
    const r = await run('flow', 'single-neuron', '--alpha', '1e-3', '--t', '10', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/loss: 1\/\(2n\) sum of squares/);
    expect(r.out).toMatch(/time: flow time/);
    expect(r.out).toMatch(/alpha = 0\.001/);
    expect(readdirSync(out).sort()).toEqual(['flow-dopri5-trajectory.csv', 'flow-dopri5.csv', 'flow-dopri5.json', 'flow-dopri5.md', 'flow-dopri5.pdf', 'flow-dopri5.png', 'flow-dopri5.svg', 'flow-dopri5.tex', 'report.html']);
    const json = JSON.parse(readFileSync(join(out, 'flow-dopri5.json'), 'utf8'));
    expect(json.conventions).toMatchObject({ loss: '1/(2n) sum of squares', time: 'flow time', alpha: 0.001 });
  });

  it('--json output is deterministic: same inputs, same bytes', async () => {
    const a = await run('flow', 'single-neuron', '--json', '--t', '5', '--seed', '4');
    const b = await run('flow', 'single-neuron', '--json', '--t', '5', '--seed', '4');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });

  it('a user spec file is derived and integrated without new code', async () => {
    const spec = file('three-factor.json', JSON.stringify({
      name: 'three-factor', dims: { d: 4 }, params: { u: [], v: [], s: [] }, inputs: { x: ['d'] }, output: [], neurons: 'd',
      template: 'u * v * s * x[i]', init: { u: { dist: 'constant' }, v: { dist: 'constant' }, s: { dist: 'constant' } },
    }));
    const d = await run('derive', '--spec', spec);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/κ = 3/);
    const f = await run('flow', '--spec', spec, '--alpha', '0.3', '--t', '5', '--json');
    expect(f.code).toBe(0);
    const j = JSON.parse(f.out);
    expect(j.checkpoints.at(-1).loss).toBeLessThan(j.initialLoss);
  });

  it('data from a CSV file fixes the input dimension', async () => {
    const csv = file('data.csv', 'x1,x2,x3,y\n1,0,0,1\n0,1,0,2\n0,0,1,3\n1,1,1,6\n');
    const r = await run('flow', 'single-neuron', '--data', csv, '--alpha', '0.1', '--t', '50', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.dims.d).toBe(3);
    expect(j.final.loss).toBeLessThan(1e-8); // y = Xβ with β = (1, 2, 3) is realisable
  });

  it('--init sets an explicit start (a0, w0) and bad ones are rejected', async () => {
    const init = file('init.json', JSON.stringify({ a: [0.5], w: [0.5, 0, 0] }));
    const csv = file('data3.csv', 'x1,x2,x3,y\n1,0,0,1\n0,1,0,2\n0,0,1,3\n');
    const r = await run('flow', 'single-neuron', '--data', csv, '--init', init, '--t', '0', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).final.theta).toEqual([0.5, 0.5, 0, 0]);
    const bad = await run('flow', 'single-neuron', '--data', csv, '--init', file('init-bad.json', JSON.stringify({ a: [0.5], w: [1] })));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/'w' must be an array of 3 finite numbers/);
  });

  it('the main job (npm start) runs end to end: proof, closed form, and AGF = PF in rescaled time', async () => {
    const r = await run('demo', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.singleNeuron.proofs[0].status).toBe('proved');
    expect(j.singleNeuron.completeness.found).toBe(j.singleNeuron.completeness.expected);
    for (const row of j.singleNeuron.exactVsFlow) expect(row.maxErr).toBeLessThan(1e-8);
    const { agf, pf } = j.diagonal.schedules;
    expect(agf.jumps.length).toBe(pf.jumps.length);
    agf.jumps.forEach((jump: { rescaledTime: number }, k: number) => expect(Math.abs(jump.rescaledTime - pf.jumps[k].rescaledTime)).toBeLessThan(1e-9 * jump.rescaledTime));
  });

  it('--help lists the options', async () => {
    const r = await run('flow', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--method/);
  });
});
