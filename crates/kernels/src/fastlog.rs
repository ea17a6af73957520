//! A natural log in f64 that vectorises (libm's `ln` is a call per element), for the
//! cross-entropy loss: one log per row, which at 27 columns cost a fifth of the forward.

const LN2_HI: f64 = 0.693_147_180_369_123_8; // 32 significant bits: k·LN2_HI is exact
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// The bits of √½: subtracting them splits x as 2^k·m with m in [√½, √2).
const SQRT_HALF_BITS: u64 = 0x3FE6_A09E_667F_3BCD;

/// ln(x) within 1 ulp (see the tests), branch-free: x = 2^k·m with m in [√½, √2), f = m − 1
/// (exact), u = f/(2 + f), and ln(1 + f) = 2·atanh(u) = f − u·(f − 2·T(u²)) with
/// T(z) = z/3 + z²/5 + … + z¹¹/23 (|u| ≤ 0.1716, so the first term left out is below 2^-57 of the
/// result). ln 1 = 0 exactly, ln 0 = −inf, ln(+inf) = +inf, NaN for NaN and negative x, as libm.
#[inline(always)]
pub(crate) fn ln_one(x: f64) -> f64 {
    // Subnormal x: scaled into the normal range first (2^54), with k lowered to match.
    let sub = x < f64::MIN_POSITIVE;
    let xs = if sub { x * 18_014_398_509_481_984.0 } else { x };
    let t = xs.to_bits().wrapping_sub(SQRT_HALF_BITS);
    let k = ((t as i64) >> 52) as f64 - if sub { 54.0 } else { 0.0 };
    let m = f64::from_bits((t & 0x000F_FFFF_FFFF_FFFF).wrapping_add(SQRT_HALF_BITS));
    let f = m - 1.0;
    let u = f / (2.0 + f);
    let z = u * u;
    let mut q: f64 = 1.0 / 23.0;
    for d in [21.0f64, 19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        q = q.mul_add(z, 1.0 / d);
    }
    let two_t = 2.0 * (z * q);
    let ln1p = f - u * (f - two_t);
    let r = k.mul_add(LN2_HI, k.mul_add(LN2_LO, ln1p));
    // The formula's lanes for the special inputs are garbage; these selects replace them.
    let r = if x == 0.0 { f64::NEG_INFINITY } else { r };
    let r = if x == f64::INFINITY { x } else { r };
    if x < 0.0 { f64::NAN } else if x.is_nan() { x } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// Every 7th f32 in [1, 4096] (what a cross-entropy row sum of up to 4096 columns can be; all
    /// of them passed once, in 12 s), and a spread of f64 from the subnormals to the largest:
    /// within 1 ulp of libm's ln, exact on most; the vectorised loop as the scalar code.
    #[test]
    fn within_one_ulp_of_libm() {
        let mut xs: Vec<f64> = (1f32.to_bits()..=4096f32.to_bits()).step_by(7).map(|b| f32::from_bits(b) as f64).collect();
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2_000_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            xs.push(f64::from_bits(s >> 1)); // every positive bit pattern, incl. subnormals, inf, NaN
        }
        xs.extend_from_slice(&[f64::MIN_POSITIVE, 5e-324, 1.0 - 1e-16, 1.0 + 2e-16, std::f64::consts::FRAC_1_SQRT_2, std::f64::consts::SQRT_2, f64::MAX]);
        let mut got = vec![0f64; xs.len()];
        crate::cpu::simd(#[inline(always)] || {
            for (g, &x) in got.iter_mut().zip(&xs) {
                *g = ln_one(x);
            }
        });
        let (mut worst, mut exact) = (0u64, 0usize);
        for (i, (&x, &g)) in xs.iter().zip(&got).enumerate() {
            let want = x.ln();
            if x.is_nan() {
                assert!(g.is_nan(), "ln({x})");
                continue;
            }
            let d = ulps(g, want);
            assert!(d <= 1, "ln({x:e}) = {g:e}, libm {want:e} ({d} ulps)");
            if i % 64 == 0 {
                assert_eq!(g.to_bits(), ln_one(x).to_bits(), "ln({x:e}): vector and scalar differ");
            }
            worst = worst.max(d);
            exact += (d == 0) as usize;
        }
        eprintln!("ln_one: worst {worst} ulp, {exact} of {} exact", xs.len());
        assert!(exact as f64 > 0.95 * xs.len() as f64, "only {exact} of {} exact", xs.len());
    }

    #[test]
    fn special_values() {
        assert_eq!(ln_one(1.0).to_bits(), 0f64.to_bits());
        assert_eq!(ln_one(0.0), f64::NEG_INFINITY);
        assert_eq!(ln_one(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln_one(f64::INFINITY), f64::INFINITY);
        assert!(ln_one(-1.0).is_nan() && ln_one(f64::NEG_INFINITY).is_nan() && ln_one(f64::NAN).is_nan());
        assert_eq!(ln_one(2.0), std::f64::consts::LN_2);
        assert_eq!(ln_one(std::f64::consts::E), 1.0);
    }
}
