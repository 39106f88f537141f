/** theory.md §1: δ = a² − ‖w‖² is conserved by the single linear neuron f(x) = a·wᵀx. */
import { singleNeuron } from '../models/single-neuron.ts';
import { proveDiscovered, type ProofFile } from './common.ts';

export const proof: ProofFile = {
  name: 'single-neuron-delta',
  title: 'Single neuron: δ = a² − ‖w‖² is conserved',
  expect: 'proved',
  run: () => proveDiscovered('single-neuron-delta', singleNeuron, 'Single neuron: $\\delta = a^2 - \\lVert w \\rVert^2$ is conserved',
    'The rescaling $(a, w) \\mapsto (s a, w / s)$ leaves $f(x) = a\\,w^\\top x$ unchanged; its Noether charge is $\\delta$.\n'),
};
