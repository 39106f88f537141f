/**
 * gradflow's library entry (`import { createProblem, solveFlow, solveAgf, models } from 'gradflow'`).
 * The same functions the CLI calls; the build bundles this file into dist/index.js with its .d.ts.
 */
import { singleNeuron } from '../models/single-neuron.ts';
import { diagonal } from '../models/diagonal.ts';
import { linear } from '../models/linear.ts';
import { factorization, factorizationUV } from '../models/factorization.ts';
import { modular } from '../models/modular.ts';

/** The built-in models by their short names (the same objects BUILTIN_MODELS lists). */
export const models = { singleNeuron, diagonal, linear, factorization, factorizationUV, modular } as const;
export { BUILTIN_MODELS, findModel } from '../models/index.ts';

export { createProblem, derived, lossOf, gradientOf, LOSS_CONVENTION } from './problem.ts';
export type { Problem, ProblemOptions, Conventions, Monitor } from './problem.ts';
export type { ModelDefinition, ModelSpec, ExactSolution, ParamInit, InitDist } from './spec.ts';
export { parseSpec, readSpec } from './specfile.ts';
export { deriveModel, equations } from './symbolic/derive.ts';
export type { DerivedModel, Equation, MomentForm } from './symbolic/derive.ts';

export { solveFlow, FLOW_METHODS } from './solvers/flow.ts';
export type { FlowOptions, FlowEvent } from './solvers/flow.ts';
export { solveDescent, float64Backend } from './solvers/descent.ts';
export type { DescentOptions, DescentBackend } from './solvers/descent.ts';
export { solveExact } from './solvers/exact.ts';
export type { ExactOptions } from './solvers/exact.ts';
export { solveAgf } from './solvers/agf.ts';
export type { AgfOptions } from './solvers/agf.ts';
export { solvePf } from './solvers/pf.ts';
export type { PfOptions } from './solvers/pf.ts';
export { integrate } from './solvers/ode/index.ts';
export type { OdeEvent, OdeEventHit, OdeMethod, OdeOptions, OdeRhs, OdeSolution } from './solvers/ode/index.ts';

export type { Trajectory, TrajectoryEvent } from './trajectory.ts';
export type { Jump, JumpSchedule } from './schedule.ts';
export { rescale } from './schedule.ts';
export { compareSchedules, comparisonTable, comparisonJson, worstRelError } from './analysis/compare.ts';
export type { Comparison, MatchedJump } from './analysis/compare.ts';
export { renderText, renderMarkdown, renderCsv, renderLatex } from './report/table.ts';
export { GradflowError, DivergenceError } from './util/errors.ts';
export { relDiff, norm2 } from './util/linalg.ts';

