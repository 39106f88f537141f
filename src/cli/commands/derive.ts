import type { Command } from '../common.ts';
import { COMMON_OPTIONS, MODEL_OPTIONS, emitFiles, flag, modelOptions, printJson, resolveModel, resultJson } from '../common.ts';
import { resolveVariant } from '../../spec.ts';
import { derived } from '../../problem.ts';
import { equations } from '../../symbolic/derive.ts';
import { compileModel } from '../../compile/kernels.ts';

export const deriveCommand: Command = {
  name: 'derive',
  summary: 'Derive and print the model’s gradient-flow equations (text and LaTeX), its homogeneity degree κ and known laws.',
  usage: 'gradflow derive <model|--spec FILE> [--opt k=v] [--latex] [--code] [--json] [--out DIR]',
  options: {
    spec: MODEL_OPTIONS.spec,
    opt: MODEL_OPTIONS.opt,
    latex: { kind: 'flag', help: 'print LaTeX instead of text' },
    code: { kind: 'flag', help: 'also print the generated gradient kernel (JavaScript)' },
    ...COMMON_OPTIONS,
  },
  run(args, io) {
    const chosen = resolveModel(args);
    const def = resolveVariant(chosen, modelOptions(args, chosen));
    const d = derived(def);
    const eqs = equations(d);
    const laws = def.knownLaws ?? [];
    if (!printJson(args, io, resultJson(args, 'derivation', null, { model: def.spec.name, template: def.spec.template, kappa: d.kappa, polynomial: d.polynomial, equations: eqs, knownLaws: laws, theory: def.theory ?? [] }))) {
      io.out(`${def.spec.name}${def.spec.title ? ` — ${def.spec.title}` : ''}`);
      const w = Math.max(...eqs.map((e) => e.label.length));
      for (const e of eqs) io.out(`  ${e.label.padEnd(w)}  ${flag(args, 'latex') ? e.latex : e.text}`);
      if (laws.length) io.out(`  ${'laws'.padEnd(w)}  ${laws.map((l) => (flag(args, 'latex') ? l.latex : l.text)).join(';  ')} (conserved under gradient flow)`);
      if (def.theory?.length) {
        io.out('\n  model theory (stated, with its assumptions; not derived symbolically):');
        const tw = Math.max(...def.theory.map((e) => e.label.length));
        for (const e of def.theory) io.out(`  ${e.label.padEnd(tw)}  ${flag(args, 'latex') ? e.latex : e.text}`);
      }
      if (flag(args, 'code')) io.out(`\n// generated lossGrad kernel at the default dimensions\n${compileModel(d).source.lossGrad}`);
    }
    emitFiles(args, io, {
      'equations.md': () => `# ${def.spec.name}: derived equations\n\n${[...eqs, ...(def.theory ?? [])].map((e) => `**${e.label}**\n\n$$${e.latex}$$\n`).join('\n')}`,
      'equations.tex': () => eqs.map((e) => `% ${e.label}\n\\begin{equation}\n${e.latex}\n\\end{equation}`).join('\n') + '\n',
    });
  },
};
