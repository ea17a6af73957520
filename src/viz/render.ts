// Rendering helpers shared by every plot: Vega-Lite spec -> SVG (no canvas needed), SVG -> PNG.
// vega, vega-lite and resvg take most of a cold `import 'ferrograd'` (~150 ms), so they are loaded
// on first use: a program that only uses tensors never pays for them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

type VegaModules = [typeof import('vega'), typeof import('vega-lite')];
let vegaModules: Promise<VegaModules> | null = null;

function loadVega(): Promise<VegaModules> {
  vegaModules ??= Promise.all([import('vega'), import('vega-lite')]).catch((e: unknown) => {
    vegaModules = null; // let a later call try again
    throw e;
  });
  return vegaModules;
}

// resvg is CommonJS, so a synchronous require keeps svgToPng synchronous.
let resvg: typeof import('@resvg/resvg-js') | null = null;

function loadResvg(): typeof import('@resvg/resvg-js') {
  resvg ??= createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  return resvg;
}

/** Compile a Vega-Lite spec and render it headless to an SVG string. */
export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, { compile }] = await loadVega();
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
  const { Resvg } = loadResvg();
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
