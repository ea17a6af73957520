// Rendering helpers shared by every plot: Vega-Lite spec -> SVG (no canvas needed), SVG -> PNG.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type VegaLiteSpec = TopLevelSpec;

/** Compile a Vega-Lite spec and render it headless to an SVG string. */
export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  const { spec: vgSpec } = compile(spec);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG string to PNG bytes. `scale` multiplies the SVG's own size. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Write `<base>.svg` and `<base>.png` for an SVG string; returns both paths. */
export function writeSvgAndPng(svg: string, base: string, scale = 2): { svg: string; png: string } {
  mkdirSync(dirname(base), { recursive: true });
  const svgPath = `${base}.svg`;
  const pngPath = `${base}.png`;
  writeFileSync(svgPath, svg);
  writeFileSync(pngPath, svgToPng(svg, scale));
  return { svg: svgPath, png: pngPath };
}

/** Render a Vega-Lite spec to `<base>.svg` and `<base>.png`. */
export async function writeChart(spec: VegaLiteSpec, base: string, scale = 2): Promise<{ svg: string; png: string }> {
  return writeSvgAndPng(await vegaLiteToSvg(spec), base, scale);
}
