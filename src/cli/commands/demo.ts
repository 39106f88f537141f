/**
 * `npm start`: the main job on built-in defaults, one model per step of the mission:
 *   1. derive the single neuron's gradient flow and prove what it conserves;
 *   2. integrate it from a small start and put it beside the closed form (δ = −2, 0, 2);
 *   3. predict the diagonal network's saddle-to-saddle jumps (AGF, Pesme–Flammarion) and
 *      compare them with simulated gradient flow and gradient descent;
 *   4–5. integrate a two-layer ReLU net kink by kink, and read a deep one as a chain of truncations.
 */
import type { Command } from '../common.ts';
import { COMMON_OPTIONS, FIGURE_OPTIONS, emitFiles, figureFiles, flag, num, printJson, resultJson } from '../common.ts';
import { jsonText, machineConventions, plain } from '../../report/json.ts';
import { timeUnit } from '../../schedule.ts';
import { singleNeuron, lawDrift } from '../../../models/single-neuron.ts';
import { diagonal } from '../../../models/diagonal.ts';
import { createProblem, derived } from '../../problem.ts';
import { equations } from '../../symbolic/derive.ts';
import { solveFlow } from '../../solvers/flow.ts';
import { solveExact } from '../../solvers/exact.ts';
import { relDiff } from '../../util/linalg.ts';
import { analyseLaws } from '../../laws/analyse.ts';
import { runMethods } from '../../analysis/runs.ts';
import { compareSchedules, comparisonJson, comparisonTable } from '../../analysis/compare.ts';
import { renderCsv, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import { renderPanels, type PlotSpec } from '../../report/svg.ts';
import { comparisonPlot } from '../../report/schedule-report.ts';
import { softmax } from '../../../models/softmax.ts';
import { etaSweep, forceTerms, labelOf, squeezing } from '../../analysis/forces.ts';
import { taskOf, tinyLm } from '../../../models/tiny-lm.ts';
import { fitReference, referenceOf, sequenceEtaSweep, sequenceForceTerms } from '../../analysis/sequence-forces.ts';
import { reluDemo } from './demo-relu.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'The main job on built-in defaults: derive and prove (single neuron), exact vs integrated flow, AGF jump times vs simulation (diagonal network), force analysis of softmax regression.',
  usage: 'gradflow demo [--alpha A] [--json] [--out DIR]',
  positionals: 0,
  options: {
    alpha: { kind: 'number', help: 'initial scale for both models', default: '1e-6' },
    ...FIGURE_OPTIONS,
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const alpha = num(args, 'alpha', 1e-6);
    const json = flag(args, 'json');
    const say = (s: string): void => { if (!json) io.out(s); };

    // 1. derivation and proof
    const d = derived(singleNeuron);
    say('1. Single linear neuron f(x) = a wᵀx — derived gradient flow (Kunin et al. 2024, “Get rich quick”)');
    for (const e of equations(d).filter((q) => q.label.startsWith('moment') || q.label === 'homogeneity')) say(`     ${e.text}`);
    const laws = analyseLaws(createProblem(singleNeuron, { alpha: 0.1 }), { audit: false });
    for (const pr of laws.proofs) say(`     conserved: ${pr.text}  —  ${pr.status} symbolically (${pr.scope})`);
    const c = laws.completeness;
    say(`     completeness: ${c.found} law, Lie rank gives D − rank = ${c.expected}: ${c.found === c.expected ? 'complete' : 'incomplete'}\n`);

    // 2. exact vs integrated trajectories
    const rows: Record<string, unknown>[] = [];
    const panels: PlotSpec[] = [];
    let dataNote = '';
    for (const delta of [-2, 0, 2]) {
      const p = createProblem(singleNeuron, { alpha, seed: 0, options: { delta } });
      const tEval = Array.from({ length: 31 }, (_, k) => k);
      const flow = solveFlow(p, { tEnd: 30, rtol: 1e-12 });
      const exact = solveExact(p, { tEnd: 30, name: 'whitened', tEval });
      const errs = tEval.map((t) => relDiff(flow.dense!(t), exact.dense!(t)));
      const half = exact.loss.findIndex((l) => l < exact.loss[0] / 2);
      rows.push({ delta, tHalf: half >= 0 ? tEval[half] : null, maxErr: Math.max(...errs), drift: lawDrift(flow.monitors.delta, flow.states), steps: flow.stats.steps });
      panels.push({ title: `single neuron, δ = ${delta}`, xLabel: 'flow time t', yLabel: 'loss', logY: true, series: [{ name: 'flow (dopri5)', x: flow.t, y: flow.loss }, { name: 'closed form', x: tEval, y: exact.loss, style: 'points' }] });
      dataNote = p.data.source;
    }
    const exactTable: Table = {
      title: `2. Integrated flow (dopri5, rtol 1e-12) vs the closed form, d = 10, alpha = ${alpha}`,
      columns: [
        { key: 'delta', header: 'δ = a² − ‖w‖²' }, { key: 'tHalf', header: 'loss halved by t' },
        { key: 'maxErr', header: 'max rel. error of θ(t), t ≤ 30' }, { key: 'drift', header: 'δ drift (rel.)' }, { key: 'steps', header: 'steps' },
      ],
      rows,
      notes: ['loss: 1/(2n) sum of squares; time: flow time', `init: ‖β0‖ = alpha², a0 > 0; alpha = ${alpha}`, `data: ${dataNote}`],
    };
    say(renderText(exactTable));
    say('');

    // 3. saddle-to-saddle: prediction vs simulation
    const pd = createProblem(diagonal, { alpha, seed: 0 });
    const runs = runMethods(pd, { methods: ['agf', 'pf', 'flow', 'gd'] });
    const cmp = compareSchedules(runs.schedules, 'agf');
    const jumpRows = cmp.jumps.map((j) => ({
      k: j.k, neuron: j.neuron, sign: j.sign === 1 ? '+' : j.sign === -1 ? '−' : '—',
      agf: j.rescaledTime.agf, pf: j.rescaledTime.pf, flow: j.rescaledTime.flow, gd: j.rescaledTime.gd,
      lossAgf: j.lossAfter.agf, lossFlow: j.lossAfter.flow, err: j.relError.flow,
    }));
    const jumpTable: Table = {
      title: `3. Diagonal linear network (d = ${pd.layout.dims.d}): saddle-to-saddle jumps, rescaled time t/log(1/alpha), alpha = ${alpha}`,
      columns: [
        { key: 'k', header: 'jump' }, { key: 'neuron', header: 'neuron' }, { key: 'sign', header: 'sign' },
        { key: 'agf', header: 'AGF' }, { key: 'pf', header: 'PF (α→0)' }, { key: 'flow', header: 'flow' }, { key: 'gd', header: 'GD' },
        { key: 'lossAgf', header: 'plateau (AGF)' }, { key: 'lossFlow', header: 'plateau (flow)' },
        { key: 'err', header: 'flow vs AGF', format: (v) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '—') },
      ],
      rows: jumpRows,
      notes: [
        'loss: 1/(2n) sum of squares; time: t/log(1/alpha) (flow time for flow, t = k·lr for GD)',
        `init: u = sqrt(2)·alpha, v = 0; alpha = ${alpha}`,
        `data: ${pd.data.source}`,
        ...runs.notes.filter((n) => n.startsWith('gd:')),
        'flow vs AGF: the gap is O(1) in flow time, so the rescaled error shrinks like 1/log(1/alpha) (gradflow sweep diagonal)',
      ],
    };
    say(renderText(jumpTable));
    say('');

    // 4–5. ReLU networks: kink-by-kink flow, truncation picture
    const reluPart = reluDemo(alpha);
    say(reluPart.text);
    say('');

    // 6. force analysis of a softmax model (theory.md §9)
    const pf = createProblem(softmax, { alpha: 0.5, seed: 0 });
    const forceRows = [0, 1].map((o) => {
      const t = forceTerms(pf, pf.theta0, o, o, 0.01);
      const y = labelOf(pf, o);
      return { o, y, pi: t.pi[y], nK: t.norms.K, nG: t.norms.G, pred: t.predicted[y], actual: t.actual[y], slope: etaSweep(pf, pf.theta0, o, o).slope };
    });
    const ps = createProblem(softmax, { dims: { V: 50, d: 4 }, alpha: 1.2, seed: 1, options: { n: 5 } });
    const sq = squeezing(ps, ps.theta0, 0, 1e-3).find((q) => q.sign === 'negative' && q.rank === 'low')!;
    // the sequence form on the tiny language model: one DPO step on pair 0, from an SFT reference
    const pl = createProblem(tinyLm, { alpha: 0.1, seed: 0 });
    const lm = taskOf(pl);
    const lmRef = fitReference(pl, lm, pl.theta0, 0.05, 100);
    const dpo = { name: 'dpo' as const, beta: 0.1, reference: referenceOf(pl, lm, lmRef) };
    const seqRows = (['chosen', 'rejected'] as const).map((which) => {
      const y = lm[which].subarray(0, lm.L);
      const t = sequenceForceTerms(pl, lm, lmRef, 0, y, 0, dpo, 0.01);
      return { which, pred: t.predictedSequence, actual: t.actualSequence, slope: sequenceEtaSweep(pl, lm, lmRef, 0, y, 0, dpo).slope };
    });
    const seqNote = `tiny LM (V = ${lm.V}, L = ${lm.L}; DPO β = 0.1, frozen SFT reference): one step (η = 0.01) on pair 0, Σ_m −η[Σ_l A_m K_ml G_l]_{y_m}: `
      + seqRows.map((r) => `Δlog π(${r.which === 'chosen' ? 'y⁺' : 'y⁻'}|x_0) ${r.pred.toExponential(4)} (measured ${r.actual.toExponential(4)}, error slope ${r.slope.toFixed(3)})`).join(', ');
    const forceTable: Table = {
      title: '6. Softmax regression: one GD step (η = 0.01) on example o, Δlog π(y_o|x_o) = −η A K G + O(η²)',
      columns: [
        { key: 'o', header: 'o' }, { key: 'y', header: 'y_o' }, { key: 'pi', header: 'π(y_o)' }, { key: 'nK', header: '‖K‖_F' }, { key: 'nG', header: '‖G‖' },
        { key: 'pred', header: '−η[AKG]_y' }, { key: 'actual', header: 'measured' }, { key: 'slope', header: 'error slope vs η', format: (v) => (v as number).toFixed(3) },
      ],
      rows: forceRows,
      notes: [
        `squeezing (V = 50, d = 4): a negative-gradient step on the least likely class (π = ${sq.piLabel.toExponential(2)}) lowers ${(100 * sq.fallFraction).toFixed(0)}% of the classes and raises the argmax by ${sq.argmaxGain.toExponential(3)} (closed form ${sq.argmaxGainClosedForm.toExponential(3)})`,
        `loss: ${pf.conventions.loss}; time: one GD step of size η at θ(0)`, `init: ${pf.conventions.init}; alpha = 0.5`, `data: ${pf.data.source}`,
        seqNote,
        'more: gradflow forces softmax (--squeeze J, --paths, --preference); gradflow forces tiny-lm (--preference); gradflow laws softmax proves 1ᵀW, 1ᵀb conserved',
      ],
    };
    say(renderText(forceTable));

    const unit = timeUnit(pd.derived.kappa, alpha);
    const fullTable = comparisonTable(cmp, jumpTable.notes ?? [], { unit, columns: 'full' });
    const result = resultJson(args, 'demo', 0, {
      singleNeuron: plain({ conventions: machineConventions(createProblem(singleNeuron, { alpha }).conventions, null, { rescaled: false }), equations: equations(d), proofs: laws.proofs.map((p) => ({ law: p.text, status: p.status })), completeness: { found: c.found, expected: c.expected }, exactVsFlow: rows }),
      forces: plain({ conventions: machineConventions(pf.conventions, null, { rescaled: false, time: 'one GD step of size eta = 0.01 at theta(0)' }), decomposition: forceRows, squeezing: { fallFraction: sq.fallFraction, argmaxGain: sq.argmaxGain, argmaxGainClosedForm: sq.argmaxGainClosedForm, relError: sq.relError }, sequence: { model: 'tiny-lm', loss: dpo.name, beta: dpo.beta, eta: 0.01, pair: 0, rows: seqRows } }),
      diagonal: comparisonJson(cmp, pd.derived.kappa, machineConventions(pd.conventions, pd.derived.kappa, { time: 'flow time (gd: t = k·lr); rescaledTime = time / timeScale' })),
      relu: plain(reluPart.json),
    });
    printJson(args, io, result);
    emitFiles(args, io, {
      'single-neuron.md': () => renderMarkdown(exactTable),
      'diagonal-jumps.md': () => renderMarkdown(fullTable),
      'diagonal-jumps.csv': () => renderCsv(fullTable),
      'demo.json': () => jsonText(result),
      'forces.md': () => renderMarkdown(forceTable),
      ...figureFiles('single-neuron', () => renderPanels(panels, 3)),
      ...figureFiles('diagonal-jumps', () => comparisonPlot(runs.schedules, runs.trajectories, unit, `loss: ${pd.conventions.loss}; init: ${pd.conventions.init}.`)),
    }, [exactTable, fullTable]);
  },
};
