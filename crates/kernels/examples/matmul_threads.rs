//! `cargo run --release -p ferrograd-kernels --example matmul_threads -- [threads] [reps] [calls] [MxKxN]`
//! (default 2 7 100 1024x1024x1024): GFLOP/s of `matmul` over `reps` repeats of `calls` calls
//! (median and best, as the tensor-API bench and numpy's script time them), with each thread's
//! time on a core and time runnable but off a core per call (/proc/self/task/*/schedstat) and
//! GFLOP per CPU-second, which contention from other processes disturbs less than wall time.
use ferrograd_kernels::{matmul::matmul, pool};
use std::time::Instant;

/// (thread name, ns on a core, ns runnable off a core) of every thread of this process.
fn threads() -> Vec<(String, u64, u64)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let p = e.path();
        let name = std::fs::read_to_string(p.join("comm")).unwrap_or_default().trim().to_string();
        let id = p.file_name().unwrap_or_default().to_string_lossy().to_string();
        let s = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
        let f: Vec<u64> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if f.len() >= 2 {
            v.push((format!("{name}:{id}"), f[0], f[1]));
        }
    }
    v
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: usize| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    let (nthreads, reps, calls) = (arg(0, 2), arg(1, 7), arg(2, 100));
    let dims: Vec<usize> = args.get(3).map_or(vec![1024; 3], |s| s.split('x').map(|x| x.parse().expect("MxKxN")).collect());
    let (m, k, n) = (dims[0], dims[1], dims[2]);
    pool::set_num_threads(nthreads).unwrap();
    let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let mut c = vec![0f32; m * n];
    let mut run = || matmul(&a, 0, 0, false, &b, 0, 0, false, &mut c, 1, m, k, n, false);
    for _ in 0..10 {
        run();
    }
    let flop = 2.0 * (m * k * n) as f64;
    let (mut wall, mut per_cpu) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let s0 = threads();
        let t = Instant::now();
        for _ in 0..calls {
            run();
        }
        let dt = t.elapsed().as_secs_f64() / calls as f64;
        let s1 = threads();
        let mut cpu = 0.0;
        let mut parts = Vec::new();
        for (id, on1, off1) in &s1 {
            let (on0, off0) = s0.iter().find(|x| &x.0 == id).map_or((0, 0), |x| (x.1, x.2));
            let (on, off) = ((on1 - on0) as f64 / 1e3 / calls as f64, (off1 - off0) as f64 / 1e3 / calls as f64);
            cpu += on;
            if on > 1.0 || off > 1.0 {
                parts.push(format!("{} on {on:.0} off {off:.0}", id.split(':').next().unwrap_or("")));
            }
        }
        wall.push(flop / dt / 1e9);
        per_cpu.push(flop / (cpu / 1e6) / 1e9);
        println!("{:.1} GFLOP/s, {:.1} µs/call; µs per call: {}", flop / dt / 1e9, dt * 1e6, parts.join(", "));
    }
    wall.sort_by(|x, y| x.total_cmp(y));
    per_cpu.sort_by(|x, y| x.total_cmp(y));
    println!("{m}x{k}x{n}, {nthreads} thread(s): median {:.1} best {:.1} GFLOP/s; per CPU-second median {:.1} best {:.1}",
        wall[reps / 2], wall[reps - 1], per_cpu[reps / 2], per_cpu[reps - 1]);
}
