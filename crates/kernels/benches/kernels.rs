//! `cargo bench -p ferrograd-kernels --bench kernels [filter]`: µs per call of the non-matmul
//! kernels of the part 3 MLP and WaveNet steps, at batch 1024 and 32, with 1 and 2 threads.
//! The best of many timed runs (the machines are shared, so the minimum is the steadiest figure).

use ferrograd_kernels::elementwise::{binary, unary, unary_backward, BinaryOp, UnaryOp};
use ferrograd_kernels::{batchnorm, cross_entropy, gelu, pool};
use std::hint::black_box;
use std::time::Instant;

mod common;

/// The bench's inputs: values in [-2, 2).
fn data(n: usize, seed: u32) -> Vec<f32> {
    common::data(n, seed, 4.0)
}

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// Seconds of CPU time of the calling thread (Linux's CLOCK_THREAD_CPUTIME_ID): on a shared
/// machine, time spent descheduled does not count.
fn thread_cpu() -> f64 {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: a valid pointer to a struct laid out as the C timespec on 64-bit Linux.
    unsafe { clock_gettime(3, &mut ts) };
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

/// Best seconds per call over ~0.2 s of runs, after warm-up: wall time, and the calling
/// thread's CPU time.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.01 / once) as usize).clamp(1, 100_000);
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..21 {
        let (t, c) = (Instant::now(), thread_cpu());
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        best_cpu = best_cpu.min((thread_cpu() - c) / reps as f64);
    }
    (best, best_cpu)
}

/// With FERROGRAD_BENCH_FLUSH=<MB>: µs of single calls, each after writing <MB> of other memory
/// (untimed), so the kernel's operands come from L3 or DRAM as inside a training step rather than
/// from the L2 of the previous call; (best, median) of 41 calls: the calling thread's CPU time,
/// or wall time (`wall`, for calls split between threads).
fn time_cold(flush: &mut [u64], f: &mut dyn FnMut(), wall: bool) -> (f64, f64) {
    let mut ts: Vec<f64> = (0..41)
        .map(|i| {
            flush.iter_mut().for_each(|v| *v = v.wrapping_add(i));
            black_box(&flush);
            let (t, c) = (Instant::now(), thread_cpu());
            f();
            if wall { t.elapsed().as_secs_f64() } else { thread_cpu() - c }
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    (ts[0], ts[20])
}

fn main() {
    let flush_mb: usize = std::env::var("FERROGRAD_BENCH_FLUSH").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let flush = std::cell::RefCell::new(vec![0u64; flush_mb << 17]);
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    println!("cpu: {}", ferrograd_kernels::cpu::features());
    println!("{:<40} {:>10} {:>10} {:>10}", "kernel (best µs per call)", "1 thr cpu", "1 thr wall", "2 thr wall");
    let row = |name: String, f: &mut dyn FnMut()| {
        if !want(&name) {
            return;
        }
        pool::set_num_threads(1).unwrap();
        if flush_mb > 0 {
            let (best, median) = time_cold(&mut flush.borrow_mut(), &mut *f, false);
            pool::set_num_threads(2).unwrap();
            let (best2, median2) = time_cold(&mut flush.borrow_mut(), &mut *f, true);
            println!(
                "{:<40} {:>10.2} {:>10.2} {:>10.2} {:>10.2}   (after a {flush_mb} MB flush: best, median CPU µs on 1 thread; best, median wall µs on 2)",
                name, best * 1e6, median * 1e6, best2 * 1e6, median2 * 1e6
            );
            return;
        }
        let (one, cpu) = time(&mut *f);
        pool::set_num_threads(2).unwrap();
        let (two, _) = time(&mut *f);
        println!("{:<40} {:>10.2} {:>10.2} {:>10.2}", name, cpu * 1e6, one * 1e6, two * 1e6);
    };
    for &(n, c) in &[(1024usize, 200usize), (32, 200), (1024, 128), (128, 128), (64, 128), (32, 128), (32, 27), (1024, 27)] {
        let x = data(n * c, 1);
        let dy = data(n * c, 2);
        let g = data(c, 3);
        let b = data(c, 4);
        let (mut out, mut m, mut v, mut is) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c], vec![0f32; c]);
        row(format!("batchNormForward [{n},{c}]"), &mut || {
            batchnorm::forward(black_box(&x), n, c, Some(&g), Some(&b), 1e-5, 1, true, &mut out, &mut m, &mut v, &mut is)
        });
        let (mut dx, mut dg, mut db) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c]);
        row(format!("batchNormBackward [{n},{c}]"), &mut || {
            batchnorm::backward(black_box(&x), &dy, n, c, &m, &is, Some(&g), 1, Some(&mut dx), Some(&mut dg), Some(&mut db))
        });
        let mut t = vec![0f32; n * c];
        row(format!("tanh [{n},{c}]"), &mut || unary(UnaryOp::Tanh, black_box(&x), &mut t));
        let mut d = vec![0f32; n * c];
        row(format!("tanh backward [{n},{c}]"), &mut || unary_backward(UnaryOp::Tanh, black_box(&x), &t, &dy, &mut d));
        let mut o = vec![0f32; n * c];
        row(format!("add [{n},{c}] + [{c}]"), &mut || {
            binary(BinaryOp::Add, black_box(&x), 0, &[c, 1], &b, 0, &[0, 1], &mut o, &[n, c])
        });
    }
    // The WaveNet's embedding at batch 32: 256 rows of 24 from a 27x24 table, and its backward.
    for &(rows, row_size, nidx) in &[(27usize, 24usize, 256usize), (27, 10, 3072)] {
        let table = data(rows * row_size, 6);
        let idx: Vec<i32> = (0..nidx).map(|i| ((i * 7 + i / 3) % rows) as i32).collect();
        let mut out = vec![0f32; nidx * row_size];
        row(format!("indexSelect {nidx} rows of [{rows},{row_size}]"), &mut || {
            ferrograd_kernels::gather::index_select(black_box(&table), row_size, &idx, &mut out)
        });
        let src = data(nidx * row_size, 7);
        let mut dst = vec![0f32; rows * row_size];
        row(format!("indexAdd {nidx} rows into [{rows},{row_size}]"), &mut || {
            ferrograd_kernels::gather::index_add(black_box(&src), row_size, &idx, &mut dst)
        });
    }
    for &(n, c) in &[(1024usize, 27usize), (32, 27)] {
        let x = data(n * c, 5);
        let t: Vec<i32> = (0..n).map(|i| (i * 7 % c) as i32).collect();
        let mut p = vec![0f32; n * c];
        row(format!("crossEntropyForward [{n},{c}]"), &mut || {
            black_box(cross_entropy::forward(black_box(&x), n, c, &t, -100, &mut p));
        });
        let mut dx = vec![0f32; n * c];
        row(format!("crossEntropyBackward [{n},{c}]"), &mut || {
            cross_entropy::backward(black_box(&p), n, c, &t, -100, 1.0 / n as f32, &mut dx)
        });
    }
    // F.gelu on a transformer MLP's hidden activations ([512, 256], values in [-4, 4)), both forms.
    {
        let (n, c) = (512usize, 256usize);
        let x = common::data(n * c, 8, 8.0);
        let dy = data(n * c, 9);
        let (mut y, mut dx) = (vec![0f32; n * c], vec![0f32; n * c]);
        for (form, tanh) in [("exact", false), ("tanh", true)] {
            row(format!("gelu {form} [{n},{c}]"), &mut || gelu::gelu(black_box(&x), tanh, &mut y));
            row(format!("gelu {form} backward [{n},{c}]"), &mut || gelu::gelu_backward(black_box(&x), &dy, tanh, &mut dx));
        }
    }
}
