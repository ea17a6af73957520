//! 1-D convolution (cross-correlation, stride 1, dilation, left padding) and its backward, as one
//! matrix product each on the matmul kernels.
//!
//! The columns matrix `xc` [cin·k, batch·tout] holds, in row i·k + j, tap j's view of input
//! channel i for every (b, t): xc[i·k + j, b·tout + t] = x[b, i, t − pad_left + j·dilation]
//! (0 before the start). It is built from contiguous row segments (no element-wise transpose),
//! and with w read as [cout, cin·k] (its own layout):
//! - forward: y [cout, batch·tout] = w @ xc, then each row segment to out[b, o, ·] (+ bias);
//! - dw = dy₂ @ xcᵀ with dy₂ [cout, batch·tout] the rows of dy side by side;
//! - dxc = wᵀ @ dy₂, and each of its row segments added back onto the input row it came from.
//!
//! The products are wide (batch·tout columns), so the kernels vectorise over batch and time
//! together, not over one short time row (the WaveNet's rows are at most ~22 long). Scratch is
//! k times the input plus the output, built once per call.
//!
//! Deterministic: the products are the matmul kernels (path chosen by shape only, each output
//! computed by the same instruction sequence on any thread), copies are exact, and the scatter
//! back onto dx adds the taps in index order within one thread's row.

use crate::matmul::matmul;
use crate::pool;

/// Shape of a convolution; `tout = tin + pad_left − dilation·(k − 1)`.
#[derive(Clone, Copy, Debug)]
pub struct Conv1d {
    pub batch: usize,
    pub cin: usize,
    pub tin: usize,
    pub cout: usize,
    pub k: usize,
    pub dilation: usize,
    pub pad_left: usize,
    pub tout: usize,
}

impl Conv1d {
    /// The output length implied by the other sizes, or None when negative/overflowing.
    pub fn expected_tout(tin: usize, k: usize, dilation: usize, pad_left: usize) -> Option<usize> {
        let span = dilation.checked_mul(k.checked_sub(1)?)?;
        tin.checked_add(pad_left)?.checked_sub(span)
    }

    fn check(&self) {
        assert!(self.k >= 1 && self.dilation >= 1, "conv1d: k and dilation must be >= 1");
        assert_eq!(Self::expected_tout(self.tin, self.k, self.dilation, self.pad_left), Some(self.tout), "conv1d: tout");
    }

    /// For tap j: shift s = j·dilation − pad_left, and the range of t with 0 ≤ t + s < tin.
    #[inline]
    fn tap(&self, j: usize) -> (isize, usize, usize) {
        let s = (j * self.dilation) as isize - self.pad_left as isize;
        let t0 = (-s).max(0) as usize;
        let t1 = ((self.tin as isize - s).max(0) as usize).min(self.tout);
        (s, t0.min(t1), t1)
    }
}

/// Serial cost of a row copy per element (ns), for the parallel threshold.
const COPY_NS: f64 = 0.3;

/// The columns matrix (module docs), [cin·k, batch·tout].
fn columns(p: &Conv1d, x: &[f32]) -> Vec<f32> {
    let n = p.batch * p.tout;
    let mut xc = vec![0f32; p.cin * p.k * n];
    let est = xc.len() as f64 * COPY_NS;
    pool::for_each_chunk(&mut xc, n, est, |row, r| {
        let (i, j) = (row / p.k, row % p.k);
        let (s, t0, t1) = p.tap(j);
        if t0 >= t1 {
            return;
        }
        for b in 0..p.batch {
            let xr = &x[(b * p.cin + i) * p.tin..][..p.tin];
            r[b * p.tout..][t0..t1].copy_from_slice(&xr[(t0 as isize + s) as usize..][..t1 - t0]);
        }
    });
    xc
}

/// out[b, o, t] = bias[o] + Σ_{i,j} w[o, i, j] · x[b, i, t − pad_left + j·dilation].
pub fn forward(p: &Conv1d, x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    p.check();
    assert_eq!(x.len(), p.batch * p.cin * p.tin, "conv1dForward: x length");
    assert_eq!(w.len(), p.cout * p.cin * p.k, "conv1dForward: w length");
    assert!(bias.is_none_or(|b| b.len() == p.cout), "conv1dForward: bias length");
    assert_eq!(out.len(), p.batch * p.cout * p.tout, "conv1dForward: out length");
    if out.is_empty() {
        return;
    }
    let n = p.batch * p.tout;
    let xc = columns(p, x);
    let mut y = vec![0f32; p.cout * n];
    matmul(w, 0, 0, false, &xc, 0, 0, false, &mut y, 1, p.cout, p.cin * p.k, n, false);
    let est = out.len() as f64 * COPY_NS;
    pool::for_each_chunk(out, p.tout, est, |row, o| {
        let (b, oc) = (row / p.cout, row % p.cout);
        let src = &y[oc * n + b * p.tout..][..p.tout];
        match bias {
            Some(bs) => o.iter_mut().zip(src).for_each(|(d, &v)| *d = v + bs[oc]),
            None => o.copy_from_slice(src),
        }
    });
}

/// Gradients of `forward` w.r.t. x and w (each overwritten when given).
pub fn backward(p: &Conv1d, x: &[f32], w: &[f32], dy: &[f32], dx: Option<&mut [f32]>, dw: Option<&mut [f32]>) {
    p.check();
    assert_eq!(x.len(), p.batch * p.cin * p.tin, "conv1dBackward: x length");
    assert_eq!(w.len(), p.cout * p.cin * p.k, "conv1dBackward: w length");
    assert_eq!(dy.len(), p.batch * p.cout * p.tout, "conv1dBackward: dy length");
    assert!(dx.as_ref().is_none_or(|d| d.len() == x.len()), "conv1dBackward: dx length");
    assert!(dw.as_ref().is_none_or(|d| d.len() == w.len()), "conv1dBackward: dw length");
    if dy.is_empty() {
        // No output position: nothing flowed back.
        if let Some(d) = dx {
            d.fill(0.0);
        }
        if let Some(d) = dw {
            d.fill(0.0);
        }
        return;
    }
    let (n, kk) = (p.batch * p.tout, p.cin * p.k);
    // dy₂[o, b·tout + t] = dy[b, o, t]
    let mut dy2 = vec![0f32; p.cout * n];
    pool::for_each_chunk(&mut dy2, n, dy.len() as f64 * COPY_NS, |o, r| {
        for b in 0..p.batch {
            r[b * p.tout..][..p.tout].copy_from_slice(&dy[(b * p.cout + o) * p.tout..][..p.tout]);
        }
    });
    if let Some(dw) = dw {
        let xc = columns(p, x);
        // dw[o, i·k + j] = Σ_n dy₂[o, n] · xc[i·k + j, n]
        matmul(&dy2, 0, 0, false, &xc, 0, 0, true, dw, 1, p.cout, n, kk, false);
    }
    if let Some(dx) = dx {
        let mut dxc = vec![0f32; kk * n];
        // dxc[i·k + j, n] = Σ_o w[o, i·k + j] · dy₂[o, n]
        matmul(w, 0, 0, true, &dy2, 0, 0, false, &mut dxc, 1, kk, p.cout, n, false);
        pool::for_each_chunk(dx, p.tin.max(1), x.len() as f64 * p.k as f64 * COPY_NS, |row, d| {
            let (b, i) = (row / p.cin, row % p.cin);
            d.fill(0.0);
            for j in 0..p.k {
                let (s, t0, t1) = p.tap(j);
                if t0 >= t1 {
                    continue;
                }
                let src = &dxc[(i * p.k + j) * n + b * p.tout..][t0..t1];
                let ds = &mut d[(t0 as isize + s) as usize..][..t1 - t0];
                ds.iter_mut().zip(src).for_each(|(a, &v)| *a += v);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    #[test]
    fn forward_and_backward_match_naive() {
        let mut rng = Rng::new(70);
        for &(batch, cin, tin, cout, k, dil, causal) in &[
            (1usize, 1usize, 1usize, 1usize, 1usize, 1usize, true),
            (2, 3, 8, 4, 2, 1, true),
            (2, 3, 8, 4, 2, 2, true),
            (3, 5, 17, 7, 3, 4, true),
            (2, 4, 16, 3, 3, 1, false),
            (1, 2, 9, 2, 2, 8, true),
            (4, 24, 33, 16, 2, 4, true),
        ] {
            let pad = if causal { dil * (k - 1) } else { 1 };
            let Some(tout) = Conv1d::expected_tout(tin, k, dil, pad) else { continue };
            let p = Conv1d { batch, cin, tin, cout, k, dilation: dil, pad_left: pad, tout };
            let x = rng.vec(batch * cin * tin);
            let w = rng.vec(cout * cin * k);
            let bias = rng.vec(cout);
            let xat = |b: usize, i: usize, t: isize| if t < 0 || t >= tin as isize { 0.0 } else { x[(b * cin + i) * tin + t as usize] as f64 };
            let mut out = vec![f32::NAN; batch * cout * tout];
            forward(&p, &x, &w, Some(&bias), &mut out);
            let mut want = vec![];
            for b in 0..batch {
                for o in 0..cout {
                    for t in 0..tout {
                        let mut s = bias[o] as f64;
                        for i in 0..cin {
                            for j in 0..k {
                                s += w[(o * cin + i) * k + j] as f64 * xat(b, i, t as isize - pad as isize + (j * dil) as isize);
                            }
                        }
                        want.push(s);
                    }
                }
            }
            assert_close(&out, &want, 1e-5, 1e-5, &format!("conv1d {p:?}"));
            let dy = rng.vec(out.len());
            let mut dx = vec![f32::NAN; x.len()];
            let mut dw = vec![f32::NAN; w.len()];
            backward(&p, &x, &w, &dy, Some(&mut dx), Some(&mut dw));
            let mut want_dx = vec![0f64; x.len()];
            let mut want_dw = vec![0f64; w.len()];
            for b in 0..batch {
                for o in 0..cout {
                    for t in 0..tout {
                        let g = dy[(b * cout + o) * tout + t] as f64;
                        for i in 0..cin {
                            for j in 0..k {
                                let tt = t as isize - pad as isize + (j * dil) as isize;
                                if tt >= 0 && tt < tin as isize {
                                    want_dx[(b * cin + i) * tin + tt as usize] += w[(o * cin + i) * k + j] as f64 * g;
                                    want_dw[(o * cin + i) * k + j] += xat(b, i, tt) * g;
                                }
                            }
                        }
                    }
                }
            }
            assert_close(&dx, &want_dx, 1e-5, 1e-5, "dx");
            assert_close(&dw, &want_dw, 1e-5, 1e-5, "dw");
        }
    }

    #[test]
    fn same_bits_on_one_and_two_threads() {
        // The part 5 WaveNet's layers (32 words, 128 channels, dilations 1, 2, 4) and a long sequence.
        let _g = crate::testutil::THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(71);
        for &(batch, cin, tin, cout, dil) in &[(32usize, 24usize, 29usize, 128usize, 1usize), (32, 128, 28, 128, 2), (1, 64, 5000, 64, 4)] {
            let p = Conv1d { batch, cin, tin, cout, k: 2, dilation: dil, pad_left: 0, tout: tin - dil };
            let (x, w, bias) = (rng.vec(batch * cin * tin), rng.vec(cout * cin * 2), rng.vec(cout));
            let dy = rng.vec(batch * cout * p.tout);
            let run = |threads: usize| {
                crate::pool::set_num_threads(threads).unwrap();
                let mut out = vec![0f32; dy.len()];
                let (mut dx, mut dw) = (vec![0f32; x.len()], vec![0f32; w.len()]);
                forward(&p, &x, &w, Some(&bias), &mut out);
                backward(&p, &x, &w, &dy, Some(&mut dx), Some(&mut dw));
                [out, dx, dw].map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>())
            };
            let one = run(1);
            let two = run(2);
            crate::pool::set_num_threads(1).unwrap();
            assert!(one == two, "conv1d {p:?}: results differ between 1 and 2 threads");
        }
    }

    #[test]
    fn empty_sizes() {
        // No batch, no channels, no output positions: nothing to compute, gradients zero.
        for &(batch, cin, tin, cout) in &[(0usize, 3usize, 5usize, 2usize), (2, 0, 5, 2), (2, 3, 5, 0), (2, 3, 1, 2)] {
            let p = Conv1d { batch, cin, tin, cout, k: 2, dilation: 1, pad_left: 0, tout: tin - 1 };
            let (x, w) = (vec![1f32; batch * cin * tin], vec![1f32; cout * cin * 2]);
            let mut out = vec![f32::NAN; batch * cout * p.tout];
            forward(&p, &x, &w, None, &mut out);
            assert!(out.iter().all(|v| *v == 0.0), "{p:?}");
            let dy = vec![1f32; out.len()];
            let (mut dx, mut dw) = (vec![f32::NAN; x.len()], vec![f32::NAN; w.len()]);
            backward(&p, &x, &w, &dy, Some(&mut dx), Some(&mut dw));
            assert!(dx.iter().chain(&dw).all(|v| *v == 0.0), "{p:?}");
        }
    }
}
