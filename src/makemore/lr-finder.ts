// The learning-rate finder of makemore part 2: take one training step at each of a sweep of
// exponentially spaced learning rates (lr = 10^linspace(-3, 0, 1000)), record the loss of every
// step, and look for the valley before the loss blows up.
import { full, linspace } from '../tensor/creation.js';

export interface LrSweepOptions {
  /** Exponent of the first learning rate. Default -3 (lr 0.001). */
  start?: number;
  /** Exponent of the last learning rate. Default 0 (lr 1). */
  end?: number;
  /** Number of steps, one per learning rate. Default 1000. */
  steps?: number;
}

export interface LrSweep {
  /** `lre = torch.linspace(start, end, steps)` (float32), up to the last step taken. */
  exponents: Float32Array;
  /** `lrs = 10**lre` (float32). */
  lrs: Float32Array;
  /** The loss of the step taken with lrs[i]. */
  losses: Float64Array;
  /** The step whose loss was not finite, when the sweep stopped there (that step is not recorded). */
  divergedAt: number | null;
}

/**
 * Run `step(lr, i)` once per learning rate, in increasing order, with the model training as it goes
 * (the lecture's loop). `step` performs one update with that rate and returns its loss. The sweep
 * stops at the first non-finite loss: every later, larger rate would diverge too.
 */
export function learningRateSweep(step: (lr: number, i: number) => number, options: LrSweepOptions = {}): LrSweep {
  const op = 'learningRateSweep';
  const { start = -3, end = 0, steps = 1000 } = options;
  if (typeof step !== 'function') throw new TypeError(`${op}: expected a function (lr, i) => loss that takes one training step`);
  if (!Number.isFinite(start) || !Number.isFinite(end) || start >= end) {
    throw new RangeError(`${op}: need finite exponents with start < end, got start=${start}, end=${end}`);
  }
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`${op}: steps must be an integer >= 2, got ${String(steps)}`);
  const lre = linspace(start, end, steps);
  const exponents = lre.flat() as Float32Array;
  const lrs = full([steps], 10).pow(lre).flat() as Float32Array;
  const losses = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    const loss = step(lrs[i]!, i);
    if (typeof loss !== 'number') throw new TypeError(`${op}: step ${i} returned ${typeof loss}; it must return the loss as a number`);
    if (!Number.isFinite(loss)) {
      return { exponents: exponents.slice(0, i), lrs: lrs.slice(0, i), losses: losses.slice(0, i), divergedAt: i };
    }
    losses[i] = loss;
  }
  return { exponents, lrs, losses, divergedAt: null };
}

export interface LrSuggestion {
  /** Index into the sweep of the lowest smoothed loss. */
  index: number;
  exponent: number;
  lr: number;
  /** The centred running mean of the loss there. */
  smoothedLoss: number;
  /**
   * The valley: the contiguous run of exponents around `exponent` whose running-mean loss stays
   * within `tolerance` (default 10%) of the lowest one. Any rate in it trains about as well.
   */
  valley: { fromExponent: number; toExponent: number };
}

/**
 * The learning rate where a centred running mean of the sweep's losses is lowest. Minibatch losses
 * are noisy, so the raw minimum is mostly noise; `window` (odd, default 1/20 of the sweep) trades
 * noise for resolution. Because the model keeps training during the sweep, the valley sits a little
 * to the right of the best constant rate: treat the answer as "about this order of magnitude", as
 * the lecture does when it reads 0.1 off the plot.
 */
export function suggestLearningRate(sweep: LrSweep, options: { window?: number; tolerance?: number } = {}): LrSuggestion {
  const op = 'suggestLearningRate';
  const n = sweep?.losses?.length;
  if (!Number.isInteger(n) || n === 0 || sweep.exponents.length !== n || sweep.lrs.length !== n) {
    throw new RangeError(`${op}: expected a non-empty sweep from learningRateSweep`);
  }
  const window = options.window ?? Math.max(1, 2 * Math.floor(n / 40) + 1);
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`${op}: window must be an integer >= 1, got ${String(window)}`);
  const tolerance = options.tolerance ?? 0.1;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new RangeError(`${op}: tolerance must be a finite number >= 0, got ${String(tolerance)}`);
  const half = Math.floor(window / 2);
  const smoothed = new Float64Array(n);
  let best = -1;
  let bestLoss = Infinity;
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - half);
    const hi = Math.min(n, i + half + 1);
    let s = 0;
    for (let j = lo; j < hi; j++) s += sweep.losses[j]!;
    smoothed[i] = s / (hi - lo);
    if (smoothed[i]! < bestLoss) {
      bestLoss = smoothed[i]!;
      best = i;
    }
  }
  if (best < 0) throw new RangeError(`${op}: the sweep's losses are not finite numbers`);
  const limit = bestLoss + tolerance * Math.abs(bestLoss);
  let from = best;
  let to = best;
  while (from > 0 && smoothed[from - 1]! <= limit) from--;
  while (to < n - 1 && smoothed[to + 1]! <= limit) to++;
  return {
    index: best,
    exponent: sweep.exponents[best]!,
    lr: sweep.lrs[best]!,
    smoothedLoss: bestLoss,
    valley: { fromExponent: sweep.exponents[from]!, toExponent: sweep.exponents[to]! },
  };
}
