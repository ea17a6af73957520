//! Thread-count control, CPU feature report and the deliberate panic used by the tests.

use crate::check::Checker;
use napi::Result;
use napi_derive::napi;

/// Sets the number of threads parallel kernels use (1..=1024).
#[napi(catch_unwind)]
pub fn set_num_threads(n: f64) -> Result<()> {
    let k = Checker("setNumThreads");
    let n = k.size("n", n)?;
    ferrograd_kernels::pool::set_num_threads(n).map_err(|e| k.err(e.trim_start_matches("setNumThreads: ")))
}

/// Number of threads parallel kernels use.
#[napi(catch_unwind)]
pub fn get_num_threads() -> u32 {
    ferrograd_kernels::pool::num_threads() as u32
}

/// SIMD level detected at run time: "avx512f", "avx2+fma" or "scalar".
#[napi(catch_unwind)]
pub fn cpu_features() -> String {
    ferrograd_kernels::cpu::features().to_string()
}

/// Panics on purpose: the tests check that this surfaces as a JS Error and later calls still work.
/// `resume_unwind` unwinds exactly like `panic!` but skips the panic hook, so test logs stay free
/// of a backtrace for a panic that is expected.
#[napi(catch_unwind)]
pub fn debug_panic() -> Result<()> {
    std::panic::resume_unwind(Box::new("debugPanic: deliberate panic inside the native addon"));
}

