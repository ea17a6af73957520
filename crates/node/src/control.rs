//! The deliberate panic used by the tests (installed through the kernels' entry point, fast.rs).

use napi::Result;
use napi_derive::napi;

/// Panics on purpose: the tests check that this surfaces as a JS Error and later calls still work.
/// `resume_unwind` unwinds exactly like `panic!` but skips the panic hook, so test logs stay free
/// of a backtrace for a panic that is expected.
#[napi(catch_unwind)]
pub fn debug_panic() -> Result<()> {
    std::panic::resume_unwind(Box::new("debugPanic: deliberate panic inside the native addon"));
}
