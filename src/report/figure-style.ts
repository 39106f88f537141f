/**
 * One style for every figure: a method keeps its colour and line style everywhere, predictions
 * (AGF, PF, closed forms) are always dashed and simulations solid, the loss axis has one name,
 * and a log axis that cannot show every value says so instead of clamping silently.
 */
import { PALETTE, type Series } from './svg.ts';
import { formatNumber } from './table.ts';

export const LOSS_AXIS = 'loss L(θ) = (1/2n) Σ‖y − f(x)‖²';

interface MethodStyle { color: string; label: string; prediction: boolean }

const STYLES: Record<string, MethodStyle> = {
  agf: { color: PALETTE[6], label: 'AGF', prediction: true },
  pf: { color: PALETTE[4], label: 'PF (α → 0)', prediction: true },
  exact: { color: PALETTE[3], label: 'closed form', prediction: true },
  flow: { color: PALETTE[0], label: 'gradient flow', prediction: false },
  gd: { color: PALETTE[1], label: 'gradient descent', prediction: false },
  momentum: { color: PALETTE[2], label: 'momentum', prediction: false },
};

/** The style of a method name such as 'agf', 'flow:dopri5', 'exact:whitened', 'agf-generic'. */
export function methodStyle(method: string): MethodStyle {
  const base = method.split(/[:\-]/)[0];
  const s = STYLES[base];
  if (s) return method === base ? s : { ...s, label: `${s.label} (${method.slice(base.length + 1)})` };
  return { color: PALETTE[5], label: method, prediction: false };
}

export function methodSeries(method: string, x: ArrayLike<number>, y: ArrayLike<number>, kind: 'curve' | 'step' = 'curve'): Series {
  const st = methodStyle(method);
  // a prediction's step function is drawn dashed like its curves: one look for "theory"
  return { name: st.prediction ? `${st.label} (predicted)` : st.label, x, y, color: st.color, style: st.prediction ? (kind === 'step' ? 'step-dashed' : 'dashed') : kind === 'step' ? 'step' : 'line' };
}

/**
 * A log y-range for losses spanning `decades` at most below the largest value. Returns the
 * domain and, when some positive values fall below it, a caption sentence saying how far.
 */
export function lossDomain(series: Series[], decades = 12): { domain: [number, number] | undefined; note: string | null } {
  let lo = Infinity, hi = 0, zeros = false;
  for (const s of series) {
    for (let k = 0; k < s.y.length; k++) {
      const v = s.y[k];
      if (!Number.isFinite(v)) continue;
      if (v <= 0) zeros = true;
      else {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  if (!(hi > 0)) return { domain: undefined, note: null };
  const top = 10 ** Math.ceil(Math.log10(hi));
  const floor = top * 10 ** -decades;
  const notes: string[] = [];
  if (lo < floor) notes.push(`Losses below ${formatNumber(floor)} (the smallest is ${formatNumber(lo, 3)}) run off the bottom of the log axis`);
  if (zeros) notes.push('Exact zeros cannot be drawn on the log axis');
  const bottom = lo < floor ? floor : 10 ** Math.floor(Math.log10(lo));
  return { domain: [bottom, top > bottom ? top : bottom * 10], note: notes.length ? notes.map((n) => `${n}.`).join(' ') : null };
}
