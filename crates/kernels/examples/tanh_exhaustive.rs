//! `cargo run --release -p ferrograd-kernels --example tanh_exhaustive`: every one of the 2^32 f32
//! bit patterns through the native tanh (`fastmath::tanh_slice`, the path this CPU takes) against
//! libm's f64 tanh (within an f64 ulp, ~1e-9 of an f32 ulp), printing the worst distance in ulps
//! to that value rounded once to f32, how many inputs differ from it, and the worst error in f32
//! ulps against the f64 value itself; and checking that the scalar entry point
//! (`fastmath::tanh_f32`) gives the same bits on every input. About a minute on one core.

use ferrograd_kernels::fastmath::{tanh_f32, tanh_slice};
use ferrograd_kernels::gelu::ulp_distance as ulps;

/// |got − want| in units of the f32 ulp at `want` (the spacing of the binade holding |want|).
fn ulp_error(got: f32, want: f64) -> f64 {
    let w = want.abs().max(f32::MIN_POSITIVE as f64);
    let ulp = 2f64.powi(w.log2().floor() as i32 - 23).max(2f64.powi(-149));
    (got as f64 - want).abs() / ulp
}

fn main() {
    let chunk = 1usize << 20;
    let (mut xs, mut y) = (vec![0f32; chunk], vec![0f32; chunk]);
    let (mut worst, mut off, mut worst_x) = (0u32, 0u64, 0f32);
    let (mut worst_err, mut worst_err_x) = (0f64, 0f32);
    let mut scalar_differs = 0u64;
    let mut u = 0u64;
    while u < 1 << 32 {
        for (i, x) in xs.iter_mut().enumerate() {
            *x = f32::from_bits((u + i as u64) as u32);
        }
        tanh_slice(&xs, &mut y);
        for i in 0..chunk {
            let x = xs[i];
            if x.is_nan() {
                if !y[i].is_nan() {
                    println!("tanh({x}) = {} (bits {:#x}), want NaN", y[i], x.to_bits());
                    worst = u32::MAX;
                }
                continue;
            }
            let exact = (x as f64).tanh();
            let e = ulps(y[i], exact as f32);
            if e > worst {
                worst = e;
                worst_x = x;
            }
            off += (e > 0) as u64;
            let err = ulp_error(y[i], exact);
            if err > worst_err {
                worst_err = err;
                worst_err_x = x;
            }
            // Every 16th input also through the scalar entry point (the element-at-a-time path).
            if i % 16 == 0 && tanh_f32(x).to_bits() != y[i].to_bits() {
                scalar_differs += 1;
            }
        }
        u += chunk as u64;
    }
    let zeros_keep_sign = tanh_slice_one(0.0).to_bits() == 0 && tanh_slice_one(-0.0).to_bits() == (-0f32).to_bits();
    let infinities = tanh_slice_one(f32::INFINITY) == 1.0 && tanh_slice_one(f32::NEG_INFINITY) == -1.0;
    println!(
        "tanh ({}): all 2^32 inputs, {off} differ from f64 tanh rounded once (worst {worst} ulp, at {worst_x:e}); \
         worst error {worst_err:.4} ulp of the f64 value (at {worst_err_x:e}); scalar path differs at {scalar_differs} of 2^28; \
         ±0 keep their sign: {zeros_keep_sign}; ±inf give ±1: {infinities}",
        ferrograd_kernels::cpu::features()
    );
    assert!(worst <= 1 && scalar_differs == 0 && zeros_keep_sign && infinities);
}

fn tanh_slice_one(x: f32) -> f32 {
    let mut o = [0f32];
    tanh_slice(&[x], &mut o);
    o[0]
}
