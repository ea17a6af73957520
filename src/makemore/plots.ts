// The makemore lectures' figures as Vega-Lite charts, each written as `<base>.svg` and `<base>.png`:
// the bigram count heat map (part 1), the learning-rate sweep, the log10 training-loss curve and
// the 2-D character embedding (part 2).
import { writeChart, type VegaLiteSpec } from '../viz/render.js';
import type { Vocabulary } from './vocab.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const FONT = 'DejaVu Sans';
const BLUES9 = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];

export interface WrittenChart {
  svg: string;
  png: string;
}

const baseConfig = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 12, titleFontSize: 13, gridColor: '#e4e4e4' },
  title: { fontSize: 16, anchor: 'start' as const, offset: 12 },
};

function checkBase(op: string, base: string): void {
  if (typeof base !== 'string' || base.length === 0) {
    throw new TypeError(`${op}: base must be a non-empty path without extension (writes <base>.svg and <base>.png), got ${JSON.stringify(base)}`);
  }
}

function checkSeries(op: string, xName: string, xs: ArrayLike<number>, yName: string, ys: ArrayLike<number>): void {
  for (const [name, a] of [[xName, xs], [yName, ys]] as const) {
    if (a === null || typeof a !== 'object' || typeof a.length !== 'number') {
      throw new TypeError(`${op}: ${name} must be an array of numbers`);
    }
  }
  if (xs.length !== ys.length) {
    throw new RangeError(`${op}: ${xName} and ${yName} must have the same length, got ${xs.length} and ${ys.length}`);
  }
  if (xs.length === 0) throw new RangeError(`${op}: nothing to plot (${xName} and ${yName} are empty)`);
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new RangeError(`${op}: ${xName}[${i}] = ${xs[i]} is not a finite number`);
    if (!Number.isFinite(ys[i])) throw new RangeError(`${op}: ${yName}[${i}] = ${ys[i]} is not a finite number`);
  }
}

/**
 * The part 1 heat map of the V×V bigram counts (`plt.imshow(N, cmap='Blues')` with each cell's
 * bigram above its count). Row = first character, column = second; axes are off as in the lecture.
 */
export async function plotBigramCounts(counts: ArrayLike<number>, vocab: Vocabulary, base: string): Promise<WrittenChart> {
  const op = 'plotBigramCounts';
  checkBase(op, base);
  const V = vocab?.size;
  if (!Number.isInteger(V) || V < 1) throw new TypeError(`${op}: expected a Vocabulary`);
  if (counts === null || typeof counts !== 'object' || counts.length !== V * V) {
    throw new RangeError(`${op}: counts has ${counts?.length} entries, expected ${V}x${V} = ${V * V} for the vocabulary (${vocab})`);
  }
  let max = 0;
  const values: { i: number; j: number; bigram: string; count: number }[] = [];
  for (let i = 0; i < V; i++) {
    for (let j = 0; j < V; j++) {
      const n = counts[i * V + j]!;
      if (!Number.isFinite(n) || n < 0) throw new RangeError(`${op}: counts[${i}, ${j}] = ${n}; counts must be finite and >= 0`);
      if (n > max) max = n;
      values.push({ i, j, bigram: vocab.itos(i) + vocab.itos(j), count: n });
    }
  }
  const cell = 38;
  // Dark cells get white text; the threshold is where the Blues scheme gets dark enough.
  const textColor = { condition: { test: `datum.count > ${0.5 * max}`, value: 'white' }, value: '#555555' };
  const xy = {
    x: { field: 'j', type: 'ordinal', axis: null },
    y: { field: 'i', type: 'ordinal', axis: null },
  } as const;
  const spec = {
    $schema: SCHEMA,
    title: {
      text: `Bigram counts N[first, second] (${V}×${V})`,
      subtitle: `row: first character, column: next character; '.' marks start and end · ${values.reduce((a, v) => a + v.count, 0)} bigrams`,
      subtitleFontSize: 12,
      subtitleColor: '#555555',
    },
    width: V * cell,
    height: V * cell,
    data: { values },
    encoding: xy,
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          color: {
            field: 'count',
            type: 'quantitative',
            // ColorBrewer Blues-9, the anchors of matplotlib's 'Blues' (vega's 'blues' starts darker, so zeros would not look empty).
            scale: { type: 'linear', domain: [0, max], range: BLUES9, interpolate: 'rgb' },
            legend: { title: 'count', orient: 'right', gradientLength: 300 },
          },
        },
      },
      {
        mark: { type: 'text', baseline: 'bottom', dy: -1, fontSize: 11 },
        encoding: { text: { field: 'bigram' }, color: textColor },
      },
      {
        mark: { type: 'text', baseline: 'top', dy: 1, fontSize: 10 },
        encoding: { text: { field: 'count', format: 'd' }, color: textColor },
      },
    ],
    config: baseConfig,
  };
  // Big vocabularies already give a big canvas; keep their PNG at 1x so it stays a sane size.
  return writeChart(spec as unknown as VegaLiteSpec, base, V > 40 ? 1 : 2);
}

export interface LossCurveOptions {
  /** Plot log10(loss), as the lectures do to make the tail readable. Default true. */
  log10?: boolean;
  title?: string;
  /** Overlay the mean of each consecutive block of this many steps (part 3's `view(-1, 1000).mean(1)`). */
  average?: number;
  /** At most this many points are drawn for the raw curve; longer runs keep each bucket's min and max. Default 4000. */
  maxPoints?: number;
}

/** Thin a long series to about `maxPoints` points, keeping each bucket's min and max so the noise band survives. */
function decimate(xs: number[], ys: number[], maxPoints: number): { x: number; y: number }[] {
  const n = xs.length;
  if (n <= maxPoints) return xs.map((x, i) => ({ x, y: ys[i]! }));
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const out: { x: number; y: number }[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo; i < hi; i++) {
      if (ys[i]! < ys[iMin]!) iMin = i;
      if (ys[i]! > ys[iMax]!) iMax = i;
    }
    for (const i of iMin <= iMax ? [iMin, iMax] : [iMax, iMin]) {
      if (out.length === 0 || out[out.length - 1]!.x !== xs[i]) out.push({ x: xs[i]!, y: ys[i]! });
    }
  }
  return out;
}

/** Training loss against step (`plt.plot(stepi, lossi)` with `lossi` holding log10 losses). */
export async function plotLossCurve(
  steps: ArrayLike<number>,
  losses: ArrayLike<number>,
  base: string,
  options: LossCurveOptions = {},
): Promise<WrittenChart> {
  const op = 'plotLossCurve';
  checkBase(op, base);
  checkSeries(op, 'steps', steps, 'losses', losses);
  const { log10 = true, title = 'Training loss', average, maxPoints = 4000 } = options;
  if (average !== undefined && (!Number.isInteger(average) || average < 1)) {
    throw new RangeError(`${op}: average must be an integer >= 1, got ${average}`);
  }
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new RangeError(`${op}: maxPoints must be an integer >= 2, got ${maxPoints}`);
  const xs = Array.from(steps);
  const ys = Array.from(losses, (l, i) => {
    if (!log10) return l;
    if (!(l > 0)) throw new RangeError(`${op}: losses[${i}] = ${l} at step ${xs[i]}; log10 needs losses > 0 (pass { log10: false })`);
    return Math.log10(l);
  });
  const yTitle = log10 ? 'log10(loss)' : 'loss';
  const layers: object[] = [
    {
      data: { values: decimate(xs, ys, maxPoints) },
      mark: { type: 'line', strokeWidth: 1, color: average ? '#9ecae1' : '#2171b5' },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'step', axis: { format: '~s' } },
        y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      },
    },
  ];
  if (average) {
    const means: { x: number; y: number }[] = [];
    for (let lo = 0; lo < ys.length; lo += average) {
      const hi = Math.min(ys.length, lo + average);
      let s = 0;
      for (let i = lo; i < hi; i++) s += ys[i]!;
      means.push({ x: xs[Math.floor((lo + hi - 1) / 2)]!, y: s / (hi - lo) });
    }
    layers.push({
      data: { values: means },
      mark: { type: 'line', strokeWidth: 2.5, color: '#08306b' },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
  }
  const spec = {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: average ? `${yTitle}, light: every step, dark: mean of each ${average} steps` : `${yTitle} per step`,
      subtitleFontSize: 12,
      subtitleColor: '#555555',
    },
    width: 760,
    height: 380,
    layer: layers,
    config: baseConfig,
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}

/**
 * The learning-rate finder of part 2: loss after the step taken with lr = 10^exponent, against the
 * exponent (`plt.plot(lri, lossi)`), with a running mean to show where the valley is.
 */
export async function plotLearningRateSweep(
  lrExponents: ArrayLike<number>,
  losses: ArrayLike<number>,
  base: string,
): Promise<WrittenChart> {
  const op = 'plotLearningRateSweep';
  checkBase(op, base);
  checkSeries(op, 'lrExponents', lrExponents, 'losses', losses);
  const values = Array.from(lrExponents, (e, i) => ({ exponent: e, loss: losses[i]! }));
  const half = Math.max(1, Math.round(values.length / 40));
  const x = { field: 'exponent', type: 'quantitative', title: 'learning-rate exponent (lr = 10^x)' };
  const y = { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } };
  const spec = {
    $schema: SCHEMA,
    title: {
      text: 'Learning-rate sweep',
      subtitle: `light: loss at each step, dark: running mean over ${2 * half + 1} steps`,
      subtitleFontSize: 12,
      subtitleColor: '#555555',
    },
    width: 760,
    height: 380,
    data: { values },
    layer: [
      { mark: { type: 'line', strokeWidth: 1, color: '#9ecae1' }, encoding: { x, y } },
      {
        transform: [
          { window: [{ op: 'mean', field: 'loss', as: 'smoothed' }], frame: [-half, half], sort: [{ field: 'exponent' }] },
        ],
        mark: { type: 'line', strokeWidth: 2.5, color: '#08306b' },
        encoding: { x, y: { ...y, field: 'smoothed' } },
      },
    ],
    config: baseConfig,
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}

export interface EmbeddingPoint {
  char: string;
  x: number;
  y: number;
}

/** The 2-D character embedding of part 2 (`plt.scatter(C[:,0], C[:,1], s=200)` with each character on its dot). */
export async function plotEmbedding2d(
  points: readonly EmbeddingPoint[],
  base: string,
  options: { title?: string } = {},
): Promise<WrittenChart> {
  const op = 'plotEmbedding2d';
  checkBase(op, base);
  if (!Array.isArray(points) || points.length === 0) throw new RangeError(`${op}: points must be a non-empty array of { char, x, y }`);
  points.forEach((p, i) => {
    if (p === null || typeof p !== 'object' || typeof p.char !== 'string') {
      throw new TypeError(`${op}: points[${i}] must be { char: string, x: number, y: number }`);
    }
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new RangeError(`${op}: points[${i}] ('${p.char}') has a non-finite coordinate (${p.x}, ${p.y})`);
    }
  });
  const values = points.map((p) => ({ char: p.char, x: p.x, y: p.y }));
  const x = { field: 'x', type: 'quantitative', title: 'C[:, 0]', scale: { zero: false, padding: 24 } };
  const y = { field: 'y', type: 'quantitative', title: 'C[:, 1]', scale: { zero: false, padding: 24 } };
  const spec = {
    $schema: SCHEMA,
    title: { text: options.title ?? 'Character embedding (2-D)' },
    width: 560,
    height: 560,
    data: { values },
    encoding: { x, y },
    layer: [
      { mark: { type: 'circle', size: 520, color: '#3182bd', opacity: 1 } },
      {
        mark: { type: 'text', color: 'white', fontSize: 14, fontWeight: 'bold', baseline: 'middle', align: 'center' },
        encoding: { text: { field: 'char' } },
      },
    ],
    config: { ...baseConfig, axis: { ...baseConfig.axis, grid: true } },
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}
