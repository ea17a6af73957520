//! glibc's allocator settings for a training process.
//!
//! Tensor storage is JavaScript's (ArrayBuffers, freed by the GC), and Node takes it from malloc.
//! By default glibc serves blocks above 128 KiB (a 1024x200 activation is 800 KB) with fresh
//! mmap'd pages and returns freed heap tops to the kernel, so each step of a large model faults in
//! and zeroes its activations again: measured 1,060 µs for a 1024x30 @ 30x200 product through the
//! tensor API against 158 µs for the kernel alone, and a 4 MB 1024³ output costing more than the
//! product. numpy pays the same (its "malloc tuned" bench row sets these through GLIBC_TUNABLES).
//! At load the addon therefore keeps blocks up to 32 MiB on the heap and up to 512 MiB of freed
//! heap in the process, so freed tensors are reused instead of faulted in again. The memory is
//! still freed by the GC and reused by the process; only its return to the OS is deferred.
//! `FERROGRAD_MALLOC=default` (or any GLIBC_TUNABLES setting a malloc threshold) leaves glibc as is.

/// Applies the settings once (at addon load); a no-op outside glibc.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var("FERROGRAD_MALLOC").is_ok_and(|v| v == "default") {
            return;
        }
        if std::env::var("GLIBC_TUNABLES").is_ok_and(|v| v.contains("malloc.mmap_threshold") || v.contains("malloc.trim_threshold")) {
            return;
        }
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes glibc's thresholds; both values are in range.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 512 << 20);
        }
    }
}
