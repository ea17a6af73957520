// torch.histogram for diagnostics (activation and gradient distributions in makemore part 3).
import type { Tensor } from '../tensor/tensor.js';

export interface HistogramOptions {
  bins?: number; // default 100
  range?: [number, number]; // default [min, max] of the data
  density?: boolean; // normalise so that the area is 1
}

export interface Histogram {
  hist: Float64Array; // counts (or densities)
  binEdges: Float64Array; // bins + 1 edges
}

export function histogram(t: Tensor, opts: HistogramOptions = {}): Histogram {
  const bins = opts.bins ?? 100;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  const data = t.contiguous().flat();
  let lo: number;
  let hi: number;
  if (opts.range) {
    [lo, hi] = opts.range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
      throw new Error(`histogram: range must be finite with min <= max, got [${lo}, ${hi}]`);
    }
  } else {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (Number.isNaN(v)) throw new Error(`histogram: input contains NaN at element ${i}`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (data.length === 0) [lo, hi] = [0, 1];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error(`histogram: input range [${lo}, ${hi}] is not finite`);
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const binEdges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) binEdges[i] = lo + i * width;
  const hist = new Float64Array(bins);
  let counted = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= lo && v <= hi)) continue; // outside the range (or NaN with an explicit range)
    // The last bin is closed on the right, as in torch/numpy.
    const b = v === hi ? bins - 1 : Math.min(Math.floor((v - lo) / width), bins - 1);
    hist[b]++;
    counted++;
  }
  if (opts.density) {
    const norm = counted * width;
    for (let i = 0; i < bins; i++) hist[i] = norm > 0 ? hist[i] / norm : 0;
  }
  return { hist, binEdges };
}
