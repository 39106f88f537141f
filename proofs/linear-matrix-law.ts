/** theory.md §5/§7: the two-layer linear network conserves the matrix AᵀA − WWᵀ (r(r+1)/2 entries). */
import { linear } from '../models/linear.ts';
import { proveDiscovered, type ProofFile } from './common.ts';

export const proof: ProofFile = {
  name: 'linear-matrix-law',
  title: 'Two-layer linear network: AᵀA − WWᵀ',
  expect: 'proved',
  run: () => proveDiscovered('linear-matrix-law', linear, 'Two-layer linear network: the matrix $A^\\top A - W W^\\top$ is conserved',
    'The GL(H) action $A \\mapsto A G^{-1}$, $W \\mapsto G W$ leaves $f = A W x$ unchanged. Its symmetric generators $\\xi = (-A E, E W)$, $E = E^\\top$, give the charges $\\mathrm{tr}\\,E(A^\\top A - W W^\\top)$; the antisymmetric ones are rotations with no charge.\n'),
};
