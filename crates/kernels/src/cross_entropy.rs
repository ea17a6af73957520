//! Fused softmax + negative log-likelihood (F.cross_entropy's sum before the mean) and its backward.

use crate::{cpu, pool};
use crate::fastlog::ln_one;
use crate::softmax::row_max;

/// Rough ns per logit of the forward on one thread (an exp, a division, the row sums), measured at
/// [1024, 27] with AVX-512 (`cargo bench --bench kernels`), for the parallel threshold.
const FORWARD_NS: f64 = 1.5;

/// The first row whose target is neither `ignore_index` nor in [0, cols), with that target.
pub fn first_bad_target(targets: &[i32], cols: usize, ignore_index: i64) -> Option<(usize, i32)> {
    targets
        .iter()
        .position(|&t| t as i64 != ignore_index && (t < 0 || t as usize >= cols))
        .map(|p| (p, targets[p]))
}

/// Softmax of rows x [_, cols] into p and Σ −log p[row, target] over the rows not ignored, with
/// the per-element steps of softmax.rs (exp(x − max), the fixed-order sum, a division) but the
/// exps of all the rows in one pass, which vectorises far better than short rows one by one.
#[inline(always)]
fn softmax_nll_rows(x: &[f32], cols: usize, targets: &[i32], ignore_index: i64, p: &mut [f32]) -> f64 {
    let mut shifts = [0f32; 256];
    let mut loss = 0f64;
    // Groups of up to 256 rows, for the shifts' buffer.
    for (g, (xg, pg)) in x.chunks(256 * cols).zip(p.chunks_mut(256 * cols)).enumerate() {
        let rows = xg.len() / cols;
        for r in 0..rows {
            let (xr, pr) = (&xg[r * cols..][..cols], &mut pg[r * cols..][..cols]);
            let m = row_max(xr);
            // A row of all -inf has no finite max: shift by 0 so exp gives 0s and the sum 0
            // (→ NaN probabilities, as PyTorch gives).
            let shift = if m == f32::NEG_INFINITY { 0.0 } else { m };
            shifts[r] = shift;
            for j in 0..cols {
                pr[j] = xr[j] - shift;
            }
        }
        for v in pg.iter_mut() {
            *v = crate::fastmath::exp_one(*v);
        }
        for r in 0..rows {
            let pr = &mut pg[r * cols..][..cols];
            let s = if cols <= crate::reduce::SUM_CHUNK { crate::reduce::chunk_sum(pr) } else { crate::reduce::sum_contiguous(pr, false) };
            for v in pr.iter_mut() {
                *v /= s;
            }
            let t = targets[g * 256 + r];
            if t as i64 != ignore_index {
                // −log softmax = log Σ exp(x − m) − (x_t − m), in f64 for the accumulation.
                loss += ln_one(s as f64) - (xg[r * cols + t as usize] - shifts[r]) as f64;
            }
        }
    }
    loss
}

/// Whether rows go through the AVX-512 code below: rows of 16 to SUM_CHUNK columns (at least one
/// whole vector, at most one chunk of reduce.rs's sum). Tests that force a narrower path of
/// `cpu::simd` get the portable rows.
#[cfg(target_arch = "x86_64")]
fn avx512_rows(cols: usize) -> bool {
    #[cfg(test)]
    if crate::cpu::TEST_PATH.load(std::sync::atomic::Ordering::Relaxed) != 0 {
        return false;
    }
    (16..=crate::reduce::SUM_CHUNK).contains(&cols) && crate::cpu::avx512_full()
}

/// softmax_nll_rows with each row's max, sum and division in whole 16-lane registers. LLVM's code
/// for a 27-column row spent most of its time around the 11-element tail (scalar divisions,
/// shuffles before the max). The same operations in the same order as the portable rows
/// (vmaxps(a, b) is `if a > b { a } else { b }`, the max re-reads the last 16 elements, the sum
/// adds the tail into lanes 0..rem and folds 8, 4, 2, 1 as chunk_sum does), so the same bits.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use crate::matmul::avx512::tail_mask;
    use std::arch::x86_64::*;

    /// softmax.rs's row_max of cols ≥ 1 elements at x.
    #[inline(always)]
    unsafe fn row_max(x: *const f32, cols: usize) -> f32 {
        #[inline(always)]
        unsafe fn step(acc: &mut __m512, nan: &mut __mmask16, c: __m512) {
            *nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(c, c);
            *acc = _mm512_max_ps(c, *acc);
        }
        let mut acc = _mm512_set1_ps(f32::NEG_INFINITY);
        let mut nan: __mmask16 = 0;
        for i in 0..cols / 16 {
            step(&mut acc, &mut nan, _mm512_loadu_ps(x.add(16 * i)));
        }
        if cols % 16 != 0 {
            let tail = if cols >= 16 {
                _mm512_loadu_ps(x.add(cols - 16))
            } else {
                _mm512_mask_loadu_ps(_mm512_set1_ps(f32::NEG_INFINITY), tail_mask(cols), x)
            };
            step(&mut acc, &mut nan, tail);
        }
        if nan != 0 {
            return f32::NAN;
        }
        let lo = _mm512_castps512_ps256(acc);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc)));
        let v = _mm256_max_ps(hi, lo);
        let v = _mm_max_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
        let v = _mm_max_ps(_mm_movehl_ps(v, v), v);
        _mm_cvtss_f32(_mm_max_ss(_mm_movehdup_ps(v), v))
    }

    /// reduce.rs's chunk_sum of the cols ≤ SUM_CHUNK elements at p.
    #[inline(always)]
    unsafe fn row_sum(p: *const f32, cols: usize) -> f32 {
        let mut acc = _mm512_setzero_ps();
        for i in 0..cols / 16 {
            acc = _mm512_add_ps(acc, _mm512_loadu_ps(p.add(16 * i)));
        }
        let (full, rem) = (cols / 16 * 16, cols % 16);
        if rem != 0 {
            let m = tail_mask(rem);
            acc = _mm512_mask_add_ps(acc, m, acc, _mm512_maskz_loadu_ps(m, p.add(full)));
        }
        let lo = _mm512_castps512_ps256(acc);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc)));
        let v = _mm256_add_ps(lo, hi);
        let v = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let v = _mm_add_ps(v, _mm_movehl_ps(v, v));
        _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)))
    }

    /// out[j] = f(x[j]) for j < cols (≥ 16), 16 lanes at a time; the tail as the last 16 elements,
    /// loaded before any store (so out may be x) and stored over the previous vector's end. No
    /// masked stores: a masked store's whole 64 bytes, which reach into the next row, would keep
    /// that row's loads waiting until the store has left the core (no store-to-load forwarding).
    #[inline(always)]
    unsafe fn map_row(x: *const f32, out: *mut f32, cols: usize, f: impl Fn(__m512) -> __m512) {
        let tail = f(_mm512_loadu_ps(x.add(cols - 16)));
        let mut j = 0;
        while j + 16 <= cols {
            _mm512_storeu_ps(out.add(j), f(_mm512_loadu_ps(x.add(j))));
            j += 16;
        }
        if j < cols {
            _mm512_storeu_ps(out.add(cols - 16), tail);
        }
    }

    /// See softmax_nll_rows; cols in 16..=SUM_CHUNK.
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
    pub(super) unsafe fn softmax_nll_rows(x: &[f32], cols: usize, targets: &[i32], ignore_index: i64, p: &mut [f32]) -> f64 {
        let rows = targets.len();
        assert!(x.len() == rows * cols && p.len() == rows * cols && (16..=crate::reduce::SUM_CHUNK).contains(&cols));
        let (xp, pp) = (x.as_ptr(), p.as_mut_ptr());
        let (mut shifts, mut sums) = ([0f32; 256], [0f64; 256]);
        let mut loss = 0f64;
        // Groups of up to 256 rows, for the shifts' and sums' buffers.
        let mut r0 = 0;
        while r0 < rows {
            let n = (rows - r0).min(256);
            for r in 0..n {
                let (xr, pr) = (xp.add((r0 + r) * cols), pp.add((r0 + r) * cols));
                let m = row_max(xr, cols);
                // A row of all -inf has no finite max: shift by 0 so exp gives 0s and the sum 0
                // (→ NaN probabilities, as PyTorch gives).
                let shift = if m == f32::NEG_INFINITY { 0.0 } else { m };
                shifts[r] = shift;
                let sv = _mm512_set1_ps(shift);
                map_row(xr, pr, cols, #[inline(always)] |v| _mm512_sub_ps(v, sv));
            }
            // 64 at a time, unrolled: independent exps in flight hide one exp's long dependency
            // chain (the plain loop ran one vector at a time).
            let mut es = std::slice::from_raw_parts_mut(pp.add(r0 * cols), n * cols).chunks_exact_mut(64);
            for c in &mut es {
                for v in c.iter_mut() {
                    *v = crate::fastmath::exp_one(*v);
                }
            }
            for v in es.into_remainder() {
                *v = crate::fastmath::exp_one(*v);
            }
            for r in 0..n {
                let pr = pp.add((r0 + r) * cols);
                let s = row_sum(pr, cols);
                let sv = _mm512_set1_ps(s);
                map_row(pr, pr, cols, #[inline(always)] |v| _mm512_div_ps(v, sv));
                sums[r] = s as f64;
            }
            // The group's logs in one vectorised loop, then the losses in row order.
            for v in &mut sums[..n] {
                *v = super::ln_one(*v);
            }
            for r in 0..n {
                let t = targets[r0 + r];
                if t as i64 != ignore_index {
                    // −log softmax = log Σ exp(x − m) − (x_t − m), in f64 for the accumulation.
                    loss += sums[r] - (x[(r0 + r) * cols + t as usize] - shifts[r]) as f64;
                }
            }
            r0 += n;
        }
        loss
    }
}

/// Writes softmax(logits) into `probs` and returns Σ over non-ignored rows of −log p[row, target].
pub fn forward(logits: &[f32], rows: usize, cols: usize, targets: &[i32], ignore_index: i64, probs: &mut [f32]) -> f64 {
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
    let parts = pool::map_index(tasks, (rows * cols) as f64 * FORWARD_NS, move |ti| {
        let r0 = ti * per;
        let r1 = (r0 + per).min(rows);
        // SAFETY: task ti alone writes rows r0..r1 of probs, which is rows·cols long.
        let pb = unsafe { std::slice::from_raw_parts_mut(pp.get().add(r0 * cols), (r1 - r0) * cols) };
        let (x, t) = (&logits[r0 * cols..r1 * cols], &targets[r0..r1]);
        #[cfg(target_arch = "x86_64")]
        if avx512_rows(cols) {
            // SAFETY: AVX-512 was detected on this CPU; the lengths match and 16 ≤ cols ≤ SUM_CHUNK.
            return unsafe { avx512::softmax_nll_rows(x, cols, t, ignore_index, pb) };
        }
        cpu::simd(#[inline(always)] || softmax_nll_rows(x, cols, t, ignore_index, pb))
    });
    parts.iter().sum()
}

/// dx[r, c] = scale·(probs[r, c] − [c == target[r]]), and 0 on rows whose target is ignore_index.
pub fn backward(probs: &[f32], rows: usize, cols: usize, targets: &[i32], ignore_index: i64, scale: f32, dx: &mut [f32]) {
    assert_eq!(probs.len(), rows * cols, "crossEntropyBackward: probs length");
    assert_eq!(dx.len(), rows * cols, "crossEntropyBackward: dx length");
    assert_eq!(targets.len(), rows, "crossEntropyBackward: targets length");
    assert!(first_bad_target(targets, cols, ignore_index).is_none(), "crossEntropyBackward: target out of range");
    if cols == 0 {
        return;
    }
    let per = (8192 / cols).max(1);
    pool::for_each_chunk(dx, per * cols, (rows * cols) as f64 * 0.5, |ci, o| {
        // The chunk's rows as one run of scale·p (vectorised across rows, no short-row tails),
        // then each row's target and ignored rows put right.
        let pc = &probs[ci * per * cols..][..o.len()];
        cpu::simd(#[inline(always)] || {
            for (d, &p) in o.iter_mut().zip(pc) {
                *d = scale * p;
            }
        });
        for (t, drow) in o.chunks_exact_mut(cols).enumerate() {
            let r = ci * per + t;
            let tg = targets[r];
            if tg as i64 == ignore_index {
                drow.iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            drow[tg as usize] = scale * (probs[r * cols + tg as usize] - 1.0);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    #[test]
    fn matches_naive_with_ignored_rows() {
        let mut rng = Rng::new(50);
        for &(rows, cols) in &[(0usize, 27usize), (1, 1), (5, 7), (32, 27), (9, 16), (33, 17), (2000, 65)] {
            let x: Vec<f32> = rng.vec(rows * cols).iter().map(|v| v * 8.0).collect();
            let t: Vec<i32> = (0..rows).map(|r| if r % 5 == 3 { -100 } else { (rng.next_u64() % cols as u64) as i32 }).collect();
            let mut probs = vec![f32::NAN; rows * cols];
            let loss = forward(&x, rows, cols, &t, -100, &mut probs);
            let mut want_loss = 0f64;
            let mut want_p = vec![];
            for r in 0..rows {
                let row: Vec<f64> = x[r * cols..][..cols].iter().map(|&v| v as f64).collect();
                let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
                want_p.extend(row.iter().map(|v| (v - m).exp() / s));
                if t[r] != -100 {
                    want_loss += s.ln() + m - row[t[r] as usize];
                }
            }
            assert!((loss - want_loss).abs() <= 1e-5 * (1.0 + want_loss.abs()), "loss {loss} vs {want_loss}");
            assert_close(&probs, &want_p, 1e-5, 1e-7, "probs");
            let mut dx = vec![f32::NAN; rows * cols];
            backward(&probs, rows, cols, &t, -100, 0.5, &mut dx);
            let mut want = vec![];
            for r in 0..rows {
                for c in 0..cols {
                    want.push(if t[r] == -100 { 0.0 } else { 0.5 * (probs[r * cols + c] as f64 - if c as i32 == t[r] { 1.0 } else { 0.0 }) });
                }
            }
            assert_close(&dx, &want, 1e-6, 1e-7, "dx");
        }
    }

    /// Rows of logits with the awkward cases mixed in: ±0, a NaN, −inf entries, all −inf, huge.
    fn logits(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
        let mut x: Vec<f32> = rng.vec(rows * cols).iter().map(|v| v * 12.0).collect();
        for r in 0..rows {
            let row = &mut x[r * cols..][..cols];
            match r % 11 {
                2 => row.iter_mut().for_each(|v| *v = if *v > 0.0 { 0.0 } else { -0.0 }),
                4 => row[cols / 2] = f32::NAN,
                6 => row.iter_mut().step_by(3).for_each(|v| *v = f32::NEG_INFINITY),
                8 => row.iter_mut().for_each(|v| *v = f32::NEG_INFINITY),
                9 => row[0] = 3e38,
                _ => {}
            }
        }
        x
    }

    /// The SIMD rows against the scalar code they replaced (reference.rs): same probabilities, loss
    /// and gradient bits on every path, with 1 and 2 threads; softmax's rows too.
    #[test]
    fn same_bits_as_the_scalar_reference() {
        let mut rng = Rng::new(51);
        let shapes: &[(usize, usize)] = &[(1, 1), (3, 2), (5, 7), (4, 15), (9, 16), (33, 17), (32, 27), (1024, 27), (7, 31), (5, 33), (300, 65), (40, 300), (3, 5000), (3000, 27)];
        let cases: Vec<_> = shapes
            .iter()
            .map(|&(rows, cols)| {
                let x = logits(&mut rng, rows, cols);
                let t: Vec<i32> = (0..rows).map(|r| if r % 7 == 3 { -100 } else { (rng.next_u64() % cols as u64) as i32 }).collect();
                (rows, cols, x, t)
            })
            .collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        crate::cpu::for_each_path(|path| {
            for threads in [1usize, 2] {
                crate::pool::set_num_threads(threads).unwrap();
                for (rows, cols, x, t) in &cases {
                    let (rows, cols) = (*rows, *cols);
                    let what = format!("{path} {threads} thread(s) [{rows}, {cols}]");
                    let (mut p, mut q) = (vec![0f32; rows * cols], vec![0f32; rows * cols]);
                    let loss = forward(x, rows, cols, t, -100, &mut p);
                    let want = crate::reference::cross_entropy_forward(x, rows, cols, t, -100, &mut q);
                    assert_eq!(loss.to_bits(), want.to_bits(), "loss {what}");
                    assert_eq!(bits(&p), bits(&q), "probs {what}");
                    let (mut d, mut e) = (vec![0f32; rows * cols], vec![0f32; rows * cols]);
                    backward(&q, rows, cols, t, -100, 0.37, &mut d);
                    crate::reference::cross_entropy_backward(&q, rows, cols, t, -100, 0.37, &mut e);
                    assert_eq!(bits(&d), bits(&e), "dx {what}");
                    for log in [false, true] {
                        crate::softmax::softmax(x, rows, cols, log, &mut p);
                        crate::reference::softmax(x, rows, cols, log, &mut q);
                        assert_eq!(bits(&p), bits(&q), "softmax log={log} {what}");
                    }
                }
            }
        });
    }

    #[test]
    fn bad_targets_are_found() {
        assert_eq!(first_bad_target(&[0, 2, 3], 3, -100), Some((2, 3)));
        assert_eq!(first_bad_target(&[0, -100, -1], 3, -100), Some((2, -1)));
        assert_eq!(first_bad_target(&[0, 5], 3, 5), None);
    }
}
