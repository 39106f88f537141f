/**
 * From a ModelSpec to its derived equations: the parsed neuron template, ∇_θ⟨e, f_i⟩ for each
 * parameter (the only derivative gradient flow needs), the homogeneity degree κ, and — for
 * models linear in a single input — the moment form θ̇ = −∇_θ f_i(x := g), g = Σ_xx β − Σ_yx.
 * Every equation is kept as an expression and printed as text and LaTeX on demand.
 */
import { GradflowError } from '../util/errors.ts';
import type { ModelSpec } from '../spec.ts';
import { type Expr, type Sym, type Dim, add, matvec, neg, shapeOf, substitute, sym, fmtShape } from './expr.ts';
import { parseTemplate } from './parse.ts';
import { grad, vjp } from './diff.ts';
import { simplify } from './simplify.ts';
import { homogeneityDegree, isPolynomial } from './degree.ts';
import { toLatex, toText, symLatex, symText } from './print.ts';
import { checkIndexBounds } from './bounds.ts';

export interface Equation {
  label: string;
  text: string;
  latex: string;
}

export interface MomentForm {
  /** β = ∇_x f_i, the neuron's contribution to the end-to-end linear map. */
  beta: Expr;
  /** θ̇_p = rhs[p] (already carrying the minus sign), with g a moment symbol. */
  rhs: Map<string, Expr>;
  g: Sym;
}

export interface DerivedModel {
  spec: ModelSpec;
  params: Sym[];
  inputs: Sym[];
  /** Residual/cotangent symbol e with the output's shape. */
  residual: Sym;
  /** The neuron index symbol 'i'. */
  neuronIndex: Sym;
  template: Expr;
  /** ∇_{θ_p}⟨e, f_i(x; θ_i)⟩ per parameter name. */
  vjps: Map<string, Expr>;
  /** ∂f_i/∂θ_p for scalar-output models (null otherwise). */
  partials: Map<string, Expr> | null;
  kappa: number | null;
  polynomial: boolean;
  /** Degree in the inputs (1 for linear models), null if not homogeneous in x. */
  inputDegree: number | null;
  moment: MomentForm | null;
}

const RESERVED = new Set(['i', 'e', 'g', 'Sxx', 'Syx', 'n', 'j']);

function checkShape(shape: Dim[], dims: Record<string, number>, what: string): void {
  if (!Array.isArray(shape) || shape.length > 2) throw new GradflowError(`spec: ${what} must have a shape [] (scalar), [d] (vector) or [m, n] (matrix)`);
  for (const d of shape) {
    if (typeof d === 'number') {
      if (!Number.isInteger(d) || d < 1) throw new GradflowError(`spec: ${what} has an invalid dimension ${d}`);
    } else if (typeof d !== 'string' || !(d in dims)) {
      throw new GradflowError(`spec: ${what} uses the dimension '${String(d)}', which is not declared in "dims"`);
    }
  }
}

export function deriveModel(spec: ModelSpec): DerivedModel {
  const dims = spec.dims ?? {};
  const scope = new Map<string, Sym>();
  const params: Sym[] = [];
  const inputs: Sym[] = [];
  if (!spec.params || Object.keys(spec.params).length === 0) throw new GradflowError(`spec '${spec.name}': "params" must declare at least one parameter`);
  if (!spec.inputs || Object.keys(spec.inputs).length === 0) throw new GradflowError(`spec '${spec.name}': "inputs" must declare at least one input`);
  for (const [name, shape] of Object.entries(spec.params)) {
    if (RESERVED.has(name)) throw new GradflowError(`spec: the name '${name}' is reserved; rename the parameter`);
    checkShape(shape, dims, `parameter '${name}'`);
    const s = sym(name, shape, 'param');
    params.push(s);
    scope.set(name, s);
  }
  for (const [name, shape] of Object.entries(spec.inputs)) {
    if (RESERVED.has(name) || scope.has(name)) throw new GradflowError(`spec: the input name '${name}' is reserved or already used`);
    checkShape(shape, dims, `input '${name}'`);
    const s = sym(name, shape, 'input');
    inputs.push(s);
    scope.set(name, s);
  }
  const neuronIndex = sym('i', [], 'index');
  scope.set('i', neuronIndex);
  checkShape(spec.output ?? [], dims, 'output');
  if (typeof spec.template !== 'string' || spec.template.trim() === '') throw new GradflowError(`spec '${spec.name}': "template" must be an expression string`);

  const template = simplify(parseTemplate(spec.template, scope, `spec '${spec.name}' template`));
  checkIndexBounds(template, dims, typeof spec.neurons === 'number' ? spec.neurons : dims[spec.neurons], `spec '${spec.name}' template`);
  const outShape = shapeOf(template);
  const declared = spec.output ?? [];
  if (outShape.length !== declared.length || outShape.some((d, k) => d !== declared[k])) {
    throw new GradflowError(`spec '${spec.name}': the template's value is ${fmtShape(outShape)} but "output" declares ${fmtShape(declared)}`);
  }
  const residual = sym('e', declared, 'residual');
  const vjps = new Map<string, Expr>();
  for (const p of params) vjps.set(p.name, vjp(template, residual, p));
  const partials = declared.length === 0 ? new Map(params.map((p) => [p.name, grad(template, p)])) : null;
  const paramNames = new Set(params.map((p) => p.name));
  const kappa = homogeneityDegree(template, paramNames);
  const inputDegree = homogeneityDegree(template, new Set(inputs.map((s) => s.name)));

  let moment: MomentForm | null = null;
  if (declared.length === 0 && inputs.length === 1 && inputs[0].shape.length === 1 && inputDegree === 1 && isPolynomial(template)) {
    // f is linear in x, so E_x[(f − y) ∇_θ f] = ∇_θ f(x := g) with g = Σ_xx β − Σ_yx.
    const x = inputs[0];
    const g = sym('g', x.shape, 'moment');
    const fg = substitute(template, new Map([[x.name, g]]));
    const rhs = new Map<string, Expr>();
    for (const p of params) rhs.set(p.name, simplify(neg(grad(fg, p))));
    moment = { beta: grad(template, x), rhs, g };
  }
  return {
    spec, params, inputs, residual, neuronIndex, template, vjps, partials, kappa,
    polynomial: isPolynomial(template), inputDegree, moment,
  };
}

function neuronCount(spec: ModelSpec): string {
  return typeof spec.neurons === 'number' ? String(spec.neurons) : spec.neurons;
}

/** The derived equations, in reading order, as text and LaTeX. */
export function equations(m: DerivedModel): Equation[] {
  const out: Equation[] = [];
  const H = neuronCount(m.spec);
  const single = H === '1';
  const inArgs = m.inputs.map((s) => symText(s.name)).join(', ');
  const inArgsL = m.inputs.map((s) => symLatex(s.name)).join(', ');
  out.push({
    label: 'model',
    text: single ? `f(${inArgs}; θ) = ${toText(m.template)}` : `f(${inArgs}; Θ) = Σ_{i=1}^{${H}} f_i,  f_i = ${toText(m.template)}`,
    latex: single ? `f(${inArgsL}; \\theta) = ${toLatex(m.template)}` : `f(${inArgsL}; \\Theta) = \\sum_{i=1}^{${H}} f_i, \\quad f_i = ${toLatex(m.template)}`,
  });
  const vec = m.residual.shape.length > 0;
  out.push({
    label: 'loss',
    text: `L(Θ) = (1/2n) Σ_j ${vec ? '‖y_j − f(x_j)‖²' : '(y_j − f(x_j))²'}   (mean over samples)`,
    latex: `L(\\Theta) = \\frac{1}{2n} \\sum_{j=1}^{n} ${vec ? '\\lVert y_j - f(x_j) \\rVert^2' : '\\left(y_j - f(x_j)\\right)^2'}`,
  });
  const sub = single ? '' : '_i';
  const subL = single ? '' : '_i';
  if (m.partials) {
    for (const p of m.params) {
      out.push({
        label: `∂f/∂${p.name}`,
        text: `∂f${sub}/∂${symText(p.name)}${sub} = ${toText(m.partials.get(p.name)!)}`,
        latex: `\\frac{\\partial f${subL}}{\\partial ${symLatex(p.name)}${subL}} = ${toLatex(m.partials.get(p.name)!)}`,
      });
    }
  } else {
    for (const p of m.params) {
      out.push({
        label: `J^T e (${p.name})`,
        text: `∇_${symText(p.name)}${sub} ⟨e, f${sub}⟩ = ${toText(m.vjps.get(p.name)!)}`,
        latex: `\\nabla_{${symLatex(p.name)}${subL}} \\langle e, f${subL} \\rangle = ${toLatex(m.vjps.get(p.name)!)}`,
      });
    }
  }
  for (const p of m.params) {
    out.push({
      label: `flow ${p.name}`,
      text: `d${symText(p.name)}${sub}/dt = −(1/n) Σ_j [${toText(m.vjps.get(p.name)!)}]_{x = x_j, e = e_j},  e_j = f(x_j) − y_j`,
      latex: `\\dot{${symLatex(p.name)}}${subL} = -\\frac{1}{n}\\sum_{j=1}^{n} \\Big[${toLatex(m.vjps.get(p.name)!)}\\Big]_{x = x_j,\\, e = e_j}, \\quad e_j = f(x_j) - y_j`,
    });
  }
  if (m.moment) {
    const { beta, rhs, g } = m.moment;
    const x = m.inputs[0];
    const Sxx = sym('Sxx', [x.shape[0], x.shape[0]], 'moment');
    const Syx = sym('Syx', x.shape, 'moment');
    // with one neuron β is the neuron's own; otherwise β = Σ_i β_i is kept as a symbol
    const betaSym = sym('beta', x.shape, 'aux');
    const gExpr = add(matvec(Sxx, single ? beta : betaSym), neg(Syx));
    for (const p of m.params) {
      const r = rhs.get(p.name)!;
      const withG = substitute(r, new Map([[g.name, gExpr]]));
      out.push({
        label: `moment flow ${p.name}`,
        text: `d${symText(p.name)}${sub}/dt = ${toText(withG)}`,
        latex: `\\dot{${symLatex(p.name)}}${subL} = ${toLatex(withG)}`,
      });
    }
    out.push({
      label: 'moments',
      text: `${single ? `β = ${toText(beta)}` : `β = Σ_i β_i, β_i = ${toText(beta)}`},  Σ_xx = XᵀX/n,  Σ_yx = Xᵀy/n,  g = Σ_xx β − Σ_yx = ∇_β L`,
      latex: `${single ? `\\beta = ${toLatex(beta)}` : `\\beta = \\sum_i \\beta_i,\\ \\beta_i = ${toLatex(beta)}`}, \\quad \\Sigma_{xx} = X^\\top X / n, \\quad \\Sigma_{yx} = X^\\top y / n`,
    });
  }
  out.push({
    label: 'homogeneity',
    text: m.kappa === null ? 'f_i is not homogeneous in θ_i (AGF thresholds do not apply)' : `f_i(x; sθ_i) = s^${m.kappa} f_i(x; θ_i) for s > 0: κ = ${m.kappa}`,
    latex: m.kappa === null ? '\\text{not homogeneous}' : `f_i(x; s\\theta_i) = s^{${m.kappa}} f_i(x; \\theta_i),\\ \\kappa = ${m.kappa}`,
  });
  return out;
}
