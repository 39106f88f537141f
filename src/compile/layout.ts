/**
 * Flat memory layout of a bound model: θ is neuron-major (neuron i occupies
 * [i·P, (i+1)·P)), each neuron's parameters in declaration order, row-major within a matrix.
 * A sample's input row is the concatenation of the input symbols in declaration order.
 */
import { GradflowError } from '../util/errors.ts';
import type { DerivedModel } from '../symbolic/derive.ts';
import type { Dim } from '../symbolic/expr.ts';
import { checkIndexBounds } from '../symbolic/bounds.ts';
import { CAPS, checkCap } from '../util/limits.ts';

export interface Slot {
  name: string;
  offset: number;
  size: number;
  shape: number[];
}

export interface Layout {
  dims: Record<string, number>;
  H: number;
  /** Parameters per neuron. */
  P: number;
  params: Slot[];
  inputs: Slot[];
  /** Length of one input row. */
  dIn: number;
  /** Number of outputs (1 for scalar output). */
  c: number;
  outShape: number[];
}

/** Every parameter of a neuron is a scalar (diagonal: u, v): its output is a signed multiple of one function. */
export function scalarParams(layout: Layout): boolean {
  return layout.params.every((s) => s.size === 1);
}

export function bindShape(shape: readonly Dim[], dims: Record<string, number>): number[] {
  return shape.map((d) => {
    const v = typeof d === 'number' ? d : dims[d];
    if (!Number.isInteger(v) || v < 1) throw new GradflowError(`dimension '${String(d)}' must be a positive integer (got ${v})`);
    checkCap(CAPS.dim, v, `dimension ${String(d)}`);
    return v;
  });
}

export function makeLayout(m: DerivedModel, dimsIn: Record<string, number>): Layout {
  const dims = { ...m.spec.dims, ...dimsIn };
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new GradflowError(`dimension ${k} = ${v}: must be a positive integer`);
    checkCap(CAPS.dim, v, `dimension ${k}`);
  }
  const H = typeof m.spec.neurons === 'number' ? m.spec.neurons : dims[m.spec.neurons];
  if (!Number.isInteger(H) || H < 1) throw new GradflowError(`number of neurons '${String(m.spec.neurons)}' must be a positive integer (got ${H})`);
  checkCap(CAPS.neurons, H, `model '${m.spec.name}': neurons`);
  checkIndexBounds(m.template, dims, H, `model '${m.spec.name}'`);
  let off = 0;
  const params = m.params.map((p) => {
    const shape = bindShape(p.shape, dims);
    const size = shape.reduce((a, b) => a * b, 1);
    const s = { name: p.name, offset: off, size, shape };
    off += size;
    return s;
  });
  const P = off;
  checkCap(CAPS.params, H * P, `model '${m.spec.name}': H·P`);
  off = 0;
  const inputs = m.inputs.map((p) => {
    const shape = bindShape(p.shape, dims);
    const size = shape.reduce((a, b) => a * b, 1);
    const s = { name: p.name, offset: off, size, shape };
    off += size;
    return s;
  });
  const outShape = bindShape(m.residual.shape, dims);
  return { dims, H, P, params, inputs, dIn: off, c: outShape.reduce((a, b) => a * b, 1), outShape };
}
