// Two interleaving half circles: a port of scikit-learn's `make_moons` that draws from a numpy
// legacy RandomState in the same order, so `makeMoons(100, 0.1, new NumpyRandomState(1337))`
// gives the very points of micrograd's demo (np.random.seed(1337); make_moons(100, noise=0.1)).

import type { NumpyRandomState } from '../random/numpy.js';

export interface Moons {
  /** Points as [x, y] rows. */
  X: [number, number][];
  /** Class of each row: 0 for the upper (outer) moon, 1 for the lower (inner) one. */
  y: number[];
}

/** numpy.linspace(start, stop, num) with endpoint=True, computed as numpy does (arange * step + start). */
export function linspace(start: number, stop: number, num: number): number[] {
  const out = new Array<number>(num);
  const div = num - 1;
  const delta = stop - start;
  const step = div > 0 ? delta / div : NaN;
  for (let i = 0; i < num; i++) {
    // numpy multiplies by delta when there is no step (num == 1) and divides first when step underflows.
    const t = div <= 0 ? i * delta : step === 0 ? (i / div) * delta : i * step;
    out[i] = t + start;
  }
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * sklearn.datasets.make_moons(nSamples, shuffle=True, noise) with `rs` as its random_state.
 * The outer moon gets floor(n/2) points, the inner one the rest; rows are shuffled with
 * `rs.shuffle` (sklearn.utils.shuffle), then Gaussian noise of std `noise` is added row by row.
 * `noise: null` adds none and draws nothing (sklearn's noise=None).
 */
export function makeMoons(nSamples: number, noise: number | null, rs: NumpyRandomState): Moons {
  if (!Number.isInteger(nSamples) || nSamples < 0) {
    throw new RangeError(`makeMoons: nSamples must be a non-negative integer, got ${String(nSamples)}`);
  }
  if (noise !== null && (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0)) {
    throw new RangeError(`makeMoons: noise must be a finite number >= 0 or null, got ${String(noise)}`);
  }
  if (rs === null || typeof rs !== 'object' || typeof rs.shuffle !== 'function') {
    throw new TypeError('makeMoons: rs must be a NumpyRandomState');
  }
  const nOut = Math.floor(nSamples / 2);
  const nIn = nSamples - nOut;
  const tOut = linspace(0, Math.PI, nOut);
  const tIn = linspace(0, Math.PI, nIn);

  const X: [number, number][] = [];
  const y: number[] = [];
  for (const t of tOut) {
    X.push([Math.cos(t), Math.sin(t)]);
    y.push(0);
  }
  for (const t of tIn) {
    X.push([1 - Math.cos(t), 1 - Math.sin(t) - 0.5]);
    y.push(1);
  }

  const idx = new Int32Array(nSamples);
  for (let i = 0; i < nSamples; i++) idx[i] = i;
  rs.shuffle(idx);
  const Xs = Array.from(idx, (i) => X[i]!);
  const ys = Array.from(idx, (i) => y[i]!);

  if (noise !== null) {
    const z = rs.normal(0, noise, nSamples * 2);
    for (let i = 0; i < nSamples; i++) {
      const row = Xs[i]!;
      Xs[i] = [row[0] + z[2 * i]!, row[1] + z[2 * i + 1]!];
    }
  }
  return { X: Xs, y: ys };
}
