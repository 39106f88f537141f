/**
 * Fourier read-outs of the modular-addition model: which frequency a neuron carries, how much of
 * the loss each output frequency still holds, and per-frequency activation times and neuron counts
 * from a jump schedule or a trajectory. Conventions: models/modular-data.ts.
 */
import type { Problem } from '../src/problem.ts';
import type { JumpSchedule } from '../src/schedule.ts';
import type { Trajectory } from '../src/trajectory.ts';
import { dft, frequencyClasses, powerSpectrum } from './modular-data.ts';

/** Power per frequency class of neuron i's (u, v, w), summed over the three vectors (Σ = ‖θ_i‖²). */
export function neuronPower(theta: Float64Array, p: number, i: number): Float64Array {
  const P = 3 * p;
  const out = new Float64Array(frequencyClasses(p));
  for (let part = 0; part < 3; part++) {
    const ps = powerSpectrum(theta.subarray(i * P + part * p, i * P + (part + 1) * p));
    for (let c = 0; c < out.length; c++) out[c] += ps[c];
  }
  return out;
}

export interface NeuronFrequency {
  neuron: number;
  norm: number;
  /** Dominant frequency class and the fraction of ‖θ_i‖² it holds. */
  freq: number;
  fraction: number;
}

export function neuronFrequency(theta: Float64Array, p: number, i: number): NeuronFrequency {
  const pw = neuronPower(theta, p, i);
  let tot = 0, best = 0;
  for (let c = 0; c < pw.length; c++) {
    tot += pw[c];
    if (pw[c] > pw[best]) best = c;
  }
  return { neuron: i, norm: Math.sqrt(tot), freq: best, fraction: tot > 0 ? pw[best] / tot : 0 };
}

/**
 * Phase-lock defect of a single-frequency neuron at class ξ: arg U[ξ] + arg V[ξ] − arg W[ξ] − arg X[ξ]
 * wrapped to (−π, π] (0 at a utility maximiser; theory.md §6).
 */
export function phaseLockDefect(theta: Float64Array, p: number, i: number, freq: number, x: ArrayLike<number>): number {
  const P = 3 * p;
  const arg = (v: ArrayLike<number>): number => {
    const { re, im } = dft(v);
    return Math.atan2(im[freq], re[freq]);
  };
  const d = arg(theta.subarray(i * P, i * P + p)) + arg(theta.subarray(i * P + p, i * P + 2 * p)) - arg(theta.subarray(i * P + 2 * p, i * P + 3 * p)) - arg(x);
  return Math.atan2(Math.sin(d), Math.cos(d));
}

/** Loss (1/2n)Σ‖r‖² split over the residual's output frequency classes (sums to L). */
export function residualClassLoss(pr: Problem, theta: Float64Array): Float64Array {
  const { X, Y, n, c: p } = pr.data;
  const f = new Float64Array(n * p);
  pr.kernels.forward(theta, X, n, f);
  const out = new Float64Array(frequencyClasses(p));
  const r = new Float64Array(p);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < p; k++) r[k] = Y[j * p + k] - f[j * p + k];
    const ps = powerSpectrum(r);
    for (let c = 0; c < out.length; c++) out[c] += ps[c] / (2 * n);
  }
  return out;
}

export interface FrequencyActivation {
  freq: number;
  /** Activation times of the neurons carrying this frequency at the end, sorted. */
  times: number[];
  neurons: number[];
}

/** Group neuron activation times by the frequency each neuron carries in finalTheta. */
export function groupByFrequency(p: number, finalTheta: Float64Array, activations: { neuron: number; time: number }[], minFraction = 0.5): FrequencyActivation[] {
  const by = new Map<number, FrequencyActivation>();
  for (const a of activations) {
    const nf = neuronFrequency(finalTheta, p, a.neuron);
    if (nf.fraction < minFraction) continue;
    const g = by.get(nf.freq) ?? { freq: nf.freq, times: [], neurons: [] };
    g.times.push(a.time);
    g.neurons.push(a.neuron);
    by.set(nf.freq, g);
  }
  for (const g of by.values()) {
    const idx = g.times.map((_, k) => k).sort((a, b) => g.times[a] - g.times[b]);
    g.times = idx.map((k) => g.times[k]);
    g.neurons = idx.map((k) => g.neurons[k]);
  }
  return [...by.values()].sort((a, b) => a.times[0] - b.times[0]);
}

/** AGF activations (a neuron activating twice counts at its first activation). */
export function scheduleActivations(s: JumpSchedule): { neuron: number; time: number }[] {
  const seen = new Set<number>();
  const out: { neuron: number; time: number }[] = [];
  for (const j of s.jumps) {
    if (seen.has(j.neuron)) continue;
    seen.add(j.neuron);
    out.push({ neuron: j.neuron, time: j.time });
  }
  return out;
}

/**
 * Simulated activations: first time ‖θ_i‖ crosses level_i upwards (default sqrt(‖θ_i(0)‖), the
 * geometric mean of the α-scale start and the O(1) active scale — jumps.ts's rule), located by
 * interpolating log‖θ_i‖ between stored states. For κ = 3 the norm blows up from there within
 * ~1/(3·level·U*) of flow time, so this marks the loss drop the neuron causes.
 */
export function trajectoryActivations(tr: Trajectory, P: number, H: number, level?: Float64Array): { neuron: number; time: number }[] {
  const norm = (s: Float64Array, i: number): number => {
    let q = 0;
    for (let a = 0; a < P; a++) q += s[i * P + a] ** 2;
    return Math.sqrt(q);
  };
  const out: { neuron: number; time: number }[] = [];
  for (let i = 0; i < H; i++) {
    const lv = level ? level[i] : Math.sqrt(norm(tr.states[0], i));
    for (let k = 1; k < tr.t.length; k++) {
      const a = norm(tr.states[k - 1], i), b = norm(tr.states[k], i);
      if (a < lv && b >= lv) {
        const w = (Math.log(lv) - Math.log(a)) / (Math.log(b) - Math.log(a));
        out.push({ neuron: i, time: tr.t[k - 1] + w * (tr.t[k] - tr.t[k - 1]) });
        break;
      }
    }
  }
  return out.sort((x, y) => x.time - y.time);
}

/** Neurons above a norm threshold, counted per dominant frequency. */
export function neuronsPerFrequency(theta: Float64Array, p: number, H: number, minNorm: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < H; i++) {
    const nf = neuronFrequency(theta, p, i);
    if (nf.norm < minNorm) continue;
    m.set(nf.freq, (m.get(nf.freq) ?? 0) + 1);
  }
  return m;
}
