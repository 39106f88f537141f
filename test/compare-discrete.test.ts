/**
 * `gradflow compare <model> --methods agf,agf-gd,gd[,agf-momentum,momentum,agf-nesterov,nesterov --momentum m]`: the
 * discrete-time AGF beside simulated GD / heavy-ball runs inside `compare`, checked against the
 * simulations themselves (solvers/descent.ts) as α → 0: AGF errs by an O(1) flow-time offset per
 * jump, so D = (k_pred − k_sim)·η_eff converges and the rescaled error D/log(1/α) shrinks like
 * 1/log(1/α). Conventions: loss (1/2n)Σ(y − f)², steps k, η_eff = lr (gd) or lr/(1 − m) (momentum).
 */
import { describe, expect, it } from 'vitest';
import { expectBadInput, run } from './helpers/cli.ts';

interface StepRow { k: number; neuron: number; neuronSim: number | null; stepSim: number | null; stepPredicted: number; errPredicted: number | null; errFlowMapped: number | null }
interface StepTable { method: string; simulated: string | null; flowTimePerStep: number; steps: number; rows: StepRow[] }

async function compareJson(argv: string[]): Promise<{ discrete: StepTable[]; schedules: Record<string, { jumps: { time: number; step?: number }[] }>; methods: string[] }> {
  const r = await run('compare', ...argv, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

/** Offsets D = err·log(1/α) per α (rows: α, columns: jump) for one discrete method. */
async function offsets(model: string[], methods: string, extra: string[], alphas: number[], method: string): Promise<{ D: number[][]; err: number[][] }> {
  const D: number[][] = [], err: number[][] = [];
  for (const alpha of alphas) {
    const j = await compareJson([...model, '--alpha', String(alpha), '--methods', methods, ...extra]);
    const t = j.discrete.find((x) => x.method === method)!;
    expect(t.simulated).toBe(method.replace('agf-', ''));
    // the step table is the simulated schedule itself: its steps are the simulation's times over η_eff
    const sim = j.schedules[t.simulated!].jumps;
    expect(t.rows.length).toBe(sim.length);
    t.rows.forEach((r, q) => {
      expect(r.neuronSim).toBe(r.neuron);
      expect(r.stepSim! * t.flowTimePerStep).toBeCloseTo(sim[q].time, 9);
      expect(j.schedules[method].jumps[q].step).toBe(r.stepPredicted);
    });
    err.push(t.rows.map((r) => r.errPredicted!));
    D.push(t.rows.map((r) => r.errPredicted! * Math.log(1 / alpha)));
  }
  return { D, err };
}

/** D(α) converges (each within 10% + 0.5 flow time of the smallest α's) and the rescaled error roughly halves when log(1/α) doubles. */
function expectShrinking(o: { D: number[][]; err: number[][] }): void {
  const last = o.D.length - 1;
  for (let a = 0; a < last; a++) o.D[last].forEach((d, j) => expect(Math.abs(o.D[a][j] - d)).toBeLessThanOrEqual(0.1 * Math.abs(d) + 0.5));
  o.err[last].forEach((e, j) => expect(Math.abs(e)).toBeLessThanOrEqual(0.6 * Math.abs(o.err[last - 1][j]) + 0.01));
}

const DIAG = ['diagonal', '--dim', 'd=3', '--opt', 'n=9', '--seed', '2'];
const LIN = ['linear', '--dim', 'c=3', '--dim', 'd=3', '--dim', 'h=3', '--seed', '2', '--opt', 'case=2'];

describe('compare --methods agf-gd,gd / agf-momentum,momentum / agf-nesterov,nesterov', () => {
  it('diagonal: gd (lr = 0.05 ≈ 0.07/λ̂), heavy ball and Nesterov (m = 0.9, lr = 0.01) at α = 1e-4, 1e-8, 1e-16: offsets converge, rescaled step error ∝ 1/log(1/α)', async () => {
    const alphas = [1e-4, 1e-8, 1e-16];
    const extra = ['--lr', '0.05'];
    const gd = await offsets(DIAG, 'agf,agf-gd,gd', extra, alphas, 'agf-gd');
    expectShrinking(gd);
    const hb = await offsets(DIAG, 'agf,agf-momentum,momentum', ['--lr', '0.01', '--momentum', '0.9'], alphas, 'agf-momentum');
    expectShrinking(hb);
    const nv = await offsets(DIAG, 'agf,agf-nesterov,nesterov', ['--lr', '0.01', '--momentum', '0.9'], alphas, 'agf-nesterov');
    expectShrinking(nv);
    console.log(`compare diagonal: gd D ${gd.D.map((r) => r.map((x) => x.toFixed(2)).join(' ')).join(' | ')}; momentum D ${hb.D.map((r) => r.map((x) => x.toFixed(2)).join(' ')).join(' | ')}; nesterov D ${nv.D.map((r) => r.map((x) => x.toFixed(2)).join(' ')).join(' | ')}`);
  });

  it('two-layer linear network (--methods takes the generic path): gd at lr = 0.1 and α = 1e-4, 1e-8, 1e-16: offsets converge', async () => {
    const o = await offsets(LIN, 'agf,agf-gd,gd', ['--lr', '0.1'], [1e-4, 1e-8, 1e-16], 'agf-gd');
    expectShrinking(o);
    console.log(`compare linear: gd D ${o.D.map((r) => r.map((x) => x.toFixed(2)).join(' ')).join(' | ')}`);
  });

  it('the text table has the step columns; bad input is one line, exit 2', async () => {
    const r = await run('compare', ...DIAG, '--alpha', '1e-4', '--methods', 'agf-gd,gd', '--lr', '0.05');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/step gd\s+step agf-gd\s+step err agf-gd/);
    expect(r.out).toMatch(/agf-gd stability: stable/);
    await expectBadInput(['compare', 'diagonal', '--methods', 'agf,momentum'], /need --momentum m/);
    await expectBadInput(['compare', 'diagonal', '--methods', 'agf-nesterov'], /need --momentum m/);
    await expectBadInput(['compare', 'diagonal', '--methods', 'agf,gd', '--momentum', '0.9'], /--momentum is for the methods momentum, nesterov, agf-momentum and agf-nesterov/);
    await expectBadInput(['compare', 'diagonal', '--methods', 'agf-momentum', '--momentum', '1.5'], /momentum must lie in \(0, 1\)/);
    await expectBadInput(['compare', 'diagonal', '--methods', 'agf-gd', '--lr', '-1'], /learning rate must be a positive/);
    await expectBadInput(['compare', 'relu', '--methods', 'agf,agf-gd'], /implemented for polynomial κ = 2 models/);
    await expectBadInput(['compare', 'linear', '--lr', '0.1'], /without --methods/);
  });
});
