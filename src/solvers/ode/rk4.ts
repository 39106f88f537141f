/** Classical fixed-step RK4: a simple, predictable reference method. */
import type { OdeRhs } from './types.ts';
import { hermite, type Step, type StepConfig, type Stepper } from './dense.ts';

export function rk4Stepper(f: OdeRhs, t0: number, y0: Float64Array, f0: Float64Array, t1: number, cfg: StepConfig): Stepper {
  const n = y0.length;
  const dt = cfg.dt ?? (t1 - t0) / 1000;
  // nodes t0 + k·dt rather than repeated addition, so long runs land on the grid
  const nSteps = Math.max(1, Math.ceil((t1 - t0) / dt - 1e-9));
  let k = 0;
  let t = t0;
  let y: Float64Array = y0.slice();
  let fy: Float64Array = f0.slice();
  const k2 = new Float64Array(n), k3 = new Float64Array(n), k4 = new Float64Array(n), ys = new Float64Array(n);
  return {
    rejected: 0,
    step(): Step {
      k++;
      const tB = k >= nSteps ? t1 : t0 + k * dt;
      const h = tB - t;
      for (let i = 0; i < n; i++) ys[i] = y[i] + 0.5 * h * fy[i];
      f(t + 0.5 * h, ys, k2);
      for (let i = 0; i < n; i++) ys[i] = y[i] + 0.5 * h * k2[i];
      f(t + 0.5 * h, ys, k3);
      for (let i = 0; i < n; i++) ys[i] = y[i] + h * k3[i];
      f(tB, ys, k4);
      const yB = new Float64Array(n), fB = new Float64Array(n);
      for (let i = 0; i < n; i++) yB[i] = y[i] + (h / 6) * (fy[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
      f(tB, yB, fB);
      const step: Step = { tA: t, tB, yB, fB, interp: hermite(t, y, fy, tB, yB, fB) };
      t = tB;
      y = yB;
      fy = fB;
      return step;
    },
  };
}
