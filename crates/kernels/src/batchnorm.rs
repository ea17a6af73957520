//! Batch normalisation of x [n, c] over rows, per column, and its closed-form backward.
//! Column statistics are accumulated in f64, row by row in index order; threads split columns.

use crate::pool;

/// Columns per parallel task.
const COLS: usize = 64;

fn for_column_blocks(c: usize, est: f64, f: impl Fn(usize, usize) + Send + Sync) {
    pool::for_each_index(c.div_ceil(COLS), est, |b| f(b * COLS, ((b + 1) * COLS).min(c)));
}

/// See backend.ts `batchNormForward`. Training needs n > correction (the caller checks it):
/// otherwise the variance divides by zero.
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
    assert!(!training || n > correction, "batchNormForward: n must exceed correction in training");
    let (op, mp, vp, ip) = (
        pool::SendPtr(out.as_mut_ptr()),
        pool::SendPtr(mean.as_mut_ptr()),
        pool::SendPtr(var.as_mut_ptr()),
        pool::SendPtr(invstd.as_mut_ptr()),
    );
    for_column_blocks(c, (n * c) as f64 * 2.0, move |j0, j1| {
        let w = j1 - j0;
        // SAFETY: this task alone touches columns j0..j1 of out/mean/var/invstd (all in bounds).
        let (mean, var, invstd) = unsafe {
            (
                std::slice::from_raw_parts_mut(mp.get().add(j0), w),
                std::slice::from_raw_parts_mut(vp.get().add(j0), w),
                std::slice::from_raw_parts_mut(ip.get().add(j0), w),
            )
        };
        if training {
            let mut s = vec![0f64; w];
            for r in 0..n {
                for (a, &v) in s.iter_mut().zip(&x[r * c + j0..][..w]) {
                    *a += v as f64;
                }
            }
            let mu: Vec<f64> = s.iter().map(|&v| v / n as f64).collect();
            let mut q = vec![0f64; w];
            for r in 0..n {
                for ((a, &v), &m) in q.iter_mut().zip(&x[r * c + j0..][..w]).zip(&mu) {
                    let d = v as f64 - m;
                    *a += d * d;
                }
            }
            for j in 0..w {
                mean[j] = mu[j] as f32;
                var[j] = (q[j] / (n - correction) as f64) as f32;
            }
        }
        for j in 0..w {
            invstd[j] = (1.0 / (var[j] as f64 + eps as f64).sqrt()) as f32;
        }
        for r in 0..n {
            // SAFETY: row r, columns j0..j1 of out belong to this task.
            let orow = unsafe { std::slice::from_raw_parts_mut(op.get().add(r * c + j0), w) };
            let xrow = &x[r * c + j0..][..w];
            for j in 0..w {
                let xhat = (xrow[j] - mean[j]) * invstd[j];
                let g = gamma.map_or(1.0, |g| g[j0 + j]);
                let b = beta.map_or(0.0, |b| b[j0 + j]);
                orow[j] = g * xhat + b;
            }
        }
    });
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
    assert!(n > correction || dx.is_none(), "batchNormBackward: n must exceed correction");
    let dxp = dx.map(|d| pool::SendPtr(d.as_mut_ptr()));
    let dgp = dgamma.map(|d| pool::SendPtr(d.as_mut_ptr()));
    let dbp = dbeta.map(|d| pool::SendPtr(d.as_mut_ptr()));
    for_column_blocks(c, (n * c) as f64 * 3.0, move |j0, j1| {
        let w = j1 - j0;
        let mut sdy = vec![0f64; w];
        let mut sdyx = vec![0f64; w];
        for r in 0..n {
            let (xr, gr) = (&x[r * c + j0..][..w], &dy[r * c + j0..][..w]);
            for j in 0..w {
                let xhat = (xr[j] as f64 - mean[j0 + j] as f64) * invstd[j0 + j] as f64;
                sdy[j] += gr[j] as f64;
                sdyx[j] += gr[j] as f64 * xhat;
            }
        }
        // SAFETY (all three): this task alone writes columns j0..j1 (in bounds by the asserts).
        if let Some(p) = dgp {
            let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(j0), w) };
            d.iter_mut().zip(&sdyx).for_each(|(d, &v)| *d = v as f32);
        }
        if let Some(p) = dbp {
            let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(j0), w) };
            d.iter_mut().zip(&sdy).for_each(|(d, &v)| *d = v as f32);
        }
        if let Some(p) = dxp {
            let nf = n as f64;
            let bessel = nf / (n - correction) as f64;
            for r in 0..n {
                let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(r * c + j0), w) };
                let (xr, gr) = (&x[r * c + j0..][..w], &dy[r * c + j0..][..w]);
                for j in 0..w {
                    let is = invstd[j0 + j] as f64;
                    let g = gamma.map_or(1.0, |g| g[j0 + j] as f64);
                    let xhat = (xr[j] as f64 - mean[j0 + j] as f64) * is;
                    d[j] = (g * is / nf * (nf * gr[j] as f64 - sdy[j] - bessel * xhat * sdyx[j])) as f32;
                }
            }
        }
    });
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
