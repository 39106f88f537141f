/**
 * One data pass of a model linear in x, in WebAssembly SIMD (f64x2): for row-major X (n × d),
 * β and y it returns Σ_j r_j² and G = Σ_j r_j x_j with r_j = x_jᵀβ − y_j — the two matrix–vector
 * products X β and Xᵀ r of the MSE loss, fused so each block of four rows is read from memory
 * once. Scalar JavaScript runs one multiply-add at a time; the f64x2 lanes and four independent
 * row sums measured 3× faster than the sample-blocked JavaScript loop at d = 1000, n = 40
 * (bench/kernels.ts prints the comparison).
 *
 * The module is emitted here byte by byte (no toolchain, no download): one function,
 * passF64x2(X, β, y, G, n4, d4) → f64, on data padded with zero rows and columns to multiples of
 * four (a zero row has r = 0 and adds nothing). Without WebAssembly SIMD the caller keeps its
 * JavaScript kernel.
 */

import { fingerprintX } from './row-tables.ts';

import { ADD, BLOCK, END, F64, FADD, FMUL, FSUB, GE_S, I32, LOOP, MUL, SHL, SPLAT, V128, VADD, VMUL, VZERO, br, brIf, f64load, get, i32, lane, name, section, set, uleb, vec, vload, vstore } from './wasm-bytes.ts';

/** The function body: locals after the six i32 parameters (X, B, Y, G, n4, d4; byte pointers). */
function passBody(): number[] {
  const [X, B, Y, G, N, D] = [0, 1, 2, 3, 4, 5];
  const j = 6, i = 7, r = [8, 9, 10, 11], dBytes = 12; // i32
  const acc = [13, 14, 15, 16], vb = 17; // v128
  const loss = 18, e = 19; // f64
  const c: number[] = [];
  c.push(...get(D), ...i32(3), SHL, ...set(dBytes), ...i32(0), ...set(j));
  c.push(...BLOCK, ...LOOP, ...get(j), ...get(N), GE_S, ...brIf(1));
  // row pointers of samples j … j+3
  c.push(...get(X), ...get(j), ...get(dBytes), MUL, ADD, ...set(r[0]));
  for (let u = 1; u < 4; u++) c.push(...get(r[u - 1]), ...get(dBytes), ADD, ...set(r[u]));
  for (const a of acc) c.push(...VZERO, ...set(a));
  // Σ_i β_i x_ji for the four rows, two lanes each, β loaded once for the four
  c.push(...i32(0), ...set(i), ...BLOCK, ...LOOP, ...get(i), ...get(dBytes), GE_S, ...brIf(1));
  c.push(...get(B), ...get(i), ADD, ...vload(), ...set(vb));
  for (let u = 0; u < 4; u++) c.push(...get(acc[u]), ...get(vb), ...get(r[u]), ...get(i), ADD, ...vload(), ...VMUL, ...VADD, ...set(acc[u]));
  c.push(...get(i), ...i32(16), ADD, ...set(i), ...br(0), END, END);
  // r_u = x_uᵀβ − y_u; loss += r_u²; acc_u := (r_u, r_u)
  for (let u = 0; u < 4; u++) {
    c.push(...get(acc[u]), ...lane(0), ...get(acc[u]), ...lane(1), FADD);
    c.push(...get(Y), ...get(j), ...i32(3), SHL, ADD, ...f64load(8 * u), FSUB, ...set(e));
    c.push(...get(loss), ...get(e), ...get(e), FMUL, FADD, ...set(loss));
    c.push(...get(e), ...SPLAT, ...set(acc[u]));
  }
  // G_i += (r_0 x_0i + r_1 x_1i) + (r_2 x_2i + r_3 x_3i), while the four rows are in cache
  c.push(...i32(0), ...set(i), ...BLOCK, ...LOOP, ...get(i), ...get(dBytes), GE_S, ...brIf(1));
  c.push(...get(G), ...get(i), ADD);
  c.push(...get(G), ...get(i), ADD, ...vload());
  c.push(...get(acc[0]), ...get(r[0]), ...get(i), ADD, ...vload(), ...VMUL);
  c.push(...get(acc[1]), ...get(r[1]), ...get(i), ADD, ...vload(), ...VMUL, ...VADD);
  c.push(...get(acc[2]), ...get(r[2]), ...get(i), ADD, ...vload(), ...VMUL);
  c.push(...get(acc[3]), ...get(r[3]), ...get(i), ADD, ...vload(), ...VMUL, ...VADD, ...VADD, ...VADD);
  c.push(...vstore(), ...get(i), ...i32(16), ADD, ...set(i), ...br(0), END, END);
  c.push(...get(j), ...i32(4), ADD, ...set(j), ...br(0), END, END);
  c.push(...get(loss), END);
  const locals = vec([[...uleb(7), I32], [...uleb(5), V128], [...uleb(2), F64]]);
  return [...locals, ...c];
}

export function moduleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([[F64]])]]));
  const imports = section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(1)]]));
  const funcs = section(3, vec([[0]]));
  const exports = section(7, vec([[...name('pass'), 0x00, 0]]));
  const body = passBody();
  const code = section(10, vec([[...uleb(body.length), ...body]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports, ...funcs, ...exports, ...code]);
}

let compiled: WebAssembly.Module | null | undefined;
/** The compiled module, or null where WebAssembly SIMD is unavailable. */
function wasmModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = moduleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Whether this runtime runs the module (WebAssembly with SIMD). */
export function wasmAvailable(): boolean {
  return wasmModule() !== null;
}

/**
 * Time per sample of the data pass relative to the plain per-sample kernel, for the moment form's
 * size rule: measured 6–8× on the diagonal network (d = 100, n = 40: 4.1 vs 23.6 µs; d = 1000,
 * n = 40: 32 vs 201 µs), 10× at d = 2000, n = 800 (CPU time, this machine).
 */
export const WASM_GAIN = 6;

const up4 = (k: number): number => (k + 3) & ~3;

/** The data of one set, padded in WebAssembly memory; pass(β) fills g = Σ_j r_j x_j / n and returns Σ_j r_j² / n. */
export interface DataPass {
  pass(beta: Float64Array, g: Float64Array): number;
  /** β in WebAssembly memory (d entries), for a caller that writes it in place instead of copying it in. */
  readonly beta: Float64Array;
  /** G = Σ_j r_j x_j (not divided by n) after run(), in WebAssembly memory. */
  readonly G: Float64Array;
  /** The pass on the β in `beta`: fills G, returns Σ_j r_j² / n. */
  run(): number;
}

/** X (n × d) and y copied once into WebAssembly memory, or null without WebAssembly SIMD or for data too large for it. */
export function dataPass(X: Float64Array, Y: Float64Array, n: number, d: number): DataPass | null {
  const mod = wasmModule();
  const n4 = up4(n), d4 = up4(d);
  const doubles = n4 * d4 + 2 * d4 + n4;
  if (!mod || doubles * 8 > 2 ** 31) return null;
  const mem = new WebAssembly.Memory({ initial: Math.ceil((doubles * 8) / 65536) });
  const { exports } = new WebAssembly.Instance(mod, { env: { mem } });
  const run = exports.pass as (x: number, b: number, y: number, g: number, n4: number, d4: number) => number;
  const H = new Float64Array(mem.buffer);
  const xOff = 0, bOff = n4 * d4, gOff = bOff + d4, yOff = gOff + d4;
  for (let j = 0; j < n; j++) H.set(X.subarray(j * d, (j + 1) * d), xOff + j * d4);
  H.set(Y.subarray(0, n), yOff);
  const B = H.subarray(bOff, bOff + d4), G = H.subarray(gOff, gOff + d4);
  const inv = 1 / n;
  const once = (): number => {
    G.fill(0);
    return run(xOff * 8, bOff * 8, yOff * 8, gOff * 8, n4, d4) * inv;
  };
  return {
    beta: B.subarray(0, d),
    G: G.subarray(0, d),
    run: once,
    pass(beta, g) {
      if (beta.length === d) B.set(beta);
      else B.set(beta.subarray(0, d));
      const s = once();
      for (let a = 0; a < d; a++) g[a] = G[a] * inv;
      return s;
    },
  };
}

/**
 * The data pass for the data set last used (keyed by the identity of X and Y and a fingerprint,
 * like the moments: a buffer refilled in place is copied again).
 */
export class DataPassCache {
  private X: Float64Array | null = null;
  private Y: Float64Array | null = null;
  private n = -1;
  private fp = 0;
  private current: DataPass | null = null;

  constructor(private readonly dIn: number) {}

  /** Whether calls on data of this shape run the data pass (WebAssembly SIMD present, scalar targets). */
  active(X: Float64Array, Y: Float64Array, n: number): boolean {
    return wasmModule() !== null && n > 0 && Y.length === n && X.length === n * this.dIn;
  }

  use(X: Float64Array, Y: Float64Array, n: number): DataPass | null {
    if (!this.active(X, Y, n)) return null;
    const fp = fingerprintX(X) + 1.5 * fingerprintX(Y);
    if (X !== this.X || Y !== this.Y || n !== this.n || fp !== this.fp) {
      this.X = X; this.Y = Y; this.n = n; this.fp = fp;
      this.current = dataPass(X, Y, n, this.dIn);
    }
    return this.current;
  }
}
