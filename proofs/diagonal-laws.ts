/** theory.md §4/§7: u_i² − v_i² is conserved for every coordinate of the diagonal network. */
import { diagonal } from '../models/diagonal.ts';
import { proveDiscovered, type ProofFile } from './common.ts';

export const proof: ProofFile = {
  name: 'diagonal-laws',
  title: 'Diagonal network: u_i² − v_i² for every i',
  expect: 'proved',
  run: () => proveDiscovered('diagonal-laws', diagonal, 'Diagonal linear network: $u_i^2 - v_i^2$ is conserved for every $i$'),
};
