/** A user's spec (examples/three-factor-diagonal.json): β = u ⊙ v ⊙ w has two laws per coordinate. */
import { example, proveDiscovered, type ProofFile } from './common.ts';

export const proof: ProofFile = {
  name: 'three-factor-laws',
  title: 'Three-factor diagonal network: u_i² − v_i², u_i² − w_i²',
  expect: 'proved',
  run: () => proveDiscovered('three-factor-laws', example('three-factor-diagonal.json'), 'Three-factor diagonal network (examples/three-factor-diagonal.json)',
    'The rescalings with $\\lambda \\perp (1, 1, 1)$ form a 2-dimensional space; the basis found is $(1, -1, 0)$ and $(1, 0, -1)$.\n'),
};
