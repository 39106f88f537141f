/** theory.md §7: ReLU units conserve outgoing² − incoming² (bias counted as incoming). */
import { example, proveDiscovered, type ProofFile } from './common.ts';

export const proof: ProofFile = {
  name: 'rescaling-law',
  title: 'ReLU units: a_i² − ‖w_i‖² − b_i²',
  expect: 'proved',
  run: () => proveDiscovered('rescaling-law', example('relu-network.json'), 'ReLU network (examples/relu-network.json): $a_i^2 - \\lVert w_i \\rVert^2 - b_i^2$ is conserved',
    'relu is positively homogeneous, so $(a_i, w_i, b_i) \\mapsto (a_i/s, s w_i, s b_i)$, $s > 0$, leaves every unit unchanged; the bias scales with the incoming weights. The proof writes relu$(z) = g z$ with a symbolic gate $g$, so it holds on every activation pattern.\n'),
};
