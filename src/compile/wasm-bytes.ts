/**
 * The few WebAssembly encodings gradflow's hand-emitted modules use (wasm-gemv.ts, the ODE stage
 * combinations): LEB128 integers, sections, locals, control flow, loads/stores and f64x2 SIMD.
 */
export const uleb = (v: number): number[] => {
  const o: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    o.push(b);
  } while (v);
  return o;
};
export const sleb = (v: number): number[] => {
  const o: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) { o.push(b); return o; }
    o.push(b | 0x80);
  }
};
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const i32 = (v: number): number[] => [0x41, ...sleb(v)];
export const ADD = 0x6a, MUL = 0x6c, SHL = 0x74, GE_S = 0x4e;
export const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b;
export const br = (d: number): number[] => [0x0c, ...uleb(d)];
export const brIf = (d: number): number[] => [0x0d, ...uleb(d)];
export const f64load = (off: number): number[] => [0x2b, 3, ...uleb(off)];
export const FADD = 0xa0, FSUB = 0xa1, FMUL = 0xa2;
export const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm];
export const vload = (off = 0): number[] => simd(0x00, 4, ...uleb(off));
export const vstore = (off = 0): number[] => simd(0x0b, 4, ...uleb(off));
export const SPLAT = simd(0x14), VADD = simd(0xf0), VMUL = simd(0xf2);
export const lane = (l: number): number[] => simd(0x21, l);
export const VZERO = simd(0x0c, ...new Array<number>(16).fill(0));

/** i32.load (4-byte aligned) at offset 0 of the address on the stack. */
export const i32load: number[] = [0x28, 2, 0];
