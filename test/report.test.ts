import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeReport } from '../src/report/files.ts';
import { renderPanels, renderSvg, type PlotSpec } from '../src/report/svg.ts';
import { heatmapColor, viridis, type HeatmapSpec } from '../src/report/heatmap.ts';
import { formatNumber, renderCsv, renderLatex, renderMarkdown, renderText, type Table } from '../src/report/table.ts';

const table: Table = {
  title: 'Plateaus of a 2-layer linear net',
  columns: [
    { key: 'name', header: 'run_name' },
    { key: 'alpha', header: 'alpha', latexHeader: '$\\alpha$' },
    { key: 'loss', header: 'loss % drop' },
    { key: 'note', header: 'note' },
  ],
  rows: [
    { name: 'a,b', alpha: 1e-6, loss: 0.5, note: 'say "hi"' },
    { name: 'x_1 & #2', alpha: 42, loss: NaN, note: 'line1\nline2' },
    { name: 'p|q', alpha: 3.14159265, loss: null, note: '#hash' },
  ],
  notes: ['loss: 1/(2n) Σ squares', 'time: flow time, 100% of it'],
};

/** RFC 4180 reader, independent of the writer: quoted fields, doubled quotes, embedded newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** Tag balance: every opening tag is closed in order; self-closing tags and prolog are fine. */
function checkXml(svg: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<\?[^>]*\?>|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(svg))) {
    if (m[5]) throw new Error(`stray '<' at ${m.index}: ${svg.slice(m.index, m.index + 40)}`);
    if (!m[2]) continue;
    if (m[1]) {
      const top = stack.pop();
      if (top !== m[2]) throw new Error(`</${m[2]}> closes <${top}>`);
    } else if (!m[4]) stack.push(m[2]);
  }
  expect(stack).toEqual([]);
  // text between tags: only escaped ampersands
  for (const t of svg.replace(/<[^>]*>/g, '').match(/&[^;\s]*;?/g) ?? []) expect(t).toMatch(/^&(amp|lt|gt|quot|apos);$/);
}

function attr(el: string, name: string): number {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(el);
  if (!m) throw new Error(`no ${name} in ${el}`);
  return Number(m[1]);
}

function plotArea(svg: string): { x0: number; y0: number; x1: number; y1: number } {
  const el = /<rect class="plot-area"[^>]*>/.exec(svg)?.[0] ?? '';
  const x0 = attr(el, 'x');
  const y0 = attr(el, 'y');
  return { x0, y0, x1: x0 + attr(el, 'width'), y1: y0 + attr(el, 'height') };
}

function seriesPoints(svg: string, i: number): [number, number][] {
  const d = new RegExp(`<path class="series series-${i}" d="([^"]*)"`).exec(svg)?.[1] ?? '';
  const nums = (d.match(/-?[\d.]+(?:e[+-]?\d+)?/g) ?? []).map(Number);
  const pts: [number, number][] = [];
  for (let k = 0; k < nums.length; k += 2) pts.push([nums[k], nums[k + 1]]);
  return pts;
}

describe('formatNumber', () => {
  it('uses significant digits, exponent form at the extremes, integers as integers', () => {
    expect(formatNumber(1234567)).toBe('1.23457e+6');
    expect(formatNumber(0.000123456789)).toBe('1.23457e-4');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(3.14159265)).toBe('3.14159');
    expect(formatNumber(-0.5)).toBe('-0.5');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1e6)).toBe('1e+6');
    expect(formatNumber(999999.7)).toBe('1e+6');
    expect(formatNumber(0.001)).toBe('0.001');
    expect(formatNumber(2 / 3, 3)).toBe('0.667');
    expect(formatNumber(NaN)).toBe('—');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
  });
});

describe('tables', () => {
  it('CSV parses back to the same values at full precision, snake_case ASCII headers, notes as leading comments', () => {
    const lines = renderCsv(table).split('\n');
    expect(lines[0]).toBe('# Plateaus of a 2-layer linear net');
    expect(lines[1]).toBe('# loss: 1/(2n) Σ squares');
    const body = lines.filter((l, i) => !(i < 3 && l.startsWith('# '))).join('\n');
    const rows = parseCsv(body);
    expect(rows).toEqual([
      ['name', 'alpha', 'loss', 'note'],
      ['a,b', '0.000001', '0.5', 'say "hi"'],
      ['x_1 & #2', '42', '', 'line1\nline2'],
      ['p|q', '3.14159265', '', '#hash'],
    ]);
    // every number reads back as the same double (the text table shows 6 digits, the CSV all of them)
    const x = [Math.PI / 7, 1 / 3, 2 ** -60, 123456789.123456789];
    const csv = renderCsv({ columns: [{ key: 'rescaledTime', header: 't/log(1/α)' }], rows: x.map((v) => ({ rescaledTime: v })) });
    const back = parseCsv(csv);
    expect(back[0]).toEqual(['rescaled_time']);
    expect(back.slice(1).map((r) => Number(r[0]))).toEqual(x);
  });

  it('Markdown rows all have columns + 1 unescaped pipes', () => {
    const md = renderMarkdown(table);
    const rows = md.split('\n').filter((l) => l.startsWith('|'));
    expect(rows).toHaveLength(2 + table.rows.length);
    for (const r of rows) expect(r.replace(/\\\|/g, '').split('|').length - 1).toBe(table.columns.length + 1);
    expect(md).toContain('| p\\|q |');
    expect(md).toContain('1/(2n) Σ squares');
  });

  it('LaTeX escapes specials and keeps a booktabs structure', () => {
    const tex = renderLatex(table);
    expect(tex).toContain('x\\_1 \\& \\#2');
    expect(tex).toContain('loss \\% drop');
    expect(tex).toContain('run\\_name & $\\alpha$');
    expect(tex).toContain('100\\% of it');
    expect(tex).toContain('$10^{-6}$');
    expect(tex).toMatch(/\\begin\{tabular\}\{lrrl\}\n\\toprule[\s\S]*\\midrule[\s\S]*\\bottomrule\n\\end\{tabular\}/);
    expect(tex).toMatch(/\\footnotesize /);
    // every unescaped special outside headers given as raw LaTeX is gone from the body rows
    const body = tex.split('\\midrule')[1].split('\\bottomrule')[0];
    expect(body.replace(/\\[_%&#]/g, '').replace(/ & /g, ' ')).not.toMatch(/[_%#]|[^ ]&|&[^ ]/);
  });

  it('text table aligns columns', () => {
    const lines = renderText({ columns: [{ key: 'k', header: 'k' }, { key: 'v', header: 'value' }], rows: [{ k: 'a', v: 1 }, { k: 'bbb', v: 123.5 }] }).split('\n');
    expect(lines).toEqual(['k    value', '---  -----', 'a        1', 'bbb  123.5', '']);
  });
});

const base = (over: Partial<PlotSpec>): PlotSpec => ({ title: 'Loss & <test>', xLabel: 't', yLabel: 'L', series: [], ...over });

describe('svg', () => {
  const n = 200;
  const xs = Array.from({ length: n }, (_, i) => i / 10);
  const ys = xs.map((t) => Math.exp(-t) + 1e-3);
  ys[50] = NaN;
  ys[60] = Infinity;
  ys[70] = -1;
  const spec = base({
    series: [
      { name: 'simulated', x: xs, y: ys },
      { name: 'predicted', x: [0, 5, 12], y: [1, 0.1, 0.002], style: 'step' },
      { name: 'pts', x: [1, 2, NaN], y: [0.5, 0.2, 0.1], style: 'points' },
    ],
    vlines: [{ x: 5, label: 't₁ = 5' }],
    hlines: [{ y: 0.1, label: 'plateau' }],
    logY: true,
    caption: 'loss: 1/(2n) Σ squares · time: flow time · α = 1e-6',
  });

  it('is well-formed, deterministic, and never emits NaN or Infinity', () => {
    const a = renderSvg(spec);
    checkXml(a);
    expect(a).toBe(renderSvg(spec));
    expect(a).not.toMatch(/NaN|Infinity/);
    expect(a).toContain('Loss &amp; &lt;test&gt;');
    const p = renderPanels([spec, base({ series: [{ name: 'lin', x: xs, y: xs }] }), spec], 2);
    checkXml(p);
    expect(p).not.toMatch(/NaN|Infinity/);
    expect(p).toMatch(/^<\?xml[^>]*>\n<svg [^>]*width="1280" height="800"/);
    // three distinct clip ids
    expect(new Set(p.match(/clipPath id="[^"]+"/g)).size).toBe(3);
  });

  it('splits the polyline at non-finite and, on log axes, non-positive values', () => {
    const d = /<path class="series series-0" d="([^"]*)"/.exec(renderSvg(spec))?.[1] ?? '';
    expect(d.match(/M/g)).toHaveLength(4);
  });

  it('maps domain corners to plot-area corners', () => {
    const svg = renderSvg(base({ series: [{ name: 's', x: [2, 7], y: [-3, 9] }], xDomain: [2, 7], yDomain: [-3, 9] }));
    const a = plotArea(svg);
    const [p, q] = seriesPoints(svg, 0);
    expect(p[0]).toBeCloseTo(a.x0, 1);
    expect(p[1]).toBeCloseTo(a.y1, 1);
    expect(q[0]).toBeCloseTo(a.x1, 1);
    expect(q[1]).toBeCloseTo(a.y0, 1);
  });

  it('on a log axis the geometric mean of the domain lands at the vertical middle', () => {
    const svg = renderSvg(base({ series: [{ name: 's', x: [0, 1], y: [1e-2, 1e-2] }], xDomain: [0, 1], yDomain: [1e-4, 1], logY: true }));
    const a = plotArea(svg);
    const [p] = seriesPoints(svg, 0);
    expect(p[1]).toBeCloseTo((a.y0 + a.y1) / 2, 1);
    expect(p[1]).not.toBeCloseTo(a.y1 - (a.y1 - a.y0) * 1e-2, 0); // not a linear mapping
    expect(svg).toContain('10<tspan dy="-6" font-size="9">\u22123</tspan>');
  });

  it('decimates 1e5 points but keeps the extremes', () => {
    const N = 100_000;
    const x = Float64Array.from({ length: N }, (_, i) => i);
    const y = Float64Array.from({ length: N }, (_, i) => Math.sin(i / 500) + 0.3 * Math.sin(i * 1.7));
    const imax = 31_415;
    const imin = 77_777;
    y[imax] = 5;
    y[imin] = -4;
    const svg = renderSvg(base({ series: [{ name: 'big', x, y }], xDomain: [0, N], yDomain: [-5, 6] }));
    const a = plotArea(svg);
    const pts = seriesPoints(svg, 0);
    expect(pts.length).toBeLessThan(5 * (a.x1 - a.x0));
    expect(svg.length).toBeLessThan(100_000);
    const pyOf = (v: number): number => a.y1 - ((v + 5) / 11) * (a.y1 - a.y0);
    const pxOf = (i: number): number => a.x0 + (i / N) * (a.x1 - a.x0);
    expect(pts.some(([px, py]) => Math.abs(py - pyOf(5)) < 0.01 && Math.abs(px - pxOf(imax)) < 0.01)).toBe(true);
    expect(pts.some(([px, py]) => Math.abs(py - pyOf(-4)) < 0.01 && Math.abs(px - pxOf(imin)) < 0.01)).toBe(true);
    expect(Math.min(...pts.map((p) => p[1]))).toBeCloseTo(pyOf(5), 1);
  });

  it('coordinates carry at most 6 significant digits', () => {
    const svg = renderSvg(spec);
    for (const m of svg.matchAll(/\s(?:x|y|cx|cy|width|height)="([^"]*)"/g)) {
      expect(m[1].replace(/^-|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(6);
    }
  });
});

describe('files', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'gradflow-report-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes all files, creating directories, with no temp files left', () => {
    const d = tmp();
    const paths = writeReport(d, { 'a.csv': 'x\n', 'fig/b.svg': () => renderSvg(base({})) });
    expect(paths).toEqual([join(d, 'a.csv'), join(d, 'fig', 'b.svg')]);
    expect(readFileSync(paths[0], 'utf8')).toBe('x\n');
    expect(readdirSync(d).sort()).toEqual(['a.csv', 'fig']);
    expect(readdirSync(join(d, 'fig'))).toEqual(['b.svg']);
    writeFileAtomic(join(d, 'a.csv'), 'y\n');
    expect(readFileSync(paths[0], 'utf8')).toBe('y\n');
    expect(readdirSync(d).sort()).toEqual(['a.csv', 'fig']);
  });

  it('leaves no partial or changed file when rendering throws', () => {
    const d = tmp();
    writeFileSync(join(d, 'a.csv'), 'old\n');
    expect(() =>
      writeReport(d, {
        'a.csv': 'new\n',
        'b.svg': () => renderSvg(base({ series: [{ name: 'bad', x: [1, 2], y: [1] }] })),
      }),
    ).toThrow(/x has 2 points/);
    expect(readdirSync(d)).toEqual(['a.csv']);
    expect(readFileSync(join(d, 'a.csv'), 'utf8')).toBe('old\n');
  });

  it('refuses names that escape the report directory', () => {
    const d = tmp();
    expect(() => writeReport(d, { '../x.txt': 'no' })).toThrow(/relative path inside/);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('heatmap', () => {
  // matplotlib's viridis (its _viridis_data table) at 0, 0.5 and 1, as 8-bit RGB
  const published: [number, [number, number, number]][] = [[0, [68, 1, 84]], [0.5, [33, 145, 140]], [1, [253, 231, 37]]];
  it('uses viridis: the published colours at 0, ½ and 1 (within 2/255 per channel)', () => {
    for (const [u, rgb] of published) {
      const c = viridis(u);
      const got = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
      got.forEach((v, k) => expect(Math.abs(v - rgb[k])).toBeLessThanOrEqual(2));
    }
  });

  const n = 5;
  const diag: HeatmapSpec = {
    kind: 'heatmap', title: 'diagonal', xLabel: 'ξ', yLabel: 'neuron', zLabel: 'power', logZ: true, decades: 6,
    columns: Array.from({ length: n }, (_, j) => String(j)), rows: Array.from({ length: n }, (_, i) => `n${i}`),
    z: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 2 ** -i : 1e-9))),
  };

  it('puts cell (i, j) at row i, column j with its colour, and labels the floor it needs', () => {
    const svg = renderPanels([diag]);
    const cells = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="(#[0-9a-f]{6})"><title>([^<]*)<\/title>/g)];
    expect(cells).toHaveLength(n * n);
    const xs = [...new Set(cells.map((c) => Number(c[1])))].sort((a, b) => a - b);
    const ys = [...new Set(cells.map((c) => Number(c[2])))].sort((a, b) => a - b);
    expect([xs.length, ys.length]).toEqual([n, n]);
    for (const c of cells) {
      const j = xs.indexOf(Number(c[1])), i = ys.indexOf(Number(c[2]));
      const v = i === j ? 2 ** -i : 1e-9;
      // the tooltip carries the value; the largest is viridis' top, everything under 6 decades its bottom
      expect(c[6]).toBe(`n${i}, ξ ${j}: power = ${formatNumber(v)}`);
      if (i === 0 && j === 0) expect(c[5]).toBe('#fde725');
      if (i !== j) expect(c[5]).toBe('#440154');
      // on the log scale a halving moves log10(2)/6 of the way down the bar
      if (i === j) expect(c[5]).toBe(viridis(1 - (i * Math.log10(2)) / 6));
    }
    expect(svg).toContain(`${n * n - n} cells below 1e-6 (6 decades under the largest value) share the bottom colour.`);
    expect(svg).toContain('≤1e-6');
  });

  it('a linear scale spans zero to the largest value; non-finite cells are grey and counted', () => {
    const lin: HeatmapSpec = { ...diag, logZ: false, z: [[0, 1], [2, Number.NaN]], columns: ['a', 'b'], rows: ['r0', 'r1'] };
    expect(heatmapColor(lin, 0)).toBe(viridis(0));
    expect(heatmapColor(lin, 2)).toBe(viridis(1));
    expect(heatmapColor(lin, 1)).toBe(viridis(0.5));
    const svg = renderPanels([lin]);
    expect(svg).toContain('fill="#bbbbbb"');
    expect(svg).toContain('1 non-finite cells are grey.');
  });
});

describe('figures from the command line', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'gradflow-figs-'));

  it('compare modular marks AGF\'s own jumps (at its jump times, with the jumping neuron\'s frequency) and draws neuron × frequency heatmaps', async () => {
    const { run } = await import('./helpers/cli.ts');
    const dir = join(outDir, 'modular');
    const r = await run('compare', 'modular', '--dim', 'p=7', '--dim', 'h=6', '--spectrum', '1:4,2:1', '--alpha', '0.3', '--out', dir);
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(join(dir, 'compare.json'), 'utf8'));
    const svg = readFileSync(join(dir, 'compare.svg'), 'utf8');
    const jumps = j.schedules.agf.jumps as { time: number; neuron: number }[];
    const groups = j.groups.agf as { freq: number; neurons: number[] }[];
    // the loss panel is the first: its frame, then one black (AGF) vertical per AGF jump
    const frame = /<rect class="plot-area" x="([\d.]+)"/.exec(svg)!;
    const x0 = Number(frame[1]);
    const vx = [...svg.matchAll(/<path class="vline" d="M([\d.]+) /g)].map((m) => Number(m[1]));
    expect(vx).toHaveLength(jumps.length);
    // the verticals are at the schedule's times: pixel offsets proportional to the times (to 0.02 px rounding)
    const scale = (vx[vx.length - 1] - x0) / jumps[jumps.length - 1].time;
    jumps.forEach((jump, k) => expect(Math.abs(vx[k] - x0 - scale * jump.time)).toBeLessThan(0.02));
    // numbered above the frame; the caption names each jump's frequency, as JSON's groups have it
    jumps.forEach((_, k) => expect(svg).toContain(`>${k + 1}</text>`));
    const caption = [...svg.split('<g transform')[1].matchAll(/<text class="caption"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(' ');
    for (const g of groups) {
      const ks = jumps.map((jump, k) => (g.neurons.includes(jump.neuron) ? k + 1 : 0)).filter((k) => k);
      if (ks.length) expect(caption).toContain(`ξ = ${g.freq}: ${ks.join(', ')}`);
    }
    // two heatmaps (flow, AGF), each H neurons × (⌊p/2⌋ + 1) frequency classes, every cell with its value on hover
    const cells = [...svg.matchAll(/<title>n\d+, frequency class ξ \d+: power/g)];
    expect(cells).toHaveLength(2 * 6 * 4);
    expect(svg).not.toContain('per-neuron power spectra');
  }, 120_000);

  it('--overlay draws flow, gradient descent and the closed form in one figure, each in its method style', async () => {
    const { run } = await import('./helpers/cli.ts');
    const { methodStyle } = await import('../src/report/figure-style.ts');
    const dir = join(outDir, 'overlay');
    const r = await run('flow', 'single-neuron', '--t', '8', '--overlay', 'exact,descent', '--out', dir);
    expect(r.code).toBe(0);
    const svg = readFileSync(join(dir, 'flow-dopri5.svg'), 'utf8');
    const loss = svg.split('single-neuron: ‖θ‖')[0];
    for (const m of ['flow', 'gd', 'exact']) {
      const st = methodStyle(m);
      const paths = [...loss.matchAll(new RegExp(`<path class="series[^"]*" d="[^"]+" fill="none" stroke="${st.color}"([^/]*)/>`, 'g'))];
      expect(paths, m).toHaveLength(1);
      expect(paths[0][1].includes('stroke-dasharray'), `${m} dashed iff a prediction`).toBe(st.prediction);
    }
    // the closed form is drawn last, over the flow it should cover
    expect(loss.lastIndexOf(`stroke="${methodStyle('exact').color}"`)).toBeGreaterThan(loss.lastIndexOf(`stroke="${methodStyle('flow').color}"`));
  }, 60_000);

  it('--overlay gaps: the closed form matches the flow to the integrator tolerance, and gradient descent is first order in lr', async () => {
    const { run } = await import('./helpers/cli.ts');
    const gap = async (lr: number): Promise<Record<string, { maxAbs: number; ofInitialLoss: number }>> => {
      const r = await run('descent', 'single-neuron', '--lr', String(lr), '--steps', String(Math.round(16 / lr)), '--overlay', 'flow,exact', '--json');
      expect(r.code).toBe(0);
      return Object.fromEntries((JSON.parse(r.out).overlays as { method: string; maxAbs: number; ofInitialLoss: number }[]).map((o) => [o.method.split(':')[0], o]));
    };
    const [a, b] = [await gap(0.01), await gap(0.005)];
    // GD is explicit Euler on θ̇ = −∇L: its global error halves with the step
    expect(a.flow.maxAbs / b.flow.maxAbs).toBeGreaterThan(1.8);
    expect(a.flow.maxAbs / b.flow.maxAbs).toBeLessThan(2.2);
    // flow (dopri5, rtol 1e-10) and the closed form are two solutions of one equation: same gap to GD
    expect(Math.abs(a.flow.maxAbs - a.exact.maxAbs)).toBeLessThan(1e-9 * (1 + a.flow.maxAbs));
    const r = await run('flow', 'single-neuron', '--t', '8', '--overlay', 'exact', '--json');
    expect(JSON.parse(r.out).overlays[0].ofInitialLoss).toBeLessThan(1e-9);
  }, 60_000);

  it('--overlay is checked before anything runs: unknown, repeated or the command\'s own method', async () => {
    const { expectBadInput } = await import('./helpers/cli.ts');
    await expectBadInput(['flow', 'single-neuron', '--overlay', 'flow'], /--overlay flow: this command already runs flow/);
    await expectBadInput(['descent', 'single-neuron', '--overlay', 'gd'], /this command already runs descent/);
    await expectBadInput(['flow', 'single-neuron', '--overlay', 'euler'], /--overlay: unknown method 'euler'/);
    await expectBadInput(['flow', 'single-neuron', '--overlay', 'exact,exact'], /exact is given twice/);
    await expectBadInput(['flow', 'single-neuron', '--overlay', 'all,exact'], /--overlay all stands alone/);
    await expectBadInput(['flow', 'diagonal', '--overlay', 'exact'], /model 'diagonal' has no closed-form solution/);
  });
});

describe('sweep CSV headers', () => {
  it('name what each column holds (no internal keys), say the unit, and carry the JSON\'s numbers', async () => {
    const { run } = await import('./helpers/cli.ts');
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-sweepcsv-'));
    const r = await run('sweep', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--alphas', '1e-2,1e-3,1e-4', '--seeds', '0..1', '--workers', '1', '--out', dir);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    const parse = (name: string): { comments: string[]; header: string[]; body: string[][] } => {
      const lines = readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l);
      const data = lines.filter((l) => !l.startsWith('#'));
      return { comments: lines.filter((l) => l.startsWith('#')), header: data[0].split(','), body: data.slice(1).map((l) => l.split(',')) };
    };
    const internal = ['k', 'a', 'b', 'c', 'se', 'agf', 'agfse', 'delta', 'deltase', 'deltaci', 't_agf', 'sd_agf', 'n_agf', 't_flow', 'e_flow', 'esd_flow', 'same_flow', 'of_flow'];
    const jumps = parse('sweep.csv'), ext = parse('sweep-extrapolation.csv');
    for (const t of [jumps, ext]) {
      for (const h of t.header) {
        expect(h).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(internal, h).not.toContain(h);
      }
      expect(t.comments.join('\n')).toContain('rescaled_* = t/log(1/alpha)');
    }
    const col = (t: typeof jumps, name: string): number => { const i = t.header.indexOf(name); expect(i, name).toBeGreaterThanOrEqual(0); return i; };
    jumps.body.forEach((row, q) => {
      expect(Number(row[col(jumps, 'jump')])).toBe(s.rows[q].k);
      expect(Number(row[col(jumps, 'rescaled_agf_mean')])).toBe(s.rows[q].rescaled.agf.mean);
      expect(Number(row[col(jumps, 'rel_error_flow_mean')])).toBe(s.rows[q].relError.flow.mean);
    });
    ext.body.forEach((row, q) => {
      const e = s.extrapolation[q];
      expect(row[col(ext, 'method')]).toBe(e.method);
      expect(Number(row[col(ext, 'alpha0_rescaled')])).toBe(e.fit.a);
      expect(Number(row[col(ext, 'coef_inv_log_inv_alpha')])).toBe(e.fit.slope[0]);
      expect(Number(row[col(ext, 'agf_alpha0_rescaled')])).toBe(e.agf.a);
    });
    // the printed table names the α → 0 column in the rescaled unit
    expect(readFileSync(join(dir, 'sweep.md'), 'utf8')).toContain('t/log(1/α) at α → 0');
  }, 120_000);
});

describe('--figure-size: print presets', () => {
  it('column is 3.5 in wide with one panel a row, page 7 in with two; both print 12-px text at 7.2 pt; PNG at 300 dpi, PDF at the physical size', async () => {
    const { run, expectBadInput } = await import('./helpers/cli.ts');
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-sizes-'));
    const size = async (preset: string): Promise<{ w: number; h: number; vw: number; vh: number; png: [number, number]; pdf: [number, number] }> => {
      const out = join(dir, preset);
      const r = await run('flow', 'single-neuron', '--t', '8', '--figure-size', preset, '--out', out);
      expect(r.code, r.err).toBe(0);
      const svg = readFileSync(join(out, 'flow-dopri5.svg'), 'utf8');
      const m = /<svg [^>]*width="([\d.]+)in" height="([\d.]+)in" viewBox="0 0 (\d+) (\d+)"/.exec(svg)!;
      const png = readFileSync(join(out, 'flow-dopri5.png'));
      const pdf = readFileSync(join(out, 'flow-dopri5.pdf')).toString('latin1');
      const box = /MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/.exec(pdf)!;
      return { w: Number(m[1]), h: Number(m[2]), vw: Number(m[3]), vh: Number(m[4]), png: [png.readUInt32BE(16), png.readUInt32BE(20)], pdf: [Number(box[1]), Number(box[2])] };
    };
    const col = await size('column'), page = await size('page');
    // two panels (loss, ‖θ‖): stacked in a column figure, side by side on a page
    expect(col).toMatchObject({ w: 3.5, vw: 420, vh: 640 });
    expect(page).toMatchObject({ w: 7, vw: 840, vh: 320 });
    for (const f of [col, page]) {
      const ptPerPx = (f.w * 72) / f.vw;
      expect(12 * ptPerPx).toBeCloseTo(7.2, 6);
      expect(Math.abs(f.h - (f.w * f.vh) / f.vw)).toBeLessThan(0.006);
      expect(f.png[0]).toBe(Math.round(f.w * 300));
      expect(Math.abs(f.png[1] - (f.png[0] * f.vh) / f.vw)).toBeLessThanOrEqual(1);
      expect(f.pdf[0]).toBeCloseTo(f.w * 72, 1);
    }
    await expectBadInput(['flow', 'single-neuron', '--figure-size', 'poster', '--out', join(dir, 'x')], /--figure-size must be screen, column, page/);
    await expectBadInput(['flow', 'single-neuron', '--figure-size', 'column'], /give --out too/);
    await expectBadInput(['agf', 'diagonal', '--figure-size', 'column'], /unknown option --figure-size for 'agf'/);
  }, 120_000);
});

describe('vector PDF', () => {
  const has = (cmd: string): boolean => {
    try {
      execFileSync(cmd, ['-v'], { stdio: 'ignore' });
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  };

  it('draws what resvg draws (poppler as a second renderer), keeps text as text, and falls back to a raster page for other SVG', async () => {
    const { run } = await import('./helpers/cli.ts');
    const { svgPixels, svgToPdf } = await import('../src/report/raster.ts');
    const { LOSS_AXIS } = await import('../src/report/figure-style.ts');
    const dir = mkdtempSync(join(tmpdir(), 'gradflow-pdf-'));
    const r = await run('flow', 'single-neuron', '--t', '8', '--overlay', 'exact,descent', '--out', dir);
    expect(r.code).toBe(0);
    const pdf = readFileSync(join(dir, 'flow-dopri5.pdf'));
    const text = pdf.toString('latin1');
    expect(text).toContain('/FontFile2');
    expect(text).not.toContain('/Subtype /Image');
    // the font is a subset: the glyphs this figure uses, not DejaVu Sans' 757 kB
    expect(pdf.length).toBeLessThan(100_000);
    // an SVG outside gradflow's vocabulary is still a PDF, as an image
    const odd = svgToPdf('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10" viewBox="0 0 20 10"><polygon points="0,0 20,0 10,10" fill="#ff0000"/></svg>');
    expect(Buffer.from(odd).toString('latin1')).toContain('/Subtype /Image');
    if (!has('pdftoppm') || !has('pdftotext')) {
      if (process.env.CI) throw new Error('CI: poppler-utils is not installed (.ci/run installs it with apt-get)');
      console.warn('report.test: no pdftoppm/pdftotext (apt-get install poppler-utils); skipped the second-renderer check');
      return;
    }
    const words = execFileSync('pdftotext', [join(dir, 'flow-dopri5.pdf'), '-'], { encoding: 'utf8' });
    for (const w of ['single-neuron: loss', LOSS_AXIS, '‖θ(t)‖', 'gradient descent', 'closed form (whitened) (predicted)']) expect(words).toContain(w);
    // poppler at 96 dpi against resvg at 1× the SVG's pixels: the same picture up to anti-aliasing
    execFileSync('pdftoppm', ['-r', '96', '-singlefile', join(dir, 'flow-dopri5.pdf'), join(dir, 'poppler')]);
    const ppm = readFileSync(join(dir, 'poppler.ppm'));
    const head = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.toString('latin1', 0, 40))!;
    const [w, h, off] = [Number(head[1]), Number(head[2]), head[0].length];
    const ref = svgPixels(readFileSync(join(dir, 'flow-dopri5.svg'), 'utf8'), 1);
    expect([w, h]).toEqual([ref.width, ref.height]);
    let sum = 0, far = 0;
    for (let q = 0; q < w * h; q++) {
      let d = 0;
      for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(ppm[off + 3 * q + c] - ref.pixels[4 * q + c]));
      sum += d;
      if (d > 128) far++;
    }
    expect(sum / (w * h)).toBeLessThan(6);
    expect(far / (w * h)).toBeLessThan(0.01);
  }, 60_000);
});

describe('legend placement', () => {
  // a segment meets an axis-aligned box iff the box is not wholly on one side of the line and their extents overlap
  const crosses = (ax: number, ay: number, bx: number, by: number, r: { x: number; y: number; w: number; h: number }): boolean => {
    if (Math.max(ax, bx) < r.x || Math.min(ax, bx) > r.x + r.w || Math.max(ay, by) < r.y || Math.min(ay, by) > r.y + r.h) return false;
    const side = (px: number, py: number): number => Math.sign((bx - ax) * (py - ay) - (by - ay) * (px - ax));
    const s = [side(r.x, r.y), side(r.x + r.w, r.y), side(r.x, r.y + r.h), side(r.x + r.w, r.y + r.h)];
    return !(s.every((v) => v > 0) || s.every((v) => v < 0));
  };
  const layout = (svg: string): { box: { x: number; y: number; w: number; h: number }; frame: number[]; segs: number[][] } => {
    const m = /<g class="legend"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
    const f = /<rect class="plot-area" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!.slice(1).map(Number);
    const segs: number[][] = [];
    for (const p of svg.matchAll(/<path class="series[^"]*" d="([^"]+)"/g)) {
      const pts = [...p[1].matchAll(/[ML]([-\d.]+) ([-\d.]+)/g)].map((q) => [Number(q[1]), Number(q[2])]);
      for (let k = 1; k < pts.length; k++) segs.push([...pts[k - 1], ...pts[k]]);
    }
    return { box: { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) }, frame: [f[0], f[1], f[0] + f[2], f[1] + f[3]], segs };
  };
  const xs = Array.from({ length: 101 }, (_, k) => k / 100);

  it('moves the legend to a free corner: off a rising diagonal to the top left, off a falling one to the top right, and never over a curve when a corner is free', () => {
    const rising = layout(renderSvg({ title: 'rising', xLabel: 'x', yLabel: 'y', series: [{ name: 'up', x: xs, y: xs }] }));
    const falling = layout(renderSvg({ title: 'falling', xLabel: 'x', yLabel: 'y', series: [{ name: 'down', x: xs, y: xs.map((x) => 1 - x) }] }));
    // both corners of the top row, by position: left edge near the frame's left, or right edge near its right
    expect(rising.box.x - rising.frame[0]).toBeLessThan(10);
    expect(rising.box.y - rising.frame[1]).toBeLessThan(10);
    expect(falling.frame[2] - (falling.box.x + falling.box.w)).toBeLessThan(10);
    for (const l of [rising, falling]) for (const s of l.segs) expect(crosses(s[0], s[1], s[2], s[3], l.box)).toBe(false);
    // everything but the bottom-left corner taken: that is where it goes
    const three = layout(renderSvg({ title: 'three', xLabel: 'x', yLabel: 'y', series: [
      { name: 'top', x: xs, y: xs.map(() => 0.95) },
      { name: 'right', x: xs.map(() => 0.95), y: xs },
    ] }));
    expect(three.box.x - three.frame[0]).toBeLessThan(10);
    expect(three.frame[3] - (three.box.y + three.box.h)).toBeLessThan(10);
    for (const s of three.segs) expect(crosses(s[0], s[1], s[2], s[3], three.box)).toBe(false);
  });
});
