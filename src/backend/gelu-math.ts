// The scalar math of GELU in float64: erf and erfc (a series below 1.5, a continued fraction for
// erfc above, both accurate to ~1e-15), GELU exact (x·Φ(x)) and tanh-approximated, and their
// derivatives. The reference backend's gelu kernels use these; crates/kernels/src/gelu.rs keeps
// the same evaluation in Rust as the reference its fast kernels are tested against.

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const INV_SQRT_PI = 0.5641895835477563; // 1/√π
const SQRT_HALF = 0.7071067811865476; // 1/√2
const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)
const SQRT_2_OVER_PI = 0.7978845608028654; // √(2/π)
const KAPPA = 0.044715;
/** Below it the series for erf, above it the continued fraction for erfc. */
const ERF_SPLIT = 1.5;

/** erfc(x) for x >= 1.5 by its continued fraction, evaluated from the tail (80 terms: relative
 *  error ~1e-15 at 1.5, better above). */
function erfcLarge(x: number): number {
  let t = x;
  for (let k = 80; k >= 1; k--) t = x + (k / 2) / t;
  return (Math.exp(-x * x) * INV_SQRT_PI) / t;
}

/** erf(x) for 0 <= x < 1.5: (2/√π)·e^(-x²)·Σ (2x²)^n·x / (1·3···(2n+1)), all terms positive. */
function erfSmall(x: number): number {
  const q = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= q / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** The error function in double precision (relative error ~1e-15; erf(±∞) = ±1). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const v = a < ERF_SPLIT ? erfSmall(a) : a > 6 ? 1 : 1 - erfcLarge(a);
  return x < 0 ? -v : v;
}

/** The complementary error function 1 - erf(x), accurate in relative terms for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= ERF_SPLIT) return x > 27 ? 0 : erfcLarge(x);
  if (x >= 0) return 1 - erfSmall(x); // erfc >= 0.03 here: the subtraction loses < 5 bits
  return 1 + erf(-x);
}

/** Φ(x), the standard normal CDF. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT_HALF);
}

export function geluExact(x: number): number {
  return x * normalCdf(x);
}

export function geluExactGrad(x: number): number {
  return normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

// The tanh form as x·σ(2u) (0.5·(1 + tanh u) = σ(2u)), u = √(2/π)·(x + κx³): 1 + tanh(u) cancels
// for negative x (relative error 4e-6 at x = -6, and 0 instead of -3e-21 at x = -8), σ does not.

/** e^(-2u). */
function expMinus2u(x: number): number {
  return Math.exp(-2 * SQRT_2_OVER_PI * (x + KAPPA * x * x * x));
}

export function geluTanh(x: number): number {
  return x / (1 + expMinus2u(x));
}

/** S + x·2u'·S·(1 - S) with S = σ(2u) and 1 - S = 1 / (1 + 1/e^(-2u)), both accurate (relative). */
export function geluTanhGrad(x: number): number {
  const e = expMinus2u(x);
  const s = 1 / (1 + e);
  return s + x * 2 * SQRT_2_OVER_PI * (1 + 3 * KAPPA * x * x) * s * (1 / (1 + 1 / e));
}
