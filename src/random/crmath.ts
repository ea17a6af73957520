/**
 * Correctly rounded log, sin and cos for doubles, in double-double arithmetic.
 *
 * V8's Math.log / Math.sin / Math.cos (fdlibm ports) are within 1 ulp but not correctly rounded:
 * on uniform inputs they differ from glibc's results in the last bit for about 7% (log) and 3%
 * (sin, cos) of calls. CPython's `random.gauss` and numpy's legacy normal sampler call the C
 * library, whose results are correctly rounded in all but a few hundredths of a percent of cases
 * (glibc's log: 85 in 100000 on uniform inputs, measured against 60-digit decimal). Evaluating the
 * functions to ~100 bits and rounding once reproduces those streams bit for bit in practice.
 *
 * These are several times slower than Math.*, so only the samplers that must match a C library use
 * them; hot paths whose results are rounded to float32 afterwards keep Math.*. There is no log1p:
 * glibc's log1p is not correctly rounded (it differs from the true rounding in ~7% of calls, and
 * from V8's Math.log1p, the same fdlibm algorithm, in ~0.07%), so Math.log1p is the better match.
 */

// ---- double-double primitives (value = hi + lo, |lo| <= ulp(hi) / 2) ----

const SPLITTER = 134217729; // 2^27 + 1

/**
 * Scratch registers: `e` receives the rounding error of twoProd/twoSum, (h, l) the result of the
 * double-double operations. One object with a fixed shape keeps the hot paths allocation-free
 * (module-level `let`s would cost a hole check on every access).
 */
const R = { e: 0, h: 0, l: 0 };

/** Exact product: returns the rounded product, leaves its rounding error in R.e. */
function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  R.e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  R.e = (a - (s - bb)) + (b - bb);
  return s;
}

/** (R.h, R.l) = (ah, al) * (bh, bl). */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  const p = twoProd(ah, bh);
  const e = R.e + (ah * bl + al * bh);
  R.h = p + e;
  R.l = e - (R.h - p);
}

/** (R.h, R.l) = (ah, al) + (bh, bl), accurate also under cancellation. */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = twoSum(ah, bh);
  const se = R.e;
  const t = twoSum(al, bl);
  const te = R.e;
  let e = se + t;
  let h = s + e;
  e = e - (h - s);
  e += te;
  R.h = h + e;
  R.l = e - (R.h - h);
}

/** A double-double constant num/den (num, den small integers). */
function ddDiv(num: number, den: number): [number, number] {
  const q = num / den;
  const p = twoProd(q, den);
  const r = (num - p - R.e) / den;
  return [q, r];
}

// ---- log ----

const LN2_HI = 0.6931471805599453;
const LN2_LO = 2.3190468138462996e-17;
const SQRT2 = Math.SQRT2;
const [THIRD_H, THIRD_L] = ddDiv(1, 3);
const [FIFTH_H, FIFTH_L] = ddDiv(1, 5);
/** 1/7, 1/9, ..., 1/29: the double-precision tail of the atanh series (z^11 < 2^-55 ends it). */
const ODD_INV = Array.from({ length: 12 }, (_, i) => 1 / (7 + 2 * i));

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = 1; // little-endian: word 1 holds sign, exponent and the top of the mantissa

/**
 * log(x) as a double-double in (R.h, R.l). x must be positive and finite.
 * Reduction: x = 2^k * m, m in (sqrt(1/2), sqrt(2)]; log m = 2 atanh(s), s = (m - 1) / (m + 1).
 */
function logDD(x: number): void {
  let k = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: bring subnormals to normal range
    k = -54;
  }
  f64[0] = x;
  const hiWord = u32[HI]!;
  k += ((hiWord >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hiWord & 0x000fffff) | 0x3ff00000;
  let m = f64[0]!;
  if (m > SQRT2) {
    m *= 0.5;
    k += 1;
  }
  const f = m - 1; // exact (Sterbenz)
  const dh = twoSum(m, 1);
  const dl = R.e;
  // s = f / (dh + dl) in double-double
  const sh = f / dh;
  const p = twoProd(sh, dh);
  const sl = ((f - p) - R.e - sh * dl) / dh;
  // z = s^2
  ddMul(sh, sl, sh, sl);
  const zh = R.h;
  const zl = R.l;
  // R = 1/7 + z/9 + z^2/11 + ... in double (its weight in the result is below 2^-17)
  let r = 0;
  for (let i = ODD_INV.length - 1; i >= 0; i--) r = ODD_INV[i]! + zh * r;
  // T = z * (1/3 + z * (1/5 + z * R)) in double-double
  ddMul(zh, zl, r, 0);
  ddAdd(FIFTH_H, FIFTH_L, R.h, R.l);
  ddMul(zh, zl, R.h, R.l);
  ddAdd(THIRD_H, THIRD_L, R.h, R.l);
  ddMul(zh, zl, R.h, R.l);
  // log m = 2s + 2s*T
  const th = R.h;
  const tl = R.l;
  ddMul(2 * sh, 2 * sl, th, tl);
  ddAdd(2 * sh, 2 * sl, R.h, R.l);
  if (k !== 0) {
    const mh = R.h;
    const ml = R.l;
    const kh = twoProd(k, LN2_HI);
    const kl = R.e + k * LN2_LO;
    ddAdd(kh, kl, mh, ml);
  }
}

/** Correctly rounded natural logarithm (same special cases as Math.log). */
export function crLog(x: number): number {
  if (!(x > 0) || x === Infinity) return Math.log(x); // NaN, <= 0, +Infinity
  if (x === 1) return 0;
  logDD(x);
  return R.h + R.l;
}

// ---- sin / cos ----

// pi/2 as a triple-double.
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;
const TWO_OVER_PI = 0.6366197723675814;
/** Beyond this |x| the three-term reduction loses accuracy; fall back to Math.* there. */
const REDUCE_LIMIT = 1048576; // 2^20

// Taylor coefficients as double-doubles: (-1)^k / (2k+1)! for sin, (-1)^k / (2k)! for cos.
const SIN_C: Array<[number, number]> = [];
const COS_C: Array<[number, number]> = [];
{
  // 1/n! by repeated double-double division (n! itself is inexact in double beyond 22!).
  let fh = 1;
  let fl = 0; // 1/n! as double-double
  for (let n = 1; n <= 28; n++) {
    // (fh, fl) /= n
    const q = fh / n;
    const p = twoProd(q, n);
    const r = (fh - p - R.e + fl) / n;
    fh = q + r;
    fl = r - (fh - q);
    const sign = Math.floor(n / 2) % 2 === 0 ? 1 : -1;
    if (n % 2 === 1) SIN_C.push([sign * fh, sign * fl]);
    else COS_C.push([sign * fh, sign * fl]);
  }
}

/** Number of leading Taylor terms evaluated in double-double; later ones weigh below 2^-20. */
const DD_TERMS = 4;

/** (R.h, R.l) = sin or cos of the double-double r (|r| <= pi/4 + tiny), by Horner in z = r^2. */
function sinCosPoly(rh: number, rl: number, wantCos: boolean): void {
  ddMul(rh, rl, rh, rl);
  const zh = R.h;
  const zl = R.l;
  const c = wantCos ? COS_C : SIN_C;
  // Tail c[DD_TERMS..] in plain double: its contribution is < 1/9! * (pi/4)^8, so its rounding
  // errors stay below 2^-70 of the result.
  let t = 0;
  for (let i = c.length - 1; i >= DD_TERMS; i--) t = c[i]![0] + zh * t;
  ddMul(zh, zl, t, 0);
  let ah = R.h;
  let al = R.l;
  for (let i = DD_TERMS - 1; i >= 0; i--) {
    ddAdd(c[i]![0], c[i]![1], ah, al);
    if (i > 0) {
      ddMul(R.h, R.l, zh, zl);
      ah = R.h;
      al = R.l;
    }
  }
  if (wantCos) {
    // the series above is (cos r - 1) / z, starting at -1/2!
    ddMul(R.h, R.l, zh, zl);
    ddAdd(1, 0, R.h, R.l);
  } else {
    // the series above is sin(r) / r, starting at 1/1!
    ddMul(R.h, R.l, rh, rl);
  }
}

/** Reduces x = q*pi/2 + r with |r| <= ~pi/4: returns q mod 4 and leaves r in (R.h, R.l). */
function reduce(x: number): number {
  const n = Math.round(x * TWO_OVER_PI);
  const quadrant = ((n % 4) + 4) % 4;
  if (n === 0) {
    R.h = x;
    R.l = 0;
    return 0;
  }
  const p1 = twoProd(n, PIO2_1);
  const e1 = R.e;
  const p2 = twoProd(n, PIO2_2);
  const e2 = R.e;
  // x - p1 is exact (Sterbenz); subtract the rest in double-double
  ddAdd(x - p1, 0, -e1, 0);
  ddAdd(R.h, R.l, -p2, -e2 - n * PIO2_3);
  return quadrant;
}

function sinCos(x: number, wantCos: boolean): number {
  const quadrant = reduce(x);
  const rh = R.h;
  const rl = R.l;
  // sin(x) by quadrant: sin r, cos r, -sin r, -cos r; cos(x): cos r, -sin r, -cos r, sin r
  const q = wantCos ? (quadrant + 1) % 4 : quadrant;
  sinCosPoly(rh, rl, q % 2 === 1);
  const v = R.h + R.l;
  return q >= 2 ? -v : v;
}

/** Correctly rounded sine for |x| <= 2^20 (Math.sin beyond). */
export function crSin(x: number): number {
  if (!(Math.abs(x) <= REDUCE_LIMIT)) return Math.sin(x);
  if (x === 0) return x;
  return sinCos(x, false);
}

/** Correctly rounded cosine for |x| <= 2^20 (Math.cos beyond). */
export function crCos(x: number): number {
  if (!(Math.abs(x) <= REDUCE_LIMIT)) return Math.cos(x);
  return sinCos(x, true);
}
