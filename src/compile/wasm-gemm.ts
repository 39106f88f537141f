/**
 * The moment form of the two-layer linear network (f = Σ_i a_i w_iᵀx, a_i ∈ R^c, w_i ∈ R^d; any
 * model whose template is a * dot(w, x) with a vector a) as four matrix products in WebAssembly
 * SIMD. With A (h × c, row i = a_iᵀ), W (h × d), M = AᵀW and Σ = Σ_xx (moments.ts):
 *   Δᵀ = WᵀA − B*ᵀ,  Gᵀ = Σ Δᵀ + R*,  L = c₀ + ½⟨Δᵀ, Gᵀ + R*⟩,  ∇_A L = W Gᵀ,  ∇_W L = A G,
 * c·h·d + c·d² + 2·c·h·d multiply-adds whatever n is — the work NumPy does in its five products
 * X Wᵀ, ·A, Rᵀ X, W Gᵀ, A G, less one. The generic moment path (forward and vjpMean on the d
 * identity rows, kernels.ts) does the same sums one scalar multiply-add at a time.
 *
 * Each product is a register-blocked micro-kernel: a 4 × 4 block of C held in eight f64x2
 * accumulators, one step of k loading two vectors of B and broadcasting four entries of A. The
 * module is specialised to one problem's sizes, so every stride is an immediate and a step of k
 * costs two pointer increments. Operands sit zero-padded to multiples of four in the module's
 * memory, so no edge cases are emitted (a padded row or column of an operand gives a zero row or
 * column of the product). WebAssembly has no fused multiply-add here: each term is one rounded
 * product and one rounded sum, in k order from C's initial value — the same bits as the plain
 * loop `s = C₀; for (k …) s += A[r][k] * B[k][q]` (the tests compare them exactly).
 */
import type { DataMoments } from './moments.ts';
import { ADD, END, F64, I32, LOOP, V128, VADD, VMUL, VZERO, brIf, get, i32, lane, name, section, set, simd, uleb, vec, vload, vstore } from './wasm-bytes.ts';

const NE = 0x47, FADD = 0xa0;
const tee = (i: number): number[] => [0x22, ...uleb(i)];
const splatLoad = (off: number): number[] => simd(0x0a, 3, ...uleb(off));
const memCopy = [0xfc, ...uleb(10), 0, 0];
const f64store = (off: number): number[] => [0x39, 3, ...uleb(off)];
const f64loadAt = (off: number): number[] => [0x2b, 3, ...uleb(off)];

/** Rows of a C block and doubles of its columns held in registers. */
export const MR = 4, NR = 4;
const NV = NR / 2;

/**
 * One product C = [C +] Aop · B on padded operands, all in bytes and constant: C is m × nc
 * (m, nc multiples of MR, NR) with row stride ldc; Aop[r][k] at a + r·ars + k·aks; B[k][q] at
 * b + k·ldb + 8q; K ≥ 1 terms.
 */
export interface GemmSpec {
  m: number; nc: number; K: number;
  a: number; ars: number; aks: number;
  b: number; ldb: number;
  c: number; ldc: number;
  /** Start from C's current contents (else from zero). */
  accumulate: boolean;
}

/** Locals the product uses, from index base: aRow, bCol, cRow, cP, aP, bP, kEnd (i32), then MR·NV + NV + 1 v128. */
const GEMM_I32 = 7, GEMM_V128 = MR * NV + NV + 1;

function gemmCode(s: GemmSpec, base: number): number[] {
  if (s.m % MR || s.nc % NR || s.K < 1 || s.m < MR || s.nc < NR) throw new Error(`gemm: sizes ${s.m} × ${s.nc}, K = ${s.K} are not padded`);
  const [aRow, bCol, cRow, cP, aP, bP, kEnd] = [0, 1, 2, 3, 4, 5, 6].map((k) => base + k);
  const acc = (r: number, v: number): number => base + GEMM_I32 + r * NV + v;
  const bv = (v: number): number => base + GEMM_I32 + MR * NV + v;
  const sv = base + GEMM_I32 + MR * NV + NV;
  const o: number[] = [];
  o.push(...i32(s.a), ...set(aRow), ...i32(s.c), ...set(cRow));
  o.push(...LOOP); // rows of blocks
  o.push(...i32(s.b), ...set(bCol), ...get(cRow), ...set(cP));
  o.push(...LOOP); // columns of blocks
  o.push(...get(aRow), ...set(aP), ...get(bCol), ...tee(bP), ...i32(s.K * s.ldb), ADD, ...set(kEnd));
  for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) {
    if (s.accumulate) o.push(...get(cP), ...vload(r * s.ldc + 16 * v), ...set(acc(r, v)));
    else o.push(...VZERO, ...set(acc(r, v)));
  }
  o.push(...LOOP); // k
  for (let v = 0; v < NV; v++) o.push(...get(bP), ...vload(16 * v), ...set(bv(v)));
  for (let r = 0; r < MR; r++) {
    o.push(...get(aP), ...splatLoad(r * s.ars), ...set(sv));
    for (let v = 0; v < NV; v++) o.push(...get(acc(r, v)), ...get(sv), ...get(bv(v)), ...VMUL, ...VADD, ...set(acc(r, v)));
  }
  o.push(...get(aP), ...i32(s.aks), ADD, ...set(aP));
  o.push(...get(bP), ...i32(s.ldb), ADD, ...tee(bP), ...get(kEnd), NE, ...brIf(0), END);
  for (let r = 0; r < MR; r++) for (let v = 0; v < NV; v++) o.push(...get(cP), ...get(acc(r, v)), ...vstore(r * s.ldc + 16 * v));
  o.push(...get(cP), ...i32(8 * NR), ADD, ...set(cP));
  o.push(...get(bCol), ...i32(8 * NR), ADD, ...tee(bCol), ...i32(s.b + 8 * s.nc), NE, ...brIf(0), END);
  o.push(...get(aRow), ...i32(MR * s.ars), ADD, ...set(aRow));
  o.push(...get(cRow), ...i32(MR * s.ldc), ADD, ...tee(cRow), ...i32(s.c + (s.m / MR) * MR * s.ldc), NE, ...brIf(0), END);
  return o;
}

/** `rows` copies of `len` bytes: from src + k·srcStride to dst + k·dstStride (memory.copy each). */
function copyRows(rows: number, src: number, srcStride: number, dst: number, dstStride: number, len: number, pS: number, pD: number): number[] {
  if (rows < 1) return [];
  return [
    ...i32(src), ...set(pS), ...i32(dst), ...set(pD), ...LOOP,
    ...get(pD), ...get(pS), ...i32(len), ...memCopy,
    ...get(pD), ...i32(dstStride), ADD, ...set(pD),
    ...get(pS), ...i32(srcStride), ADD, ...tee(pS), ...i32(src + rows * srcStride), NE, ...brIf(0), END,
  ];
}

const up = (k: number, m: number): number => Math.ceil(k / m) * m;

export interface LinearSizes { c: number; d: number; h: number; P: number; aOff: number; wOff: number }

/** Byte offsets of the module's arrays (all 16-byte aligned), padded sizes, and the total. */
export function linearLayout({ c, d, h, P }: LinearSizes) {
  const c4 = up(c, NR), d4 = up(Math.max(d, 1), Math.max(MR, NR)), h4 = up(h, MR);
  let at = 0;
  const take = (doubles: number): number => { const o = at; at += up(doubles, 2) * 8; return o; };
  const L = {
    c4, d4, h4,
    th: take(h * P), grad: take(h * P),
    Am: take(h4 * c4), Wm: take(h4 * d4),
    negB: take(d4 * c4), rStar: take(d4 * c4), Sxx: take(d4 * d4),
    DT: take(d4 * c4), GT: take(d4 * c4), G: take(c4 * d4),
    GA: take(h4 * c4), GW: take(h4 * d4),
    bytes: 0,
  };
  L.bytes = at;
  return L;
}

/** The module's one function run(negate) → ½⟨Δᵀ, Gᵀ + R*⟩, leaving ∇_θ L (negate = 1: −∇_θ L) in the grad image (h × P). */
export function linearModuleBytes(sz: LinearSizes): Uint8Array<ArrayBuffer> {
  const { c, d, h, P, aOff, wOff } = sz;
  const L = linearLayout(sz);
  const { c4, d4, h4 } = L;
  const NEG = 0; // parameter: negate the gradient image
  const [pS, pD] = [1, 2];
  const g = 3; // gemm locals from here
  const [qP, qEnd, rowEnd] = [g + GEMM_I32 + GEMM_V128, g + GEMM_I32 + GEMM_V128 + 1, g + GEMM_I32 + GEMM_V128 + 2]; // i32
  const qAcc = rowEnd + 1; // v128
  const o: number[] = [];
  // θ image → zero-padded A (h4 × c4) and W (h4 × d4); the padding is never written
  o.push(...copyRows(h, L.th + 8 * aOff, 8 * P, L.Am, 8 * c4, 8 * c, pS, pD));
  o.push(...copyRows(h, L.th + 8 * wOff, 8 * P, L.Wm, 8 * d4, 8 * d, pS, pD));
  // Δᵀ = −B*ᵀ + Wᵀ A (d4 × c4): Aop[b][i] = W[i][b]
  o.push(...i32(L.DT), ...i32(L.negB), ...i32(8 * d4 * c4), ...memCopy);
  o.push(...gemmCode({ m: d4, nc: c4, K: h, a: L.Wm, ars: 8, aks: 8 * d4, b: L.Am, ldb: 8 * c4, c: L.DT, ldc: 8 * c4, accumulate: true }, g));
  // Gᵀ = R* + Σ Δᵀ
  o.push(...i32(L.GT), ...i32(L.rStar), ...i32(8 * d4 * c4), ...memCopy);
  o.push(...gemmCode({ m: d4, nc: c4, K: d, a: L.Sxx, ars: 8 * d4, aks: 8, b: L.DT, ldb: 8 * c4, c: L.GT, ldc: 8 * c4, accumulate: true }, g));
  // ½⟨Δᵀ, Gᵀ + R*⟩ over the padded arrays (zero where padded), two lanes
  o.push(...VZERO, ...set(qAcc), ...i32(0), ...set(qP), ...LOOP);
  o.push(...get(qAcc), ...get(qP), ...vload(L.DT), ...get(qP), ...vload(L.GT), ...get(qP), ...vload(L.rStar), ...VADD, ...VMUL, ...VADD, ...set(qAcc));
  o.push(...get(qP), ...i32(16), ADD, ...tee(qP), ...i32(8 * d4 * c4), NE, ...brIf(0), END);
  // ∇_A = W Gᵀ (h4 × c4)
  o.push(...gemmCode({ m: h4, nc: c4, K: d, a: L.Wm, ars: 8 * d4, aks: 8, b: L.GT, ldb: 8 * c4, c: L.GA, ldc: 8 * c4, accumulate: false }, g));
  // G = (Gᵀ)ᵀ, the c × d corner of c4 × d4: row q of G walks column q of Gᵀ
  o.push(...i32(L.GT), ...set(qP), ...i32(L.G), ...set(qEnd), ...LOOP);
  o.push(...get(qP), ...set(pS), ...get(qEnd), ...tee(pD), ...i32(8 * d), ADD, ...set(rowEnd), ...LOOP);
  o.push(...get(pD), ...get(pS), ...f64loadAt(0), ...f64store(0));
  o.push(...get(pS), ...i32(8 * c4), ADD, ...set(pS), ...get(pD), ...i32(8), ADD, ...tee(pD), ...get(rowEnd), NE, ...brIf(0), END);
  o.push(...get(qEnd), ...i32(8 * d4), ADD, ...set(qEnd), ...get(qP), ...i32(8), ADD, ...tee(qP), ...i32(L.GT + 8 * c), NE, ...brIf(0), END);
  // ∇_W = A G (h4 × d4)
  o.push(...gemmCode({ m: h4, nc: d4, K: c, a: L.Am, ars: 8 * c4, aks: 8, b: L.G, ldb: 8 * d4, c: L.GW, ldc: 8 * d4, accumulate: false }, g));
  // the gradient image in θ's layout
  o.push(...copyRows(h, L.GA, 8 * c4, L.grad + 8 * aOff, 8 * P, 8 * c, pS, pD));
  o.push(...copyRows(h, L.GW, 8 * d4, L.grad + 8 * wOff, 8 * P, 8 * d, pS, pD));
  // velocity calls: the image negated in place (exact), so the caller copies −∇L straight out
  o.push(...get(NEG), 0x04, 0x40, ...i32(L.grad), ...set(qP), ...LOOP);
  o.push(...get(qP), ...get(qP), ...vload(0), ...simd(0xed), ...vstore(0));
  o.push(...get(qP), ...i32(16), ADD, ...tee(qP), ...i32(L.grad + 16 * Math.ceil((h * P) / 2)), NE, ...brIf(0), END, END);
  o.push(...get(qAcc), ...lane(0), ...get(qAcc), ...lane(1), FADD, ...[0x44, ...f64bytes(0.5)], ...[0xa2], END);
  const locals = vec([[...uleb(g - 1 + GEMM_I32), I32], [...uleb(GEMM_V128), V128], [...uleb(3), I32], [...uleb(1), V128]]);
  return moduleOf([I32], [F64], [...locals, ...o], 'run', Math.ceil(L.bytes / 65536));
}

function f64bytes(x: number): number[] {
  return [...new Uint8Array(Float64Array.of(x).buffer)];
}

function moduleOf(params: number[], results: number[], body: number[], fname: string, pages: number): Uint8Array<ArrayBuffer> {
  const type = section(1, vec([[0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))]]));
  const imports = section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(pages)]]));
  const funcs = section(3, vec([[0]]));
  const exports = section(7, vec([[...name(fname), 0x00, 0]]));
  const code = section(10, vec([[...uleb(body.length), ...body]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports, ...funcs, ...exports, ...code]);
}

/** A module whose run() is one product (for the tests: each shape against the plain loop). */
export function gemmModuleBytes(s: GemmSpec, bytes: number): Uint8Array<ArrayBuffer> {
  const locals = vec([[...uleb(GEMM_I32), I32], [...uleb(GEMM_V128), V128]]);
  return moduleOf([], [], [...locals, ...gemmCode(s, 0), END], 'run', Math.ceil(bytes / 65536));
}


const modules = new Map<string, WebAssembly.Module | null>();
/** The compiled module for these sizes (cached), or null where WebAssembly SIMD is unavailable. */
function linearModule(sz: LinearSizes): WebAssembly.Module | null {
  const key = `${sz.c},${sz.d},${sz.h},${sz.P},${sz.aOff},${sz.wOff}`;
  let mod = modules.get(key);
  if (mod !== undefined) return mod;
  try {
    const bytes = linearModuleBytes(sz);
    mod = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    mod = null;
  }
  if (modules.size >= 64) modules.delete(modules.keys().next().value as string);
  modules.set(key, mod);
  return mod;
}

/** Largest module memory the path takes (beyond it the generic moment path runs). */
const MAX_BYTES = 2 ** 27;

/** Whether the product path runs for these sizes (WebAssembly SIMD present, memory within bounds). */
export function linearGemmAvailable(sz: LinearSizes): boolean {
  return linearLayout(sz).bytes <= MAX_BYTES && linearModule(sz) !== null;
}

/**
 * Time per multiply-add of the moment products relative to the per-sample JavaScript kernel, for
 * the moment form's size rule: measured ≈ 1/13 at c = d = h = 50, n = 50 (the products 48 µs for
 * 0.56 M multiply-adds, the per-sample kernel 0.64 ms for 0.5 M; bench/kernels.ts, CPU time, this
 * machine) and ≈ 1/4 at c = d = h = 10 (1.0 vs 4.3 µs); the rule decides the same with either.
 */
export const GEMM_GAIN = 1 / 8;

/** The moment-form loss and gradient of one problem's sizes, on the moments last bound. */
export interface LinearGemm {
  /** L(θ) into the return value, ∇_θ L into grad (θ's layout); neg: −∇_θ L. */
  lossGrad(th: Float64Array, grad: Float64Array, mo: DataMoments, neg?: boolean): number;
}

export function linearGemm(sz: LinearSizes): LinearGemm | null {
  const L = linearLayout(sz);
  if (L.bytes > MAX_BYTES) return null;
  const mod = linearModule(sz);
  if (!mod) return null;
  const mem = new WebAssembly.Memory({ initial: Math.ceil(L.bytes / 65536) });
  const run = new WebAssembly.Instance(mod, { env: { mem } }).exports.run as (negate: number) => number;
  const M = new Float64Array(mem.buffer);
  const { c, d, h, P } = sz;
  const { c4, d4 } = L;
  const thView = M.subarray(L.th / 8, L.th / 8 + h * P), gradView = M.subarray(L.grad / 8, L.grad / 8 + h * P);
  let bound: DataMoments | null = null;
  const bind = (mo: DataMoments): void => {
    const nb = L.negB / 8, rs = L.rStar / 8, sx = L.Sxx / 8;
    for (let b = 0; b < d; b++) {
      for (let q = 0; q < c; q++) {
        M[nb + b * c4 + q] = -mo.betaStar[b * c + q];
        M[rs + b * c4 + q] = mo.rStar[b * c + q];
      }
      for (let a = 0; a < d; a++) M[sx + b * d4 + a] = mo.Sxx[b * d + a];
    }
    bound = mo;
  };
  return {
    lossGrad(th, grad, mo, neg = false) {
      if (mo !== bound) bind(mo);
      thView.set(th.length === h * P ? th : th.subarray(0, h * P));
      const q = run(neg ? 1 : 0);
      grad.set(gradView);
      return mo.c0 + q;
    },
  };
}
