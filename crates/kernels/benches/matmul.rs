//! `cargo bench -p ferrograd-kernels --bench matmul`: GFLOP/s of each matmul path at 1024³ and at
//! the lecture shapes, with 1 and 2 threads. A plain harness (no criterion): median of timed runs.

use ferrograd_kernels::matmul::{choose_path, matmul, matmul_with_path, path_available, Path};
use ferrograd_kernels::pool;
use std::hint::black_box;
use std::time::Instant;

mod common;

/// The bench's inputs: values in [-0.5, 0.5).
fn data(n: usize, seed: u32) -> Vec<f32> {
    common::data(n, seed, 1.0)
}

/// Seconds per call: the fastest of 201 short runs (0.2 ms each) after warm-up. The machines are
/// shared: the fastest run is the one least disturbed by other processes, and with runs much
/// shorter than a scheduler time slice some of them are not disturbed at all.
fn time(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.0002 / once) as usize).clamp(1, 100_000);
    let mut samples = Vec::new();
    for _ in 0..201 {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        samples.push(t.elapsed().as_secs_f64() / reps as f64);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[0]
}

/// The span of fresh outputs the cold-output figure cycles through.
const COLD_BYTES: usize = 48 << 20;

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let shapes: &[(&str, usize, usize, usize, bool, bool)] = &[
        ("32x30 @ 30x200", 32, 30, 200, false, false),
        ("32x200 @ 200x27", 32, 200, 27, false, false),
        ("32x200 @ 200x200", 32, 200, 200, false, false),
        ("dW1 = X^T dH  (30x32 @ 32x200)", 30, 32, 200, true, false),
        ("dX = dH W1^T  (32x200 @ 200x30)", 32, 200, 30, false, true),
        ("dW2 = H^T dL  (200x32 @ 32x27)", 200, 32, 27, true, false),
        ("dH = dL W2^T  (32x27 @ 27x200)", 32, 27, 200, false, true),
        ("dW = H^T dY   (200x32 @ 32x200)", 200, 32, 200, true, false),
        ("dH = dY W^T   (32x200 @ 200x200)", 32, 200, 200, false, true),
        ("B=256 fwd (256x30 @ 30x200)", 256, 30, 200, false, false),
        ("B=256 fwd2 (256x200 @ 200x27)", 256, 200, 27, false, false),
        ("B=1024 32x30 fwd (1024x30 @ 30x200)", 1024, 30, 200, false, false),
        ("B=1024 fwd2 (1024x200 @ 200x27)", 1024, 200, 27, false, false),
        ("B=1024 dW1 (30x1024 @ 1024x200)", 30, 1024, 200, true, false),
        ("B=1024 dW2 (200x1024 @ 1024x27)", 200, 1024, 27, true, false),
        ("B=1024 dH (1024x27 @ 27x200)", 1024, 27, 200, false, true),
        ("B=1024 dX (1024x200 @ 200x30)", 1024, 200, 30, false, true),
        ("WaveNet L1 (128x48 @ 48x128)", 128, 48, 128, false, false),
        ("WaveNet L2 (64x256 @ 256x128)", 64, 256, 128, false, false),
        ("WaveNet L3 (32x256 @ 256x128)", 32, 256, 128, false, false),
        ("WaveNet out (32x128 @ 128x27)", 32, 128, 27, false, false),
        ("WaveNet dWout (128x32 @ 32x27)", 128, 32, 27, true, false),
        ("WaveNet dH3 (32x27 @ 27x128)", 32, 27, 128, false, true),
        ("WaveNet dW3 (256x32 @ 32x128)", 256, 32, 128, true, false),
        ("WaveNet dX3 (32x128 @ 128x256)", 32, 128, 256, false, true),
        ("WaveNet dW2 (256x64 @ 64x128)", 256, 64, 128, true, false),
        ("WaveNet dX2 (64x128 @ 128x256)", 64, 128, 256, false, true),
        ("WaveNet dW1 (48x128 @ 128x128)", 48, 128, 128, true, false),
        ("WaveNet dX1 (128x128 @ 128x48)", 128, 128, 48, false, true),
        ("sweep 128x256x256", 128, 256, 256, false, false),
        ("sweep 256x256x256", 256, 256, 256, false, false),
        ("sweep 512x64x512", 512, 64, 512, false, false),
        ("sweep 64x2048x64 A^T", 64, 2048, 64, true, false),
        ("sweep 2048x100x64", 2048, 100, 64, false, false),
        ("sweep 384x384x384", 384, 384, 384, false, false),
        ("1024^3", 1024, 1024, 1024, false, false),
        ("1024^3 A^T", 1024, 1024, 1024, true, false),
        ("1024^3 B^T", 1024, 1024, 1024, false, true),
    ];
    println!("cpu: {}", ferrograd_kernels::cpu::features());
    println!("{:<36} {:>7} {:>6} {:>11} {:>9}  {}", "shape", "path", "thr", "time", "GFLOP/s", "others");
    for &(name, m, k, n, ta, tb) in shapes {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let a = data(m * k, 1);
        let b = data(k * n, 2);
        let mut c = vec![0f32; m * n];
        let flop = 2.0 * m as f64 * n as f64 * k as f64;
        for threads in [1usize, 2] {
            pool::set_num_threads(threads).unwrap();
            let chosen = choose_path(m, k, n, ta, tb);
            let t = time(|| matmul(black_box(&a), 0, 0, ta, &b, 0, 0, tb, &mut c, 1, m, k, n, false));
            let mut others = String::new();
            for path in [Path::Bcast, Path::Dot, Path::Sgemm, Path::Gemm] {
                if path == chosen || !path_available(path, ta, tb) {
                    continue;
                }
                if m * n * k > (1 << 27) && !matches!(path, Path::Gemm | Path::Sgemm) {
                    continue; // the hand-written kernels are not meant for this size
                }
                let t2 = time(|| matmul_with_path(path, black_box(&a), ta, &b, tb, &mut c, m, k, n, false));
                others += &format!("{path:?} {:.2}us {:.1}  ", t2 * 1e6, flop / t2 / 1e9);
            }
            // Into fresh memory, as the tensor API sees it: a new output per call, its lines last
            // touched some 40 MB of outputs ago (the garbage collector frees storage in batches).
            let cold = if m * n <= 1 << 20 && threads == 1 {
                let slots = (COLD_BYTES / (m * n * 4)).max(2);
                let mut arena = vec![0f32; slots * m * n];
                arena.fill(1.0); // mapped now, not on a first touch inside the timing
                let mut at = 0;
                let t = time(|| {
                    let c = &mut arena[at * m * n..][..m * n];
                    matmul(black_box(&a), 0, 0, ta, &b, 0, 0, tb, c, 1, m, k, n, false);
                    at = (at + 1) % slots;
                });
                format!("cold out {:.2}us  ", t * 1e6)
            } else {
                String::new()
            };
            println!("{:<36} {:>7} {:>6} {:>9.2}us {:>9.1}  {}{}", name, format!("{chosen:?}"), threads,
                t * 1e6, flop / t / 1e9, cold, others);
        }
    }
}
