/**
 * Proof timing per model: discovery, model-level proofs, completeness count. The reference,
 * measured in the same run, is the loss-level proof DESIGN.md quotes (δ = a² − ‖w‖² for the
 * single neuron at d = 20 with the loss scalarised over n = 10 symbolic samples, ~0.2 s for a
 * hand prototype; nerdamer 25 s): the model-level proof should cost a small fraction of it and
 * not grow with n.
 */
import { BUILTIN_MODELS } from '../models/index.ts';
import { readSpec } from '../src/specfile.ts';
import type { ModelDefinition } from '../src/spec.ts';
import { derived } from '../src/problem.ts';
import { discoverLaws } from '../src/laws/discover.ts';
import { proveLaw } from '../src/laws/prove.ts';
import { completeness } from '../src/laws/completeness.ts';
import { Poly, QQ, type Rational } from '../src/symbolic/poly.ts';
import { report, timeIt } from './timing.ts';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** dδ/dt = −⟨∇δ, ∇L⟩ with L = (1/2n)Σ_j (y_j − a wᵀx_j)², all x_jk and y_j symbolic; returns whether it expands to 0. */
function lossLevelProof(d: number, n: number): boolean {
  const v = (id: number): Poly<Rational> => Poly.variable(QQ, id);
  const a = 0, w = (k: number): number => 1 + k, x = (j: number, k: number): number => 1 + d + j * d + k, y = (j: number): number => 1 + d + n * d + j;
  let L = Poly.zero(QQ);
  for (let j = 0; j < n; j++) {
    let f = Poly.zero(QQ);
    for (let k = 0; k < d; k++) f = f.add(v(a).mul(v(w(k))).mul(v(x(j, k))));
    L = L.add(v(y(j)).sub(f).pow(2));
  }
  L = L.scale({ n: 1n, d: BigInt(2 * n) });
  let dq = v(a).scale(2).mul(L.diff(a));
  for (let k = 0; k < d; k++) dq = dq.sub(v(w(k)).scale(2).mul(L.diff(w(k))));
  return dq.isZero();
}

const here = dirname(fileURLToPath(import.meta.url));
const examples = ['three-factor-diagonal.json', 'linear-with-bias.json', 'relu-network.json'].map((f) => readSpec(join(here, '..', 'examples', f)));

const lossOk = lossLevelProof(20, 10);
const tLoss = timeIt(() => lossLevelProof(20, 10), 500);
console.log(`reference: loss-level proof of δ (d = 20, n = 10 symbolic samples): ${lossOk ? '0' : 'NON-ZERO'}, ${(tLoss * 1000).toFixed(1)} ms (DESIGN.md: hand prototype ~200 ms)`);

const rows: string[][] = [];
for (const def of [...BUILTIN_MODELS, ...examples] as ModelDefinition[]) {
  const m = derived(def);
  const disc = discoverLaws(m);
  const laws = disc.laws.filter((l) => !l.subsumedBy);
  const tDisc = timeIt(() => discoverLaws(m), 200);
  const tProof = laws.length ? timeIt(() => { for (const l of laws) proveLaw(m, l.family); }, 300) : 0;
  const tComp = timeIt(() => completeness(m, { discovery: disc }), 200);
  const ok = laws.every((l) => proveLaw(m, l.family).status === 'proved');
  rows.push([def.spec.name, String(laws.length), ok ? 'yes' : 'NO', (tDisc * 1000).toFixed(1), (tProof * 1000).toFixed(1), (tComp * 1000).toFixed(1), (tProof / tLoss).toFixed(3)]);
}
report('model-level proofs (median times, ms)', ['model', 'laws', 'proved', 'discovery', 'proofs', 'completeness', 'proofs / loss-level ref'], rows);
