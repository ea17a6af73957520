//! The kernels as they were before they were restructured for SIMD, kept for the tests: the
//! restructured kernels must give exactly these bits (same per-element operations, same order).
//! Serial versions of the same loops (the column / row split never changed any bit).

#![allow(clippy::too_many_arguments)]

use crate::cross_entropy::first_bad_target;

/// Columns per block (as the old kernel split them; the bits do not depend on it).
const COLS: usize = 64;

fn for_column_blocks(c: usize, _est: f64, f: impl Fn(usize, usize)) {
    for b in 0..c.div_ceil(COLS) {
        f(b * COLS, ((b + 1) * COLS).min(c));
    }
}

mod pool {
    pub use crate::pool::SendPtr;
}

/// See backend.ts `batchNormForward`. Training needs n > correction (the caller checks it):
/// otherwise the variance divides by zero.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward(
    x: &[f32], n: usize, c: usize, gamma: Option<&[f32]>, beta: Option<&[f32]>,
    eps: f32, correction: usize, training: bool,
    out: &mut [f32], mean: &mut [f32], var: &mut [f32], invstd: &mut [f32],
) {
    assert_eq!(x.len(), n * c, "batchNormForward: x length");
    assert_eq!(out.len(), n * c, "batchNormForward: out length");
    assert!(mean.len() == c && var.len() == c && invstd.len() == c, "batchNormForward: stats length");
    assert!(gamma.is_none_or(|g| g.len() == c) && beta.is_none_or(|b| b.len() == c), "batchNormForward: affine length");
    assert!(!training || n > correction, "batchNormForward: n must exceed correction in training");
    let (op, mp, vp, ip) = (
        pool::SendPtr(out.as_mut_ptr()),
        pool::SendPtr(mean.as_mut_ptr()),
        pool::SendPtr(var.as_mut_ptr()),
        pool::SendPtr(invstd.as_mut_ptr()),
    );
    for_column_blocks(c, (n * c) as f64 * 2.0, move |j0, j1| {
        let w = j1 - j0;
        // SAFETY: this task alone touches columns j0..j1 of out/mean/var/invstd (all in bounds).
        let (mean, var, invstd) = unsafe {
            (
                std::slice::from_raw_parts_mut(mp.get().add(j0), w),
                std::slice::from_raw_parts_mut(vp.get().add(j0), w),
                std::slice::from_raw_parts_mut(ip.get().add(j0), w),
            )
        };
        if training {
            let k: Vec<f64> = if n > 0 { x[j0..j1].iter().map(|&v| if v.is_finite() { v as f64 } else { 0.0 }).collect() } else { vec![0.0; w] };
            let (mut s, mut q) = (vec![0f64; w], vec![0f64; w]);
            for r in 0..n {
                for j in 0..w {
                    let d = x[r * c + j0 + j] as f64 - k[j];
                    s[j] += d;
                    q[j] = d.mul_add(d, q[j]);
                }
            }
            for j in 0..w {
                mean[j] = (k[j] + s[j] / n as f64) as f32;
                let m2 = q[j] - s[j] * s[j] / n as f64;
                var[j] = ((if m2 < 0.0 { 0.0 } else { m2 }) / (n - correction) as f64) as f32;
            }
        }
        for j in 0..w {
            invstd[j] = (1.0 / (var[j] as f64 + eps as f64).sqrt()) as f32;
        }
        for r in 0..n {
            // SAFETY: row r, columns j0..j1 of out belong to this task.
            let orow = unsafe { std::slice::from_raw_parts_mut(op.get().add(r * c + j0), w) };
            let xrow = &x[r * c + j0..][..w];
            for j in 0..w {
                let xhat = (xrow[j] - mean[j]) * invstd[j];
                let g = gamma.map_or(1.0, |g| g[j0 + j]);
                let b = beta.map_or(0.0, |b| b[j0 + j]);
                orow[j] = g * xhat + b;
            }
        }
    });
}

/// See backend.ts `batchNormBackward` (the closed form of training-mode forward).
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward(
    x: &[f32], dy: &[f32], n: usize, c: usize, mean: &[f32], invstd: &[f32],
    gamma: Option<&[f32]>, correction: usize,
    dx: Option<&mut [f32]>, dgamma: Option<&mut [f32]>, dbeta: Option<&mut [f32]>,
) {
    assert!(x.len() == n * c && dy.len() == n * c, "batchNormBackward: x/dy length");
    assert!(mean.len() == c && invstd.len() == c, "batchNormBackward: stats length");
    assert!(gamma.is_none_or(|g| g.len() == c), "batchNormBackward: gamma length");
    assert!(dx.as_ref().is_none_or(|d| d.len() == n * c), "batchNormBackward: dx length");
    assert!(dgamma.as_ref().is_none_or(|d| d.len() == c) && dbeta.as_ref().is_none_or(|d| d.len() == c), "batchNormBackward: dgamma/dbeta length");
    assert!(n > correction || dx.is_none(), "batchNormBackward: n must exceed correction");
    let dxp = dx.map(|d| pool::SendPtr(d.as_mut_ptr()));
    let dgp = dgamma.map(|d| pool::SendPtr(d.as_mut_ptr()));
    let dbp = dbeta.map(|d| pool::SendPtr(d.as_mut_ptr()));
    for_column_blocks(c, (n * c) as f64 * 3.0, move |j0, j1| {
        let w = j1 - j0;
        let mut sdy = vec![0f64; w];
        let mut sdyd = vec![0f64; w];
        for r in 0..n {
            let (xr, gr) = (&x[r * c + j0..][..w], &dy[r * c + j0..][..w]);
            for j in 0..w {
                let g = gr[j] as f64;
                sdy[j] += g;
                sdyd[j] = g.mul_add(xr[j] as f64 - mean[j0 + j] as f64, sdyd[j]);
            }
        }
        let sdyx: Vec<f64> = (0..w).map(|j| sdyd[j] * invstd[j0 + j] as f64).collect();
        // SAFETY (all three): this task alone writes columns j0..j1 (in bounds by the asserts).
        if let Some(p) = dgp {
            let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(j0), w) };
            d.iter_mut().zip(&sdyx).for_each(|(d, &v)| *d = v as f32);
        }
        if let Some(p) = dbp {
            let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(j0), w) };
            d.iter_mut().zip(&sdy).for_each(|(d, &v)| *d = v as f32);
        }
        if let Some(p) = dxp {
            let nf = n as f64;
            let bessel = nf / (n - correction) as f64;
            for r in 0..n {
                let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(r * c + j0), w) };
                let (xr, gr) = (&x[r * c + j0..][..w], &dy[r * c + j0..][..w]);
                for j in 0..w {
                    let is = invstd[j0 + j] as f64;
                    let k = gamma.map_or(1.0, |g| g[j0 + j] as f64) * is / nf;
                    let (a, b, cc) = (k * nf, -(k * bessel * sdyx[j] * is), -(k * sdy[j]));
                    d[j] = a.mul_add(gr[j] as f64, b.mul_add(xr[j] as f64 - mean[j0 + j] as f64, cc)) as f32;
                }
            }
        }
    });
}

/// Writes softmax(logits) into `probs` and returns Σ over non-ignored rows of −log p[row, target].
pub fn cross_entropy_forward(logits: &[f32], rows: usize, cols: usize, targets: &[i32], ignore_index: i64, probs: &mut [f32]) -> f64 {
    assert_eq!(logits.len(), rows * cols, "crossEntropyForward: logits length");
    assert_eq!(probs.len(), rows * cols, "crossEntropyForward: probs length");
    assert_eq!(targets.len(), rows, "crossEntropyForward: targets length");
    assert!(first_bad_target(targets, cols, ignore_index).is_none(), "crossEntropyForward: target out of range");
    if rows == 0 {
        return 0.0;
    }
    if cols == 0 {
        return 0.0; // every target must then be ignore_index (checked above)
    }
    // Per-row losses, computed independently and summed in row order.
    let per = (4096 / cols).max(1);
    let tasks = rows.div_ceil(per);
    let pp = pool::SendPtr(probs.as_mut_ptr());
    let parts = (0..tasks).map(move |ti| {
        let r0 = ti * per;
        let r1 = (r0 + per).min(rows);
        let mut loss = 0f64;
        for r in r0..r1 {
            let xr = &logits[r * cols..][..cols];
            // SAFETY: task ti alone writes rows r0..r1 of probs, which is rows·cols long.
            let pr = unsafe { std::slice::from_raw_parts_mut(pp.get().add(r * cols), cols) };
            let (m, s) = exp_shifted(xr, pr);
            for p in pr.iter_mut() {
                *p /= s;
            }
            let t = targets[r];
            if t as i64 != ignore_index {
                // −log softmax = log Σ exp(x − m) − (x_t − m), in f64 for the accumulation.
                // The one change since: fastlog's ln (vectorisable) in place of libm's.
                loss += crate::fastlog::ln_one(s as f64) - (xr[t as usize] - m) as f64;
            }
        }
        loss
    }).collect::<Vec<f64>>();
    parts.iter().sum()
}

/// dx[r, c] = scale·(probs[r, c] − [c == target[r]]), and 0 on rows whose target is ignore_index.
pub fn cross_entropy_backward(probs: &[f32], rows: usize, cols: usize, targets: &[i32], ignore_index: i64, scale: f32, dx: &mut [f32]) {
    assert_eq!(probs.len(), rows * cols, "crossEntropyBackward: probs length");
    assert_eq!(dx.len(), rows * cols, "crossEntropyBackward: dx length");
    assert_eq!(targets.len(), rows, "crossEntropyBackward: targets length");
    assert!(first_bad_target(targets, cols, ignore_index).is_none(), "crossEntropyBackward: target out of range");
    if cols == 0 {
        return;
    }
    let per = (8192 / cols).max(1);
    dx.chunks_mut(per * cols).enumerate().for_each(|(ci, o)| {
        for (t, drow) in o.chunks_exact_mut(cols).enumerate() {
            let r = ci * per + t;
            let tg = targets[r];
            if tg as i64 == ignore_index {
                drow.iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            for (d, &p) in drow.iter_mut().zip(&probs[r * cols..][..cols]) {
                *d = scale * p;
            }
            drow[tg as usize] = scale * (probs[r * cols + tg as usize] - 1.0);
        }
    });
}


/// softmax.rs's row step as it was: max, exp(x - max) in place, the fixed-order sum.
fn exp_shifted(x: &[f32], e: &mut [f32]) -> (f32, f32) {
    let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| if v.is_nan() || m.is_nan() { f32::NAN } else if v > m { v } else { m });
    let shift = if m == f32::NEG_INFINITY { 0.0 } else { m };
    e.copy_from_slice(x);
    for v in e.iter_mut() {
        *v = crate::fastmath::exp_f32(*v - shift);
    }
    (shift, crate::reduce::sum_contiguous(e, false))
}

/// softmax.rs's forward as it was, row by row.
pub fn softmax(x: &[f32], rows: usize, cols: usize, log: bool, out: &mut [f32]) {
    for r in 0..rows {
        let (xrow, orow) = (&x[r * cols..][..cols], &mut out[r * cols..][..cols]);
        let (m, s) = exp_shifted(xrow, orow);
        if log {
            let ls = s.ln();
            for (o, &v) in orow.iter_mut().zip(xrow) {
                *o = v - m - ls;
            }
        } else {
            for o in orow.iter_mut() {
                *o /= s;
            }
        }
    }
}

/// dx[i] = dy[i]·op'(x[i]), one element at a time.
pub fn unary_backward(op: crate::elementwise::UnaryOp, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    for i in 0..dx.len() {
        dx[i] = crate::elementwise::unary_grad(op, x[i], y[i], dy[i]);
    }
}

/// The broadcasting binary op by plain multi-index arithmetic, one element at a time.
pub fn binary(
    op: crate::elementwise::BinaryOp,
    a: &[f32], a_off: usize, a_strides: &[usize],
    b: &[f32], b_off: usize, b_strides: &[usize],
    out: &mut [f32], shape: &[usize],
) {
    let mut idx = vec![0usize; shape.len()];
    for o in out.iter_mut() {
        let ia = a_off + idx.iter().zip(a_strides).map(|(i, s)| i * s).sum::<usize>();
        let ib = b_off + idx.iter().zip(b_strides).map(|(i, s)| i * s).sum::<usize>();
        *o = crate::elementwise::binary_scalar_op(op, a[ia], b[ib]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}
