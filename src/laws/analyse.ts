/**
 * One call for everything gradflow knows about a model's conservation laws: symmetries and laws
 * discovered from the template, their model-level proofs, the completeness count, and numerical
 * audits on a concrete Problem. `gradflow laws` renders this; scripts can use it directly.
 */
import type { Problem } from '../problem.ts';
import { parseTemplate } from '../symbolic/parse.ts';
import { GradflowError } from '../util/errors.ts';
import { discoverLaws, lawInstances, type Discovery } from './discover.ts';
import { proveLaw, renderCertificate, type ProofResult } from './prove.ts';
import { completeness, type CompletenessResult } from './completeness.ts';
import { auditDescent, auditFlow, auditOneStep, auditProblem, type DescentAudit, type FlowAuditRow, type OneStepAudit } from './audit.ts';
import type { ExprFamily } from './family.ts';
import type { OdeMethod } from '../solvers/ode/types.ts';
import type { Progress } from '../util/progress.ts';

export interface LawsAnalysis {
  model: string;
  discovery: Discovery;
  proofs: ProofResult[];
  /** User candidates (--check): proven or refuted with their residual. */
  candidates: ProofResult[];
  completeness: CompletenessResult;
  audit: {
    flow: FlowAuditRow[];
    descent: DescentAudit;
    oneStep: OneStepAudit;
    tEnd: number;
    laws: number;
    /** Dimensions the audit ran at (smaller than the problem's when it was over AUDIT_COST_CAP). */
    dims: Record<string, number>;
    reduced: boolean;
  } | null;
  /** Per-phase timing in seconds. */
  timing: { discovery: number; proofs: number; completeness: number; audit: number };
}

export interface LawsOptions {
  /** Candidate quantities, per-neuron expressions in the parameters (e.g. "a^2 + dot(w, w)"). */
  candidates?: string[];
  audit?: boolean;
  /** The problem's data came from the user (the audit then runs on it whatever its size). */
  userData?: boolean;
  tEnd?: number;
  methods?: OdeMethod[];
  etas?: number[];
  oneStepH?: number;
  /** A progress line per audited flow (see FlowAuditOptions.progress). */
  progress?: (method: OdeMethod) => Progress;
}

export function parseCandidate(p: Problem, source: string, k = 0): ExprFamily {
  const scope = new Map(p.derived.params.map((s) => [s.name, s]));
  const expr = parseTemplate(source, scope, `candidate law '${source}'`);
  if (expr.kind === 'num') throw new GradflowError(`candidate law '${source}' is a constant`);
  return { kind: 'expr', id: `candidate-${k + 1}`, source, expr };
}

export function analyseLaws(p: Problem, opts: LawsOptions = {}): LawsAnalysis {
  const m = p.derived;
  let t = performance.now();
  const discovery = discoverLaws(m);
  const tDisc = (performance.now() - t) / 1000;
  t = performance.now();
  const proofs = discovery.laws.filter((l) => !l.subsumedBy).map((l) => proveLaw(m, l.family));
  const candidates = (opts.candidates ?? []).map((src, k) => proveLaw(m, parseCandidate(p, src, k)));
  const tProofs = (performance.now() - t) / 1000;
  t = performance.now();
  const comp = completeness(m, { discovery });
  const tComp = (performance.now() - t) / 1000;
  t = performance.now();
  let audit: LawsAnalysis['audit'] = null;
  if (opts.audit !== false) {
    // user data fixes the problem; generated data can be regenerated at a size the audit affords
    const { problem: q, reduced } = opts.userData ? { problem: p, reduced: false } : auditProblem(p);
    const laws = lawInstances(discovery, m, q.layout);
    if (laws.length > 0) {
      const tEnd = opts.tEnd ?? 10;
      audit = {
        flow: auditFlow(q, laws, { tEnd, methods: opts.methods, progress: opts.progress }),
        descent: auditDescent(q, laws, { etas: opts.etas }),
        oneStep: auditOneStep(q, laws, opts.oneStepH ?? 0.05),
        tEnd,
        laws: laws.length,
        dims: q.layout.dims,
        reduced,
      };
    }
  }
  const tAudit = (performance.now() - t) / 1000;
  return { model: m.spec.name, discovery, proofs, candidates, completeness: comp, audit, timing: { discovery: tDisc, proofs: tProofs, completeness: tComp, audit: tAudit } };
}

/** Certificates as files: one Markdown file per proven law and per candidate. */
export function certificateFiles(a: LawsAnalysis): Record<string, string> {
  const files: Record<string, string> = {};
  const safe = (s: string): string => s.replace(/[^\w-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  for (const r of [...a.proofs, ...a.candidates]) files[`certificate-${safe(r.law)}.md`] = renderCertificate(r);
  return files;
}
