/**
 * CPython's `random.Random`, bit-compatible: the same seed gives the same `random()`, `shuffle`,
 * `randrange`, `choice`, `uniform` and `gauss` results as Python 3 (the algorithms of
 * Modules/_randommodule.c and Lib/random.py). The lectures need it for `random.seed(42);
 * random.shuffle(words)` (the train/dev/test split) and micrograd's `random.uniform(-1, 1)` weights.
 *
 * Integers up to 2^53 are plain numbers; `getrandbits` returns a bigint above 53 bits.
 */

import { createHash, getRandomValues } from 'node:crypto';
import { crCos, crLog, crSin } from './crmath.js';
import { MT19937, MT_N } from './mt19937.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;
const TWO_PI = 2 * Math.PI;

/** Python's `Random.getstate()`: version 3, the 624 state words plus the index, and gauss_next. */
export interface PyRandomState {
  version: 3;
  /** 625 integers: mt[0..623] and then the position (0..624), as in Python's tuple. */
  internalstate: number[];
  gaussNext: number | null;
}

/** The 32-bit words of |n|, least significant first (CPython's int seeding key); [0] for 0. */
function intToKey(n: bigint): number[] {
  let a = n < 0n ? -n : n;
  const key: number[] = [];
  while (a > 0n) {
    key.push(Number(a & 0xffffffffn));
    a >>= 32n;
  }
  return key.length === 0 ? [0] : key;
}

/** Number of bits in a non-negative safe integer (Python's int.bit_length()). */
function bitLength(n: number): number {
  if (n < TWO_POW_32) return 32 - Math.clz32(n);
  return 64 - Math.clz32(Math.floor(n / TWO_POW_32));
}

function requireInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TypeError(`${op}: ${name} must be an integer within ±2^53, got ${String(v)}`);
  }
  return v;
}

/** Floor division on safe integers (Python's //), exact even where a / b would round. */
function floorDiv(a: number, b: number): number {
  return Number(((BigInt(a) - ((BigInt(a) % BigInt(b)) + BigInt(b)) % BigInt(b)) / BigInt(b)));
}

export class PyRandom {
  private readonly mt = new MT19937();
  private gaussNext: number | null = null;

  /** Seeded like `random.Random(seed)`; without a seed, from OS entropy as Python does. */
  constructor(seed?: number | bigint | string) {
    this.seed(seed);
  }

  /**
   * `random.seed(s)`. Integers (number or bigint) seed init_by_array with the 32-bit words of |s|;
   * strings use Python's version-2 string seeding (the text's UTF-8 bytes followed by their
   * SHA-512). With no argument the seed comes from OS entropy.
   */
  seed(s?: number | bigint | string | null): void {
    this.gaussNext = null;
    if (s === undefined || s === null) {
      // CPython reads 624 words from urandom and uses them all as the key.
      this.mt.seedByArray(getRandomValues(new Uint32Array(MT_N)));
      return;
    }
    if (typeof s === 'string') {
      const bytes = Buffer.from(s, 'utf8');
      const all = Buffer.concat([bytes, createHash('sha512').update(bytes).digest()]);
      this.mt.seedByArray(intToKey(BigInt('0x' + (all.length ? all.toString('hex') : '0'))));
      return;
    }
    let n: bigint;
    if (typeof s === 'bigint') n = s;
    else if (typeof s === 'number' && Number.isInteger(s)) n = BigInt(s);
    else {
      throw new TypeError(
        `PyRandom.seed: seed must be an integer (number or bigint) or a string, got ${String(s)}`,
      );
    }
    this.mt.seedByArray(intToKey(n));
  }

  /** `random.random()`: a 53-bit double in [0, 1) from two words (27 + 26 bits). */
  random(): number {
    const a = this.mt.nextU32() >>> 5;
    const b = this.mt.nextU32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** `random.uniform(a, b)`: a + (b - a) * random(). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /**
   * `random.getrandbits(k)`: k random bits, built from 32-bit words least significant first, the
   * last word keeping its top bits. A number for k <= 53, a bigint above.
   */
  getrandbits(k: number): bigint | number {
    requireInt('getrandbits', 'k', k);
    if (k < 0) throw new RangeError(`getrandbits: number of bits must be non-negative, got ${k}`);
    if (k <= 53) return this.bitsNumber(k);
    let result = 0n;
    let shift = 0n;
    for (let left = k; left > 0; left -= 32, shift += 32n) {
      let w = this.mt.nextU32();
      if (left < 32) w >>>= 32 - left;
      result |= BigInt(w) << shift;
    }
    return result;
  }

  /** getrandbits for 0 <= k <= 53 without BigInt. */
  private bitsNumber(k: number): number {
    if (k === 0) return 0;
    if (k <= 32) return this.mt.nextU32() >>> (32 - k);
    const low = this.mt.nextU32();
    const high = this.mt.nextU32() >>> (64 - k);
    return high * TWO_POW_32 + low;
  }

  /** `Random._randbelow(n)` (the getrandbits version): rejection-sample bit_length(n) bits until < n. */
  randbelow(n: number): number {
    requireInt('randbelow', 'n', n);
    if (n <= 0) throw new RangeError(`randbelow: n must be positive, got ${n}`);
    const k = bitLength(n);
    let r = this.bitsNumber(k);
    while (r >= n) r = this.bitsNumber(k);
    return r;
  }

  /** `random.randrange(stop)` or `random.randrange(start, stop[, step])`. */
  randrange(start: number, stop?: number, step = 1): number {
    requireInt('randrange', 'start', start);
    if (stop === undefined) {
      if (step !== 1) throw new TypeError('randrange: missing a non-None stop argument');
      if (start > 0) return this.randbelow(start);
      throw new RangeError(`randrange: empty range for randrange(${start})`);
    }
    requireInt('randrange', 'stop', stop);
    requireInt('randrange', 'step', step);
    const width = stop - start;
    if (step === 1) {
      if (width > 0) return start + this.randbelow(width);
      throw new RangeError(`randrange: empty range in randrange(${start}, ${stop})`);
    }
    let n: number;
    if (step > 0) n = floorDiv(width + step - 1, step);
    else if (step < 0) n = floorDiv(width + step + 1, step);
    else throw new RangeError('randrange: zero step for randrange()');
    if (n <= 0) throw new RangeError(`randrange: empty range in randrange(${start}, ${stop}, ${step})`);
    return start + step * this.randbelow(n);
  }

  /** `random.randint(a, b)`: an integer in [a, b], both ends included. */
  randint(a: number, b: number): number {
    requireInt('randint', 'a', a);
    requireInt('randint', 'b', b);
    return this.randrange(a, b + 1);
  }

  /** `random.shuffle(x)`: in place, Fisher-Yates from the end with j = randbelow(i + 1). */
  shuffle<T>(arr: T[]): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
    }
  }

  /** `random.choice(seq)`. */
  choice<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('choice: cannot choose from an empty sequence');
    return arr[this.randbelow(arr.length)]!;
  }

  /** `random.gauss(mu, sigma)`: Box-Muller, keeping the second value for the next call. */
  gauss(mu = 0, sigma = 1): number {
    let z = this.gaussNext;
    this.gaussNext = null;
    if (z === null) {
      const x2pi = this.random() * TWO_PI;
      // Correctly rounded log/cos/sin: these match the C library CPython calls (Math.* does not).
      const g2rad = Math.sqrt(-2.0 * crLog(1.0 - this.random()));
      z = crCos(x2pi) * g2rad;
      this.gaussNext = crSin(x2pi) * g2rad;
    }
    return mu + z * sigma;
  }

  /** `random.getstate()`. */
  getState(): PyRandomState {
    const { key, pos } = this.mt.getState();
    const internalstate = Array.from(key);
    internalstate.push(pos);
    return { version: 3, internalstate, gaussNext: this.gaussNext };
  }

  /** `random.setstate(state)`; accepts the numbers of Python's `random.getstate()` tuple. */
  setState(state: PyRandomState): void {
    const s = state?.internalstate;
    if (state?.version !== 3 || !Array.isArray(s) || s.length !== MT_N + 1) {
      throw new RangeError(`setState: expected a version-3 state with ${MT_N + 1} integers`);
    }
    const g = state.gaussNext;
    if (g !== null && typeof g !== 'number') throw new TypeError('setState: gaussNext must be a number or null');
    this.mt.setState(s.slice(0, MT_N), s[MT_N]!);
    this.gaussNext = g;
  }
}
