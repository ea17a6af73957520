//! Shared helpers for the unit tests: a tiny deterministic RNG and float comparisons.

use std::sync::Mutex;

/// Tests that change the global thread count hold this so they do not race each other.
pub static THREAD_LOCK: Mutex<()> = Mutex::new(());

/// SplitMix64: reproducible test data without pulling in a crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.uniform()).collect()
    }
}

/// Asserts |a - b| <= atol + rtol·|b| elementwise, naming the first offending index.
pub fn assert_close(got: &[f32], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        let ok = (g - w).abs() <= atol + rtol * w.abs() || (g.is_nan() && w.is_nan()) || g == w;
        assert!(ok, "{what}: index {i}: got {g}, want {w}");
    }
}

/// The SIMD-width edge sizes every kernel is tested at, plus one large size.
pub const EDGE_SIZES: &[usize] = &[0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100_003];

/// C (+)= op(A)·op(B) in float64, with A stored m×k (k×m when ta) and B k×n (n×k when tb), C m×n
/// (its old values `c0` added when `acc`): the reference the matrix-product tests hold kernels to.
#[allow(clippy::too_many_arguments)]
pub fn naive_matmul(a: &[f32], ta: bool, b: &[f32], tb: bool, c0: &[f32], m: usize, k: usize, n: usize, acc: bool) -> Vec<f64> {
    let mut out = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = if acc { c0[i * n + j] as f64 } else { 0.0 };
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                s += av as f64 * bv as f64;
            }
            out[i * n + j] = s;
        }
    }
    out
}
