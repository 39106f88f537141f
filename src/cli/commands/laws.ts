/** `gradflow laws`: symmetries, conserved quantities, their proofs, completeness and audits. */
import type { Command } from '../common.ts';
import { progressLine } from '../../util/progress.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, buildProblem, conventionLines, emitFiles, flag, num, printJson, resolveModel, resultJson } from '../common.ts';
import { jsonText, machineConventions, plain } from '../../report/json.ts';
import { analyseLaws, certificateFiles, type LawsAnalysis } from '../../laws/analyse.ts';
import { AUDIT_COST_CAP } from '../../laws/audit.ts';
import { formatNumber, renderCsv, renderLatex, renderMarkdown, renderText, type Table } from '../../report/table.ts';
import type { Problem } from '../../problem.ts';

const dimsText = (d: Record<string, number>): string => Object.entries(d).map(([k, v]) => `${k} = ${v}`).join(', ');

function auditTable(a: LawsAnalysis, p: Problem): Table | null {
  if (!a.audit) return null;
  const au = a.audit;
  const rows: Record<string, unknown>[] = au.flow.map((r) => ({
    solver: `flow ${r.method}`, setting: `t_end = ${formatNumber(r.tEnd, 4)}, ${r.steps} steps`, drift: r.maxRelDrift, worst: r.worstLaw,
  }));
  for (const r of au.descent.rows) rows.push({ solver: 'GD', setting: `η = ${r.eta}, ${r.steps} steps`, drift: r.perStepDrift, worst: 'per step' });
  // a linear charge (translation law) is kept exactly by every GD step: its drift is round-off and has no slope
  const roundOff = au.descent.rows.every((r) => r.perStepDrift < 1e-13);
  rows.push({ solver: 'GD slope', setting: `log-log fit over ${au.descent.rows.length} η`, drift: roundOff || !Number.isFinite(au.descent.slope) ? '—' : au.descent.slope.toFixed(4), worst: roundOff ? 'per-step drift below 1e-13 at every η, round-off (GD keeps a linear law exactly; a quadratic one drifts by η²·Q(∇L), below round-off where ∇L is tiny): no slope to fit' : 'slope of per-step drift vs η (expected 2)' });
  rows.push({ solver: 'GD one step', setting: `h = ${au.oneStep.h}: ΔQ vs h²·Q(∇L)`, drift: au.oneStep.maxRelError, worst: '|ΔQ − h²Q(∇L)| / (h²·Σ|terms of Q(∇L)|)' });
  return {
    title: `Conservation audit: ${au.laws} law instance(s) at ${dimsText(au.dims)}`,
    columns: [
      { key: 'solver', header: 'solver' },
      { key: 'setting', header: 'setting' },
      { key: 'drift', header: 'max relative drift', align: 'right', format: (v) => (typeof v === 'string' ? v : formatNumber(v as number, 3)) },
      { key: 'worst', header: 'worst law / note' },
    ],
    rows,
    notes: [
      'drift = max |Q(t) − Q(0)| / max_t Σ|terms of Q| (for δ = a² − ‖w‖²: relative to a² + ‖w‖²); GD: per step, relative to the terms at the step',
      ...(au.reduced ? [`audited at ${dimsText(au.dims)} (same model, seed and alpha, regenerated data): the problem at ${dimsText(p.layout.dims)} has ${p.theta0.length} parameters × ${p.data.n} samples, over the audit's cap of ${AUDIT_COST_CAP}; the proofs above hold at every size`] : []),
      ...conventionLines(p),
    ],
  };
}

function textReport(a: LawsAnalysis, p: Problem, timings: boolean): string[] {
  // wall-clock times only on request: without them the same inputs print the same bytes
  const ms = (sec: number): string => (timings ? `; ${(sec * 1000).toFixed(1)} ms` : '');
  const out: string[] = [];
  const d = a.discovery;
  out.push(`${p.model.spec.name}${p.model.spec.title ? ` — ${p.model.spec.title}` : ''}`);
  out.push(`  f_i = ${p.model.spec.template}`, '');
  out.push(`symmetries (⟨∇_θ f(x; θ), ξ(θ)⟩ expanded to 0 for symbolic x at ${dimsText(d.dims)}${d.symmetries.some((s) => s.kind === 'translation') ? ' — translation: equal for every output' : ''}; ${d.checks} checks${ms(d.seconds)}):`);
  if (d.symmetries.length === 0) out.push('  none found');
  for (const s of d.symmetries) out.push(`  ${s.kind.padEnd(11)} ${s.action}  [${s.generatorsVerified} generator(s)]`);
  for (const n of d.notApplicable) out.push(`  ${n.kind.padEnd(11)} not applicable: ${n.reason}`);
  out.push('', 'conserved quantities (Noether charges):');
  if (d.laws.length === 0) out.push('  none');
  for (const l of d.laws) {
    out.push(`  ${l.text}${l.subsumedBy ? `   (contained in ${l.subsumedBy})` : `   [${l.independent} independent at the discovery dims]`}`);
    out.push(`      LaTeX: ${l.latex}`);
  }
  out.push('', `proofs (model level: Σ_v ∂Q/∂θ_v · ∂⟨e, f(x; θ)⟩/∂θ_v ≡ 0 for symbolic x, e${a.proofs.some((r) => r.constraint) ? '; translation laws: e with 1ᵀe = 0, as the loss’s G has' : ''}):`);
  for (const r of [...a.proofs, ...a.candidates]) {
    out.push(`  ${r.status === 'proved' ? 'PROVED' : 'NOT CONSERVED'}  ${r.text.split('  (')[0]}  — ${r.scope}; ${r.checks.length} scalarisation(s); FD check ${r.numeric.maxRel.toExponential(1)}${ms(r.seconds)}`);
    if (r.residual) out.push(`      residual at ${dimsText(r.residual.dims)}: R = ${r.residual.text}`);
  }
  if (timings) out.push(`  total proof time${ms(a.timing.proofs).slice(1)}`);
  const c = a.completeness;
  out.push('', `completeness (Marcotte–Gribonval–Peyré, at ${dimsText(c.dims)}, D = ${c.D}, ${c.phiCount} components of φ):`);
  out.push(`  ${c.message}`);
  out.push(`  Lie rank by bracket depth: ${c.ranks.join(' → ')}${c.closed ? ' (algebra closed)' : ''}${ms(c.seconds)}`);
  return out;
}

export const lawsCommand: Command = {
  name: 'laws',
  summary: 'Discover the model’s symmetries and conserved quantities, prove them symbolically, count them (Lie rank) and audit them numerically.',
  usage: 'gradflow laws <model|--spec FILE> [--check "a^2 + dot(w, w)"] [--t T] [--no-audit] [--alpha A] [--json] [--out DIR]',
  options: {
    ...MODEL_OPTIONS,
    alpha: { kind: 'number', help: 'initial scale alpha of the audited problem', default: '0.1' },
    check: { kind: 'string', repeat: true, help: 'a candidate per-neuron quantity to prove or refute, e.g. "a^2 + dot(w, w)" (repeatable)' },
    t: { kind: 'number', help: 'flow time of the audit', default: '10' },
    'no-audit': { kind: 'flag', help: 'skip the numerical audits' },
    timings: { kind: 'flag', help: 'show wall-clock times of discovery, proofs and completeness (off: output is byte-for-byte reproducible)' },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const def = resolveModel(args);
    const p = buildProblem(args, def, { alpha: 0.1 });
    const a = analyseLaws(p, {
      candidates: (args.values.get('check') as string[] | undefined) ?? [],
      audit: !flag(args, 'no-audit'),
      userData: args.values.has('data') || args.values.has('moments') || args.values.has('init'),
      tEnd: num(args, 't', 10),
      progress: io.progress ? (m) => progressLine(io.err, `laws ${p.model.spec.name}: audit ${m}`) : undefined,
    });
    const table = auditTable(a, p);
    const timed = flag(args, 'timings');
    // wall-clock seconds stay in the text report (--timings): the JSON is the same bytes on every run
    const json = resultJson(args, 'laws', p.seed, {
      model: a.model,
      conventions: machineConventions(p.conventions, p.derived.kappa, { rescaled: false, time: 'flow time (GD: steps of size η)' }),
      dims: p.layout.dims,
      data: p.data.source,
      symmetries: a.discovery.symmetries.map((s) => ({ id: s.id, kind: s.kind, action: s.action, latex: s.actionLatex, generatorsVerified: s.generatorsVerified, law: s.law?.id ?? null })),
      notApplicable: a.discovery.notApplicable,
      laws: a.discovery.laws.map((l) => ({ id: l.family.id, text: l.text, latex: l.latex, symmetry: l.symmetry, independent: l.independent, instances: l.instances, subsumedBy: l.subsumedBy ?? null })),
      proofs: [...a.proofs, ...a.candidates].map((r) => ({ law: r.law, text: r.text, status: r.status, scope: r.scope, bounds: r.bounds, scalarisations: r.checks.length, residual: r.residual, numericMaxRel: r.numeric.maxRel })),
      completeness: { ...a.completeness, seconds: undefined },
      audit: a.audit,
      knownLaws: p.model.knownLaws ?? [],
    });
    if (!printJson(args, io, plain(json))) {
      io.out(textReport(a, p, timed).join('\n'));
      if (table) io.out('\n' + renderText(table));
      if (p.model.knownLaws?.length) io.out(`\nknown laws listed by the model (display only, not used by discovery): ${p.model.knownLaws.map((l) => l.text).join('; ')}`);
    }
    emitFiles(args, io, {
      ...certificateFiles(a),
      'laws.json': jsonText(plain(json)),
      ...(table ? { 'audit.md': () => renderMarkdown(table), 'audit.csv': () => renderCsv(table), 'audit.tex': () => renderLatex(table) } : {}),
    }, table ? [table] : []);
  },
};
