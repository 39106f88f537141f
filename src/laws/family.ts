/**
 * Conserved-quantity families. A family is one law written once for the template (e.g.
 * a_i² − ‖w_i‖² "for every neuron i", or the matrix AᵀA − WWᵀ) and instantiated as polynomials
 * in the flat θ variables of a concrete layout, so the same object is proven symbolically,
 * counted for completeness and evaluated along trajectories.
 *
 * Every family here is a quadratic form Q(θ) = θᵀKθ with K symmetric, the Noether charge of a
 * linear symmetry generator ξ(θ) = Kθ: dQ/dt = 2⟨Kθ, −∇L⟩ = 0 when ⟨∇_θ f(x; θ), Kθ⟩ ≡ 0.
 */
import type { Expr } from '../symbolic/expr.ts';
import type { DerivedModel } from '../symbolic/derive.ts';
import type { Layout, Slot } from '../compile/layout.ts';
import { Poly, QQ, type Rational } from '../symbolic/poly.ts';
import { scalariseExpr, type ScalarEnv } from '../symbolic/scalarise.ts';
import { GradflowError } from '../util/errors.ts';

/** θ_p → s^{λ_p} θ_p on every neuron: Q_i = Σ_p λ_p ‖θ_{p,i}‖². */
export interface RescalingFamily {
  kind: 'rescaling';
  id: string;
  weights: Record<string, number>;
}

/**
 * GL(H) mixing neurons: with A_k the concatenated A-side parameters of neuron k and B_k its
 * B-side ones, Θ_A → Θ_A G⁻¹, Θ_B → G Θ_B. Q_kl = ⟨A_k, A_l⟩ − ⟨B_k, B_l⟩ (k ≤ l).
 */
export interface NeuronGLFamily {
  kind: 'gl-neurons';
  id: string;
  A: string[];
  B: string[];
}

/**
 * GL(r) inside one neuron on a dimension two parameters share: unit k of `left` is its slice at
 * index k along axis `leftAxis`, unit k of `right` likewise. Q_kl = ⟨L_k, L_l⟩ − ⟨R_k, R_l⟩.
 */
export interface MatrixGLFamily {
  kind: 'gl-matrix';
  id: string;
  left: string;
  leftAxis: number;
  right: string;
  rightAxis: number;
  dim: string;
}

/**
 * Rescaling of one hidden unit whose parameters are slices of several tensors (deep nets: unit k
 * of layer ℓ is row k of W_ℓ, entry k of b_ℓ and column k of W_{ℓ+1}): the `incoming` slices at
 * index k scale by s, the `outgoing` ones by 1/s, for each k along `dim` separately (relu keeps
 * only the positive diagonal of GL). Q_k = Σ_in ‖slice_k‖² − Σ_out ‖slice_k‖².
 */
export interface UnitRescalingFamily {
  kind: 'unit-rescaling';
  id: string;
  dim: string;
  incoming: { param: string; axis: number }[];
  outgoing: { param: string; axis: number }[];
}

/** A user's candidate, a per-neuron expression in the parameters (e.g. "a^2 + dot(w, w)"). */
export interface ExprFamily {
  kind: 'expr';
  id: string;
  source: string;
  expr: Expr;
}

/**
 * Translation of the logits (softmax losses, 1ᵀG = 0): ξ adds the same amount to every output, so
 * Q = ⟨ξ, θ⟩ is linear — the sums of `param` along its output axis `axis` (column sums of W for
 * z = Wx + b, 1ᵀb, 1ᵀa_i per neuron). Conserved because dQ/dt = −E[(1ᵀG)·s(x)] with s the shift.
 */
export interface TranslationFamily {
  kind: 'translation';
  id: string;
  param: string;
  axis: number;
}

export type LawFamily = RescalingFamily | NeuronGLFamily | MatrixGLFamily | UnitRescalingFamily | ExprFamily | TranslationFamily;

export interface LawInstance {
  family: string;
  label: string;
  latex: string;
  poly: Poly<Rational>;
  /** Neuron / hidden-unit indices the instance is about (they count in the dimension bound). */
  indices: number[];
}

function slot(layout: Layout, name: string): Slot {
  const s = layout.params.find((p) => p.name === name);
  if (!s) throw new GradflowError(`law: the model has no parameter '${name}'`);
  return s;
}

const v = (id: number): Poly<Rational> => Poly.variable(QQ, id);

function sumSquares(ids: number[], w: number): Poly<Rational> {
  let s = Poly.zero(QQ);
  for (const id of ids) s = s.add(v(id).pow(2));
  return s.scale(w);
}

function innerIds(a: number[], b: number[]): Poly<Rational> {
  let s = Poly.zero(QQ);
  for (let k = 0; k < a.length; k++) s = s.add(v(a[k]).mul(v(b[k])));
  return s;
}

function slotIds(layout: Layout, name: string, neuron: number): number[] {
  const s = slot(layout, name);
  const base = neuron * layout.P + s.offset;
  return Array.from({ length: s.size }, (_, k) => base + k);
}

/** Flat ids of the slice of a tensor slot at index k along `axis`. */
function sliceIds(layout: Layout, name: string, neuron: number, axis: number, k: number): number[] {
  const s = slot(layout, name);
  const base = neuron * layout.P + s.offset;
  const out: number[] = [];
  const strides = s.shape.map((_, a) => s.shape.slice(a + 1).reduce((x, y) => x * y, 1));
  for (let flat = 0; flat < s.size; flat++) {
    const idx = Math.floor(flat / strides[axis]) % s.shape[axis];
    if (idx === k) out.push(base + flat);
  }
  return out;
}

export function instantiate(fam: LawFamily, m: DerivedModel, layout: Layout): LawInstance[] {
  const { H } = layout;
  const multi = H > 1;
  const out: LawInstance[] = [];
  const sub = (i: number): string => (multi ? `_${i}` : '');
  const subL = (i: number): string => (multi ? `_{${i}}` : '');
  switch (fam.kind) {
    case 'rescaling':
      for (let i = 0; i < H; i++) {
        let q = Poly.zero(QQ);
        for (const [p, w] of Object.entries(fam.weights)) if (w !== 0) q = q.add(sumSquares(slotIds(layout, p, i), w));
        out.push({ family: fam.id, label: `${fam.id}${sub(i)}`, latex: `Q${subL(i)}`, poly: q, indices: [i] });
      }
      break;
    case 'gl-neurons':
      for (let k = 0; k < H; k++) {
        for (let l = k; l < H; l++) {
          let q = Poly.zero(QQ);
          for (const p of fam.A) q = q.add(innerIds(slotIds(layout, p, k), slotIds(layout, p, l)));
          for (const p of fam.B) q = q.sub(innerIds(slotIds(layout, p, k), slotIds(layout, p, l)));
          out.push({ family: fam.id, label: `${fam.id}[${k},${l}]`, latex: `Q_{${k}${l}}`, poly: q, indices: [k, l] });
        }
      }
      break;
    case 'gl-matrix': {
      const r = slot(layout, fam.left).shape[fam.leftAxis];
      for (let i = 0; i < H; i++) {
        for (let k = 0; k < r; k++) {
          for (let l = k; l < r; l++) {
            const q = innerIds(sliceIds(layout, fam.left, i, fam.leftAxis, k), sliceIds(layout, fam.left, i, fam.leftAxis, l))
              .sub(innerIds(sliceIds(layout, fam.right, i, fam.rightAxis, k), sliceIds(layout, fam.right, i, fam.rightAxis, l)));
            out.push({ family: fam.id, label: `${fam.id}${sub(i)}[${k},${l}]`, latex: `Q${subL(i)}[${k},${l}]`, poly: q, indices: [i] });
          }
        }
      }
      break;
    }
    case 'unit-rescaling': {
      const first = fam.incoming[0] ?? fam.outgoing[0];
      const r = slot(layout, first.param).shape[first.axis];
      for (let i = 0; i < H; i++) {
        for (let k = 0; k < r; k++) {
          let q = Poly.zero(QQ);
          for (const x of fam.incoming) q = q.add(sumSquares(sliceIds(layout, x.param, i, x.axis, k), 1));
          for (const x of fam.outgoing) q = q.add(sumSquares(sliceIds(layout, x.param, i, x.axis, k), -1));
          out.push({ family: fam.id, label: `${fam.id}${sub(i)}[${k}]`, latex: `Q${subL(i)}[${k}]`, poly: q, indices: [i] });
        }
      }
      break;
    }
    case 'translation': {
      const sl = slot(layout, fam.param);
      const other = sl.shape.length === 2 ? 1 - fam.axis : -1;
      const cols = other < 0 ? 1 : sl.shape[other];
      for (let i = 0; i < H; i++) {
        for (let c = 0; c < cols; c++) {
          const ids = other < 0 ? slotIds(layout, fam.param, i) : sliceIds(layout, fam.param, i, other, c);
          let q = Poly.zero(QQ);
          for (const id of ids) q = q.add(v(id));
          out.push({ family: fam.id, label: `${fam.id}${sub(i)}${other < 0 ? '' : `[${c}]`}`, latex: `Q${subL(i)}${other < 0 ? '' : `_{${c}}`}`, poly: q, indices: [i] });
        }
      }
      break;
    }
    case 'expr':
      for (let i = 0; i < H; i++) {
        const env: ScalarEnv<Rational> = {
          field: QQ, dims: layout.dims, neuron: i, relu: 'active',
          lookup(s) {
            if (s.role !== 'param') throw new GradflowError(`law '${fam.source}': only parameters may appear (found '${s.name}')`);
            const ids = slotIds(layout, s.name, i);
            return { shape: slot(layout, s.name).shape, data: ids.map(v) };
          },
          gate() { throw new GradflowError(`law '${fam.source}': relu is not allowed in a conserved quantity`); },
        };
        const t = scalariseExpr(fam.expr, env);
        if (t.shape.length !== 0) throw new GradflowError(`law '${fam.source}': must be a scalar expression`);
        out.push({ family: fam.id, label: `${fam.id}${sub(i)}`, latex: `Q${subL(i)}`, poly: t.data[0], indices: [i] });
      }
      break;
  }
  void m;
  return out;
}

// ---------------------------------------------------------------- printing

function pname(m: DerivedModel, p: string): { shape: number } {
  const s = m.params.find((x) => x.name === p)!;
  return { shape: s.shape.length };
}

function normSq(m: DerivedModel, p: string, idx: string, latex: boolean): string {
  const r = pname(m, p).shape;
  const base = latex ? (p.length === 1 ? p : `\\mathrm{${p}}`) : p;
  const withIdx = idx ? (latex ? `${base}_{${idx}}` : `${base}_${idx}`) : base;
  if (r === 0) return latex ? `${withIdx}^2` : `${withIdx}²`;
  if (r === 1) return latex ? `\\lVert ${withIdx} \\rVert^2` : `‖${withIdx}‖²`;
  return latex ? `\\lVert ${withIdx} \\rVert_F^2` : `‖${withIdx}‖_F²`;
}

function coefStr(w: number, first: boolean, latex: boolean): string {
  const sign = w < 0 ? (latex ? '-' : '−') : first ? '' : '+';
  const a = Math.abs(w);
  const mag = a === 1 ? '' : String(a);
  return first ? `${sign}${mag}` : ` ${sign} ${mag}`;
}

/** The family as one formula, text and LaTeX. */
export function familyFormula(fam: LawFamily, m: DerivedModel): { text: string; latex: string } {
  const multi = m.spec.neurons !== 1;
  const i = multi ? 'i' : '';
  switch (fam.kind) {
    case 'rescaling': {
      let text = '', latex = '';
      let first = true;
      for (const [p, w] of Object.entries(fam.weights)) {
        if (w === 0) continue;
        text += `${coefStr(w, first, false)}${normSq(m, p, i, false)}`;
        latex += `${coefStr(w, first, true)}${normSq(m, p, i, true)}`;
        first = false;
      }
      return {
        text: multi ? `${text}  (for each neuron i)` : text,
        latex: multi ? `${latex} \\quad (\\text{each neuron } i)` : latex,
      };
    }
    case 'gl-neurons': {
      const side = (ps: string[], k: string): string => (ps.length === 1 ? `${ps[0]}_${k}` : `(${ps.map((p) => `${p}_${k}`).join(', ')})`);
      const sideL = (ps: string[], k: string): string => (ps.length === 1 ? `${ps[0]}_${k}` : `(${ps.map((p) => `${p}_${k}`).join(', ')})`);
      const big = (ps: string[]): string => (ps.length === 1 ? ps[0].toUpperCase() : `[${ps.map((p, k) => (k === 0 ? p.toUpperCase() : p)).join(' ')}]`);
      return {
        text: `[⟨${side(fam.A, 'k')}, ${side(fam.A, 'l')}⟩ − ⟨${side(fam.B, 'k')}, ${side(fam.B, 'l')}⟩]_{k,l} = ${big(fam.A)}ᵀ${big(fam.A)} − ${big(fam.B)}${big(fam.B)}ᵀ  (${big(fam.A)} = [${side(fam.A, '1')} … ${side(fam.A, 'H')}] as columns, ${big(fam.B)} = rows ${side(fam.B, 'k')})`,
        latex: `\\big[\\langle ${sideL(fam.A, 'k')}, ${sideL(fam.A, 'l')} \\rangle - \\langle ${sideL(fam.B, 'k')}, ${sideL(fam.B, 'l')} \\rangle\\big]_{k,l} = ${big(fam.A)}^\\top ${big(fam.A)} - ${big(fam.B)} ${big(fam.B)}^\\top`,
      };
    }
    case 'gl-matrix': {
      const L = fam.left, R = fam.right;
      const lt = fam.leftAxis === 1 ? `${L}ᵀ${L}` : `${L}${L}ᵀ`;
      const rt = fam.rightAxis === 0 ? `${R}${R}ᵀ` : `${R}ᵀ${R}`;
      const ll = fam.leftAxis === 1 ? `${L}^\\top ${L}` : `${L} ${L}^\\top`;
      const rl = fam.rightAxis === 0 ? `${R} ${R}^\\top` : `${R}^\\top ${R}`;
      return { text: `${lt} − ${rt}${multi ? '  (for each neuron i)' : ''}`, latex: `${ll} - ${rl}` };
    }
    case 'unit-rescaling': {
      const piece = (x: { param: string; axis: number }, latex: boolean): string => {
        const r = pname(m, x.param).shape;
        if (r === 1) return latex ? `${x.param}[k]^2` : `${x.param}[k]²`;
        const idx = x.axis === 0 ? 'k,:' : ':,k';
        return latex ? `\\lVert ${x.param}[${idx}] \\rVert^2` : `‖${x.param}[${idx}]‖²`;
      };
      const side = (xs: { param: string; axis: number }[], latex: boolean): string => xs.map((x) => piece(x, latex)).join(' + ');
      const each = `  (for each k along '${fam.dim}'${multi ? ' and each neuron i' : ''}: rescaling of unit k)`;
      return {
        text: `${side(fam.incoming, false)} − ${fam.outgoing.map((x) => piece(x, false)).join(' − ')}${each}`,
        latex: `${side(fam.incoming, true)} - ${fam.outgoing.map((x) => piece(x, true)).join(' - ')} \\quad (\\text{each } k)`,
      };
    }
    case 'translation': {
      const P = fam.param, rank = pname(m, P).shape;
      const sub = multi ? '_i' : '', each = multi ? '  (for each neuron i)' : '';
      if (rank === 1) return { text: `𝟏ᵀ${P}${sub}${each}`, latex: `\\mathbf{1}^\\top ${P}${multi ? '_i' : ''}` };
      return fam.axis === 0
        ? { text: `𝟏ᵀ${P}${sub} (the column sums of ${P})${each}`, latex: `\\mathbf{1}^\\top ${P}` }
        : { text: `${P}${sub}𝟏 (the row sums of ${P})${each}`, latex: `${P} \\mathbf{1}` };
    }
    case 'expr':
      return { text: fam.source, latex: `\\texttt{${fam.source.replace(/[_^{}#%&$]/g, (c) => `\\${c}`)}}` };
  }
}
