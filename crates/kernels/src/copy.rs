//! Strided copy between two views (contiguous(), cat, stack, slice assignment), for f32 and i32.

use crate::layout::{extent, Walk};

/// dst[dst_off + Σ i_k·dst_strides_k] = src[src_off + Σ i_k·src_strides_k] over `shape`.
/// Sequential: a destination view with 0 strides writes an element more than once, and the last
/// write in index order must win.
#[allow(clippy::too_many_arguments)]
pub fn copy<T: Copy>(
    src: &[T], src_off: usize, src_strides: &[usize],
    dst: &mut [T], dst_off: usize, dst_strides: &[usize],
    shape: &[usize],
) {
    assert!(shape.len() == src_strides.len() && shape.len() == dst_strides.len(), "copy: rank");
    assert!(extent(src_off, shape, src_strides).is_some_and(|e| e <= src.len()), "copy: src out of bounds");
    assert!(extent(dst_off, shape, dst_strides).is_some_and(|e| e <= dst.len()), "copy: dst out of bounds");
    let w = Walk::new(shape, [src_strides, dst_strides]);
    let n = w.inner;
    let [ss, ds] = w.inner_strides;
    w.rows(0, w.rows, |o| {
        let (s0, d0) = (src_off + o[0], dst_off + o[1]);
        if ss == 1 && ds == 1 {
            dst[d0..d0 + n].copy_from_slice(&src[s0..s0 + n]);
        } else {
            for i in 0..n {
                dst[d0 + i * ds] = src[s0 + i * ss];
            }
        }
    });
}

/// dst = src for short rows (an embedding's 10 floats, a context's 3 ids): copy_from_slice calls
/// memcpy, whose call and size dispatch cost more than moving a few dozen bytes, once per row.
/// Fixed-size chunks move inline; a row of 8 or more ends with an overlapping chunk.
#[inline(always)]
pub fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len();
    assert_eq!(n, src.len(), "copy_row: lengths");
    #[inline(always)]
    fn chunk<T: Copy, const K: usize>(dst: &mut [T], src: &[T], at: usize) {
        let s: [T; K] = src[at..at + K].try_into().unwrap();
        <&mut [T; K]>::try_from(&mut dst[at..at + K]).unwrap().copy_from_slice(&s);
    }
    if n >= 8 {
        let mut at = 0;
        while at + 8 <= n {
            chunk::<T, 8>(dst, src, at);
            at += 8;
        }
        if at < n {
            chunk::<T, 8>(dst, src, n - 8);
        }
    } else if n >= 4 {
        chunk::<T, 4>(dst, src, 0);
        chunk::<T, 4>(dst, src, n - 4);
    } else {
        for i in 0..n {
            dst[i] = src[i];
        }
    }
}

/// dst += src for short rows, element by element in order (the same bits as a plain loop), in
/// fixed-size chunks that need no call or alias check.
#[inline(always)]
pub fn add_row(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    assert_eq!(n, src.len(), "add_row: lengths");
    let mut at = 0;
    while at + 8 <= n {
        let s: [f32; 8] = src[at..at + 8].try_into().unwrap();
        let d = <&mut [f32; 8]>::try_from(&mut dst[at..at + 8]).unwrap();
        for k in 0..8 {
            d[k] += s[k];
        }
        at += 8;
    }
    while at < n {
        dst[at] += src[at];
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn short_rows_copy_and_add_every_element() {
        for n in 0..40usize {
            let src: Vec<f32> = (0..n).map(|i| i as f32 * 1.5 - 3.0).collect();
            let mut dst = vec![f32::NAN; n];
            copy_row(&mut dst, &src);
            assert_eq!(dst, src, "copy_row {n}");
            let ids: Vec<i32> = (0..n as i32).collect();
            let mut got = vec![-1i32; n];
            copy_row(&mut got, &ids);
            assert_eq!(got, ids);
            let mut acc: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
            let want: Vec<f32> = acc.iter().zip(&src).map(|(a, b)| a + b).collect();
            add_row(&mut acc, &src);
            assert_eq!(acc, want, "add_row {n}");
        }
    }

    #[test]
    fn transposes_slices_and_broadcasts() {
        let mut rng = Rng::new(80);
        for &(r, c) in &[(0usize, 3usize), (1, 1), (3, 7), (16, 17), (65, 63)] {
            let src = rng.vec(r * c + 2);
            // contiguous() of the transpose [c, r] (strides [1, c]) from offset 2
            let mut dst = vec![f32::NAN; r * c];
            copy(&src, 2, &[1, c], &mut dst, 0, &[r, 1], &[c, r]);
            for i in 0..c {
                for j in 0..r {
                    assert_eq!(dst[i * r + j], src[2 + j * c + i]);
                }
            }
            // i32, into the middle of a bigger buffer with row stride c + 3
            let si: Vec<i32> = (0..(r * c) as i32).collect();
            let mut di = vec![-1i32; r * (c + 3) + 1];
            copy(&si, 0, &[c, 1], &mut di, 1, &[c + 3, 1], &[r, c]);
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(di[1 + i * (c + 3) + j], (i * c + j) as i32);
                }
            }
            // broadcast a row (src stride 0) into every row
            let mut db = vec![0f32; r * c];
            copy(&src, 0, &[0, 1], &mut db, 0, &[c, 1], &[r, c]);
            assert!((0..r * c).all(|i| db[i] == src[i % c]));
        }
    }

    #[test]
    fn out_of_bounds_panics() {
        let r = std::panic::catch_unwind(|| {
            let mut d = [0f32; 4];
            copy(&[1.0f32; 4], 1, &[1], &mut d, 0, &[1], &[4]);
        });
        assert!(r.is_err());
    }
}
