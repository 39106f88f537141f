/**
 * A heatmap panel (rows × columns of cells, e.g. neurons × frequency classes) with a colour bar,
 * composable with line plots by renderPanels. Colours are viridis (perceptually uniform, readable
 * in greyscale); on a log colour scale, values more than `decades` below the largest share the
 * bottom colour, and the bar and the caption say so instead of clamping silently.
 */
import { GradflowError } from '../util/errors.ts';
import { formatNumber } from './table.ts';
import { CAPTION_SIZE, CHAR_EM, esc, fitFont, num, wrapText, type PanelBody } from './svg.ts';

export interface HeatmapSpec {
  kind: 'heatmap';
  title: string;
  xLabel: string;
  yLabel: string;
  /** Column labels (e.g. the frequency classes 0 … p/2). */
  columns: string[];
  /** Row labels (e.g. neuron names), top to bottom. */
  rows: string[];
  /** z[row][column]; non-finite cells are drawn grey and named in the caption. */
  z: number[][];
  zLabel: string;
  logZ?: boolean;
  /** Log scale: decades shown below the largest value (default 6). */
  decades?: number;
  width?: number;
  height?: number;
  caption?: string;
}

/** Matplotlib's viridis at nine evenly spaced points (its published table, 0 → 1). */
export const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

/** Viridis at u ∈ [0, 1], linear between the nine stops. */
export function viridis(u: number): string {
  const t = Math.min(1, Math.max(0, u)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - k;
  const a = VIRIDIS[k], b = VIRIDIS[k + 1];
  const ch = (s: string, i: number): number => parseInt(s.slice(1 + 2 * i, 3 + 2 * i), 16);
  return `#${[0, 1, 2].map((i) => Math.round(ch(a, i) + f * (ch(b, i) - ch(a, i))).toString(16).padStart(2, '0')).join('')}`;
}

interface Scale { lo: number; hi: number; log: boolean; floorNote: string | null }

function scaleOf(spec: HeatmapSpec): Scale {
  const vals = spec.z.flat().filter((v) => Number.isFinite(v) && (!spec.logZ || v > 0));
  if (!vals.length) return { lo: 0, hi: 1, log: !!spec.logZ, floorNote: null };
  const max = Math.max(...vals), min = Math.min(...vals);
  if (!spec.logZ) return { lo: Math.min(0, min), hi: max > Math.min(0, min) ? max : Math.min(0, min) + 1, log: false, floorNote: null };
  const hi = Math.log10(max);
  const decades = spec.decades ?? 6;
  const floor = hi - decades;
  const lowest = Math.log10(min);
  const zeros = spec.z.flat().filter((v) => Number.isFinite(v) && v <= 0).length;
  const below = spec.z.flat().filter((v) => Number.isFinite(v) && v > 0 && Math.log10(v) < floor).length + zeros;
  const lo = lowest < floor || zeros ? floor : Math.min(lowest, hi - 1);
  const note = below ? `${below} cell${below === 1 ? '' : 's'} below ${formatNumber(10 ** floor, 3)} (${decades} decades under the largest value${zeros ? '; zeros included' : ''}) share the bottom colour.` : null;
  return { lo, hi: hi > lo ? hi : lo + 1, log: true, floorNote: note };
}

/** The colour of a value on the panel's scale (exported for tests and for a legend elsewhere). */
export function heatmapColor(spec: HeatmapSpec, v: number): string {
  if (!Number.isFinite(v)) return '#bbbbbb';
  const s = scaleOf(spec);
  const t = s.log ? (v > 0 ? Math.log10(v) : -Infinity) : v;
  return viridis((Math.max(t, s.lo) - s.lo) / (s.hi - s.lo));
}

export function heatmapBody(spec: HeatmapSpec): PanelBody {
  const nr = spec.rows.length, nc = spec.columns.length;
  if (!nr || !nc) throw new GradflowError(`heatmap '${spec.title}' has no cells`);
  if (spec.z.length !== nr || spec.z.some((r) => r.length !== nc)) throw new GradflowError(`heatmap '${spec.title}': z must be ${nr} rows of ${nc} values`);
  const W = Math.round(spec.width ?? 640), H = Math.round(spec.height ?? 400);
  const scale = scaleOf(spec);
  const nonFinite = spec.z.flat().filter((v) => !Number.isFinite(v)).length;
  const caption = [spec.caption, scale.floorNote, nonFinite ? `${nonFinite} non-finite cells are grey.` : null].filter((s) => s).join(' ');
  const captionLines = caption ? wrapText(caption, Math.max(20, Math.floor((W - 24) / (CAPTION_SIZE * CHAR_EM)))) : [];
  const rowLabelW = Math.max(...spec.rows.map((r) => [...r].length)) * 10 * CHAR_EM + 10;
  const [ml, mr, mt, mb] = [Math.max(44, 26 + rowLabelW), 92, 34, 50 + captionLines.length * (CAPTION_SIZE + 3)];
  const [x0, y0, x1, y1] = [ml, mt, W - mr, H - mb];
  if (x1 - x0 < 20 || y1 - y0 < 20) throw new GradflowError(`heatmap '${spec.title}' is too small (${W}×${H})`);
  const cw = (x1 - x0) / nc, rh = (y1 - y0) / nr;
  const o: string[] = [`<rect width="${W}" height="${H}" fill="#ffffff"/>`];
  o.push(`<text x="${num((x0 + x1) / 2)}" y="22" text-anchor="middle" font-size="14">${esc(spec.title)}</text>`);
  const cells: string[] = [];
  spec.z.forEach((row, i) => row.forEach((v, j) => {
    const tip = `${spec.rows[i]}, ${spec.xLabel} ${spec.columns[j]}: ${spec.zLabel} = ${formatNumber(v)}`;
    cells.push(`<rect x="${num(x0 + j * cw)}" y="${num(y0 + i * rh)}" width="${num(cw)}" height="${num(rh)}" fill="${heatmapColor(spec, v)}"><title>${esc(tip)}</title></rect>`);
  }));
  o.push(`<g class="cells" shape-rendering="crispEdges">${cells.join('')}</g>`);
  o.push(`<rect class="plot-area" x="${x0}" y="${y0}" width="${num(x1 - x0)}" height="${num(y1 - y0)}" fill="none" stroke="#000000" stroke-width="1"/>`);
  // column labels, thinned so they never overlap; row labels when the rows are tall enough to read
  const colEvery = Math.max(1, Math.ceil((Math.max(...spec.columns.map((c) => [...c].length)) * 12 * CHAR_EM + 6) / cw));
  let labels = '';
  spec.columns.forEach((c, j) => {
    if (j % colEvery === 0) labels += `<text x="${num(x0 + (j + 0.5) * cw)}" y="${y1 + 17}" text-anchor="middle" font-size="12">${esc(c)}</text>`;
  });
  const rowEvery = Math.max(1, Math.ceil(12 / rh));
  spec.rows.forEach((r, i) => {
    if (i % rowEvery === 0) labels += `<text x="${x0 - 6}" y="${num(y0 + (i + 0.5) * rh + 4)}" text-anchor="end" font-size="${rh >= 12 ? 11 : 10}">${esc(r)}</text>`;
  });
  o.push(labels);
  o.push(`<text x="${num((x0 + x1) / 2)}" y="${y1 + 36}" text-anchor="middle" font-size="13">${esc(spec.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${num((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" font-size="${fitFont(spec.yLabel, 2 * Math.min((y0 + y1) / 2, H - (y0 + y1) / 2) - 8, 13)}">${esc(spec.yLabel)}</text>`);
  // colour bar: 32 bands, ticks at whole decades (log) or five even steps
  const bx = x1 + 14, bw = 12, bands = 32;
  let bar = '';
  for (let k = 0; k < bands; k++) {
    const y = y1 - ((k + 1) / bands) * (y1 - y0);
    bar += `<rect x="${bx}" y="${num(y)}" width="${bw}" height="${num((y1 - y0) / bands + 0.5)}" fill="${viridis((k + 0.5) / bands)}"/>`;
  }
  o.push(`<g class="colorbar" shape-rendering="crispEdges">${bar}</g><rect x="${bx}" y="${y0}" width="${bw}" height="${num(y1 - y0)}" fill="none" stroke="#000000" stroke-width="0.75"/>`);
  const ticks: { at: number; text: string }[] = [];
  if (scale.log) {
    // the floor's label first, so it wins over a decade tick at the same height
    if (scale.floorNote) ticks.push({ at: scale.lo, text: `≤${formatNumber(10 ** scale.lo, 2)}` });
    const step = Math.max(1, Math.ceil((scale.hi - scale.lo) / 6));
    for (let d = Math.ceil(scale.lo - 1e-9); d <= scale.hi + 1e-9; d += step) ticks.push({ at: d, text: `1e${d}` });
  } else for (let k = 0; k <= 4; k++) ticks.push({ at: scale.lo + (k / 4) * (scale.hi - scale.lo), text: formatNumber(scale.lo + (k / 4) * (scale.hi - scale.lo), 3) });
  let tk = '';
  const seen: number[] = [];
  for (const t of ticks) {
    const y = y1 - ((t.at - scale.lo) / (scale.hi - scale.lo)) * (y1 - y0);
    if (seen.some((s) => Math.abs(s - y) < 11)) continue;
    seen.push(y);
    tk += `<path d="M${bx + bw} ${num(y)}h4" stroke="#000000"/><text x="${bx + bw + 6}" y="${num(y + 4)}" font-size="10">${esc(t.text)}</text>`;
  }
  o.push(tk);
  o.push(`<text transform="translate(${W - 8} ${num((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" font-size="${fitFont(spec.zLabel, 2 * Math.min((y0 + y1) / 2, H - (y0 + y1) / 2) - 8, 12)}">${esc(spec.zLabel)}</text>`);
  captionLines.forEach((line, k) => {
    const y = H - 8 - (captionLines.length - 1 - k) * (CAPTION_SIZE + 3);
    o.push(`<text class="caption" x="12" y="${y}" font-size="${CAPTION_SIZE}" fill="#333333">${esc(line)}</text>`);
  });
  return { w: W, h: H, body: o.join('\n') };
}
