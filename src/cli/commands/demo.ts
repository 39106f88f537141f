/**
 * `npm start`: the main job on built-in defaults. Derive the single neuron's flow, integrate it
 * from a small start in the three regimes (δ = −2, 0, 2), and put it beside the closed form.
 */
import type { Command } from '../common.ts';
import { COMMON_OPTIONS, emitFiles, flag, num } from '../common.ts';
import { singleNeuron } from '../../../models/single-neuron.ts';
import { createProblem, derived } from '../../problem.ts';
import { equations } from '../../symbolic/derive.ts';
import { solveFlow } from '../../solvers/flow.ts';
import { solveExact } from '../../solvers/exact.ts';
import { relDiff } from '../../util/linalg.ts';
import { lawDrift } from '../../../models/single-neuron.ts';
import { renderCsv, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import { renderPanels, type PlotSpec } from '../../report/svg.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'The main job on built-in defaults: derive, integrate and check the single linear neuron against its closed form.',
  usage: 'gradflow demo [--alpha A] [--t T] [--json] [--out DIR]',
  options: {
    alpha: { kind: 'number', help: 'initial scale (‖β0‖ = alpha²)', default: '1e-6' },
    t: { kind: 'number', help: 'end time', default: '30' },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const alpha = num(args, 'alpha', 1e-6);
    const tEnd = num(args, 't', 30);
    const json = flag(args, 'json');
    const d = derived(singleNeuron);
    if (!json) {
      io.out('gradflow demo — single linear neuron f(x) = a wᵀx (theory.md §1)\n');
      for (const e of equations(d)) io.out(`  ${e.text}`);
      io.out('');
    }
    const rows: Record<string, unknown>[] = [];
    const panels: PlotSpec[] = [];
    let conventions: string[] = [];
    for (const delta of [-2, 0, 2]) {
      const p = createProblem(singleNeuron, { alpha, seed: 0, options: { delta } });
      const tEval = Array.from({ length: 7 }, (_, k) => (tEnd * k) / 6);
      const flow = solveFlow(p, { tEnd, rtol: 1e-12 });
      const exact = solveExact(p, { tEnd, name: 'whitened', tEval });
      let maxErr = 0;
      for (const t of tEval) {
        const e = relDiff(flow.dense!(t), exact.dense!(t));
        maxErr = Math.max(maxErr, e);
      }
      const drift = lawDrift(flow.monitors.delta, flow.states);
      for (const t of [tEnd / 6, tEnd / 3, tEnd / 2]) {
        const th = flow.dense!(t);
        rows.push({
          delta, t, lossFlow: p.kernels.loss(th, p.data.X, p.data.Y, p.data.n),
          lossExact: p.kernels.loss(exact.dense!(t), p.data.X, p.data.Y, p.data.n),
          a: th[0], relErr: relDiff(th, exact.dense!(t)),
        });
      }
      rows.push({ delta, t: 'max', relErr: maxErr, drift, steps: flow.stats.steps });
      panels.push({
        title: `δ = ${delta}`, xLabel: 'flow time t', yLabel: 'loss', logY: true,
        series: [{ name: 'flow (dopri5)', x: flow.t, y: flow.loss }, { name: 'closed form', x: tEval, y: exact.loss, style: 'points' }],
      });
      conventions = [`loss: ${p.conventions.loss} (mean over samples)`, 'time: flow time', `init: ${p.conventions.init}; alpha = ${alpha}`, `data: ${p.data.source}`];
    }
    const table: Table = {
      title: `single neuron: integrated flow (dopri5, rtol 1e-12) vs closed form, d = 10, alpha = ${alpha}`,
      columns: [
        { key: 'delta', header: 'δ' }, { key: 't', header: 't' }, { key: 'lossFlow', header: 'loss (flow)' },
        { key: 'lossExact', header: 'loss (exact)' }, { key: 'a', header: 'a(t)' }, { key: 'relErr', header: 'rel. err θ' },
        { key: 'drift', header: 'δ drift (rel.)' }, { key: 'steps', header: 'steps' },
      ],
      rows,
      notes: conventions,
    };
    if (json) io.out(JSON.stringify({ table: table.rows, conventions }, null, 2));
    else io.out(renderText(table));
    emitFiles(args, io, {
      'demo.md': () => renderMarkdown(table),
      'demo.csv': () => renderCsv(table),
      'demo.svg': () => renderPanels(panels, 3),
    });
  },
};
