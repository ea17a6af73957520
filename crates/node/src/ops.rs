//! The kernels as the addon exports them: one definition each, in `kernels!` below, with the
//! semantics documented on the Backend interface (src/backend/backend.ts). Each validates every
//! argument (a clear error naming the kernel, never out-of-bounds memory) and calls the pure-Rust
//! kernel in ferrograd-kernels. `kernels!` (fast.rs) also makes each a `#[napi]` export of
//! `kernels` (for the generated native/index.d.ts) and its fast N-API entry point.

use crate::arrays::{Arr, Dims};
use crate::check::{fmt_shape, js, r, Checker};
use crate::fast::kernels;
use ferrograd_kernels as kern;
use kern::elementwise::{BinaryOp, UnaryOp};
use kern::reduce::ReduceOp;
use napi::Result;
use napi_derive::napi;

/// An optional typed array (`null` or missing reads as None); an alias because `kernels!` takes
/// argument types as single identifiers.
type OptArr = Option<Arr>;

fn unary_op(k: &Checker, code: f64) -> Result<UnaryOp> {
    UnaryOp::from_code(k.int("op", code)?).ok_or_else(|| k.err(format!("unknown unary op code {}", js(code))))
}

fn binary_op(k: &Checker, code: f64) -> Result<BinaryOp> {
    BinaryOp::from_code(k.int("op", code)?).ok_or_else(|| k.err(format!("unknown binary op code {}", js(code))))
}

fn reduce_op(k: &Checker, code: f64) -> Result<ReduceOp> {
    ReduceOp::from_code(k.int("op", code)?).ok_or_else(|| k.err(format!("unknown reduce op code {}", js(code))))
}

fn reduce_dims(k: &Checker, outer: f64, n: f64, inner: f64) -> Result<(usize, usize, usize)> {
    let (outer, n, inner) = (k.size("outer", outer)?, k.size("n", n)?, k.size("inner", inner)?);
    k.mul("outer x n x inner", &[outer, n, inner])?;
    Ok((outer, n, inner))
}

fn rows_of(k: &Checker, name: &str, len: usize, row_size: usize) -> Result<usize> {
    if row_size == 0 {
        return Ok(0);
    }
    if !len.is_multiple_of(row_size) {
        return k.fail(format!("{name} has {len} elements, not a multiple of rowSize {row_size}"));
    }
    Ok(len / row_size)
}

fn check_indices(k: &Checker, name: &str, idx: &[i32], bound: usize, what: &str) -> Result<()> {
    if let Some((pos, v)) = kern::gather::first_bad_index(idx, bound) {
        return k.fail(format!("{name}[{pos}] = {v} is out of range for {what} (valid: 0..{})", bound as i64 - 1));
    }
    Ok(())
}

fn rows_cols(k: &Checker, rows: f64, cols: f64) -> Result<(usize, usize, usize)> {
    let (rows, cols) = (k.size("rows", rows)?, k.size("cols", cols)?);
    Ok((rows, cols, k.mul("rows x cols", &[rows, cols])?))
}

fn check_targets(k: &Checker, t: &[i32], cols: usize, ignore: i64) -> Result<()> {
    if let Some((row, v)) = kern::cross_entropy::first_bad_target(t, cols, ignore) {
        return k.fail(format!(
            "targets[{row}] = {v} is out of range for {cols} classes (valid: 0..{}, or ignoreIndex {ignore})",
            cols as i64 - 1
        ));
    }
    Ok(())
}

fn correction(k: &Checker, v: f64) -> Result<usize> {
    k.size("correction", v)
}

#[allow(clippy::too_many_arguments)]
fn conv_params(
    k: &Checker, batch: f64, cin: f64, tin: f64, cout: f64, kw: f64, dilation: f64, pad_left: f64, tout: f64,
) -> Result<kern::conv1d::Conv1d> {
    let p = kern::conv1d::Conv1d {
        batch: k.size("batch", batch)?,
        cin: k.size("cin", cin)?,
        tin: k.size("tin", tin)?,
        cout: k.size("cout", cout)?,
        k: k.positive("k", kw)?,
        dilation: k.positive("dilation", dilation)?,
        pad_left: k.size("padLeft", pad_left)?,
        tout: k.size("tout", tout)?,
    };
    match kern::conv1d::Conv1d::expected_tout(p.tin, p.k, p.dilation, p.pad_left) {
        Some(t) if t == p.tout => {}
        Some(t) => return k.fail(format!("tout is {} but tin {} + padLeft {} - dilation {} x (k {} - 1) = {t}", p.tout, p.tin, p.pad_left, p.dilation, p.k)),
        None => {
            return k.fail(format!(
                "input too short: tin {} + padLeft {} is less than the kernel span dilation {} x (k {} - 1) + 1",
                p.tin, p.pad_left, p.dilation, p.k
            ))
        }
    }
    k.mul("x size", &[p.batch, p.cin, p.tin])?;
    k.mul("w size", &[p.cout, p.cin, p.k])?;
    k.mul("out size", &[p.batch, p.cout, p.tout])?;
    Ok(p)
}

kernels! {
    /// Strided copy between two distinct arrays of the same element type (Float32Array or Int32Array).
    "copy" |k| fn copy(
        #[napi(ts_arg_type = "Float32Array | Int32Array")] src: Arr, src_off: f64, #[napi(ts_arg_type = "number[]")] src_strides: Dims,
        #[napi(ts_arg_type = "Float32Array | Int32Array")] dst: Arr, dst_off: f64, #[napi(ts_arg_type = "number[]")] dst_strides: Dims,
        #[napi(ts_arg_type = "number[]")] shape: Dims,
    ) -> Result<()> {
        let shape = k.sizes("shape", &shape)?;
        let (ss, ds) = (k.sizes("srcStrides", &src_strides)?, k.sizes("dstStrides", &dst_strides)?);
        k.rank(&shape, "srcStrides", &ss)?;
        k.rank(&shape, "dstStrides", &ds)?;
        let (so, dof) = (k.size("srcOff", src_off)?, k.size("dstOff", dst_off)?);
        if src.describe() != dst.describe() {
            return k.fail(format!("src is a {} but dst is a {}; both must have the same element type", src.describe(), dst.describe()));
        }
        if src.describe() == "Int32Array" {
            let (s, d) = (k.i32(&src, "src")?, k.i32(&dst, "dst")?);
            k.view(&s, so, &shape, &ss)?;
            k.view(&d, dof, &shape, &ds)?;
            k.no_alias(&[r(&s)], &[r(&d)])?;
            // SAFETY: types checked, views in bounds, dst disjoint from src.
            unsafe { kern::copy::copy(s.slice(), so, &ss, d.slice_mut(), dof, &ds, &shape) };
        } else {
            let (s, d) = (k.f32(&src, "src")?, k.f32(&dst, "dst")?);
            k.view(&s, so, &shape, &ss)?;
            k.view(&d, dof, &shape, &ds)?;
            k.no_alias(&[r(&s)], &[r(&d)])?;
            // SAFETY: as above.
            unsafe { kern::copy::copy(s.slice(), so, &ss, d.slice_mut(), dof, &ds, &shape) };
        }
        Ok(())
    }

    /// out[i] = op(x[i]).
    "unary" |k| fn unary(op: f64, #[napi(ts_arg_type = "Float32Array")] x: Arr, #[napi(ts_arg_type = "Float32Array")] out: Arr) -> Result<()> {
        let op = unary_op(&k, op)?;
        let (x, o) = (k.f32(&x, "x")?, k.f32(&out, "out")?);
        k.len_eq(&x, o.len, || format!("out ({} elements)", o.len))?;
        k.no_alias(&[r(&x)], &[r(&o)])?;
        // SAFETY: same lengths, out disjoint from x.
        unsafe { kern::elementwise::unary(op, x.slice(), o.slice_mut()) };
        Ok(())
    }

    /// dx[i] = dy[i]·op'(x[i]) using x and y = op(x).
    "unaryBackward" |k| fn unary_backward(
        op: f64,
        #[napi(ts_arg_type = "Float32Array")] x: Arr,
        #[napi(ts_arg_type = "Float32Array")] y: Arr,
        #[napi(ts_arg_type = "Float32Array")] dy: Arr,
        #[napi(ts_arg_type = "Float32Array")] dx: Arr,
    ) -> Result<()> {
        let op = unary_op(&k, op)?;
        let (x, y, dy, dx) = (k.f32(&x, "x")?, k.f32(&y, "y")?, k.f32(&dy, "dy")?, k.f32(&dx, "dx")?);
        for a in [&x, &y, &dy] {
            k.len_eq(a, dx.len, || format!("dx ({} elements)", dx.len))?;
        }
        k.no_alias(&[r(&x), r(&y), r(&dy)], &[r(&dx)])?;
        // SAFETY: equal lengths, dx disjoint from the inputs.
        unsafe { kern::elementwise::unary_backward(op, x.slice(), y.slice(), dy.slice(), dx.slice_mut()) };
        Ok(())
    }

    /// Broadcasting binary op into a contiguous out of `shape`.
    "binary" |k| fn binary(
        op: f64,
        #[napi(ts_arg_type = "Float32Array")] a: Arr, a_off: f64, #[napi(ts_arg_type = "number[]")] a_strides: Dims,
        #[napi(ts_arg_type = "Float32Array")] b: Arr, b_off: f64, #[napi(ts_arg_type = "number[]")] b_strides: Dims,
        #[napi(ts_arg_type = "Float32Array")] out: Arr, #[napi(ts_arg_type = "number[]")] shape: Dims,
    ) -> Result<()> {
        let op = binary_op(&k, op)?;
        let shape = k.sizes("shape", &shape)?;
        let (sa, sb) = (k.sizes("aStrides", &a_strides)?, k.sizes("bStrides", &b_strides)?);
        k.rank(&shape, "aStrides", &sa)?;
        k.rank(&shape, "bStrides", &sb)?;
        let (ao, bo) = (k.size("aOff", a_off)?, k.size("bOff", b_off)?);
        let (a, b, o) = (k.f32(&a, "a")?, k.f32(&b, "b")?, k.f32(&out, "out")?);
        let n = k.mul("shape size", &shape)?;
        k.len_eq(&o, n, || format!("shape {}", fmt_shape(&shape)))?;
        k.view(&a, ao, &shape, &sa)?;
        k.view(&b, bo, &shape, &sb)?;
        k.no_alias(&[r(&a), r(&b)], &[r(&o)])?;
        // SAFETY: views in bounds, out has the shape's size and is disjoint from a and b.
        unsafe { kern::elementwise::binary(op, a.slice(), ao, &sa, b.slice(), bo, &sb, o.slice_mut(), &shape) };
        Ok(())
    }

    /// out[i] = x[i] op s (or s op x[i] when reversed).
    "binaryScalar" |k| fn binary_scalar(
        op: f64, #[napi(ts_arg_type = "Float32Array")] x: Arr, s: f64, reversed: bool,
        #[napi(ts_arg_type = "Float32Array")] out: Arr,
    ) -> Result<()> {
        let op = binary_op(&k, op)?;
        let (x, o) = (k.f32(&x, "x")?, k.f32(&out, "out")?);
        k.len_eq(&x, o.len, || format!("out ({} elements)", o.len))?;
        k.no_alias(&[r(&x)], &[r(&o)])?;
        // SAFETY: same lengths, out disjoint from x.
        unsafe { kern::elementwise::binary_scalar(op, x.slice(), s as f32, reversed, o.slice_mut()) };
        Ok(())
    }

    /// a[view] = a[view] op b[view], b broadcast by 0 strides; a and b distinct.
    "binaryInplace" |k| fn binary_inplace(
        op: f64,
        #[napi(ts_arg_type = "Float32Array")] a: Arr, a_off: f64, #[napi(ts_arg_type = "number[]")] a_strides: Dims,
        #[napi(ts_arg_type = "Float32Array")] b: Arr, b_off: f64, #[napi(ts_arg_type = "number[]")] b_strides: Dims,
        #[napi(ts_arg_type = "number[]")] shape: Dims,
    ) -> Result<()> {
        let op = binary_op(&k, op)?;
        let shape = k.sizes("shape", &shape)?;
        let (sa, sb) = (k.sizes("aStrides", &a_strides)?, k.sizes("bStrides", &b_strides)?);
        k.rank(&shape, "aStrides", &sa)?;
        k.rank(&shape, "bStrides", &sb)?;
        let (ao, bo) = (k.size("aOff", a_off)?, k.size("bOff", b_off)?);
        let (a, b) = (k.f32(&a, "a")?, k.f32(&b, "b")?);
        k.view(&a, ao, &shape, &sa)?;
        k.view(&b, bo, &shape, &sb)?;
        k.no_alias(&[r(&b)], &[r(&a)])?;
        // SAFETY: views in bounds, a disjoint from b.
        unsafe { kern::elementwise::binary_inplace(op, a.slice_mut(), ao, &sa, b.slice(), bo, &sb, &shape) };
        Ok(())
    }

    /// a[i] = a[i] op s.
    "scalarInplace" |k| fn scalar_inplace(op: f64, #[napi(ts_arg_type = "Float32Array")] a: Arr, s: f64) -> Result<()> {
        let op = binary_op(&k, op)?;
        let a = k.f32(&a, "a")?;
        // SAFETY: a single array.
        unsafe { kern::elementwise::scalar_inplace(op, a.slice_mut(), s as f32) };
        Ok(())
    }

    /// y[i] += alpha·x[i].
    "axpy" |k| fn axpy(alpha: f64, #[napi(ts_arg_type = "Float32Array")] x: Arr, #[napi(ts_arg_type = "Float32Array")] y: Arr) -> Result<()> {
        let (x, y) = (k.f32(&x, "x")?, k.f32(&y, "y")?);
        k.len_eq(&x, y.len, || format!("y ({} elements)", y.len))?;
        k.no_alias(&[r(&x)], &[r(&y)])?;
        // SAFETY: same lengths, y disjoint from x.
        unsafe { kern::elementwise::axpy(alpha as f32, x.slice(), y.slice_mut()) };
        Ok(())
    }

    /// One fused Adam/AdamW step over a parameter and its moments (torch's float32 order).
    "adamStep" |k| fn adam_step(
        #[napi(ts_arg_type = "Float32Array")] param: Arr, #[napi(ts_arg_type = "Float32Array")] grad: Arr,
        #[napi(ts_arg_type = "Float32Array")] exp_avg: Arr, #[napi(ts_arg_type = "Float32Array")] exp_avg_sq: Arr,
        #[napi(ts_arg_type = "Float32Array | null")] max_exp_avg_sq: OptArr,
        decay: f64, l2: f64, weight: f64, beta2: f64, one_minus_beta2: f64, neg_step_size: f64, bc2_sqrt: f64, eps: f64,
        maximize: bool,
    ) -> Result<()> {
        let (p, g, m, v) = (k.f32(&param, "param")?, k.f32(&grad, "grad")?, k.f32(&exp_avg, "expAvg")?, k.f32(&exp_avg_sq, "expAvgSq")?);
        let x = max_exp_avg_sq.as_ref().map(|a| k.f32(a, "maxExpAvgSq")).transpose()?;
        for a in [Some(&g), Some(&m), Some(&v), x.as_ref()].into_iter().flatten() {
            k.len_eq(a, p.len, || format!("param ({} elements)", p.len))?;
        }
        let mut outputs = vec![r(&p), r(&m), r(&v)];
        outputs.extend(x.as_ref().map(r));
        k.no_alias(&[r(&g)], &outputs)?;
        let h = kern::optim::Adam {
            decay: decay as f32, l2: l2 as f32, weight: weight as f32, beta2: beta2 as f32, one_minus_beta2: one_minus_beta2 as f32,
            neg_step_size: neg_step_size as f32, bc2_sqrt: bc2_sqrt as f32, eps: eps as f32, maximize,
        };
        // SAFETY: equal lengths; the written arrays are disjoint from grad and from each other.
        unsafe { kern::optim::adam_step(p.slice_mut(), g.slice(), m.slice_mut(), v.slice_mut(), x.map(|x| x.slice_mut()), &h) };
        Ok(())
    }

    /// One fused SGD step over a parameter (and its momentum buffer), torch's float32 order.
    "sgdStep" |k| fn sgd_step(
        #[napi(ts_arg_type = "Float32Array")] param: Arr, #[napi(ts_arg_type = "Float32Array")] grad: Arr,
        #[napi(ts_arg_type = "Float32Array | null")] momentum_buffer: OptArr, first: bool,
        neg_lr: f64, weight_decay: f64, momentum: f64, keep: f64, nesterov: bool, maximize: bool, fused: bool,
    ) -> Result<()> {
        let (p, g) = (k.f32(&param, "param")?, k.f32(&grad, "grad")?);
        let b = momentum_buffer.as_ref().map(|a| k.f32(a, "momentumBuffer")).transpose()?;
        for a in [Some(&g), b.as_ref()].into_iter().flatten() {
            k.len_eq(a, p.len, || format!("param ({} elements)", p.len))?;
        }
        let mut outputs = vec![r(&p)];
        outputs.extend(b.as_ref().map(r));
        k.no_alias(&[r(&g)], &outputs)?;
        let h = kern::optim::Sgd {
            neg_lr: neg_lr as f32, weight_decay: weight_decay as f32, momentum: momentum as f32, keep: keep as f32,
            nesterov, maximize, fused,
        };
        // SAFETY: equal lengths; param and the buffer are disjoint from grad and each other.
        unsafe { kern::optim::sgd_step(p.slice_mut(), g.slice(), b.map(|b| b.slice_mut()), first, &h) };
        Ok(())
    }

    /// Sum of x [outer, n, inner] over the middle axis into out [outer, inner].
    "sum" |k| fn sum(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, outer: f64, n: f64, inner: f64,
        #[napi(ts_arg_type = "Float32Array")] out: Arr,
    ) -> Result<()> {
        let (outer, n, inner) = reduce_dims(&k, outer, n, inner)?;
        let (x, o) = (k.f32(&x, "x")?, k.f32(&out, "out")?);
        k.len_eq(&x, outer * n * inner, || format!("[outer, n, inner] = [{outer}, {n}, {inner}]"))?;
        k.len_eq(&o, outer * inner, || format!("[outer, inner] = [{outer}, {inner}]"))?;
        k.no_alias(&[r(&x)], &[r(&o)])?;
        // SAFETY: lengths checked, out disjoint from x.
        unsafe { kern::reduce::sum(x.slice(), outer, n, inner, o.slice_mut()) };
        Ok(())
    }

    /// Max/min over the middle axis with the index of the first extreme element.
    "reduceArg" |k| fn reduce_arg(
        op: f64, #[napi(ts_arg_type = "Float32Array")] x: Arr, outer: f64, n: f64, inner: f64,
        #[napi(ts_arg_type = "Float32Array")] out: Arr, #[napi(ts_arg_type = "Int32Array")] out_idx: Arr,
    ) -> Result<()> {
        let op = reduce_op(&k, op)?;
        let (outer, n, inner) = reduce_dims(&k, outer, n, inner)?;
        let (x, o, oi) = (k.f32(&x, "x")?, k.f32(&out, "out")?, k.i32(&out_idx, "outIdx")?);
        k.len_eq(&x, outer * n * inner, || format!("[outer, n, inner] = [{outer}, {n}, {inner}]"))?;
        k.len_eq(&o, outer * inner, || format!("[outer, inner] = [{outer}, {inner}]"))?;
        k.len_eq(&oi, outer * inner, || format!("[outer, inner] = [{outer}, {inner}]"))?;
        if outer * inner > 0 && n == 0 {
            return k.fail(format!("{op:?} over an empty axis (n = 0) has no result"));
        }
        if n > i32::MAX as usize {
            return k.fail(format!("n = {n} does not fit int32 indices"));
        }
        k.no_alias(&[r(&x)], &[r(&o), r(&oi)])?;
        if outer * inner == 0 {
            return Ok(());
        }
        // SAFETY: lengths checked, outputs disjoint from x and each other.
        unsafe { kern::reduce::reduce_arg(op, x.slice(), outer, n, inner, o.slice_mut(), oi.slice_mut()) };
        Ok(())
    }

    /// Backward of reduceArg: dx [outer, n, inner] zeroed, then g[o, j] at dx[o, idx[o, j], j].
    "reduceArgBackward" |k| fn reduce_arg_backward(
        #[napi(ts_arg_type = "Float32Array")] g: Arr, outer: f64, n: f64, inner: f64,
        #[napi(ts_arg_type = "Int32Array")] idx: Arr, #[napi(ts_arg_type = "Float32Array")] dx: Arr,
    ) -> Result<()> {
        let (outer, n, inner) = reduce_dims(&k, outer, n, inner)?;
        let (g, i, d) = (k.f32(&g, "g")?, k.i32(&idx, "idx")?, k.f32(&dx, "dx")?);
        k.len_eq(&g, outer * inner, || format!("[outer, inner] = [{outer}, {inner}]"))?;
        k.len_eq(&i, outer * inner, || format!("[outer, inner] = [{outer}, {inner}]"))?;
        k.len_eq(&d, outer * n * inner, || format!("[outer, n, inner] = [{outer}, {n}, {inner}]"))?;
        k.no_alias(&[r(&g), r(&i)], &[r(&d)])?;
        // SAFETY: lengths checked, dx disjoint; indices validated before use.
        unsafe {
            check_indices(&k, "idx", i.slice(), n, &format!("an axis of {n}"))?;
            kern::reduce::reduce_arg_backward(g.slice(), outer, n, inner, i.slice(), d.slice_mut());
        }
        Ok(())
    }

    /// where: out[i] = cond[view] != 0 ? a[view] : b[view]; mask (optional) gets 1/0.
    "where" |k| fn where_select(
        #[napi(ts_arg_type = "Float32Array | Int32Array")] cond: Arr, cond_off: f64, #[napi(ts_arg_type = "number[]")] cond_strides: Dims,
        #[napi(ts_arg_type = "Float32Array")] a: Arr, a_off: f64, #[napi(ts_arg_type = "number[]")] a_strides: Dims,
        #[napi(ts_arg_type = "Float32Array")] b: Arr, b_off: f64, #[napi(ts_arg_type = "number[]")] b_strides: Dims,
        #[napi(ts_arg_type = "Float32Array")] out: Arr, #[napi(ts_arg_type = "number[]")] shape: Dims,
        #[napi(ts_arg_type = "Float32Array | null")] mask: OptArr,
    ) -> Result<()> {
        let shape = k.sizes("shape", &shape)?;
        let (sc, sa, sb) = (k.sizes("condStrides", &cond_strides)?, k.sizes("aStrides", &a_strides)?, k.sizes("bStrides", &b_strides)?);
        k.rank(&shape, "condStrides", &sc)?;
        k.rank(&shape, "aStrides", &sa)?;
        k.rank(&shape, "bStrides", &sb)?;
        let (co, ao, bo) = (k.size("condOff", cond_off)?, k.size("aOff", a_off)?, k.size("bOff", b_off)?);
        let (a, b, o) = (k.f32(&a, "a")?, k.f32(&b, "b")?, k.f32(&out, "out")?);
        let m = mask.as_ref().map(|m| k.f32(m, "mask")).transpose()?;
        let n = k.mul("shape size", &shape)?;
        k.len_eq(&o, n, || format!("shape {}", fmt_shape(&shape)))?;
        if let Some(m) = &m {
            k.len_eq(m, n, || format!("shape {}", fmt_shape(&shape)))?;
        }
        k.view(&a, ao, &shape, &sa)?;
        k.view(&b, bo, &shape, &sb)?;
        let mut outputs = vec![r(&o)];
        outputs.extend(m.as_ref().map(r));
        if cond.describe() == "Int32Array" {
            let c = k.i32(&cond, "cond")?;
            k.view(&c, co, &shape, &sc)?;
            k.no_alias(&[r(&c), r(&a), r(&b)], &outputs)?;
            // SAFETY: views in bounds, outputs sized and disjoint from the inputs and each other.
            unsafe {
                kern::select::select(c.slice(), co, &sc, a.slice(), ao, &sa, b.slice(), bo, &sb, o.slice_mut(), m.map(|m| m.slice_mut()), &shape)
            };
        } else {
            let c = k.f32(&cond, "cond")?;
            k.view(&c, co, &shape, &sc)?;
            k.no_alias(&[r(&c), r(&a), r(&b)], &outputs)?;
            // SAFETY: as above.
            unsafe {
                kern::select::select(c.slice(), co, &sc, a.slice(), ao, &sa, b.slice(), bo, &sb, o.slice_mut(), m.map(|m| m.slice_mut()), &shape)
            };
        }
        Ok(())
    }

    /// Backward of where from its mask: ga = mask ? g : 0, gb = mask ? 0 : g (either may be null).
    "whereBackward" |k| fn where_backward(
        #[napi(ts_arg_type = "Float32Array")] mask: Arr, #[napi(ts_arg_type = "Float32Array")] g: Arr,
        #[napi(ts_arg_type = "Float32Array | null")] ga: OptArr, #[napi(ts_arg_type = "Float32Array | null")] gb: OptArr,
    ) -> Result<()> {
        let (m, g) = (k.f32(&mask, "mask")?, k.f32(&g, "g")?);
        let ga = ga.as_ref().map(|a| k.f32(a, "ga")).transpose()?;
        let gb = gb.as_ref().map(|a| k.f32(a, "gb")).transpose()?;
        for a in [Some(&m), ga.as_ref(), gb.as_ref()].into_iter().flatten() {
            k.len_eq(a, g.len, || format!("g ({} elements)", g.len))?;
        }
        let outputs: Vec<_> = [ga.as_ref(), gb.as_ref()].into_iter().flatten().map(r).collect();
        k.no_alias(&[r(&m), r(&g)], &outputs)?;
        // SAFETY: equal lengths; outputs disjoint from the inputs and each other.
        unsafe { kern::select::select_backward(m.slice(), g.slice(), ga.map(|a| a.slice_mut()), gb.map(|a| a.slice_mut())) };
        Ok(())
    }

    /// out[i] = gelu(x[i]) (tanh approximation when `tanh`), each in f64 and rounded once.
    "gelu" |k| fn gelu(#[napi(ts_arg_type = "Float32Array")] x: Arr, tanh: bool, #[napi(ts_arg_type = "Float32Array")] out: Arr) -> Result<()> {
        let (x, o) = (k.f32(&x, "x")?, k.f32(&out, "out")?);
        k.len_eq(&x, o.len, || format!("out ({} elements)", o.len))?;
        k.no_alias(&[r(&x)], &[r(&o)])?;
        // SAFETY: same lengths, out disjoint from x.
        unsafe { kern::gelu::gelu(x.slice(), tanh, o.slice_mut()) };
        Ok(())
    }

    /// dx[i] = dy[i]·gelu'(x[i]).
    "geluBackward" |k| fn gelu_backward(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, #[napi(ts_arg_type = "Float32Array")] dy: Arr, tanh: bool,
        #[napi(ts_arg_type = "Float32Array")] dx: Arr,
    ) -> Result<()> {
        let (x, dy, dx) = (k.f32(&x, "x")?, k.f32(&dy, "dy")?, k.f32(&dx, "dx")?);
        for a in [&x, &dy] {
            k.len_eq(a, dx.len, || format!("dx ({} elements)", dx.len))?;
        }
        k.no_alias(&[r(&x), r(&dy)], &[r(&dx)])?;
        // SAFETY: equal lengths, dx disjoint from the inputs.
        unsafe { kern::gelu::gelu_backward(x.slice(), dy.slice(), tanh, dx.slice_mut()) };
        Ok(())
    }

    /// Batched matmul: out[b] = op(A[b]) @ op(B[b]).
    "matmul" |k| fn matmul(
        #[napi(ts_arg_type = "Float32Array")] a: Arr, a_off: f64, a_batch_stride: f64, trans_a: bool,
        #[napi(ts_arg_type = "Float32Array")] b: Arr, b_off: f64, b_batch_stride: f64, trans_b: bool,
        #[napi(ts_arg_type = "Float32Array")] out: Arr, batch: f64, m: f64, k_: f64, n: f64,
    ) -> Result<()> {
        let (batch, m, kk, n) = (k.size("batch", batch)?, k.size("m", m)?, k.size("k", k_)?, k.size("n", n)?);
        let (ao, abs, bo, bbs) = (k.size("aOff", a_off)?, k.size("aBatchStride", a_batch_stride)?, k.size("bOff", b_off)?, k.size("bBatchStride", b_batch_stride)?);
        let (a, b, o) = (k.f32(&a, "a")?, k.f32(&b, "b")?, k.f32(&out, "out")?);
        let out_n = k.mul("out size (batch x m x n)", &[batch, m, n])?;
        k.len_eq(&o, out_n, || format!("batch {batch} x {m}x{n}"))?;
        // Stored shapes of A[b] and B[b].
        let (ar, ac) = if trans_a { (kk, m) } else { (m, kk) };
        let (br, bc) = if trans_b { (n, kk) } else { (kk, n) };
        for (arr, off, bs, rows, cols, which) in [(&a, ao, abs, ar, ac, "a"), (&b, bo, bbs, br, bc, "b")] {
            if batch == 0 || rows * cols == 0 {
                continue;
            }
            let need = (batch - 1)
                .checked_mul(bs)
                .and_then(|v| v.checked_add(off))
                .and_then(|v| v.checked_add(k.mul("matrix size", &[rows, cols]).ok()?))
                .ok_or_else(|| k.err(format!("{which} offset {off} + batch {batch} x stride {bs} overflows")))?;
            k.len_ge(arr, need, || {
                if batch == 1 {
                    format!("offset {off} + batch 1 x {rows}x{cols}")
                } else {
                    format!("offset {off} + batch {batch} (batch stride {bs}) of {rows}x{cols}")
                }
            })?;
        }
        k.no_alias(&[r(&a), r(&b)], &[r(&o)])?;
        // SAFETY: every matrix read is inside its array (checked above), out is disjoint.
        unsafe {
            kern::matmul::matmul(a.slice(), ao, abs, trans_a, b.slice(), bo, bbs, trans_b, o.slice_mut(), batch, m, kk, n, false)
        };
        Ok(())
    }

    /// out[i, :] = src[idx[i], :].
    "indexSelect" |k| fn index_select(
        #[napi(ts_arg_type = "Float32Array")] src: Arr, row_size: f64, #[napi(ts_arg_type = "Int32Array")] idx: Arr,
        #[napi(ts_arg_type = "Float32Array")] out: Arr,
    ) -> Result<()> {
        let rs = k.size("rowSize", row_size)?;
        let (s, i, o) = (k.f32(&src, "src")?, k.i32(&idx, "idx")?, k.f32(&out, "out")?);
        let rows = rows_of(&k, "src", s.len, rs)?;
        let need = k.mul("out size", &[i.len, rs])?;
        k.len_eq(&o, need, || format!("{} indices x rowSize {rs}", i.len))?;
        k.no_alias(&[r(&s), r(&i)], &[r(&o)])?;
        // SAFETY: arrays disjoint from out (checked); indices validated before use.
        unsafe {
            if rs > 0 {
                check_indices(&k, "idx", i.slice(), rows, &format!("{rows} rows"))?;
            }
            kern::gather::index_select(s.slice(), rs, i.slice(), o.slice_mut());
        }
        Ok(())
    }

    /// dst[idx[i], :] += src[i, :].
    "indexAdd" |k| fn index_add(
        #[napi(ts_arg_type = "Float32Array")] src: Arr, row_size: f64, #[napi(ts_arg_type = "Int32Array")] idx: Arr,
        #[napi(ts_arg_type = "Float32Array")] dst: Arr,
    ) -> Result<()> {
        let rs = k.size("rowSize", row_size)?;
        let (s, i, d) = (k.f32(&src, "src")?, k.i32(&idx, "idx")?, k.f32(&dst, "dst")?);
        let rows = rows_of(&k, "dst", d.len, rs)?;
        let need = k.mul("src size", &[i.len, rs])?;
        k.len_eq(&s, need, || format!("{} indices x rowSize {rs}", i.len))?;
        k.no_alias(&[r(&s), r(&i)], &[r(&d)])?;
        // SAFETY: as indexSelect.
        unsafe {
            if rs > 0 {
                check_indices(&k, "idx", i.slice(), rows, &format!("{rows} rows"))?;
            }
            kern::gather::index_add(s.slice(), rs, i.slice(), d.slice_mut());
        }
        Ok(())
    }

    /// dst[flatIdx[i]] += src[i].
    "putAdd" |k| fn put_add(
        #[napi(ts_arg_type = "Float32Array")] src: Arr, #[napi(ts_arg_type = "Int32Array")] flat_idx: Arr,
        #[napi(ts_arg_type = "Float32Array")] dst: Arr,
    ) -> Result<()> {
        let (s, i, d) = (k.f32(&src, "src")?, k.i32(&flat_idx, "flatIdx")?, k.f32(&dst, "dst")?);
        k.len_eq(&s, i.len, || format!("flatIdx ({} elements)", i.len))?;
        k.no_alias(&[r(&s), r(&i)], &[r(&d)])?;
        // SAFETY: disjoint; indices validated first.
        unsafe {
            check_indices(&k, "flatIdx", i.slice(), d.len, &format!("dst with {} elements", d.len))?;
            kern::gather::put_add(s.slice(), i.slice(), d.slice_mut());
        }
        Ok(())
    }

    /// Softmax or log-softmax of each row of x [rows, cols].
    "softmax" |k| fn softmax(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, rows: f64, cols: f64, log: bool,
        #[napi(ts_arg_type = "Float32Array")] out: Arr,
    ) -> Result<()> {
        let (rows, cols, n) = rows_cols(&k, rows, cols)?;
        let (x, o) = (k.f32(&x, "x")?, k.f32(&out, "out")?);
        k.len_eq(&x, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        k.len_eq(&o, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        k.no_alias(&[r(&x)], &[r(&o)])?;
        // SAFETY: lengths checked, out disjoint.
        unsafe { kern::softmax::softmax(x.slice(), rows, cols, log, o.slice_mut()) };
        Ok(())
    }

    /// Backward of softmax / log-softmax from its output y.
    "softmaxBackward" |k| fn softmax_backward(
        #[napi(ts_arg_type = "Float32Array")] y: Arr, #[napi(ts_arg_type = "Float32Array")] dy: Arr,
        rows: f64, cols: f64, log: bool, #[napi(ts_arg_type = "Float32Array")] dx: Arr,
    ) -> Result<()> {
        let (rows, cols, n) = rows_cols(&k, rows, cols)?;
        let (y, dy, dx) = (k.f32(&y, "y")?, k.f32(&dy, "dy")?, k.f32(&dx, "dx")?);
        for a in [&y, &dy, &dx] {
            k.len_eq(a, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        }
        k.no_alias(&[r(&y), r(&dy)], &[r(&dx)])?;
        // SAFETY: lengths checked, dx disjoint.
        unsafe { kern::softmax::softmax_backward(y.slice(), dy.slice(), rows, cols, log, dx.slice_mut()) };
        Ok(())
    }

    /// Fused softmax + NLL: writes probs and returns the summed loss of non-ignored rows.
    "crossEntropyForward" |k| fn cross_entropy_forward(
        #[napi(ts_arg_type = "Float32Array")] logits: Arr, rows: f64, cols: f64,
        #[napi(ts_arg_type = "Int32Array")] targets: Arr, ignore_index: f64,
        #[napi(ts_arg_type = "Float32Array")] probs: Arr,
    ) -> Result<f64> {
        let (rows, cols, n) = rows_cols(&k, rows, cols)?;
        let ignore = k.int("ignoreIndex", ignore_index)?;
        let (x, t, p) = (k.f32(&logits, "logits")?, k.i32(&targets, "targets")?, k.f32(&probs, "probs")?);
        k.len_eq(&x, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        k.len_eq(&p, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        k.len_eq(&t, rows, || format!("rows = {rows}"))?;
        k.no_alias(&[r(&x), r(&t)], &[r(&p)])?;
        // SAFETY: lengths checked, probs disjoint; targets validated first.
        unsafe {
            check_targets(&k, t.slice(), cols, ignore)?;
            Ok(kern::cross_entropy::forward(x.slice(), rows, cols, t.slice(), ignore, p.slice_mut()))
        }
    }

    /// dx = scale·(probs − onehot(target)), 0 on ignored rows.
    "crossEntropyBackward" |k| fn cross_entropy_backward(
        #[napi(ts_arg_type = "Float32Array")] probs: Arr, rows: f64, cols: f64,
        #[napi(ts_arg_type = "Int32Array")] targets: Arr, ignore_index: f64, scale: f64,
        #[napi(ts_arg_type = "Float32Array")] dx: Arr,
    ) -> Result<()> {
        let (rows, cols, n) = rows_cols(&k, rows, cols)?;
        let ignore = k.int("ignoreIndex", ignore_index)?;
        let (p, t, d) = (k.f32(&probs, "probs")?, k.i32(&targets, "targets")?, k.f32(&dx, "dx")?);
        k.len_eq(&p, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        k.len_eq(&d, n, || format!("[rows, cols] = [{rows}, {cols}]"))?;
        k.len_eq(&t, rows, || format!("rows = {rows}"))?;
        k.no_alias(&[r(&p), r(&t)], &[r(&d)])?;
        // SAFETY: as forward.
        unsafe {
            check_targets(&k, t.slice(), cols, ignore)?;
            kern::cross_entropy::backward(p.slice(), rows, cols, t.slice(), ignore, scale as f32, d.slice_mut());
        }
        Ok(())
    }

    /// Batch norm of x [n, c] per column (training: batch stats; eval: the given running stats).
    "batchNormForward" |k| fn batch_norm_forward(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, n: f64, c: f64,
        #[napi(ts_arg_type = "Float32Array | null")] gamma: OptArr,
        #[napi(ts_arg_type = "Float32Array | null")] beta: OptArr,
        eps: f64, correction_: f64, training: bool,
        #[napi(ts_arg_type = "Float32Array")] out: Arr,
        #[napi(ts_arg_type = "Float32Array")] mean_out: Arr,
        #[napi(ts_arg_type = "Float32Array")] var_out: Arr,
        #[napi(ts_arg_type = "Float32Array")] invstd_out: Arr,
    ) -> Result<()> {
        let (n, c) = (k.size("n", n)?, k.size("c", c)?);
        let nc = k.mul("n x c", &[n, c])?;
        let corr = correction(&k, correction_)?;
        // As torch.nn.functional.batch_norm: eps > 0 when training (a constant channel would
        // divide 0 by 0), eps >= 0 with running statistics; not finite is refused (NaN output).
        if !(eps.is_finite() && eps >= 0.0) || (training && eps == 0.0) {
            let want = if training { "> 0 when training" } else { ">= 0" };
            return k.fail(format!("eps must be a finite number {want}, got {}", js(eps)));
        }
        if training && n <= corr && c > 0 {
            return k.fail(format!("training needs more than {corr} rows per channel (n = {n}, correction = {corr})"));
        }
        let x = k.f32(&x, "x")?;
        let g = gamma.as_ref().map(|g| k.f32(g, "gamma")).transpose()?;
        let b = beta.as_ref().map(|b| k.f32(b, "beta")).transpose()?;
        let (o, m, v, is) = (k.f32(&out, "out")?, k.f32(&mean_out, "meanOut")?, k.f32(&var_out, "varOut")?, k.f32(&invstd_out, "invstdOut")?);
        k.len_eq(&x, nc, || format!("[n, c] = [{n}, {c}]"))?;
        k.len_eq(&o, nc, || format!("[n, c] = [{n}, {c}]"))?;
        for a in [Some(&m), Some(&v), Some(&is), g.as_ref(), b.as_ref()].into_iter().flatten() {
            k.len_eq(a, c, || format!("c = {c}"))?;
        }
        let mut inputs = vec![r(&x)];
        inputs.extend(g.as_ref().map(r));
        inputs.extend(b.as_ref().map(r));
        // In eval mode meanOut/varOut are read; either way they must not overlap out or invstdOut.
        k.no_alias(&inputs, &[r(&o), r(&m), r(&v), r(&is)])?;
        // SAFETY: lengths checked; outputs disjoint from inputs and each other.
        unsafe {
            kern::batchnorm::forward(
                x.slice(), n, c, g.map(|g| g.slice()), b.map(|b| b.slice()), eps as f32, corr, training,
                o.slice_mut(), m.slice_mut(), v.slice_mut(), is.slice_mut(),
            )
        };
        Ok(())
    }

    /// Closed-form backward of training-mode batch norm.
    "batchNormBackward" |k| fn batch_norm_backward(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, #[napi(ts_arg_type = "Float32Array")] dy: Arr, n: f64, c: f64,
        #[napi(ts_arg_type = "Float32Array")] mean: Arr, #[napi(ts_arg_type = "Float32Array")] invstd: Arr,
        #[napi(ts_arg_type = "Float32Array | null")] gamma: OptArr, correction_: f64,
        #[napi(ts_arg_type = "Float32Array | null")] dx: OptArr,
        #[napi(ts_arg_type = "Float32Array | null")] dgamma: OptArr,
        #[napi(ts_arg_type = "Float32Array | null")] dbeta: OptArr,
    ) -> Result<()> {
        let (n, c) = (k.size("n", n)?, k.size("c", c)?);
        let nc = k.mul("n x c", &[n, c])?;
        let corr = correction(&k, correction_)?;
        let (x, dy, m, is) = (k.f32(&x, "x")?, k.f32(&dy, "dy")?, k.f32(&mean, "mean")?, k.f32(&invstd, "invstd")?);
        let g = gamma.as_ref().map(|g| k.f32(g, "gamma")).transpose()?;
        let dx = dx.as_ref().map(|a| k.f32(a, "dx")).transpose()?;
        let dg = dgamma.as_ref().map(|a| k.f32(a, "dgamma")).transpose()?;
        let db = dbeta.as_ref().map(|a| k.f32(a, "dbeta")).transpose()?;
        if dx.is_some() && n <= corr && c > 0 {
            return k.fail(format!("needs more than {corr} rows per channel (n = {n}, correction = {corr})"));
        }
        for a in [Some(&x), Some(&dy), dx.as_ref()].into_iter().flatten() {
            k.len_eq(a, nc, || format!("[n, c] = [{n}, {c}]"))?;
        }
        for a in [Some(&m), Some(&is), g.as_ref(), dg.as_ref(), db.as_ref()].into_iter().flatten() {
            k.len_eq(a, c, || format!("c = {c}"))?;
        }
        let mut inputs = vec![r(&x), r(&dy), r(&m), r(&is)];
        inputs.extend(g.as_ref().map(r));
        let outputs: Vec<_> = [dx.as_ref(), dg.as_ref(), db.as_ref()].into_iter().flatten().map(r).collect();
        k.no_alias(&inputs, &outputs)?;
        // SAFETY: lengths checked; outputs disjoint from inputs and each other.
        unsafe {
            kern::batchnorm::backward(
                x.slice(), dy.slice(), n, c, m.slice(), is.slice(), g.map(|g| g.slice()), corr,
                dx.map(|a| a.slice_mut()), dg.map(|a| a.slice_mut()), db.map(|a| a.slice_mut()),
            )
        };
        Ok(())
    }

    /// 1-D convolution (cross-correlation) with dilation and left padding.
    "conv1dForward" |k| fn conv1d_forward(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, batch: f64, cin: f64, tin: f64,
        #[napi(ts_arg_type = "Float32Array")] w: Arr, cout: f64, kw: f64, dilation: f64, pad_left: f64,
        #[napi(ts_arg_type = "Float32Array | null")] bias: OptArr,
        #[napi(ts_arg_type = "Float32Array")] out: Arr, tout: f64,
    ) -> Result<()> {
        let p = conv_params(&k, batch, cin, tin, cout, kw, dilation, pad_left, tout)?;
        let (x, w, o) = (k.f32(&x, "x")?, k.f32(&w, "w")?, k.f32(&out, "out")?);
        let bias = bias.as_ref().map(|b| k.f32(b, "bias")).transpose()?;
        k.len_eq(&x, p.batch * p.cin * p.tin, || format!("[batch, cin, tin] = [{}, {}, {}]", p.batch, p.cin, p.tin))?;
        k.len_eq(&w, p.cout * p.cin * p.k, || format!("[cout, cin, k] = [{}, {}, {}]", p.cout, p.cin, p.k))?;
        k.len_eq(&o, p.batch * p.cout * p.tout, || format!("[batch, cout, tout] = [{}, {}, {}]", p.batch, p.cout, p.tout))?;
        if let Some(b) = &bias {
            k.len_eq(b, p.cout, || format!("cout = {}", p.cout))?;
        }
        let mut inputs = vec![r(&x), r(&w)];
        inputs.extend(bias.as_ref().map(r));
        k.no_alias(&inputs, &[r(&o)])?;
        // SAFETY: lengths checked, out disjoint.
        unsafe { kern::conv1d::forward(&p, x.slice(), w.slice(), bias.map(|b| b.slice()), o.slice_mut()) };
        Ok(())
    }

    /// Gradients of conv1dForward w.r.t. x and w.
    "conv1dBackward" |k| fn conv1d_backward(
        #[napi(ts_arg_type = "Float32Array")] x: Arr, batch: f64, cin: f64, tin: f64,
        #[napi(ts_arg_type = "Float32Array")] w: Arr, cout: f64, kw: f64, dilation: f64, pad_left: f64,
        #[napi(ts_arg_type = "Float32Array")] dy: Arr, tout: f64,
        #[napi(ts_arg_type = "Float32Array | null")] dx: OptArr,
        #[napi(ts_arg_type = "Float32Array | null")] dw: OptArr,
    ) -> Result<()> {
        let p = conv_params(&k, batch, cin, tin, cout, kw, dilation, pad_left, tout)?;
        let (x, w, dy) = (k.f32(&x, "x")?, k.f32(&w, "w")?, k.f32(&dy, "dy")?);
        let dx = dx.as_ref().map(|a| k.f32(a, "dx")).transpose()?;
        let dw = dw.as_ref().map(|a| k.f32(a, "dw")).transpose()?;
        let xs = || format!("[batch, cin, tin] = [{}, {}, {}]", p.batch, p.cin, p.tin);
        let ws = || format!("[cout, cin, k] = [{}, {}, {}]", p.cout, p.cin, p.k);
        k.len_eq(&x, p.batch * p.cin * p.tin, xs)?;
        k.len_eq(&w, p.cout * p.cin * p.k, ws)?;
        k.len_eq(&dy, p.batch * p.cout * p.tout, || format!("[batch, cout, tout] = [{}, {}, {}]", p.batch, p.cout, p.tout))?;
        if let Some(a) = &dx {
            k.len_eq(a, p.batch * p.cin * p.tin, xs)?;
        }
        if let Some(a) = &dw {
            k.len_eq(a, p.cout * p.cin * p.k, ws)?;
        }
        let outputs: Vec<_> = [dx.as_ref(), dw.as_ref()].into_iter().flatten().map(r).collect();
        k.no_alias(&[r(&x), r(&w), r(&dy)], &outputs)?;
        // SAFETY: lengths checked; outputs disjoint from inputs and each other.
        unsafe { kern::conv1d::backward(&p, x.slice(), w.slice(), dy.slice(), dx.map(|a| a.slice_mut()), dw.map(|a| a.slice_mut())) };
        Ok(())
    }

    /// Sets the number of threads parallel kernels use (1..=1024).
    "setNumThreads" |k| fn set_num_threads(n: f64) -> Result<()> {
        let n = k.size("n", n)?;
        kern::pool::set_num_threads(n).map_err(|e| k.err(e.trim_start_matches("setNumThreads: ")))
    }

    /// Number of threads parallel kernels use.
    "getNumThreads" |_k| fn get_num_threads() -> Result<u32> {
        Ok(kern::pool::num_threads() as u32)
    }
}
