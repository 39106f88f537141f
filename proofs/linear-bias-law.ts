/** A user's spec (examples/linear-with-bias.json): the hidden bias joins W in the matrix law. */
import { example, proveDiscovered, type ProofFile } from './common.ts';

export const proof: ProofFile = {
  name: 'linear-bias-law',
  title: 'Two-layer linear network with a hidden bias: AᵀA − [W b][W b]ᵀ',
  expect: 'proved',
  run: () => proveDiscovered('linear-bias-law', example('linear-with-bias.json'), 'Two-layer linear network with a hidden bias (examples/linear-with-bias.json)'),
};
