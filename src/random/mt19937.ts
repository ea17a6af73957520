/**
 * MT19937: the 32-bit Mersenne Twister of Matsumoto & Nishimura (1998).
 *
 * It is the engine under PyTorch's CPU generator, CPython's `random` module and
 * numpy's legacy `RandomState`; the three differ only in how they seed it and how
 * they turn its 32-bit words into numbers, so they all sit on this one class.
 *
 * The state is a Uint32Array regenerated 624 words at a time, and every 32-bit
 * product goes through Math.imul, so drawing never allocates or touches BigInt.
 */

export const MT_N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Default seed of the reference implementation (and of C++'s std::mt19937). */
const DEFAULT_SEED = 5489;

export class MT19937 {
  /** The 624-word state. Exposed for state save/restore by the generators built on it. */
  readonly mt = new Uint32Array(MT_N);
  /** Index of the next word to temper; MT_N means "regenerate before the next draw". */
  mti = MT_N;

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
      mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < MT_N - 1; kk++) {
      y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
      mt[kk] = mt[kk + (M - MT_N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (mt[MT_N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
    mt[MT_N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.mti = 0;
  }

  /** The next 32-bit word, as a number in [0, 2^32). */
  nextU32(): number {
    if (this.mti >= MT_N) this.twist();
    let y = this.mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Fills `out` with consecutive words; the same stream as calling nextU32 out.length times. */
  fillU32(out: Uint32Array): void {
    const mt = this.mt;
    const n = out.length;
    let o = 0;
    while (o < n) {
      if (this.mti >= MT_N) this.twist();
      let i = this.mti;
      const end = Math.min(MT_N, i + (n - o));
      for (; i < end; i++) {
        let y = mt[i]!;
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        out[o++] = y;
      }
      this.mti = end;
    }
  }

  /** An independent copy that continues the same stream. */
  clone(): MT19937 {
    const c = new MT19937();
    c.mt.set(this.mt);
    c.mti = this.mti;
    return c;
  }

  /** Copies another engine's full state into this one. */
  copyFrom(other: MT19937): void {
    this.mt.set(other.mt);
    this.mti = other.mti;
  }
}
