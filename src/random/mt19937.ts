/**
 * MT19937: the 32-bit Mersenne Twister of Matsumoto & Nishimura (1998).
 *
 * It is the engine under PyTorch's CPU generator, CPython's `random` module and
 * numpy's legacy `RandomState`; the three differ only in how they seed it and how
 * they turn its 32-bit words into numbers, so they all sit on this one class.
 *
 * The state is a Uint32Array regenerated 624 words at a time; each regeneration also tempers all
 * 624 outputs into a second array, so a draw is one bounds check and one load. Every 32-bit product
 * goes through Math.imul: drawing never allocates or touches BigInt.
 */

export const MT_N = 624;
const M = 397;
// Constants with the top bit set are written as signed int32 (`| 0`) so V8 keeps the twist and the
// tempering in 32-bit integer registers instead of converting through doubles.
const MATRIX_A = 0x9908b0df | 0;
const UPPER_MASK = 0x80000000 | 0;
const LOWER_MASK = 0x7fffffff;
const TEMPER_B = 0x9d2c5680 | 0;
const TEMPER_C = 0xefc60000 | 0;

/** Default seed of the reference implementation (and of C++'s std::mt19937). */
const DEFAULT_SEED = 5489;

/** MT19937's output function ("tempering") applied to one state word. */
function temper(y: number): number {
  y ^= y >>> 11;
  y ^= (y << 7) & TEMPER_B;
  y ^= (y << 15) & TEMPER_C;
  y ^= y >>> 18;
  return y >>> 0;
}

export class MT19937 {
  /** The 624-word state. */
  private readonly mt = new Uint32Array(MT_N);
  /** tempered[i] = temper(mt[i]), valid since the last regeneration or setState. */
  private readonly tempered = new Uint32Array(MT_N);
  /** Index of the next word to draw; MT_N means "regenerate before the next draw". */
  private mti = MT_N;

  constructor(seed: number = DEFAULT_SEED) {
    this.seed(seed);
  }

  /**
   * init_genrand: seeds from the low 32 bits of `s` (as torch does with
   * `seed & 0xffffffff` and numpy's legacy seeding does with a 32-bit int).
   */
  seed(s: number): void {
    if (typeof s !== 'number' || !Number.isInteger(s)) {
      throw new TypeError(`MT19937.seed: seed must be an integer, got ${String(s)}`);
    }
    // ToUint32 is the integer modulo 2^32 (two's complement for negatives), i.e. `seed & 0xffffffff`.
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < MT_N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.mti = MT_N;
  }

  /** init_by_array: seeds from a key of 32-bit words (CPython's int seeding, numpy's array seeding). */
  seedByArray(key: number[] | Uint32Array): void {
    const len = key.length;
    if (len === 0) throw new RangeError('MT19937.seedByArray: key must have at least one word');
    for (let i = 0; i < len; i++) {
      const w = key[i]!;
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new RangeError(`MT19937.seedByArray: key[${i}] = ${w} is not a 32-bit unsigned integer`);
      }
    }
    this.seed(19650218);
    const mt = this.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(MT_N, len); k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= MT_N) {
        mt[0] = mt[MT_N - 1]!;
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = MT_N - 1; k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= MT_N) {
        mt[0] = mt[MT_N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000; // MSB is 1, assuring a non-zero initial array
    this.mti = MT_N;
  }

  /** Regenerates all 624 words (the "twist"). */
  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    let y: number;
    for (; kk < MT_N - M; kk++) {
      y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
      mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; kk < MT_N - 1; kk++) {
      y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
      mt[kk] = mt[kk + (M - MT_N)]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    y = (mt[MT_N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
    mt[MT_N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    this.temperAll();
    this.mti = 0;
  }

  private temperAll(): void {
    const mt = this.mt;
    const t = this.tempered;
    for (let i = 0; i < MT_N; i++) t[i] = temper(mt[i]!);
  }

  /** The next 32-bit word, as a number in [0, 2^32). */
  nextU32(): number {
    if (this.mti >= MT_N) this.twist();
    return this.tempered[this.mti++]!;
  }

  /** Fills `out` with consecutive words; the same stream as calling nextU32 out.length times. */
  fillU32(out: Uint32Array): void {
    const n = out.length;
    let o = 0;
    while (o < n) {
      if (this.mti >= MT_N) this.twist();
      const take = Math.min(MT_N - this.mti, n - o);
      out.set(this.tempered.subarray(this.mti, this.mti + take), o);
      this.mti += take;
      o += take;
    }
  }

  /**
   * A copy of the raw state: the 624 words and the position of the next one to draw (624 =
   * regenerate first), i.e. CPython's `getstate()` internals and numpy's (key, pos).
   */
  getState(): { key: Uint32Array; pos: number } {
    return { key: Uint32Array.from(this.mt), pos: this.mti };
  }

  /** Restores a state from getState() or from CPython / numpy / PyTorch state words. */
  setState(key: ArrayLike<number>, pos: number): void {
    if (key.length !== MT_N) {
      throw new RangeError(`MT19937.setState: expected ${MT_N} state words, got ${key.length}`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos > MT_N) {
      throw new RangeError(`MT19937.setState: position must be an integer in [0, ${MT_N}], got ${pos}`);
    }
    for (let i = 0; i < MT_N; i++) {
      const w = key[i]!;
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new RangeError(`MT19937.setState: state word ${i} = ${w} is not a 32-bit unsigned integer`);
      }
    }
    this.mt.set(key);
    this.mti = pos;
    this.temperAll();
  }

  /** An independent copy that continues the same stream. */
  clone(): MT19937 {
    const c = new MT19937();
    c.mt.set(this.mt);
    c.tempered.set(this.tempered);
    c.mti = this.mti;
    return c;
  }
}
