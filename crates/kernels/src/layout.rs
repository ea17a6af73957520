//! Strided N-d views: bounds of a view and row-by-row iteration over several views at once.
//!
//! A view is (offset, shape, strides) in elements; strides are non-negative (a 0 stride
//! broadcasts). Iteration walks "rows" of the innermost dimension after coalescing: size-1 dims
//! are dropped and adjacent dims merged when every operand is contiguous across them, so most
//! elementwise calls become a single long row that the inner loops can vectorise.

/// One past the largest element index the view touches, or 0 when the shape has a zero.
/// Returns None on arithmetic overflow.
pub fn extent(off: usize, shape: &[usize], strides: &[usize]) -> Option<usize> {
    debug_assert_eq!(shape.len(), strides.len());
    if shape.contains(&0) {
        return Some(0);
    }
    let mut last = off;
    for (&d, &s) in shape.iter().zip(strides) {
        last = last.checked_add((d - 1).checked_mul(s)?)?;
    }
    last.checked_add(1)
}

/// Number of elements of a shape, None on overflow.
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// A shape with the strides of `N` operands, coalesced.
#[allow(clippy::needless_range_loop)] // index loops over parallel per-operand arrays read best
#[derive(Debug, Clone)]
pub struct Walk<const N: usize> {
    /// Outer dims (all but the innermost), outermost first.
    pub outer: Vec<usize>,
    pub outer_strides: Vec<[usize; N]>,
    /// Innermost dim length and each operand's stride along it.
    pub inner: usize,
    pub inner_strides: [usize; N],
    /// Number of rows (product of `outer`).
    pub rows: usize,
}

#[allow(clippy::needless_range_loop)]
impl<const N: usize> Walk<N> {
    /// `strides[k]` are operand k's strides (each of the shape's rank).
    pub fn new(shape: &[usize], strides: [&[usize]; N]) -> Self {
        let mut dims: Vec<(usize, [usize; N])> = Vec::with_capacity(shape.len());
        for (d, &len) in shape.iter().enumerate() {
            if len == 1 {
                continue;
            }
            let st: [usize; N] = std::array::from_fn(|k| strides[k][d]);
            if let Some((plen, pst)) = dims.last_mut() {
                // Merge with the previous (outer) dim when each operand steps over this dim's
                // whole extent exactly as the outer dim does.
                if (0..N).all(|k| pst[k] == st[k] * len) {
                    *plen *= len;
                    *pst = st;
                    continue;
                }
            }
            dims.push((len, st));
        }
        if shape.contains(&0) {
            return Walk { outer: vec![], outer_strides: vec![], inner: 0, inner_strides: [0; N], rows: 0 };
        }
        let (inner, inner_strides) = dims.pop().unwrap_or((1, [0; N]));
        let rows = dims.iter().map(|d| d.0).product();
        Walk {
            outer: dims.iter().map(|d| d.0).collect(),
            outer_strides: dims.iter().map(|d| d.1).collect(),
            inner,
            inner_strides,
            rows,
        }
    }

    /// Calls `f(row_offsets)` for rows `start..end`, where row_offsets[k] is operand k's element
    /// offset (relative to its base offset) of the row's first element.
    pub fn rows(&self, start: usize, end: usize, mut f: impl FnMut([usize; N])) {
        if start >= end {
            return;
        }
        let nd = self.outer.len();
        // Unravel `start` once, then step like an odometer.
        let mut idx = vec![0usize; nd];
        let mut rem = start;
        for d in (0..nd).rev() {
            idx[d] = rem % self.outer[d];
            rem /= self.outer[d];
        }
        let mut offs = [0usize; N];
        for d in 0..nd {
            for k in 0..N {
                offs[k] += idx[d] * self.outer_strides[d][k];
            }
        }
        for r in start..end {
            f(offs);
            if r + 1 == end {
                break;
            }
            let mut d = nd;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                for k in 0..N {
                    offs[k] += self.outer_strides[d][k];
                }
                if idx[d] < self.outer[d] {
                    break;
                }
                for k in 0..N {
                    offs[k] -= self.outer[d] * self.outer_strides[d][k];
                }
                idx[d] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_and_numel() {
        assert_eq!(extent(3, &[2, 3], &[3, 1]), Some(9));
        assert_eq!(extent(0, &[2, 0], &[3, 1]), Some(0));
        assert_eq!(extent(5, &[], &[]), Some(6));
        assert_eq!(extent(0, &[usize::MAX, 2], &[2, 1]), None);
        assert_eq!(numel(&[2, 3, 4]), Some(24));
        assert_eq!(numel(&[usize::MAX, 2]), None);
    }

    #[test]
    fn walk_visits_every_element_in_order() {
        let shape = [2usize, 1, 3, 4];
        let a = [12usize, 12, 4, 1]; // contiguous: coalesces to one row
        let b = [0usize, 0, 1, 3]; // broadcast over dim 0, transposed inner
        let w = Walk::new(&shape, [&a, &b]);
        assert_eq!(w.rows * w.inner, 24);
        let mut got = vec![];
        w.rows(0, w.rows, |o| {
            for i in 0..w.inner {
                got.push((o[0] + i * w.inner_strides[0], o[1] + i * w.inner_strides[1]));
            }
        });
        let mut want = vec![];
        for i0 in 0..2 {
            for i2 in 0..3 {
                for i3 in 0..4 {
                    want.push((i0 * 12 + i2 * 4 + i3, i2 + i3 * 3));
                }
            }
        }
        assert_eq!(got, want);
        // Starting mid-way gives the same suffix.
        let mut tail = vec![];
        w.rows(3, w.rows, |o| tail.push(o));
        let mut all = vec![];
        w.rows(0, w.rows, |o| all.push(o));
        assert_eq!(tail, all[3..]);
    }

    #[test]
    fn contiguous_coalesces_to_one_row() {
        let w = Walk::new(&[4, 5, 6], [&[30, 6, 1], &[30, 6, 1]]);
        assert_eq!((w.rows, w.inner, w.inner_strides), (1, 120, [1, 1]));
        let w = Walk::<1>::new(&[], [&[]]);
        assert_eq!((w.rows, w.inner), (1, 1));
        let w = Walk::new(&[3, 0], [&[0, 1]]);
        assert_eq!(w.rows * w.inner, 0);
    }
}
