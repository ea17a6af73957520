/**
 * A PyTorch-compatible CPU random generator.
 *
 * PyTorch's CPU generator is an MT19937 seeded with `init_genrand(seed & 0xffffffff)`. Each
 * sampling routine below consumes the 32-bit stream exactly as ATen's CPU kernels do, so a
 * seeded program draws the same numbers here as in PyTorch:
 *
 * - rand (float32):    one word per element, `(u32 & 0xFFFFFF) * 2^-24`.
 * - rand (float64):    two words per element (first = high half), 53 bits, `* 2^-53`.
 * - randn, numel >= 16: fill with uniforms, Box-Muller in blocks of 16 (element j pairs with j+8);
 *                      a ragged tail redraws 16 fresh uniforms into the last 16 slots and redoes them.
 * - randn, numel < 16: ATen's scalar double Box-Muller, caching the sine half for the next call.
 * - randint:           `low + u32 % (high - low)`; ranges of 2^28 and more use a 64-bit draw
 *                      (two words, the first the high half) per element, as PyTorch 2.15 does.
 * - randperm:          swap i with i + u32 % (n - i), for i = 0..n-2.
 * - multinomial:       with replacement, a 53-bit uniform per sample and a binary search over the
 *                      normalised cumulative distribution (the CPU kernel's algorithm).
 *
 * Float32 arithmetic is reproduced with Math.fround at every step where ATen works in float, and the
 * final `x * scale + shift` of uniform_/normal_ is rounded once, as the fused multiply-add that
 * compilers emit for it (and that the AVX2 normal kernel calls explicitly).
 *
 * The one known gap, so randn is not bit-identical everywhere: randn of 16 or more float32
 * elements here is PyTorch's scalar recipe (what the lectures' numbers come from), but x86 builds of
 * PyTorch on AVX2 and AVX-512 machines run that transform through a vectorised log/sincos
 * approximation. Measured against torch 2.15 on an AVX-512 machine (__test__/fixtures/
 * torch_edges.json): 28 of 64 elements differ, by at most 8.9e-7 (4e-6 relative). Which words are
 * consumed, and so every later draw, is unaffected; fewer than 16 elements and float64 match exactly.
 */

import { crCos, crLog, crSin } from './crmath.js';
import { MT19937, MT_N } from './mt19937.js';

/** Number format whose PyTorch sampling semantics to follow (PyTorch draws differently per dtype). */
export type RandomDtype = 'float32' | 'float64';

/** `torch.initial_seed()` of a fresh process: PyTorch's default CPU seed. */
export const DEFAULT_SEED = 67280421310721n;

const TWO_POW_32 = 4294967296;
/** From this range on, torch.randint draws one 64-bit word per element (checked against torch 2.15). */
const RANDINT_64BIT_FROM = 2 ** 28;
const TWO_POW_M24 = 1 / 16777216;
const TWO_POW_M53 = 1 / 9007199254740992;
const TWO_PI = 2 * Math.PI;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Byte size of PyTorch's CPUGeneratorImplState, the payload of `torch.get_rng_state()`. */
export const TORCH_STATE_BYTES = 5056;
// Offsets inside that POD struct (x86-64 / arm64 layout, little-endian).
const OFF_SEED = 0;
const OFF_LEFT = 8;
const OFF_SEEDED = 12;
const OFF_NEXT = 16;
const OFF_STATE = 24; // 624 uint64 words
const OFF_NORMAL_Y = 5024;
const OFF_NORMAL_VALID = 5040;
const OFF_FLOAT_SAMPLE = 5048;
const OFF_FLOAT_VALID = 5052;

/**
 * Rounds the exact value a*b + c to float32, as a fused multiply-add in float does. a, b and c must
 * be float32 values whose product is exact in double (true for 24-bit operands). Double rounding
 * is corrected: the only double sums that round differently are exact float midpoints.
 * (Also used by histogram, whose float32 bin edges PyTorch computes with fused multiply-adds.)
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: two 24-bit significands fit in 53 bits
  const s = p + c;
  const r = Math.fround(s);
  if (r === s || !Number.isFinite(s)) return r;
  // TwoSum error term: s + e === p + c exactly.
  const bv = s - p;
  const e = (p - (s - bv)) + (c - bv);
  if (e === 0) return r;
  // Is s exactly halfway between two floats? Then the sign of e picks the side.
  const other = s > r ? nextFloatUp(r) : nextFloatDown(r);
  if ((r + other) / 2 !== s) return r;
  const up = s > r ? other : r;
  const down = s > r ? r : other;
  return e > 0 ? up : down;
}

/**
 * a*b + c rounded once to double (C's fma). Fast path: with p = a·b + e and p + c = s + t exactly
 * (Dekker's product and Knuth's sum), the result is s + (t + e) rounded once whenever t + e is
 * exact; otherwise the exact sum is formed with BigInt and rounded by Number().
 */
function fma(a: number, b: number, c: number): number {
  const p = a * b;
  if (!Number.isFinite(p) || !Number.isFinite(c) || a === 0 || b === 0) return p + c;
  const e = productError(a, b, p);
  const s = p + c;
  const bv = s - p;
  const t = (p - (s - bv)) + (c - bv);
  const u = t + e;
  const ub = u - t;
  if ((t - (u - ub)) + (e - ub) === 0) return s + u;
  return fmaExact(a, b, c);
}

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
function productError(a: number, b: number, p: number): number {
  const ca = SPLIT * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLIT * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

const f64buf = new Float64Array(1);
const f64words = new Uint32Array(f64buf.buffer);
/** x = m · 2^e exactly (x finite). */
function decompose(x: number): [bigint, number] {
  f64buf[0] = x;
  const lo = f64words[0]!;
  const hi = f64words[1]!;
  const expBits = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e = -1074;
  if (expBits !== 0) {
    m |= 1n << 52n;
    e = expBits - 1075;
  }
  return [hi >>> 31 ? -m : m, e];
}

function fmaExact(a: number, b: number, c: number): number {
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  const ep = ea + eb;
  if (c === 0 || Math.abs(ep - ec) > 900) return a * b + c;
  const E = Math.min(ep, ec);
  const M = ((ma * mb) << BigInt(ep - E)) + (mc << BigInt(ec - E));
  return Number(M) * 2 ** E;
}

const f32buf = new Float32Array(1);
const u32view = new Uint32Array(f32buf.buffer);
function nextFloatUp(x: number): number {
  f32buf[0] = x;
  if (x === 0) return 1.401298464324817e-45;
  u32view[0] = x > 0 ? u32view[0]! + 1 : u32view[0]! - 1;
  return f32buf[0]!;
}
function nextFloatDown(x: number): number {
  return -nextFloatUp(-x);
}

function describe(v: unknown): string {
  return typeof v === 'bigint' ? `${v}n` : String(v);
}

/** Converts a user seed to PyTorch's uint64 seed (negative seeds wrap as two's complement). */
function toSeed64(seed: number | bigint, op: string): bigint {
  let s: bigint;
  if (typeof seed === 'bigint') {
    s = seed;
  } else if (typeof seed === 'number' && Number.isInteger(seed)) {
    s = BigInt(seed);
  } else {
    throw new TypeError(`${op}: seed must be an integer (number or bigint), got ${describe(seed)}`);
  }
  if (s < INT64_MIN || s > UINT64_MAX) {
    throw new RangeError(
      `${op}: seed must be within the inclusive range [-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got ${s}`,
    );
  }
  return s < 0n ? s + (1n << 64n) : s;
}

function checkInteger(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TypeError(`${op}: ${name} must be a safe integer, got ${describe(v)}`);
  }
}

function checkFinite(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`${op}: ${name} must be a finite number, got ${describe(v)}`);
  }
}

export class Generator {
  private readonly engine = new MT19937();
  private seed64: bigint = DEFAULT_SEED;
  /** ATen's cached second Box-Muller value of the scalar (double) normal path. */
  private nextDoubleNormal: number | null = null;
  /** ATen's float cache: not used by any sampler here, but carried through get/setState. */
  private nextFloatNormal: number | null = null;

  /** A generator seeded with `seed`, or with PyTorch's default seed 67280421310721. */
  constructor(seed?: number | bigint) {
    this.manualSeed(seed ?? DEFAULT_SEED);
  }

  /** `torch.Generator.manual_seed`: reseeds and clears the cached normal sample. */
  manualSeed(seed: number | bigint): this {
    const s = toSeed64(seed, 'manualSeed');
    this.seed64 = s;
    this.engine.seed(Number(s & 0xffffffffn));
    this.nextDoubleNormal = null;
    this.nextFloatNormal = null;
    return this;
  }

  /** `initial_seed()`: the seed last set. Exact up to 2^53; use initialSeedBigInt() beyond that. */
  initialSeed(): number {
    return Number(this.seed64);
  }

  /** The seed last set, as the full uint64 PyTorch keeps. */
  initialSeedBigInt(): bigint {
    return this.seed64;
  }

  /** The next raw 32-bit word (ATen's `random()`). */
  nextU32(): number {
    return this.engine.nextU32();
  }

  /** ATen's `random64()`, reduced to a 53-bit double in [0, 1): `((hi<<32 | lo) & (2^53-1)) * 2^-53`. */
  nextDouble53(): number {
    const hi = this.engine.nextU32();
    const lo = this.engine.nextU32();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /**
   * `torch.rand` / `Tensor.uniform_(low, high)`. With dtype 'float32' (the default, whatever the
   * array type) each element is one word: `(u32 & 0xFFFFFF) * 2^-24 * (high - low) + low` in float32.
   * With 'float64' it follows PyTorch's float64 tensors: a 53-bit double from two words.
   */
  fillRand(out: Float32Array | Float64Array, low = 0, high = 1, dtype: RandomDtype = 'float32'): void {
    checkFinite('rand', 'low', low);
    checkFinite('rand', 'high', high);
    if (!(low <= high)) {
      throw new RangeError(`uniform_: expects low <= high, but got low=${low} and high=${high}`);
    }
    const e = this.engine;
    const n = out.length;
    if (dtype === 'float32') {
      const from = Math.fround(low);
      const range = Math.fround(Math.fround(high) - from);
      if (!Number.isFinite(range)) {
        throw new RangeError(`uniform_: high - low must fit in float32, got low=${low} and high=${high}`);
      }
      if (from === 0 && range === 1) {
        for (let i = 0; i < n; i++) out[i] = (e.nextU32() & 0xffffff) * TWO_POW_M24;
      } else {
        for (let i = 0; i < n; i++) out[i] = fmaf((e.nextU32() & 0xffffff) * TWO_POW_M24, range, from);
      }
    } else {
      checkDtype('rand', dtype);
      const range = high - low;
      if (!Number.isFinite(range)) {
        throw new RangeError(`uniform_: high - low must be finite, got low=${low} and high=${high}`);
      }
      // PyTorch's double kernel compiles `x * range + from` to a fused multiply-add (checked
      // against torch.nn.Linear(6, 5, dtype=float64)), so round once, as fma does.
      for (let i = 0; i < n; i++) out[i] = fma(this.nextDouble53(), range, low);
    }
  }

  /**
   * `torch.randn` / `Tensor.normal_(mean, std)` into a contiguous array, consuming the stream exactly
   * as PyTorch does for a tensor of that many elements and the given dtype (default float32 semantics
   * whatever the array type, so float32 and float64 buffers receive the same values).
   */
  fillRandn(out: Float32Array | Float64Array, mean = 0, std = 1, dtype: RandomDtype = 'float32'): void {
    checkFinite('normal_', 'mean', mean);
    checkFinite('normal_', 'std', std);
    if (std < 0) throw new RangeError(`normal_: expects std >= 0.0, but found std ${std}`);
    checkDtype('randn', dtype);
    const n = out.length;
    if (n < 16) {
      for (let i = 0; i < n; i++) {
        const v = this.scalarNormal(mean, std);
        out[i] = dtype === 'float32' ? Math.fround(v) : v;
      }
      return;
    }
    if (dtype === 'float32') this.normalFillFloat(out, Math.fround(mean), Math.fround(std));
    else this.normalFillDouble(out, mean, std);
  }

  /** ATen's at::normal_distribution<double>: Box-Muller on two 53-bit uniforms, caching r·sin θ. */
  private scalarNormal(mean: number, std: number): number {
    let z: number;
    if (this.nextDoubleNormal !== null) {
      z = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
    } else {
      const u1 = this.nextDouble53();
      const u2 = this.nextDouble53();
      // Math.log1p is the same fdlibm algorithm as glibc's log1p; sin/cos must be correctly
      // rounded to match the C library (see crmath.ts).
      const r = Math.sqrt(-2 * Math.log1p(-u2));
      const theta = TWO_PI * u1;
      this.nextDoubleNormal = r * crSin(theta);
      z = r * crCos(theta);
    }
    return z * std + mean;
  }

  /** normal_fill for float32: uniforms first, then 16-wide Box-Muller blocks; a ragged tail is redone. */
  private normalFillFloat(out: Float32Array | Float64Array, mean: number, std: number): void {
    const e = this.engine;
    const n = out.length;
    // Work in a float32 scratch so every intermediate store is float-rounded as in ATen.
    const data = out instanceof Float32Array ? out : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (e.nextU32() & 0xffffff) * TWO_POW_M24;
    const plain = mean === 0 && std === 1;
    for (let i = 0; i + 16 <= n; i += 16) normalBlockFloat(data, i, mean, std, plain);
    if (n % 16 !== 0) {
      const start = n - 16;
      for (let i = start; i < n; i++) data[i] = (e.nextU32() & 0xffffff) * TWO_POW_M24;
      normalBlockFloat(data, start, mean, std, plain);
    }
    if (data !== out) out.set(data);
  }

  /** normal_fill for float64: the same recipe on 53-bit uniforms in double arithmetic. */
  private normalFillDouble(out: Float32Array | Float64Array, mean: number, std: number): void {
    const n = out.length;
    const data = out instanceof Float64Array ? out : new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = this.nextDouble53();
    for (let i = 0; i + 16 <= n; i += 16) normalBlockDouble(data, i, mean, std);
    if (n % 16 !== 0) {
      const start = n - 16;
      for (let i = start; i < n; i++) data[i] = this.nextDouble53();
      normalBlockDouble(data, start, mean, std);
    }
    if (data !== out) out.set(data);
  }

  /**
   * `torch.randint(low, high, ...)`: each element is `low + u32 % (high - low)` (a 64-bit draw
   * `% range` when the range is 2^28 or more). Bounds must be integers with high > low; an Int32Array
   * output must be able to hold every value in [low, high).
   */
  fillRandint(low: number, high: number, out: Int32Array | Float32Array | Float64Array): void {
    checkInteger('randint', 'low', low);
    checkInteger('randint', 'high', high);
    if (!(high > low)) {
      throw new RangeError(`randint: expects 'low' to be less than 'high', but got low=${low} >= high=${high}`);
    }
    if (out instanceof Int32Array && (low < -2147483648 || high - 1 > 2147483647)) {
      throw new RangeError(`randint: range [${low}, ${high}) does not fit an Int32Array output`);
    }
    if (out instanceof Float32Array && (Math.abs(low) > 16777216 || Math.abs(high - 1) > 16777216)) {
      // Beyond 2^24 a float32 cannot hold every integer, so values would silently round.
      throw new RangeError(`randint: range [${low}, ${high}) is not exactly representable in a Float32Array (|value| <= 2^24)`);
    }
    const range = high - low;
    const e = this.engine;
    const n = out.length;
    if (range < RANDINT_64BIT_FROM) {
      // `>>> 0` keeps both operands unsigned 32-bit integers (range < 2^28 here), so the JIT can use
      // an integer remainder instead of a floating-point fmod: the same values, several times faster.
      const r32 = range >>> 0;
      if (out instanceof Int32Array && low === 0) {
        // The minibatch draw randint(0, n, [B]): one array type, no offset.
        for (let i = 0; i < n; i++) out[i] = e.nextU32() % r32;
      } else {
        for (let i = 0; i < n; i++) out[i] = low + (e.nextU32() % r32);
      }
    } else {
      const r = BigInt(range);
      for (let i = 0; i < n; i++) {
        const hi = BigInt(e.nextU32());
        const lo = BigInt(e.nextU32());
        out[i] = low + Number(((hi << 32n) | lo) % r);
      }
    }
  }

  /**
   * `torch.randperm(n)`: a uniformly random permutation of 0..n-1, drawn as PyTorch's CPU kernel does
   * (for n below 2^32 / 20): for i = 0..n-2 swap element i with element i + u32 % (n - i).
   */
  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`randperm: n must be a non-negative integer, got ${describe(n)}`);
    }
    if (n >= Math.floor(0xffffffff / 20)) {
      throw new RangeError(`randperm: n=${n} is too large (the compatible algorithm needs n < ${Math.floor(0xffffffff / 20)})`);
    }
    const r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    const e = this.engine;
    for (let i = 0; i < n - 1; i++) {
      const z = i + (e.nextU32() % (n - i));
      const t = r[i]!;
      r[i] = r[z]!;
      r[z] = t;
    }
    return r;
  }

  /**
   * `torch.multinomial` on one row of non-negative weights (they need not sum to 1).
   *
   * replacement=true follows PyTorch's CPU kernel: the cumulative sum is normalised (in float32 when
   * `probs` is a Float32Array, as for a float32 tensor; in double otherwise), then each sample takes
   * a 53-bit uniform u and the first index whose cumulative value is >= u. PyTorch >= 2.1 has a
   * separate numSamples == 1 fast path that consumes the stream differently; this is the classic
   * stream that reproduces the Zero to Hero lectures.
   *
   * replacement=false uses the exponential-race ("Gumbel top-k") method PyTorch's CPU code also uses:
   * q_i ~ Exp(1) from one 53-bit uniform per category, then the numSamples largest p_i / q_i in
   * decreasing order. The distribution is exact; the stream is not guaranteed to match PyTorch
   * (builds with MKL draw the exponentials differently).
   */
  multinomial(probs: ArrayLike<number>, numSamples: number, replacement: boolean): Int32Array {
    const n = probs.length;
    if (n === 0) throw new RangeError('multinomial: prob_dist cannot be empty');
    if (n > 16777216) throw new RangeError(`multinomial: number of categories cannot exceed 2^24, got ${n}`);
    if (!Number.isInteger(numSamples) || numSamples <= 0) {
      throw new RangeError(`multinomial: cannot sample numSamples=${describe(numSamples)} <= 0 samples`);
    }
    if (!replacement && numSamples > n) {
      throw new RangeError(
        `multinomial: cannot sample numSamples=${numSamples} > prob_dist.size(-1)=${n} samples without replacement`,
      );
    }
    let nonzero = 0;
    for (let j = 0; j < n; j++) {
      const v = probs[j]!;
      if (typeof v !== 'number' || Number.isNaN(v) || v === Infinity || v === -Infinity) {
        throw new RangeError(
          `multinomial: invalid multinomial distribution (probability entry ${j} is ${describe(v)}: infinity or NaN)`,
        );
      }
      if (v < 0) {
        throw new RangeError(`multinomial: invalid multinomial distribution (probability entry ${j} is ${v} < 0)`);
      }
      if (v > 0) nonzero++;
    }
    if (nonzero === 0) {
      throw new RangeError('multinomial: invalid multinomial distribution (sum of probabilities <= 0)');
    }
    if (!replacement && numSamples > nonzero) {
      throw new RangeError(
        `multinomial: cannot sample numSamples=${numSamples} without replacement: only ${nonzero} of ${n} categories have non-zero probability`,
      );
    }
    const f32 = probs instanceof Float32Array;
    return replacement
      ? this.multinomialWithReplacement(probs, numSamples, f32)
      : this.multinomialWithoutReplacement(probs, numSamples, f32);
  }

  private multinomialWithReplacement(probs: ArrayLike<number>, k: number, f32: boolean): Int32Array {
    const n = probs.length;
    const cum = f32 ? new Float32Array(n) : new Float64Array(n);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      sum = f32 ? Math.fround(sum + probs[j]!) : sum + probs[j]!;
      cum[j] = sum;
    }
    if (!(sum > 0) || !Number.isFinite(sum)) {
      throw new RangeError(`multinomial: invalid multinomial distribution (sum of probabilities is ${sum})`);
    }
    for (let j = 0; j < n; j++) cum[j] = cum[j]! / sum; // stores round to float32 for a Float32Array
    cum[n - 1] = 1;
    const result = new Int32Array(k);
    for (let s = 0; s < k; s++) {
      const u = this.nextDouble53();
      let left = 0;
      let right = n;
      while (right > left) {
        const mid = left + ((right - left) >> 1);
        if (cum[mid]! < u) left = mid + 1;
        else right = mid;
      }
      result[s] = left;
    }
    return result;
  }

  private multinomialWithoutReplacement(probs: ArrayLike<number>, k: number, f32: boolean): Int32Array {
    const n = probs.length;
    const keys = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      // Exp(1) as ATen's transformation::exponential: -log1p(-u).
      let q = -Math.log1p(-this.nextDouble53());
      const p = probs[j]!;
      if (f32) q = Math.fround(q);
      // Zero-probability categories can never be drawn; q == 0 (u == 0) makes p/q infinite, a sure pick.
      keys[j] = p === 0 ? -1 : f32 ? Math.fround(p / q) : p / q;
    }
    const order = Array.from({ length: n }, (_, j) => j);
    // Descending keys; ties keep the lower index first, as argmax does.
    order.sort((a, b) => keys[b]! - keys[a]! || a - b);
    return Int32Array.from(order.slice(0, k));
  }

  /**
   * The full state in the byte layout of `torch.Generator.get_state()` (5056 bytes, little-endian),
   * viewed as 1264 uint32 words. `new Uint8Array(state.buffer)` is byte-for-byte what
   * `torch.set_rng_state` accepts, and the bytes of `torch.get_rng_state()` load with setState.
   */
  getState(): Uint32Array {
    const buf = new ArrayBuffer(TORCH_STATE_BYTES);
    const dv = new DataView(buf);
    const { key, pos } = this.engine.getState();
    dv.setBigUint64(OFF_SEED, this.seed64, true);
    // ATen counts `left` down to a regeneration and reads state[next]; pos is our next index.
    dv.setInt32(OFF_LEFT, pos >= MT_N ? 1 : MT_N + 1 - pos, true);
    dv.setInt32(OFF_SEEDED, 1, true);
    dv.setBigUint64(OFF_NEXT, BigInt(pos), true);
    for (let i = 0; i < MT_N; i++) dv.setUint32(OFF_STATE + 8 * i, key[i]!, true);
    if (this.nextDoubleNormal !== null) {
      dv.setFloat64(OFF_NORMAL_Y, this.nextDoubleNormal, true);
      dv.setInt32(OFF_NORMAL_VALID, 1, true);
    }
    if (this.nextFloatNormal !== null) {
      dv.setFloat32(OFF_FLOAT_SAMPLE, this.nextFloatNormal, true);
      dv.setUint8(OFF_FLOAT_VALID, 1);
    }
    return new Uint32Array(buf);
  }

  /** Restores a state from getState() (or from the bytes of `torch.get_rng_state()`). */
  setState(s: Uint32Array): void {
    if (!(s instanceof Uint32Array) || s.byteLength !== TORCH_STATE_BYTES) {
      const got = s instanceof Uint32Array ? `${s.length} words` : describe(s);
      throw new RangeError(
        `setState: expected a Uint32Array of ${TORCH_STATE_BYTES / 4} words (${TORCH_STATE_BYTES} bytes), got ${got}`,
      );
    }
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    const left = dv.getInt32(OFF_LEFT, true);
    const seeded = dv.getInt32(OFF_SEEDED, true);
    const next = dv.getBigUint64(OFF_NEXT, true);
    if (seeded === 0 || left < 1 || left > MT_N || next > BigInt(MT_N)) {
      throw new RangeError(`setState: invalid mt19937 state (left=${left}, seeded=${seeded}, next=${next})`);
    }
    // With left > 1 the next draw reads state[next]; ATen keeps next == 625 - left then.
    if (left > 1 && Number(next) !== MT_N + 1 - left) {
      throw new RangeError(`setState: inconsistent mt19937 state (left=${left} but next=${next})`);
    }
    const key = new Uint32Array(MT_N);
    for (let i = 0; i < MT_N; i++) {
      if (dv.getUint32(OFF_STATE + 8 * i + 4, true) !== 0) {
        throw new RangeError(`setState: state word ${i} does not fit in 32 bits`);
      }
      key[i] = dv.getUint32(OFF_STATE + 8 * i, true);
    }
    this.engine.setState(key, left === 1 ? MT_N : Number(next));
    this.seed64 = dv.getBigUint64(OFF_SEED, true);
    this.nextDoubleNormal = dv.getInt32(OFF_NORMAL_VALID, true) !== 0 ? dv.getFloat64(OFF_NORMAL_Y, true) : null;
    this.nextFloatNormal = dv.getUint8(OFF_FLOAT_VALID) !== 0 ? dv.getFloat32(OFF_FLOAT_SAMPLE, true) : null;
  }

  /** An independent generator continuing the same stream (`torch.Generator.clone_state()`-like). */
  clone(): Generator {
    const g = new Generator();
    g.setState(this.getState());
    return g;
  }
}

function checkDtype(op: string, dtype: string): void {
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new TypeError(`${op}: dtype must be 'float32' or 'float64', got ${describe(dtype)}`);
  }
}

/** One 16-element Box-Muller block in float32, as ATen's normal_fill_16 (element j pairs with j + 8). */
function normalBlockFloat(data: Float32Array, base: number, mean: number, std: number, plain: boolean): void {
  for (let j = base; j < base + 8; j++) {
    const u1 = Math.fround(1 - data[j]!); // [0, 1) -> (0, 1] so the log is finite
    const u2 = data[j + 8]!;
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
    const theta = Math.fround(TWO_PI * u2);
    const c = Math.fround(radius * Math.fround(Math.cos(theta)));
    const s = Math.fround(radius * Math.fround(Math.sin(theta)));
    if (plain) {
      data[j] = c;
      data[j + 8] = s;
    } else {
      data[j] = fmaf(c, std, mean);
      data[j + 8] = fmaf(s, std, mean);
    }
  }
}

/**
 * The same block in double precision (PyTorch's float64 tensors). Double results show every last-bit
 * difference of the math library, so this uses the correctly rounded functions (about 10x slower
 * than Math.*, ~0.5 us per element pair).
 */
function normalBlockDouble(data: Float64Array, base: number, mean: number, std: number): void {
  for (let j = base; j < base + 8; j++) {
    const u1 = 1 - data[j]!;
    const u2 = data[j + 8]!;
    const radius = Math.sqrt(-2 * crLog(u1));
    const theta = TWO_PI * u2;
    data[j] = radius * crCos(theta) * std + mean;
    data[j + 8] = radius * crSin(theta) * std + mean;
  }
}

/** The process-wide generator, like `torch.default_generator`; seeded with 67280421310721 until reseeded. */
export const defaultGenerator: Generator = new Generator();

/** `torch.manual_seed`: reseeds the default generator and returns it. */
export function manualSeed(seed: number | bigint): Generator {
  return defaultGenerator.manualSeed(seed);
}

/** `torch.initial_seed`: the default generator's seed. */
export function initialSeed(): number {
  return defaultGenerator.initialSeed();
}
