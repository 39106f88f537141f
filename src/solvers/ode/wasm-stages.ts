/**
 * Runge–Kutta stage combinations out = base + h·Σ_j w_j K_j in WebAssembly SIMD (f64x2), for
 * states with thousands of components, where these passes are as much of a step as the
 * right-hand side (DOP853 at 2000 components: ≈ 150 µs of arithmetic a step in scalar
 * JavaScript). The stepper's vectors live in one WebAssembly memory (an arena) as ordinary
 * Float64Array views — the right-hand side reads and writes them as usual — and a combination
 * passes their byte offsets. Measured 2.0–2.4× the generated JavaScript loop (lincomb.ts) on an
 * eight-stage combination at 2000 components. Emitted byte by byte (src/compile/wasm-bytes.ts);
 * without WebAssembly SIMD the caller keeps lincomb.ts.
 */
import { ADD, BLOCK, END, F64, GE_S, I32, LOOP, SHL, SPLAT, V128, VADD, VMUL, VZERO, br, brIf, f64load, get, i32, i32load, name, section, set, uleb, vec, vload, vstore } from '../../compile/wasm-bytes.ts';
import type { Combination } from './lincomb.ts';

/**
 * comb(out, base, ptrs, coefs, ns, nBytes, h): out = base + h·Σ_{j<ns} coefs[j]·mem[ptrs[j] …],
 * eight components (four f64x2) per pass over the terms, so each coefficient and pointer is
 * loaded once per eight components; nBytes is a multiple of 64.
 */
const LANES = 4;
function combBody(): number[] {
  const [OUT, BASE, PTRS, COEFS, NS, NB, H] = [0, 1, 2, 3, 4, 5, 6];
  const I = 7, J = 8, P = 9, HV = 10, CV = 11, ACC = [12, 13, 14, 15];
  const c: number[] = [];
  c.push(...get(H), ...SPLAT, ...set(HV), ...i32(0), ...set(I));
  c.push(...BLOCK, ...LOOP, ...get(I), ...get(NB), GE_S, ...brIf(1));
  for (const a of ACC) c.push(...VZERO, ...set(a));
  c.push(...i32(0), ...set(J));
  c.push(...BLOCK, ...LOOP, ...get(J), ...get(NS), GE_S, ...brIf(1));
  c.push(...get(COEFS), ...get(J), ...i32(3), SHL, ADD, ...f64load(0), ...SPLAT, ...set(CV));
  c.push(...get(PTRS), ...get(J), ...i32(2), SHL, ADD, ...i32load, ...get(I), ADD, ...set(P));
  for (let u = 0; u < LANES; u++) c.push(...get(ACC[u]), ...get(CV), ...get(P), ...vload(16 * u), ...VMUL, ...VADD, ...set(ACC[u]));
  c.push(...get(J), ...i32(1), ADD, ...set(J), ...br(0), END, END);
  for (let u = 0; u < LANES; u++) {
    c.push(...get(OUT), ...get(I), ADD, ...get(BASE), ...get(I), ADD, ...vload(16 * u), ...get(HV), ...get(ACC[u]), ...VMUL, ...VADD, ...vstore(16 * u));
  }
  c.push(...get(I), ...i32(16 * LANES), ADD, ...set(I), ...br(0), END, END, END);
  return [...vec([[...uleb(3), I32], [...uleb(2 + LANES), V128]]), ...c];
}

export function stagesModuleBytes(): Uint8Array<ArrayBuffer> {
  const type = section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [F64]]), ...vec([])]]));
  const imports = section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(1)]]));
  const funcs = section(3, vec([[0]]));
  const exports = section(7, vec([[...name('comb'), 0x00, 0]]));
  const body = combBody();
  const code = section(10, vec([[...uleb(body.length), ...body]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports, ...funcs, ...exports, ...code]);
}

let compiled: WebAssembly.Module | null | undefined;
function stagesModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = stagesModuleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** Below this many components a call into WebAssembly costs more than the JavaScript loop saves. */
export const ARENA_MIN = 64;
/** Most stages one combination may name, and most combinations one arena holds. */
const MAX_TERMS = 32, MAX_COMBS = 64;
/** Per combination: its pointers (i32) and coefficients (f64), written once per set of stage vectors. */
const BLOCK_BYTES = 12 * MAX_TERMS, VECTORS = MAX_COMBS * BLOCK_BYTES;

export interface StageArena {
  /** The arena's vectors: `count` views of n doubles each (zero-filled, stride padded to a multiple of eight). */
  readonly vectors: Float64Array[];
  /** out = base + h·Σ_j w_j K_j with out, base and every K_j with w_j ≠ 0 among `vectors`. */
  combination(w: readonly number[]): Combination;
}

/** count vectors of n doubles in WebAssembly memory, or null (no WebAssembly SIMD, n below ARENA_MIN, or too large). */
export function stageArena(count: number, n: number): StageArena | null {
  const mod = n >= ARENA_MIN ? stagesModule() : null;
  if (!mod) return null;
  const stride = (n + 2 * LANES - 1) & ~(2 * LANES - 1);
  const bytes = VECTORS + count * stride * 8;
  if (bytes > 2 ** 31) return null;
  const mem = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const comb = new WebAssembly.Instance(mod, { env: { mem } }).exports.comb as (out: number, base: number, ptrs: number, coefs: number, ns: number, nBytes: number, h: number) => void;
  const vectors = Array.from({ length: count }, (_, k) => new Float64Array(mem.buffer, VECTORS + k * stride * 8, n));
  const nBytes = stride * 8;
  // the arena's own views by identity (a typed array's .buffer getter costs more than the lookup)
  const offsets = new Map<Float64Array<ArrayBufferLike>, number>(vectors.map((v) => [v, v.byteOffset]));
  let combs = 0;
  return {
    vectors,
    combination(w) {
      const used = w.flatMap((c, j) => (c !== 0 ? [j] : []));
      if (used.length > MAX_TERMS) throw new Error(`stageArena: ${used.length} stages in one combination (at most ${MAX_TERMS})`);
      if (combs >= MAX_COMBS) throw new Error(`stageArena: more than ${MAX_COMBS} combinations`);
      const at = combs++ * BLOCK_BYTES, ptrAt = at, coefAt = at + 4 * MAX_TERMS;
      const ptrs = new Int32Array(mem.buffer, ptrAt, MAX_TERMS), coefs = new Float64Array(mem.buffer, coefAt, MAX_TERMS);
      used.forEach((j, q) => { coefs[q] = w[j]; });
      // the stage vectors the pointers were written for (a stepper passes the same ones every step)
      const seen: (Float64Array<ArrayBufferLike> | null)[] = used.map(() => null);
      return (out, base, K, h) => {
        const o = offsets.get(out), b = base ? offsets.get(base) : undefined;
        if (o === undefined || b === undefined) throw new Error('stageArena: out and base must be arena vectors');
        for (let q = 0; q < used.length; q++) {
          const k = K[used[q]];
          if (k === seen[q]) continue;
          const off = offsets.get(k);
          if (off === undefined) throw new Error('stageArena: a stage outside the arena');
          ptrs[q] = off;
          seen[q] = k;
        }
        comb(o, b, ptrAt, coefAt, used.length, nBytes, h);
      };
    },
  };
}
