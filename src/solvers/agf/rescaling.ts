/**
 * A neuron's rescaling symmetries and the quantities the gradient flow conserves because of them,
 * found from the compiled kernels alone (no model names). A weight vector a (one entry per
 * parameter slot g) is a symmetry when f_i(e^{a_g ε} θ_g) = f_i(θ) for every input, i.e.
 * Σ_g a_g ⟨θ_g, ∇_g f_i(x)⟩ = 0; then d/dt Σ_g a_g ‖θ_g‖² = −2 Σ_g a_g ⟨θ_g, ∇_g L⟩ = 0 along the
 * (masked or full) gradient flow (Noether). Examples: diagonal u·v·x: a = (1, −1), u² − v²;
 * modular w(uᵀx_a + vᵀx_b)²: a = (1, 1, −2), ‖u‖² + ‖v‖² − 2‖w‖² (what `gradflow laws` proves).
 *
 * Why AGF needs them: a quasi-Newton fit moves along the symmetry orbits freely (they are flat
 * directions of L), so it can end far from the balance the flow keeps — with a large, stiff
 * neuron that makes every later fit slower and changes which neuron later collapses. Moving each
 * neuron back along its orbit to the conserved values (rebalance) leaves f, L and the residual
 * unchanged and restores the flow's invariants.
 */
import type { Problem } from '../../problem.ts';
import { Rng } from '../../util/rng.ts';
import { symEig } from '../../util/dense.ts';

/** The symmetry vectors (one number per parameter slot, unit norm), empty when there are none. */
export function rescalingSymmetries(p: Problem): number[][] {
  const { H, P, params } = p.layout;
  const { X, n } = p.data;
  const G = params.length;
  if (G < 2) return [];
  const nc = n * p.layout.c;
  const rng = new Rng(7);
  const gram = new Float64Array(G * G);
  const outs = new Float64Array(H * nc), plus = new Float64Array(nc);
  const theta = new Float64Array(H * P);
  const h = 1e-4;
  let top = 0, informative = 0;
  // Random neurons until INFORMATIVE of them have a non-zero output on the data, each weighted by
  // its own scale: a symmetry must hold for all of them. Two fixed draws were not enough for
  // relu units on clustered data: a draw active on no sample says nothing (0 symmetries found on
  // 10 of 40 seeds of the default data), one active on a single cluster has ⟨w, x⟩ ≈ const there
  // and fakes a second symmetry (4 of 40), which rebalancing then followed — it changes the output
  // — and shrank a fitted unit to norm 1e-12 (`agf relu --seed 11 --alpha 1e-12` ended at the
  // initial loss, where the flow reaches 0.1667).
  const INFORMATIVE = 8;
  for (let draw = 0; draw < 64 && informative < INFORMATIVE; draw++) {
    for (let a = 0; a < P; a++) theta[a] = rng.normal();
    const D: Float64Array[] = [];
    for (const s of params) {
      const keep = theta.slice(s.offset, s.offset + s.size);
      for (let a = 0; a < s.size; a++) theta[s.offset + a] = keep[a] * Math.exp(h);
      p.kernels.neuronOutputs(theta, X, n, outs);
      plus.set(outs.subarray(0, nc));
      for (let a = 0; a < s.size; a++) theta[s.offset + a] = keep[a] * Math.exp(-h);
      p.kernels.neuronOutputs(theta, X, n, outs);
      theta.set(keep, s.offset);
      D.push(Float64Array.from(plus, (v, q) => (v - outs[q]) / (2 * h))); // ⟨θ_g, ∇_g f(x_q)⟩
    }
    const one = new Float64Array(G * G);
    let trace = 0;
    for (let g = 0; g < G; g++) for (let k = 0; k < G; k++) {
      let s = 0;
      for (let q = 0; q < nc; q++) s += D[g][q] * D[k][q];
      one[g * G + k] = s;
      if (g === k) trace += s;
    }
    if (!(trace > 0) || !Number.isFinite(trace)) continue;
    informative++;
    for (let q = 0; q < G * G; q++) gram[q] += one[q] / trace;
  }
  for (let g = 0; g < G; g++) top = Math.max(top, gram[g * G + g]);
  // fewer than two informative draws cannot tell a symmetry from a coincidence
  if (informative < 2 || !(top > 0)) return [];
  const { values, vectors } = symEig(gram, G);
  // the central difference is exact to O(h²) ≈ 1e-8 relative for polynomial outputs
  return values.flatMap((v, k) => (v <= 1e-10 * top ? [Array.from(vectors[k])] : []));
}

/** Σ_g a_g ‖θ_g‖² of neuron i, one value per symmetry. */
export function conservedOf(p: Problem, theta: Float64Array, i: number, syms: number[][]): number[] {
  const { P, params } = p.layout;
  const norms = params.map((s) => {
    let t = 0;
    for (let a = 0; a < s.size; a++) t += theta[i * P + s.offset + a] ** 2;
    return t;
  });
  return syms.map((a) => a.reduce((acc, ag, g) => acc + ag * norms[g], 0));
}

/**
 * Moves neuron i along its symmetry orbits (θ_g → e^{Σ_j s_j a_jg} θ_g: f unchanged) until its
 * conserved quantities equal `target`. Each is increasing in its own s_j (d/ds_j = 2Σ_g a_jg²
 * e^{…}‖θ_g‖² > 0) — the gradient of a convex function of s — so cyclic bisections converge.
 */
export function rebalanceNeuron(p: Problem, theta: Float64Array, i: number, syms: number[][], target: number[]): void {
  const { P, params } = p.layout;
  const G = params.length;
  const norms = params.map((s) => {
    let t = 0;
    for (let a = 0; a < s.size; a++) t += theta[i * P + s.offset + a] ** 2;
    return t;
  });
  if (!norms.every((v) => v > 0 && Number.isFinite(v))) return;
  const s = new Float64Array(syms.length);
  const logScale = (g: number): number => syms.reduce((acc, a, j) => acc + s[j] * a[g], 0);
  /** Conserved quantity j at the current s, and its derivative in s_j (> 0). */
  const valueSlope = (j: number): [number, number] => {
    let c = 0, dc = 0;
    for (let g = 0; g < G; g++) {
      const t = syms[j][g] * Math.exp(2 * logScale(g)) * norms[g];
      c += t;
      dc += 2 * syms[j][g] * t;
    }
    return [c, dc];
  };
  // Newton on the increasing value(s_j), kept inside a bracket that each evaluation shrinks
  // (bisection when a step leaves it): the root to the last bit in a handful of evaluations,
  // where plain bisection took 100 (it was 14 % of a diagonal schedule's time at d = 100)
  for (let sweep = 0; sweep < (syms.length > 1 ? 40 : 1); sweep++) {
    for (let j = 0; j < syms.length; j++) {
      let lo = s[j] - 30, hi = s[j] + 30;
      for (let it = 0; it < 100; it++) {
        const [v, dv] = valueSlope(j);
        if (v === target[j]) break;
        if (v > target[j]) hi = s[j];
        else lo = s[j];
        let next = s[j] - (v - target[j]) / dv;
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (next === s[j] || hi - lo <= 2e-16 * Math.max(1, Math.abs(s[j]))) break;
        s[j] = next;
      }
    }
  }
  for (let g = 0; g < G; g++) {
    const f = Math.exp(logScale(g));
    const { offset, size } = params[g];
    for (let a = 0; a < size; a++) theta[i * P + offset + a] *= f;
  }
}
