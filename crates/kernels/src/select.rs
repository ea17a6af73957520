//! where(cond, a, b): elementwise selection over broadcast views, and its backward. Selection
//! never multiplies, so a -inf fill (attention masks) or a NaN in the unselected operand cannot
//! reach the result or its gradient.

use crate::layout::{extent, numel, Walk};

/// What counts as true in a condition: anything but zero (NaN included, as torch's `!= 0`).
pub trait Truth: Copy {
    fn truth(self) -> bool;
}

impl Truth for f32 {
    #[inline(always)]
    fn truth(self) -> bool {
        self != 0.0
    }
}

impl Truth for i32 {
    #[inline(always)]
    fn truth(self) -> bool {
        self != 0
    }
}

/// out[i] = cond[view] != 0 ? a[view] : b[view] over `shape` (0 strides broadcast); when given,
/// mask[i] = 1 where the condition held and 0 elsewhere (what the backward reads, so that later
/// writes into cond cannot change the gradient). out and mask are contiguous with shape's size.
#[allow(clippy::too_many_arguments)]
pub fn select<C: Truth>(
    cond: &[C], c_off: usize, c_strides: &[usize],
    a: &[f32], a_off: usize, a_strides: &[usize],
    b: &[f32], b_off: usize, b_strides: &[usize],
    out: &mut [f32], mut mask: Option<&mut [f32]>, shape: &[usize],
) {
    let n = numel(shape).expect("where: shape overflows");
    assert_eq!(out.len(), n, "where: out length");
    if let Some(m) = &mask {
        assert_eq!(m.len(), n, "where: mask length");
    }
    assert!(shape.len() == c_strides.len() && shape.len() == a_strides.len() && shape.len() == b_strides.len(), "where: rank");
    assert!(extent(c_off, shape, c_strides).is_some_and(|e| e <= cond.len()), "where: cond out of bounds");
    assert!(extent(a_off, shape, a_strides).is_some_and(|e| e <= a.len()), "where: a out of bounds");
    assert!(extent(b_off, shape, b_strides).is_some_and(|e| e <= b.len()), "where: b out of bounds");
    if n == 0 {
        return;
    }
    let out_strides = crate::elementwise::contiguous_strides(shape);
    let w = Walk::new(shape, [&out_strides, c_strides, a_strides, b_strides]);
    let inner = w.inner;
    let [so, sc, sa, sb] = w.inner_strides;
    debug_assert_eq!(so, 1);
    w.rows(0, w.rows, |o| {
        let (o0, c0, a0, b0) = (o[0], c_off + o[1], a_off + o[2], b_off + o[3]);
        for i in 0..inner {
            let t = cond[c0 + i * sc].truth();
            out[o0 + i] = if t { a[a0 + i * sa] } else { b[b0 + i * sb] };
            if let Some(m) = mask.as_deref_mut() {
                m[o0 + i] = if t { 1.0 } else { 0.0 };
            }
        }
    });
}

/// The backward of `select` from its mask: ga[i] = mask[i] != 0 ? g[i] : 0 and gb[i] = the
/// rest of g; either may be absent (not needed). Both are overwritten.
pub fn select_backward(mask: &[f32], g: &[f32], ga: Option<&mut [f32]>, gb: Option<&mut [f32]>) {
    assert_eq!(mask.len(), g.len(), "whereBackward: mask and g lengths differ");
    if let Some(ga) = ga {
        assert_eq!(ga.len(), g.len(), "whereBackward: ga length");
        for ((d, &m), &v) in ga.iter_mut().zip(mask).zip(g) {
            *d = if m != 0.0 { v } else { 0.0 };
        }
    }
    if let Some(gb) = gb {
        assert_eq!(gb.len(), g.len(), "whereBackward: gb length");
        for ((d, &m), &v) in gb.iter_mut().zip(mask).zip(g) {
            *d = if m != 0.0 { 0.0 } else { v };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn selects_with_broadcasting_and_keeps_the_mask() {
        let mut rng = Rng::new(91);
        for &(r, c) in &[(0usize, 3usize), (1, 1), (3, 7), (17, 33)] {
            let a = rng.vec(r * c);
            let b = rng.vec(c); // broadcast over rows
            let cond: Vec<i32> = (0..r).map(|i| (i % 2) as i32).collect(); // [r, 1]
            let mut out = vec![f32::NAN; r * c];
            let mut mask = vec![f32::NAN; r * c];
            select(&cond, 0, &[1, 0], &a, 0, &[c, 1], &b, 0, &[0, 1], &mut out, Some(&mut mask), &[r, c]);
            for i in 0..r {
                for j in 0..c {
                    let want = if i % 2 == 1 { a[i * c + j] } else { b[j] };
                    assert_eq!(out[i * c + j].to_bits(), want.to_bits());
                    assert_eq!(mask[i * c + j], (i % 2) as f32);
                }
            }
            let g = rng.vec(r * c);
            let (mut ga, mut gb) = (vec![f32::NAN; r * c], vec![f32::NAN; r * c]);
            select_backward(&mask, &g, Some(&mut ga), Some(&mut gb));
            for i in 0..r * c {
                assert_eq!(ga[i] + gb[i], g[i]);
                assert!(ga[i] == 0.0 || gb[i] == 0.0);
            }
        }
    }

    #[test]
    fn nan_condition_is_true_and_unselected_inf_does_not_leak() {
        let cond = [f32::NAN, 0.0, 1.0];
        let a = [1.0f32, f32::NEG_INFINITY, 3.0];
        let b = [f32::NAN, 5.0, f32::NAN];
        let mut out = [0f32; 3];
        select(&cond, 0, &[1], &a, 0, &[1], &b, 0, &[1], &mut out, None, &[3]);
        assert_eq!(out, [1.0, 5.0, 3.0]);
    }
}
