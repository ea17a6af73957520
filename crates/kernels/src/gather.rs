//! Row gathers and scatter-adds (embedding lookup and its backward) and the flat scatter-add.
//! Scatter-adds run in index order so repeated indices accumulate deterministically.

use crate::pool;

/// The first position whose index is outside [0, bound), with the offending value.
pub fn first_bad_index(idx: &[i32], bound: usize) -> Option<(usize, i32)> {
    idx.iter().position(|&v| v < 0 || v as usize >= bound).map(|p| (p, idx[p]))
}

/// out[i, :] = src[idx[i], :] with rows of `row_size` elements.
pub fn index_select(src: &[f32], row_size: usize, idx: &[i32], out: &mut [f32]) {
    assert_eq!(out.len(), idx.len() * row_size, "indexSelect: out length");
    if row_size == 0 {
        return;
    }
    assert_eq!(src.len() % row_size, 0, "indexSelect: src length not a multiple of rowSize");
    let rows = src.len() / row_size;
    assert!(first_bad_index(idx, rows).is_none(), "indexSelect: index out of range");
    let per = (16384 / row_size).max(1);
    pool::for_each_chunk(out, per * row_size, out.len() as f64 * 0.3, |ci, o| {
        for (t, orow) in o.chunks_exact_mut(row_size).enumerate() {
            let r = idx[ci * per + t] as usize;
            crate::copy::copy_row(orow, &src[r * row_size..][..row_size]);
        }
    });
}

/// dst[idx[i], :] += src[i, :], in order of i (split between threads by columns only).
pub fn index_add(src: &[f32], row_size: usize, idx: &[i32], dst: &mut [f32]) {
    assert_eq!(src.len(), idx.len() * row_size, "indexAdd: src length");
    if row_size == 0 {
        return;
    }
    assert_eq!(dst.len() % row_size, 0, "indexAdd: dst length not a multiple of rowSize");
    let rows = dst.len() / row_size;
    assert!(first_bad_index(idx, rows).is_none(), "indexAdd: index out of range");
    const COLS: usize = 512;
    let blocks = row_size.div_ceil(COLS);
    let dp = pool::SendPtr(dst.as_mut_ptr());
    pool::for_each_index(blocks, src.len() as f64 * 0.5, move |b| {
        let (j0, j1) = (b * COLS, ((b + 1) * COLS).min(row_size));
        for (i, &r) in idx.iter().enumerate() {
            let s = &src[i * row_size + j0..i * row_size + j1];
            // SAFETY: block b alone touches columns j0..j1 of each dst row, which is in bounds.
            let d = unsafe { std::slice::from_raw_parts_mut(dp.get().add(r as usize * row_size + j0), j1 - j0) };
            crate::copy::add_row(d, s);
        }
    });
}

/// dst[flat_idx[i]] += src[i], in index order.
pub fn put_add(src: &[f32], flat_idx: &[i32], dst: &mut [f32]) {
    assert_eq!(src.len(), flat_idx.len(), "putAdd: src length");
    assert!(first_bad_index(flat_idx, dst.len()).is_none(), "putAdd: index out of range");
    for (&i, &v) in flat_idx.iter().zip(src) {
        dst[i as usize] += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Rng, EDGE_SIZES};

    #[test]
    fn gather_and_scatter_match_naive() {
        let mut rng = Rng::new(30);
        for &row in &[0usize, 1, 7, 16, 17, 600, 1100] {
            for &nidx in &[0usize, 1, 9, 64, 3000] {
                let rows = 27;
                let src = rng.vec(rows * row);
                let idx: Vec<i32> = (0..nidx).map(|_| (rng.next_u64() % rows as u64) as i32).collect();
                let mut out = vec![f32::NAN; nidx * row];
                index_select(&src, row, &idx, &mut out);
                for i in 0..nidx {
                    assert_eq!(&out[i * row..][..row], &src[idx[i] as usize * row..][..row]);
                }
                let g = rng.vec(nidx * row);
                let mut dst = rng.vec(rows * row);
                let mut want = dst.clone();
                for i in 0..nidx {
                    for j in 0..row {
                        want[idx[i] as usize * row + j] += g[i * row + j];
                    }
                }
                index_add(&g, row, &idx, &mut dst);
                assert!(dst.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "indexAdd row={row}");
            }
        }
        for &n in EDGE_SIZES {
            let out = rng.vec(n);
            let idx: Vec<i32> = (0..n).map(|_| (rng.next_u64() % 50) as i32).collect();
            let mut dst = vec![0f32; 50];
            let mut want = vec![0f32; 50];
            put_add(&out, &idx, &mut dst);
            for i in 0..n {
                want[idx[i] as usize] += out[i];
            }
            assert_eq!(dst, want);
        }
    }

    #[test]
    fn bad_indices_are_found() {
        assert_eq!(first_bad_index(&[0, 3, -1, 9], 4), Some((2, -1)));
        assert_eq!(first_bad_index(&[0, 4], 4), Some((1, 4)));
        assert_eq!(first_bad_index(&[0, 3], 4), None);
        let r = std::panic::catch_unwind(|| put_add(&[1.0], &[1], &mut [0.0]));
        assert!(r.is_err());
    }
}
