// The moons demo's last picture: the plane coloured by the model's predicted class, with the
// data points on top (the notebook's contourf over a meshgrid, here as Vega-Lite rects).

import { writeChart, type VegaLiteSpec } from '../viz/render.js';
import type { MLP } from './nn.js';
import { Value } from './value.js';

export interface BoundaryOptions {
  /** Grid spacing; default 0.05 (the notebook's 0.25 looks blocky without contour smoothing). */
  step?: number;
  /** Margin around the data, as in the notebook; default 1. */
  margin?: number;
  title?: string;
}

const NEG_COLOR = '#d53e4f'; // the ends of matplotlib's Spectral map, which the notebook used
const POS_COLOR = '#3288bd';

/** A Vega-Lite spec of the decision regions of `model` (score > 0 vs <= 0) and the points (X, y in {-1, +1}). */
export function decisionBoundarySpec(
  model: MLP,
  X: ReadonlyArray<readonly number[]>,
  y: ReadonlyArray<number>,
  options: BoundaryOptions = {},
): VegaLiteSpec {
  if (model.nin !== 2 || model.nout !== 1) {
    throw new RangeError(`decisionBoundarySpec: the model must map 2 inputs to 1 score, got ${model.nin} -> ${model.nout}`);
  }
  if (X.length === 0 || X.length !== y.length) {
    throw new RangeError(`decisionBoundarySpec: X and y must be non-empty and of one length, got ${X.length} and ${y.length}`);
  }
  const step = options.step ?? 0.05;
  const margin = options.margin ?? 1;
  if (!(step > 0) || !Number.isFinite(step)) throw new RangeError(`decisionBoundarySpec: step must be > 0, got ${step}`);
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new RangeError(`decisionBoundarySpec: margin must be >= 0, got ${margin}`);

  const xs = X.map((r) => r[0]!);
  const ys = X.map((r) => r[1]!);
  const x0 = Math.min(...xs) - margin;
  const x1 = Math.max(...xs) + margin;
  const y0 = Math.min(...ys) - margin;
  const y1 = Math.max(...ys) + margin;
  const nx = Math.ceil((x1 - x0) / step);
  const ny = Math.ceil((y1 - y0) / step);
  if (nx * ny > 250_000) {
    throw new RangeError(`decisionBoundarySpec: a ${nx}x${ny} grid is too fine; use a larger step`);
  }

  const cells: { x: number; x2: number; y: number; y2: number; cls: string }[] = [];
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) {
      const cx = x0 + i * step;
      const cy = y0 + j * step;
      const s = model.forwardScalar([new Value(cx + step / 2), new Value(cy + step / 2)]).data;
      cells.push({ x: cx, x2: cx + step, y: cy, y2: cy + step, cls: s > 0 ? '+1' : '-1' });
    }
  }
  const points = X.map((r, i) => ({ px: r[0]!, py: r[1]!, cls: y[i]! > 0 ? '+1' : '-1' }));
  const color = { field: 'cls', type: 'nominal', title: 'class', scale: { domain: ['-1', '+1'], range: [NEG_COLOR, POS_COLOR] } } as const;

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title ?? 'micrograd MLP decision boundary on make_moons',
    width: 400,
    height: 400,
    layer: [
      {
        data: { values: cells },
        mark: { type: 'rect', opacity: 0.35, strokeWidth: 0, clip: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [x0, x1], nice: false, zero: false }, title: 'x1' },
          x2: { field: 'x2' },
          y: { field: 'y', type: 'quantitative', scale: { domain: [y0, y1], nice: false, zero: false }, title: 'x2' },
          y2: { field: 'y2' },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 45, stroke: 'black', strokeWidth: 0.6, opacity: 1 },
        encoding: {
          x: { field: 'px', type: 'quantitative' },
          y: { field: 'py', type: 'quantitative' },
          color,
        },
      },
    ],
  } as VegaLiteSpec;
}

/** Render the decision boundary to `<base>.svg` and `<base>.png`. */
export async function writeDecisionBoundary(
  model: MLP,
  X: ReadonlyArray<readonly number[]>,
  y: ReadonlyArray<number>,
  base: string,
  options: BoundaryOptions = {},
): Promise<{ svg: string; png: string }> {
  return writeChart(decisionBoundarySpec(model, X, y, options), base);
}
