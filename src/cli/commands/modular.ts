/**
 * `gradflow utility <model>`: numerical maximisation of the normalised utility on the sphere
 * (with the modular model's frequency read-out and closed form), and the body of
 * `gradflow compare modular` (AGF vs flow vs momentum, frequency by frequency).
 */
import { progressLine } from '../../util/progress.ts';
import type { Command, CommandIO } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, agfProgress, buildProblem, conventionLines, emitFiles, figureFiles, num, printJson, resolveModel, resultJson, str, tableColumns } from '../common.ts';
import { jsonText, machineConventions, plain } from '../../report/json.ts';
import { detectJumps } from '../../analysis/jumps.ts';
import { compareSchedules, comparisonJson } from '../../analysis/compare.ts';
import type { JumpSchedule } from '../../schedule.ts';
import type { ParsedArgs } from '../args.ts';
import { GradflowError } from '../../util/errors.ts';
import { CAPS, checkCap } from '../../util/limits.ts';
import { createProblem, type Problem } from '../../problem.ts';
import { maximiseUtility } from '../../analysis/utility.ts';
import { renderCsv, renderLatex, renderMarkdown, renderText, formatNumber, type Table } from '../../report/table.ts';
import { renderPanels, type PlotSpec, type Series } from '../../report/svg.ts';
import type { HeatmapSpec } from '../../report/heatmap.ts';
import { LOSS_AXIS, lossDomain, methodSeries, methodStyle } from '../../report/figure-style.ts';
import type { ModelDefinition } from '../../spec.ts';
import { modular, modularData } from '../../../models/modular.ts';
import { parseSpectrum, spectrumOf } from '../../../models/modular-data.ts';
import { utilityStar } from '../../../models/modular-theory.ts';
import { neuronFrequency, neuronPower, phaseLockDefect } from '../../../models/modular-analysis.ts';
import { MODULAR_GENERIC_AGF, modularTable, runModular } from '../../../models/modular-compare.ts';

/** Default initial scale of `compare modular` / `utility`: small enough for clean plateaus, large enough for the default run (p = 20, H = 18) to take under a minute. */
export const DEFAULT_MODULAR_ALPHA = 0.3;

export const SPECTRUM_OPTION = {
  spectrum: { kind: 'string' as const, help: 'modular model: |X[ξ]| per frequency, e.g. 1:10,3:5,5:2.5 (conjugates get the same; mean removed)', default: '1:10,3:5,5:2.5' },
};

/** The modular Problem from CLI options: --dim p=…, --dim h=…, --alpha, --seed, --opt onehot=1|phases=1, --spectrum. */
export function modularFromArgs(args: ParsedArgs, def: ModelDefinition, defaultAlpha: number): Problem {
  const base = buildProblem(args, def, { alpha: defaultAlpha });
  const spec = str(args, 'spectrum');
  if (!spec) return base;
  if (def !== modular) throw new GradflowError(`--spectrum applies to the modular model only (got '${def.spec.name}')`);
  if (args.values.has('data')) throw new GradflowError('--spectrum and --data exclude each other (--spectrum generates the data)');
  if (base.options.onehot === 1) throw new GradflowError('--spectrum and --opt onehot=1 exclude each other (one-hot has a flat spectrum)');
  const data = modularData({ p: base.layout.dims.p, spectrum: parseSpectrum(spec), phases: base.options.phases === 1 ? 'random' : 'zero', seed: base.seed });
  return createProblem(def, { data, dims: base.layout.dims, alpha: base.alpha, seed: base.seed, options: base.options });
}

export const utilityCommand: Command = {
  name: 'utility',
  summary: 'Maximise the normalised utility Û(θ) = E⟨f_θ, r⟩ on the unit sphere from random starts (modular: frequency content and closed form U*).',
  usage: 'gradflow utility <model> [--starts K] [--spectrum 1:10,3:5,5:2.5] [--dim p=20] [--seed S] [--json]',
  options: {
    ...MODEL_OPTIONS,
    ...SPECTRUM_OPTION,
    starts: { kind: 'int', help: 'number of random starts', default: 'H (the model width)' },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const def = resolveModel(args);
    const pr = modularFromArgs(args, def, DEFAULT_MODULAR_ALPHA);
    const starts = args.values.has('starts') ? num(args, 'starts', 0) : pr.layout.H;
    if (!(starts >= 1)) throw new GradflowError(`--starts must be a positive integer (got ${starts})`);
    checkCap(CAPS.starts, starts, '--starts');
    const res = maximiseUtility(pr, { starts, seed: pr.seed });
    const isModular = def === modular;
    const p = pr.layout.dims.p;
    const x = isModular ? pr.data.Y.subarray(0, p) : null;
    const spectrum = x ? spectrumOf(x) : [];
    const rows = res.directions.map((d, k) => {
      const row: Record<string, unknown> = { start: k, value: res.values[k], iterations: res.iterations[k], converged: res.converged[k] ? 'yes' : 'no' };
      if (isModular && x) {
        const nf = neuronFrequency(d, p, 0);
        const amp = spectrum.find((e) => e.freq === nf.freq)?.amp ?? 0;
        const closed = utilityStar(p, nf.freq, amp);
        const norms = [0, 1, 2].map((part) => Math.hypot(...d.subarray(part * p, (part + 1) * p)));
        Object.assign(row, { freq: nf.freq, fraction: nf.fraction, closed, rel: closed > 0 ? (res.values[k] - closed) / closed : null, norms: norms.map((v) => v.toFixed(4)).join('/'), phase: phaseLockDefect(d, p, 0, nf.freq, x) });
      }
      return row;
    });
    const f = (v: unknown): string => (typeof v === 'number' ? formatNumber(v, 10) : String(v ?? '—'));
    const table: Table = {
      title: `utility maximisation on the unit sphere, ${starts} random starts (best: start ${res.best}, Û = ${formatNumber(res.values[res.best], 12)})`,
      columns: [
        { key: 'start', header: 'start' }, { key: 'value', header: 'Û', format: f },
        ...(isModular ? [
          { key: 'freq', header: 'ξ' }, { key: 'fraction', header: 'power in ξ', format: f }, { key: 'closed', header: 'U* closed form', format: f },
          { key: 'rel', header: 'rel. diff', format: (v: unknown) => (typeof v === 'number' ? v.toExponential(2) : '—') },
          { key: 'norms', header: '‖u‖/‖v‖/‖w‖' }, { key: 'phase', header: 'phase defect', format: (v: unknown) => (typeof v === 'number' ? v.toExponential(1) : '—') },
        ] : []),
        { key: 'iterations', header: 'iter' }, { key: 'converged', header: 'converged' },
      ],
      rows,
      notes: [
        pr.kernels.lossForm.choice.name === 'mse'
          ? 'Û(θ) = (1/n) Σ_j ⟨f_θ(x_j), r_j⟩ at ‖θ‖ = 1 with r = y (the start of training); gradient flow on L = (1/2n)Σ‖y − f‖² moves a dormant neuron by θ̇ = ∇U'
          : `Û(θ) = (1/n) Σ_j ⟨f_θ(x_j), r_j⟩ at ‖θ‖ = 1 with r = −∇_z ℓ at z = 0 (the start of training; ${pr.kernels.lossForm.choice.name === 'cross-entropy' ? 'y − softmax(0) = y − 1/V' : 'the loss gradient at zero logits'}); gradient flow on the mean loss moves a dormant neuron by θ̇ = ∇U`,
        ...(isModular ? ['DFT X[ξ] = Σ_k x[k] e^{−2πiξk/p}; U* = sqrt(2/27)·|X[ξ]/sqrt(p)|³ (Nyquist ξ = p/2: 2/sqrt(27)); phase defect = arg U[ξ] + arg V[ξ] − arg W[ξ] − arg X[ξ]'] : []),
        ...conventionLines(pr),
      ],
    };
    const json = resultJson(args, 'utility', pr.seed, { model: def.spec.name, conventions: machineConventions(pr.conventions, pr.derived.kappa, { rescaled: false }), best: res.best, starts: plain(rows), maximiser: Array.from(res.directions[res.best]) }, pr);
    if (!printJson(args, io, json)) io.out(renderText(table));
    emitFiles(args, io, {
      'utility.md': () => renderMarkdown(table),
      'utility.csv': () => renderCsv(table),
      'utility.json': () => jsonText(json),
    }, [table]);
  },
};

/** The body of `gradflow compare modular`. */
export function runCompareModular(args: ParsedArgs, io: CommandIO, def: ModelDefinition): void {
  const pr = modularFromArgs(args, def, DEFAULT_MODULAR_ALPHA);
  if (!(pr.alpha > 0 && pr.alpha < 1)) throw new GradflowError(`alpha must lie in (0, 1) (got ${pr.alpha})`);
  // --agf generic (default): the generic engine with the masked-flow fits; closed: the model-specific agf-modular.ts, a cross-check
  const agfArg = str(args, 'agf') ?? 'generic';
  if (agfArg !== 'closed' && agfArg !== 'auto' && agfArg !== 'generic') throw new GradflowError(`compare modular --agf: use generic (the generic engine, the default) or closed (the model-specific agf-modular) (got '${agfArg}')`);
  const fitRelax = args.values.has('fit-relax') ? num(args, 'fit-relax', 0) : undefined;
  if (fitRelax !== undefined && agfArg === 'closed') throw new GradflowError('--fit-relax is an option of the generic engine; drop --agf closed');
  if (fitRelax !== undefined && !(Number.isFinite(fitRelax) && fitRelax >= 0 && fitRelax <= 1e4)) throw new GradflowError(`--fit-relax must be a flow time in [0, 10000] (got ${fitRelax})`);
  const run = runModular(pr, {
    engine: agfArg === 'closed' ? 'modular' : { generic: { ...MODULAR_GENERIC_AGF, ...(fitRelax !== undefined ? { fitRelax } : {}) } },
    horizon: args.values.has('t') ? num(args, 't', 0) : undefined,
    lr: args.values.has('lr') ? num(args, 'lr', 0) : undefined,
    progress: io.progress ? (m) => progressLine(io.err, `compare modular: ${m}`) : undefined,
    agfProgress: agfProgress(io, 'compare modular: agf', pr),
  });
  const notes = [...run.notes, ...conventionLines(pr, 'flow time (momentum: t = k·lr/(1 − m))')];
  // wall-clock times are diagnostics: on stderr, so that results stay byte-for-byte reproducible
  if (io.progress) io.err(`timings (s): ${Object.entries(run.timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  const table = modularTable(run, pr, notes, tableColumns(args));
  // the comparison shape every model shares: schedules by method (jumps of the simulations detected
  // at AGF's plateau levels) and the matched table, plus the frequency-by-frequency read-out
  const simulated = Object.entries(run.trajectories).map(([name, tr]) => detectJumps(pr, tr, { predicted: run.agf, method: name }));
  const cmp = compareSchedules([run.agf, ...simulated], 'agf');
  const kappa = pr.derived.kappa;
  const conventions = machineConventions(pr.conventions, kappa, { time: 'flow time (momentum: t = k·lr/(1 − m)); rescaledTime = time / timeScale' });
  const json = resultJson(args, 'comparison', pr.seed, comparisonJson(cmp, kappa, conventions, { prediction: plain(run.prediction), frequencies: plain(run.rows), groups: plain(run.groups), notes }), pr);
  if (!printJson(args, io, json)) io.out(renderText(table));
  emitFiles(args, io, {
    'compare.md': () => renderMarkdown(table),
    'compare.csv': () => renderCsv(table),
    'compare.tex': () => renderLatex(table),
    'compare.json': () => jsonText(json),
    ...figureFiles('compare', () => modularPlots(run, pr, simulated)),
  }, [table]);
}

/**
 * The compare-modular figure: the loss of every method with AGF's own jumps (numbered, with the
 * frequency the jumping neuron carries), and neuron × frequency-class heatmaps of the power each
 * neuron holds at the end of the flow and of AGF.
 */
/** "jumps by the frequency class ξ their neuron carries: ξ = 1: 1, 2, 4; ξ = 3: 3, 5" (jump numbers from 1). */
function byFrequency(freqs: (number | null)[]): string {
  const groups = new Map<string, number[]>();
  freqs.forEach((f, k) => {
    const key = f === null ? 'mixed' : `ξ = ${f}`;
    groups.set(key, [...(groups.get(key) ?? []), k + 1]);
  });
  return `jumps by the frequency class of the neuron that jumps (at the end of AGF): ${[...groups].map(([key, ks]) => `${key}: ${ks.join(', ')}`).join('; ')}`;
}

function modularPlots(run: ReturnType<typeof runModular>, pr: Problem, detected: JumpSchedule[]): string {
  const p = pr.layout.dims.p;
  const freqOf = (neuron: number): number | null => run.groups.agf.find((g) => g.neurons.includes(neuron))?.freq ?? null;
  const series: Series[] = Object.entries(run.trajectories).map(([name, tr]) => methodSeries(name, tr.t, tr.loss));
  for (const s of detected) if (s.jumps.length) series.push({ ...methodSeries(s.method, s.jumps.map((j) => j.time), s.jumps.map((j) => j.lossAfter)), name: `${methodStyle(s.method).label}: detected jumps`, style: 'points' });
  const tEnd = Math.max(...Object.values(run.trajectories).map((tr) => tr.t[tr.t.length - 1]), ...run.agf.jumps.map((j) => j.time));
  series.push(methodSeries('agf', [0, ...run.agf.jumps.map((j) => j.time)], [run.agf.initialLoss, ...run.agf.jumps.map((j) => j.lossAfter)], 'step'));
  const range = lossDomain(series);
  const loss: PlotSpec = {
    title: `${pr.model.spec.name}: loss, AGF jumps numbered`,
    xLabel: 'flow time t', yLabel: LOSS_AXIS, logY: true, series, yDomain: range.domain, xDomain: [0, tEnd],
    // numbers only above the frame (18 jumps crowd the first plateaus); the caption maps them to frequencies
    vlines: run.agf.jumps.map((j, k) => ({ x: j.time, label: `${k + 1}`, color: methodStyle('agf').color, dashed: true })),
    caption: [`α = ${pr.alpha}; init: ${pr.conventions.init}. Numbered verticals: AGF's jumps; ${byFrequency(run.agf.jumps.map((j) => freqOf(j.neuron)))}. Dots: jumps detected in the simulations at AGF's plateau levels.`, range.note].filter((s) => s).join(' '),
  };
  const panels: (PlotSpec | HeatmapSpec)[] = [loss];
  const heat = (title: string, theta: Float64Array): HeatmapSpec => {
    const classes = Math.floor(p / 2) + 1;
    const rows = Array.from({ length: pr.layout.H }, (_, i) => ({ i, pw: Array.from(neuronPower(theta, p, i)), nf: neuronFrequency(theta, p, i) }));
    // neurons grouped by the frequency they carry, strongest first within a group
    rows.sort((a, b) => a.nf.freq - b.nf.freq || b.nf.norm - a.nf.norm || a.i - b.i);
    return {
      kind: 'heatmap', title, xLabel: 'frequency class ξ', yLabel: 'neuron (grouped by dominant ξ)',
      columns: Array.from({ length: classes }, (_, c) => String(c)), rows: rows.map((r) => `n${r.i}`), z: rows.map((r) => r.pw),
      zLabel: 'power |U[ξ]|²+|V[ξ]|²+|W[ξ]|²', logZ: true, decades: 6,
      caption: `Power of neuron i's weights (u_i, v_i, w_i) in frequency class ξ (DFT over Z/${p}; ξ and p − ξ pooled).`,
    };
  };
  const sim = Object.entries(run.trajectories).find(([name]) => name === 'flow') ?? Object.entries(run.trajectories)[0];
  if (sim) {
    const [name, tr] = sim;
    panels.push(heat(`${methodStyle(name).label} at t = ${formatNumber(tr.t[tr.t.length - 1], 4)}`, tr.states[tr.states.length - 1]));
  }
  panels.push(heat(`AGF after its last jump (t = ${formatNumber(run.agf.jumps[run.agf.jumps.length - 1]?.time ?? 0, 4)})`, Float64Array.from(run.agf.extra!.finalDormant as number[])));
  return renderPanels(panels, panels.length);
}
