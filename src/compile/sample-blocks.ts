/**
 * Sample blocking of a generated neuron-loop body: the same body for SB samples at once, so that
 * the θ-side work of a neuron (loads, per-neuron tables, θ-only products) is done once per block
 * of samples instead of once per sample, the SB forward sums are independent chains, and the
 * SB contributions to one accumulator (Q[i] += …, grad[…] += …) are added in one read-modify-write.
 * This is the register-blocked shape of X·β and Xᵀe (measured ≈ 2× over one sample at a time on
 * the diagonal network, d = 1000 … 2000; bench/kernels.ts).
 *
 * Works on the emitted lines (Emitter output): a line `const tN = expr;` whose expr reads no
 * sample-dependent name is emitted once; every other line is copied per sample with its
 * temporaries, the sample's offset xo and scalars (f, e) and its cache renamed; trailing
 * `target += tN;` accumulations into per-neuron or gradient arrays (read only after the loop) are
 * merged across the copies.
 */
export const SB = 4;

/**
 * Time per operation of the blocked loop relative to one sample at a time, for the moment form's
 * size rule (moments.ts): measured 2.5–2.7× on the diagonal network at d = 100 … 2000, and the
 * moment/per-sample crossover at d = 100 moved from n ≈ 40 to n ≈ 90 (this machine, CPU time).
 */
export const BLOCKED_GAIN = 2.5;

/** Names a body line may read that differ per sample. */
const SAMPLE_NAMES = ['xo', 'X', 'Y', 'e', 'f', 'j', 'yo', 'fv', 'ev', 'cache'];

export interface BlockedBody {
  /** Lines computed once per neuron for the whole block. */
  shared: string[];
  /** The lines of copy u (0 ≤ u < SB). */
  copies: string[][];
  /** Accumulations merged across the copies: `target += (a₀ + a₁) + (a₂ + a₃);`. */
  merged: string[];
}

const IDENT = /[A-Za-z_$][\w$]*/g;
const CONST_LINE = /^(\s*)const (t\d+) = (.*);$/;
const ACCUM_LINE = /^(\s*)((?:Q\d+|grad)\[[^\]]*\]) \+= (t\d+);$/;

/** Identifiers in a line, ignoring property names after a dot (Math.max). */
function idents(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(IDENT)) if (m.index === 0 || line[m.index - 1] !== '.') out.push(m[0]);
  return out;
}

/**
 * Split a neuron-loop body into shared lines and per-sample copies. rename(u) maps a sample
 * name (xo, e, f, cache) to copy u's name.
 */
export function blockBody(lines: string[], rename: (name: string, u: number) => string): BlockedBody {
  const dep = new Set(SAMPLE_NAMES);
  const shared: string[] = [], perSample: string[] = [];
  for (const line of lines) {
    const m = CONST_LINE.exec(line);
    const reads = idents(m ? m[3] : line);
    if (m && !reads.some((r) => dep.has(r))) {
      shared.push(line);
      continue;
    }
    perSample.push(line);
    if (m) dep.add(m[2]);
    // names a `let` declares (partial sums, softmax maxima) depend on the sample too
    const decl = /^\s*let ([^;]*);/.exec(line);
    if (decl) for (const d of decl[1].matchAll(/([A-Za-z_$][\w$]*)\s*=(?!=)/g)) dep.add(d[1]);
  }
  // trailing accumulations that no later line reads are merged across the copies
  const tail: { indent: string; target: string; temp: string }[] = [];
  while (perSample.length) {
    const m = ACCUM_LINE.exec(perSample[perSample.length - 1]);
    if (!m || idents(m[2]).some((r) => dep.has(r))) break;
    tail.unshift({ indent: m[1], target: m[2], temp: m[3] });
    perSample.pop();
  }
  // the copies' own temporaries get a per-copy suffix; the sample's names are renamed by the caller
  const own = new Set([...dep].filter((nm) => !SAMPLE_NAMES.includes(nm)));
  const renameLine = (line: string, u: number): string =>
    line.replace(IDENT, (nm: string, at: number) => {
      if (at > 0 && line[at - 1] === '.') return nm;
      if (own.has(nm)) return `${nm}s${u}`;
      return nm === 'xo' || nm === 'e' || nm === 'f' || nm === 'cache' ? rename(nm, u) : nm;
    });
  const copies = Array.from({ length: SB }, (_, u) => perSample.map((l) => renameLine(l, u)));
  const merged = tail.map(({ indent, target, temp }) => {
    const ts = Array.from({ length: SB }, (_, u) => renameLine(temp, u));
    return `${indent}${target} += (${ts[0]} + ${ts[1]}) + (${ts[2]} + ${ts[3]});`;
  });
  return { shared, copies, merged };
}
