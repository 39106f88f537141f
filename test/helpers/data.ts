/** Test datasets shared by several suites. */
import { makeDataset, type Dataset } from '../../src/data.ts';
import { Rng } from '../../src/util/rng.ts';

/**
 * Equicorrelated Gaussian inputs (correlation rho) and a dense teacher with label noise:
 * correlation makes fitted signs flip, so AGF's active → dormant rule is exercised.
 */
export function correlatedData(seed: number, n: number, d: number, rho = 0.8, noise = 0.1): Dataset {
  const rng = new Rng(seed);
  const X = new Float64Array(n * d), Y = new Float64Array(n);
  const b = Float64Array.from({ length: d }, () => rng.normal());
  for (let j = 0; j < n; j++) {
    const common = rng.normal();
    let s = 0;
    for (let i = 0; i < d; i++) {
      X[j * d + i] = Math.sqrt(1 - rho) * rng.normal() + Math.sqrt(rho) * common;
      s += X[j * d + i] * b[i];
    }
    Y[j] = s + noise * rng.normal();
  }
  return makeDataset(X, Y, n, d, 1, `test: equicorrelated (rho ${rho}), seed ${seed}`);
}
