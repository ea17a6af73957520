//! Fused optimizer updates: one pass over a parameter for a whole Adam/AdamW or SGD step.
//!
//! The arithmetic is torch.optim's single-tensor float32 path, operation by operation, exactly as
//! src/optim computes it in JavaScript (the reference twins in src/backend/reference.ts are those
//! loops): every +, -, ·, /, sqrt is a float32 operation (correctly rounded), and each of torch's
//! fused multiply-adds `a + b·c` is computed as JavaScript does it, `(a + b·c)` in double (the
//! product of two float32 numbers is exact there) rounded to float32 by the store. That is a fused
//! multiply-add up to the rare double rounding, and it is what keeps native and TypeScript bit-equal.
//! Every element is independent, so any thread count gives the same bits.

use crate::cpu::{level, Level};
use crate::pool::{self, SendPtr};

/// `a + b·c` as JavaScript computes `Math.fround(a + b * c)` for float32 a, b, c.
#[inline(always)]
fn mul_add_js(a: f32, b: f32, c: f32) -> f32 {
    (a as f64 + b as f64 * c as f64) as f32
}

/// The scalars of one Adam step, already rounded to float32 where torch's kernels take float32.
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    /// Decoupled weight decay factor 1 - lr·weightDecay (AdamW), 1 for none.
    pub decay: f32,
    /// L2 penalty added to the gradient (Adam's weightDecay), 0 for none.
    pub l2: f32,
    /// The lerp weight 1 - beta1.
    pub weight: f32,
    pub beta2: f32,
    /// 1 - beta2 computed in double, then rounded.
    pub one_minus_beta2: f32,
    /// -lr / (1 - beta1^t).
    pub neg_step_size: f32,
    /// sqrt(1 - beta2^t).
    pub bc2_sqrt: f32,
    pub eps: f32,
    pub maximize: bool,
}

const CHUNK: usize = 16 * 1024;

/// One Adam/AdamW step over p in place, with its moments m, v (and the running maximum vmax for
/// AMSGrad). Per element, as torch: p = p·decay; g = ±grad + l2·p; m = lerp(m, g, weight);
/// v = v·beta2 + ((1-beta2)·g)·g; denom = sqrt(max(vmax, v)) / bc2Sqrt + eps; p = p + (negStep·m)/denom.
pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vmax: Option<&mut [f32]>, h: &Adam) {
    let n = p.len();
    assert!(g.len() == n && m.len() == n && v.len() == n, "adamStep: lengths differ");
    if let Some(x) = &vmax {
        assert_eq!(x.len(), n, "adamStep: maxExpAvgSq length differs");
    }
    let (pp, mp, vp) = (SendPtr(p.as_mut_ptr()), SendPtr(m.as_mut_ptr()), SendPtr(v.as_mut_ptr()));
    let xp = vmax.map(|x| SendPtr(x.as_mut_ptr()));
    let h = *h;
    pool::for_each_index(n.div_ceil(CHUNK), n as f64 * 1.5, move |c| {
        let (s, e) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        // SAFETY: chunk c alone touches elements s..e of each array, all of length n.
        unsafe {
            let p = std::slice::from_raw_parts_mut(pp.get().add(s), e - s);
            let m = std::slice::from_raw_parts_mut(mp.get().add(s), e - s);
            let v = std::slice::from_raw_parts_mut(vp.get().add(s), e - s);
            let x = xp.map(|x| std::slice::from_raw_parts_mut(x.get().add(s), e - s));
            adam_chunk(p, &g[s..e], m, v, x, &h);
        }
    });
}

fn adam_chunk(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vmax: Option<&mut [f32]>, h: &Adam) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], x: Option<&mut [f32]>, h: &Adam) {
            adam_dispatch(p, g, m, v, x, h)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], x: Option<&mut [f32]>, h: &Adam) {
            adam_dispatch(p, g, m, v, x, h)
        }
        match level() {
            // SAFETY: the level was detected at run time on this CPU.
            Level::Avx512 => return unsafe { avx512(p, g, m, v, vmax, h) },
            Level::Avx2Fma => return unsafe { avx2(p, g, m, v, vmax, h) },
            Level::Scalar => {}
        }
    }
    adam_dispatch(p, g, m, v, vmax, h)
}

/// Chooses a loop without the options that are off, so the common cases vectorise.
#[inline(always)]
fn adam_dispatch(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vmax: Option<&mut [f32]>, h: &Adam) {
    let low = h.weight.abs() < 0.5;
    match (vmax, low, h.l2 != 0.0, h.maximize) {
        (None, true, false, false) => adam_loop::<true, false, false>(p, g, m, v, None, h),
        (None, false, false, false) => adam_loop::<false, false, false>(p, g, m, v, None, h),
        (x, true, l2, mx) => match (l2, mx) {
            (false, false) => adam_loop::<true, false, false>(p, g, m, v, x, h),
            (true, false) => adam_loop::<true, true, false>(p, g, m, v, x, h),
            (false, true) => adam_loop::<true, false, true>(p, g, m, v, x, h),
            (true, true) => adam_loop::<true, true, true>(p, g, m, v, x, h),
        },
        (x, false, l2, mx) => match (l2, mx) {
            (false, false) => adam_loop::<false, false, false>(p, g, m, v, x, h),
            (true, false) => adam_loop::<false, true, false>(p, g, m, v, x, h),
            (false, true) => adam_loop::<false, false, true>(p, g, m, v, x, h),
            (true, true) => adam_loop::<false, true, true>(p, g, m, v, x, h),
        },
    }
}

#[inline(always)]
fn adam_loop<const LOW: bool, const L2: bool, const MAXIMIZE: bool>(
    p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vmax: Option<&mut [f32]>, h: &Adam,
) {
    let one_minus_weight = 1.0 - h.weight;
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let mut vmax = vmax.map(|x| &mut x[..n]);
    for i in 0..n {
        let mut gi = if MAXIMIZE { -g[i] } else { g[i] };
        // p·1 is p exactly (also -0, inf, NaN), so the decay needs no branch.
        let mut pi = p[i] * h.decay;
        if L2 {
            gi = mul_add_js(gi, h.l2, pi);
        }
        // torch's lerp(m, g, w): m + w·(g - m) for |w| < 0.5, else g - (g - m)·(1 - w).
        let diff = gi - m[i];
        let mi = if LOW { mul_add_js(m[i], h.weight, diff) } else { mul_add_js(gi, -diff, one_minus_weight) };
        m[i] = mi;
        let vi = mul_add_js(v[i] * h.beta2, h.one_minus_beta2 * gi, gi);
        v[i] = vi;
        let used = match vmax.as_deref_mut() {
            Some(x) => {
                // torch.maximum propagates NaN.
                let prev = x[i];
                let u = if prev > vi || prev.is_nan() { prev } else { vi };
                x[i] = u;
                u
            }
            None => vi,
        };
        let denom = used.sqrt() / h.bc2_sqrt + h.eps;
        pi += (h.neg_step_size * mi) / denom;
        p[i] = pi;
    }
}

/// The scalars of one SGD step (float32 where torch's kernels take float32).
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    pub neg_lr: f32,
    pub weight_decay: f32,
    pub momentum: f32,
    /// 1 - dampening.
    pub keep: f32,
    pub nesterov: bool,
    pub maximize: bool,
    /// true: each `a + b·c` of the update is torch's fused multiply-add; false: the product is
    /// rounded to float32 first (the lectures' `p.data += -lr * p.grad`).
    pub fused: bool,
}

/// One SGD step over p in place, with the momentum buffer when momentum is on (`first`: the
/// buffer is initialised from this gradient, as torch's first step does). Per element:
/// g = ±grad + wd·p; buf = first ? g : buf·momentum + keep·g; g = nesterov ? g + momentum·buf : buf;
/// p = p + negLr·g.
pub fn sgd_step(p: &mut [f32], g: &[f32], buf: Option<&mut [f32]>, first: bool, h: &Sgd) {
    let n = p.len();
    assert_eq!(g.len(), n, "sgdStep: grad length differs");
    if let Some(b) = &buf {
        assert_eq!(b.len(), n, "sgdStep: momentumBuffer length differs");
    }
    let pp = SendPtr(p.as_mut_ptr());
    let bp = buf.map(|b| SendPtr(b.as_mut_ptr()));
    let h = *h;
    pool::for_each_index(n.div_ceil(CHUNK), n as f64 * 0.5, move |c| {
        let (s, e) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        // SAFETY: chunk c alone touches elements s..e of p and buf, both of length n.
        unsafe {
            let p = std::slice::from_raw_parts_mut(pp.get().add(s), e - s);
            let b = bp.map(|b| std::slice::from_raw_parts_mut(b.get().add(s), e - s));
            sgd_chunk(p, &g[s..e], b, first, &h);
        }
    });
}

fn sgd_chunk(p: &mut [f32], g: &[f32], buf: Option<&mut [f32]>, first: bool, h: &Sgd) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(p: &mut [f32], g: &[f32], b: Option<&mut [f32]>, first: bool, h: &Sgd) {
            sgd_dispatch(p, g, b, first, h)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(p: &mut [f32], g: &[f32], b: Option<&mut [f32]>, first: bool, h: &Sgd) {
            sgd_dispatch(p, g, b, first, h)
        }
        match level() {
            // SAFETY: the level was detected at run time on this CPU.
            Level::Avx512 => return unsafe { avx512(p, g, buf, first, h) },
            Level::Avx2Fma => return unsafe { avx2(p, g, buf, first, h) },
            Level::Scalar => {}
        }
    }
    sgd_dispatch(p, g, buf, first, h)
}

/// `a + b·c`, fused as torch's add_(.., alpha) or with the product rounded first.
#[inline(always)]
fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED { mul_add_js(a, b, c) } else { a + b * c }
}

#[inline(always)]
fn sgd_dispatch(p: &mut [f32], g: &[f32], buf: Option<&mut [f32]>, first: bool, h: &Sgd) {
    let plain = h.weight_decay == 0.0 && !h.maximize;
    match (buf, plain, h.fused) {
        // The common cases get loops of their own (they vectorise).
        (None, true, true) => plain_loop::<true>(p, g, h.neg_lr),
        (None, true, false) => plain_loop::<false>(p, g, h.neg_lr),
        (Some(b), true, true) if !first && !h.nesterov => momentum_loop(p, g, b, h),
        (b, _, true) => sgd_loop::<true>(p, g, b, first, h),
        (b, _, false) => sgd_loop::<false>(p, g, b, first, h),
    }
}

#[inline(always)]
fn plain_loop<const FUSED: bool>(p: &mut [f32], g: &[f32], neg_lr: f32) {
    let g = &g[..p.len()];
    for (pi, &gi) in p.iter_mut().zip(g) {
        *pi = madd::<FUSED>(*pi, neg_lr, gi);
    }
}

#[inline(always)]
fn momentum_loop(p: &mut [f32], g: &[f32], b: &mut [f32], h: &Sgd) {
    let n = p.len();
    let (g, b) = (&g[..n], &mut b[..n]);
    for i in 0..n {
        let bi = mul_add_js(b[i] * h.momentum, h.keep, g[i]);
        b[i] = bi;
        p[i] = mul_add_js(p[i], h.neg_lr, bi);
    }
}

#[inline(always)]
fn sgd_loop<const FUSED: bool>(p: &mut [f32], g: &[f32], mut buf: Option<&mut [f32]>, first: bool, h: &Sgd) {
    let n = p.len();
    for i in 0..n {
        let mut gi = if h.maximize { -g[i] } else { g[i] };
        if h.weight_decay != 0.0 {
            gi = madd::<FUSED>(gi, h.weight_decay, p[i]);
        }
        if let Some(b) = buf.as_deref_mut() {
            if first {
                b[i] = gi;
            } else {
                b[i] = madd::<FUSED>(b[i] * h.momentum, h.keep, gi);
            }
            gi = if h.nesterov { madd::<FUSED>(gi, h.momentum, b[i]) } else { b[i] };
        }
        p[i] = madd::<FUSED>(p[i], h.neg_lr, gi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Rng, EDGE_SIZES};

    /// The update in plain f64 arithmetic rounded where JavaScript's Math.fround rounds (the
    /// TypeScript loop of src/optim/adam.ts, transcribed).
    fn adam_js(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], mut vmax: Option<&mut [f32]>, h: &Adam) {
        let r = |x: f64| x as f32 as f64;
        let w = h.weight as f64;
        for i in 0..p.len() {
            let mut gi = if h.maximize { -(g[i] as f64) } else { g[i] as f64 };
            let mut pi = p[i] as f64;
            if h.decay != 1.0 {
                pi = r(pi * h.decay as f64);
            }
            if h.l2 != 0.0 {
                gi = r(gi + h.l2 as f64 * pi);
            }
            let diff = r(gi - m[i] as f64);
            let mi = if w.abs() < 0.5 { r(m[i] as f64 + w * diff) } else { r(gi - diff * r(1.0 - w)) };
            m[i] = mi as f32;
            let vi = r(r(v[i] as f64 * h.beta2 as f64) + r(h.one_minus_beta2 as f64 * gi) * gi);
            v[i] = vi as f32;
            let mut used = vi;
            if let Some(x) = vmax.as_deref_mut() {
                let prev = x[i] as f64;
                used = if prev > vi || prev.is_nan() { prev } else { vi };
                x[i] = used as f32;
            }
            let denom = r(r(r(used.sqrt()) / h.bc2_sqrt as f64) + h.eps as f64);
            p[i] = r(pi + r(r(h.neg_step_size as f64 * mi) / denom)) as f32;
        }
    }

    #[test]
    fn adam_matches_the_javascript_arithmetic_bit_for_bit() {
        let mut rng = Rng::new(77);
        for &n in EDGE_SIZES.iter().chain(&[40_000usize]) {
            for (decay, l2, beta1, ams, maximize) in [
                (0.99999f32, 0.0f32, 0.9f64, false, false),
                (1.0, 0.01, 0.9, true, false),
                (1.0, 0.0, 0.3, false, true),
                (0.999, 0.0, 0.0, true, true),
            ] {
                let h = Adam {
                    decay, l2, weight: (1.0 - beta1) as f32, beta2: 0.999, one_minus_beta2: (1.0f64 - 0.999) as f32,
                    neg_step_size: (-(1e-3 / (1.0 - beta1.powi(3)))) as f32, bc2_sqrt: (1.0f64 - 0.999f64.powi(3)).sqrt() as f32,
                    eps: 1e-8, maximize,
                };
                let (p0, g) = (rng.vec(n), rng.vec(n));
                let m0: Vec<f32> = rng.vec(n).iter().map(|x| x * 0.1).collect();
                let v0: Vec<f32> = rng.vec(n).iter().map(|x| x * x * 0.01).collect();
                let x0: Vec<f32> = v0.iter().enumerate().map(|(i, &x)| if i % 3 == 0 { x * 2.0 } else { x * 0.5 }).collect();
                let (mut p, mut m, mut v, mut x) = (p0.clone(), m0.clone(), v0.clone(), x0.clone());
                let (mut pw, mut mw, mut vw, mut xw) = (p0, m0, v0, x0);
                for _ in 0..3 {
                    adam_step(&mut p, &g, &mut m, &mut v, if ams { Some(&mut x) } else { None }, &h);
                    adam_js(&mut pw, &g, &mut mw, &mut vw, if ams { Some(&mut xw) } else { None }, &h);
                }
                let bits = |a: &[f32]| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&p), bits(&pw), "p n={n}");
                assert_eq!(bits(&m), bits(&mw), "m n={n}");
                assert_eq!(bits(&v), bits(&vw), "v n={n}");
                assert_eq!(bits(&x), bits(&xw), "vmax n={n}");
            }
        }
    }

    fn sgd_js(p: &mut [f32], g: &[f32], mut buf: Option<&mut [f32]>, first: bool, h: &Sgd) {
        let r = |x: f64| x as f32 as f64;
        let fma = |a: f64, b: f64, c: f64| if h.fused { r(a + b * c) } else { r(a + r(b * c)) };
        for i in 0..p.len() {
            let mut gi = if h.maximize { -(g[i] as f64) } else { g[i] as f64 };
            if h.weight_decay != 0.0 {
                gi = fma(gi, h.weight_decay as f64, p[i] as f64);
            }
            if let Some(b) = buf.as_deref_mut() {
                b[i] = if first { gi as f32 } else { fma(r(b[i] as f64 * h.momentum as f64), h.keep as f64, gi) as f32 };
                gi = if h.nesterov { fma(gi, h.momentum as f64, b[i] as f64) } else { b[i] as f64 };
            }
            p[i] = fma(p[i] as f64, h.neg_lr as f64, gi) as f32;
        }
    }

    #[test]
    fn sgd_matches_the_javascript_arithmetic_bit_for_bit() {
        let mut rng = Rng::new(78);
        for &n in EDGE_SIZES.iter().chain(&[40_000usize]) {
            for (wd, mom, nesterov, maximize, fused) in [
                (0.0f32, 0.0f32, false, false, true),
                (0.0, 0.0, false, false, false),
                (0.0, 0.9, false, false, true),
                (0.01, 0.9, true, false, true),
                (0.01, 0.5, false, true, false),
                (0.0, 0.9, true, true, false),
            ] {
                let h = Sgd { neg_lr: -0.1, weight_decay: wd, momentum: mom, keep: 0.75, nesterov, maximize, fused };
                let (p0, b0) = (rng.vec(n), rng.vec(n));
                let (mut p, mut b, mut pw, mut bw) = (p0.clone(), b0.clone(), p0, b0);
                for step in 0..3 {
                    let g = rng.vec(n);
                    let buf = if mom != 0.0 { Some(&mut b[..]) } else { None };
                    sgd_step(&mut p, &g, buf, step == 0, &h);
                    let bufw = if mom != 0.0 { Some(&mut bw[..]) } else { None };
                    sgd_js(&mut pw, &g, bufw, step == 0, &h);
                }
                let bits = |a: &[f32]| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&p), bits(&pw), "p n={n} mom={mom} fused={fused}");
                assert_eq!(bits(&b), bits(&bw), "buf n={n}");
            }
        }
    }
}
