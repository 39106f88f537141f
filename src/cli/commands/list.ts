import type { Command } from '../common.ts';
import { COMMON_OPTIONS, flag, printJson, resultJson } from '../common.ts';
import { BUILTIN_MODELS } from '../../../models/index.ts';
import { derived } from '../../problem.ts';

export const listCommand: Command = {
  name: 'list',
  summary: 'List the built-in models with their dimensions, options and closed forms.',
  usage: 'gradflow list [--json]',
  positionals: 0,
  options: { json: COMMON_OPTIONS.json, help: COMMON_OPTIONS.help, debug: COMMON_OPTIONS.debug },
  run(args, io) {
    const rows = BUILTIN_MODELS.map((m) => {
      const d = derived(m);
      return {
        name: m.spec.name,
        title: m.spec.title ?? '',
        template: m.spec.template,
        neurons: m.spec.neurons,
        dims: m.spec.dims,
        kappa: d.kappa,
        options: m.options ?? {},
        exact: (m.exact ?? []).map((e) => e.name),
      };
    });
    if (printJson(args, io, resultJson(args, 'models', null, { models: rows }))) return;
    for (const r of rows) {
      io.out(`${r.name}  —  ${r.title}`);
      io.out(`    f_i = ${r.template}   neurons: ${r.neurons}   dims: ${Object.entries(r.dims).map(([k, v]) => `${k}=${v}`).join(', ')}   κ = ${r.kappa ?? '—'}`);
      for (const [k, v] of Object.entries(r.options)) io.out(`    --opt ${k}=…  ${v}`);
      if (r.exact.length) io.out(`    closed forms: ${r.exact.join(', ')}`);
    }
  },
};
