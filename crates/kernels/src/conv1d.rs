//! 1-D convolution (cross-correlation, stride 1, dilation, left padding) and its backward, as
//! matrix products over channels.
//!
//! x [batch, cin, tin] is copied once to channels-last rows, `xt` [batch·tpad, cin] with
//! tpad = pad_left + tin and pad_left zero rows in front of each sequence. Output position t of
//! sequence b then reads, through tap j, row b·tpad + t + j·dilation: for each tap, the rows the
//! whole batch needs are one contiguous block, so the convolution is k products
//! `y[0..m] += xt[j·d .. j·d + m] @ Wⱼᵀ` (m = batch·tpad − dilation·(k−1), Wⱼ[o, i] = w[o, i, j])
//! on the matmul kernels, with the channels (not the short time rows) as the vector axis. The
//! dilation·(k−1) rows per sequence whose window crosses into the next sequence are computed and
//! dropped (in the backward their dy rows are zero, so they add nothing). The backward is the same
//! two ways round: dW_j = dyᵀ @ xt[shifted], dxt[shifted] += dy @ W_j. Scratch is O(input + output)
//! (no k-fold im2col copy), so long sequences are fine.
//!
//! Deterministic: the products are the matmul kernels (path chosen by shape only, each output
//! computed by the same instruction sequence on any thread), the taps are added in index order,
//! and the layout copies are exact.

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

    /// Rows per sequence in the channels-last layout.
    fn tpad(&self) -> usize {
        self.pad_left + self.tin
    }

    /// Rows of the products: every window start that stays inside the padded batch.
    fn rows(&self) -> usize {
        self.batch * self.tpad() - self.dilation * (self.k - 1)
    }
}

/// Serial cost of a layout copy per element (ns), for the parallel threshold.
const COPY_NS: f64 = 0.5;
/// Tile edge of the transposing copies (keeps both sides' cache lines in use).
const TILE: usize = 32;

/// `dst[(t0 + t)·c + i] = src[i·t_len + t]` for i < c, t < t_len: one [c, t_len] matrix to rows of c.
#[inline]
fn transpose_into(src: &[f32], c: usize, t_len: usize, dst: &mut [f32], t0: usize) {
    for tb in (0..t_len).step_by(TILE) {
        let te = (tb + TILE).min(t_len);
        for ib in (0..c).step_by(TILE) {
            let ie = (ib + TILE).min(c);
            for i in ib..ie {
                let row = &src[i * t_len..][tb..te];
                for (t, &v) in (tb..te).zip(row) {
                    dst[(t0 + t) * c + i] = v;
                }
            }
        }
    }
}

/// `dst[i·t_len + t] = src[(t0 + t)·c + i] (+ add[i])`: rows of c back to one [c, t_len] matrix.
#[inline]
fn transpose_from(src: &[f32], c: usize, t_len: usize, t0: usize, dst: &mut [f32], add: Option<&[f32]>) {
    for ib in (0..c).step_by(TILE) {
        let ie = (ib + TILE).min(c);
        for tb in (0..t_len).step_by(TILE) {
            let te = (tb + TILE).min(t_len);
            for i in ib..ie {
                let a = add.map_or(0.0, |a| a[i]);
                let row = &mut dst[i * t_len..][tb..te];
                for (t, d) in (tb..te).zip(row) {
                    *d = src[(t0 + t) * c + i] + a;
                }
            }
        }
    }
}

/// [batch, c, t_len] → rows [batch·rows_per, c]: sequence b at rows b·rows_per + lead ..; the
/// other rows (`lead` before it, any after it) zero.
fn to_rows(src: &[f32], batch: usize, c: usize, t_len: usize, lead: usize, rows_per: usize) -> Vec<f32> {
    let mut dst = vec![0f32; batch * rows_per * c];
    pool::for_each_chunk(&mut dst, rows_per * c, (batch * c * t_len) as f64 * COPY_NS, |b, d| {
        transpose_into(&src[b * c * t_len..][..c * t_len], c, t_len, d, lead);
    });
    dst
}

/// Rows [batch·rows_per, c] → [batch, c, t_len] from row `lead` of each sequence (+ a per-channel add).
fn from_rows(src: &[f32], c: usize, t_len: usize, lead: usize, rows_per: usize, dst: &mut [f32], add: Option<&[f32]>) {
    let batch = dst.len() / (c * t_len).max(1);
    pool::for_each_chunk(dst, c * t_len, (batch * c * t_len) as f64 * COPY_NS, |b, d| {
        let rows = &src[b * rows_per * c..];
        transpose_from(rows, c, t_len, lead, d, add);
    });
}

/// w [cout, cin, k] → per tap, [k][cin][cout] (`transposed`) or [k][cout][cin].
fn taps(p: &Conv1d, w: &[f32], transposed: bool) -> Vec<f32> {
    let (cin, cout, k) = (p.cin, p.cout, p.k);
    let mut out = vec![0f32; w.len()];
    for o in 0..cout {
        for i in 0..cin {
            for j in 0..k {
                let at = if transposed { (j * cin + i) * cout + o } else { (j * cout + o) * cin + i };
                out[at] = w[(o * cin + i) * k + j];
            }
        }
    }
    out
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
    let (tpad, m) = (p.tpad(), p.rows());
    let xt = to_rows(x, p.batch, p.cin, p.tin, p.pad_left, tpad);
    let wt = taps(p, w, true);
    let mut y = vec![0f32; m * p.cout];
    for j in 0..p.k {
        let shift = j * p.dilation * p.cin;
        // y[r, o] (+)= Σ_i xt[r + j·d, i] · w[o, i, j]
        matmul(&xt, shift, 0, false, &wt, j * p.cin * p.cout, 0, false, &mut y, 1, m, p.cin, p.cout, j > 0);
    }
    from_rows(&y, p.cout, p.tout, 0, tpad, out, bias);
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
    let (tpad, m) = (p.tpad(), p.rows());
    // dy as rows [batch·tpad, cout]; the rows of windows crossing a sequence's end stay zero.
    let dyt = to_rows(dy, p.batch, p.cout, p.tout, 0, tpad);
    if let Some(dx) = dx {
        let wk = taps(p, w, false);
        let mut dxt = vec![0f32; p.batch * tpad * p.cin];
        for j in 0..p.k {
            // dxt[r + j·d, i] += Σ_o dyt[r, o] · w[o, i, j]
            let at = j * p.dilation * p.cin;
            matmul(&dyt, 0, 0, false, &wk, j * p.cout * p.cin, 0, false, &mut dxt[at..at + m * p.cin], 1, m, p.cout, p.cin, true);
        }
        from_rows(&dxt, p.cin, p.tin, p.pad_left, tpad, dx, None);
    }
    if let Some(dw) = dw {
        let xt = to_rows(x, p.batch, p.cin, p.tin, p.pad_left, tpad);
        let mut dwk = vec![0f32; w.len()];
        for (j, dwj) in dwk.chunks_mut((p.cout * p.cin).max(1)).enumerate().take(p.k) {
            // dw[o, i, j] = Σ_r dyt[r, o] · xt[r + j·d, i]
            matmul(&dyt, 0, 0, true, &xt, j * p.dilation * p.cin, 0, false, dwj, 1, p.cout, m, p.cin, false);
        }
        for o in 0..p.cout {
            for i in 0..p.cin {
                for j in 0..p.k {
                    dw[(o * p.cin + i) * p.k + j] = dwk[(j * p.cout + o) * p.cin + i];
                }
            }
        }
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
