//! GELU, x·Φ(x) or torch's tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), and
//! its closed-form derivative, each element in f64 and rounded once to f32, within an ulp of the
//! exact value on every f32 input (the tests sweep every 97th bit pattern against [`reference`];
//! examples/gelu_exhaustive.rs checks all 2^32).
//!
//! The exact form with s = |x|: Q(s) = 1 − Φ(s) = e^(−s²/2)·F(s) and gelu'(−s) = e^(−s²/2)·B(s),
//! where F and B are smooth (Mills' ratio over √(2π), and that minus s/√(2π)) and taken from a
//! table of 16 degree-11 polynomials fitted for relative error (scripts/fit_gelu.py, worst 6e-14).
//! So Φ(x) = Q for x < 0 (relative accuracy however small it gets: no 1 − erf), 1 − Q for x ≥ 0,
//! and gelu'(x) = e·B for x < 0, 1 − e·B for x ≥ 0; B's polynomial around gelu's minimum is
//! centred on its root so gelu' stays accurate next to its zero. e^(−s²/2) is exact in its
//! argument (an f32 squared fits an f64). The tanh form is x·σ(2u) = x / (1 + e^(−2u)), which
//! keeps relative accuracy for negative x where 1 + tanh(u) cancels. No branches: the loops
//! vectorise (8 f64 lanes with AVX-512, the table reads as gathers) and about 1 ns per element
//! replaces ~40-170 ns of the series / continued fraction [`reference`] still evaluates.
//!
//! ±inf and NaN: gelu(+inf) = +inf, gelu(−inf) = NaN (−inf·0, as the float64 reference backend
//! and torch), gelu'(±inf) = NaN; for x < −15 GELU is −0 and its derivative 0 (the exact values
//! underflow f32), for x > 15 GELU is x and its derivative 1.

// e^z in f64 (z in [−708, 709.4]; callers clamp, 710 gives +inf), relative error ~2e-16: the same
// exp as tanh's and sigmoid's.
use crate::fastmath::{exp_f64 as exp, EXPM1_POLY, LN2_HI, LN2_LO, LOG2E, SHIFTER};

include!("gelu_tables.rs");

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const KAPPA: f64 = 0.044715;
/// −2u = x·(W1 + W3·x²), u = √(2/π)·(x + κx³).
const W1: f64 = -2.0 * SQRT_2_OVER_PI;
const W3: f64 = -2.0 * SQRT_2_OVER_PI * KAPPA;
/// Beyond it (|x| > 15) the exact form's Φ is 0 or 1 to far below an f32 ulp.
const CLAMP: f64 = 15.0;

/// e^(−s²/2)·P(s) for the table P (s = |x| clamped to 15; NaN stays NaN).
#[inline(always)]
fn gauss_times(x: f64, center: &[f64; 16], poly: &[[f64; 16]; 12]) -> f64 {
    let s = x.abs();
    let s = if s > CLAMP { CLAMP } else { s };
    // s·s is exact (an f32 squared, or 225), so is its half: e's argument carries no rounding.
    let e = exp(-0.5 * (s * s));
    // Interval j: [0, .5) → 0, [.5, 1) → 1, [k−1, k) → k; t = s + min(s, 1) lands in [j, j + 1)
    // and rounding t − 1/2 gives j (a tie at an edge picks the neighbour, whose fit covers the
    // edge too). The mask keeps the index in range even for NaN.
    let t = s + if s < 1.0 { s } else { 1.0 };
    let t = if t > 15.5 { 15.5 } else { t };
    let j = (((t - 0.5) + SHIFTER).to_bits() & 15) as usize;
    let r = s - center[j];
    let mut p = poly[11][j];
    for c in poly[..11].iter().rev() {
        p = p.mul_add(r, c[j]);
    }
    e * p
}

#[inline(always)]
fn gelu_exact(x: f32) -> f32 {
    let x = x as f64;
    let q = gauss_times(x, &FWD_CENTER, &FWD_POLY);
    let phi = if x < 0.0 { q } else { 1.0 - q };
    let phi = if x < -CLAMP { 0.0 } else { phi };
    (x * phi) as f32
}

#[inline(always)]
fn gelu_exact_grad(x: f32) -> f64 {
    let x = x as f64;
    let q = gauss_times(x, &BWD_CENTER, &BWD_POLY);
    let d = if x < 0.0 { q } else { 1.0 - q };
    let d = if x < -CLAMP { 0.0 } else { d };
    // x − x is NaN for ±inf (as the reference's ∞·0), 0 otherwise.
    d + (x - x)
}

/// −2u clamped to [−700, 709], or 710 above 709 (x < −21): e^(−2u) is then finite and positive,
/// or +inf (710 rounds to k = 1024 with r > 0), where x / (1 + inf) is the −0 the exact value rounds
/// to and −inf / inf the reference's NaN. (709.44 to 709.78 would give k = 1024 with r < 0: NaN.)
#[inline(always)]
fn minus_two_u(x: f64) -> f64 {
    let w = x * W3.mul_add(x * x, W1);
    let w = if w > 709.0 { 710.0 } else { w };
    if w < -700.0 { -700.0 } else { w }
}

#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    let x = x as f64;
    (x / (1.0 + exp(minus_two_u(x)))) as f32
}

/// d/dx x·S with S = σ(2u): S + x·2u'·S·(1 − S) = S·(1 + p). 1 − S is accurate where it matters
/// (x < 0, S small); for x > 0 p only adds to 1.
#[inline(always)]
fn gelu_tanh_grad(x: f32) -> f64 {
    let x = x as f64;
    let s = 1.0 / (1.0 + exp(minus_two_u(x)));
    let p = -(x * (3.0 * W3).mul_add(x * x, W1)) * (1.0 - s);
    s.mul_add(p, s)
}

/// out[i] = gelu(x[i]) (the tanh approximation when `tanh`).
pub fn gelu(x: &[f32], tanh: bool, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "gelu: x and out lengths differ");
    #[inline(always)]
    fn body(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = f(v);
        }
    }
    if tanh {
        crate::cpu::simd(#[inline(always)] || body(x, out, gelu_tanh))
    } else {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: AVX-512F was detected on this CPU; equal lengths were asserted.
            let n = unsafe { avx512::exact(x, None, out) };
            return crate::cpu::simd(#[inline(always)] || body(&x[n..], &mut out[n..], gelu_exact));
        }
        crate::cpu::simd(#[inline(always)] || body(x, out, gelu_exact))
    }
}

/// Whether the exact form's table reads go through AVX-512 permutes (LLVM's auto-vectorised loop
/// reads the tables with gathers, ~4x slower). Tests that force a narrower path get the
/// auto-vectorised loop.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    #[cfg(test)]
    if crate::cpu::TEST_PATH.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        return false;
    }
    crate::cpu::level() == crate::cpu::Level::Avx512
}

/// The exact form 8 f64 lanes at a time, each table (16 f64) held in two registers and read with
/// one two-source permute per coefficient; the same operations in the same order as
/// `gauss_times` and its callers (vminpd(a, b) is `if a < b { a } else { b }`, as written there),
/// so the same bits as every other path.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn table(t: &[f64; 16]) -> (__m512d, __m512d) {
        (_mm512_loadu_pd(t.as_ptr()), _mm512_loadu_pd(t.as_ptr().add(8)))
    }

    /// gelu(x) (or gelu'(x) when `grad`) of 8 lanes.
    #[inline(always)]
    unsafe fn lanes(x: __m512d, center: &[f64; 16], poly: &[[f64; 16]; 12], grad: bool) -> __m512d {
        let s = _mm512_min_pd(_mm512_set1_pd(CLAMP), _mm512_abs_pd(x));
        let z = _mm512_mul_pd(_mm512_mul_pd(s, s), _mm512_set1_pd(-0.5));
        let bias = _mm512_set1_pd(SHIFTER + 1023.0);
        let kf = _mm512_fmadd_pd(z, _mm512_set1_pd(LOG2E), bias);
        let k = _mm512_sub_pd(kf, bias);
        let r = _mm512_fmadd_pd(k, _mm512_set1_pd(-LN2_LO), _mm512_fmadd_pd(k, _mm512_set1_pd(-LN2_HI), z));
        let mut q = _mm512_set1_pd(EXPM1_POLY[10]);
        for &c in EXPM1_POLY[..10].iter().rev() {
            q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(c));
        }
        let scale = _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_castpd_si512(kf)));
        let e = _mm512_fmadd_pd(scale, _mm512_mul_pd(r, q), scale);
        let t = _mm512_add_pd(s, _mm512_min_pd(s, _mm512_set1_pd(1.0)));
        let t = _mm512_min_pd(_mm512_set1_pd(15.5), t);
        let j = _mm512_castpd_si512(_mm512_add_pd(_mm512_sub_pd(t, _mm512_set1_pd(0.5)), _mm512_set1_pd(SHIFTER)));
        let (lo, hi) = table(center);
        let r = _mm512_sub_pd(s, _mm512_permutex2var_pd(lo, j, hi));
        let (lo, hi) = table(&poly[11]);
        let mut p = _mm512_permutex2var_pd(lo, j, hi);
        for c in poly[..11].iter().rev() {
            let (lo, hi) = table(c);
            p = _mm512_fmadd_pd(p, r, _mm512_permutex2var_pd(lo, j, hi));
        }
        let q = _mm512_mul_pd(e, p);
        let neg = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, _mm512_setzero_pd());
        let v = _mm512_mask_blend_pd(neg, _mm512_sub_pd(_mm512_set1_pd(1.0), q), q);
        let far = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, _mm512_set1_pd(-CLAMP));
        let v = _mm512_mask_mov_pd(v, far, _mm512_setzero_pd());
        if grad { _mm512_add_pd(v, _mm512_sub_pd(x, x)) } else { _mm512_mul_pd(x, v) }
    }

    /// out = gelu(x), or dy·gelu'(x) with `dy`, over the first multiple of 8 elements; returns it.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn exact(x: &[f32], dy: Option<&[f32]>, out: &mut [f32]) -> usize {
        let n = x.len() / 8 * 8;
        let (xp, op) = (x.as_ptr(), out.as_mut_ptr());
        let mut i = 0;
        while i < n {
            let v = _mm512_cvtps_pd(_mm256_loadu_ps(xp.add(i)));
            let y = match dy {
                None => lanes(v, &FWD_CENTER, &FWD_POLY, false),
                Some(dy) => _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(dy.as_ptr().add(i))), lanes(v, &BWD_CENTER, &BWD_POLY, true)),
            };
            _mm256_storeu_ps(op.add(i), _mm512_cvtpd_ps(y));
            i += 8;
        }
        n
    }
}

/// dx[i] = dy[i]·gelu'(x[i]), the product taken in f64 and rounded once.
pub fn gelu_backward(x: &[f32], dy: &[f32], tanh: bool, dx: &mut [f32]) {
    assert!(x.len() == dx.len() && dy.len() == dx.len(), "geluBackward: x, dy and dx lengths differ");
    #[inline(always)]
    fn body(x: &[f32], dy: &[f32], dx: &mut [f32], df: impl Fn(f32) -> f64) {
        for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
            *d = (g as f64 * df(v)) as f32;
        }
    }
    if tanh {
        crate::cpu::simd(#[inline(always)] || body(x, dy, dx, gelu_tanh_grad))
    } else {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: AVX-512F was detected on this CPU; equal lengths were asserted.
            let n = unsafe { avx512::exact(x, Some(dy), dx) };
            return crate::cpu::simd(#[inline(always)] || body(&x[n..], &dy[n..], &mut dx[n..], gelu_exact_grad));
        }
        crate::cpu::simd(#[inline(always)] || body(x, dy, dx, gelu_exact_grad))
    }
}

/// The slow, independent evaluation the fast kernels are held to (tests and
/// examples/gelu_exhaustive.rs), as src/backend/gelu-math.ts computes it: erf by its series below
/// 1.5 and erfc by an 80-term continued fraction above, the tanh form as x / (1 + e^(−2u)) with
/// libm's exp. Within an ulp of the exact value except next to the derivative's root, where
/// [`reference::near_root_grad`] (a Taylor expansion at the root) takes over.
pub mod reference {
    const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;
    const INV_SQRT_PI: f64 = 0.564_189_583_547_756_3;
    const SQRT_HALF: f64 = std::f64::consts::FRAC_1_SQRT_2;
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    const KAPPA: f64 = 0.044715;
    const ERF_SPLIT: f64 = 1.5;

    /// erfc(x) for x >= 1.5 by its continued fraction, evaluated from the tail (80 terms).
    fn erfc_large(x: f64) -> f64 {
        let mut t = x;
        for k in (1..=80).rev() {
            t = x + (k as f64 / 2.0) / t;
        }
        (-x * x).exp() * INV_SQRT_PI / t
    }

    /// erf(x) for 0 <= x < 1.5 by its series of positive terms.
    fn erf_small(x: f64) -> f64 {
        let q = 2.0 * x * x;
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= q / (2 * n + 1) as f64;
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
        TWO_OVER_SQRT_PI * (-x * x).exp() * sum
    }

    pub fn erf(x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        let a = x.abs();
        let v = if a < ERF_SPLIT { erf_small(a) } else if a > 6.0 { 1.0 } else { 1.0 - erfc_large(a) };
        if x < 0.0 { -v } else { v }
    }

    pub fn erfc(x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        if x >= ERF_SPLIT {
            return if x > 27.0 { 0.0 } else { erfc_large(x) };
        }
        if x >= 0.0 {
            return 1.0 - erf_small(x);
        }
        1.0 + erf(-x)
    }

    fn normal_cdf(x: f64) -> f64 {
        0.5 * erfc(-x * SQRT_HALF)
    }

    pub fn gelu_exact(x: f64) -> f64 {
        x * normal_cdf(x)
    }

    pub fn gelu_exact_grad(x: f64) -> f64 {
        normal_cdf(x) + x * INV_SQRT_2PI * (-0.5 * x * x).exp()
    }

    fn sigmoid_2u(x: f64) -> f64 {
        1.0 / (1.0 + (-2.0 * SQRT_2_OVER_PI * (x + KAPPA * x * x * x)).exp())
    }

    pub fn gelu_tanh(x: f64) -> f64 {
        x * sigmoid_2u(x)
    }

    /// S + x·2u'·S·(1 − S) with S = σ(2u) and 1 − S = 1 / (1 + 1/e^(−2u)), accurate (relative)
    /// for both signs, and 1 when e^(−2u) overflows.
    pub fn gelu_tanh_grad(x: f64) -> f64 {
        let s = sigmoid_2u(x);
        let e = (-2.0 * SQRT_2_OVER_PI * (x + KAPPA * x * x * x)).exp();
        s + x * 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x) * s * (1.0 / (1.0 + 1.0 / e))
    }

    /// gelu'(x) for |x − x0| < 1e-4 around its root x0 (≈ −0.752, where the f64 evaluations
    /// above cancel), by the Taylor expansion at x0 to the cubic term; root and coefficients from
    /// mpmath (50 digits), x0 as hi + lo. None farther away.
    pub fn near_root_grad(x: f64, tanh: bool) -> Option<f64> {
        let (hi, lo, c1, c2, c3) = if tanh {
            (-0.7524614220710163, 3.635560509207687e-17, 0.4304000910248585, 0.38751844613578895, -0.01578285352184803)
        } else {
            (-0.7517915246935645, 1.4956759177009883e-17, 0.4314939923140469, 0.388284982990552, -0.018199676398671087)
        };
        let d = (x - hi) - lo;
        (d.abs() < 1e-4).then(|| d * (c1 + d * (c2 + d * c3)))
    }
}

/// How many f32 values lie between a and b (0 for equal bits, for ±0 against ±0 and for two NaNs;
/// u32::MAX for a NaN against a number): the tests' and `examples/gelu_exhaustive.rs`'s error measure.
pub fn ulp_distance(a: f32, b: f32) -> u32 {
    if a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0) || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u32::MAX;
    }
    let (ia, ib) = (a.to_bits() as i32, b.to_bits() as i32);
    if (ia < 0) != (ib < 0) {
        return (ia & 0x7fff_ffff) as u32 + (ib & 0x7fff_ffff) as u32;
    }
    (ia - ib).unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::ulp_distance as ulps;


    fn want(x: f32, tanh: bool, grad: bool) -> f32 {
        let v = x as f64;
        let r = match (tanh, grad) {
            (false, false) => reference::gelu_exact(v),
            (false, true) => reference::near_root_grad(v, false).unwrap_or_else(|| reference::gelu_exact_grad(v)),
            (true, false) => reference::gelu_tanh(v),
            (true, true) => reference::near_root_grad(v, true).unwrap_or_else(|| reference::gelu_tanh_grad(v)),
        };
        r as f32
    }

    /// Every 97th f32 bit pattern (44 M inputs: all magnitudes, both signs, NaNs, ±inf), both
    /// forms, forward and backward (dy = 1): within an ulp of the reference rounded once, NaN
    /// where it is NaN.
    #[test]
    fn strided_sweep_within_one_ulp_of_the_reference() {
        let chunk = 1 << 16;
        let (mut xs, mut y, one) = (vec![0f32; chunk], vec![0f32; chunk], vec![1f32; chunk]);
        for (tanh, grad) in [(false, false), (false, true), (true, false), (true, true)] {
            let (mut worst, mut off, mut off_normal, mut n, mut u) = (0u32, 0usize, 0usize, 0usize, 0u64);
            while u < 1 << 32 {
                let mut m = 0;
                while m < chunk && u < 1 << 32 {
                    xs[m] = f32::from_bits(u as u32);
                    m += 1;
                    u += 97;
                }
                if grad {
                    gelu_backward(&xs[..m], &one[..m], tanh, &mut y[..m]);
                } else {
                    gelu(&xs[..m], tanh, &mut y[..m]);
                }
                for i in 0..m {
                    let w = want(xs[i], tanh, grad);
                    let e = ulps(y[i], w);
                    assert!(e <= 1, "tanh={tanh} grad={grad}: at {:e} ({:#010x}) got {:e}, want {:e}", xs[i], xs[i].to_bits(), y[i], w);
                    worst = worst.max(e);
                    off += (e > 0) as usize;
                    off_normal += (e > 0 && w.abs() >= f32::MIN_POSITIVE) as usize;
                }
                n += m;
            }
            // (The forward's are subnormal halfway cases: x/2 for a subnormal x, where the reference's
            // Φ rounds to 1/2 and its tie goes to even; the kernel's Φ is just above 1/2, as is the
            // exact one.)
            eprintln!("gelu tanh={tanh} grad={grad}: {n} inputs, {off} one ulp from the reference rounded once ({off_normal} of them normal), worst {worst}");
        }
    }

    /// Every f32 within 1e-4 of the roots of gelu' (where its reference cancels), against the
    /// Taylor expansion there, and values at the ends and specials.
    #[test]
    fn next_to_the_derivative_root_and_at_the_edges() {
        for tanh in [false, true] {
            let mid: f32 = if tanh { -0.7524614 } else { -0.7517915 };
            let (lo, hi) = ((mid + 0.9e-4).to_bits(), (mid - 0.9e-4).to_bits());
            let xs: Vec<f32> = (lo..=hi).map(f32::from_bits).collect();
            let mut d = vec![0f32; xs.len()];
            gelu_backward(&xs, &vec![1.0; xs.len()], tanh, &mut d);
            let signs = d.iter().filter(|v| **v < 0.0).count();
            assert!(signs > 0 && signs < xs.len(), "gelu' changes sign at the root");
            for (x, g) in xs.iter().zip(&d) {
                let w = reference::near_root_grad(*x as f64, tanh).unwrap() as f32;
                assert!(ulps(*g, w) <= 1, "tanh={tanh}: gelu'({x:e}) = {g:e}, want {w:e}");
            }
        }
        let xs = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0, 0.0, 15.0, -15.0, 15.000001, -15.000001, 40.0, -40.0, -1e30, 1e30, f32::MAX, f32::MIN];
        for tanh in [false, true] {
            let (mut y, mut d) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
            gelu(&xs, tanh, &mut y);
            gelu_backward(&xs, &[1.0; 15], tanh, &mut d);
            assert_eq!(y[0], f32::INFINITY);
            assert!(y[1].is_nan() && y[2].is_nan() && d[0].is_nan() && d[1].is_nan() && d[2].is_nan());
            assert_eq!((y[3].to_bits(), y[4].to_bits()), ((-0f32).to_bits(), 0));
            assert_eq!((d[3], d[4]), (0.5, 0.5));
            for i in 5..xs.len() {
                let x = xs[i];
                let (wy, wd) = if x > 0.0 { (x, 1.0) } else if x < -14.0 { (-0.0, 0.0) } else { (want(x, tanh, false), want(x, tanh, true)) };
                assert!(ulps(y[i], wy) <= 1 && y[i].is_sign_negative() == wy.is_sign_negative() || wy != 0.0 && ulps(y[i], wy) <= 1, "tanh={tanh}: gelu({x}) = {:e}", y[i]);
                assert!(ulps(d[i], wd) <= 1, "tanh={tanh}: gelu'({x}) = {:e}", d[i]);
            }
        }
    }

    #[test]
    fn erf_matches_known_values() {
        // erf(0.5), erf(1), erf(2), erf(3) to 16 digits (Abramowitz and Stegun tables).
        for (x, want) in [(0.5, 0.520_499_877_813_046_5), (1.0, 0.842_700_792_949_714_9), (2.0, 0.995_322_265_018_952_7), (3.0, 0.999_977_909_503_001_4)] {
            assert!((reference::erf(x) - want).abs() < 1e-14, "erf({x}) = {}", reference::erf(x));
            assert!((reference::erf(-x) + want).abs() < 1e-14);
        }
        assert_eq!(reference::erf(f64::INFINITY), 1.0);
        assert!(reference::erf(f64::NAN).is_nan());
        assert!((reference::erfc(10.0) - 2.088_487_583_762_545e-45).abs() < 1e-57);
    }

    /// The derivative against central differences of the forward, and dy scaling in f64.
    #[test]
    fn derivative_matches_finite_differences_and_scales_by_dy() {
        let x: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.25).collect();
        for tanh in [false, true] {
            let f = |t: f64| if tanh { reference::gelu_tanh(t) } else { reference::gelu_exact(t) };
            let mut dx = vec![0f32; x.len()];
            gelu_backward(&x, &vec![1.0; x.len()], tanh, &mut dx);
            for i in 0..x.len() {
                let v = x[i] as f64;
                let fd = (f(v + 1e-6) - f(v - 1e-6)) / 2e-6;
                assert!((dx[i] as f64 - fd).abs() < 1e-5, "gelu' at {v}: {} vs {fd}", dx[i]);
            }
            let dy: Vec<f32> = (0..x.len()).map(|i| (i as f32 - 30.0) * 0.37).collect();
            let mut scaled = vec![0f32; x.len()];
            gelu_backward(&x, &dy, tanh, &mut scaled);
            for i in 0..x.len() {
                let d = if tanh { gelu_tanh_grad(x[i]) } else { gelu_exact_grad(x[i]) };
                assert_eq!(scaled[i].to_bits(), ((dy[i] as f64 * d) as f32).to_bits());
            }
        }
    }

    /// The baseline, AVX2 and AVX-512 builds give the same bits (FMAs are exact-rounded on each),
    /// at every length around the vector widths.
    #[test]
    fn every_path_and_length_gives_the_same_bits() {
        let xs: Vec<f32> = (0..2000).map(|i| (i as f32 - 1000.0) * 0.0173).chain([f32::NAN, f32::INFINITY, -1e20, 3e-39]).collect();
        let dy: Vec<f32> = (0..xs.len()).map(|i| 1.0 - i as f32 * 1e-3).collect();
        let mut base: Vec<Vec<u32>> = vec![];
        crate::cpu::for_each_path(|name| {
            let mut got = vec![];
            for tanh in [false, true] {
                let (mut y, mut d) = (vec![0f32; xs.len()], vec![0f32; xs.len()]);
                gelu(&xs, tanh, &mut y);
                gelu_backward(&xs, &dy, tanh, &mut d);
                got.push(y.iter().chain(&d).map(|v| v.to_bits()).collect::<Vec<_>>());
                for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 33] {
                    let mut yn = vec![0f32; n];
                    gelu(&xs[..n], tanh, &mut yn);
                    assert!(yn.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}: length {n}");
                }
            }
            if base.is_empty() {
                base = got;
            } else {
                assert!(base == got, "{name} differs from the baseline");
            }
        });
    }
}
