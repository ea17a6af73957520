//! `cargo run --release -p ferrograd-kernels --example gelu_exhaustive`: every one of the 2^32 f32
//! bit patterns through the native gelu kernels (both forms, forward and backward with dy = 1)
//! against the slow reference (`gelu::reference`, the Taylor expansion next to gelu's root),
//! printing the worst ulp distance and how many inputs differ. Several minutes on one core.

use ferrograd_kernels::gelu::{gelu, gelu_backward, reference, ulp_distance as ulps};

fn main() {
    let chunk = 1usize << 20;
    let (mut xs, mut y, one) = (vec![0f32; chunk], vec![0f32; chunk], vec![1f32; chunk]);
    for (tanh, grad) in [(false, false), (false, true), (true, false), (true, true)] {
        let (mut worst, mut off, mut off_normal, mut worst_x) = (0u32, 0u64, 0u64, 0f32);
        let mut u = 0u64;
        while u < 1 << 32 {
            for (i, x) in xs.iter_mut().enumerate() {
                *x = f32::from_bits((u + i as u64) as u32);
            }
            if grad {
                gelu_backward(&xs, &one, tanh, &mut y);
            } else {
                gelu(&xs, tanh, &mut y);
            }
            for i in 0..chunk {
                let v = xs[i] as f64;
                let w = match (tanh, grad) {
                    (false, false) => reference::gelu_exact(v),
                    (false, true) => reference::near_root_grad(v, false).unwrap_or_else(|| reference::gelu_exact_grad(v)),
                    (true, false) => reference::gelu_tanh(v),
                    (true, true) => reference::near_root_grad(v, true).unwrap_or_else(|| reference::gelu_tanh_grad(v)),
                } as f32;
                let e = ulps(y[i], w);
                if e > worst {
                    worst = e;
                    worst_x = xs[i];
                }
                off += (e > 0) as u64;
                off_normal += (e > 0 && w.abs() >= f32::MIN_POSITIVE) as u64;
            }
            u += chunk as u64;
        }
        println!("gelu tanh={tanh} grad={grad}: all 2^32 inputs, {off} differ from the reference rounded once ({off_normal} with a normal result), worst {worst} ulp (at {worst_x:e})");
    }
}
