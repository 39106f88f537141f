/**
 * Population problems. A model that is linear in its input x, trained under MSE, sees the data
 * only through Σ_xx = E[xxᵀ], Σ_yx = E[yxᵀ] and Σ_yy = E[yyᵀ]:
 *   L = ½ tr Σ_yy − E⟨f(x), y⟩ + ½ E‖f(x)‖²,  with f(x) = B(θ)x.
 * Instead of teaching every solver a second data path, moments become an equivalent small
 * dataset: factor the joint second-moment matrix M = [[Σ_xx, Σ_xy], [Σ_yx, Σ_yy]] = V Λ Vᵀ and
 * take one sample per non-zero eigenvalue, z_k = √(r λ_k) v_k = (x_k, y_k) with r the rank, so
 * that (1/r) Σ_k z_k z_kᵀ = M exactly (up to rounding): XᵀX/n = Σ_xx, YᵀX/n = Σ_yx, YᵀY/n = Σ_yy.
 * Every solver then works unchanged, and the loss (mean convention) is the population loss.
 */
import { readInputFile } from './util/limits.ts';
import { GradflowError } from './util/errors.ts';
import type { Dataset } from './data.ts';
import type { ModelDefinition } from './spec.ts';
import { derived } from './problem.ts';
import { matmul, symEig, symInverse, transpose } from './util/dense.ts';

export interface PopulationMoments {
  /** d×d, row-major. */
  Sxx: Float64Array;
  /** c×d, row-major. */
  Syx: Float64Array;
  /** c×c, row-major. */
  Syy: Float64Array;
  d: number;
  c: number;
  /** Whether Σ_yy was given (otherwise it is Σ_yx Σ_xx⁺ Σ_xy: noise-free targets, minimum loss 0). */
  syyGiven: boolean;
}

/** Relative size of negative eigenvalues tolerated as rounding (anything larger is an error). */
const PSD_TOL = 1e-10;

function matrixField(o: Record<string, unknown>, key: string, source: string): { a: Float64Array; rows: number; cols: number } {
  const v = o[key];
  if (!Array.isArray(v) || v.length === 0) throw new GradflowError(`moments: ${source}: "${key}" must be a non-empty array of rows`);
  const rows = v.map((r, j) => {
    if (!Array.isArray(r)) throw new GradflowError(`moments: ${source}: row ${j} of "${key}" is not an array`);
    return r;
  });
  const cols = rows[0].length;
  if (cols === 0) throw new GradflowError(`moments: ${source}: "${key}" has empty rows`);
  const a = new Float64Array(rows.length * cols);
  rows.forEach((r, j) => {
    if (r.length !== cols) throw new GradflowError(`moments: ${source}: row ${j} of "${key}" has ${r.length} entries, row 0 has ${cols}`);
    r.forEach((x: unknown, k: number) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new GradflowError(`moments: ${source}: "${key}"[${j}][${k}] is not a finite number`);
      a[j * cols + k] = x;
    });
  });
  return { a, rows: rows.length, cols };
}

/** Check shapes, symmetry and positive semi-definiteness; fill Σ_yy when absent. */
/** The largest moment entry accepted: its products with two more stay finite. */
export const MAX_MOMENT = 1e100;

export function makeMoments(Sxx: Float64Array, Syx: Float64Array, Syy: Float64Array | null, d: number, c: number, source = 'moments'): PopulationMoments {
  if (Sxx.length !== d * d) throw new GradflowError(`moments: ${source}: Sxx must be d×d = ${d}×${d}`);
  if (Syx.length !== c * d) throw new GradflowError(`moments: ${source}: Syx must be c×d = ${c}×${d} (rows = outputs, columns = inputs)`);
  if (Syy && Syy.length !== c * c) throw new GradflowError(`moments: ${source}: Syy must be c×c = ${c}×${c}`);
  for (const [name, m, n] of [['Sxx', Sxx, d], ['Syy', Syy, c]] as const) {
    if (!m) continue;
    for (let i = 0; i < m.length; i++) if (!Number.isFinite(m[i])) throw new GradflowError(`moments: ${source}: ${name} has a non-finite entry`);
    let scale = 0;
    for (let i = 0; i < m.length; i++) scale = Math.max(scale, Math.abs(m[i]));
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
      if (Math.abs(m[i * n + j] - m[j * n + i]) > 1e-12 * Math.max(scale, 1e-300)) throw new GradflowError(`moments: ${source}: ${name} is not symmetric (entries [${i}][${j}] and [${j}][${i}] differ)`);
    }
  }
  for (let i = 0; i < Syx.length; i++) if (!Number.isFinite(Syx[i])) throw new GradflowError(`moments: ${source}: Syx has a non-finite entry`);
  // products of moments (Σ_yx Σ_xx⁻¹ Σ_xy, the eigen-decompositions) overflow double precision past this
  for (const [name, m] of [['Sxx', Sxx], ['Syx', Syx], ['Syy', Syy]] as const) {
    if (m) for (let i = 0; i < m.length; i++) if (Math.abs(m[i]) > MAX_MOMENT) throw new GradflowError(`moments: ${source}: ${name} has an entry of magnitude ${Math.abs(m[i]).toExponential(2)}, above ${MAX_MOMENT} (products of moments would overflow; rescale the data)`);
  }
  const ex = symEig(Sxx, d).values;
  if (ex[d - 1] < -PSD_TOL * Math.max(Math.abs(ex[0]), 1e-300)) throw new GradflowError(`moments: ${source}: Sxx is not positive semi-definite (smallest eigenvalue ${ex[d - 1].toExponential(3)})`);
  if (!(ex[0] > 0)) throw new GradflowError(`moments: ${source}: Sxx is zero (the inputs carry no signal)`);
  const syy = Syy ?? realisableSyy(Sxx, Syx, d, c);
  const joint = jointMatrix(Sxx, Syx, syy, d, c);
  if (!joint.every(Number.isFinite)) throw new GradflowError(`moments: ${source}: the implied Syy = Syx Sxx⁻¹ Sxy is not finite (Sxx is nearly singular for this Syx); give Syy or rescale the data`);
  const ej = symEig(joint, d + c).values;
  if (ej[d + c - 1] < -PSD_TOL * Math.max(Math.abs(ej[0]), 1e-300)) {
    throw new GradflowError(`moments: ${source}: the joint matrix [[Sxx, Syxᵀ], [Syx, Syy]] is not positive semi-definite (smallest eigenvalue ${ej[d + c - 1].toExponential(3)}): Syy is too small for this Syx, or Syx does not lie in the range of Sxx`);
  }
  return { Sxx, Syx, Syy: syy, d, c, syyGiven: Syy !== null };
}

/** Σ_yx Σ_xx⁺ Σ_xy: the Σ_yy of noise-free targets y = β*x (the smallest consistent one). */
function realisableSyy(Sxx: Float64Array, Syx: Float64Array, d: number, c: number): Float64Array {
  const { values, vectors } = symEig(Sxx, d);
  const cut = 1e-12 * Math.max(values[0], 1e-300);
  const out = new Float64Array(c * c);
  for (let k = 0; k < d; k++) {
    if (values[k] <= cut) continue;
    const p = matmul(Syx, vectors[k], c, d, 1);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) out[i * c + j] += (p[i] * p[j]) / values[k];
  }
  return out;
}

function jointMatrix(Sxx: Float64Array, Syx: Float64Array, Syy: Float64Array, d: number, c: number): Float64Array {
  const m = d + c;
  const J = new Float64Array(m * m);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) J[i * m + j] = Sxx[i * d + j];
  for (let k = 0; k < c; k++) for (let j = 0; j < d; j++) {
    J[(d + k) * m + j] = Syx[k * d + j];
    J[j * m + d + k] = Syx[k * d + j];
  }
  for (let k = 0; k < c; k++) for (let l = 0; l < c; l++) J[(d + k) * m + d + l] = Syy[k * c + l];
  return J;
}

export function parseMomentsJson(text: string, source: string): PopulationMoments {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new GradflowError(`moments: ${source} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new GradflowError(`moments: ${source} must hold an object {"Sxx": [[…]], "Syx": [[…]], "Syy": [[…]]}`);
  const o = obj as Record<string, unknown>;
  for (const k of ['Sxx', 'Syx']) if (!(k in o)) throw new GradflowError(`moments: ${source} has no "${k}"`);
  const sxx = matrixField(o, 'Sxx', source);
  if (sxx.rows !== sxx.cols) throw new GradflowError(`moments: ${source}: Sxx is ${sxx.rows}×${sxx.cols}, it must be square`);
  const syx = matrixField(o, 'Syx', source);
  if (syx.cols !== sxx.rows) throw new GradflowError(`moments: ${source}: Syx has ${syx.cols} columns but Sxx is ${sxx.rows}×${sxx.rows} (Syx is outputs × inputs)`);
  let syy: Float64Array | null = null;
  if ('Syy' in o) {
    const f = matrixField(o, 'Syy', source);
    if (f.rows !== syx.rows || f.cols !== syx.rows) throw new GradflowError(`moments: ${source}: Syy is ${f.rows}×${f.cols}, expected ${syx.rows}×${syx.rows} (one row per output)`);
    syy = f.a;
  }
  return makeMoments(sxx.a, syx.a, syy, sxx.rows, syx.rows, source);
}

export function readMoments(path: string): PopulationMoments {
  const text = readInputFile(path, 'moments');
  return parseMomentsJson(text, path);
}

/** The equivalent dataset (see the file comment): n = rank of the joint moment matrix. */
export function datasetFromMoments(m: PopulationMoments, source = 'population moments'): Dataset {
  const { d, c } = m;
  const dim = d + c;
  const { values, vectors } = symEig(jointMatrix(m.Sxx, m.Syx, m.Syy, d, c), dim);
  const cut = 1e-14 * Math.max(values[0], 1e-300) * dim;
  const keep = values.map((v, k) => ({ v, k })).filter((e) => e.v > cut);
  const n = keep.length;
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n * c);
  keep.forEach(({ v, k }, j) => {
    const s = Math.sqrt(n * v);
    for (let q = 0; q < d; q++) X[j * d + q] = s * vectors[k][q];
    for (let q = 0; q < c; q++) Y[j * c + q] = s * vectors[k][d + q];
  });
  return { X, Y, n, dIn: d, c, source: `${source} (equivalent dataset of n = ${n} samples with the same Σ_xx, Σ_yx, Σ_yy)` };
}

/** The moments as JSON-ready nested arrays. */
export function momentsToJson(m: PopulationMoments): { Sxx: number[][]; Syx: number[][]; Syy: number[][] } {
  const rows = (a: Float64Array, r: number, c: number): number[][] => Array.from({ length: r }, (_, i) => Array.from(a.subarray(i * c, (i + 1) * c)));
  return { Sxx: rows(m.Sxx, m.d, m.d), Syx: rows(m.Syx, m.c, m.d), Syy: rows(m.Syy, m.c, m.c) };
}

/** Σ_yx Σ_xx⁻¹ Σ_xy (c×c), whose eigenvalues μ_k are the loss drops of reduced-rank regression. */
export function explainedCovariance(m: PopulationMoments): Float64Array {
  const inv = symInverse(m.Sxx, m.d);
  if (!inv) throw new GradflowError('moments: Σ_xx is singular; the linear-network predictions need an invertible input covariance');
  const B = matmul(m.Syx, inv, m.c, m.d, m.d);
  return matmul(B, transpose(m.Syx, m.c, m.d), m.c, m.d, m.c);
}

/** The dataset for `--moments FILE`, refused for models whose loss is not a function of the moments. */
export function momentsDataset(def: ModelDefinition, path: string): Dataset {
  const deg = derived(def).inputDegree;
  if (deg !== 1) throw new GradflowError(`--moments: model '${def.spec.name}' is not linear in its input (degree ${deg ?? 'not homogeneous'}), so its loss depends on more than Σ_xx, Σ_yx, Σ_yy; give --data instead`);
  return datasetFromMoments(readMoments(path), `moments file ${path}`);
}
