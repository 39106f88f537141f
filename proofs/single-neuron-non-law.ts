/** Negative control: a² + ‖w‖² is NOT conserved; the proof must fail and show R = 4a·wᵀx·e. */
import { singleNeuron } from '../models/single-neuron.ts';
import { derived } from '../src/problem.ts';
import { parseTemplate } from '../src/symbolic/parse.ts';
import { proveLaw, renderCertificate } from '../src/laws/prove.ts';
import type { ExprFamily } from '../src/laws/family.ts';
import type { ProofFile } from './common.ts';

export function nonLawCandidate(): ExprFamily {
  const m = derived(singleNeuron);
  const source = 'a^2 + dot(w, w)';
  return { kind: 'expr', id: 'a^2 + |w|^2', source, expr: parseTemplate(source, new Map(m.params.map((p) => [p.name, p])), 'candidate') };
}

export const proof: ProofFile = {
  name: 'single-neuron-non-law',
  title: 'Negative control: a² + ‖w‖² is not conserved',
  expect: 'fails',
  run() {
    const r = proveLaw(singleNeuron, nonLawCandidate());
    return {
      name: 'single-neuron-non-law', status: r.status, seconds: r.seconds,
      summary: `a² + ‖w‖²: ${r.status}${r.residual ? `, residual ${r.residual.text}` : ''}`,
      markdown: renderCertificate(r, 'Negative control: $a^2 + \\lVert w \\rVert^2$ is not conserved by the single neuron',
        'The residual is $4a\\,(w^\\top x)\\,e$, so $\\frac{d}{dt}(a^2 + \\lVert w\\rVert^2) = -\\frac{4}{n}\\sum_j e_j f(x_j)$, which vanishes only at stationary points.'),
    };
  },
};
