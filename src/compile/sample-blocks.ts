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
  /** The SB copies, interleaved line by line: loops with the same header run once with the SB bodies, accumulations merged. */
  body: string[];
}

const IDENT = /[A-Za-z_$][\w$]*/g;
const CONST_LINE = /^(\s*)const (t\d+) = (.*);$/;
const ACCUM = /^((?:Q\d+|grad)\[[^\]]*\]) \+= (.+);$/;
const FOR_LINE = /^(\s*)for \(([^)]*)\) (.*)$/;

/** Identifiers in a line, ignoring property names after a dot (Math.max). */
function idents(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(IDENT)) if (m.index === 0 || line[m.index - 1] !== '.') out.push(m[0]);
  return out;
}

/** The names a copy renames: the sample's offset, scalars, output and cotangent vectors, and cache. */
export const RENAMED = ['xo', 'e', 'f', 'fv', 'ev', 'cache'];

/**
 * Split a neuron-loop body into shared lines and SB per-sample copies, interleaved. rename(u)
 * maps a sample name (RENAMED) to copy u's name. Interleaving is sound because a copy reads only
 * its own names and the shared lines, and the arrays several copies write (Q, grad) are only
 * accumulated into inside the loop, never read.
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
  // the copies' own temporaries get a per-copy suffix; the sample's names are renamed by the caller
  const own = new Set([...dep].filter((nm) => !SAMPLE_NAMES.includes(nm)));
  const renameLine = (line: string, u: number): string =>
    line.replace(IDENT, (nm: string, at: number) => {
      if (at > 0 && line[at - 1] === '.') return nm;
      if (own.has(nm)) return `${nm}s${u}`;
      return RENAMED.includes(nm) ? rename(nm, u) : nm;
    });
  const perCopy = (x: string): boolean => idents(x).some((r) => dep.has(r));
  /** `target += (a₀ + a₁) + (a₂ + a₃);` when stmt accumulates into a target all copies share. */
  const mergedAccum = (stmt: string): string | null => {
    const m = ACCUM.exec(stmt);
    if (!m || perCopy(m[1])) return null;
    const xs = Array.from({ length: SB }, (_, u) => renameLine(m[2], u));
    return `${m[1]} += (${xs[0]} + ${xs[1]}) + (${xs[2]} + ${xs[3]});`;
  };
  const body: string[] = [];
  for (const line of perSample) {
    const indent = /^\s*/.exec(line)![0], stmt = line.slice(indent.length);
    const acc = mergedAccum(stmt);
    if (acc) { body.push(indent + acc); continue; }
    const f = FOR_LINE.exec(line);
    if (f && !perCopy(f[2])) {
      const inner = f[3].startsWith('{') && f[3].endsWith('}') ? f[3].slice(1, -1).trim() : f[3];
      const accInner = mergedAccum(inner);
      body.push(`${indent}for (${f[2]}) ${accInner ?? `{ ${Array.from({ length: SB }, (_, u) => renameLine(inner, u)).join(' ')} }`}`);
      continue;
    }
    for (let u = 0; u < SB; u++) body.push(renameLine(line, u));
  }
  return { shared, body };
}
