//! Elementwise kernels: unary ops and their backward, broadcasting binary ops, scalar and in-place
//! variants, and axpy. Semantics follow PyTorch: NaN propagates through max/min, comparisons give
//! 1.0 or 0.0, division by zero gives ±inf/NaN as IEEE says.

use crate::layout::Walk;
use crate::{cpu, pool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg = 0,
    Exp = 1,
    Log = 2,
    Tanh = 3,
    Relu = 4,
    Sqrt = 5,
    Abs = 6,
    Sigmoid = 7,
    Square = 8,
    Sign = 9,
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 10] = [
        UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Relu,
        UnaryOp::Sqrt, UnaryOp::Abs, UnaryOp::Sigmoid, UnaryOp::Square, UnaryOp::Sign,
    ];
    pub fn from_code(c: i64) -> Option<Self> {
        usize::try_from(c).ok().and_then(|i| Self::ALL.get(i).copied())
    }
    /// Rough ns per element on one thread, for the parallel threshold (tanh: 0.13 measured at
    /// [1024, 200] with AVX-512, `cargo bench --bench kernels`; exp and sigmoid ~0.7 as tanh's
    /// f64 version was; the plain ops are bound by memory).
    fn cost(self) -> f64 {
        match self {
            UnaryOp::Log => 4.0,
            UnaryOp::Tanh => 0.13,
            UnaryOp::Exp | UnaryOp::Sigmoid => 0.7,
            UnaryOp::Sqrt => 1.0,
            _ => 0.1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Pow = 4,
    Max = 5,
    Min = 6,
    Eq = 7,
    Ne = 8,
    Lt = 9,
    Le = 10,
    Gt = 11,
    Ge = 12,
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 13] = [
        BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max,
        BinaryOp::Min, BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt,
        BinaryOp::Ge,
    ];
    pub fn from_code(c: i64) -> Option<Self> {
        usize::try_from(c).ok().and_then(|i| Self::ALL.get(i).copied())
    }
    /// Rough ns per element on one thread (bound by memory: 0.1 measured for a broadcast add at
    /// [1024, 200]), for the parallel threshold.
    fn cost(self) -> f64 {
        if self == BinaryOp::Pow { 8.0 } else { 0.1 }
    }
}

#[inline(always)]
fn sign(x: f32) -> f32 {
    // torch.sign: +0 for both zeros (-0 too); NaN stays NaN here (torch gives 0, which would
    // hide a NaN input; src/backend/reference.ts makes the same choice).
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

#[inline(always)]
fn b2f(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

/// Scalar definition of every unary op (the loops below are monomorphised per op).
#[inline(always)]
pub fn unary_scalar(op: UnaryOp, x: f32) -> f32 {
    match op {
        UnaryOp::Neg => -x,
        // The same math as the vectorised slices in fastmath (within 1 ulp; glibc's tanhf is off by 2).
        UnaryOp::Exp => crate::fastmath::exp_f32(x),
        UnaryOp::Log => x.ln(),
        UnaryOp::Tanh => crate::fastmath::tanh_f32(x),
        // As torch.relu (clamp_min(x, 0)): negatives become 0; ±0 and NaN stay as they are.
        UnaryOp::Relu => if x < 0.0 { 0.0 } else { x },
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sigmoid => crate::fastmath::sigmoid_f32(x),
        UnaryOp::Square => x * x,
        UnaryOp::Sign => sign(x),
    }
}

/// Scalar definition of every binary op.
#[inline(always)]
pub fn binary_scalar_op(op: BinaryOp, a: f32, b: f32) -> f32 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Pow => a.powf(b),
        // torch.maximum/minimum propagate NaN (f32::max would drop it).
        BinaryOp::Max => if a.is_nan() || b.is_nan() { f32::NAN } else if a >= b { a } else { b },
        BinaryOp::Min => if a.is_nan() || b.is_nan() { f32::NAN } else if a <= b { a } else { b },
        BinaryOp::Eq => b2f(a == b),
        BinaryOp::Ne => b2f(a != b),
        BinaryOp::Lt => b2f(a < b),
        BinaryOp::Le => b2f(a <= b),
        BinaryOp::Gt => b2f(a > b),
        BinaryOp::Ge => b2f(a >= b),
    }
}

/// Expands `$body` once per op value with `$op` bound to a constant, so each loop is compiled with
/// the op known (and vectorised where the op allows).
macro_rules! dispatch_unary {
    ($op:expr, $c:ident => $body:expr) => {
        match $op {
            UnaryOp::Neg => { const $c: UnaryOp = UnaryOp::Neg; $body }
            UnaryOp::Exp => { const $c: UnaryOp = UnaryOp::Exp; $body }
            UnaryOp::Log => { const $c: UnaryOp = UnaryOp::Log; $body }
            UnaryOp::Tanh => { const $c: UnaryOp = UnaryOp::Tanh; $body }
            UnaryOp::Relu => { const $c: UnaryOp = UnaryOp::Relu; $body }
            UnaryOp::Sqrt => { const $c: UnaryOp = UnaryOp::Sqrt; $body }
            UnaryOp::Abs => { const $c: UnaryOp = UnaryOp::Abs; $body }
            UnaryOp::Sigmoid => { const $c: UnaryOp = UnaryOp::Sigmoid; $body }
            UnaryOp::Square => { const $c: UnaryOp = UnaryOp::Square; $body }
            UnaryOp::Sign => { const $c: UnaryOp = UnaryOp::Sign; $body }
        }
    };
}

macro_rules! dispatch_binary {
    ($op:expr, $c:ident => $body:expr) => {
        match $op {
            BinaryOp::Add => { const $c: BinaryOp = BinaryOp::Add; $body }
            BinaryOp::Sub => { const $c: BinaryOp = BinaryOp::Sub; $body }
            BinaryOp::Mul => { const $c: BinaryOp = BinaryOp::Mul; $body }
            BinaryOp::Div => { const $c: BinaryOp = BinaryOp::Div; $body }
            BinaryOp::Pow => { const $c: BinaryOp = BinaryOp::Pow; $body }
            BinaryOp::Max => { const $c: BinaryOp = BinaryOp::Max; $body }
            BinaryOp::Min => { const $c: BinaryOp = BinaryOp::Min; $body }
            BinaryOp::Eq => { const $c: BinaryOp = BinaryOp::Eq; $body }
            BinaryOp::Ne => { const $c: BinaryOp = BinaryOp::Ne; $body }
            BinaryOp::Lt => { const $c: BinaryOp = BinaryOp::Lt; $body }
            BinaryOp::Le => { const $c: BinaryOp = BinaryOp::Le; $body }
            BinaryOp::Gt => { const $c: BinaryOp = BinaryOp::Gt; $body }
            BinaryOp::Ge => { const $c: BinaryOp = BinaryOp::Ge; $body }
        }
    };
}

/// Elements per parallel task for contiguous elementwise loops.
const CHUNK: usize = 1 << 14;

/// Rough ns per element of unaryBackward (three loads and a store, vectorised), for the threshold.
const UNARY_BACKWARD_NS: f64 = 0.1;

/// out[i] = op(x[i]).
pub fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "unary: x and out lengths differ");
    let est = x.len() as f64 * op.cost();
    // The transcendental ops go through the vectorised versions (libm's do not vectorise).
    let fast: Option<fn(&[f32], &mut [f32])> = match op {
        UnaryOp::Tanh => Some(crate::fastmath::tanh_slice),
        UnaryOp::Exp => Some(crate::fastmath::exp_slice),
        UnaryOp::Sigmoid => Some(crate::fastmath::sigmoid_slice),
        _ => None,
    };
    if let Some(f) = fast {
        return pool::for_each_chunk(out, CHUNK, est, |ci, o| f(&x[ci * CHUNK..][..o.len()], o));
    }
    dispatch_unary!(op, OP => pool::for_each_chunk(out, CHUNK, est, |ci, o| {
        let xs = &x[ci * CHUNK..][..o.len()];
        cpu::simd(#[inline(always)] || {
            for (o, &v) in o.iter_mut().zip(xs) {
                *o = unary_scalar(OP, v);
            }
        })
    }))
}

#[inline(always)]
pub(crate) fn unary_grad(op: UnaryOp, x: f32, y: f32, dy: f32) -> f32 {
    match op {
        UnaryOp::Neg => -dy,
        UnaryOp::Exp => dy * y,
        UnaryOp::Log => dy / x,
        UnaryOp::Tanh => dy * (1.0 - y * y),
        UnaryOp::Relu => if x > 0.0 { dy } else { 0.0 },
        UnaryOp::Sqrt => dy * 0.5 / y,
        UnaryOp::Abs => dy * sign(x),
        UnaryOp::Sigmoid => dy * y * (1.0 - y),
        UnaryOp::Square => 2.0 * x * dy,
        UnaryOp::Sign => 0.0,
    }
}

/// dx[i] = dy[i]·op'(x[i]), written with x (input) and y (output) as documented in backend.ts.
pub fn unary_backward(op: UnaryOp, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = dx.len();
    assert!(x.len() == n && y.len() == n && dy.len() == n, "unaryBackward: lengths differ");
    dispatch_unary!(op, OP => pool::for_each_chunk(dx, CHUNK, n as f64 * UNARY_BACKWARD_NS, |ci, o| {
        let s = ci * CHUNK;
        let (xs, ys, ds) = (&x[s..][..o.len()], &y[s..][..o.len()], &dy[s..][..o.len()]);
        cpu::simd(#[inline(always)] || {
            for i in 0..o.len() {
                o[i] = unary_grad(OP, xs[i], ys[i], ds[i]);
            }
        })
    }))
}

/// One row of `binary`: o[i] = a[ab + i·sa] op b[bb + i·sb], with the unit and zero strides as
/// plain slices so that they vectorise.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn binary_row(op: BinaryOp, o: &mut [f32], a: &[f32], ab: usize, sa: usize, b: &[f32], bb: usize, sb: usize) {
    let inner = o.len();
    match (sa, sb) {
        (1, 1) => {
            let (xa, xb) = (&a[ab..ab + inner], &b[bb..bb + inner]);
            for i in 0..inner {
                o[i] = binary_scalar_op(op, xa[i], xb[i]);
            }
        }
        (1, 0) => {
            let (xa, vb) = (&a[ab..ab + inner], b[bb]);
            for i in 0..inner {
                o[i] = binary_scalar_op(op, xa[i], vb);
            }
        }
        (0, 1) => {
            let (va, xb) = (a[ab], &b[bb..bb + inner]);
            for i in 0..inner {
                o[i] = binary_scalar_op(op, va, xb[i]);
            }
        }
        _ => {
            for (i, o) in o.iter_mut().enumerate() {
                *o = binary_scalar_op(op, a[ab + i * sa], b[bb + i * sb]);
            }
        }
    }
}

/// Broadcasting binary op into contiguous `out` of `shape` (see backend.ts). The caller has
/// checked that both views stay inside their arrays (`layout::extent`).
#[allow(clippy::too_many_arguments)]
pub fn binary(
    op: BinaryOp,
    a: &[f32], a_off: usize, a_strides: &[usize],
    b: &[f32], b_off: usize, b_strides: &[usize],
    out: &mut [f32], shape: &[usize],
) {
    let n = crate::layout::numel(shape).expect("binary: shape overflows");
    assert_eq!(out.len(), n, "binary: out length");
    assert!(shape.len() == a_strides.len() && shape.len() == b_strides.len(), "binary: rank");
    assert!(crate::layout::extent(a_off, shape, a_strides).is_some_and(|e| e <= a.len()), "binary: a out of bounds");
    assert!(crate::layout::extent(b_off, shape, b_strides).is_some_and(|e| e <= b.len()), "binary: b out of bounds");
    if n == 0 {
        return;
    }
    // Rows against one broadcast row (a bias add, [n, c] + [c]): one dispatch for all the rows
    // of a chunk rather than one per row, which short rows (c = 27) paid for in full.
    if shape.len() == 2 && shape[1] > 0 {
        let c = shape[1];
        let (full_a, full_b) = (a_strides == [c, 1], b_strides == [c, 1]);
        let (row_a, row_b) = (a_strides == [0, 1], b_strides == [0, 1]);
        if (full_a && row_b) || (row_a && full_b) {
            let est = n as f64 * op.cost();
            let rows_per = CHUNK.div_ceil(c).max(1);
            return dispatch_binary!(op, OP => pool::for_each_chunk(out, rows_per * c, est, |ci, o| {
                cpu::simd(#[inline(always)] || {
                    for (t, orow) in o.chunks_exact_mut(c).enumerate() {
                        let r = ci * rows_per + t;
                        let (ab, bb) = (a_off + if full_a { r * c } else { 0 }, b_off + if full_b { r * c } else { 0 });
                        binary_row(OP, orow, a, ab, 1, b, bb, 1);
                    }
                })
            }));
        }
    }
    let out_strides = contiguous_strides(shape);
    let w = Walk::new(shape, [&out_strides, a_strides, b_strides]);
    let inner = w.inner;
    let [_, sa, sb] = w.inner_strides;
    // Tasks are runs of whole rows; out is contiguous so a run is one chunk of out.
    let rows_per = CHUNK.div_ceil(inner).max(1);
    let est = n as f64 * op.cost();
    dispatch_binary!(op, OP => pool::for_each_chunk(out, rows_per * inner, est, |ci, o| {
        let r0 = ci * rows_per;
        let r1 = r0 + o.len() / inner;
        let mut row = 0;
        w.rows(r0, r1, |offs| {
            let o = &mut o[row * inner..][..inner];
            row += 1;
            let (ab, bb) = (a_off + offs[1], b_off + offs[2]);
            // Short rows are not worth the dispatch (both give the same bits).
            if inner >= 16 {
                cpu::simd(#[inline(always)] || binary_row(OP, o, a, ab, sa, b, bb, sb))
            } else {
                binary_row(OP, o, a, ab, sa, b, bb, sb)
            }
        });
    }))
}

/// Row-major contiguous strides of a shape.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![0usize; shape.len()];
    let mut acc = 1usize;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc = acc.saturating_mul(shape[d]);
    }
    s
}

/// out[i] = x[i] op s, or s op x[i] when `reversed`.
pub fn binary_scalar(op: BinaryOp, x: &[f32], s: f32, reversed: bool, out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "binaryScalar: x and out lengths differ");
    let est = x.len() as f64 * op.cost();
    dispatch_binary!(op, OP => pool::for_each_chunk(out, CHUNK, est, |ci, o| {
        let xs = &x[ci * CHUNK..][..o.len()];
        cpu::simd(#[inline(always)] || {
            if reversed {
                for (o, &v) in o.iter_mut().zip(xs) {
                    *o = binary_scalar_op(OP, s, v);
                }
            } else {
                for (o, &v) in o.iter_mut().zip(xs) {
                    *o = binary_scalar_op(OP, v, s);
                }
            }
        })
    }))
}

/// a[view] = a[view] op b[view], b broadcast by 0 strides. Sequential: a view may legitimately
/// visit an element more than once (0 strides), and the order must then be the index order.
#[allow(clippy::too_many_arguments)]
pub fn binary_inplace(
    op: BinaryOp,
    a: &mut [f32], a_off: usize, a_strides: &[usize],
    b: &[f32], b_off: usize, b_strides: &[usize],
    shape: &[usize],
) {
    assert!(shape.len() == a_strides.len() && shape.len() == b_strides.len(), "binaryInplace: rank");
    assert!(crate::layout::extent(a_off, shape, a_strides).is_some_and(|e| e <= a.len()), "binaryInplace: a out of bounds");
    assert!(crate::layout::extent(b_off, shape, b_strides).is_some_and(|e| e <= b.len()), "binaryInplace: b out of bounds");
    let w = Walk::new(shape, [a_strides, b_strides]);
    let inner = w.inner;
    let [sa, sb] = w.inner_strides;
    dispatch_binary!(op, OP => w.rows(0, w.rows, |offs| {
        let (ab, bb) = (a_off + offs[0], b_off + offs[1]);
        match (sa, sb) {
            (1, 1) => {
                let (xa, xb) = (&mut a[ab..ab + inner], &b[bb..bb + inner]);
                for i in 0..inner {
                    xa[i] = binary_scalar_op(OP, xa[i], xb[i]);
                }
            }
            (1, 0) => {
                let (xa, vb) = (&mut a[ab..ab + inner], b[bb]);
                for v in xa.iter_mut() {
                    *v = binary_scalar_op(OP, *v, vb);
                }
            }
            _ => {
                for i in 0..inner {
                    let ai = ab + i * sa;
                    a[ai] = binary_scalar_op(OP, a[ai], b[bb + i * sb]);
                }
            }
        }
    }))
}

/// a[i] = a[i] op s.
pub fn scalar_inplace(op: BinaryOp, a: &mut [f32], s: f32) {
    let est = a.len() as f64 * op.cost();
    dispatch_binary!(op, OP => pool::for_each_chunk(a, CHUNK, est, |_, o| {
        cpu::simd(#[inline(always)] || {
            for v in o.iter_mut() {
                *v = binary_scalar_op(OP, *v, s);
            }
        })
    }))
}

/// y[i] += alpha·x[i].
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: x and y lengths differ");
    pool::for_each_chunk(y, CHUNK, x.len() as f64 * 0.5, |ci, o| {
        let xs = &x[ci * CHUNK..][..o.len()];
        cpu::simd(#[inline(always)] || {
            for (o, &v) in o.iter_mut().zip(xs) {
                *o += alpha * v;
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng, EDGE_SIZES};

    fn f64_unary(op: UnaryOp, x: f64) -> f64 {
        match op {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            UnaryOp::Square => x * x,
            UnaryOp::Sign => if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { 0.0 },
        }
    }

    #[test]
    fn unary_matches_f64_at_edge_sizes() {
        let mut rng = Rng::new(10);
        for &n in EDGE_SIZES {
            let x: Vec<f32> = rng.vec(n).iter().map(|v| v * 4.0).collect();
            for op in UnaryOp::ALL {
                let xin: Vec<f32> = if matches!(op, UnaryOp::Log | UnaryOp::Sqrt) {
                    x.iter().map(|v| v.abs() + 1e-3).collect()
                } else {
                    x.clone()
                };
                let mut out = vec![f32::NAN; n];
                unary(op, &xin, &mut out);
                let want: Vec<f64> = xin.iter().map(|&v| f64_unary(op, v as f64)).collect();
                assert_close(&out, &want, 2e-7, 1e-30, &format!("{op:?} n={n}"));
            }
        }
    }

    #[test]
    fn tanh_is_within_one_ulp() {
        // Dense sweep over the range the lectures use, against an independent f64 formula
        // (tanh x = expm1(2x) / (expm1(2x) + 2), accurate near 0 too).
        let mut worst = 0i64;
        let mut x = -10.0f32;
        while x < 10.0 {
            let mut got = [0f32];
            unary(UnaryOp::Tanh, &[x], &mut got);
            let got = got[0];
            let e = libm_expm1(2.0 * x as f64);
            let want = (e / (e + 2.0)) as f32;
            worst = worst.max((got.to_bits() as i64 - want.to_bits() as i64).abs());
            x += 7.0e-4;
        }
        assert!(worst <= 1, "tanh worst error {worst} ulp");
    }

    fn libm_expm1(x: f64) -> f64 {
        x.exp_m1()
    }

    /// Inputs with the cases the ops treat specially: ±0, NaN, ±inf, negatives, tiny and huge.
    fn awkward(rng: &mut Rng, n: usize) -> Vec<f32> {
        const SPECIAL: [f32; 10] = [0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-40, -3e38, 1.0, -1.0, 0.5];
        rng.vec(n).iter().enumerate().map(|(i, &v)| if i % 13 == 4 { SPECIAL[(i / 13) % SPECIAL.len()] } else { v * 3.0 }).collect()
    }

    /// The SIMD loops against the one-element-at-a-time code they replaced (reference.rs): the
    /// same bits for every op, on every path, with 1 and 2 threads.
    #[test]
    fn unary_backward_and_binary_same_bits_as_the_scalar_reference() {
        let mut rng = Rng::new(13);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let sizes = [1usize, 7, 15, 16, 17, 33, 65, 200, 1000, 300_007];
        let vecs: Vec<_> = sizes.iter().map(|&n| (awkward(&mut rng, n), awkward(&mut rng, n), awkward(&mut rng, n))).collect();
        let shapes: &[[usize; 3]] = &[[1, 1, 1], [2, 3, 17], [3, 16, 200], [5, 1, 33], [4, 7, 15], [30, 100, 200]];
        let bin: Vec<_> = shapes.iter().map(|s| (awkward(&mut rng, s[0] * s[1] * s[2] + 3), awkward(&mut rng, s[0] * s[1] * s[2] + 3))).collect();
        crate::cpu::for_each_path(|path| {
            for threads in [1usize, 2] {
                crate::pool::set_num_threads(threads).unwrap();
                for (x, y, dy) in &vecs {
                    for op in UnaryOp::ALL {
                        let what = format!("{path} {threads} thread(s) {op:?} n={}", x.len());
                        let (mut d, mut e) = (vec![7f32; x.len()], vec![7f32; x.len()]);
                        unary_backward(op, x, y, dy, &mut d);
                        crate::reference::unary_backward(op, x, y, dy, &mut e);
                        assert_eq!(bits(&d), bits(&e), "unaryBackward {what}");
                        if !matches!(op, UnaryOp::Tanh | UnaryOp::Exp | UnaryOp::Sigmoid) {
                            unary(op, x, &mut d);
                            let want: Vec<f32> = x.iter().map(|&v| unary_scalar(op, v)).collect();
                            assert_eq!(bits(&d), bits(&want), "unary {what}");
                        }
                    }
                }
                for (&[d0, d1, d2], (a, b)) in shapes.iter().zip(&bin) {
                    let shape = [d0, d1, d2];
                    // Contiguous, broadcast row / column / scalar, a transposed view, an offset.
                    let layouts: [([usize; 3], usize, [usize; 3], usize); 5] = [
                        ([d1 * d2, d2, 1], 0, [d1 * d2, d2, 1], 0),
                        ([d1 * d2, d2, 1], 1, [0, 0, 1], 2),
                        ([d1 * d2, d2, 1], 0, [0, 1, 0], 0),
                        ([0, 0, 0], 3, [d1 * d2, d2, 1], 1),
                        ([d1 * d2, 1, d1], 0, [d1 * d2, d2, 1], 3),
                    ];
                    for (sa, oa, sb, ob) in layouts {
                        for op in BinaryOp::ALL {
                            let n = d0 * d1 * d2;
                            let (mut o, mut p) = (vec![7f32; n], vec![7f32; n]);
                            binary(op, a, oa, &sa, b, ob, &sb, &mut o, &shape);
                            crate::reference::binary(op, a, oa, &sa, b, ob, &sb, &mut p, &shape);
                            assert_eq!(bits(&o), bits(&p), "binary {path} {threads} {op:?} {shape:?} {sa:?} {sb:?}");
                        }
                    }
                }
            }
        });
    }

    #[test]
    fn special_values() {
        let x = [f32::NAN, -0.0, 0.0, f32::INFINITY, f32::NEG_INFINITY, -3.0];
        let mut o = [0f32; 6];
        unary(UnaryOp::Relu, &x, &mut o);
        assert!(o[0].is_nan() && o[3] == f32::INFINITY && o[4] == 0.0 && o[5] == 0.0);
        assert!(o[1].to_bits() == (-0.0f32).to_bits(), "relu(-0) is -0 as in torch");
        unary(UnaryOp::Sign, &x, &mut o);
        assert!(o[0].is_nan() && o[3] == 1.0 && o[5] == -1.0);
        assert!(o[1].to_bits() == 0 && o[2].to_bits() == 0, "sign(±0) is +0 as in torch");
        unary(UnaryOp::Sigmoid, &x, &mut o);
        assert!(o[3] == 1.0 && o[4] == 0.0 && o[5] > 0.04 && o[5] < 0.05);
        let mut o = [0f32; 6];
        binary_scalar(BinaryOp::Max, &x, 1.0, false, &mut o);
        assert!(o[0].is_nan() && o[1] == 1.0 && o[3] == f32::INFINITY);
        binary_scalar(BinaryOp::Div, &x, 0.0, false, &mut o);
        assert!(o[3] == f32::INFINITY && o[5] == f32::NEG_INFINITY && o[2].is_nan());
    }

    fn f64_binary(op: BinaryOp, a: f64, b: f64) -> f64 {
        let t = |c: bool| if c { 1.0 } else { 0.0 };
        match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Max => a.max(b),
            BinaryOp::Min => a.min(b),
            BinaryOp::Eq => t(a == b),
            BinaryOp::Ne => t(a != b),
            BinaryOp::Lt => t(a < b),
            BinaryOp::Le => t(a <= b),
            BinaryOp::Gt => t(a > b),
            BinaryOp::Ge => t(a >= b),
        }
    }

    #[test]
    fn binary_broadcasts_like_naive_indexing() {
        let mut rng = Rng::new(11);
        // [d0, d1, d2] with a: full, transposed or broadcast; b: row/col broadcast.
        for &(d0, d1, d2) in &[(1, 1, 1), (2, 3, 4), (3, 1, 17), (4, 9, 16), (2, 65, 63), (0, 3, 2), (7, 129, 33)] {
            let shape = [d0, d1, d2];
            let a = rng.vec(d0 * d1 * d2 + 5);
            let b: Vec<f32> = rng.vec(d1 * d2 + d0 + 3).iter().map(|v| if v.abs() < 0.3 { 0.5 } else { *v }).collect();
            let layouts: Vec<([usize; 3], usize, [usize; 3], usize)> = vec![
                ([d1 * d2, d2, 1], 0, [0, d2, 1], 0),
                ([d1 * d2, 1, d1], 2, [0, 0, 1], 3),
                ([d1 * d2, d2, 1], 5, [1, 0, 0], 1),
                ([0, d2, 1], 1, [d1 * d2, d2, 1].map(|s| s.min(d1 * d2)), 0),
            ];
            for (sa, oa, sb, ob) in layouts {
                let ext_b = crate::layout::extent(ob, &shape, &sb).unwrap();
                if ext_b > b.len() {
                    continue;
                }
                for op in BinaryOp::ALL {
                    let mut out = vec![f32::NAN; d0 * d1 * d2];
                    binary(op, &a, oa, &sa, &b, ob, &sb, &mut out, &shape);
                    let mut want = vec![];
                    for i in 0..d0 {
                        for j in 0..d1 {
                            for k in 0..d2 {
                                let av = a[oa + i * sa[0] + j * sa[1] + k * sa[2]] as f64;
                                let bv = b[ob + i * sb[0] + j * sb[1] + k * sb[2]] as f64;
                                want.push(f64_binary(op, if op == BinaryOp::Pow { av.abs() } else { av }, bv));
                            }
                        }
                    }
                    if op == BinaryOp::Pow {
                        // Pow of negative bases with fractional exponents is NaN in both; compare
                        // on |a| by recomputing with |a|.
                        let aa: Vec<f32> = a.iter().map(|v| v.abs()).collect();
                        binary(op, &aa, oa, &sa, &b, ob, &sb, &mut out, &shape);
                    }
                    assert_close(&out, &want, 3e-6, 1e-7, &format!("{op:?} {shape:?} {sa:?} {sb:?}"));
                }
            }
        }
    }

    #[test]
    fn inplace_scalar_axpy_and_backward() {
        let mut rng = Rng::new(12);
        for &n in EDGE_SIZES {
            let x = rng.vec(n);
            let mut y = rng.vec(n);
            let y0 = y.clone();
            axpy(-0.25, &x, &mut y);
            let want: Vec<f64> = y0.iter().zip(&x).map(|(&y, &x)| y as f64 - 0.25 * x as f64).collect();
            assert_close(&y, &want, 1e-6, 1e-7, "axpy");

            let mut a = x.clone();
            scalar_inplace(BinaryOp::Mul, &mut a, 3.0);
            assert_close(&a, &x.iter().map(|&v| 3.0 * v as f64).collect::<Vec<_>>(), 1e-6, 0.0, "scalarInplace");
            let mut o = vec![0f32; n];
            binary_scalar(BinaryOp::Sub, &x, 2.0, true, &mut o);
            assert_close(&o, &x.iter().map(|&v| 2.0 - v as f64).collect::<Vec<_>>(), 1e-6, 1e-7, "reversed");

            // backward of tanh/sigmoid/relu against the formulas in f64
            let dy = rng.vec(n);
            let mut t = vec![0f32; n];
            unary(UnaryOp::Tanh, &x, &mut t);
            let mut dx = vec![0f32; n];
            unary_backward(UnaryOp::Tanh, &x, &t, &dy, &mut dx);
            let want: Vec<f64> = (0..n).map(|i| dy[i] as f64 * (1.0 - (t[i] as f64).powi(2))).collect();
            assert_close(&dx, &want, 1e-6, 1e-7, "tanh backward");
            unary_backward(UnaryOp::Relu, &x, &t, &dy, &mut dx);
            assert!((0..n).all(|i| dx[i] == if x[i] > 0.0 { dy[i] } else { 0.0 }));
            unary_backward(UnaryOp::Sign, &x, &t, &dy, &mut dx);
            assert!(dx.iter().all(|&v| v == 0.0));
        }
        // In place with a broadcast b over rows of a transposed view.
        let (r, c) = (5usize, 7usize);
        let mut a: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..r).map(|i| 100.0 * i as f32).collect();
        // a viewed as [c, r] with strides [1, c] (a transpose), b broadcast along dim 0.
        binary_inplace(BinaryOp::Add, &mut a, 0, &[1, c], &b, 0, &[0, 1], &[c, r]);
        for i in 0..r {
            for j in 0..c {
                assert_eq!(a[i * c + j], (i * c + j) as f32 + 100.0 * i as f32);
            }
        }
    }
}
