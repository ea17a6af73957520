// torch.histogram for diagnostics (activation and gradient distributions in makemore part 3).
//
// As torch.histogram, the bin edges are computed in the input's dtype (float32 edges for a float32
// tensor: PyTorch's linspace, first half from the left edge, second half from the right, each
// edge one fused multiply-add), and each value goes to the bin whose float32 edges enclose it. So
// a value lying exactly on an edge lands in the same bin as in PyTorch; edges computed in float64
// put about half the values of a 0.1 grid one bin off. float64 inputs get float64 edges from an
// emulated float64 fused multiply-add.
import type { Tensor } from '../tensor/tensor.js';
import { fmaf } from '../random/generator.js';

export interface HistogramOptions {
  bins?: number; // default 100
  range?: [number, number]; // default [min, max] of the data
  density?: boolean; // normalise so that the area is 1
}

export interface Histogram {
  hist: Float64Array; // counts (or densities), values of the input's dtype
  binEdges: Float64Array; // bins + 1 edges, values of the input's dtype
}

/** a·b + c with one rounding in float64 (JavaScript has no fma): the product split exactly into
 *  two doubles (Dekker), the sum's error carried (Knuth's TwoSum). Correctly rounded except in
 *  rare double-rounding ties. */
function fma64(a: number, b: number, c: number): number {
  const split = (x: number): [number, number] => {
    const t = 134217729 * x; // 2^27 + 1
    const hi = t - (t - x);
    return [hi, x - hi];
  };
  const p = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const pErr = ah * bh - p + ah * bl + al * bh + al * bl;
  const s = p + c;
  const bv = s - p;
  const sErr = p - (s - bv) + (c - bv);
  return s + (sErr + pErr);
}

/** linspace(lo, hi, bins + 1) as PyTorch computes it in float32 or float64. */
function binEdgesOf(lo: number, hi: number, bins: number, f32: boolean): Float64Array {
  const steps = bins + 1;
  const edges = new Float64Array(steps);
  const half = Math.floor(steps / 2);
  if (f32) {
    const step = Math.fround(Math.fround(hi - lo) / bins);
    for (let i = 0; i < steps; i++) edges[i] = i < half ? fmaf(step, i, lo) : fmaf(-step, steps - i - 1, hi);
  } else {
    const step = (hi - lo) / bins;
    for (let i = 0; i < steps; i++) edges[i] = i < half ? fma64(step, i, lo) : fma64(-step, steps - i - 1, hi);
  }
  return edges;
}

export function histogram(t: Tensor, opts: HistogramOptions = {}): Histogram {
  const bins = opts.bins ?? 100;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  const data = t.contiguous().flat();
  // float32 unless the input is float64 (PyTorch refuses integer inputs; they convert exactly here).
  const f32 = t.dtype !== 'float64';
  const round = f32 ? Math.fround : (v: number): number => v;
  let lo: number;
  let hi: number;
  if (opts.range) {
    [lo, hi] = opts.range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
      throw new Error(`histogram: range must be finite with min <= max, got [${lo}, ${hi}]`);
    }
    lo = round(lo);
    hi = round(hi);
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
    lo = round(lo - 0.5);
    hi = round(hi + 0.5);
  }
  const binEdges = binEdgesOf(lo, hi, bins, f32);
  const left = binEdges[0];
  const right = binEdges[bins];
  const span = round(right - left);
  const hist = new Float64Array(bins);
  let counted = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= left && v <= right)) continue; // outside the range (or NaN with an explicit range)
    // A first guess by division, then the edges decide: the bin b with edges[b] <= v < edges[b + 1].
    let b = Math.min(Math.max(Math.trunc(round(round(round(v - left) * bins) / span)), 0), bins - 1);
    while (b > 0 && v < binEdges[b]) b--;
    while (b < bins - 1 && v >= binEdges[b + 1]) b++;
    hist[b]++; // the last bin is closed on the right, as in torch/numpy
    counted++;
  }
  if (opts.density) {
    // hist / total / width, each step rounded to the dtype as PyTorch's in-place divisions are.
    for (let i = 0; i < bins; i++) {
      const width = round(binEdges[i + 1] - binEdges[i]);
      hist[i] = counted > 0 ? round(round(hist[i] / counted) / width) : 0;
    }
  }
  return { hist, binEdges };
}
