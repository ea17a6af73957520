//! Row-wise softmax / log-softmax over the last axis and their backward.
//! Rows are independent; within a row the sums run in a fixed order (same bits on any thread).

use crate::{cpu, pool};
use crate::reduce::sum_contiguous;

/// Rough ns per element (an exp and a few flops).
const COST: f64 = 5.0;

/// Max of a row (NaN propagates, so a NaN row stays NaN instead of silently dropping it).
/// 16 interleaved lanes so that it vectorises; a max does not depend on the order except for
/// the sign of a zero max, which no caller can see (x − (±0) and exp of it are the same).
#[inline(always)]
pub(crate) fn row_max(x: &[f32]) -> f32 {
    const LANES: usize = 16;
    let (mut acc, mut nan) = ([f32::NEG_INFINITY; LANES], [false; LANES]);
    #[inline(always)]
    fn step(acc: &mut [f32; LANES], nan: &mut [bool; LANES], c: &[f32]) {
        for l in 0..LANES {
            nan[l] |= c[l].is_nan();
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        step(&mut acc, &mut nan, c);
    }
    // The tail: a max may see an element twice, so take the last 16 elements again (or, in a
    // shorter row, the row padded with −inf); then a pairwise tree. No scalar chains.
    if !it.remainder().is_empty() {
        if x.len() >= LANES {
            step(&mut acc, &mut nan, &x[x.len() - LANES..]);
        } else {
            let last: [f32; LANES] = std::array::from_fn(|l| if l < x.len() { x[l] } else { f32::NEG_INFINITY });
            step(&mut acc, &mut nan, &last);
        }
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            nan[l] |= nan[l + w];
            acc[l] = if acc[l + w] > acc[l] { acc[l + w] } else { acc[l] };
        }
    }
    if nan[0] { f32::NAN } else { acc[0] }
}

/// Writes exp(x - max) into `e` and returns (max, Σ e) (the sum in reduce.rs's fixed order).
/// Always inlined: callers run it inside `cpu::simd`.
#[inline(always)]
pub(crate) fn exp_shifted(x: &[f32], e: &mut [f32]) -> (f32, f32) {
    let m = row_max(x);
    // A row of all -inf has no finite max: shift by 0 so exp gives 0s and the sum 0 (→ NaN
    // probabilities, as PyTorch gives).
    let shift = if m == f32::NEG_INFINITY { 0.0 } else { m };
    let e = &mut e[..x.len()];
    for j in 0..x.len() {
        e[j] = crate::fastmath::exp_one(x[j] - shift);
    }
    let s = if e.len() <= crate::reduce::SUM_CHUNK { crate::reduce::chunk_sum(e) } else { sum_contiguous(e, false) };
    (shift, s)
}

/// softmax (or log_softmax when `log`) of each row of x [rows, cols].
pub fn softmax(x: &[f32], rows: usize, cols: usize, log: bool, out: &mut [f32]) {
    assert_eq!(x.len(), rows * cols, "softmax: x length");
    assert_eq!(out.len(), rows * cols, "softmax: out length");
    if cols == 0 {
        return;
    }
    let per = (4096 / cols).max(1);
    pool::for_each_chunk(out, per * cols, x.len() as f64 * COST, |ci, o| {
        cpu::simd(#[inline(always)] || {
            for (t, orow) in o.chunks_exact_mut(cols).enumerate() {
                let xrow = &x[(ci * per + t) * cols..][..cols];
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
        })
    });
}

/// softmax: dx = y·(dy − Σ dy·y); log-softmax: dx = dy − exp(y)·Σ dy.
pub fn softmax_backward(y: &[f32], dy: &[f32], rows: usize, cols: usize, log: bool, dx: &mut [f32]) {
    let n = rows * cols;
    assert!(y.len() == n && dy.len() == n && dx.len() == n, "softmaxBackward: lengths");
    if cols == 0 {
        return;
    }
    let per = (4096 / cols).max(1);
    pool::for_each_chunk(dx, per * cols, n as f64 * COST, |ci, o| {
        for (t, drow) in o.chunks_exact_mut(cols).enumerate() {
            let base = (ci * per + t) * cols;
            let (yr, gr) = (&y[base..][..cols], &dy[base..][..cols]);
            if log {
                let s: f64 = gr.iter().map(|&g| g as f64).sum();
                let s = s as f32;
                for j in 0..cols {
                    drow[j] = gr[j] - yr[j].exp() * s;
                }
            } else {
                let dot: f64 = gr.iter().zip(yr).map(|(&g, &v)| g as f64 * v as f64).sum();
                let dot = dot as f32;
                for j in 0..cols {
                    drow[j] = yr[j] * (gr[j] - dot);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    fn naive(x: &[f32], rows: usize, cols: usize, log: bool) -> Vec<f64> {
        let mut out = vec![];
        for r in 0..rows {
            let row: Vec<f64> = x[r * cols..][..cols].iter().map(|&v| v as f64).collect();
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
            for v in row {
                out.push(if log { v - m - s.ln() } else { (v - m).exp() / s });
            }
        }
        out
    }

    #[test]
    fn forward_and_backward_match_naive() {
        let mut rng = Rng::new(40);
        for &(rows, cols) in &[(0, 5), (3, 0), (1, 1), (2, 7), (5, 16), (4, 17), (3, 65), (32, 27), (700, 300), (2, 50_000)] {
            let x: Vec<f32> = rng.vec(rows * cols).iter().map(|v| v * 30.0).collect();
            for log in [false, true] {
                let mut y = vec![f32::NAN; rows * cols];
                softmax(&x, rows, cols, log, &mut y);
                assert_close(&y, &naive(&x, rows, cols, log), 2e-5, 1e-7, &format!("softmax {rows}x{cols} log={log}"));
                let dy = rng.vec(rows * cols);
                let mut dx = vec![f32::NAN; rows * cols];
                softmax_backward(&y, &dy, rows, cols, log, &mut dx);
                let mut want = vec![];
                for r in 0..rows {
                    let (yr, gr) = (&y[r * cols..][..cols], &dy[r * cols..][..cols]);
                    if log {
                        let s: f64 = gr.iter().map(|&g| g as f64).sum();
                        want.extend((0..cols).map(|j| gr[j] as f64 - (yr[j] as f64).exp() * s));
                    } else {
                        let d: f64 = (0..cols).map(|j| gr[j] as f64 * yr[j] as f64).sum();
                        want.extend((0..cols).map(|j| yr[j] as f64 * (gr[j] as f64 - d)));
                    }
                }
                assert_close(&dx, &want, 1e-5, 1e-6, &format!("softmaxBackward {rows}x{cols} log={log}"));
            }
        }
    }

    #[test]
    fn extreme_logits_are_stable() {
        let x = [1000.0f32, 0.0, -1000.0, f32::NEG_INFINITY];
        let mut y = [0f32; 4];
        softmax(&x, 1, 4, false, &mut y);
        assert_eq!(y, [1.0, 0.0, 0.0, 0.0]);
        softmax(&x, 1, 4, true, &mut y);
        assert_eq!(&y[..3], &[0.0, -1000.0, -2000.0]);
        assert_eq!(y[3], f32::NEG_INFINITY);
    }
}
