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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

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
