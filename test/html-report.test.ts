/**
 * report.html in a real browser: headless Chromium (Debian's package; .ci/run installs it)
 * loads the page from disk, lays out every inlined figure (each SVG has a non-empty box and
 * drawn paths), runs without script errors, and takes a screenshot. Without Chromium the
 * browser part is skipped with a message, outside CI; in CI a missing browser fails.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run, scratch } from './helpers/cli.ts';

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
    const dom = spawnSync(browser, [...FLAGS, '--virtual-time-budget=5000', '--dump-dom', page], { encoding: 'utf8', timeout: 90_000 });
    expect(dom.status, dom.stderr.slice(-500)).toBe(0);
    const body = /<body[^>]*>/.exec(dom.stdout)?.[0] ?? '';
    expect(body).toContain(`data-figures-rendered="${expected}"`);
    expect(body).toContain('data-errors="0"');
    const shot = join(dir, 'demo', 'screenshot.png');
    const s = spawnSync(browser, [...FLAGS, '--window-size=1280,2400', `--screenshot=${shot}`, page], { encoding: 'utf8', timeout: 90_000 });
    expect(s.status, s.stderr.slice(-500)).toBe(0);
    const png = readFileSync(shot);
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280);
    // a page of text and two plots compresses to well over a blank page's few kilobytes
    expect(statSync(shot).size).toBeGreaterThan(50_000);
  }, 200_000);
});
