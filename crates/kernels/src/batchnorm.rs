//! Batch normalisation of x [n, c] over rows, per column, and its closed-form backward.
//! Column statistics are accumulated in f64, row by row in index order; threads split columns.
//!
//! Every output element is a fixed sequence of IEEE operations on its own column, so the loops run
//! across a block of columns (one SIMD lane per column, compiled per instruction set by
//! `cpu::simd`): the bits are the same whatever the block width, thread split or instruction set.

use crate::{cpu, pool};

/// The widest column block: its f64 accumulators (8 AVX-512 registers each) stay in registers.
const BLOCK: usize = 64;

/// Rough ns per element of each kernel on one thread, operands in cache (for the parallel
/// threshold), measured at [1024, 200] with AVX-512 (`cargo bench --bench kernels`, load 2-5):
/// the forward's one pass for the moments and its affine pass 27-33 µs, the backward's two passes
/// 43-50 µs. Both are bound by memory traffic: with operands from DRAM (FERROGRAD_BENCH_FLUSH=64)
/// they take 2.5-3x as long, and two threads gained nothing there.
const FORWARD_NS: f64 = 0.15;
const BACKWARD_NS: f64 = 0.23;

/// Calls `f(j0, j1)` for column blocks of 64, 32, 16 or 8 (whose loops are unrolled at that
/// width) and a last narrower one; threads take even shares of the columns.
fn for_column_blocks(c: usize, est: f64, f: impl Fn(usize, usize) + Send + Sync) {
    pool::for_each_range(c, 16, est, |c0, c1| {
        let mut j0 = c0;
        while j0 < c1 {
            let left = c1 - j0;
            let w = [BLOCK, 32, 16, 8].into_iter().find(|&w| w <= left).unwrap_or(left);
            f(j0, j0 + w);
            j0 += w;
        }
    });
}

/// Calls `$f::<W>($w, args)` with W = $w for the unrolled widths, W = 0 (width only known at run
/// time) otherwise, inside `cpu::simd`.
macro_rules! at_width {
    ($w:expr, $f:ident($($a:expr),* $(,)?)) => {
        cpu::simd(#[inline(always)] || match $w {
            64 => $f::<64>($w, $($a),*),
            32 => $f::<32>($w, $($a),*),
            16 => $f::<16>($w, $($a),*),
            8 => $f::<8>($w, $($a),*),
            _ => $f::<0>($w, $($a),*),
        })
    };
}

/// The rows of one column block: `row(r)` is x[r, j0..j0 + w].
#[derive(Clone, Copy)]
struct Block<'a> {
    x: &'a [f32],
    c: usize,
    j0: usize,
    w: usize,
}

impl<'a> Block<'a> {
    #[inline(always)]
    fn row(&self, r: usize) -> &'a [f32] {
        &self.x[r * self.c + self.j0..][..self.w]
    }

    /// Asks for the cache lines of row r + PREFETCH_ROWS (if any) ahead of use: a first pass down
    /// a strip reads one piece every c·4 bytes, a pattern the hardware prefetcher does not
    /// follow, so inside a training step (x out of cache) each row would wait on DRAM.
    #[inline(always)]
    fn prefetch_ahead(&self, r: usize) {
        let r = r + PREFETCH_ROWS;
        if r < self.x.len() / self.c.max(1) {
            let p = self.x[r * self.c + self.j0..].as_ptr() as *const i8;
            let bytes = self.w * 4;
            let mut o = 0;
            while o < bytes + 63 {
                crate::cpu::prefetch(p.wrapping_add(o.min(bytes - 1)));
                o += 64;
            }
        }
    }
}

/// How many rows ahead a first pass prefetches (~100 ns of DRAM latency, ~10 ns per row).
const PREFETCH_ROWS: usize = 24;

/// One pass over the rows in order, in f64: s[j] = Σ (x[r, j] − k[j]) and q[j] = Σ (x[r, j] − k[j])²
/// with k[j] = x[0, j]. Shifting by a value of the column keeps q − s²/n free of cancellation:
/// no value lies more than √(n − 1) standard deviations from the mean (Samuelson's inequality),
/// so the sums stay within a factor n of n·var and f64 leaves the f32 variance exact to rounding.
#[inline(always)]
fn column_moments(s: &mut [f64], q: &mut [f64], k: &[f64], xs: Block, n: usize) {
    let w = s.len();
    let (q, k) = (&mut q[..w], &k[..w]);
    for r in 0..n {
        xs.prefetch_ahead(r);
        let xr = &xs.row(r)[..w];
        for j in 0..w {
            let d = xr[j] as f64 - k[j];
            s[j] += d;
            q[j] = d.mul_add(d, q[j]);
        }
    }
}

// The row loops take their outputs as `&mut` arguments: those are known not to alias the inputs,
// which lets LLVM vectorise without run-time overlap checks.

/// out = γ·((x − mean)·invstd) + β, in f32, for one row of a block.
#[inline(always)]
fn affine_row(out: &mut [f32], x: &[f32], mean: &[f32], invstd: &[f32], g: &[f32], b: &[f32]) {
    let w = out.len();
    let (x, mean, invstd, g, b) = (&x[..w], &mean[..w], &invstd[..w], &g[..w], &b[..w]);
    for j in 0..w {
        out[j] = g[j] * ((x[j] - mean[j]) * invstd[j]) + b[j];
    }
}

/// Σ dy and Σ dy·(x − mean) per column over rows in order, in f64 (x − mean of two f32 is exact
/// in f64 but for extreme ranges; invstd scales the second sum once per column afterwards).
#[inline(always)]
fn grad_sums(sdy: &mut [f64], sdyd: &mut [f64], mean: &[f64], xs: Block, dys: Block, n: usize) {
    let w = sdy.len();
    let (sdyd, mean) = (&mut sdyd[..w], &mean[..w]);
    for r in 0..n {
        xs.prefetch_ahead(r);
        dys.prefetch_ahead(r);
        let (xr, gr) = (&xs.row(r)[..w], &dys.row(r)[..w]);
        for j in 0..w {
            let g = gr[j] as f64;
            sdy[j] += g;
            sdyd[j] = g.mul_add(xr[j] as f64 - mean[j], sdyd[j]);
        }
    }
}

/// dx for one row of a block: k·(n·dy − Σdy − bessel·x̂·Σdy·x̂) with k = γ·invstd / n, which is
/// a·dy + b·(x − mean) + c per column (a = k·n, b = −k·bessel·invstd·Σdy·x̂, c = −k·Σdy), in f64.
#[inline(always)]
fn dx_row(d: &mut [f32], x: &[f32], dy: &[f32], mean: &[f64], a: &[f64], b: &[f64], c: &[f64]) {
    let w = d.len();
    let (x, dy, mean, a, b, c) = (&x[..w], &dy[..w], &mean[..w], &a[..w], &b[..w], &c[..w]);
    for j in 0..w {
        d[j] = a[j].mul_add(dy[j] as f64, b[j].mul_add(x[j] as f64 - mean[j], c[j])) as f32;
    }
}

/// The arguments of `forward` that every block shares.
#[derive(Clone, Copy)]
struct ForwardArgs<'a> {
    x: &'a [f32],
    n: usize,
    c: usize,
    gamma: Option<&'a [f32]>,
    beta: Option<&'a [f32]>,
    eps: f32,
    correction: usize,
    training: bool,
    out: pool::SendPtr<f32>,
}

/// Columns j0..j0 + w of the forward; W = w when the width is a compile-time constant, else 0.
#[inline(always)]
fn forward_block<const W: usize>(w: usize, a: ForwardArgs, j0: usize, mean: &mut [f32], var: &mut [f32], invstd: &mut [f32]) {
    let w = if W > 0 { W } else { w };
    let (n, xs) = (a.n, Block { x: a.x, c: a.c, j0, w });
    let (mean, var, invstd) = (&mut mean[..w], &mut var[..w], &mut invstd[..w]);
    if a.training {
        let (mut s, mut q, mut k) = ([0f64; BLOCK], [0f64; BLOCK], [0f64; BLOCK]);
        let (s, q, k) = (&mut s[..w], &mut q[..w], &mut k[..w]);
        if n > 0 {
            for (k, &v) in k.iter_mut().zip(xs.row(0)) {
                // An infinite shift would turn its own row into NaN (inf − inf): no shift then.
                *k = if v.is_finite() { v as f64 } else { 0.0 };
            }
        }
        column_moments(s, q, k, xs, n);
        let (nf, dof) = (n as f64, (n - a.correction) as f64);
        for j in 0..w {
            mean[j] = (k[j] + s[j] / nf) as f32;
            // Rounding could leave q a hair below s²/n when all values are (nearly) equal; a
            // compare, not f64::max, so that NaN stays NaN.
            let m2 = q[j] - s[j] * s[j] / nf;
            var[j] = ((if m2 < 0.0 { 0.0 } else { m2 }) / dof) as f32;
        }
    }
    for j in 0..w {
        invstd[j] = (1.0 / (var[j] as f64 + a.eps as f64).sqrt()) as f32;
    }
    // γ (or 1s) and β (or 0s): the defaults take part in the same arithmetic as given values
    // would (1·x̂ + 0 turns −0 into +0, as the formula says).
    let (mut g, mut b) = ([1f32; BLOCK], [0f32; BLOCK]);
    let (g, b) = (&mut g[..w], &mut b[..w]);
    if let Some(v) = a.gamma {
        g.copy_from_slice(&v[j0..j0 + w]);
    }
    if let Some(v) = a.beta {
        b.copy_from_slice(&v[j0..j0 + w]);
    }
    for r in 0..n {
        // SAFETY: row r, columns j0..j0 + w of out belong to this block alone (in bounds).
        let orow = unsafe { std::slice::from_raw_parts_mut(a.out.get().add(r * a.c + j0), w) };
        affine_row(orow, xs.row(r), mean, invstd, g, b);
    }
}

/// See backend.ts `batchNormForward`. Training needs n > correction (the caller checks it):
/// otherwise the variance divides by zero. With no columns (c = 0) no block runs, so nothing
/// divides and any n is accepted, as the node-side validation and the reference backend accept it.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    x: &[f32], n: usize, c: usize, gamma: Option<&[f32]>, beta: Option<&[f32]>,
    eps: f32, correction: usize, training: bool,
    out: &mut [f32], mean: &mut [f32], var: &mut [f32], invstd: &mut [f32],
) {
    assert_eq!(x.len(), n * c, "batchNormForward: x length");
    assert_eq!(out.len(), n * c, "batchNormForward: out length");
    assert!(mean.len() == c && var.len() == c && invstd.len() == c, "batchNormForward: stats length");
    assert!(gamma.is_none_or(|g| g.len() == c) && beta.is_none_or(|b| b.len() == c), "batchNormForward: affine length");
    assert!(!training || n > correction || c == 0, "batchNormForward: n must exceed correction in training");
    let args = ForwardArgs { x, n, c, gamma, beta, eps, correction, training, out: pool::SendPtr(out.as_mut_ptr()) };
    let (mp, vp, ip) = (pool::SendPtr(mean.as_mut_ptr()), pool::SendPtr(var.as_mut_ptr()), pool::SendPtr(invstd.as_mut_ptr()));
    for_column_blocks(c, (n * c) as f64 * FORWARD_NS, move |j0, j1| {
        let w = j1 - j0;
        // SAFETY: this block alone touches columns j0..j1 of mean/var/invstd (all in bounds).
        let (mean, var, invstd) = unsafe {
            (
                std::slice::from_raw_parts_mut(mp.get().add(j0), w),
                std::slice::from_raw_parts_mut(vp.get().add(j0), w),
                std::slice::from_raw_parts_mut(ip.get().add(j0), w),
            )
        };
        at_width!(w, forward_block(args, j0, mean, var, invstd));
    });
}

/// The arguments of `backward` that every block shares.
#[derive(Clone, Copy)]
struct BackwardArgs<'a> {
    x: &'a [f32],
    dy: &'a [f32],
    n: usize,
    c: usize,
    mean: &'a [f32],
    invstd: &'a [f32],
    gamma: Option<&'a [f32]>,
    correction: usize,
    dx: Option<pool::SendPtr<f32>>,
    dgamma: Option<pool::SendPtr<f32>>,
    dbeta: Option<pool::SendPtr<f32>>,
}

/// Columns j0..j0 + w of the backward; W = w when the width is a compile-time constant, else 0.
#[inline(always)]
fn backward_block<const W: usize>(w: usize, a: BackwardArgs, j0: usize) {
    let w = if W > 0 { W } else { w };
    let n = a.n;
    let (xs, dys) = (Block { x: a.x, c: a.c, j0, w }, Block { x: a.dy, c: a.c, j0, w });
    let (mut mf, mut sdy, mut sdyd) = ([0f64; BLOCK], [0f64; BLOCK], [0f64; BLOCK]);
    let (mf, sdy, sdyd) = (&mut mf[..w], &mut sdy[..w], &mut sdyd[..w]);
    let (mb, ib) = (&a.mean[j0..][..w], &a.invstd[j0..][..w]);
    for j in 0..w {
        mf[j] = mb[j] as f64;
    }
    grad_sums(sdy, sdyd, mf, xs, dys, n);
    // Σ dy·x̂ = invstd·Σ dy·(x − mean).
    let mut sdyx = [0f64; BLOCK];
    let sdyx = &mut sdyx[..w];
    for j in 0..w {
        sdyx[j] = sdyd[j] * ib[j] as f64;
    }
    // SAFETY (all three): this block alone writes columns j0..j0 + w (in bounds by the asserts).
    if let Some(p) = a.dgamma {
        let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(j0), w) };
        d.iter_mut().zip(&*sdyx).for_each(|(d, &v)| *d = v as f32);
    }
    if let Some(p) = a.dbeta {
        let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(j0), w) };
        d.iter_mut().zip(&*sdy).for_each(|(d, &v)| *d = v as f32);
    }
    if let Some(p) = a.dx {
        let nf = n as f64;
        let bessel = nf / (n - a.correction) as f64;
        // The per-column factors of dx = a·dy + b·(x − mean) + c, evaluated once per column.
        let (mut ka, mut kb, mut kc) = ([0f64; BLOCK], [0f64; BLOCK], [0f64; BLOCK]);
        let (ka, kb, kc) = (&mut ka[..w], &mut kb[..w], &mut kc[..w]);
        for j in 0..w {
            let is = ib[j] as f64;
            let k = a.gamma.map_or(1.0, |g| g[j0 + j] as f64) * is / nf;
            ka[j] = k * nf;
            kb[j] = -(k * bessel * sdyx[j] * is);
            kc[j] = -(k * sdy[j]);
        }
        for r in 0..n {
            let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(r * a.c + j0), w) };
            dx_row(d, xs.row(r), dys.row(r), mf, ka, kb, kc);
        }
    }
}

/// See backend.ts `batchNormBackward` (the closed form of training-mode forward).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32], dy: &[f32], n: usize, c: usize, mean: &[f32], invstd: &[f32],
    gamma: Option<&[f32]>, correction: usize,
    dx: Option<&mut [f32]>, dgamma: Option<&mut [f32]>, dbeta: Option<&mut [f32]>,
) {
    assert!(x.len() == n * c && dy.len() == n * c, "batchNormBackward: x/dy length");
    assert!(mean.len() == c && invstd.len() == c, "batchNormBackward: stats length");
    assert!(gamma.is_none_or(|g| g.len() == c), "batchNormBackward: gamma length");
    assert!(dx.as_ref().is_none_or(|d| d.len() == n * c), "batchNormBackward: dx length");
    assert!(dgamma.as_ref().is_none_or(|d| d.len() == c) && dbeta.as_ref().is_none_or(|d| d.len() == c), "batchNormBackward: dgamma/dbeta length");
    // No columns: no block runs, so no dx element divides by n - correction.
    assert!(n > correction || dx.is_none() || c == 0, "batchNormBackward: n must exceed correction");
    let args = BackwardArgs {
        x, dy, n, c, mean, invstd, gamma, correction,
        dx: dx.map(|d| pool::SendPtr(d.as_mut_ptr())),
        dgamma: dgamma.map(|d| pool::SendPtr(d.as_mut_ptr())),
        dbeta: dbeta.map(|d| pool::SendPtr(d.as_mut_ptr())),
    };
    for_column_blocks(c, (n * c) as f64 * BACKWARD_NS, move |j0, j1| at_width!(j1 - j0, backward_block(args, j0)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng, THREAD_LOCK};

    #[test]
    fn forward_matches_naive_and_eval_uses_given_stats() {
        let mut rng = Rng::new(60);
        for &(n, c) in &[(2usize, 1usize), (32, 200), (5, 7), (17, 65), (3, 129)] {
            let x: Vec<f32> = rng.vec(n * c).iter().map(|v| v * 3.0 + 1.0).collect();
            let g = rng.vec(c);
            let b = rng.vec(c);
            for corr in [0usize, 1] {
                let (mut out, mut m, mut v, mut is) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c], vec![0f32; c]);
                forward(&x, n, c, Some(&g), Some(&b), 1e-5, corr, true, &mut out, &mut m, &mut v, &mut is);
                let mut want_out = vec![0f64; n * c];
                for j in 0..c {
                    let col: Vec<f64> = (0..n).map(|r| x[r * c + j] as f64).collect();
                    let mu = col.iter().sum::<f64>() / n as f64;
                    let var = col.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - corr) as f64;
                    assert!((m[j] as f64 - mu).abs() < 1e-5 && (v[j] as f64 - var).abs() < 1e-4 * (1.0 + var));
                    let isd = 1.0 / (var + 1e-5).sqrt();
                    for r in 0..n {
                        want_out[r * c + j] = g[j] as f64 * (col[r] - mu) * isd + b[j] as f64;
                    }
                }
                assert_close(&out, &want_out, 1e-4, 1e-5, "bn forward");
                // Eval: stats are inputs and stay unchanged; no affine.
                let (m0, v0) = (m.clone(), v.clone());
                forward(&x, n, c, None, None, 1e-5, corr, false, &mut out, &mut m, &mut v, &mut is);
                assert_eq!((m0, v0), (m.clone(), v.clone()));
                let want: Vec<f64> = (0..n * c).map(|i| (x[i] as f64 - m[i % c] as f64) / (v[i % c] as f64 + 1e-5).sqrt()).collect();
                assert_close(&out, &want, 1e-4, 1e-5, "bn eval");
            }
        }
    }

    /// The closed form against the backward of the composed forward, by finite differences in f64.
    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(61);
        let (n, c) = (6usize, 3usize);
        let x: Vec<f32> = rng.vec(n * c);
        let g = rng.vec(c);
        let w = rng.vec(n * c); // loss = Σ w·out
        for corr in [0usize, 1] {
            let loss = |xs: &[f64], gs: &[f64]| -> f64 {
                let mut l = 0.0;
                for j in 0..c {
                    let mu = (0..n).map(|r| xs[r * c + j]).sum::<f64>() / n as f64;
                    let var = (0..n).map(|r| (xs[r * c + j] - mu).powi(2)).sum::<f64>() / (n - corr) as f64;
                    for r in 0..n {
                        l += w[r * c + j] as f64 * gs[j] * (xs[r * c + j] - mu) / (var + 1e-5).sqrt();
                    }
                }
                l
            };
            let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let gs: Vec<f64> = g.iter().map(|&v| v as f64).collect();
            let h = 1e-6;
            let mut want_dx = vec![];
            for i in 0..n * c {
                let (mut p, mut q) = (xs.clone(), xs.clone());
                p[i] += h;
                q[i] -= h;
                want_dx.push((loss(&p, &gs) - loss(&q, &gs)) / (2.0 * h));
            }
            let (mut out, mut m, mut v, mut is) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c], vec![0f32; c]);
            forward(&x, n, c, Some(&g), None, 1e-5, corr, true, &mut out, &mut m, &mut v, &mut is);
            let (mut dx, mut dg, mut db) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c]);
            backward(&x, &w, n, c, &m, &is, Some(&g), corr, Some(&mut dx), Some(&mut dg), Some(&mut db));
            assert_close(&dx, &want_dx, 1e-3, 1e-4, &format!("dx corr={corr}"));
            for j in 0..c {
                let want_db: f64 = (0..n).map(|r| w[r * c + j] as f64).sum();
                assert!((db[j] as f64 - want_db).abs() < 1e-5);
                let (mut p, mut q) = (gs.clone(), gs.clone());
                p[j] += h;
                q[j] -= h;
                let want_dg = (loss(&xs, &p) - loss(&xs, &q)) / (2.0 * h);
                assert!((dg[j] as f64 - want_dg).abs() < 1e-3 * (1.0 + want_dg.abs()), "dgamma {j}");
            }
        }
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
    }

    /// The SIMD kernels against the scalar code they replaced (reference.rs): the same bits on every
    /// path, at odd widths, with and without the affine parameters and optional gradients, and
    /// with 1 and 2 threads (the large shapes are above the parallel threshold).
    #[test]
    fn same_bits_as_the_scalar_reference() {
        let mut rng = Rng::new(63);
        let shapes: &[(usize, usize)] = &[
            (2, 1), (3, 7), (5, 8), (2, 9), (32, 15), (7, 16), (4, 17), (9, 31), (33, 33), (2, 63),
            (17, 64), (5, 65), (32, 100), (6, 127), (3, 129), (32, 200), (11, 257), (1024, 200), (900, 777),
        ];
        let cases: Vec<_> = shapes
            .iter()
            .map(|&(n, c)| {
                let x: Vec<f32> = rng.vec(n * c).iter().enumerate().map(|(i, v)| if i % 97 == 5 { -0.0 } else { v * 3.0 + 0.5 }).collect();
                (n, c, x, rng.vec(n * c), rng.vec(c), rng.vec(c))
            })
            .collect();
        crate::cpu::for_each_path(|path| {
            for threads in [1usize, 2] {
                crate::pool::set_num_threads(threads).unwrap();
                for (n, c, x, dy, g, b) in &cases {
                    let (n, c) = (*n, *c);
                    for (gi, corr, training) in [(0, 1, true), (1, 0, true), (2, 1, true), (3, 1, false), (0, 0, false)] {
                        let gamma = [Some(&g[..]), None, Some(&g[..]), None][gi];
                        let beta = [Some(&b[..]), None, None, Some(&b[..])][gi];
                        let what = format!("{path} {threads} thread(s) [{n}, {c}] case {gi} corr {corr} training {training}");
                        let run = |f: &dyn Fn(&mut [f32], &mut [f32], &mut [f32], &mut [f32])| {
                            let (mut out, mut m, mut v, mut is) = (vec![0f32; n * c], b.clone(), g.iter().map(|v| v.abs()).collect::<Vec<_>>(), vec![0f32; c]);
                            f(&mut out, &mut m, &mut v, &mut is);
                            (out, m, v, is)
                        };
                        let got = run(&|o, m, v, is| forward(x, n, c, gamma, beta, 1e-5, corr, training, o, m, v, is));
                        let want = run(&|o, m, v, is| crate::reference::batchnorm_forward(x, n, c, gamma, beta, 1e-5, corr, training, o, m, v, is));
                        assert!(same_bits(&got.0, &want.0) && same_bits(&got.1, &want.1), "forward out/mean {what}");
                        assert!(same_bits(&got.2, &want.2) && same_bits(&got.3, &want.3), "forward var/invstd {what}");
                        let (m, is) = (&want.1, &want.3);
                        let grads = |f: &dyn Fn(Option<&mut [f32]>, Option<&mut [f32]>, Option<&mut [f32]>)| {
                            let (mut dx, mut dg, mut db) = (vec![7f32; n * c], vec![7f32; c], vec![7f32; c]);
                            let all = gi != 3;
                            f(Some(&mut dx), if all { Some(&mut dg) } else { None }, if gi != 2 { Some(&mut db) } else { None });
                            (dx, dg, db)
                        };
                        let got = grads(&|dx, dg, db| backward(x, dy, n, c, m, is, gamma, corr, dx, dg, db));
                        let want = grads(&|dx, dg, db| crate::reference::batchnorm_backward(x, dy, n, c, m, is, gamma, corr, dx, dg, db));
                        assert!(same_bits(&got.0, &want.0) && same_bits(&got.1, &want.1) && same_bits(&got.2, &want.2), "backward {what}");
                    }
                }
            }
        });
    }

    #[test]
    fn same_bits_with_one_or_two_threads() {
        let _g = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(62);
        let (n, c) = (1000, 700);
        let x = rng.vec(n * c);
        let dy = rng.vec(n * c);
        let run = |t: usize| {
            crate::pool::set_num_threads(t).unwrap();
            let (mut out, mut m, mut v, mut is) = (vec![0f32; n * c], vec![0f32; c], vec![0f32; c], vec![0f32; c]);
            forward(&x, n, c, None, None, 1e-5, 1, true, &mut out, &mut m, &mut v, &mut is);
            let mut dx = vec![0f32; n * c];
            backward(&x, &dy, n, c, &m, &is, None, 1, Some(&mut dx), None, None);
            (out, dx)
        };
        let (a, b) = (run(1), run(2));
        assert!(a.0.iter().zip(&b.0).all(|(p, q)| p.to_bits() == q.to_bits()));
        assert!(a.1.iter().zip(&b.1).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}
