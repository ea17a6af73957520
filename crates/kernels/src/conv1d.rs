//! 1-D convolution (cross-correlation, stride 1, dilation, left padding) and its backward.
//!
//! Each output row is built from whole-row multiply-adds (`out[t] += w · x[t + shift]` over the
//! valid range of t), which vectorise; threads split independent rows (forward: (batch, out
//! channel); dx: (batch, in channel); dw: (out channel, in channel)).

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

/// out[b, o, t] = bias[o] + Σ_{i,j} w[o, i, j] · x[b, i, t − pad_left + j·dilation].
pub fn forward(p: &Conv1d, x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    p.check();
    assert_eq!(x.len(), p.batch * p.cin * p.tin, "conv1dForward: x length");
    assert_eq!(w.len(), p.cout * p.cin * p.k, "conv1dForward: w length");
    assert!(bias.is_none_or(|b| b.len() == p.cout), "conv1dForward: bias length");
    assert_eq!(out.len(), p.batch * p.cout * p.tout, "conv1dForward: out length");
    if p.tout == 0 {
        return;
    }
    let est = (p.batch * p.cout * p.tout * p.cin * p.k) as f64 * 0.3;
    pool::for_each_chunk(out, p.tout, est, |row, o| {
        let (b, oc) = (row / p.cout, row % p.cout);
        o.fill(bias.map_or(0.0, |bs| bs[oc]));
        for i in 0..p.cin {
            let xr = &x[(b * p.cin + i) * p.tin..][..p.tin];
            for j in 0..p.k {
                let wv = w[(oc * p.cin + i) * p.k + j];
                let (s, t0, t1) = p.tap(j);
                if t0 >= t1 {
                    continue;
                }
                let xs = &xr[(t0 as isize + s) as usize..][..t1 - t0];
                for (o, &v) in o[t0..t1].iter_mut().zip(xs) {
                    *o += wv * v;
                }
            }
        }
    });
}

/// Gradients of `forward` w.r.t. x and w (each overwritten when given).
pub fn backward(p: &Conv1d, x: &[f32], w: &[f32], dy: &[f32], dx: Option<&mut [f32]>, dw: Option<&mut [f32]>) {
    p.check();
    assert_eq!(x.len(), p.batch * p.cin * p.tin, "conv1dBackward: x length");
    assert_eq!(w.len(), p.cout * p.cin * p.k, "conv1dBackward: w length");
    assert_eq!(dy.len(), p.batch * p.cout * p.tout, "conv1dBackward: dy length");
    let est = (p.batch * p.cout * p.tout * p.cin * p.k) as f64 * 0.3;
    if let Some(dx) = dx {
        assert_eq!(dx.len(), x.len(), "conv1dBackward: dx length");
        // dx[b, i, t + s] += w[o, i, j] · dy[b, o, t]
        pool::for_each_chunk(dx, p.tin.max(1), est, |row, d| {
            let (b, i) = (row / p.cin, row % p.cin);
            d.fill(0.0);
            for oc in 0..p.cout {
                let g = &dy[(b * p.cout + oc) * p.tout..][..p.tout];
                for j in 0..p.k {
                    let wv = w[(oc * p.cin + i) * p.k + j];
                    let (s, t0, t1) = p.tap(j);
                    if t0 >= t1 {
                        continue;
                    }
                    let ds = &mut d[(t0 as isize + s) as usize..][..t1 - t0];
                    for (dv, &gv) in ds.iter_mut().zip(&g[t0..t1]) {
                        *dv += wv * gv;
                    }
                }
            }
        });
    }
    if let Some(dw) = dw {
        assert_eq!(dw.len(), w.len(), "conv1dBackward: dw length");
        // dw[o, i, j] = Σ_b Σ_t dy[b, o, t] · x[b, i, t + s]
        pool::for_each_chunk(dw, p.k, est, |row, d| {
            let (oc, i) = (row / p.cin, row % p.cin);
            for (j, dv) in d.iter_mut().enumerate() {
                let (s, t0, t1) = p.tap(j);
                let mut acc = 0f32;
                for b in 0..p.batch {
                    if t0 >= t1 {
                        break;
                    }
                    let g = &dy[(b * p.cout + oc) * p.tout..][t0..t1];
                    let xs = &x[(b * p.cin + i) * p.tin..][(t0 as isize + s) as usize..][..t1 - t0];
                    acc += crate::reduce::dot(g, xs);
                }
                *dv = acc;
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
}
