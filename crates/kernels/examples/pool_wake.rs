//! `cargo run --release -p ferrograd-kernels --example pool_wake -- [gap_us...]`: how late the
//! second thread starts its share of a 2-thread split, when splits come `gap_us` apart (the
//! caller busy in between, as JavaScript is between two kernels). Each split has two 2 ms
//! shares; a delay of about 2000 µs means the caller ran both.
use ferrograd_kernels::pool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn busy(d: Duration) {
    let s = Instant::now();
    while s.elapsed() < d {}
}

fn main() {
    let gaps: Vec<u64> = std::env::args().skip(1).map(|s| s.parse().expect("gap in µs")).collect();
    let gaps = if gaps.is_empty() { vec![10, 100, 1000] } else { gaps };
    pool::set_num_threads(2).unwrap();
    for gap in gaps {
        let late = AtomicU64::new(0);
        let mut v = Vec::new();
        for _ in 0..300 {
            let t0 = Instant::now();
            pool::for_each_index(2, 1e9, |i| {
                if i == 1 {
                    late.store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                busy(Duration::from_millis(2));
            });
            v.push(late.load(Ordering::Relaxed) as f64 / 1e3);
            busy(Duration::from_micros(gap));
        }
        v.sort_by(|a, b| a.total_cmp(b));
        println!("gap {gap} µs: second share starts after p10 {:.1} p50 {:.1} p90 {:.1} max {:.1} µs", v[30], v[150], v[270], v[299]);
    }
}
