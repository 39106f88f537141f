/**
 * Vector PDF from gradflow's own SVG figures: paths, rectangles, circles, clip rectangles and text
 * (DejaVu Sans embedded as a CID TrueType font with a ToUnicode map, so text stays text: it
 * scales, can be searched and copied). It reads only the vocabulary src/report/svg.ts and
 * heatmap.ts write; anything else is reported as unsupported so the caller can fall back to the
 * raster page. The page is the SVG's physical size (width="3.5in") or its pixels at 96 per inch.
 */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

export class UnsupportedSvg extends Error {}

// ---- the font: the few TrueType tables a PDF needs (cmap format 4, hmtx, head, hhea) ----

export interface TtfFont { data: Buffer; tables: Map<string, { offset: number; length: number }>; unitsPerEm: number; bbox: number[]; ascent: number; descent: number; glyph(cp: number): number; advance(gid: number): number }

export function readTtf(path: string): TtfFont {
  const b = readFileSync(path);
  const tables = new Map<string, { offset: number; length: number }>();
  const n = b.readUInt16BE(4);
  for (let i = 0; i < n; i++) tables.set(b.toString('latin1', 12 + 16 * i, 16 + 16 * i), { offset: b.readUInt32BE(12 + 16 * i + 8), length: b.readUInt32BE(12 + 16 * i + 12) });
  const at = (tag: string): number => {
    const o = tables.get(tag);
    if (o === undefined) throw new UnsupportedSvg(`font ${path} has no '${tag}' table`);
    return o.offset;
  };
  const head = at('head'), hhea = at('hhea'), hmtx = at('hmtx'), cmap = at('cmap');
  const unitsPerEm = b.readUInt16BE(head + 18);
  const bbox = [36, 38, 40, 42].map((o) => b.readInt16BE(head + o));
  const ascent = b.readInt16BE(hhea + 4), descent = b.readInt16BE(hhea + 6), nMetrics = b.readUInt16BE(hhea + 34);
  // Windows Unicode BMP subtable (platform 3, encoding 1), format 4
  let sub = -1;
  for (let i = 0, m = b.readUInt16BE(cmap + 2); i < m; i++) {
    const rec = cmap + 4 + 8 * i;
    if (b.readUInt16BE(rec) === 3 && b.readUInt16BE(rec + 2) === 1) sub = cmap + b.readUInt32BE(rec + 4);
  }
  if (sub < 0 || b.readUInt16BE(sub) !== 4) throw new UnsupportedSvg(`font ${path} has no format-4 Unicode cmap`);
  const segs = b.readUInt16BE(sub + 6) / 2;
  const ends = sub + 14, starts = ends + 2 * segs + 2, deltas = starts + 2 * segs, ranges = deltas + 2 * segs;
  const cache = new Map<number, number>();
  const glyph = (cp: number): number => {
    const hit = cache.get(cp);
    if (hit !== undefined) return hit;
    let g = 0;
    if (cp <= 0xffff) {
      for (let s = 0; s < segs; s++) {
        if (cp > b.readUInt16BE(ends + 2 * s)) continue;
        const start = b.readUInt16BE(starts + 2 * s);
        if (cp < start) break;
        const delta = b.readInt16BE(deltas + 2 * s), ro = b.readUInt16BE(ranges + 2 * s);
        if (ro === 0) g = (cp + delta) & 0xffff;
        else {
          const gi = b.readUInt16BE(ranges + 2 * s + ro + 2 * (cp - start));
          g = gi === 0 ? 0 : (gi + delta) & 0xffff;
        }
        break;
      }
    }
    cache.set(cp, g);
    return g;
  };
  const advance = (gid: number): number => b.readUInt16BE(hmtx + 4 * Math.min(gid, nMetrics - 1));
  return { data: b, tables, unitsPerEm, bbox, ascent, descent, glyph, advance };
}

/**
 * The font with only the glyphs a page uses (and the parts of composite glyphs): the other glyph
 * outlines are emptied, so glyph ids stay as they are (CIDToGIDMap Identity), and only the tables a
 * PDF TrueType font needs are kept. DejaVu Sans' 757 kB become a few kB.
 */
export function subsetTtf(font: TtfFont, used: Iterable<number>): Buffer {
  const b = font.data;
  const t = (tag: string): { offset: number; length: number } => {
    const e = font.tables.get(tag);
    if (!e) throw new UnsupportedSvg(`font has no '${tag}' table`);
    return e;
  };
  const head = t('head'), loca = t('loca'), glyf = t('glyf'), maxp = t('maxp');
  const longLoca = b.readInt16BE(head.offset + 50) === 1;
  const nGlyphs = b.readUInt16BE(maxp.offset + 4);
  const off = (g: number): number => (longLoca ? b.readUInt32BE(loca.offset + 4 * g) : 2 * b.readUInt16BE(loca.offset + 2 * g));
  const keep = new Set<number>([0]);
  const todo = [...used];
  while (todo.length) {
    const g = todo.pop()!;
    if (g >= nGlyphs || (keep.has(g) && g !== 0)) continue;
    keep.add(g);
    const start = glyf.offset + off(g);
    if (off(g + 1) === off(g) || b.readInt16BE(start) >= 0) continue;
    // composite: follow its components
    let p = start + 10;
    for (let more = true; more;) {
      const flags = b.readUInt16BE(p);
      todo.push(b.readUInt16BE(p + 2));
      p += 4 + (flags & 1 ? 4 : 2) + (flags & 8 ? 2 : flags & 0x40 ? 4 : flags & 0x80 ? 8 : 0);
      more = (flags & 0x20) !== 0;
    }
  }
  const parts: Buffer[] = [];
  const newLoca = Buffer.alloc(4 * (nGlyphs + 1));
  let pos = 0;
  for (let g = 0; g < nGlyphs; g++) {
    newLoca.writeUInt32BE(pos, 4 * g);
    if (!keep.has(g)) continue;
    const data = b.subarray(glyf.offset + off(g), glyf.offset + off(g + 1));
    const padded = Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
    parts.push(padded);
    pos += padded.length;
  }
  newLoca.writeUInt32BE(pos, 4 * nGlyphs);
  const newHead = Buffer.from(b.subarray(head.offset, head.offset + head.length));
  newHead.writeInt16BE(1, 50); // long loca offsets
  newHead.writeUInt32BE(0, 8); // checkSumAdjustment: recomputed below
  const out: [string, Buffer][] = [
    ['glyf', Buffer.concat(parts)],
    ['head', newHead],
    ['hhea', b.subarray(t('hhea').offset, t('hhea').offset + t('hhea').length)],
    ['hmtx', b.subarray(t('hmtx').offset, t('hmtx').offset + t('hmtx').length)],
    ['loca', newLoca],
    ['maxp', b.subarray(maxp.offset, maxp.offset + maxp.length)],
    ...(['cvt ', 'fpgm', 'prep'] as const).filter((k) => font.tables.has(k)).map((k): [string, Buffer] => [k, b.subarray(t(k).offset, t(k).offset + t(k).length)]),
  ];
  out.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const sum = (d: Buffer): number => {
    let s = 0;
    const padded = Buffer.concat([d, Buffer.alloc((4 - (d.length % 4)) % 4)]);
    for (let q = 0; q < padded.length; q += 4) s = (s + padded.readUInt32BE(q)) >>> 0;
    return s;
  };
  const n = out.length;
  const dir = Buffer.alloc(12 + 16 * n);
  const log2 = Math.floor(Math.log2(n));
  dir.writeUInt32BE(0x00010000, 0);
  dir.writeUInt16BE(n, 4);
  dir.writeUInt16BE(16 * 2 ** log2, 6);
  dir.writeUInt16BE(log2, 8);
  dir.writeUInt16BE(16 * n - 16 * 2 ** log2, 10);
  let at = dir.length;
  const bodies: Buffer[] = [];
  out.forEach(([tag, data], i) => {
    dir.write(tag, 12 + 16 * i, 'latin1');
    dir.writeUInt32BE(sum(data), 12 + 16 * i + 4);
    dir.writeUInt32BE(at, 12 + 16 * i + 8);
    dir.writeUInt32BE(data.length, 12 + 16 * i + 12);
    const padded = Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
    bodies.push(padded);
    at += padded.length;
  });
  const file = Buffer.concat([dir, ...bodies]);
  const headAt = dir.readUInt32BE(12 + 16 * out.findIndex(([tag]) => tag === 'head') + 8);
  file.writeUInt32BE((0xb1b0afba - sum(file)) >>> 0, headAt + 8);
  return file;
}

// ---- the SVG: a tokenizer for the XML gradflow writes ----

interface Node { name: string; attrs: Record<string, string>; children: Node[]; text: string }

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescape = (s: string): string => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]);

function parseSvg(svg: string): Node {
  const root: Node = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const re = /<\?[^>]*\?>|<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(svg))) {
    if (m.index !== pos) throw new UnsupportedSvg(`unexpected markup at ${pos}`);
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      stack[stack.length - 1].text += unescape(m[5]);
      continue;
    }
    if (!m[2]) continue;
    if (m[1]) {
      const top = stack.pop();
      if (!top || top.name !== m[2]) throw new UnsupportedSvg(`mismatched </${m[2]}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of m[3].matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]] = unescape(a[2]);
    const node: Node = { name: m[2], attrs, children: [], text: '' };
    stack[stack.length - 1].children.push(node);
    if (!m[4]) stack.push(node);
  }
  if (pos !== svg.length || stack.length !== 1) throw new UnsupportedSvg('unbalanced SVG');
  const svgNode = root.children.find((c) => c.name === 'svg');
  if (!svgNode) throw new UnsupportedSvg('no <svg> element');
  return svgNode;
}

// ---- drawing ----

const f = (v: number): string => {
  const r = Math.round(v * 1000) / 1000;
  return Object.is(r, -0) ? '0' : String(r);
};

function color(c: string | undefined): string | null {
  if (c === undefined || c === 'none') return null;
  const m = /^#([0-9a-fA-F]{6})$/.exec(c);
  if (!m) throw new UnsupportedSvg(`colour '${c}'`);
  return [0, 2, 4].map((i) => f(parseInt(m[1].slice(i, i + 2), 16) / 255)).join(' ');
}

function numAttr(n: Node, k: string, dflt?: number): number {
  const v = n.attrs[k];
  if (v === undefined) {
    if (dflt === undefined) throw new UnsupportedSvg(`<${n.name}> without ${k}`);
    return dflt;
  }
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UnsupportedSvg(`<${n.name} ${k}="${v}">`);
  return x;
}

/** M/L/H/V (and lower-case relatives) to PDF moveto/lineto. */
function pathOps(d: string, tx: number, ty: number): string {
  const toks = d.match(/[MLHVmlhv]|-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/g) ?? [];
  if (toks.join('').length !== d.replace(/[\s,]/g, '').length) throw new UnsupportedSvg(`path data '${d.slice(0, 40)}'`);
  let out = '';
  let x = 0, y = 0, cmd = '';
  for (let i = 0; i < toks.length;) {
    if (/[A-Za-z]/.test(toks[i])) cmd = toks[i++];
    const a = Number(toks[i++]);
    switch (cmd) {
      case 'M': case 'L': case 'm': case 'l': {
        const b = Number(toks[i++]);
        x = cmd === 'M' || cmd === 'L' ? a : x + a;
        y = cmd === 'M' || cmd === 'L' ? b : y + b;
        out += `${f(x + tx)} ${f(y + ty)} ${cmd.toLowerCase() === 'm' ? 'm' : 'l'}\n`;
        if (cmd === 'M') cmd = 'L';
        if (cmd === 'm') cmd = 'l';
        break;
      }
      case 'H': case 'h': x = cmd === 'H' ? a : x + a; out += `${f(x + tx)} ${f(y + ty)} l\n`; break;
      case 'V': case 'v': y = cmd === 'V' ? a : y + a; out += `${f(x + tx)} ${f(y + ty)} l\n`; break;
      default: throw new UnsupportedSvg(`path command '${cmd}'`);
    }
  }
  return out;
}

interface Style { tx: number; ty: number; fill: string | undefined }

class Page {
  ops: string[] = [];
  used = new Map<number, number>(); // gid → code point, for widths and ToUnicode
  constructor(private font: TtfFont) {}

  width(s: string, size: number): number {
    let w = 0;
    for (const ch of s) w += this.font.advance(this.font.glyph(ch.codePointAt(0)!));
    return (w * size) / this.font.unitsPerEm;
  }

  hex(s: string): string {
    let h = '';
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      const g = this.font.glyph(cp);
      if (!this.used.has(g)) this.used.set(g, cp);
      h += g.toString(16).padStart(4, '0');
    }
    return `<${h}>`;
  }

  stroke(n: Node): string {
    const c = color(n.attrs.stroke);
    if (!c) return '';
    const dash = n.attrs['stroke-dasharray'] ? `[${n.attrs['stroke-dasharray'].split(/[\s,]+/).map(Number).map(f).join(' ')}] 0 d` : '[] 0 d';
    return `${c} RG ${f(numAttr(n, 'stroke-width', 1))} w ${dash} ${n.attrs['stroke-linejoin'] === 'round' ? 1 : 0} j\n`;
  }

  draw(n: Node, st: Style, clips: Map<string, Node>): void {
    switch (n.name) {
      case 'svg': case 'g': {
        let { tx, ty } = st;
        const t = n.attrs.transform;
        if (t) {
          const m = /^translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)$/.exec(t);
          if (!m) throw new UnsupportedSvg(`<g transform="${t}">`);
          tx += Number(m[1]);
          ty += Number(m[2]);
        }
        const fill = n.attrs.fill ?? st.fill;
        const clip = n.attrs['clip-path'];
        if (clip) {
          const r = clips.get(/^url\(#(.+)\)$/.exec(clip)?.[1] ?? '');
          if (!r) throw new UnsupportedSvg(`clip-path ${clip}`);
          this.ops.push(`q ${f(numAttr(r, 'x') + tx)} ${f(numAttr(r, 'y') + ty)} ${f(numAttr(r, 'width'))} ${f(numAttr(r, 'height'))} re W n\n`);
        }
        for (const c of n.children) this.draw(c, { tx, ty, fill }, clips);
        if (clip) this.ops.push('Q\n');
        return;
      }
      case 'clipPath': case 'title': return;
      case 'rect': {
        const fill = color(n.attrs.fill ?? st.fill ?? '#000000');
        const s = this.stroke(n);
        const op = fill && s ? 'B' : fill ? 'f' : s ? 'S' : '';
        if (!op) return;
        this.ops.push(`${s}${fill ? `${fill} rg ` : ''}${f(numAttr(n, 'x', 0) + st.tx)} ${f(numAttr(n, 'y', 0) + st.ty)} ${f(numAttr(n, 'width'))} ${f(numAttr(n, 'height'))} re ${op}\n`);
        return;
      }
      case 'path': {
        // gradflow never fills an open path: a stroked one without a fill is a line (SVG would fill its zero area)
        const fill = color(n.attrs.fill ?? (n.attrs.stroke ? 'none' : st.fill ?? '#000000'));
        const s = this.stroke(n);
        const op = fill && s ? 'B' : fill ? 'f' : s ? 'S' : '';
        if (op) this.ops.push(`${s}${fill ? `${fill} rg ` : ''}${pathOps(n.attrs.d ?? '', st.tx, st.ty)}${op}\n`);
        return;
      }
      case 'circle': {
        const cx = numAttr(n, 'cx') + st.tx, cy = numAttr(n, 'cy') + st.ty, r = numAttr(n, 'r');
        const fill = color(n.attrs.fill ?? st.fill ?? '#000000');
        if (!fill) return;
        const k = 0.5523 * r;
        this.ops.push(`${fill} rg ${f(cx + r)} ${f(cy)} m ${f(cx + r)} ${f(cy + k)} ${f(cx + k)} ${f(cy + r)} ${f(cx)} ${f(cy + r)} c ${f(cx - k)} ${f(cy + r)} ${f(cx - r)} ${f(cy + k)} ${f(cx - r)} ${f(cy)} c ${f(cx - r)} ${f(cy - k)} ${f(cx - k)} ${f(cy - r)} ${f(cx)} ${f(cy - r)} c ${f(cx + k)} ${f(cy - r)} ${f(cx + r)} ${f(cy - k)} ${f(cx + r)} ${f(cy)} c f\n`);
        return;
      }
      case 'text': return this.text(n, st);
      default: throw new UnsupportedSvg(`<${n.name}>`);
    }
  }

  text(n: Node, st: Style): void {
    const size = numAttr(n, 'font-size', 16);
    const parts: { s: string; size: number; rise: number }[] = [{ s: n.text, size, rise: 0 }];
    for (const c of n.children) {
      if (c.name === 'title') continue;
      if (c.name !== 'tspan' || c.children.length) throw new UnsupportedSvg(`<${c.name}> in <text>`);
      parts.push({ s: c.text, size: numAttr(c, 'font-size', size), rise: -numAttr(c, 'dy', 0) });
    }
    const w = parts.reduce((a, p) => a + this.width(p.s, p.size), 0);
    const anchor = n.attrs['text-anchor'] ?? 'start';
    const shift = anchor === 'middle' ? -w / 2 : anchor === 'end' ? -w : 0;
    // the page's y axis points down (SVG's); text matrices flip it back so glyphs stand upright
    let tm: string;
    const t = n.attrs.transform;
    if (!t) tm = `1 0 0 -1 ${f(numAttr(n, 'x', 0) + st.tx)} ${f(numAttr(n, 'y', 0) + st.ty)}`;
    else {
      const m = /^translate\(([-\d.e]+)[ ,]+([-\d.e]+)\) rotate\(-90\)$/.exec(t);
      if (!m) throw new UnsupportedSvg(`<text transform="${t}">`);
      tm = `0 -1 -1 0 ${f(Number(m[1]) + st.tx + numAttr(n, 'x', 0))} ${f(Number(m[2]) + st.ty + numAttr(n, 'y', 0))}`;
    }
    const fill = color(n.attrs.fill ?? st.fill ?? '#000000') ?? '0 0 0';
    let body = '';
    for (const p of parts) if (p.s) body += `/F1 ${f(p.size)} Tf ${f(p.rise)} Ts ${this.hex(p.s)} Tj `;
    if (body) this.ops.push(`BT ${fill} rg ${tm} Tm ${f(shift)} 0 Td ${body}ET\n`);
  }
}

/** A PDF file from its numbered objects (1 = catalog), with the cross-reference table and trailer. */
export function pdfDocument(objects: (string | Buffer)[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), typeof o === 'string' ? Buffer.from(o, 'latin1') : o, Buffer.from('\nendobj\n')]);
    offsets.push(offset);
    offset += obj.length;
    parts.push(obj);
  });
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`));
  return new Uint8Array(Buffer.concat(parts));
}

const fontStream = (ttf: Buffer): Buffer => stream(`/Filter /FlateDecode /Length1 ${ttf.length}`, deflateSync(ttf));
const stream = (dict: string, data: Buffer): Buffer => Buffer.concat([Buffer.from(`<< ${dict} /Length ${data.length} >>\nstream\n`), data, Buffer.from('\nendstream')]);

/** The page size in points: the SVG's inches, or its pixels at 96 per inch. */
function pageSize(svg: Node): { w: number; h: number; vw: number; vh: number } {
  const vb = (svg.attrs.viewBox ?? '').split(/\s+/).map(Number);
  if (vb.length !== 4 || vb[0] !== 0 || vb[1] !== 0) throw new UnsupportedSvg('viewBox');
  const len = (v: string | undefined, px: number): number => {
    if (v === undefined) return px * 0.75;
    const m = /^([\d.]+)(in|px)?$/.exec(v);
    if (!m) throw new UnsupportedSvg(`size '${v}'`);
    return m[2] === 'in' ? Number(m[1]) * 72 : Number(m[1]) * 0.75;
  };
  return { w: len(svg.attrs.width, vb[2]), h: len(svg.attrs.height, vb[3]), vw: vb[2], vh: vb[3] };
}

/** A one-page vector PDF of one of gradflow's SVG figures; throws UnsupportedSvg for anything else. */
export function svgToVectorPdf(svg: string, font: TtfFont): Uint8Array {
  const root = parseSvg(svg);
  const size = pageSize(root);
  const clips = new Map<string, Node>();
  const collect = (n: Node): void => {
    if (n.name === 'clipPath') {
      const r = n.children.find((c) => c.name === 'rect');
      if (!r || n.children.length !== 1) throw new UnsupportedSvg('clipPath other than one rect');
      clips.set(n.attrs.id, r);
    }
    n.children.forEach(collect);
  };
  collect(root);
  const page = new Page(font);
  page.draw(root, { tx: 0, ty: 0, fill: root.attrs.fill }, clips);
  const sx = size.w / size.vw, sy = size.h / size.vh;
  const content = `${f(sx)} 0 0 ${f(-sy)} 0 ${f(size.h)} cm\n${page.ops.join('')}`;
  const gids = [...page.used.keys()].sort((a, b) => a - b);
  const upm = font.unitsPerEm;
  const widths = gids.map((g) => `${g} [${f((font.advance(g) * 1000) / upm)}]`).join(' ');
  const cmap = [
    '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
    '/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def',
    '1 begincodespacerange <0000> <FFFF> endcodespacerange',
    ...Array.from({ length: Math.ceil(gids.length / 100) }, (_, k) => {
      const chunk = gids.slice(100 * k, 100 * (k + 1));
      return `${chunk.length} beginbfchar\n${chunk.map((g) => `<${g.toString(16).padStart(4, '0')}> <${page.used.get(g)!.toString(16).padStart(4, '0')}>`).join('\n')}\nendbfchar`;
    }),
    'endcmap CMapName currentdict /CMap defineresource pop end end',
  ].join('\n');
  const bb = font.bbox.map((v) => f((v * 1000) / upm)).join(' ');
  return pdfDocument([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${f(size.w)} ${f(size.h)}] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>`,
    stream('/Filter /FlateDecode', deflateSync(Buffer.from(content, 'latin1'))),
    '<< /Type /Font /Subtype /Type0 /BaseFont /GFSUBS+DejaVuSans /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 9 0 R >>',
    `<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GFSUBS+DejaVuSans /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /DW 1000 /W [${widths}] /CIDToGIDMap /Identity >>`,
    `<< /Type /FontDescriptor /FontName /GFSUBS+DejaVuSans /Flags 32 /FontBBox [${bb}] /ItalicAngle 0 /Ascent ${f((font.ascent * 1000) / upm)} /Descent ${f((font.descent * 1000) / upm)} /CapHeight ${f((font.ascent * 1000) / upm)} /StemV 80 /FontFile2 8 0 R >>`,
    fontStream(subsetTtf(font, gids)),
    stream('/Filter /FlateDecode', deflateSync(Buffer.from(cmap, 'latin1'))),
  ]);
}
