/** Every proof file, in the order `npm run proofs` writes their certificates. */
import type { ProofFile } from './common.ts';
import { proof as singleNeuronDelta } from './single-neuron-delta.ts';
import { proof as singleNeuronNonLaw } from './single-neuron-non-law.ts';
import { proof as diagonalLaws } from './diagonal-laws.ts';
import { proof as linearMatrixLaw } from './linear-matrix-law.ts';
import { proof as rescalingLaw } from './rescaling-law.ts';
import { proof as threeFactorLaws } from './three-factor-laws.ts';
import { proof as linearBiasLaw } from './linear-bias-law.ts';
import { proof as gdOneStepDrift } from './gd-one-step-drift.ts';

export const ALL_PROOFS: ProofFile[] = [
  singleNeuronDelta, singleNeuronNonLaw, diagonalLaws, linearMatrixLaw, rescalingLaw, threeFactorLaws, linearBiasLaw, gdOneStepDrift,
];
