//! GELU, x·Φ(x) or torch's tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), and
//! its closed-form derivative. Each element is computed in f64 and rounded once to f32 (so the
//! result is within an ulp of the exact value); erf is evaluated as src/backend/gelu-math.ts
//! does (a series below 1.5, a continued fraction for erfc above), so the native and reference
//! backends compute the same function.

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

fn gelu_exact(x: f64) -> f64 {
    x * normal_cdf(x)
}

fn gelu_exact_grad(x: f64) -> f64 {
    normal_cdf(x) + x * INV_SQRT_2PI * (-0.5 * x * x).exp()
}

fn gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + KAPPA * x * x * x)).tanh())
}

fn gelu_tanh_grad(x: f64) -> f64 {
    let t = (SQRT_2_OVER_PI * (x + KAPPA * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x)
}

/// out[i] = gelu(x[i]) (the tanh approximation when `tanh`).
pub fn gelu(x: &[f32], tanh: bool, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "gelu: x and out lengths differ");
    let f = if tanh { gelu_tanh } else { gelu_exact };
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v as f64) as f32;
    }
}

/// dx[i] = dy[i]·gelu'(x[i]), the product taken in f64 and rounded once.
pub fn gelu_backward(x: &[f32], dy: &[f32], tanh: bool, dx: &mut [f32]) {
    assert!(x.len() == dx.len() && dy.len() == dx.len(), "geluBackward: x, dy and dx lengths differ");
    let df = if tanh { gelu_tanh_grad } else { gelu_exact_grad };
    for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        *d = (g as f64 * df(v as f64)) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // erf(0.5), erf(1), erf(2), erf(3) to 16 digits (Abramowitz and Stegun tables).
        for (x, want) in [(0.5, 0.520_499_877_813_046_5), (1.0, 0.842_700_792_949_714_9), (2.0, 0.995_322_265_018_952_7), (3.0, 0.999_977_909_503_001_4)] {
            assert!((erf(x) - want).abs() < 1e-14, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + want).abs() < 1e-14);
        }
        assert_eq!(erf(f64::INFINITY), 1.0);
        assert!(erf(f64::NAN).is_nan());
        assert!((erfc(10.0) - 2.088_487_583_762_545e-45).abs() < 1e-57);
    }

    #[test]
    fn gelu_and_its_derivative() {
        let x: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.25).collect();
        for tanh in [false, true] {
            let mut y = vec![0f32; x.len()];
            gelu(&x, tanh, &mut y);
            let dy = vec![1f32; x.len()];
            let mut dx = vec![0f32; x.len()];
            gelu_backward(&x, &dy, tanh, &mut dx);
            for i in 0..x.len() {
                let v = x[i] as f64;
                let f = |t: f64| if tanh { gelu_tanh(t) } else { gelu_exact(t) };
                let fd = (f(v + 1e-6) - f(v - 1e-6)) / 2e-6;
                assert!((dx[i] as f64 - fd).abs() < 1e-5, "gelu' at {v}: {} vs {fd}", dx[i]);
                assert!((y[i] as f64 - f(v)).abs() <= f(v).abs() * 1e-7 + 1e-30);
            }
            assert!(y[0].is_finite() && y[0] <= 0.0);
        }
    }
}
