//! Reductions of x viewed as [outer, n, inner] over the middle axis.
//!
//! Sums are evaluated in fixed-size chunks: each chunk with 16 f32 lanes combined by a fixed tree,
//! chunk results added in f64 in index order. The grouping depends only on n, never on how the
//! work is split between threads, so the bits are the same with any thread count.

use crate::pool;

/// The extreme reductions of `reduce_arg` (sums have their own kernel, `sum`). The codes cross
/// the JS boundary: src/backend/backend.ts spells the same enum (checked by tests/op_codes.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Max = 0,
    Min = 1,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 2] = [ReduceOp::Max, ReduceOp::Min];
    pub fn from_code(c: i64) -> Option<Self> {
        usize::try_from(c).ok().and_then(|i| Self::ALL.get(i).copied())
    }
}

/// Elements per chunk of a contiguous sum.
pub const SUM_CHUNK: usize = 4096;
const LANES: usize = 16;

/// Sum of one chunk (≤ SUM_CHUNK elements): 16 interleaved lanes, then a fixed pairwise tree.
/// Always inlined, so callers inside `cpu::simd` get it vectorised at their width.
#[inline(always)]
pub(crate) fn chunk_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for (l, &v) in it.remainder().iter().enumerate() {
        acc[l] += v;
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    acc[0]
}

/// Sum of a contiguous slice with the fixed chunking; `parallel` allows splitting the chunks
/// between threads (the result is identical either way).
pub fn sum_contiguous(x: &[f32], parallel: bool) -> f32 {
    if x.len() <= SUM_CHUNK {
        return chunk_sum(x);
    }
    let nchunks = x.len().div_ceil(SUM_CHUNK);
    let part = |c: usize| chunk_sum(&x[c * SUM_CHUNK..((c + 1) * SUM_CHUNK).min(x.len())]) as f64;
    let parts: Vec<f64> = if parallel {
        pool::map_index(nchunks, x.len() as f64 * 0.1, part)
    } else {
        (0..nchunks).map(part).collect()
    };
    parts.iter().sum::<f64>() as f32
}

/// Column sums of `rows` rows of length `inner` starting at x[0] with row stride `stride`, for
/// columns j0..j0+out.len(): the same chunking as `sum_contiguous`, applied per column over rows.
fn column_sums(x: &[f32], rows: usize, stride: usize, j0: usize, out: &mut [f32]) {
    let w = out.len();
    let rows_per_chunk = (SUM_CHUNK / 16).max(1);
    let mut total = vec![0f64; w];
    let mut acc = vec![0f32; w];
    let mut r = 0;
    while r < rows {
        let r1 = (r + rows_per_chunk).min(rows);
        acc.iter_mut().for_each(|v| *v = 0.0);
        for row in r..r1 {
            let xr = &x[row * stride + j0..][..w];
            for (a, &v) in acc.iter_mut().zip(xr) {
                *a += v;
            }
        }
        for (t, &a) in total.iter_mut().zip(&acc) {
            *t += a as f64;
        }
        r = r1;
    }
    for (o, &t) in out.iter_mut().zip(&total) {
        *o = t as f32;
    }
}

/// Dot product of two equal-length slices with the same fixed lane structure as `chunk_sum`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: lengths");
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for l in 0..ra.len() {
        acc[l] += ra[l] * rb[l];
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    acc[0]
}

#[inline(always)]
fn better(op: ReduceOp, v: f32, best: f32) -> bool {
    // NaN wins over numbers (torch.max propagates NaN and argmax points at the first NaN).
    if best.is_nan() {
        return false;
    }
    if v.is_nan() {
        return true;
    }
    if op == ReduceOp::Max { v > best } else { v < best }
}

/// Columns per parallel task when reducing with inner > 1.
const COLS: usize = 256;

/// out[o, j] = Σ_i x[o, i, j] (n = 0 gives 0).
pub fn sum(x: &[f32], outer: usize, n: usize, inner: usize, out: &mut [f32]) {
    assert_eq!(x.len(), outer * n * inner, "sum: x length");
    assert_eq!(out.len(), outer * inner, "sum: out length");
    if out.is_empty() {
        return;
    }
    let est = x.len() as f64 * 0.3;
    if inner == 1 {
        if outer == 1 {
            out[0] = sum_contiguous(x, true);
            return;
        }
        pool::for_each_chunk(out, 64, est, |ci, o| {
            for (t, ov) in o.iter_mut().enumerate() {
                *ov = sum_contiguous(&x[(ci * 64 + t) * n..][..n], false);
            }
        });
        return;
    }
    // inner > 1: tasks are (outer row, block of up to COLS columns), each a contiguous piece of out.
    let blocks = inner.div_ceil(COLS);
    let op_ptr = pool::SendPtr(out.as_mut_ptr());
    pool::for_each_index(outer * blocks, est, move |t| {
        let (o, bj) = (t / blocks, t % blocks);
        let j0 = bj * COLS;
        let w = COLS.min(inner - j0);
        // SAFETY: task t alone writes out[o·inner + j0 .. + w], inside out (asserted above).
        let dst = unsafe { std::slice::from_raw_parts_mut(op_ptr.get().add(o * inner + j0), w) };
        column_sums(&x[o * n * inner..][..n * inner], n, inner, j0, dst);
    });
}

/// Max or min over the middle axis, writing the value and the index of the first extreme element
/// (n ≥ 1).
pub fn reduce_arg(op: ReduceOp, x: &[f32], outer: usize, n: usize, inner: usize, out: &mut [f32], out_idx: &mut [i32]) {
    assert!(n > 0, "reduceArg: empty axis");
    assert!(n <= i32::MAX as usize, "reduceArg: axis too long for int32 indices");
    assert_eq!(x.len(), outer * n * inner, "reduceArg: x length");
    assert_eq!(out.len(), outer * inner, "reduceArg: out length");
    assert_eq!(out_idx.len(), outer * inner, "reduceArg: outIdx length");
    for o in 0..outer {
        let xo = &x[o * n * inner..][..n * inner];
        let (vals, idxs) = (&mut out[o * inner..][..inner], &mut out_idx[o * inner..][..inner]);
        vals.copy_from_slice(&xo[..inner]);
        idxs.iter_mut().for_each(|v| *v = 0);
        for i in 1..n {
            let row = &xo[i * inner..][..inner];
            for j in 0..inner {
                if better(op, row[j], vals[j]) {
                    vals[j] = row[j];
                    idxs[j] = i as i32;
                }
            }
        }
    }
}

/// The backward of `reduce_arg`: dx [outer, n, inner] is zeroed, then each gradient g[o, j] goes
/// to the position that won, dx[o, idx[o, j], j] (every idx < n).
pub fn reduce_arg_backward(g: &[f32], outer: usize, n: usize, inner: usize, idx: &[i32], dx: &mut [f32]) {
    assert_eq!(g.len(), outer * inner, "reduceArgBackward: g length");
    assert_eq!(idx.len(), outer * inner, "reduceArgBackward: idx length");
    assert_eq!(dx.len(), outer * n * inner, "reduceArgBackward: dx length");
    dx.fill(0.0);
    for o in 0..outer {
        for j in 0..inner {
            let at = o * inner + j;
            let i = idx[at];
            assert!(i >= 0 && (i as usize) < n, "reduceArgBackward: index out of range");
            dx[(o * n + i as usize) * inner + j] = g[at];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng, EDGE_SIZES, THREAD_LOCK};

    #[test]
    fn matches_naive_over_shapes() {
        let mut rng = Rng::new(20);
        let mut shapes = vec![(1, 0, 1), (2, 0, 3), (3, 5, 0)];
        for &n in EDGE_SIZES {
            shapes.push((1, n, 1));
            shapes.push((3, n.min(5000), 1));
            shapes.push((2, n.min(300), 7));
            shapes.push((1, 3, n));
        }
        shapes.push((2, 9000, 300)); // several row chunks and column blocks
        for (outer, n, inner) in shapes {
            let x = rng.vec(outer * n * inner);
            for op in [None, Some(ReduceOp::Max), Some(ReduceOp::Min)] {
                if n == 0 && op.is_some() {
                    continue;
                }
                let mut out = vec![f32::NAN; outer * inner];
                let mut idx = vec![-1; outer * inner];
                match op {
                    None => sum(&x, outer, n, inner, &mut out),
                    Some(op) => reduce_arg(op, &x, outer, n, inner, &mut out, &mut idx),
                }
                let mut want = vec![];
                let mut want_idx = vec![];
                for o in 0..outer {
                    for j in 0..inner {
                        let vals = (0..n).map(|i| x[(o * n + i) * inner + j] as f64);
                        let (mut bi, mut bv) = (0usize, f64::NAN);
                        for (i, v) in vals.clone().enumerate() {
                            if i == 0 || (op == Some(ReduceOp::Max) && v > bv) || (op == Some(ReduceOp::Min) && v < bv) {
                                bi = i;
                                bv = v;
                            }
                        }
                        want.push(if op.is_none() { vals.sum() } else { bv });
                        want_idx.push(bi as i32);
                    }
                }
                let tol = if op.is_none() { 1e-6 * (n as f64).sqrt() + 1e-6 } else { 0.0 };
                assert_close(&out, &want, 1e-6, tol, &format!("{op:?} {outer}x{n}x{inner}"));
                if op.is_some() {
                    assert_eq!(idx, want_idx, "arg {op:?} {outer}x{n}x{inner}");
                }
            }
        }
    }

    #[test]
    fn nan_propagates_and_first_index_wins() {
        let x = [1.0, 5.0, 5.0, f32::NAN, 7.0, f32::NAN];
        let (mut v, mut i) = ([0f32], [0i32]);
        reduce_arg(ReduceOp::Max, &x[..3], 1, 3, 1, &mut v, &mut i);
        assert_eq!((v[0], i[0]), (5.0, 1));
        reduce_arg(ReduceOp::Min, &x, 1, 6, 1, &mut v, &mut i);
        assert!(v[0].is_nan() && i[0] == 3);
        reduce_arg(ReduceOp::Max, &x, 1, 6, 1, &mut v, &mut i);
        assert!(v[0].is_nan() && i[0] == 3);
    }

    #[test]
    fn sum_bits_do_not_depend_on_threads() {
        let _g = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(21);
        let x = rng.vec(3_000_017);
        let run = |t: usize, outer: usize, inner: usize| {
            crate::pool::set_num_threads(t).unwrap();
            let n = x.len() / (outer * inner);
            let mut out = vec![0f32; outer * inner];
            sum(&x[..outer * n * inner], outer, n, inner, &mut out);
            out
        };
        for (outer, inner) in [(1, 1), (7, 1), (1, 1000), (3, 257)] {
            let a = run(1, outer, inner);
            let b = run(2, outer, inner);
            assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "{outer}x{inner}");
        }
    }

    #[test]
    fn reduce_arg_backward_routes_to_the_winner() {
        let mut rng = Rng::new(23);
        let (outer, n, inner) = (3usize, 5usize, 4usize);
        let x = rng.vec(outer * n * inner);
        let (mut v, mut ix) = (vec![0f32; outer * inner], vec![0i32; outer * inner]);
        reduce_arg(ReduceOp::Max, &x, outer, n, inner, &mut v, &mut ix);
        let g = rng.vec(outer * inner);
        let mut dx = vec![f32::NAN; outer * n * inner];
        reduce_arg_backward(&g, outer, n, inner, &ix, &mut dx);
        for o in 0..outer {
            for i in 0..n {
                for j in 0..inner {
                    let want = if ix[o * inner + j] as usize == i { g[o * inner + j] } else { 0.0 };
                    assert_eq!(dx[(o * n + i) * inner + j], want);
                }
            }
        }
    }
}
