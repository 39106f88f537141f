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
    // the message names the run and the step it was given, and asks for a smaller one (not the same value)
    ['divergent heavy ball', ['descent', 'single-neuron', '--lr', '50', '--momentum', '0.9', '--steps', '200'], /^gradflow: descent \(heavy ball, m = 0\.9\) diverged at step \d+ \(loss = .*\) at lr = 50; give a smaller --lr$/],
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
    // 1e-400 rounds to 0 in double precision; for agf, 0 would be the α → 0 limit
    ['alpha that underflows to 0 (agf)', ['agf', 'diagonal', '--alpha', '1e-400'], /^gradflow: --alpha: '1e-400' underflows to 0 in double precision/],
    ['alpha that underflows to 0 (flow)', ['flow', 'diagonal', '--alpha', '1e-400'], /--alpha: '1e-400' underflows to 0/],
    // p = 1000 would allocate 3p³ = 3e9 doubles (24 GB) before any check
    ['modular data past the entries cap', ['agf', 'modular', '--dim', 'p=1000'], /modular addition mod 1000 entries: 3000000000 exceeds the cap of \d+ on the number of data entries n·\(d \+ c\)/],
    ['an underflowing value in a list', ['sweep', 'diagonal', '--alphas', '1e-2,2.5e-999', '--seeds', '0'], /--alphas: '2.5e-999' underflows to 0/],
    // κ = 3 at α = 1e-3: the plateaus last ~1/α flow time, 2.6e7 gd steps at the default step — refused before the flow runs
    ['a simulated descent past the step cap', ['compare', '--spec', 'examples/three-factor-diagonal.json', '--alpha', '1e-3'], /^gradflow: gd: \d+ steps needed for flow time .* \(cap \d+, GRADFLOW_MAX_STEPS\); give a larger --lr or --alpha, or leave gd out \(--methods\)/],
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

  it('--init: the init label describes the given start (its norms), not the model\'s random one at alpha', async () => {
    const init = JSON.stringify({ u: [0.3, 0, 0.3, 0.4, 0.3], v: [0, 0, 0, 0.3, 0] });
    const r = await run('agf', 'diagonal', '--init', init);
    expect(r.code, r.err).toBe(0);
    const line = r.out.split('\n').find((l) => l.startsWith('init:'))!;
    expect(line).not.toContain('sqrt(2)·alpha');
    // ‖θ_i(0)‖ = ‖(u_i, v_i)‖: 0 for neuron 1, 0.5 for neuron 3
    expect(line).toContain('explicit θ(0) (given, not drawn), per-neuron norms ‖θ_i(0)‖ from 0 to 0.5');
    const j = JSON.parse((await run('flow', 'diagonal', '--init', init, '--json')).out) as { conventions: { init: string } };
    expect(j.conventions.init).toMatch(/^explicit θ\(0\)/);
  });

  it('compare: the time note names the step methods in the table and only those', async () => {
    const note = async (methods: string, ...more: string[]): Promise<string> => (await run('compare', 'diagonal', '--opt', 'n=12', '--methods', methods, ...more)).out.split('\n').find((l) => l.startsWith('loss:'))!;
    expect(await note('agf,flow')).toBe('loss: 1/(2n) sum of squares; time: flow time');
    expect(await note('agf,flow,momentum', '--momentum', '0.9')).toBe('loss: 1/(2n) sum of squares; time: flow time (momentum: t = k·lr/(1 − m))');
    expect(await note('agf,gd')).toBe('loss: 1/(2n) sum of squares; time: flow time (gd: t = k·lr)');
  }, 60_000);

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

describe('strict command line: per-command options, did you mean, --version, help <cmd>', () => {
  it('an unknown option names the command and the option it most likely meant, exit 2, one line', async () => {
    await expectBadInput(['flow', 'single-neuron', '--foo'], /^gradflow: unknown option --foo for 'flow' \(see gradflow help flow\)$/);
    await expectBadInput(['flow', 'single-neuron', '--tend', '5'], /^gradflow: unknown option --tend for 'flow' \(did you mean --t\?\)$/);
    await expectBadInput(['flow', 'single-neuron', '--metod', 'rk4'], /unknown option --metod for 'flow' \(did you mean --method\?\)/);
    await expectBadInput(['compare', 'diagonal', '--method', 'gd'], /unknown option --method for 'compare' \(did you mean --methods\?\)/);
    await expectBadInput(['descent', 'single-neuron', '--learning-rate', '0.1'], /did you mean --lr\?/);
    await expectBadInput(['flow', 'single-neuron', '--lr', '0.1'], /unknown option --lr for 'flow' \(--lr is an option of descent, .*compare/);
    await expectBadInput(['flow', 'single-neuron', '-t', '5'], /unknown option -t: options take two dashes \(did you mean --t\?\)/);
    await expectBadInput(['flwo', 'single-neuron'], /unknown command 'flwo' \(did you mean 'flow'\?/);
    await expectBadInput(['help', 'comprae'], /unknown command 'comprae' \(did you mean 'compare'\?/);
  });

  it('every command accepts each option it declares, and a one-letter slip in any of them suggests it', async () => {
    const { COMMANDS } = await import('../src/cli/registry.ts');
    const { parseArgs } = await import('../src/cli/args.ts');
    const sample = { number: '0.5', int: '3', string: 'x', list: 'a,b', numbers: '1,2', flag: '' } as const;
    let slips = 0;
    for (const c of COMMANDS) {
      const names = Object.keys(c.options);
      for (const [name, d] of Object.entries(c.options)) {
        const argv = d.kind === 'flag' ? [`--${name}`] : [`--${name}`, sample[d.kind]];
        expect(parseArgs(argv, c.options, { command: c.name }).values.has(name)).toBe(true);
        if (name.length < 4) continue;
        // drop one interior letter: the typo is at distance 1 from the option, so it must be among the suggestions
        const typo = name.slice(0, 2) + name.slice(3);
        if (names.includes(typo)) continue;
        expect(() => parseArgs([`--${typo}`, 'x'], c.options, { command: c.name }), `${c.name} --${typo}`).toThrow(new RegExp(`unknown option --${typo} for '${c.name}' \\(did you mean [^)]*--${name}\\b`));
        slips++;
      }
    }
    expect(slips).toBeGreaterThan(100);
  });

  it('option names are spelled one way: lower-case kebab-case, and one kind per name across commands', async () => {
    const { COMMANDS } = await import('../src/cli/registry.ts');
    const kinds = new Map<string, Set<string>>();
    for (const c of COMMANDS) {
      for (const [name, d] of Object.entries(c.options)) {
        expect(name, `${c.name} --${name}`).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
        if (!kinds.has(name)) kinds.set(name, new Set());
        kinds.get(name)!.add(d.kind === 'int' || d.kind === 'number' ? 'number' : d.kind);
      }
    }
    const mixed = [...kinds].filter(([, k]) => k.size > 1).map(([name, k]) => `${name}: ${[...k].join('/')}`);
    expect(mixed).toEqual([]);
  });

  it('--seeds is a list of seeds in every command: forces --seed 2 (5 seeds from 2) = --seeds 2..6 = 2,3,4,5,6, and --seeds 4 is the run of seed 4', async () => {
    type Pref = { seed: number | number[]; argv: string[]; preference: { seeds: number[]; changes: Record<string, { chosen: number[] }> } };
    const get = async (...extra: string[]): Promise<Pref> => {
      const r = await run('forces', 'softmax', '--preference', '--steps', '20', ...extra, '--json');
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as Pref;
    };
    const body = (j: Pref): string => JSON.stringify({ ...j, argv: null });
    const byDefault = await get('--seed', '2'), range = await get('--seeds', '2..6'), list = await get('--seeds', '2,3,4,5,6');
    expect(range.preference.seeds).toEqual([2, 3, 4, 5, 6]);
    expect(range.seed).toEqual([2, 3, 4, 5, 6]);
    expect(body(byDefault)).toBe(body(range));
    expect(body(list)).toBe(body(range));
    // one seed: the entry of that seed in the five-seed run
    const one = await get('--seeds', '4');
    expect(one.seed).toBe(4);
    for (const loss of ['sft', 'dpo']) expect(one.preference.changes[loss].chosen).toEqual([range.preference.changes[loss].chosen[2]]);
    // sweep and forces declare the same option
    const { COMMANDS } = await import('../src/cli/registry.ts');
    const decls = COMMANDS.filter((c) => c.options.seeds).map((c) => ({ name: c.name, kind: c.options.seeds.kind, help: c.options.seeds.help }));
    expect(decls.map((d) => d.name).sort()).toEqual(['forces', 'sweep']);
    for (const d of decls) expect(d.help).toContain('a list and/or ranges, e.g. 0..9 or 0,3,7');
  });

  it('advice in errors and warnings names a flag of the command that printed it', async () => {
    const { COMMANDS } = await import('../src/cli/registry.ts');
    const { cliAdvice } = await import('../src/cli/main.ts');
    const optionsOf = (name: string): string[] => Object.keys(COMMANDS.find((c) => c.name === name)!.options);
    const cases: [string[], RegExp][] = [
      [['compare', 'linear', '--variant', 'commuting', '--opt', 'case=2'], /use the conjecture variant \(--variant conjecture\)/],
      [['agf', 'diagonal', '--closed', '--init', JSON.stringify(Array(10).fill(1e-3))], /gradflow agf without --closed/],
      [['agf', 'diagonal', '--for', 'gd', '--lr', '5'], /lower the learning rate below [\d.]+ \(--lr\)/],
      [['agf', 'diagonal', '--for', 'gd', '--lr', '5', '--json'], /lower the learning rate below [\d.]+ \(--lr\)/],
    ];
    for (const [argv, advice] of cases) {
      const r = await run(...argv);
      const text = argv.includes('--json') ? r.err : r.out + r.err;
      expect(text, argv.join(' ')).toMatch(advice);
      const named = [...advice.exec(text)![0].matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]);
      expect(named.length).toBeGreaterThan(0);
      for (const o of named) expect(optionsOf(argv[0]), `${argv.join(' ')}: --${o}`).toContain(o);
    }
    // the integrators' "raise maxSteps or loosen rtol" becomes the running command's flags
    const ode = 'ode (dopri5): exceeded maxSteps = 10 at t = 1 of [0, 5]; raise maxSteps or loosen rtol';
    const cmd = (name: string) => COMMANDS.find((c) => c.name === name)!;
    expect(cliAdvice(ode, cmd('flow'))).toMatch(/raise --max-steps or loosen --rtol or shorten the run with --t$/);
    expect(cliAdvice(ode, cmd('compare'))).toMatch(/; shorten the run with --t$/);
    expect(cliAdvice(ode, cmd('compare-linear'))).toMatch(/; loosen --rtol or shorten the run with --t$/);
    expect(cliAdvice(ode, cmd('derive'))).toMatch(/; derive has no option to raise it$/);
  });

  it('--version prints package.json\'s version, from the top level and from any command', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const argv of [['--version'], ['version'], ['flow', '--version']]) {
      const r = await run(...argv);
      expect({ code: r.code, out: r.out.trim() }).toEqual({ code: 0, out: `gradflow ${pkg.version}` });
    }
  });

  it('help <cmd> equals <cmd> --help and lists exactly the options that command accepts', async () => {
    const { COMMANDS } = await import('../src/cli/registry.ts');
    for (const c of COMMANDS) {
      const a = await run('help', c.name), b = await run(c.name, '--help');
      expect(a.code).toBe(0);
      expect(a.out).toBe(b.out);
      const listed = [...a.out.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]).sort();
      expect(listed, c.name).toEqual(Object.keys(c.options).sort());
    }
    const top = await run('help');
    for (const c of COMMANDS) expect(top.out).toContain(`  ${c.name} `);
  });

  it('help compare <model> lists exactly what compare accepts for that model; compare --help labels the rest', async () => {
    const { compareCommand } = await import('../src/cli/commands/compare-commands.ts');
    const { MODEL_OPTIONS, COMMON_OPTIONS, FIGURE_OPTIONS } = await import('../src/cli/common.ts');
    // compare's own options (and --moments), each given with a value of its kind and an alpha out of
    // range: an option the model does not take fails first ("does not apply"), one it takes reaches
    // the alpha check (or its own value check): the run never computes
    const probe = Object.entries(compareCommand.options).filter(([k, d]) => k === 'moments' || (MODEL_OPTIONS[k] !== d && COMMON_OPTIONS[k] !== d && FIGURE_OPTIONS[k] !== d && k !== 'alpha'));
    const value = (kind: string): string[] => (kind === 'flag' ? [] : kind === 'list' ? ['agf'] : kind === 'number' || kind === 'int' ? ['1'] : ['auto']);
    for (const model of ['diagonal', 'relu', 'linear', 'factorization', 'single-neuron', 'modular']) {
      const help = await run('compare', model, '--help');
      expect(help.out).toBe((await run('help', 'compare', model)).out);
      const listed = new Set([...help.out.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]));
      // "with --methods: …": the option applies only with that one, and alone it is rejected
      const needs = new Map([...help.out.matchAll(/^ {2}--([a-z0-9-]+) [^\n]*? {2,}with --([a-z-]+): /gm)].map((m) => [m[1], m[2]]));
      for (const [k, d] of probe) {
        const need = needs.get(k);
        if (need) {
          const alone = await run('compare', model, `--${k}`, ...value(d.kind), '--alpha', '5');
          expect(alone.err, `compare ${model} --${k} alone`).toMatch(new RegExp(`--${k} does not apply to compare ${model} without --${need}`));
        }
        const r = await run('compare', model, `--${k}`, ...value(d.kind), ...(need && k !== need ? [`--${need}`, 'agf'] : []), '--alpha', '5');
        expect(r.code, `${model} --${k}`).toBe(2);
        expect(/does not apply/.test(r.err), `compare ${model} --${k}: ${r.err}`).toBe(!listed.has(k));
      }
      expect(listed.has('alpha') && listed.has('json') && listed.has('help')).toBe(true);
    }
    // the default alpha each form prints is the one it runs at (the JSON's conventions.alpha)
    for (const [model, extra] of [['modular', ['--dim', 'p=7', '--dim', 'h=6', '--spectrum', '1:4,2:1']], ['linear', []], ['linear', ['--dim', 'c=2', '--dim', 'd=2', '--dim', 'h=2', '--methods', 'agf']], ['diagonal', []]] as const) {
      const shown = /--alpha N +initial scale alpha in \(0, 1\) \(default ([0-9.e-]+)\)/.exec((await run('help', 'compare', model)).out)![1];
      const used = (JSON.parse((await run('compare', model, ...extra, '--json')).out) as { conventions: { alpha: number } }).conventions.alpha;
      expect(used, model).toBe(Number(shown));
    }
    const full = (await run('compare', '--help')).out;
    expect(full).toMatch(/--variant VALUE .*\[only linear models\]/);
    expect(full).toMatch(/--spectrum VALUE .*\[only modular\]/);
    expect(full).toMatch(/--methods A,B,… .*\[not modular\]/);
    expect(full).toMatch(/--fit-relax N .*\[only modular\]/);
    expect(full).not.toMatch(/--agf VALUE .*\[not modular\]/); // compare modular --agf closed|generic
    expect((await run('help', 'flow', 'diagonal')).err).toMatch(/help flow takes no model/);
  });

  it('--init takes inline JSON as well as a file, with the same result', async () => {
    const csv = file('data3-inline.csv', 'x1,x2,x3,y\n1,0,0,1\n0,1,0,2\n0,0,1,3\n');
    const state = JSON.stringify({ a: [0.5], w: [0.25, -0.5, 0] });
    const inline = await run('flow', 'single-neuron', '--data', csv, '--init', state, '--t', '0', '--json');
    const fromFile = await run('flow', 'single-neuron', '--data', csv, '--init', file('init-inline.json', state), '--t', '0', '--json');
    expect(inline.code).toBe(0);
    expect(JSON.parse(inline.out).final.theta).toEqual([0.5, 0.25, -0.5, 0]);
    expect(JSON.parse(inline.out).final).toEqual(JSON.parse(fromFile.out).final);
    await expectBadInput(['flow', 'single-neuron', '--data', csv, '--init', '{"a": [0.5], "w": [0.25'], /--init: cannot read the inline value as JSON/);
  });

  it('--max-steps caps the integrator, and the error names the flag to raise', async () => {
    await expectBadInput(['flow', 'single-neuron', '--t', '30', '--max-steps', '5'], /exceeded maxSteps = 5 .*raise --max-steps or loosen --rtol/);
    await expectBadInput(['flow', 'single-neuron', '--max-steps', '0'], /--max-steps must be a positive integer/);
  });
});
