// Training diagnostics any model can use (makemore part 3, "activations, gradients, BatchNorm"):
// per-layer statistics and histograms of activations and their gradients, weight-gradient
// statistics, the update:data ratio over training, and the tanh saturation image. Numbers come
// from tensors the caller collects (a layer's output, its `.grad` after retainGrad(), a parameter
// and its `.grad`), so nothing here depends on how a model is built. Charts go through the
// Vega-Lite pipeline of render.ts and are written as <base>.svg and <base>.png.
import { Tensor } from '../tensor/tensor.js';
import { histogram } from '../ops/histogram.js';
import { writeChart, type VegaLiteSpec } from './render.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const FONT = 'DejaVu Sans';
/** matplotlib's default colour cycle (tab10), so the figures read like the notebook's. */
const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const baseConfig = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 12, titleFontSize: 13, gridColor: '#e4e4e4' },
  legend: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 16, anchor: 'start' as const, offset: 12 },
};

export interface WrittenDiagnostic {
  svg: string;
  png: string;
}

/** A tensor with the label it is shown under (e.g. `layer 2 (Tanh)` or `(30, 100)`). */
export interface LabelledTensor {
  label: string;
  tensor: Tensor;
}

function checkLabelled(op: string, entries: readonly LabelledTensor[]): void {
  if (!Array.isArray(entries) || entries.length === 0) throw new RangeError(`${op}: expected a non-empty array of { label, tensor }`);
  entries.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || typeof e.label !== 'string') throw new TypeError(`${op}: entry ${i} must be { label: string, tensor: Tensor }`);
    if (!(e.tensor instanceof Tensor)) {
      throw new TypeError(`${op}: entry ${i} ('${e.label}') has no tensor (${e.tensor === null ? 'null' : typeof e.tensor}); did backward() run and retainGrad() get called?`);
    }
    if (e.tensor.numel() < 2) throw new RangeError(`${op}: entry ${i} ('${e.label}') has ${e.tensor.numel()} element(s); statistics need at least 2`);
  });
}

function checkBase(op: string, base: string): void {
  if (typeof base !== 'string' || base.length === 0) {
    throw new TypeError(`${op}: base must be a non-empty path without extension (writes <base>.svg and <base>.png), got ${JSON.stringify(base)}`);
  }
}

/** torch compares a float32 tensor with a Python number in float32: `t > 0.97` tests against 0.97f. */
function dtypeThreshold(t: Tensor, threshold: number): number {
  return t.dtype === 'float32' ? Math.fround(threshold) : threshold;
}

// ---- statistics ---------------------------------------------------------------------------

export interface TensorStats {
  label: string;
  shape: number[];
  /** `t.mean()` (float32 as torch computes it, read with .item()). */
  mean: number;
  /** `t.std()`, unbiased, as torch's default. */
  std: number;
}

export interface ActivationStats extends TensorStats {
  /** Percentage of elements with |t| > threshold: `(t.abs() > 0.97).float().mean() * 100`. */
  saturated: number;
}

export interface WeightGradStats extends TensorStats {
  /** `p.grad.std() / p.std()`: how big the gradient is relative to the values it will change. */
  gradToData: number;
}

function meanStd(t: Tensor): { mean: number; std: number } {
  const d = t.detach();
  return { mean: d.mean().item(), std: d.std().item() };
}

/** Mean and (unbiased) std of each tensor. */
export function tensorStats(entries: readonly LabelledTensor[]): TensorStats[] {
  checkLabelled('tensorStats', entries);
  return entries.map(({ label, tensor }) => ({ label, shape: [...tensor.shape], ...meanStd(tensor) }));
}

/**
 * Mean, std and saturation of activations, e.g. the outputs of every tanh layer. The lecture uses
 * threshold 0.97 in its table (and 0.99 in its saturation image).
 */
export function activationStats(entries: readonly LabelledTensor[], options: { threshold?: number } = {}): ActivationStats[] {
  const op = 'activationStats';
  checkLabelled(op, entries);
  const threshold = options.threshold ?? 0.97;
  if (!(threshold >= 0) || !Number.isFinite(threshold)) throw new RangeError(`${op}: threshold must be a finite number >= 0, got ${threshold}`);
  return entries.map(({ label, tensor }) => {
    const d = tensor.detach().contiguous().flat();
    const thr = dtypeThreshold(tensor, threshold);
    let n = 0;
    for (let i = 0; i < d.length; i++) if (Math.abs(d[i]!) > thr) n++;
    return { label, shape: [...tensor.shape], ...meanStd(tensor), saturated: (100 * n) / d.length };
  });
}

/**
 * Statistics of each parameter's gradient: mean, std, and the grad:data ratio `grad.std() / p.std()`.
 * `params` are the parameters themselves (their `.grad` is read); a parameter without a gradient is an error.
 */
export function weightGradStats(params: readonly LabelledTensor[]): WeightGradStats[] {
  const op = 'weightGradStats';
  checkLabelled(op, params);
  return params.map(({ label, tensor: p }) => {
    if (!(p.grad instanceof Tensor)) throw new Error(`${op}: '${label}' has no gradient (run backward() first)`);
    const g = meanStd(p.grad);
    return { label, shape: [...p.shape], ...g, gradToData: g.std / p.detach().std().item() };
  });
}

// ---- printf-style formatting, as the notebook's tables print -------------------------------

/** Python's `'%+.{digits}f' % x`. */
export function formatSigned(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return s.startsWith('-') ? s : Object.is(x, -0) ? `-${s}` : `+${s}`;
}

/** Python's `'%.{digits}e' % x` (the exponent has at least two digits: 2.640702e-03). */
export function formatExp(x: number, digits = 6): string {
  if (!Number.isFinite(x)) return String(x).toLowerCase().replace('infinity', 'inf');
  const [m, e] = x.toExponential(digits).split('e') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  return `${m}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
}

/** A shape as Python prints a tuple: (27, 10), (100,). */
export function formatTupleShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

// ---- histograms -----------------------------------------------------------------------------

export interface DistributionSeries {
  label: string;
  /** Left bin edges (`hx[:-1]`, as the lecture plots them). */
  x: Float64Array;
  /** Densities (`torch.histogram(t, density=True)`). */
  y: Float64Array;
}

/** `hy, hx = torch.histogram(t, bins, density=True)` for each tensor. Default 100 bins, as torch. */
export function distributions(entries: readonly LabelledTensor[], options: { bins?: number } = {}): DistributionSeries[] {
  checkLabelled('distributions', entries);
  return entries.map(({ label, tensor }) => {
    const { hist, binEdges } = histogram(tensor.detach(), { bins: options.bins ?? 100, density: true });
    return { label, x: binEdges.slice(0, -1), y: hist };
  });
}

export interface DistributionPlotOptions {
  title?: string;
  xTitle?: string;
  bins?: number;
  /** One line per entry, in the legend as `legends` would list them. */
  subtitle?: string;
}

/**
 * The notebook's histogram figures (`plt.figure(figsize=(20, 4))`, one `plt.plot(hx[:-1], hy)`
 * per tensor with a legend): activation distributions, gradient distributions, weight-gradient
 * distributions.
 */
export async function plotDistributions(
  entries: readonly LabelledTensor[],
  base: string,
  options: DistributionPlotOptions = {},
): Promise<WrittenDiagnostic> {
  const op = 'plotDistributions';
  checkBase(op, base);
  const series = distributions(entries, { bins: options.bins });
  const values: { series: string; order: number; x: number; density: number }[] = [];
  series.forEach((s, k) => {
    for (let i = 0; i < s.x.length; i++) values.push({ series: s.label, order: k, x: s.x[i]!, density: s.y[i]! });
  });
  const labels = series.map((s) => s.label);
  const spec = {
    $schema: SCHEMA,
    title: { text: options.title ?? 'distribution', ...(options.subtitle ? { subtitle: options.subtitle, subtitleFontSize: 12, subtitleColor: '#555555' } : {}) },
    width: 1100,
    height: 240,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle ?? 'value', axis: { format: '~g' } },
      y: { field: 'density', type: 'quantitative', title: 'density' },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: labels, range: TAB10 }, sort: labels },
      detail: { field: 'order', type: 'ordinal' },
    },
    config: baseConfig,
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}

// ---- update:data ratio ----------------------------------------------------------------------

/**
 * The lecture's `ud`: after every update, per parameter, `log10((lr * p.grad).std() / p.data.std())`.
 * About -3 (an update changes a weight by ~1/1000 of its spread) is the rule of thumb; far below
 * trains slowly, far above is unstable.
 */
export class UpdateRatioTracker {
  readonly labels: readonly string[];
  private readonly params: readonly Tensor[];
  /** One row per `record` call, one column per parameter. */
  readonly history: number[][] = [];

  constructor(params: readonly LabelledTensor[]) {
    checkLabelled('UpdateRatioTracker', params);
    this.labels = params.map((p) => p.label);
    this.params = params.map((p) => p.tensor);
  }

  /** Record one step (call it after the update, with that step's lr); returns the row. */
  record(lr: number): number[] {
    if (typeof lr !== 'number' || !Number.isFinite(lr)) throw new RangeError(`UpdateRatioTracker.record: lr must be a finite number, got ${String(lr)}`);
    const row = this.params.map((p, k) => {
      if (!(p.grad instanceof Tensor)) throw new Error(`UpdateRatioTracker.record: '${this.labels[k]}' has no gradient (record after backward() and the update)`);
      return Math.log10(p.grad.detach().mul(lr).std().item() / p.detach().std().item());
    });
    this.history.push(row);
    return row;
  }

  /** Column k over time. */
  series(k: number): Float64Array {
    if (!Number.isInteger(k) || k < 0 || k >= this.labels.length) throw new RangeError(`UpdateRatioTracker.series: parameter ${k} out of range 0..${this.labels.length - 1}`);
    return Float64Array.from(this.history, (row) => row[k]!);
  }
}

/**
 * The update:data plot: one line per tracked parameter over the steps, and the black guide line at
 * log10 = -3. `only` picks columns (the lecture shows the 2-D weights only).
 */
export async function plotUpdateRatios(
  tracker: UpdateRatioTracker,
  base: string,
  options: { title?: string; only?: readonly number[]; guide?: number } = {},
): Promise<WrittenDiagnostic> {
  const op = 'plotUpdateRatios';
  checkBase(op, base);
  if (tracker.history.length === 0) throw new RangeError(`${op}: nothing recorded yet (call tracker.record(lr) after each update)`);
  const cols = options.only ?? tracker.labels.map((_, k) => k);
  if (cols.length === 0) throw new RangeError(`${op}: 'only' selects no parameter`);
  const guide = options.guide ?? -3;
  const values: { series: string; step: number; ratio: number }[] = [];
  for (const k of cols) {
    const s = tracker.series(k);
    for (let i = 0; i < s.length; i++) if (Number.isFinite(s[i])) values.push({ series: tracker.labels[k]!, step: i, ratio: s[i]! });
  }
  const labels = cols.map((k) => tracker.labels[k]!);
  const steps = tracker.history.length;
  const spec = {
    $schema: SCHEMA,
    title: {
      text: options.title ?? 'update:data ratio',
      subtitle: `log10(std(lr·grad) / std(data)) per step; black line: ${guide} (updates ~1/1000 of the data)`,
      subtitleFontSize: 12,
      subtitleColor: '#555555',
    },
    width: 1100,
    height: 240,
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'step', scale: { nice: false } },
          y: { field: 'ratio', type: 'quantitative', title: 'log10 update:data', scale: { zero: false } },
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: labels, range: TAB10 }, sort: labels },
        },
      },
      {
        data: { values: [{ step: 0, ratio: guide }, { step: steps, ratio: guide }] },
        mark: { type: 'line', color: 'black', strokeWidth: 1.5 },
        encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'ratio', type: 'quantitative' } },
      },
    ],
    config: baseConfig,
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}

// ---- saturation image -----------------------------------------------------------------------

export interface SaturationMask {
  rows: number;
  cols: number;
  /** 1 where |t| > threshold, row-major. */
  mask: Uint8Array;
  /** Percentage of saturated elements. */
  saturated: number;
  /** Columns (neurons) saturated in every row: dead neurons, that no example will ever train. */
  deadColumns: number[];
}

/** `h.abs() > threshold` for a 2-D activation [examples, neurons]. */
export function saturationMask(t: Tensor, threshold = 0.99): SaturationMask {
  const op = 'saturationMask';
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a 2-D tensor [examples, neurons]`);
  if (t.ndim !== 2) throw new RangeError(`${op}: expected a 2-D tensor [examples, neurons], got shape [${t.shape.join(', ')}]`);
  if (!(threshold >= 0) || !Number.isFinite(threshold)) throw new RangeError(`${op}: threshold must be a finite number >= 0, got ${threshold}`);
  const [rows, cols] = t.shape as [number, number];
  const d = t.detach().contiguous().flat();
  const thr = dtypeThreshold(t, threshold);
  const mask = new Uint8Array(rows * cols);
  let n = 0;
  for (let i = 0; i < d.length; i++) {
    if (Math.abs(d[i]!) > thr) {
      mask[i] = 1;
      n++;
    }
  }
  const deadColumns: number[] = [];
  for (let c = 0; c < cols && rows > 0; c++) {
    let all = true;
    for (let r = 0; r < rows && all; r++) all = mask[r * cols + c] === 1;
    if (all) deadColumns.push(c);
  }
  return { rows, cols, mask, saturated: rows * cols === 0 ? 0 : (100 * n) / (rows * cols), deadColumns };
}

/**
 * The lecture's `plt.imshow(h.abs() > 0.99, cmap='gray', interpolation='nearest')`: white where a
 * tanh unit is saturated (its local gradient 1 - t² is ~0), black elsewhere. Rows are examples,
 * columns neurons; a white column is a dead neuron. Runs of white cells in a row are drawn as one
 * rectangle, so the SVG stays small.
 */
export async function plotSaturation(
  t: Tensor,
  base: string,
  options: { threshold?: number; title?: string; cell?: number } = {},
): Promise<WrittenDiagnostic & SaturationMask> {
  const op = 'plotSaturation';
  checkBase(op, base);
  const threshold = options.threshold ?? 0.99;
  const m = saturationMask(t, threshold);
  const cell = options.cell ?? 5;
  const runs: { r: number; c0: number; c1: number }[] = [];
  for (let r = 0; r < m.rows; r++) {
    let c = 0;
    while (c < m.cols) {
      if (m.mask[r * m.cols + c] === 0) {
        c++;
        continue;
      }
      const c0 = c;
      while (c < m.cols && m.mask[r * m.cols + c] === 1) c++;
      runs.push({ r, c0, c1: c });
    }
  }
  const x = { field: 'c0', type: 'quantitative', scale: { domain: [0, m.cols], nice: false, zero: true }, title: `neuron (${m.cols})`, axis: { tickCount: 10 } };
  const y = { field: 'r', type: 'quantitative', scale: { domain: [0, m.rows], nice: false, reverse: true }, title: `example (${m.rows})` };
  const spec = {
    $schema: SCHEMA,
    title: {
      text: options.title ?? `|t| > ${threshold}`,
      subtitle: `white: saturated (${m.saturated.toFixed(2)}% of ${m.rows}×${m.cols}); columns white in every row: ${m.deadColumns.length}`,
      subtitleFontSize: 12,
      subtitleColor: '#555555',
    },
    width: m.cols * cell,
    height: m.rows * cell,
    layer: [
      {
        data: { values: [{ c0: 0, c1: m.cols, r: 0, r1: m.rows }] },
        mark: { type: 'rect', color: 'black' },
        encoding: { x, x2: { field: 'c1' }, y, y2: { field: 'r1' } },
      },
      {
        data: { values: runs.map((v) => ({ ...v, r1: v.r + 1 })) },
        mark: { type: 'rect', color: 'white' },
        encoding: { x, x2: { field: 'c1' }, y, y2: { field: 'r1' } },
      },
    ],
    config: { ...baseConfig, axis: { ...baseConfig.axis, grid: false } },
  };
  const files = await writeChart(spec as unknown as VegaLiteSpec, base);
  return { ...files, ...m };
}
