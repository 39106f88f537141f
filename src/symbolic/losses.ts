/**
 * Per-sample losses ℓ(z, t) of a model's output z and a sample's targets t, as expressions, with
 * G = ∇_z ℓ derived symbolically (diff.ts). MSE stays the default and keeps its hand-written
 * kernel; the others are softmax losses whose kernels are generated from these expressions:
 *
 *   cross-entropy     ℓ = (1ᵀy) logsumexp(z) − yᵀz           (= −yᵀ log softmax(z) for 1ᵀy = 1)
 *   label-smoothing   cross-entropy against (1 − ε) y + ε/V
 *   sft               −log π(y⁺)                              on a preference pair
 *   dpo               −log σ(β[log π(y⁺)/π_ref(y⁺) − log π(y⁻)/π_ref(y⁻)])   (frozen reference)
 *   neg-grad          +log π(y⁻)   (the negative-gradient term alone: minimising it pushes y⁻ down)
 *
 * Targets are vectors of the output's length, concatenated in a sample's target row: y (one-hot
 * or soft labels) for the first two; p (chosen, one-hot), q (rejected, one-hot) and r (the
 * reference model's logits) for the three preference losses, so one preference dataset serves
 * all three. log π(y) of a one-hot y is yᵀz − (1ᵀy) logsumexp(z).
 */
import { GradflowError } from '../util/errors.ts';
import {
  type Dim, type Expr, type Shape, type Sym, add, dot, fn, keyOf, logsumexp, mapExpr, mul, neg, num, sub, sum, sym,
} from './expr.ts';
import { grad } from './diff.ts';
import { isZero, simplify } from './simplify.ts';
import { toLatex, toText } from './print.ts';

export const LOSS_NAMES = ['mse', 'cross-entropy', 'label-smoothing', 'sft', 'dpo', 'neg-grad'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

export interface LossChoice {
  name: LossName;
  /** Label-smoothing weight ε ∈ [0, 1) (label-smoothing only; default 0.1). */
  epsilon?: number;
  /** DPO inverse temperature β > 0 (dpo only; default 0.1). */
  beta?: number;
}

export interface LossForm {
  choice: Required<Pick<LossChoice, 'name'>> & LossChoice;
  /** The model output z inside ℓ. */
  z: Sym;
  /** Target vectors in target-row order (each of z's shape). */
  targets: Sym[];
  /** ℓ(z, t) for one sample. */
  expr: Expr;
  /** G = ∇_z ℓ (z's shape). */
  grad: Expr;
  /** The loss normalisation, printed with every number. */
  convention: string;
  /** 1ᵀG ≡ 0 symbolically: the loss is invariant under shifting all logits together. */
  translationInvariant: boolean;
  /** True for the preference losses (targets p, q, r). */
  preference: boolean;
}

export const MSE_CONVENTION = '1/(2n) sum of squares';

const DEFAULT_EPSILON = 0.1;
const DEFAULT_BETA = 0.1;

export function isLossName(s: string): s is LossName {
  return (LOSS_NAMES as readonly string[]).includes(s);
}

/** Validate a loss given as a name or {name, epsilon, beta}; one clear error otherwise. */
export function parseLossChoice(v: unknown, where: string): LossChoice {
  const o: Record<string, unknown> = typeof v === 'string' ? { name: v } : typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const name = o.name;
  if (typeof name !== 'string' || !isLossName(name)) throw new GradflowError(`${where}: "loss" must be one of ${LOSS_NAMES.join(', ')} (or {"name": …, "epsilon": …, "beta": …})`);
  for (const k of Object.keys(o)) if (!['name', 'epsilon', 'beta'].includes(k)) throw new GradflowError(`${where}: loss option '${k}' is unknown (use epsilon or beta)`);
  const out: LossChoice = { name };
  if (o.epsilon !== undefined) {
    if (name !== 'label-smoothing') throw new GradflowError(`${where}: epsilon applies to label-smoothing only`);
    const e = o.epsilon;
    if (typeof e !== 'number' || !(e >= 0 && e < 1)) throw new GradflowError(`${where}: epsilon must be a number in [0, 1) (got ${String(e)})`);
    out.epsilon = e;
  }
  if (o.beta !== undefined) {
    if (name !== 'dpo') throw new GradflowError(`${where}: beta applies to dpo only`);
    const b = o.beta;
    if (typeof b !== 'number' || !(b > 0 && b <= 1e6)) throw new GradflowError(`${where}: beta must be a positive number ≤ 1e6 (got ${String(b)})`);
    out.beta = b;
  }
  return out;
}

/** Number of output-length target vectors a sample carries under this loss. */
export function targetMultiple(name: LossName): number {
  return name === 'sft' || name === 'dpo' || name === 'neg-grad' ? 3 : 1;
}

/**
 * The loss at an output shape. `V` is the output length when it is known (label smoothing needs
 * ε/V as a number); a symbolic length is resolved from `dims`.
 */
export function buildLoss(choice: LossChoice, outShape: Shape, dims: Readonly<Record<string, number>> = {}): LossForm {
  const z = sym('z', outShape, 'output');
  const name = choice.name;
  const preference = targetMultiple(name) === 3;
  if (name === 'mse') {
    const y = sym('y', outShape, 'target');
    const r = sub(z, y);
    const expr = simplify(mul(num(0.5), outShape.length === 0 ? mul(r, r) : dot(r, r)));
    return finish({ name }, z, [y], expr, MSE_CONVENTION, false);
  }
  if (outShape.length !== 1) throw new GradflowError(`loss '${name}': softmax losses need a vector output (logits z ∈ R^V), the model's output is ${outShape.length === 0 ? 'a scalar' : 'a matrix'}`);
  const lse = logsumexp(z);
  const logProb = (y: Expr): Expr => sub(dot(y, z), mul(sum(y), lse));
  if (name === 'cross-entropy' || name === 'label-smoothing') {
    const y = sym('y', outShape, 'target');
    const ce = sub(mul(sum(y), lse), dot(y, z));
    if (name === 'cross-entropy') return finish({ name }, z, [y], simplify(ce), 'cross-entropy −yᵀ log softmax(z), in nats', preference);
    const eps = choice.epsilon ?? DEFAULT_EPSILON;
    const V = resolve(outShape[0], dims);
    // ε-weight on the uniform target 1/V: (1 − ε) CE(y) + ε (logsumexp(z) − 1ᵀz / V)
    const expr = add(mul(num(1 - eps), ce), mul(num(eps), sub(lse, mul(num(1 / V), sum(z)))));
    return finish({ name, epsilon: eps }, z, [y], simplify(expr), `cross-entropy with label smoothing ε = ${eps} (targets (1 − ε) y + ε/V), in nats`, preference);
  }
  const p = sym('p', outShape, 'target'), q = sym('q', outShape, 'target'), r = sym('r', outShape, 'target');
  const targets = [p, q, r];
  if (name === 'sft') return finish({ name }, z, targets, simplify(neg(logProb(p))), 'SFT −log π(y⁺|x) on the chosen response, in nats', preference);
  if (name === 'neg-grad') return finish({ name }, z, targets, simplify(logProb(q)), 'negative gradient alone: +log π(y⁻|x) minimised, in nats', preference);
  const beta = choice.beta ?? DEFAULT_BETA;
  const lseR = logsumexp(r);
  const logRef = (y: Expr): Expr => sub(dot(y, r), mul(sum(y), lseR));
  const margin = mul(num(beta), add(logProb(p), neg(logRef(p)), neg(logProb(q)), logRef(q)));
  const expr = fn('softplus', neg(margin)); // −log σ(u) = softplus(−u), stable for any margin
  return finish({ name, beta }, z, targets, simplify(expr), `DPO −log σ(β[log π(y⁺)/π_ref(y⁺) − log π(y⁻)/π_ref(y⁻)]), β = ${beta}, frozen reference, in nats`, preference);
}

function resolve(d: Dim, dims: Readonly<Record<string, number>>): number {
  const v = typeof d === 'number' ? d : dims[d];
  if (!Number.isInteger(v) || v < 1) throw new GradflowError(`loss: the output length '${String(d)}' must be bound to a positive integer`);
  return v;
}

function finish(choice: LossForm['choice'], z: Sym, targets: Sym[], expr: Expr, convention: string, preference: boolean): LossForm {
  const G = grad(expr, z);
  // label smoothing is cross-entropy against the target (1 − ε) y + ε/V, and cross-entropy's
  // 1ᵀG = (1ᵀt)(1ᵀπ) − 1ᵀt vanishes for every t; the float ε/V·V ≠ ε rounding hides that here
  const translationInvariant = z.shape.length === 1
    && (isZero(simplify(sum(G))) || (choice.name === 'label-smoothing' && buildLoss({ name: 'cross-entropy' }, z.shape).translationInvariant));
  return { choice, z, targets, expr, grad: G, convention, translationInvariant, preference };
}

/**
 * ℓ and G as text and LaTeX, for `derive`. DPO's margin is long and appears in every term of G,
 * so it is named u: ℓ = softplus(−u), G in terms of σ(−u).
 */
export function lossEquations(l: LossForm): { text: string; latex: string; gradText: string; gradLatex: string; where?: { text: string; latex: string } } {
  const e = l.expr;
  if (l.choice.name === 'dpo' && e.kind === 'fn' && e.name === 'softplus') {
    const u = sym('u', [], 'aux');
    const negMargin = keyOf(e.arg);
    const named = (x: Expr): Expr => mapExpr(x, (n) => (keyOf(n) === negMargin ? neg(u) : undefined));
    const margin = simplify(neg(e.arg));
    return {
      text: toText(named(e)), latex: toLatex(named(e)), gradText: toText(named(l.grad)), gradLatex: toLatex(named(l.grad)),
      where: { text: `u = ${toText(margin)}`, latex: `u = ${toLatex(margin)}` },
    };
  }
  return { text: toText(e), latex: toLatex(e), gradText: toText(l.grad), gradLatex: toLatex(l.grad) };
}

