/**
 * `gradflow forces <model>`: force analysis of a softmax model (theory.md §9). At a chosen GD step
 * it prints the A·K·G decomposition of one step's influence for observed examples (with the
 * measured change and the η² error slope), the influence matrix over the training examples, and
 * optionally the squeezing effect, learning paths on the noisy-label mixture, or SFT vs DPO.
 */
import { progressLine } from '../../util/progress.ts';
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, SEEDS_OPTION, buildProblem, conventionLines, emitFiles, envelopeSeed, figureFiles, flag, num, printJson, resolveModel, resultJson, seedList, seedText, str } from '../common.ts';
import { renderPanels, type Series } from '../../report/svg.ts';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import type { Problem } from '../../problem.ts';
import { jsonText, machineConventions, plain } from '../../report/json.ts';
import { formatNumber, renderCsv, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import { etaSweep, forceTerms, influenceMatrix, labelOf, squeezing } from '../../analysis/forces.ts';
import { accuracy, descend, dpoForces, learningPaths, preferenceRun, trainWithTargets, withReference } from '../../analysis/learning-paths.ts';
import { isLossName, parseLossChoice, type LossChoice } from '../../symbolic/losses.ts';
import { gaussianMixture } from '../../../models/softmax.ts';
import { Rng } from '../../util/rng.ts';
import { f3, f6, intList, pm, slopeNotes, termColumns } from './forces-format.ts';
import { isSequenceModel, sequenceDecomposition, sequencePreference } from './forces-sequence.ts';


function lossFromArgs(args: ParsedArgs): LossChoice | undefined {
  const name = str(args, 'loss');
  if (name === undefined) {
    if (args.values.has('beta') || args.values.has('epsilon')) throw new GradflowError('--beta and --epsilon need --loss dpo / --loss label-smoothing');
    return undefined;
  }
  if (!isLossName(name)) return parseLossChoice(name, '--loss'); // throws the list of names
  const o: Record<string, unknown> = { name };
  if (args.values.has('beta')) o.beta = num(args, 'beta', 0);
  if (args.values.has('epsilon')) o.epsilon = num(args, 'epsilon', 0);
  return parseLossChoice(o, '--loss');
}

function checkSoftmax(p: Problem): void {
  if (!p.kernels.lossForm.translationInvariant || p.layout.c < 2) throw new GradflowError(`forces: model '${p.model.spec.name}' trains '${p.kernels.lossForm.choice.name}' on a ${p.layout.c}-vector output; force analysis needs softmax logits (use a softmax model, or --loss cross-entropy on a vector-output spec)`);
}

/** Which examples of the built-in mixture carry a flipped label (null for other data). */
function mislabelled(args: ParsedArgs, p: Problem): Uint8Array | null {
  if ((p.model.spec.name !== 'softmax' && p.model.spec.name !== 'softmax-mlp') || args.values.has('data') || args.values.has('spec')) return null;
  // the generator's own draw, replayed from the same seed
  const mx = gaussianMixture(p.data.n, p.data.dIn, p.layout.c, p.options.flip ?? 0.2, p.options.sep ?? 2.5, new Rng(p.seed + 1_000_003));
  for (let j = 0; j < p.data.n; j++) if (labelOf(p, j) !== mx.label[j]) return null;
  return mx.flipped;
}

/** θ after `steps` GD steps of size lr (the step at which the forces are measured). */
function thetaAt(p: Problem, steps: number, lr: number): Float64Array {
  if (steps === 0) return Float64Array.from(p.theta0);
  return descend(p, p.theta0, lr, steps, steps, () => undefined);
}

function decomposition(args: ParsedArgs, io: CommandIO, p: Problem): void {
  const eta = num(args, 'eta', 0.01);
  const steps = num(args, 'at', 0), lr = num(args, 'lr', 0.1);
  if (!Number.isInteger(steps) || steps < 0) throw new GradflowError(`--at must be a non-negative number of GD steps (got ${steps})`);
  const observed = intList(args, 'observe', [0, 1].filter((j) => j < p.data.n));
  const update = args.values.has('update') ? num(args, 'update', 0) : null;
  const theta = thetaAt(p, steps, lr);
  const rows = observed.map((o) => {
    const u = update ?? o;
    const t = forceTerms(p, theta, o, u, eta);
    const y = labelOf(p, o);
    const sweep = etaSweep(p, theta, o, u);
    return {
      o, u, y, pi: t.pi[y], nA: t.norms.A, nK: t.norms.K, nG: t.norms.G, pred: t.predicted[y], actual: t.actual[y],
      err: t.error, slope: sweep.slope, terms: t, sweep,
    };
  });
  const inf = influenceMatrix(p, theta, observed, eta);
  const table: Table = {
    title: `A·K·G decomposition of one GD step of size η = ${eta} on example u, observed at x_o (after ${steps} GD steps of size ${lr})`,
    columns: [
      { key: 'o', header: 'o' }, { key: 'u', header: 'u' }, { key: 'y', header: 'y_o' },
      { key: 'pi', header: 'π(y_o|x_o)', align: 'right', format: f6 },
      ...termColumns({ pred: '−η[AKG]_y', actual: 'Δlog π(y_o) measured', err: '‖error‖ (all classes)' }),
    ],
    rows,
    notes: [
      'A = I − 1πᵀ (V × V), K = J(x_o)J(x_u)ᵀ (empirical NTK from the compiled Jacobians), G = ∇_z ℓ(x_u); the step is θ ← θ − η∇_θ ℓ(x_u)',
      'error slope: least-squares slope of log ‖Δlog π_measured − (−ηAKG)‖ against log η over 7 η in [1e-4, 1e-1] (2 for a first-order-exact prediction)',
      ...slopeNotes(rows),
      ...conventionLines(p, `GD steps of size ${lr} before the analysis (flow time ${steps * lr}); the analysed step has size η = ${eta}`),
    ],
  };
  const flipped = mislabelled(args, p);
  const top = (row: number[], sign: 1 | -1): string => row.map((v, u) => ({ v, u })).filter((e) => sign * e.v > 0).sort((a, b) => sign * (b.v - a.v)).slice(0, 3).map((e) => `${e.u}${flipped?.[e.u] ? '*' : ''} (${formatNumber(e.v, 3)})`).join(', ') || '—';
  const infTable: Table = {
    title: `influence of each training example on log π(y_o | x_o) under one full-batch GD step (η = ${eta}): −(η/n)[A K_ou G_u]_y`,
    columns: [
      { key: 'o', header: 'o' }, { key: 'up', header: 'pushes up most (u, Δ)' }, { key: 'down', header: 'pushes down most (u, Δ)' },
      { key: 'pred', header: 'Σ_u (first order)', align: 'right', format: f6 }, { key: 'actual', header: 'measured', align: 'right', format: f6 },
    ],
    rows: inf.observed.map((o, r) => ({ o, up: top(inf.influence[r], 1), down: top(inf.influence[r], -1), pred: inf.predicted[r], actual: inf.actual[r] })),
    notes: [`${p.data.n} training examples${flipped ? ' (* mislabelled)' : ''}; the full matrix is in --json and influence.csv (--out)`],
  };
  const json = resultJson(args, 'forces', p.seed, {
    model: p.model.spec.name,
    conventions: machineConventions(p.conventions, null, { rescaled: false, time: `${steps} GD steps of size ${lr} before the analysis; one step of size eta analysed` }),
    loss: p.kernels.lossForm.choice,
    eta, at: { steps, lr, flowTime: steps * lr },
    terms: rows.map((r) => ({
      observed: r.o, update: r.u, label: r.y, pi: plain(r.terms.pi), A: plain(r.terms.A), K: plain(r.terms.K), G: plain(r.terms.G),
      norms: r.terms.norms, predicted: plain(r.terms.predicted), actual: plain(r.terms.actual), error: r.err,
      etaSweep: { etas: r.sweep.etas, errors: r.sweep.errors, slope: r.sweep.slope },
    })),
    influence: { observed: inf.observed, labels: inf.labels, matrix: inf.influence, predicted: inf.predicted, actual: inf.actual },
  });
  if (!printJson(args, io, json)) io.out(`${renderText(table)}\n${renderText(infTable)}`);
  emitFiles(args, io, {
    'forces.md': () => `${renderMarkdown(table)}\n\n${renderMarkdown(infTable)}`,
    'forces.json': () => jsonText(json),
    'influence.csv': () => renderCsv({ columns: [{ key: 'o', header: 'observed' }, ...Array.from({ length: p.data.n }, (_, u) => ({ key: `u${u}`, header: `u${u}` }))], rows: inf.observed.map((o, r) => ({ o, ...Object.fromEntries(inf.influence[r].map((v, u) => [`u${u}`, v])) })) }),
  });
}

function squeezeReport(args: ParsedArgs, io: CommandIO, p: Problem): void {
  const eta = num(args, 'eta', 1e-3);
  const j = num(args, 'squeeze', 0);
  const cases = squeezing(p, p.theta0, j, eta);
  const table: Table = {
    title: `squeezing effect: one GD step of size η = ${eta} on example ${j} (V = ${p.layout.c}, input dimension ${p.data.dIn}); argmax class ${cases[0].argmax}`,
    columns: [
      { key: 'sign', header: 'gradient' }, { key: 'rank', header: 'label' }, { key: 'label', header: 'y' },
      { key: 'piLabel', header: 'π(y)', align: 'right', format: f6 },
      { key: 'fall', header: 'classes falling', align: 'right', format: (v) => `${((v as number) * 100).toFixed(0)}%` },
      { key: 'fall1', header: 'first-order rule', align: 'right', format: (v) => `${((v as number) * 100).toFixed(0)}%` },
      { key: 'dy', header: 'Δπ(y)', align: 'right', format: f3 },
      { key: 'gain', header: 'Δπ(argmax) measured', align: 'right', format: f6 }, { key: 'gainCf', header: 'closed form', align: 'right', format: f6 },
      { key: 'rel', header: 'max rel. diff', align: 'right', format: f3 },
    ],
    rows: cases.map((c) => ({ sign: c.sign, rank: c.rank, label: c.label, piLabel: c.piLabel, fall: c.fallFraction, fall1: c.fallFractionFirstOrder, dy: c.measured[c.label], gain: c.argmaxGain, gainCf: c.argmaxGainClosedForm, rel: c.relError })),
    notes: [
      'negative: a descent step on +log π(y) (G = e_y − π, the negative-gradient term alone); positive: on −log π(y) (G = π − e_y, SFT)',
      'closed form: π′ = softmax(z − ηKG) with K = J Jᵀ at x (free logits scaled by K; exact for z linear in θ); first-order rule: class k ≠ y falls iff π_k < ‖π‖² − π_y (negative step)',
      ...conventionLines(p, `one GD step of size η = ${eta} at θ(0)`),
    ],
  };
  const json = resultJson(args, 'forces', p.seed, {
    model: p.model.spec.name,
    conventions: machineConventions(p.conventions, null, { rescaled: false, time: 'one GD step of size eta at theta(0)' }),
    loss: p.kernels.lossForm.choice, eta, example: j,
    squeezing: cases.map((c) => ({ ...c, measured: plain(c.measured), closedForm: plain(c.closedForm) })),
  });
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, { 'squeezing.md': () => renderMarkdown(table), 'squeezing.json': () => jsonText(json) });
}


/** Learning paths in the probability simplex: (π_0, π_1, π_2) ↦ (π_1 + π_2/2, (√3/2) π_2); four clean and four mislabelled examples. */
function ternaryPlot(paths: Float64Array[][], flipped: Uint8Array, caption: string): string {
  const h = Math.sqrt(3) / 2;
  const series: Series[] = [{ name: 'simplex (corners: class 0, 1, 2)', x: [0, 1, 0.5, 0], y: [0, 0, h, 0], style: 'dashed', color: '#888888' }];
  const pick = (want: number): number[] => paths.map((_, j) => j).filter((j) => flipped[j] === want).slice(0, 4);
  const ends: { x: number[]; y: number[] }[] = [{ x: [], y: [] }, { x: [], y: [] }];
  for (const [want, label, color] of [[0, 'clean', '#1f77b4'], [1, 'mislabelled', '#d62728']] as const) {
    for (const j of pick(want)) {
      const x = paths[j].map((pi) => pi[1] + pi[2] / 2), y = paths[j].map((pi) => h * pi[2]);
      series.push({ name: `${label} ${j}`, x, y, color });
      ends[0].x.push(x[0]); ends[0].y.push(y[0]);
      ends[1].x.push(x[x.length - 1]); ends[1].y.push(y[y.length - 1]);
    }
  }
  series.push({ name: 'start', ...ends[0], style: 'points', color: '#444444' }, { name: 'end', ...ends[1], style: 'points', color: '#2ca02c' });
  return renderPanels([{ title: 'learning paths in the simplex', xLabel: 'π₁ + π₂/2', yLabel: '(√3/2) π₂', series, xDomain: [0, 1], yDomain: [0, h], caption }], 1);
}

function pathsReport(args: ParsedArgs, io: CommandIO, p: Problem): void {
  if (p.model.spec.name !== 'softmax' && p.model.spec.name !== 'softmax-mlp') throw new GradflowError('--paths needs the built-in softmax mixture data (models softmax, softmax-mlp)');
  if (p.kernels.lossForm.preference) throw new GradflowError('--paths trains on class labels: use --loss cross-entropy or label-smoothing');
  const steps = num(args, 'steps', 400), lr = num(args, 'lr', 0.5), every = Math.max(1, Math.floor(steps / 100));
  if (!mislabelled(args, p)) throw new GradflowError('--paths needs the generated mixture (no --data)');
  const mx = gaussianMixture(p.data.n, p.data.dIn, p.layout.c, p.options.flip ?? 0.2, p.options.sep ?? 2.5, new Rng(p.seed + 1_000_003));
  const labels = Array.from({ length: p.data.n }, (_, j) => labelOf(p, j));
  const lp = learningPaths(p, p.theta0, labels, lr, steps, every);
  const last = lp.steps.length - 1;
  const group = (flipped: boolean): Record<string, unknown> => {
    const js = Array.from({ length: p.data.n }, (_, j) => j).filter((j) => (mx.flipped[j] === 1) === flipped);
    if (js.length === 0) return { group: flipped ? 'mislabelled' : 'clean', n: 0 };
    // the most the true class led along the path: how far "similar examples" pulled the point
    const peakTrue = js.map((j) => Math.max(...lp.paths[j].map((pi) => pi[mx.trueClass[j]])));
    return {
      group: flipped ? 'mislabelled' : 'clean', n: js.length,
      labelEnd: pm(js.map((j) => lp.paths[j][last][labels[j]])),
      trueEnd: pm(js.map((j) => lp.paths[j][last][mx.trueClass[j]])),
      truePeak: pm(peakTrue),
      reversals: pm(js.map((j) => lp.reversals[j])),
    };
  };
  const rows = [group(false), group(true)];
  const table: Table = {
    title: `learning paths: π(x_j) over ${steps} GD steps of size ${lr} (recorded every ${every}), mean ± sd per group`,
    columns: [
      { key: 'group', header: 'examples' }, { key: 'n', header: 'n' },
      { key: 'labelEnd', header: 'π(label) at end' }, { key: 'trueEnd', header: 'π(true class) at end' },
      { key: 'truePeak', header: 'max π(true class) on path' }, { key: 'reversals', header: 'turns of π(label)' },
    ],
    rows,
    notes: ['turns: sign changes of the recorded increments of π(label | x_j) (the zig-zag of a path)', ...conventionLines(p, `GD steps of size ${lr}`)],
  };
  const json = resultJson(args, 'forces', p.seed, {
    model: p.model.spec.name,
    conventions: machineConventions(p.conventions, null, { rescaled: false, time: `GD steps of size ${lr}` }),
    loss: p.kernels.lossForm.choice,
    paths: { steps: lp.steps, flipped: Array.from(mx.flipped), trueClass: Array.from(mx.trueClass), labels, reversals: lp.reversals, summary: rows, pi: lp.paths.map((path) => path.map((pi) => plain(pi))) },
  });
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, {
    'paths.md': () => renderMarkdown(table), 'paths.json': () => jsonText(json),
    ...(p.layout.c === 3 ? figureFiles('paths', () => ternaryPlot(lp.paths, mx.flipped, `π over ${steps} GD steps of size ${lr}; ${conventionLines(p)[0]}`)) : {}),
  });
}

function preferenceReport(args: ParsedArgs, io: CommandIO, def: Problem['model']): void {
  const seedIds = seedList(args, 5, 100), seeds = seedIds.length;
  const steps = num(args, 'steps', 200), lr = num(args, 'lr', 0.5), warm = num(args, 'warm', 200);
  const beta = args.values.has('beta') ? num(args, 'beta', 0.1) : 0.1;
  const rows: Record<string, unknown>[] = [];
  const perLoss: Record<string, { chosen: number[]; rejected: number[]; argmax: number[]; force?: { chosen: number[]; rejected: number[]; argmax: number[] } }> = {};
  for (const name of ['sft', 'dpo'] as const) perLoss[name] = { chosen: [], rejected: [], argmax: [] };
  const forceSplit = { chosenPos: [] as number[], chosenNeg: [] as number[], rejPos: [] as number[], rejNeg: [] as number[], maxPos: [] as number[], maxNeg: [] as number[] };
  let shown: Problem | null = null;
  const lossNames: string[] = [];
  const bar = io.progress ? progressLine(io.err, `forces ${def.spec.name} --preference: seeds`) : undefined;
  for (let s = 0; s < seeds; s++) {
    // the policy starts from a cross-entropy fit (the reference model, frozen), then trains on pairs
    const ce = buildProblem({ ...args, values: new Map([...args.values].filter(([k]) => k !== 'loss' && k !== 'beta').concat([['seed', seedIds[s]]])) }, def, { alpha: 0.1, loss: { name: 'cross-entropy' } });
    const ref = warm > 0 ? descend(ce, ce.theta0, lr, warm, warm, () => undefined) : ce.theta0;
    for (const name of ['sft', 'dpo'] as const) {
      const base = buildProblem({ ...args, values: new Map([...args.values].concat([['seed', seedIds[s]]])) }, def, { alpha: 0.1, loss: name === 'dpo' ? { name, beta } : { name } });
      const p = withReference(base, ref);
      shown ??= p;
      if (s === 0) lossNames.push(`${name}: ${p.conventions.loss}`);
      const run = preferenceRun(p, ref, lr, steps, steps);
      const [a, b] = [run.points[0], run.points[run.points.length - 1]];
      perLoss[name].chosen.push(b.chosen - a.chosen);
      perLoss[name].rejected.push(b.rejected - a.rejected);
      perLoss[name].argmax.push(b.argmax - a.argmax);
      if (name === 'dpo') {
        const f = dpoForces(p, ref, lr, run.argmaxClass);
        forceSplit.chosenPos.push(f.chosen.positive); forceSplit.chosenNeg.push(f.chosen.negative);
        forceSplit.rejPos.push(f.rejected.positive); forceSplit.rejNeg.push(f.rejected.negative);
        forceSplit.maxPos.push(f.argmax.positive); forceSplit.maxNeg.push(f.argmax.negative);
      }
    }
    bar?.((s + 1) / seeds);
  }
  for (const name of ['sft', 'dpo'] as const) {
    const r = perLoss[name];
    rows.push({ loss: name, chosen: pm(r.chosen), rejected: pm(r.rejected), argmax: pm(r.argmax), falls: `${r.chosen.filter((v) => v < 0).length}/${seeds} · ${r.rejected.filter((v) => v < 0).length}/${seeds} · ${r.argmax.filter((v) => v > 0).length}/${seeds}` });
  }
  const table: Table = {
    title: `SFT vs DPO (β = ${beta}) from a frozen reference (cross-entropy fit, ${warm} GD steps): change of the mean π over ${steps} GD steps of size ${lr}, mean ± sd over ${seeds} seeds`,
    columns: [
      { key: 'loss', header: 'loss' }, { key: 'chosen', header: 'Δπ(y⁺)' }, { key: 'rejected', header: 'Δπ(y⁻)' }, { key: 'argmax', header: 'Δπ(argmax at start)' },
      { key: 'falls', header: 'seeds with π(y⁺)↓ · π(y⁻)↓ · argmax↑' },
    ],
    rows,
    notes: [
      `DPO force split at the start (first-order Δlog π per step of size ${lr}, mean over pairs and seeds): y⁺ ${pm(forceSplit.chosenPos)} from G's y⁺ half, ${pm(forceSplit.chosenNeg)} from its y⁻ half; y⁻ ${pm(forceSplit.rejPos)} / ${pm(forceSplit.rejNeg)}; argmax ${pm(forceSplit.maxPos)} / ${pm(forceSplit.maxNeg)}`,
      'pairs are drawn independently of the model (off-policy data); argmax: the reference model’s most likely class per prompt',
      `losses: ${lossNames.join('; ')}`,
      ...(shown ? conventionLines(shown, `GD steps of size ${lr}`).slice(1) : []),
    ],
  };
  const json = resultJson(args, 'forces', envelopeSeed(seedIds), {
    model: def.spec.name,
    conventions: shown ? machineConventions(shown.conventions, null, { rescaled: false, time: `GD steps of size ${lr}` }) : null,
    loss: { name: 'sft-vs-dpo', beta }, preference: { seeds: seedIds, steps, lr, warm, changes: perLoss, dpoForceSplit: forceSplit },
  });
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, { 'preference.md': () => renderMarkdown(table), 'preference.json': () => jsonText(json) });
}

function noiseReport(args: ParsedArgs, io: CommandIO, def: Problem['model']): void {
  if (def.spec.name !== 'softmax' && def.spec.name !== 'softmax-mlp') throw new GradflowError('--noise needs the built-in softmax mixture data (models softmax, softmax-mlp)');
  const seedIds = seedList(args, 5, 100), seeds = seedIds.length;
  const steps = num(args, 'steps', 400), lr = num(args, 'lr', 0.5);
  const eps = args.values.has('epsilon') ? num(args, 'epsilon', 0.1) : 0.1;
  const gamma = 0.05, nTest = 300;
  const flips = [0, 0.2, 0.4];
  const schemes = ['hard', 'label-smoothing', 'filter-kd'] as const;
  const acc: Record<string, number[][]> = Object.fromEntries(schemes.map((k) => [k, flips.map(() => [] as number[])]));
  let shown: Problem | null = null;
  const bar = io.progress ? progressLine(io.err, `forces ${def.spec.name} --noise: runs`) : undefined;
  flips.forEach((flip, fi) => {
    for (let s = 0; s < seeds; s++) {
      const argsFor = (loss: string): ParsedArgs => {
        const values = new Map([...args.values].filter(([k]) => k !== 'noise' && k !== 'loss' && k !== 'epsilon'));
        const opt = ((values.get('opt') as string[] | undefined) ?? []).filter((o) => !o.startsWith('flip='));
        values.set('opt', [...opt, `flip=${flip}`]);
        values.set('seed', seedIds[s]);
        void loss;
        return { ...args, values };
      };
      const ce = buildProblem(argsFor('ce'), def, { alpha: 0.1, loss: { name: 'cross-entropy' } });
      const ls = buildProblem(argsFor('ls'), def, { alpha: 0.1, loss: { name: 'label-smoothing', epsilon: eps } });
      shown ??= ce;
      // a clean test set from the same class means, drawn with a different stream
      const test = gaussianMixture(nTest, ce.data.dIn, ce.layout.c, 0, ce.options.sep ?? 2.5, new Rng(seedIds[s] + 7_777_777));
      for (const scheme of schemes) {
        const run = trainWithTargets(scheme === 'label-smoothing' ? ls : ce, scheme, lr, steps, { gamma, every: 10 });
        acc[scheme][fi].push(accuracy(ce, run.theta, test.X, test.trueClass));
      }
      bar?.((fi * seeds + s + 1) / (flips.length * seeds));
    }
  });
  const rows = flips.map((flip, fi) => ({ flip: `${(flip * 100).toFixed(0)}%`, ...Object.fromEntries(schemes.map((k) => [k, pm(acc[k][fi])])) }));
  const table: Table = {
    title: `test accuracy under label noise (${nTest} clean test points; ${steps} GD steps of size ${lr}), mean ± sd over ${seeds} seeds`,
    columns: [{ key: 'flip', header: 'labels flipped' }, { key: 'hard', header: 'one-hot labels' }, { key: 'label-smoothing', header: `label smoothing ε = ${eps}` }, { key: 'filter-kd', header: `Filter-KD (γ = ${gamma})` }],
    rows,
    notes: [
      `Filter-KD: a teacher trained on the one-hot labels records q ← (1 − γ) q + γ π(x) every 10 steps (q starts at the label); a fresh student is trained by cross-entropy on q`,
      ...(shown ? conventionLines(shown, `GD steps of size ${lr}`).slice(0, 3) : []),
      `data: ${shown ? `${(shown as Problem).layout.c}-class Gaussian mixture in d = ${(shown as Problem).data.dIn}, n = ${(shown as Problem).data.n} training points with the row's fraction of labels flipped; seeds ${seedText(seedIds)}` : ''}`,
    ],
  };
  const json = resultJson(args, 'forces', envelopeSeed(seedIds), {
    model: def.spec.name,
    conventions: shown ? machineConventions((shown as Problem).conventions, null, { rescaled: false, time: `GD steps of size ${lr}` }) : null,
    loss: { name: 'label-noise', epsilon: eps, gamma }, noise: { flips, seeds: seedIds, steps, lr, nTest, accuracy: acc },
  });
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, { 'label-noise.md': () => renderMarkdown(table), 'label-noise.json': () => jsonText(json) });
}

export const forcesCommand: Command = {
  name: 'forces',
  aliases: ['force'],
  summary: 'Force analysis of a softmax model: the A·K·G decomposition of one step’s influence (predicted vs measured, η² error slope), the influence matrix, the squeezing effect, learning paths, SFT vs DPO; tiny-lm: the sequence form over token positions.',
  usage: 'gradflow forces (or force) <softmax model> [--observe 0,1] [--update U] [--eta H] [--at STEPS --lr LR] [--loss cross-entropy|label-smoothing|sft|dpo|neg-grad] [--squeeze J | --paths | --preference | --noise] [--json] [--out DIR]\n       gradflow forces tiny-lm [--observe 0,1] [--update U] [--loss dpo|sft] [--beta B] [--warm W] [--at STEPS] [--lr LR] [--preference --seeds 0..4 --steps S]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha', default: '0.5 (tiny-lm: 0.1)' },
    loss: { kind: 'string', help: 'train under this loss instead of the model’s (cross-entropy, label-smoothing, sft, dpo, neg-grad; tiny-lm: dpo (default) or sft on whole responses)' },
    beta: { kind: 'number', help: 'DPO β', default: '0.1' },
    epsilon: { kind: 'number', help: 'label-smoothing ε', default: '0.1' },
    eta: { kind: 'number', help: 'size of the analysed step', default: '0.01 (squeeze: 1e-3)' },
    observe: { kind: 'string', help: 'observed examples x_o, comma-separated', default: '0,1' },
    update: { kind: 'int', help: 'update example x_u of the decomposition', default: 'each observed example itself' },
    at: { kind: 'int', help: 'analyse after this many GD steps (tiny-lm: of --loss, from the reference)', default: '0' },
    lr: { kind: 'number', help: 'GD step size of the training before the analysis (and of --paths, --preference)', default: '0.1 (paths, preference: 0.5; tiny-lm: 0.05)' },
    squeeze: { kind: 'int', help: 'squeezing effect on example J: negative and positive gradient on labels of low, median and high probability' },
    paths: { kind: 'flag', help: 'learning paths on the noisy-label mixture: clean vs mislabelled examples' },
    preference: { kind: 'flag', help: 'SFT vs DPO from a frozen cross-entropy reference over seeds' },
    noise: { kind: 'flag', help: 'test accuracy of one-hot labels vs label smoothing vs Filter-KD at 0, 20, 40% flipped labels over seeds' },
    steps: { kind: 'int', help: 'GD steps of --paths / --preference', default: '400 / 200 (tiny-lm: 500)' },
    warm: { kind: 'int', help: 'GD steps of the fit that becomes the frozen reference (--preference; tiny-lm: sequence SFT on the target responses, also for the decomposition)', default: '200 (tiny-lm: 100)' },
    seeds: { ...SEEDS_OPTION, help: `--preference, --noise: ${SEEDS_OPTION.help}`, default: '5 seeds from --seed: 0..4' },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const def = resolveModel(args);
    const modes = ['squeeze', 'paths', 'preference', 'noise'].filter((k) => args.values.has(k));
    if (modes.length > 1) throw new GradflowError(`give one of --squeeze, --paths, --preference, --noise (got ${modes.map((m) => `--${m}`).join(', ')})`);
    if (isSequenceModel(def)) {
      if (modes.some((m) => m !== 'preference')) throw new GradflowError(`--${modes[0]} is for the single-token softmax models (softmax, softmax-mlp); tiny-lm takes the decomposition or --preference`);
      return flag(args, 'preference') ? sequencePreference(args, io, def) : sequenceDecomposition(args, io, def);
    }
    if (flag(args, 'preference')) return preferenceReport(args, io, def);
    if (flag(args, 'noise')) return noiseReport(args, io, def);
    const p = buildProblem(args, def, { alpha: 0.5, loss: lossFromArgs(args) });
    checkSoftmax(p);
    if (args.values.has('squeeze')) return squeezeReport(args, io, p);
    if (flag(args, 'paths')) return pathsReport(args, io, p);
    return decomposition(args, io, p);
  },
};
