/**
 * numpy's legacy `np.random.RandomState` (the global `np.random.*` functions), bit-compatible for
 * the samplers ported here: the same seed gives the same `random_sample`, `standard_normal`,
 * `normal`, `uniform`, `permutation`, `shuffle` and `randint` values as numpy.
 *
 * Seeding is MT19937 `init_genrand` for an integer seed in [0, 2^32) and `init_by_array` for a list
 * of words. Doubles take 27 + 26 bits from two words (as CPython). Normals use the legacy polar
 * (Marsaglia) method, caching the second value. Bounded integers use the masked rejection method:
 * draw a word, AND it with the smallest all-ones mask covering the range, retry while too large.
 * micrograd's demo draws its data with this generator (sklearn's make_moons on the global state).
 */

import { crLog } from './crmath.js';
import { MT19937, MT_N } from './mt19937.js';

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** numpy's `RandomState.get_state()` tuple as an object. */
export interface NumpyRandomStateState {
  bitGenerator: 'MT19937';
  key: Uint32Array;
  pos: number;
  hasGauss: boolean;
  cachedGaussian: number;
}

function checkSize(op: string, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`${op}: size must be a non-negative integer, got ${String(size)}`);
  }
}

/** The smallest mask 2^k - 1 that is >= max (max < 2^32). */
function maskFor(max: number): number {
  let m = max >>> 0;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m >>> 0;
}

export class NumpyRandomState {
  private readonly mt = new MT19937();
  private hasGauss = false;
  private gaussValue = 0;

  /** `np.random.RandomState(seed)`: an integer in [0, 2^32), or a non-empty list of such words. */
  constructor(seed: number | number[]) {
    this.seed(seed);
  }

  /** `RandomState.seed(seed)`; also clears the cached normal. */
  seed(s: number | number[]): void {
    if (Array.isArray(s)) {
      if (s.length === 0) throw new RangeError('RandomState.seed: seed must be non-empty');
      for (const w of s) {
        if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
          throw new RangeError(`RandomState.seed: seed must be between 0 and 2**32 - 1, got ${String(w)}`);
        }
      }
      this.mt.seedByArray(s);
    } else {
      if (typeof s !== 'number' || !Number.isInteger(s)) {
        throw new TypeError(`RandomState.seed: seed must be an integer, got ${String(s)}`);
      }
      if (s < 0 || s > 0xffffffff) {
        throw new RangeError(`RandomState.seed: seed must be between 0 and 2**32 - 1, got ${s}`);
      }
      this.mt.seed(s);
    }
    this.hasGauss = false;
    this.gaussValue = 0;
  }

  /** `random_sample()`: a 53-bit double in [0, 1). */
  randomSample(): number {
    const a = this.mt.nextU32() >>> 5;
    const b = this.mt.nextU32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** `standard_normal()`: the legacy polar method; each pair yields two values, the second cached. */
  standardNormal(): number {
    if (this.hasGauss) {
      const v = this.gaussValue;
      this.hasGauss = false;
      this.gaussValue = 0;
      return v;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2.0 * this.randomSample() - 1.0;
      x2 = 2.0 * this.randomSample() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    // crLog matches the C library's log; V8's Math.log differs in the last bit for ~7% of inputs.
    const f = Math.sqrt((-2.0 * crLog(r2)) / r2);
    this.gaussValue = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** `normal(loc, scale, size)`: loc + scale * standard_normal(), element by element. */
  normal(loc: number, scale: number, size: number): Float64Array {
    if (!Number.isFinite(loc)) throw new RangeError(`normal: loc must be finite, got ${loc}`);
    if (!Number.isFinite(scale)) throw new RangeError(`normal: scale must be finite, got ${scale}`);
    if (scale < 0) throw new RangeError(`normal: scale < 0 (got ${scale})`);
    checkSize('normal', size);
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = loc + scale * this.standardNormal();
    return out;
  }

  /** `standard_normal(size)` / `randn(size)`. */
  randn(size: number): Float64Array {
    return this.normal(0, 1, size);
  }

  /** `random_sample(size)` / `rand(size)`. */
  rand(size: number): Float64Array {
    checkSize('rand', size);
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = this.randomSample();
    return out;
  }

  /** `uniform(low, high, size)`: low + (high - low) * random_sample(); as in numpy, low > high is allowed. */
  uniform(low: number, high: number, size: number): Float64Array {
    const range = high - low;
    if (!Number.isFinite(range)) {
      throw new RangeError(`uniform: range exceeds valid bounds (low=${low}, high=${high})`);
    }
    checkSize('uniform', size);
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = low + range * this.randomSample();
    return out;
  }

  /** numpy's random_interval(max): uniform on [0, max] by masked rejection (max < 2^32). */
  private interval(max: number): number {
    if (max === 0) return 0;
    const mask = maskFor(max);
    let v: number;
    do {
      v = (this.mt.nextU32() & mask) >>> 0;
    } while (v > max);
    return v;
  }

  /** `shuffle(x)` in place: for i from n-1 down to 1, swap x[i] with x[random_interval(i)]. */
  shuffle<T>(arr: T[] | Int32Array | Float64Array): void {
    const a = arr as T[];
    if (a.length > 0xffffffff) throw new RangeError('shuffle: sequence too long');
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }

  /** `permutation(n)`: arange(n) shuffled. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
      throw new RangeError(`permutation: n must be an integer in [0, 2^31), got ${String(n)}`);
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffle(out);
    return out;
  }

  /** `randint(low, high, size)`: integers in [low, high) by masked rejection sampling. */
  randint(low: number, high: number, size: number): Int32Array {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) {
      throw new TypeError(`randint: low and high must be integers, got low=${low}, high=${high}`);
    }
    if (low >= high) throw new RangeError(`randint: low >= high (low=${low}, high=${high})`);
    if (low < -2147483648 || high - 1 > 2147483647) {
      throw new RangeError(`randint: range [${low}, ${high}) does not fit an Int32Array output`);
    }
    checkSize('randint', size);
    const rng = high - 1 - low; // closed range, < 2^32
    const out = new Int32Array(size);
    if (rng === 0) {
      out.fill(low);
    } else if (rng === 0xffffffff) {
      for (let i = 0; i < size; i++) out[i] = low + this.mt.nextU32();
    } else {
      const mask = maskFor(rng);
      for (let i = 0; i < size; i++) {
        let v: number;
        do {
          v = (this.mt.nextU32() & mask) >>> 0;
        } while (v > rng);
        out[i] = low + v;
      }
    }
    return out;
  }

  /** `get_state()`. */
  getState(): NumpyRandomStateState {
    const { key, pos } = this.mt.getState();
    return {
      bitGenerator: 'MT19937',
      key,
      pos,
      hasGauss: this.hasGauss,
      cachedGaussian: this.gaussValue,
    };
  }

  /** `set_state(state)`. */
  setState(state: NumpyRandomStateState): void {
    if (state?.bitGenerator !== 'MT19937' || !(state.key instanceof Uint32Array) || state.key.length !== MT_N) {
      throw new RangeError(`setState: expected an MT19937 state with a ${MT_N}-word Uint32Array key`);
    }
    if (!Number.isInteger(state.pos) || state.pos < 0 || state.pos > MT_N) {
      throw new RangeError(`setState: pos must be an integer in [0, ${MT_N}], got ${state.pos}`);
    }
    this.mt.setState(state.key, state.pos);
    this.hasGauss = Boolean(state.hasGauss);
    this.gaussValue = this.hasGauss ? state.cachedGaussian : 0;
  }
}
