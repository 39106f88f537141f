/**
 * Limited-memory BFGS with an Armijo backtracking line search, over a masked subset of the
 * parameters. Used for AGF's cost minimisation where the masked gradient flow converges too
 * slowly to wait for (κ = 3 networks fitting a frequency with few neurons have tiny Hessian
 * eigenvalues): it finds a critical point of the same masked loss, not necessarily the one the
 * flow would reach on a degenerate minimum manifold — the loss level is the same.
 */
export interface LbfgsOptions {
  maxIter?: number;
  /** Stop when ‖∇f‖ ≤ gtol (default 1e-10). */
  gtol?: number;
  /** Stop when the relative decrease over 10 iterations is below ftol (default 1e-14). */
  ftol?: number;
  memory?: number;
  /** Largest length of the first step (before any curvature is known); default unbounded. */
  firstStep?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradNorm: number;
  iterations: number;
  evaluations: number;
}

/** Minimise f over x (fg returns f and writes ∇f; entries outside the mask must get zero gradient). */
export function lbfgs(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const N = x0.length;
  const maxIter = opts.maxIter ?? 5000;
  const gtol = opts.gtol ?? 1e-10;
  const ftol = opts.ftol ?? 1e-14;
  const mem = opts.memory ?? 12;
  const x = Float64Array.from(x0);
  const g = new Float64Array(N);
  let f = fg(x, g);
  let evals = 1;
  const S: Float64Array[] = [], Yv: Float64Array[] = [], rho: number[] = [];
  const d = new Float64Array(N), xn = new Float64Array(N), gn = new Float64Array(N);
  const alphaBuf: number[] = [];
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let q = 0; q < N; q++) s += a[q] * b[q];
    return s;
  };
  const history: number[] = [f];
  let it = 0;
  for (; it < maxIter; it++) {
    const gnorm = Math.sqrt(dot(g, g));
    if (!(gnorm > gtol)) break;
    // two-loop recursion: d = −H g
    for (let q = 0; q < N; q++) d[q] = -g[q];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = rho[k] * dot(S[k], d);
      alphaBuf[k] = a;
      for (let q = 0; q < N; q++) d[q] -= a * Yv[k][q];
    }
    const gamma = S.length ? dot(S[S.length - 1], Yv[Yv.length - 1]) / dot(Yv[Yv.length - 1], Yv[Yv.length - 1]) : 1 / Math.max(gnorm, 1);
    for (let q = 0; q < N; q++) d[q] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = rho[k] * dot(Yv[k], d);
      for (let q = 0; q < N; q++) d[q] += (alphaBuf[k] - b) * S[k][q];
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // not a descent direction (curvature information went stale): restart from steepest descent
      S.length = 0; Yv.length = 0; rho.length = 0;
      for (let q = 0; q < N; q++) d[q] = -g[q] / Math.max(gnorm, 1);
      slope = dot(g, d);
    }
    let step = 1;
    if (S.length === 0 && opts.firstStep !== undefined) {
      const dn = Math.sqrt(dot(d, d));
      if (dn > opts.firstStep) step = opts.firstStep / dn;
    }
    let fn = Infinity;
    for (let ls = 0; ls < 60; ls++) {
      for (let q = 0; q < N; q++) xn[q] = x[q] + step * d[q];
      fn = fg(xn, gn);
      evals++;
      if (Number.isFinite(fn) && fn <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fn <= f)) break; // no decrease representable: at round-off
    const s = new Float64Array(N), yv = new Float64Array(N);
    for (let q = 0; q < N; q++) {
      s[q] = xn[q] - x[q];
      yv[q] = gn[q] - g[q];
    }
    const sy = dot(s, yv);
    if (sy > 1e-300) {
      S.push(s); Yv.push(yv); rho.push(1 / sy);
      if (S.length > mem) { S.shift(); Yv.shift(); rho.shift(); }
    }
    x.set(xn);
    g.set(gn);
    f = fn;
    history.push(f);
    if (history.length > 10) {
      const old = history[history.length - 11];
      if (old - f <= ftol * Math.max(Math.abs(old), 1e-300)) break;
    }
  }
  return { x, f, gradNorm: Math.sqrt(dot(g, g)), iterations: it, evaluations: evals };
}
