/**
 * Dependency-free line plots as standalone SVG text. Output is a pure function of the spec
 * (no ids from counters, no clock, coordinates rounded to 0.01 px and at most 6 significant
 * digits) so regenerated figures diff cleanly in a paper's repository.
 */
import { GradflowError } from '../util/errors.ts';
import { heatmapBody, type HeatmapSpec } from './heatmap.ts';
import { formatNumber } from './table.ts';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  style?: 'line' | 'step' | 'points' | 'dashed' | 'step-dashed';
  color?: string;
}
export interface VLine { x: number; label?: string; color?: string; dashed?: boolean }
export interface HLine { y: number; label?: string; color?: string; dashed?: boolean }
export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  vlines?: VLine[];
  hlines?: HLine[];
  logY?: boolean;
  logX?: boolean;
  width?: number;
  height?: number;
  xDomain?: [number, number];
  yDomain?: [number, number];
  caption?: string;
}

/** Okabe–Ito, reordered so the first colours are distinct in greyscale too; yellow last (weak on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const FONT = 'Helvetica, Arial, sans-serif';
const DASH = '6 4';
export const CAPTION_SIZE = 11;
/** Average glyph advance in em for Helvetica/DejaVu Sans text: layout without font metrics. */
export const CHAR_EM = 0.58;

/** Greedy word wrap to lines of at most `width` characters (a word longer than that gets a line of its own). */
export function wrapText(s: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of s.split(/\s+/).filter((w) => w)) {
    if (cur && [...cur].length + 1 + [...word].length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

interface P { x: number; y: number }
/** An axis maps data to pixels; lo/hi are in transformed (log10 for log axes) units. */
interface Axis { log: boolean; lo: number; hi: number; p0: number; p1: number }
interface Tick { at: number; text: string; sup?: string; minor?: boolean }

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** The font size (at most `size`, at least 8 px) at which `text` fits in `length` px: long axis labels on short print panels. */
export function fitFont(text: string, length: number, size: number): number {
  const need = [...text].length * CHAR_EM * 1.1; // DejaVu Sans runs a little wider than the average estimate
  return Math.max(8, Math.min(size, Math.floor((length / need) * 2) / 2));
}

/** A pixel coordinate, rounded to 0.01 px and short. */
export function num(v: number): string {
  // a non-finite coordinate here is a bug upstream: every path skips such points before mapping
  if (!Number.isFinite(v)) throw new Error(`svg: non-finite coordinate ${v}`);
  const r = Number((Math.round(v * 100) / 100).toPrecision(6));
  return r === 0 ? '0' : String(r);
}

const minus = (s: string): string => s.replace(/^-/, '\u2212');

function toAxis(a: Axis, v: number): number | null {
  if (!Number.isFinite(v) || (a.log && v <= 0)) return null;
  const t = a.log ? Math.log10(v) : v;
  return a.p0 + ((t - a.lo) / (a.hi - a.lo)) * (a.p1 - a.p0);
}

function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/** Domain in transformed units: the given one, else the data's, widened to ticks or decades. */
function domain(values: number[], log: boolean, given: [number, number] | undefined, target: number, what: string): [number, number] {
  if (given) {
    const [lo, hi] = given;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new GradflowError(`${what} domain must be finite with lo < hi`);
    if (log && lo <= 0) throw new GradflowError(`${what} domain must be positive on a log axis`);
    return log ? [Math.log10(lo), Math.log10(hi)] : [lo, hi];
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1]; // nothing plottable: an empty frame, 0..1 or 1..10
  if (log) {
    const a = Math.floor(Math.log10(lo));
    const b = Math.ceil(Math.log10(hi));
    return [a, b > a ? b : a + 1];
  }
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const step = niceStep(hi - lo, target);
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

function linearTicks(lo: number, hi: number, target: number): Tick[] {
  const step = niceStep(hi - lo, target);
  const dec = Math.min(100, Math.max(0, -Math.floor(Math.log10(step))));
  const out: Tick[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
    const v = Number((i * step).toFixed(dec));
    out.push({ at: v, text: minus(formatNumber(v)) });
  }
  return out;
}

/** Decades labelled 10^k; under two decades in view, 1-2-5 (then 1..9) mantissas instead. */
function logTicks(lo: number, hi: number, target: number): Tick[] {
  const a = Math.ceil(lo - 1e-9);
  const b = Math.floor(hi + 1e-9);
  if (b - a >= 1) {
    const every = Math.max(1, Math.ceil((b - a + 1) / target));
    const out: Tick[] = [];
    for (let k = a; k <= b; k++) {
      if (k % every === 0) out.push({ at: k, text: '10', sup: minus(String(k)) });
      else if (every > 1) out.push({ at: k, text: '', minor: true });
    }
    if (every === 1 && hi - lo <= 8) {
      for (let d = Math.floor(lo); d < Math.ceil(hi); d++) {
        for (let m = 2; m <= 9; m++) {
          const t = d + Math.log10(m);
          if (t >= lo && t <= hi) out.push({ at: t, text: '', minor: true });
        }
      }
    }
    return out;
  }
  for (const ms of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const out: Tick[] = [];
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      for (const m of ms) {
        const v = Number((m * 10 ** d).toPrecision(6));
        const t = Math.log10(v);
        if (t >= lo - 1e-12 && t <= hi + 1e-12) out.push({ at: t, text: formatNumber(v) });
      }
    }
    if (out.length >= 3) return out;
  }
  return linearTicks(10 ** lo, 10 ** hi, target)
    .filter((t) => t.at > 0)
    .map((t) => ({ ...t, at: Math.log10(t.at) }));
}

/** Liang–Barsky: the part of segment a→b inside box, or null. */
function clip(a: P, b: P, x0: number, y0: number, x1: number, y1: number): [P, P] | null {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  let t0 = 0;
  let t1 = 1;
  const edges: [number, number][] = [[-dx, a.x - x0], [dx, x1 - a.x], [-dy, a.y - y0], [dy, y1 - a.y]];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const r = q / p;
      if (p < 0) t0 = Math.max(t0, r);
      else t1 = Math.min(t1, r);
      if (t0 > t1) return null;
    }
  }
  return [t0 === 0 ? a : { x: a.x + t0 * dx, y: a.y + t0 * dy }, t1 === 1 ? b : { x: a.x + t1 * dx, y: a.y + t1 * dy }];
}

/**
 * Keeps, for each run of consecutive points in one pixel column, the first, lowest, highest and
 * last point in their original order: at most four points per column, and the drawn envelope
 * (including the series' extremes) is what the full data would draw.
 */
export function decimate(pts: (P | null)[]): (P | null)[] {
  const out: (P | null)[] = [];
  let i = 0;
  while (i < pts.length) {
    const p = pts[i];
    if (!p) {
      if (out.length && out[out.length - 1] !== null) out.push(null);
      i++;
      continue;
    }
    const col = Math.floor(p.x);
    let j = i;
    let lo = i;
    let hi = i;
    for (let q = pts[j + 1]; q && Math.floor(q.x) === col; q = pts[j + 1]) {
      j++;
      if (q.y < (pts[lo] as P).y) lo = j;
      if (q.y > (pts[hi] as P).y) hi = j;
    }
    for (const k of [...new Set([i, lo, hi, j])].sort((u, v) => u - v)) out.push(pts[k]);
    i = j + 1;
  }
  return out;
}

function polyline(pts: (P | null)[], box: [number, number, number, number]): string {
  let d = '';
  let last = '';
  for (let k = 1; k < pts.length; k++) {
    const a = pts[k - 1];
    const b = pts[k];
    if (!a || !b) continue;
    const c = clip(a, b, ...box);
    if (!c) continue;
    const s = `${num(c[0].x)} ${num(c[0].y)}`;
    const e = `${num(c[1].x)} ${num(c[1].y)}`;
    if (s !== last) d += `M${s}`;
    if (e !== s) d += `L${e}`;
    last = e;
  }
  return d;
}

/** A series' drawn vertices: data points, steps expanded (right-continuous), mapped to pixels (null: not drawable). */
function seriesPixels(s: Series, ax: Axis, ay: Axis, xEnd: number): { data: [number, number][]; pts: (P | null)[] } {
  const n = s.x.length;
  // right-continuous steps: level y[k] holds on [x[k], x[k+1]), the last one to the axis end
  const data: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    data.push([s.x[k], s.y[k]]);
    if (s.style === 'step' || s.style === 'step-dashed') data.push([k + 1 < n ? s.x[k + 1] : Math.max(xEnd, s.x[k]), s.y[k]]);
  }
  const pts = data.map(([x, y]): P | null => {
    const px = toAxis(ax, x);
    const py = toAxis(ay, y);
    return px === null || py === null ? null : { x: px, y: py };
  });
  return { data, pts };
}

/**
 * Where the legend goes: the corner of the plot area (top right, top left, bottom right, bottom
 * left, in that order of preference) whose box the fewest drawn segments and points cross.
 */
export function legendCorner(drawn: { pts: (P | null)[]; points: boolean }[], w: number, h: number, frame: [number, number, number, number]): { x: number; y: number } {
  const [x0, y0, x1, y1] = frame;
  const corners = [{ x: x1 - 8 - w, y: y0 + 8 }, { x: x0 + 8, y: y0 + 8 }, { x: x1 - 8 - w, y: y1 - 8 - h }, { x: x0 + 8, y: y1 - 8 - h }];
  let best = corners[0], fewest = Infinity;
  for (const c of corners) {
    let hits = 0;
    for (const d of drawn) {
      const pts = decimate(d.pts);
      for (let k = 0; k < pts.length; k++) {
        const a = pts[k];
        if (!a) continue;
        if (d.points) {
          if (a.x >= c.x && a.x <= c.x + w && a.y >= c.y && a.y <= c.y + h) hits++;
        } else {
          const b = pts[k + 1];
          if (b && clip(a, b, c.x, c.y, c.x + w, c.y + h)) hits++;
        }
      }
    }
    if (hits < fewest) {
      best = c;
      fewest = hits;
    }
  }
  return best;
}

function seriesSvg(s: Series, color: string, ax: Axis, ay: Axis, xEnd: number, box: [number, number, number, number], i: number): string {
  const { data, pts } = seriesPixels(s, ax, ay, xEnd);
  const cls = `series series-${i}`;
  if (s.style === 'points') {
    const seen = new Set<string>();
    let out = '';
    pts.forEach((p, k) => {
      if (!p || p.x < box[0] || p.x > box[2] || p.y < box[1] || p.y > box[3]) return;
      const key = `${num(p.x)} ${num(p.y)}`;
      if (seen.has(key)) return;
      seen.add(key);
      // the value on hover (browsers show <title> as a tooltip; renderers to PNG ignore it)
      out += `<circle cx="${num(p.x)}" cy="${num(p.y)}" r="3"><title>${esc(`${s.name}: x = ${formatNumber(data[k][0])}, y = ${formatNumber(data[k][1])}`)}</title></circle>`;
    });
    return `<g class="${cls}" fill="${esc(color)}">${out}</g>`;
  }
  const d = polyline(decimate(pts), box);
  const dash = s.style === 'dashed' || s.style === 'step-dashed' ? ` stroke-dasharray="${DASH}"` : '';
  return d ? `<path class="${cls}" d="${d}" fill="none" stroke="${esc(color)}" stroke-width="1.5" stroke-linejoin="round"${dash}/>` : '';
}

function tickLabel(t: Tick, x: number, y: number, anchor: string): string {
  const sup = t.sup === undefined ? '' : `<tspan dy="-6" font-size="9">${esc(t.sup)}</tspan>`;
  return `<text x="${num(x)}" y="${num(y)}" text-anchor="${anchor}" font-size="12">${esc(t.text)}${sup}</text>`;
}

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

/** One panel's SVG content and size, before it is placed in a figure. */
export interface PanelBody { w: number; h: number; body: string }

function plotBody(spec: PlotSpec, id: string): PanelBody {
  // whole pixels keep every derived layout coordinate short and exact
  const W = Math.round(spec.width ?? 640);
  const H = Math.round(spec.height ?? 400);
  // labelled vlines put their labels above the frame, where they cannot collide with data or legend
  const topLabels = (spec.vlines ?? []).some((v) => v.label);
  const captionLines = spec.caption ? wrapText(spec.caption, Math.max(20, Math.floor((W - 24) / (CAPTION_SIZE * CHAR_EM)))) : [];
  const [ml, mr, mt, mb] = [70, 16, topLabels ? 58 : 34, 50 + captionLines.length * (CAPTION_SIZE + 3)];
  const [x0, y0, x1, y1] = [ml, mt, W - mr, H - mb];
  if (x1 - x0 < 20 || y1 - y0 < 20) throw new GradflowError(`plot '${spec.title}' is too small (${W}×${H})`);
  for (const s of spec.series) {
    if (s.x.length !== s.y.length) throw new GradflowError(`series '${s.name}': x has ${s.x.length} points, y has ${s.y.length}`);
  }
  const xt = Math.max(2, Math.round((x1 - x0) / 90));
  const yt = Math.max(2, Math.round((y1 - y0) / 50));
  const xs = [...spec.series.flatMap((s) => Array.from(s.x)), ...(spec.vlines ?? []).map((v) => v.x)];
  const [xlo, xhi] = domain(xs, !!spec.logX, spec.xDomain, xt, 'x');
  const ax: Axis = { log: !!spec.logX, lo: xlo, hi: xhi, p0: x0, p1: x1 };
  // only points inside the x-range decide the automatic y-range
  const inX = (x: number): boolean => { const p = toAxis(ax, x); return p !== null && p >= x0 - 1e-9 && p <= x1 + 1e-9; };
  const ys: number[] = (spec.hlines ?? []).map((h) => h.y);
  for (const s of spec.series) for (let k = 0; k < s.y.length; k++) if (inX(s.x[k])) ys.push(s.y[k]);
  const [ylo, yhi] = domain(ys, !!spec.logY, spec.yDomain, yt, 'y');
  const ay: Axis = { log: !!spec.logY, lo: ylo, hi: yhi, p0: y1, p1: y0 };
  const xEnd = ax.log ? 10 ** xhi : xhi;
  const box: [number, number, number, number] = [x0 - 10, y0 - 10, x1 + 10, y1 + 10];

  const o: string[] = [`<rect width="${W}" height="${H}" fill="#ffffff"/>`];
  o.push(`<text x="${num((x0 + x1) / 2)}" y="22" text-anchor="middle" font-size="14">${esc(spec.title)}</text>`);
  const xticks = (ax.log ? logTicks : linearTicks)(xlo, xhi, xt).filter((t) => t.at >= xlo - 1e-9 && t.at <= xhi + 1e-9);
  const yticks = (ay.log ? logTicks : linearTicks)(ylo, yhi, yt).filter((t) => t.at >= ylo - 1e-9 && t.at <= yhi + 1e-9);
  const px = (t: number): number => x0 + ((t - xlo) / (xhi - xlo)) * (x1 - x0);
  const py = (t: number): number => y1 - ((t - ylo) / (yhi - ylo)) * (y1 - y0);
  let grid = '';
  let marks = '';
  let labels = '';
  for (const t of xticks) {
    const x = num(px(t.at));
    if (!t.minor) grid += `M${x} ${y0}V${y1}`;
    marks += `M${x} ${y1}v${t.minor ? 2.5 : 5}`;
    if (t.text) labels += tickLabel(t, px(t.at), y1 + 17, 'middle');
  }
  for (const t of yticks) {
    const y = num(py(t.at));
    if (!t.minor) grid += `M${x0} ${y}H${x1}`;
    marks += `M${x0} ${y}h${t.minor ? -2.5 : -5}`;
    if (t.text) labels += tickLabel(t, x0 - 8, py(t.at) + 4, 'end');
  }
  o.push(`<path class="grid" d="${grid}" stroke="#e6e6e6" stroke-width="0.75" fill="none"/>`);
  o.push(`<path class="ticks" d="${marks}" stroke="#000000" stroke-width="1" fill="none"/>`, labels);
  o.push(`<text x="${num((x0 + x1) / 2)}" y="${y1 + 36}" text-anchor="middle" font-size="13">${esc(spec.xLabel)}</text>`);
  o.push(`<text transform="translate(16 ${num((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" font-size="${fitFont(spec.yLabel, 2 * Math.min((y0 + y1) / 2, H - (y0 + y1) / 2) - 8, 13)}">${esc(spec.yLabel)}</text>`);

  o.push(`<clipPath id="${id}"><rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/></clipPath>`);
  o.push(`<g clip-path="url(#${id})">`);
  let refLabels = '';
  for (const h of spec.hlines ?? []) {
    const y = toAxis(ay, h.y);
    if (y === null || y < y0 || y > y1) continue;
    const c = esc(h.color ?? '#777777');
    o.push(`<path class="hline" d="M${x0} ${num(y)}H${x1}" stroke="${c}" stroke-width="1"${h.dashed === false ? '' : ' stroke-dasharray="2 3"'}/>`);
    if (h.label) {
      const w = [...h.label].length * 5.6 + 4;
      refLabels += `<rect x="${num(x1 - 6 - w)}" y="${num(y - 13)}" width="${num(w + 4)}" height="11" fill="#ffffff" fill-opacity="0.8"/>`;
      refLabels += `<text x="${x1 - 4}" y="${num(y - 4)}" text-anchor="end" font-size="10" fill="${c}">${esc(h.label)}</text>`;
    }
  }
  const vLabels: { x: number; label: string; color: string }[] = [];
  for (const v of spec.vlines ?? []) {
    const x = toAxis(ax, v.x);
    if (x === null || x < x0 || x > x1) continue;
    const c = esc(v.color ?? '#555555');
    o.push(`<path class="vline" d="M${num(x)} ${y0}V${y1}" stroke="${c}" stroke-width="1"${v.dashed === false ? '' : ` stroke-dasharray="4 3"`}/>`);
    if (v.label) vLabels.push({ x, label: v.label, color: c });
  }
  // labels closer than their width go to a second (then third) row above the frame instead of overlapping
  const rowEnd: number[] = [];
  for (const v of vLabels.sort((a, b) => a.x - b.x)) {
    const half = ([...v.label].length * 10 * CHAR_EM) / 2 + 2;
    let row = rowEnd.findIndex((end) => v.x - half > end);
    if (row < 0) row = rowEnd.length < 3 ? rowEnd.length : rowEnd.indexOf(Math.min(...rowEnd));
    rowEnd[row] = v.x + half;
    refLabels += `<text x="${num(v.x)}" y="${y0 - 4 - 11 * row}" text-anchor="middle" font-size="10" fill="${v.color}">${esc(v.label)}</text>`;
  }
  spec.series.forEach((s, i) => o.push(seriesSvg(s, s.color ?? PALETTE[i % PALETTE.length], ax, ay, xEnd, box, i)));
  o.push('</g>', refLabels);
  o.push(`<rect class="plot-area" x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#000000" stroke-width="1"/>`);

  const named = spec.series.map((s, i) => ({ s, c: s.color ?? PALETTE[i % PALETTE.length] })).filter((e) => e.s.name);
  if (named.length) {
    // width from a 0.6 em/character estimate: good enough for Helvetica without font metrics
    const bw = 44 + Math.max(...named.map((e) => [...e.s.name].length)) * 12 * CHAR_EM;
    const drawn = spec.series.map((s) => ({ pts: seriesPixels(s, ax, ay, xEnd).pts, points: s.style === 'points' }));
    const { x: bx, y: by } = legendCorner(drawn, bw, 8 + 16 * named.length, [x0, y0, x1, y1]);
    o.push(`<g class="legend"><rect x="${num(bx)}" y="${num(by)}" width="${num(bw)}" height="${8 + 16 * named.length}" fill="#ffffff" fill-opacity="0.9" stroke="#999999" stroke-width="0.75"/>`);
    named.forEach(({ s, c }, k) => {
      const ly = by + 12 + 16 * k;
      const sx = bx + 8;
      const col = esc(c);
      if (s.style === 'points') o.push(`<circle cx="${num(sx + 11)}" cy="${ly}" r="2.5" fill="${col}"/>`);
      else {
        const d = s.style === 'step' || s.style === 'step-dashed' ? `M${num(sx)} ${ly - 4}h11v8h11` : `M${num(sx)} ${ly}h22`;
        const dash = s.style === 'dashed' || s.style === 'step-dashed' ? ` stroke-dasharray="${DASH}"` : '';
        o.push(`<path d="${d}" fill="none" stroke="${col}" stroke-width="1.5"${dash}/>`);
      }
      o.push(`<text x="${num(sx + 28)}" y="${ly + 4}" font-size="12">${esc(s.name)}</text>`);
    });
    o.push('</g>');
  }
  captionLines.forEach((line, k) => {
    const y = H - 8 - (captionLines.length - 1 - k) * (CAPTION_SIZE + 3);
    o.push(`<text class="caption" x="12" y="${y}" font-size="${CAPTION_SIZE}" fill="#333333">${esc(line)}</text>`);
  });
  return { w: W, h: H, body: o.filter((s) => s).join('\n') };
}

/**
 * Figure size presets. screen: 640×400-px panels, up to three a row, sized in pixels. column and
 * page: print figures of a physical width (3.5 in, one panel a row; 7 in, two a row) whose panels
 * are 420×320 px of layout, so 12-px text prints at 7.2 pt in both and a column figure and a page
 * figure set side by side in one paper have the same type size.
 */
export interface FigureLayout { name: string; panelWidth: number; panelHeight: number; maxColumns: number; widthInches: number | null }

export const FIGURE_LAYOUTS: Record<string, FigureLayout> = {
  screen: { name: 'screen', panelWidth: 640, panelHeight: 400, maxColumns: 3, widthInches: null },
  column: { name: 'column', panelWidth: 420, panelHeight: 320, maxColumns: 1, widthInches: 3.5 },
  page: { name: 'page', panelWidth: 420, panelHeight: 320, maxColumns: 2, widthInches: 7 },
};

let activeLayout: FigureLayout | null = null;

/** Render every figure of `f` (sync or async) with `layout`; the previous layout comes back afterwards. */
export async function withFigureLayout<T>(layout: FigureLayout | null, f: () => T | Promise<T>): Promise<T> {
  const prev = activeLayout;
  activeLayout = layout;
  try {
    return await f();
  } finally {
    activeLayout = prev;
  }
}

/** Print layouts size the panels themselves; screen keeps what a panel asks for. */
function sized<T extends { width?: number; height?: number }>(spec: T): T {
  const l = activeLayout;
  return l && l.widthInches !== null ? { ...spec, width: l.panelWidth, height: l.panelHeight } : spec;
}

function wrap(w: number, h: number, body: string): string {
  const l = activeLayout;
  // a print layout gives the physical size (inches at the layout's points per pixel); the viewBox keeps the pixel geometry
  const inches = l && l.widthInches !== null ? (w * l.widthInches) / (l.maxColumns * l.panelWidth) : null;
  const size = inches === null ? `width="${w}" height="${h}"` : `width="${num(inches)}in" height="${num((inches * h) / w)}in"`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" ${size} viewBox="0 0 ${w} ${h}" font-family="${FONT}">\n` +
    `${body}\n</svg>\n`
  );
}

/** Clip ids derive from the title so two figures inlined in one HTML page do not collide. */
export function renderSvg(spec: PlotSpec): string {
  const p = plotBody(sized(spec), `gf-${fnv(spec.title)}-0`);
  return wrap(p.w, p.h, p.body);
}

/** Line plots and heatmaps side by side, `columns` to a row, each cell the size of the largest panel. */
export function renderPanels(panels: (PlotSpec | HeatmapSpec)[], columns = Math.min(panels.length, 3)): string {
  if (panels.length === 0) throw new GradflowError('renderPanels needs at least one panel');
  const cols = Math.max(1, Math.min(panels.length, Math.floor(columns), activeLayout?.maxColumns ?? Infinity));
  const key = fnv(panels.map((p) => p.title).join('\u0000'));
  const bodies = panels.map((p, i) => ('kind' in p && p.kind === 'heatmap' ? heatmapBody(sized(p)) : plotBody(sized(p as PlotSpec), `gf-${key}-${i}`)));
  const cw = Math.max(...bodies.map((b) => b.w));
  const ch = Math.max(...bodies.map((b) => b.h));
  const cells = bodies.map((b, i) => `<g transform="translate(${(i % cols) * cw} ${Math.floor(i / cols) * ch})">\n${b.body}\n</g>`);
  return wrap(cols * cw, Math.ceil(panels.length / cols) * ch, cells.join('\n'));
}
