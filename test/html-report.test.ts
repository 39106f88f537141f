/**
 * report.html in a real browser: headless Chromium (Debian's package; .ci/run installs it)
 * loads the page from disk, lays out every inlined figure (each SVG has a non-empty box and
 * drawn paths), runs without script errors, and takes a screenshot in which each figure's box
 * (from the page's layout) holds the curves' coloured pixels. Without Chromium the
 * browser part is skipped with a message, outside CI; in CI a missing browser fails.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run, scratch } from './helpers/cli.ts';
import { decodePng } from './helpers/png.ts';

const BROWSERS = ['chromium', 'chromium-browser', 'google-chrome'];
const browser = BROWSERS.find((b) => spawnSync(b, ['--version'], { encoding: 'utf8' }).status === 0);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--disable-dev-shm-usage', '--no-first-run'];

describe('report.html', () => {
  const { dir } = scratch('gradflow-html-');

  it('is self-contained: command line, conventions, inline SVG figures, tables with full precision on hover', async () => {
    const r = await run('compare', 'diagonal', '--opt', 'example=1', '--dim', 'd=2', '--out', join(dir, 'cmp'));
    expect(r.code, r.err).toBe(0);
    const html = readFileSync(join(dir, 'cmp', 'report.html'), 'utf8');
    expect(html).toContain('gradflow compare diagonal --opt example=1 --dim d=2 --out');
    expect(html).toMatch(/loss: 1\/\(2n\) sum of squares/);
    expect(html).toMatch(/alpha = 0\.0001/);
    expect((html.match(/<svg /g) ?? []).length).toBe(1);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/); // nothing fetched from elsewhere
    const json = JSON.parse(readFileSync(join(dir, 'cmp', 'compare.json'), 'utf8'));
    const t1 = json.schedules.flow.jumps[0].rescaledTime as number;
    expect(html).toContain(`title="${String(t1)}"`);
    expect(html).toMatch(/<circle [^>]*><title>gradient flow: detected jumps: x = /);
  });

  it('renders in headless Chromium with every figure laid out and no script errors', async () => {
    if (!browser) {
      if (process.env.CI) throw new Error('CI: chromium is not installed (.ci/run installs it with apt-get)');
      console.warn('html-report.test: no chromium on PATH (apt-get install chromium); skipped the browser check');
      return;
    }
    const r = await run('demo', '--out', join(dir, 'demo'));
    expect(r.code, r.err).toBe(0);
    const page = `file://${join(dir, 'demo', 'report.html')}`;
    const html = readFileSync(join(dir, 'demo', 'report.html'), 'utf8');
    const expected = Number(/data-figures="(\d+)"/.exec(html)![1]);
    expect(expected).toBe(2);
    // the layout at the screenshot's width (the boxes below are in its page pixels)
    const dom = spawnSync(browser, [...FLAGS, '--force-device-scale-factor=1', '--window-size=1280,2400', '--virtual-time-budget=5000', '--dump-dom', page], { encoding: 'utf8', timeout: 90_000 });
    expect(dom.status, dom.stderr.slice(-500)).toBe(0);
    const body = /<body[^>]*>/.exec(dom.stdout)?.[0] ?? '';
    expect(body).toContain(`data-figures-rendered="${expected}"`);
    expect(body).toContain('data-errors="0"');
    // where the layout put each figure (page pixels), from the page's own script
    const boxes = /data-figure-boxes="([^"]*)"/.exec(body)![1].split(';').map((b) => b.split(',').map(Number));
    expect(boxes.length).toBe(expected);
    const height = Math.max(...boxes.map(([, y, , h]) => y + h)) + 40;
    const shot = join(dir, 'demo', 'screenshot.png');
    const s = spawnSync(browser, [...FLAGS, '--force-device-scale-factor=1', `--window-size=1280,${height}`, `--screenshot=${shot}`, page], { encoding: 'utf8', timeout: 90_000 });
    expect(s.status, s.stderr.slice(-500)).toBe(0);
    const img = decodePng(readFileSync(shot));
    expect([img.width, img.height]).toEqual([1280, height]);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    // each figure is on the screenshot: its box holds the curves' coloured pixels (the page's text,
    // axes and frames are grey), and most of the coloured ink of the page lies inside the boxes
    const coloured = (x: number, y: number): boolean => {
      const q = (y * img.width + x) * img.channels;
      const r = img.pixels[q], g = img.pixels[q + 1], b = img.pixels[q + 2];
      return Math.max(r, g, b) - Math.min(r, g, b) > 80;
    };
    let total = 0;
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (coloured(x, y)) total++;
    let inside = 0;
    for (const [bx, by, bw, bh] of boxes) {
      let n = 0;
      for (let y = Math.max(0, by); y < Math.min(img.height, by + bh); y++) for (let x = Math.max(0, bx); x < Math.min(img.width, bx + bw); x++) if (coloured(x, y)) n++;
      expect(n, `figure at ${bx},${by} (${bw}×${bh})`).toBeGreaterThan(500);
      inside += n;
    }
    expect(inside / total).toBeGreaterThan(0.9);
  }, 200_000);
});
