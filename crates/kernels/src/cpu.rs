//! Run-time CPU feature detection (the addon is never built with `target-cpu=native`).

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Scalar,
    Avx2Fma,
    Avx512,
}

static LEVEL: OnceLock<Level> = OnceLock::new();

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var_os("FERROGRAD_FORCE_SCALAR").is_some() {
            return Level::Scalar;
        }
        if is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Level::Avx2Fma;
        }
    }
    Level::Scalar
}

/// The best SIMD level the hand-written kernels can use on this machine.
pub fn level() -> Level {
    *LEVEL.get_or_init(detect)
}

/// A short description for diagnostics: "avx512f", "avx2+fma" or "scalar".
pub fn features() -> &'static str {
    match level() {
        Level::Avx512 => "avx512f",
        Level::Avx2Fma => "avx2+fma",
        Level::Scalar => "scalar",
    }
}
