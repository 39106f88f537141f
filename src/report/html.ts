/**
 * report.html: one self-contained page per --out directory — the command line, the
 * conventions, every figure inlined as SVG (values on hover), every table as HTML (full
 * precision on hover) — no external files, scripts or fonts, so it opens from a laptop, a
 * cluster's file browser or an e-mail attachment. A few lines of script only record, for
 * tests and curious readers, how many figures the browser laid out.
 */
import type { Table } from './table.ts';
import { formatNumber } from './table.ts';

export interface HtmlReport {
  title: string;
  /** The command line after `gradflow`. */
  argv: string[];
  version: string;
  figures: { name: string; svg: string }[];
  tables: Table[];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

function cellText(v: unknown, format?: (v: unknown) => string): string {
  if (format) return format(v);
  if (typeof v === 'number') return formatNumber(v);
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.length ? v.join(' ') : '—';
  return String(v);
}

function tableHtml(t: Table, k: number): string {
  const head = t.columns.map((c) => `<th>${esc(c.header)}</th>`).join('');
  const rows = t.rows.map((r) => `<tr>${t.columns.map((c) => {
    const v = r[c.key];
    const full = typeof v === 'number' && Number.isFinite(v) ? ` title="${esc(String(v))}"` : '';
    return `<td${typeof v === 'number' ? ' class="num"' : ''}${full}>${esc(cellText(v, c.format))}</td>`;
  }).join('')}</tr>`).join('\n');
  const notes = (t.notes ?? []).map((n) => `<li>${esc(n)}</li>`).join('');
  return `<section class="table" id="table-${k}">\n<h2>${esc(t.title ?? `Table ${k + 1}`)}</h2>\n<div class="scroll"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody></table></div>\n${notes ? `<ul class="notes">${notes}</ul>` : ''}\n</section>`;
}

/** The SVG document without its XML prolog, ready to inline (clip ids are already unique per figure). */
function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '').replace('<svg ', '<svg class="figure-svg" preserveAspectRatio="xMidYMid meet" ');
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1320px;margin:2em auto;padding:0 1em;color:#111;line-height:1.4}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:90%}pre{background:#f5f5f5;padding:.6em;overflow-x:auto;white-space:pre-wrap}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #ddd}figcaption{color:#444;font-size:90%}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:90%}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}
th{border-bottom:2px solid #333}td.num{text-align:right;font-variant-numeric:tabular-nums}tr:hover td{background:#f0f6ff}
.notes{color:#444;font-size:85%}circle:hover{r:5}`;

const SCRIPT = `(function(){var e=[];window.addEventListener('error',function(x){e.push(String(x.message))});
window.addEventListener('load',function(){var s=document.querySelectorAll('svg.figure-svg'),n=0,x=[];
for(var i=0;i<s.length;i++){var b=s[i].getBoundingClientRect();if(b.width>0&&b.height>0&&s[i].querySelectorAll('path,circle').length>0)n++;
x.push([b.left+scrollX,b.top+scrollY,b.width,b.height].map(Math.round).join(','))}
document.body.setAttribute('data-figures-rendered',String(n));document.body.setAttribute('data-figure-boxes',x.join(';'));
document.body.setAttribute('data-errors',String(e.length))})})();`;

export function renderHtml(r: HtmlReport): string {
  const cmd = `gradflow ${r.argv.map(shellQuote).join(' ')}`;
  const figures = r.figures.map((f, k) => `<figure id="figure-${k}">\n${inlineSvg(f.svg).trim()}\n<figcaption>Figure ${k + 1}: ${esc(f.name)} (also as .svg, .png, .pdf in this directory)</figcaption>\n</figure>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
<style>${STYLE}</style>
</head>
<body data-figures="${r.figures.length}" data-tables="${r.tables.length}">
<h1>${esc(r.title)}</h1>
<p>Command: <code>${esc(cmd)}</code> · gradflow ${esc(r.version)}</p>
<p>Every table lists its conventions (loss normalisation, time unit, initial scale α) under it; hover a number for its full precision, a marker for its value.</p>
${figures}
${r.tables.map(tableHtml).join('\n')}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
