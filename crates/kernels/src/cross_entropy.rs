//! Fused softmax + negative log-likelihood (F.cross_entropy's sum before the mean) and its backward.

use crate::{cpu, pool};
use crate::fastlog::ln_one;
use crate::softmax::row_max;

/// The ns per logit the parallel threshold counts for the forward. Measured at [1024, 27] with the
/// AVX-512 rows (`cargo bench --bench kernels`, load ~3.5) it is 0.67 (18.6 µs on one thread),
/// which would keep that shape on one thread; but two threads take it to 12.8-15.6 µs wall, so
/// the estimate stays at the 1.5 of the older rows, which splits it.
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

/// softmax_nll_rows in AVX-512 (33 µs → 18 at [1024, 27] on one thread): each row's max, sum and
/// division in whole 16-lane registers, the exps the quick way with exp_one's bits
/// (`exp8_quick`), the logs of a group's sums in one vectorised loop. The same operations in the
/// same order as the portable rows (vmaxps(a, b) is `if a > b { a } else { b }`, the max
/// re-reads the last 16 elements, the sum adds the tail into lanes 0..rem and folds 8, 4, 2, 1
/// as chunk_sum does), so the same bits (tested on every path against reference.rs).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use crate::matmul::avx512::tail_mask;
    use std::arch::x86_64::*;

    /// softmax.rs's row_max of cols ≥ 16 elements at x.
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
        if !cols.is_multiple_of(16) {
            step(&mut acc, &mut nan, _mm512_loadu_ps(x.add(cols - 16)));
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

    /// 2^(j/16) for j = 0..16, each the nearest f64 (from 60-digit decimal arithmetic).
    pub(super) const EXP2_SIXTEENTHS: [f64; 16] = [
        1.0,
        1.0442737824274138,
        1.0905077326652577,
        1.1387886347566916,
        1.189207115002721,
        1.241857812073484,
        1.2968395546510096,
        1.3542555469368927,
        std::f64::consts::SQRT_2,
        1.4768261459394993,
        1.5422108254079407,
        1.6104903319492543,
        1.681792830507429,
        1.7562521603732995,
        1.8340080864093424,
        1.9152065613971474,
    ];
    use crate::fastmath::SHIFTER;
    /// Half the width, in f64 ulps, of the band around an f32 rounding midpoint where the quick
    /// exp below defers to exp_one: its error is below 2^-42.5 relative (the degree-5 Taylor
    /// remainder on |r| ≤ ln2/32 is 2^-42.7, the one-constant reduction 2^-46.6, roundings
    /// ~2^-51), at most 1450 ulps; exp_one's own exp is within 2 ulps of exact.
    const MIDPOINT_BAND: i64 = 4096;

    /// exp_one of 8 lanes the quick way: e^y = 2^q · 2^(j/16) · e^r with n = 16q + j the integer
    /// nearest y·16/ln2, r = y − n·ln2/16, a 16-entry table read with one permute and e^r by
    /// its degree-5 Taylor polynomial: 8 operations on the multiply-add ports where exp_one
    /// takes 15, which bound its loop. The result is within 2^-42.5 of e^y, so it rounds to the
    /// same f32 as exp_one's unless it lies within MIDPOINT_BAND ulps of a rounding midpoint:
    /// the lanes that are not, and whose y lies in [−87, 0] (normal f32 results; the range
    /// softmax's x − max gives), are marked in the mask; the caller redoes the others.
    #[inline(always)]
    pub(super) unsafe fn exp8_quick(x: __m256, tlo: __m512d, thi: __m512d) -> (__m256, __mmask8) {
        let y = _mm512_cvtps_pd(x);
        let in_range = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(y, _mm512_set1_pd(-87.0)) & _mm512_cmp_pd_mask::<_CMP_LE_OQ>(y, _mm512_setzero_pd());
        let shifter = _mm512_set1_pd(SHIFTER);
        let kf = _mm512_fmadd_pd(y, _mm512_set1_pd(16.0 * std::f64::consts::LOG2_E), shifter);
        let k = _mm512_sub_pd(kf, shifter);
        let r = _mm512_fnmadd_pd(k, _mm512_set1_pd(std::f64::consts::LN_2 / 16.0), y);
        let mut q = _mm512_set1_pd(1.0 / 120.0);
        for c in [1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(c));
        }
        // kf's low bits are 2^51 + n: its low 4 bits index the table, n >> 4 is q.
        let n = _mm512_sub_epi64(_mm512_castpd_si512(kf), _mm512_castpd_si512(shifter));
        let t = _mm512_permutex2var_pd(tlo, _mm512_castpd_si512(kf), thi);
        let e = _mm512_castpd_si512(_mm512_mul_pd(t, q));
        let e = _mm512_add_epi64(e, _mm512_slli_epi64::<52>(_mm512_srai_epi64::<4>(n)));
        // Rounding to f32 drops the low 29 mantissa bits; the midpoint is 2^28 of them.
        let band = _mm512_set1_epi64(MIDPOINT_BAND);
        let off = _mm512_and_si512(_mm512_add_epi64(e, _mm512_set1_epi64(MIDPOINT_BAND - (1 << 28))), _mm512_set1_epi64((1 << 29) - 1));
        let near = _mm512_cmplt_epu64_mask(off, _mm512_add_epi64(band, band));
        (_mm512_cvtpd_ps(_mm512_castsi512_pd(e)), in_range & !near)
    }

    /// p[i] = exp_one(p[i]): 16 at a time the quick way, a block of 16 with any lane the quick
    /// way cannot vouch for (and the tail) by exp_one itself.
    #[inline(always)]
    pub(super) unsafe fn exp_inplace(p: &mut [f32]) {
        let (tlo, thi) = (_mm512_loadu_pd(EXP2_SIXTEENTHS.as_ptr()), _mm512_loadu_pd(EXP2_SIXTEENTHS.as_ptr().add(8)));
        let mut blocks = p.chunks_exact_mut(16);
        for b in &mut blocks {
            let v = _mm512_loadu_ps(b.as_ptr());
            let (lo, mlo) = exp8_quick(_mm512_castps512_ps256(v), tlo, thi);
            let (hi, mhi) = exp8_quick(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v))), tlo, thi);
            if mlo & mhi == 0xFF {
                _mm256_storeu_ps(b.as_mut_ptr(), lo);
                _mm256_storeu_ps(b.as_mut_ptr().add(8), hi);
            } else {
                for v in b.iter_mut() {
                    *v = crate::fastmath::exp_one(*v);
                }
            }
        }
        for v in blocks.into_remainder() {
            *v = crate::fastmath::exp_one(*v);
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
            for (r, sh) in shifts[..n].iter_mut().enumerate() {
                let (xr, pr) = (xp.add((r0 + r) * cols), pp.add((r0 + r) * cols));
                let m = row_max(xr, cols);
                // A row of all -inf has no finite max: shift by 0 so exp gives 0s and the sum 0
                // (→ NaN probabilities, as PyTorch gives).
                let shift = if m == f32::NEG_INFINITY { 0.0 } else { m };
                *sh = shift;
                let sv = _mm512_set1_ps(shift);
                map_row(xr, pr, cols, #[inline(always)] |v| _mm512_sub_ps(v, sv));
            }
            exp_inplace(std::slice::from_raw_parts_mut(pp.add(r0 * cols), n * cols));
            for (r, sum) in sums[..n].iter_mut().enumerate() {
                let pr = pp.add((r0 + r) * cols);
                let s = row_sum(pr, cols);
                let sv = _mm512_set1_ps(s);
                map_row(pr, pr, cols, #[inline(always)] |v| _mm512_div_ps(v, sv));
                *sum = s as f64;
            }
            // The group's logs in one vectorised loop, then the losses in row order.
            for v in &mut sums[..n] {
                *v = super::ln_one(*v);
            }
            for (r, (&t, (&ls, &sh))) in targets[r0..r0 + n].iter().zip(sums.iter().zip(&shifts)).enumerate() {
                if t as i64 != ignore_index {
                    // −log softmax = log Σ exp(x − m) − (x_t − m), in f64 for the accumulation.
                    loss += ls - (x[(r0 + r) * cols + t as usize] - sh) as f64;
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

    /// The AVX-512 rows' exp against exp_one on every f32 in [−104, 0] (all that x − max can be
    /// where exp is not 0) and the special values: the same bits on each; how many lanes the
    /// quick way leaves to exp_one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn quick_exp_gives_exp_ones_bits_on_every_input() {
        if !crate::cpu::avx512_full() {
            return;
        }
        #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
        unsafe fn run(x: &mut [f32], deferred: &mut usize) {
            use std::arch::x86_64::*;
            let t = &avx512::EXP2_SIXTEENTHS;
            let (tlo, thi) = (_mm512_loadu_pd(t.as_ptr()), _mm512_loadu_pd(t.as_ptr().add(8)));
            for c in x.chunks_exact(8) {
                *deferred += 8 - avx512::exp8_quick(_mm256_loadu_ps(c.as_ptr()), tlo, thi).1.count_ones() as usize;
            }
            avx512::exp_inplace(x);
        }
        let chunk = 1 << 20;
        let (mut xs, mut want) = (vec![0f32; chunk], vec![0f32; chunk]);
        let (mut deferred, mut total) = (0usize, 0usize);
        let mut check = |xs: &mut [f32], want: &mut [f32]| {
            crate::fastmath::exp_slice(xs, want);
            let x0 = xs.to_vec();
            // SAFETY: AVX-512 (F, DQ, BW, VL) was detected above.
            unsafe { run(xs, &mut deferred) };
            total += xs.len();
            for i in 0..xs.len() {
                assert_eq!(xs[i].to_bits(), want[i].to_bits(), "exp({:e})", x0[i]);
            }
        };
        let (lo, hi) = (0x8000_0000u32, (-104f32).to_bits());
        let mut u = lo;
        while u <= hi {
            let n = chunk.min((hi - u) as usize + 1);
            for (i, x) in xs[..n].iter_mut().enumerate() {
                *x = f32::from_bits(u + i as u32);
            }
            check(&mut xs[..n], &mut want[..n]);
            u += n as u32;
        }
        let mut special = vec![0.0, 1e-30, 0.5, 88.0, 89.0, 1e30, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, -87.0, -87.000_01, -105.0, -1e30, f32::MIN_POSITIVE, -f32::MIN_POSITIVE];
        special.resize(32, -1.0);
        let mut w = vec![0f32; special.len()];
        check(&mut special, &mut w);
        eprintln!("quick exp: {deferred} of {total} lanes left to exp_one");
        assert!(deferred < total / 20, "{deferred} of {total} deferred");
    }

    #[test]
    fn bad_targets_are_found() {
        assert_eq!(first_bad_target(&[0, 2, 3], 3, -100), Some((2, 3)));
        assert_eq!(first_bad_target(&[0, -100, -1], 3, -100), Some((2, -1)));
        assert_eq!(first_bad_target(&[0, 5], 3, 5), None);
    }
}
