/**
 * PNG and PDF next to every SVG figure. PNG: @resvg/resvg-js (a prebuilt renderer from npm) with
 * the DejaVu Sans font shipped by the dejavu-fonts-ttf package and system fonts off, so the
 * same SVG gives the same PNG bytes on every machine. PDF: the PNG's pixels at print resolution
 * in a one-page PDF of the figure's size (a raster page: resvg has no vector PDF back end).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { GradflowError } from '../util/errors.ts';
import { pdfDocument, readTtf, svgToVectorPdf, UnsupportedSvg, type TtfFont } from './pdf-vector.ts';

interface RenderedImage { width: number; height: number; pixels: Buffer; asPng(): Buffer }
interface ResvgModule { Resvg: new (svg: string, opts: Record<string, unknown>) => { render(): RenderedImage } }

const require = createRequire(import.meta.url);
let resvg: ResvgModule | null = null;
let fontFiles: string[] = [];

function load(): ResvgModule {
  if (resvg) return resvg;
  try {
    resvg = require('@resvg/resvg-js') as ResvgModule;
    const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'].map((f) => join(dir, f));
  } catch (err) {
    throw new GradflowError(`PNG/PDF figures need @resvg/resvg-js and dejavu-fonts-ttf (npm install): ${(err as Error).message.split('\n')[0]}`);
  }
  return resvg;
}

function render(svg: string, scale: number): RenderedImage {
  const { Resvg } = load();
  return new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
    font: { loadSystemFonts: false, fontFiles, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  }).render();
}

/** The figure's RGBA pixels at `scale` × its intrinsic size (for comparisons with another renderer). */
export function svgPixels(svg: string, scale = 1): { width: number; height: number; pixels: Buffer } {
  const img = render(svg, scale);
  return { width: img.width, height: img.height, pixels: img.pixels };
}

/** Whether the SVG gives a physical size (a print layout: width="3.5in"). */
function hasPhysicalSize(svg: string): boolean {
  return /^<svg[^>]* width="[\d.]+in"/m.test(svg);
}

/**
 * PNG at `scale` × the SVG's intrinsic size (CSS pixels, 96 per inch). Default: 2× for screen
 * figures (sharp on screens and in slides), 300 dpi for print figures with a physical size.
 */
export function svgToPng(svg: string, scale = hasPhysicalSize(svg) ? 300 / 96 : 2): Uint8Array {
  return new Uint8Array(render(svg, scale).asPng());
}

let vectorFont: TtfFont | null = null;

/**
 * One-page PDF of the SVG's size (its inches, or its pixels at 96 per inch): vector (paths and
 * text in embedded DejaVu Sans) for the figures src/report/svg.ts draws, else a raster page.
 */
export function svgToPdf(svg: string, dpi = 300): Uint8Array {
  load();
  try {
    vectorFont ??= readTtf(fontFiles[0]);
    return svgToVectorPdf(svg, vectorFont);
  } catch (err) {
    if (!(err instanceof UnsupportedSvg)) throw err;
    return svgToRasterPdf(svg, dpi);
  }
}

/** One-page PDF holding the figure as an image at `dpi`. */
export function svgToRasterPdf(svg: string, dpi = 300): Uint8Array {
  const img = render(svg, dpi / 96);
  const { width: w, height: h, pixels } = img;
  const rgb = Buffer.alloc(w * h * 3);
  for (let q = 0, r = 0; q < w * h; q++, r += 4) {
    // composited on white already (background), so alpha can be dropped
    rgb[3 * q] = pixels[r];
    rgb[3 * q + 1] = pixels[r + 1];
    rgb[3 * q + 2] = pixels[r + 2];
  }
  const data = deflateSync(rgb);
  const pw = ((w / dpi) * 72).toFixed(2), ph = ((h / dpi) * 72).toFixed(2);
  const content = `q ${pw} 0 0 ${ph} 0 0 cm /Im0 Do Q`;
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${pw} ${ph}] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>`),
    Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`),
    Buffer.concat([Buffer.from(`<< /Type /XObject /Subtype /Image /Width ${w} /Height ${h} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode /Length ${data.length} >>\nstream\n`), data, Buffer.from('\nendstream')]),
  ];
  return pdfDocument(objects);
}
