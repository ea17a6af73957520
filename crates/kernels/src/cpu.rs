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

/// Whether the AVX-512 subsets the auto-vectorised loops are compiled for (F, DQ, BW, VL) are all
/// present; Level::Avx512 itself only promises F (what the matmul kernels need).
pub(crate) fn avx512_full() -> bool {
    static FULL: OnceLock<bool> = OnceLock::new();
    *FULL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            level() == Level::Avx512
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

/// Runs `f` compiled for the widest instruction set of this CPU (AVX-512, AVX2+FMA, or the
/// baseline). Pass an `#[inline(always)]` closure whose hot loops call only `#[inline(always)]`
/// code, so its body is compiled inside the feature-enabled function and LLVM vectorises it for
/// that width. Rust never contracts a·b + c into an FMA, so every path gives the same bits.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[cfg(test)]
        match TEST_PATH.load(std::sync::atomic::Ordering::Relaxed) {
            1 => return f(),
            // SAFETY: as below.
            2 if level() != Level::Scalar => return unsafe { avx2(f) },
            _ => {}
        }
        // SAFETY: each path runs only when its features were detected on this CPU.
        match level() {
            Level::Avx512 if avx512_full() => return unsafe { avx512(f) },
            Level::Avx512 | Level::Avx2Fma => return unsafe { avx2(f) },
            Level::Scalar => {}
        }
    }
    f()
}

/// Tests force a narrower path of `simd` with this: 0 the detected one, 1 baseline, 2 AVX2+FMA.
#[cfg(test)]
pub(crate) static TEST_PATH: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Runs `f` once per path of `simd` this CPU has (baseline, AVX2+FMA, the detected one), holding
/// the test lock that also guards the thread count.
#[cfg(test)]
pub(crate) fn for_each_path(mut f: impl FnMut(&str)) {
    use std::sync::atomic::Ordering::Relaxed;
    let _g = crate::testutil::THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (code, name) in [(1u8, "baseline"), (2, "avx2"), (0, features())] {
        if code == 2 && level() == Level::Scalar {
            continue;
        }
        TEST_PATH.store(code, Relaxed);
        f(name);
    }
    TEST_PATH.store(0, Relaxed);
}

/// A cache hint for the line holding `p`: never faults, whatever the address, and changes no
/// value (a no-op off x86_64). Shared by the kernels' prefetching loops and the addon's tape.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and cannot fault.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
