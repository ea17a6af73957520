//! Batched matrix product: out[b] = beta·out[b] + op(A[b]) @ op(B[b]), row-major, beta ∈ {0, 1}.
//!
//! Four paths, chosen by shape only (never by thread count, so the bits never depend on it):
//! - `Bcast`: hand-written kernel that broadcasts A elements against rows of B, in AVX-512 or,
//!   on machines without it, AVX2+FMA (the same FMA chain per output from +0, so the same bits
//!   on both kinds of machine); no packing, so it wins for the lecture shapes (batch 32 to 1024)
//!   where gemm's packing and dispatch dominate.
//!   Handles transA through A's strides; transB by computing Cᵀ = B·Aᵀ and transposing the
//!   output when that moves fewer elements than B (dX = dH·Wᵀ at a small batch), else by
//!   transposing B into a scratch (per 64-column panel when the columns are split).
//! - `Dot`: hand-written AVX-512 kernel of row·row dot products for transB (dY·Wᵀ), reading both
//!   operands along their contiguous k axis; for long-k narrow products whose Bᵀ is too large
//!   to transpose into scratch for `Bcast`.
//! - `Sgemm`: our packed, cache-blocked AVX-512 kernel (sgemm.rs) for the large products (above
//!   SGEMM_MIN_MNK = 512³) with A not transposed: the same FMA chain per output as `Bcast`, so the same
//!   bits.
//! - `Gemm`: the `gemm` crate (packed, cache-blocked) for the rest (large products with A
//!   transposed, mid-sized transposed-B products; on AVX2 machines every product above
//!   BCAST_MAX_MNK) and for machines without AVX2+FMA. Its sums are blocked differently, so its
//!   bits are its own.
//!
//! Measured GFLOP/s for each path and shape: `cargo bench -p ferrograd-kernels --bench matmul`.
//! Transposed operands are read through strides, except a transposed B on the `Bcast` path
//! (as above, through a reused per-thread scratch of at most 256 KB).

use crate::{cpu, pool};
use gemm::Parallelism;

/// Work (m·n·k) above which the hand-written kernels lose to gemm's packed kernels (measured with
/// `cargo bench -p ferrograd-kernels --bench matmul`). The broadcast kernel is as fast as gemm up to
/// about 384³ on one thread (243 against 238 GFLOP/s) and 7-35% faster on the batch-1024 lecture
/// products (e.g. dW1 = Xᵀ·dH, 30x1024 @ 1024x200: 57 against 77 µs); the bound keeps a margin.
const BCAST_MAX_MNK: usize = 1 << 24;
const DOT_MAX_MNK: usize = 1 << 20;
/// Work above which our packed kernel (`Sgemm`) beats gemm: 1024³ 215-219 against 199-209 GFLOP/s
/// and 768³ 190-206 against 180-197, but 512³ 190-206 against gemm's 195-224 (thread CPU time,
/// best of 30 calls, load 4; `crates/kernels/src/sgemm.rs`).
const SGEMM_MIN_MNK: usize = 1 << 27;
/// Largest transposed B (k·n elements) the broadcast path transposes into scratch: 256 KB, so the
/// copy stays in L2 (e.g. dH = dL·W2ᵀ at batch 32: 32x27 @ 27x200, where gemm took 3.2 µs, the
/// copy plus the broadcast kernel about 2).
const BCAST_PACK_MAX: usize = 64 * 1024;
/// Outputs smaller than this (m·n) are computed by gemm on one thread (see `single`).
const GEMM_SPLIT_MIN_OUT: usize = 128 * 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Bcast,
    Dot,
    /// Our packed AVX-512 kernel (sgemm.rs), for the products above SGEMM_MIN_MNK.
    Sgemm,
    Gemm,
}

/// The kernel used for one m×k @ k×n product.
pub fn choose_path(m: usize, k: usize, n: usize, trans_a: bool, trans_b: bool) -> Path {
    let level = cpu::level();
    if level == cpu::Level::Scalar {
        return Path::Gemm;
    }
    let mnk = m.saturating_mul(n).saturating_mul(k);
    if mnk <= BCAST_MAX_MNK && (!trans_b || k.saturating_mul(n) <= BCAST_PACK_MAX) {
        // A transposed B is first transposed into a k×n scratch (see `pack_transposed`); with it
        // the broadcast kernel also beats the dot kernel on dX = dH·W1ᵀ (32x200 @ 200x30:
        // 2.4 against 2.8 µs).
        Path::Bcast
    } else if level != cpu::Level::Avx512 {
        // The dot and packed kernels are AVX-512 only.
        Path::Gemm
    } else if trans_b && !trans_a && mnk <= DOT_MAX_MNK && k >= 64 && n <= 64 {
        // The dot kernel pays a horizontal sum per output: it only wins when k is long and the
        // product narrow, here a transposed B too large to transpose into scratch.
        Path::Dot
    } else if mnk > SGEMM_MIN_MNK && !trans_a {
        // A stored transposed puts each k step of a strip on another cache line (1024³ Aᵀ: 150
        // against gemm's 180 GFLOP/s), so gemm, which packs A, keeps those.
        Path::Sgemm
    } else {
        Path::Gemm
    }
}

/// Estimated single-thread time in ns (for the parallel threshold).
/// Calibrated so a second thread is used from about 8 MFLOP per product: below that, the rayon
/// round trip (measured 5-14 µs on the shared 2-core machines) eats the gain.
fn est_ns(m: usize, k: usize, n: usize) -> f64 {
    2.0 * m as f64 * k as f64 * n as f64 / 200.0
}

/// See the module docs. `a[a_off + b·a_bs ..]` holds A[b] (m×k, or k×m with `trans_a`); likewise
/// B[b] (k×n, or n×k with `trans_b`); out[b] is the contiguous m×n block at b·m·n.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &[f32], a_off: usize, a_bs: usize, trans_a: bool,
    b: &[f32], b_off: usize, b_bs: usize, trans_b: bool,
    out: &mut [f32], batch: usize, m: usize, k: usize, n: usize, accumulate: bool,
) {
    let mn = m * n;
    assert_eq!(out.len(), batch * mn, "matmul: out length");
    if batch == 0 || mn == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    assert!(a_off + (batch - 1) * a_bs + m * k <= a.len(), "matmul: A out of bounds");
    assert!(b_off + (batch - 1) * b_bs + k * n <= b.len(), "matmul: B out of bounds");

    let per = est_ns(m, k, n);
    let path = choose_path(m, k, n, trans_a, trans_b);
    // Many small products: one task per matrix. Otherwise: one product at a time, split inside.
    if batch > 1 && per < pool::PAR_MIN_NS {
        pool::for_each_chunk(out, mn, per * batch as f64, |bi, c| {
            let a_b = &a[a_off + bi * a_bs..][..m * k];
            let b_b = &b[b_off + bi * b_bs..][..k * n];
            single(path, a_b, trans_a, b_b, trans_b, c, m, k, n, accumulate, false);
        });
    } else {
        for (bi, c) in out.chunks_mut(mn).enumerate() {
            let a_b = &a[a_off + bi * a_bs..][..m * k];
            let b_b = &b[b_off + bi * b_bs..][..k * n];
            single(path, a_b, trans_a, b_b, trans_b, c, m, k, n, accumulate, true);
        }
    }
}

/// One product with k ≥ 1, m·n ≥ 1; `a`, `b` and `c` have exactly m·k, k·n and m·n elements.
#[allow(clippy::too_many_arguments)]
fn single(
    path: Path, a: &[f32], trans_a: bool, b: &[f32], trans_b: bool, c: &mut [f32],
    m: usize, k: usize, n: usize, accumulate: bool, may_split: bool,
) {
    let (a_rs, a_cs) = if trans_a { (1, m) } else { (k, 1) };
    let est = if may_split { est_ns(m, k, n) } else { 0.0 };
    // Parallel tasks own blocks of output columns when n is wide (each thread then reads only
    // its slice of B, which stays in its own cache), else blocks of rows.
    let by_cols = n >= 128;
    match path {
        #[cfg(target_arch = "x86_64")]
        Path::Bcast if trans_b && !accumulate && transposed_via_output(m, k, n, trans_a) => {
            // C = A·Bᵀ with B stored n×k and A the smaller operand (dX = dH·Wᵀ at batch 32):
            // compute Cᵀ = B·Aᵀ (B's rows broadcast, Aᵀ packed k×m) and transpose Cᵀ into C.
            // That transposes m·k + m·n elements instead of B's k·n, and every output is the
            // same FMA chain over p as on the other paths (a·b = b·a exactly). (A stored
            // transposed is Aᵀ already.)
            let packed = if trans_a { 0 } else { k * m };
            with_scratch(&WHOLE_SCRATCH, packed + n * m, |s| {
                let (at, ct) = s.split_at_mut(packed);
                // SAFETY: avx512f was detected (choose_path); at holds k·m (when packed), ct n·m
                // and c m·n elements.
                unsafe {
                    if !trans_a {
                        wide::pack_transposed(a.as_ptr(), m, k, at.as_mut_ptr());
                    }
                    single(path, b, false, if trans_a { a } else { at }, false, ct, n, k, m, false, may_split);
                    wide::pack_transposed(ct.as_ptr(), n, m, c.as_mut_ptr());
                }
            });
        }
        #[cfg(target_arch = "x86_64")]
        Path::Bcast if trans_b && !by_cols => {
            // B is stored n×k: transpose it once into a k×n scratch, then the plain kernel (the
            // row tasks all read the whole of B).
            with_scratch(&WHOLE_SCRATCH, k * n, |bt| {
                // SAFETY: avx512f was detected (choose_path); bt holds k·n elements.
                unsafe { wide::pack_transposed(b.as_ptr(), n, k, bt.as_mut_ptr()) };
                single(path, a, trans_a, bt, false, c, m, k, n, accumulate, may_split);
            });
        }
        Path::Bcast | Path::Dot => {
            // Every output element is computed by the same instruction sequence on any thread
            // and in any tiling (one FMA chain over p from zero, then the optional add of C).
            // Tasks get near-equal shares of whole tiles (16-column vectors, 6-row strips), so two
            // threads finish together (n = 200 was split 128 + 72 columns).
            // A product too small to split (decided by shape, as everywhere here) is one task, so
            // its tiles ask for each other's output lines across column blocks: as four column
            // tasks on one thread, each task's first tiles stored into cold lines nobody had asked
            // for (into fresh memory, `cargo bench --bench matmul`'s "cold out": 32x30 @ 30x200
            // 2.13 -> 2.02 µs, 200x32 @ 32x27 2.37 -> 1.90).
            let (unit, len) = if by_cols { (16, n) } else { (BCAST_MR, m) };
            let units = len.div_ceil(unit);
            let tasks = if est < pool::PAR_MIN_NS { 1 } else if by_cols { units.div_ceil(4) } else { units.min(8) };
            let (ap, bp, cp) = (a.as_ptr() as usize, b.as_ptr() as usize, pool::SendPtr(c.as_mut_ptr()));
            let task = move |t: usize| {
                let lo = (t * units / tasks * unit).min(len);
                let hi = ((t + 1) * units / tasks * unit).min(len);
                let (i0, i1, j0, j1) = if by_cols { (0, m, lo, hi) } else { (lo, hi, 0, n) };
                let (a, b, c) = (ap as *const f32, bp as *const f32, cp.get());
                // SAFETY: avx512f was detected (choose_path). Rows i0..i1 of A, columns j0..j1 of
                // op(B) and the C block they produce are in bounds (slice lengths asserted by the
                // caller); tasks write disjoint C blocks; a panel scratch holds k·w elements.
                unsafe {
                    if path == Path::Bcast && trans_b {
                        // B is stored n×k (by_cols here): each 64-column panel of its transpose
                        // is written into a k×64 scratch just before its tiles read it, so the
                        // panel is still in L1 (a whole transposed copy of a 256x128 weight,
                        // 128 KB, went out to L2 between the copy and its use).
                        with_scratch(&PANEL_SCRATCH, k * PANEL.min(j1 - j0), |bt| {
                            let panels = wide::col_blocks(j1 - j0);
                            for q in 0..panels {
                                let (jq, w) = wide::col_block(j1 - j0, panels, q);
                                let jb = j0 + jq;
                                wide::pack_transposed(b.add(jb * k), w, k, bt.as_mut_ptr());
                                wide::bcast(m, w, k, a, a_rs, a_cs, bt.as_ptr(), w, c.add(jb), n, accumulate);
                            }
                        })
                    } else if path == Path::Bcast {
                        wide::bcast(i1 - i0, j1 - j0, k, a.add(i0 * a_rs), a_rs, a_cs, b.add(j0), n,
                            c.add(i0 * n + j0), n, accumulate)
                    } else {
                        avx512::dot(i1 - i0, j1 - j0, k, a.add(i0 * k), k, b.add(j0 * k), k,
                            c.add(i0 * n + j0), n, accumulate)
                    }
                }
            };
            pool::for_each_index(tasks, est, task);
        }
        #[cfg(target_arch = "x86_64")]
        Path::Sgemm => {
            let (b_rs, b_cs) = if trans_b { (1, k) } else { (n, 1) };
            // SAFETY: avx512f was detected (choose_path); the strides address exactly the m·k,
            // k·n and m·n slices, and c is disjoint from a and b (a &mut borrow).
            unsafe { crate::sgemm::sgemm(m, n, k, a.as_ptr(), a_rs, a_cs, b.as_ptr(), b_rs, b_cs, c.as_mut_ptr(), n, accumulate, est) }
        }
        _ => {
            let (b_rs, b_cs) = if trans_b { (1, k) } else { (n, 1) };
            // gemm splits the output into blocks; a small output over a long k (the weight
            // gradients at batch 1024: 30x1024 @ 1024x200, 200x1024 @ 1024x27) leaves the threads
            // too little to share and ran 1.3-2.5x slower on 2 threads than on one.
            let est = if m * n < GEMM_SPLIT_MIN_OUT { 0.0 } else { est };
            let par = pool::rayon_for(est).map(|p| (p.current_num_threads(), p));
            let cp = pool::SendPtr(c.as_mut_ptr());
            let run = move |parallelism| unsafe {
                // SAFETY: every index i·rs + j·cs stays inside the m·k, k·n and m·n slices.
                gemm::gemm(
                    m, n, k,
                    cp.get(), 1, n as isize, accumulate,
                    a.as_ptr(), a_cs as isize, a_rs as isize,
                    b.as_ptr(), b_cs as isize, b_rs as isize,
                    1.0f32, 1.0f32, false, false, false, parallelism,
                )
            };
            match par {
                Some((t, p)) => p.install(move || run(Parallelism::Rayon(t))),
                None => run(Parallelism::None),
            }
        }
    }
}

/// Whether a transposed-B product on the `Bcast` path computes Cᵀ = B·Aᵀ and transposes the
/// output (m·k + m·n elements moved) rather than transposing B (k·n): for a small m. Measured at
/// batch 32 (`cargo bench --bench matmul WaveNet`): dX = dH·Wᵀ, 32x128 @ 128x256, 12.1 → 9.5 µs.
fn transposed_via_output(m: usize, k: usize, n: usize, trans_a: bool) -> bool {
    let moved = if trans_a { m * n } else { m * k + m * n };
    moved < k * n
}

/// Columns of a transposed B packed at a time on the column-split `Bcast` path: one tile width.
const PANEL: usize = 64;

thread_local! {
    /// Reused scratch for transposed B (a whole one, or one panel per task): no allocation per
    /// product. Two keys, because the whole-B path runs panel-free kernels inside its borrow.
    static WHOLE_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    static PANEL_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` elements of this thread's scratch `key` (grown as needed, never shrunk; on
/// the paths `choose_path` picks at most BCAST_PACK_MAX elements, 256 KB). The contents are
/// stale: `f` writes before it reads.
fn with_scratch<R>(key: &'static std::thread::LocalKey<std::cell::RefCell<Vec<f32>>>, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    key.with(|cell| {
        let mut v = cell.borrow_mut();
        if v.len() < len {
            v.resize(len, 0.0);
        }
        f(&mut v[..len])
    })
}

/// Rows of A per register tile of the broadcast kernel (both widths).
const BCAST_MR: usize = 6;

/// How many tiles ahead `bcast_blocks` asks for the output's cache lines (see there).
const PREFETCH_TILES: usize = 2;

/// Asks for the cache lines of `rows` rows of `w` floats at `c` (row stride `c_rs`). A plain
/// prefetch: PREFETCHW (for writing) measured slower on this machine's AMD EPYC (1024x27 @
/// 27x200: 57 against 53 µs into cold memory).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn prefetch_rows(c: *const f32, rows: usize, c_rs: usize, w: usize) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for r in 0..rows {
        let row = c.add(r * c_rs);
        let mut j = 0;
        while j < w {
            _mm_prefetch::<_MM_HINT_T0>(row.add(j) as *const i8);
            j += 16;
        }
        _mm_prefetch::<_MM_HINT_T0>(row.add(w - 1) as *const i8);
    }
}

/// Column blocks of at most `nv` vectors of `lanes` floats that the broadcast kernel splits n
/// columns into.
fn col_blocks(n: usize, lanes: usize, nv: usize) -> usize {
    n.div_ceil(lanes).div_ceil(nv)
}

/// Block `blk` of `blocks` (first column, width): the vectors shared out evenly, so that no
/// block is a lone narrow one (n = 200 as 64+64+64+8 left an 8-column block of one-vector
/// tiles, 6 accumulators waiting on FMA latency; shared out it is 48+48+48+56).
#[inline(always)]
fn col_block(n: usize, blocks: usize, blk: usize, lanes: usize) -> (usize, usize) {
    let nvec = n.div_ceil(lanes);
    let j0 = lanes * (blk * nvec / blocks);
    let j1 = (lanes * ((blk + 1) * nvec / blocks)).min(n);
    (j0, j1 - j0)
}

/// The tiling of the broadcast kernel, shared by both vector widths: column blocks of at most
/// `nv` vectors of `lanes` floats, strips of BCAST_MR rows down each block, and
/// `tile(i0, rows, j0, width)` computing one tile (inlined into the width's kernel).
///
/// A tensor's output is fresh memory: the garbage collector frees storage in batches (every
/// 32 MB of new ArrayBuffers), so the lines of a new output are rarely in cache, and storing
/// a tile waited for each line to be read in first (1024x30 @ 30x200 into cold memory: 74
/// against 56 µs of CPU time). Asking for the lines of the tile PREFETCH_TILES ahead overlaps
/// those reads with the arithmetic (58 µs); in cache they cost nothing.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn bcast_blocks(
    m: usize, n: usize, c: *mut f32, c_rs: usize, lanes: usize, nv: usize,
    mut tile: impl FnMut(usize, usize, usize, usize),
) {
    let pf = PREFETCH_TILES;
    let strips = m.div_ceil(BCAST_MR);
    let blocks = col_blocks(n, lanes, nv);
    let tiles = strips * blocks;
    for blk in 0..blocks {
        let (j0, w) = col_block(n, blocks, blk, lanes);
        let mut i0 = 0;
        while i0 < m {
            let mr = (m - i0).min(BCAST_MR);
            // Tiles are written down a column block, then the next block: t = block·strips + strip.
            // The first tile also asks for its own lines and those of the tiles up to pf ahead.
            let cur = blk * strips + i0 / BCAST_MR;
            let from = if cur == 0 { 0 } else { cur + pf };
            for t in from..=(cur + pf).min(tiles - 1) {
                let r0 = (t % strips) * BCAST_MR;
                let tb = t / strips;
                let (jb, wb) = if tb == blk { (j0, w) } else { col_block(n, blocks, tb, lanes) };
                prefetch_rows(c.add(r0 * c_rs + jb), (m - r0).min(BCAST_MR), c_rs, wb);
            }
            tile(i0, mr, j0, w);
            i0 += mr;
        }
    }
}

/// The broadcast kernel and its transpose at this CPU's vector width: AVX-512 or AVX2+FMA. Both
/// compute every output as the same FMA chain over p from zero (then the optional add of C), so
/// a product has the same bits on either kind of machine.
#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{avx2, avx512};
    use crate::cpu;

    fn avx512() -> bool {
        cpu::level() == cpu::Level::Avx512
    }

    /// See `avx512::bcast`. Safety: the CPU has AVX2+FMA (any `Path::Bcast`), and the pointers
    /// address the m×k, k×n and m×n matrices.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn bcast(
        m: usize, n: usize, k: usize, a: *const f32, a_rs: usize, a_cs: usize,
        b: *const f32, b_rs: usize, c: *mut f32, c_rs: usize, accumulate: bool,
    ) {
        if avx512() {
            avx512::bcast(m, n, k, a, a_rs, a_cs, b, b_rs, c, c_rs, accumulate)
        } else {
            avx2::bcast(m, n, k, a, a_rs, a_cs, b, b_rs, c, c_rs, accumulate)
        }
    }

    /// See `avx512::pack_transposed` (same safety as `bcast`).
    pub unsafe fn pack_transposed(b: *const f32, n: usize, k: usize, bt: *mut f32) {
        if avx512() {
            avx512::pack_transposed(b, n, k, bt)
        } else {
            avx2::pack_transposed(b, n, k, bt)
        }
    }

    /// The column blocks `bcast` splits n columns into, and block `blk` of them.
    pub fn col_blocks(n: usize) -> usize {
        if avx512() { avx512::col_blocks(n) } else { avx2::col_blocks(n) }
    }

    pub fn col_block(n: usize, blocks: usize, blk: usize) -> (usize, usize) {
        super::col_block(n, blocks, blk, if avx512() { 16 } else { 8 })
    }
}

/// The broadcast kernel and the transpose for AVX2+FMA machines (16 registers of 8 floats): the
/// same loops as `avx512`'s, with tiles of 6 rows × 2 vectors (12 accumulators, 2 B vectors and a
/// broadcast A element: 15 of the 16 registers).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    const BCAST_NV: usize = 2;

    /// Lane mask (all bits set in lanes below `rem`) for AVX2's masked loads and stores.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn lane_mask(rem: usize) -> __m256i {
        _mm256_cmpgt_epi32(_mm256_set1_epi32(rem.min(8) as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }

    /// Stores the first `n` (below 8) lanes of v at p: 4, 2 and 1 at a time. AMD's Zen cores run
    /// the masked store VMASKMOVPS as microcode (some 80 cycles here: masking every store of the
    /// tiles made 32x30 @ 30x200 take 10.0 µs against 4.7).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn store_first(p: *mut f32, v: __m256, n: usize) {
        let (mut p, mut n) = (p, n);
        let mut lo = _mm256_castps256_ps128(v);
        if n >= 4 {
            _mm_storeu_ps(p, lo);
            lo = _mm256_extractf128_ps::<1>(v);
            (p, n) = (p.add(4), n - 4);
        }
        if n >= 2 {
            _mm_store_sd(p as *mut f64, _mm_castps_pd(lo));
            lo = _mm_movehl_ps(lo, lo);
            (p, n) = (p.add(2), n - 2);
        }
        if n >= 1 {
            _mm_store_ss(p, lo);
        }
    }

    /// One MR×(8·NV) register tile of C (+)= A·B; the last vector column holds `rem` (1 to 8)
    /// columns, loaded with a mask and stored by `store_first` when it is partial.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn bcast_tile<const MR: usize, const NV: usize, const PARTIAL: bool>(
        k: usize, a: *const f32, a_rs: usize, a_cs: usize, b: *const f32, b_rs: usize,
        c: *mut f32, c_rs: usize, rem: usize, accumulate: bool,
    ) {
        // A compile-time flag, so the full tiles' loop has no mask and no branch in it.
        let partial = PARTIAL;
        let last = lane_mask(rem);
        let mut acc = [[_mm256_setzero_ps(); NV]; MR];
        for p in 0..k {
            let bp = b.add(p * b_rs);
            let mut bv = [_mm256_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = if partial && v + 1 == NV { _mm256_maskload_ps(bp.add(v * 8), last) } else { _mm256_loadu_ps(bp.add(v * 8)) };
            }
            let ap = a.add(p * a_cs);
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*ap.add(r * a_rs));
                for v in 0..NV {
                    row[v] = _mm256_fmadd_ps(av, bv[v], row[v]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                let cp = c.add(r * c_rs + v * 8);
                if partial && v + 1 == NV {
                    let val = if accumulate { _mm256_add_ps(_mm256_maskload_ps(cp, last), x) } else { x };
                    store_first(cp, val, rem);
                } else {
                    let val = if accumulate { _mm256_add_ps(_mm256_loadu_ps(cp), x) } else { x };
                    _mm256_storeu_ps(cp, val);
                }
            }
        }
    }

    /// C[m×n] (+)= A·B where A(i,p) = a[i·a_rs + p·a_cs] and B(p,j) = b[p·b_rs + j].
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn bcast(
        m: usize, n: usize, k: usize, a: *const f32, a_rs: usize, a_cs: usize,
        b: *const f32, b_rs: usize, c: *mut f32, c_rs: usize, accumulate: bool,
    ) {
        super::bcast_blocks(m, n, c, c_rs, 8, BCAST_NV, |i0, mr, j0, w| {
            let nv = w.div_ceil(8);
            let last = w - 8 * (nv - 1);
            let (ai, bj, cij) = (a.add(i0 * a_rs), b.add(j0), c.add(i0 * c_rs + j0));
            macro_rules! go {
                ($mr:literal) => {
                    match (nv, last < 8) {
                        (1, false) => bcast_tile::<$mr, 1, false>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                        (1, true) => bcast_tile::<$mr, 1, true>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                        (_, false) => bcast_tile::<$mr, 2, false>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                        (_, true) => bcast_tile::<$mr, 2, true>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                    }
                };
            }
            match mr {
                1 => go!(1),
                2 => go!(2),
                3 => go!(3),
                4 => go!(4),
                5 => go!(5),
                _ => go!(6),
            }
        });
    }

    /// Column blocks of at most BCAST_NV vectors that `bcast` splits n columns into.
    pub fn col_blocks(n: usize) -> usize {
        super::col_blocks(n, 8, BCAST_NV)
    }

    /// In-register transpose of 8 rows of 8 floats (row i of the result = column i of the input).
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn transpose8(r: &mut [__m256; 8]) {
        let mut t = [_mm256_setzero_ps(); 8];
        for i in 0..4 {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // s[4h + q]: columns q and q + 4 of rows 4h..4h+4, in the two 128-bit halves.
        let mut s = [_mm256_setzero_ps(); 8];
        for h in 0..2 {
            let (lo, hi) = (t[4 * h], t[4 * h + 2]);
            let (lo1, hi1) = (t[4 * h + 1], t[4 * h + 3]);
            s[4 * h] = _mm256_shuffle_ps::<0x44>(lo, hi);
            s[4 * h + 1] = _mm256_shuffle_ps::<0xEE>(lo, hi);
            s[4 * h + 2] = _mm256_shuffle_ps::<0x44>(lo1, hi1);
            s[4 * h + 3] = _mm256_shuffle_ps::<0xEE>(lo1, hi1);
        }
        for q in 0..4 {
            r[q] = _mm256_permute2f128_ps::<0x20>(s[q], s[q + 4]);
            r[q + 4] = _mm256_permute2f128_ps::<0x31>(s[q], s[q + 4]);
        }
    }

    /// bt[p·n + j] = b[j·k + p]: the n×k row-major B written as k×n row-major, 8×8 blocks at a time.
    #[target_feature(enable = "avx2")]
    pub unsafe fn pack_transposed(b: *const f32, n: usize, k: usize, bt: *mut f32) {
        let mut r = [_mm256_setzero_ps(); 8];
        let mut j0 = 0;
        while j0 < n {
            let jn = (n - j0).min(8);
            let mut p0 = 0;
            while p0 < k {
                let pn = (k - p0).min(8);
                let load = lane_mask(pn);
                for (i, x) in r.iter_mut().enumerate() {
                    let row = b.add((j0 + i) * k + p0);
                    *x = if i >= jn { _mm256_setzero_ps() } else if pn == 8 { _mm256_loadu_ps(row) } else { _mm256_maskload_ps(row, load) };
                }
                transpose8(&mut r);
                // Partial rows as in `bcast_tile` (masked stores are microcode on Zen).
                for (q, &x) in r.iter().enumerate().take(pn) {
                    let dst = bt.add((p0 + q) * n + j0);
                    if jn == 8 {
                        _mm256_storeu_ps(dst, x);
                    } else {
                        store_first(dst, x, jn);
                    }
                }
                p0 += 8;
            }
            j0 += 8;
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    const BCAST_NV: usize = 4; // 4 vectors of 16 = 64 columns per tile
    pub const DOT_MR: usize = 4;
    const DOT_NR: usize = 4;

    /// Tail mask for `rem` valid lanes of one vector (all when rem ≥ 16, none when rem = 0).
    #[inline(always)]
    pub(crate) fn tail_mask(rem: usize) -> __mmask16 {
        if rem >= 16 {
            0xFFFF
        } else {
            ((1u32 << rem) - 1) as __mmask16
        }
    }

    /// One MR×(16·NV) register tile of C (+)= A·B; the last vector column is masked by `last`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn bcast_tile<const MR: usize, const NV: usize>(
        k: usize, a: *const f32, a_rs: usize, a_cs: usize, b: *const f32, b_rs: usize,
        c: *mut f32, c_rs: usize, last: __mmask16, accumulate: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        for p in 0..k {
            let bp = b.add(p * b_rs);
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = if v + 1 == NV {
                    _mm512_maskz_loadu_ps(last, bp.add(v * 16))
                } else {
                    _mm512_loadu_ps(bp.add(v * 16))
                };
            }
            let ap = a.add(p * a_cs);
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(r * a_rs));
                for v in 0..NV {
                    row[v] = _mm512_fmadd_ps(av, bv[v], row[v]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                let cp = c.add(r * c_rs + v * 16);
                let mask = if v + 1 == NV { last } else { 0xFFFF };
                let val = if accumulate { _mm512_add_ps(_mm512_maskz_loadu_ps(mask, cp), x) } else { x };
                _mm512_mask_storeu_ps(cp, mask, val);
            }
        }
    }

    /// C[m×n] (+)= A·B where A(i,p) = a[i·a_rs + p·a_cs] and B(p,j) = b[p·b_rs + j].
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn bcast(
        m: usize, n: usize, k: usize, a: *const f32, a_rs: usize, a_cs: usize,
        b: *const f32, b_rs: usize, c: *mut f32, c_rs: usize, accumulate: bool,
    ) {
        super::bcast_blocks(m, n, c, c_rs, 16, BCAST_NV, |i0, mr, j0, w| {
            let nv = w.div_ceil(16);
            let last = tail_mask(w - 16 * (nv - 1));
            let (ai, bj, cij) = (a.add(i0 * a_rs), b.add(j0), c.add(i0 * c_rs + j0));
            macro_rules! go {
                ($mr:literal) => {
                    match nv {
                        1 => bcast_tile::<$mr, 1>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                        2 => bcast_tile::<$mr, 2>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                        3 => bcast_tile::<$mr, 3>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                        _ => bcast_tile::<$mr, 4>(k, ai, a_rs, a_cs, bj, b_rs, cij, c_rs, last, accumulate),
                    }
                };
            }
            match mr {
                1 => go!(1),
                2 => go!(2),
                3 => go!(3),
                4 => go!(4),
                5 => go!(5),
                _ => go!(6),
            }
        });
    }

    /// Column blocks of at most BCAST_NV vectors that `bcast` splits n columns into.
    pub fn col_blocks(n: usize) -> usize {
        super::col_blocks(n, 16, BCAST_NV)
    }

    /// In-register transpose of 16 rows of 16 floats (row i of the result = column i of the input).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn transpose16(r: &mut [__m512; 16]) {
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for q in 0..4 {
            let (a, b) = (4 * q, 4 * q + 2);
            r[4 * q] = _mm512_shuffle_ps::<0x44>(t[a], t[b]);
            r[4 * q + 1] = _mm512_shuffle_ps::<0xEE>(t[a], t[b]);
            r[4 * q + 2] = _mm512_shuffle_ps::<0x44>(t[a + 1], t[b + 1]);
            r[4 * q + 3] = _mm512_shuffle_ps::<0xEE>(t[a + 1], t[b + 1]);
        }
        for h in 0..2 {
            for i in 0..4 {
                let (a, b) = (8 * h + i, 8 * h + i + 4);
                t[8 * h + i] = _mm512_shuffle_f32x4::<0x88>(r[a], r[b]);
                t[8 * h + i + 4] = _mm512_shuffle_f32x4::<0xDD>(r[a], r[b]);
            }
        }
        for i in 0..8 {
            r[i] = _mm512_shuffle_f32x4::<0x88>(t[i], t[i + 8]);
            r[i + 8] = _mm512_shuffle_f32x4::<0xDD>(t[i], t[i + 8]);
        }
    }

    /// bt[p·n + j] = b[j·k + p]: the n×k row-major B written as k×n row-major, 16×16 blocks at a time.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn pack_transposed(b: *const f32, n: usize, k: usize, bt: *mut f32) {
        let mut r = [_mm512_setzero_ps(); 16];
        let mut j0 = 0;
        while j0 < n {
            let jn = (n - j0).min(16);
            let mut p0 = 0;
            while p0 < k {
                let pn = (k - p0).min(16);
                let load = tail_mask(pn);
                for (i, x) in r.iter_mut().enumerate() {
                    *x = if i < jn { _mm512_maskz_loadu_ps(load, b.add((j0 + i) * k + p0)) } else { _mm512_setzero_ps() };
                }
                transpose16(&mut r);
                let store = tail_mask(jn);
                for (q, &x) in r.iter().enumerate().take(pn) {
                    _mm512_mask_storeu_ps(bt.add((p0 + q) * n + j0), store, x);
                }
                p0 += 16;
            }
            j0 += 16;
        }
    }

    #[allow(clippy::needless_range_loop)]
    /// One MR×NR tile of dot products C[i,j] (+)= Σ_p A[i,p]·B[j,p], both rows contiguous in p.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn dot_tile<const MR: usize, const NR: usize>(
        k: usize, a: *const f32, a_rs: usize, b: *const f32, b_rs: usize,
        c: *mut f32, c_rs: usize, accumulate: bool,
    ) {
        let mut acc = [[_mm512_setzero_ps(); NR]; MR];
        let mut p = 0;
        while p < k {
            let mask = tail_mask(k - p);
            let mut av = [_mm512_setzero_ps(); MR];
            for (r, x) in av.iter_mut().enumerate() {
                *x = _mm512_maskz_loadu_ps(mask, a.add(r * a_rs + p));
            }
            for s in 0..NR {
                let bv = _mm512_maskz_loadu_ps(mask, b.add(s * b_rs + p));
                for r in 0..MR {
                    acc[r][s] = _mm512_fmadd_ps(av[r], bv, acc[r][s]);
                }
            }
            p += 16;
        }
        for (r, row) in acc.iter().enumerate() {
            for (s, &x) in row.iter().enumerate() {
                let cp = c.add(r * c_rs + s);
                let v = _mm512_reduce_add_ps(x);
                *cp = if accumulate { *cp + v } else { v };
            }
        }
    }

    /// C[m×n] (+)= A·Bᵀ with A m×k (row stride a_rs) and B n×k (row stride b_rs).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn dot(
        m: usize, n: usize, k: usize, a: *const f32, a_rs: usize, b: *const f32, b_rs: usize,
        c: *mut f32, c_rs: usize, accumulate: bool,
    ) {
        let mut i0 = 0;
        while i0 < m {
            let mr = (m - i0).min(DOT_MR);
            let mut j0 = 0;
            while j0 < n {
                let nr = (n - j0).min(DOT_NR);
                let (ai, bj, cij) = (a.add(i0 * a_rs), b.add(j0 * b_rs), c.add(i0 * c_rs + j0));
                macro_rules! go {
                    ($mr:literal) => {
                        match nr {
                            1 => dot_tile::<$mr, 1>(k, ai, a_rs, bj, b_rs, cij, c_rs, accumulate),
                            2 => dot_tile::<$mr, 2>(k, ai, a_rs, bj, b_rs, cij, c_rs, accumulate),
                            3 => dot_tile::<$mr, 3>(k, ai, a_rs, bj, b_rs, cij, c_rs, accumulate),
                            _ => dot_tile::<$mr, 4>(k, ai, a_rs, bj, b_rs, cij, c_rs, accumulate),
                        }
                    };
                }
                match mr {
                    1 => go!(1),
                    2 => go!(2),
                    3 => go!(3),
                    _ => go!(4),
                }
                j0 += nr;
            }
            i0 += mr;
        }
    }
}

/// Whether `path` runs on this CPU for these operand layouts: the broadcast kernel on AVX2+FMA
/// and AVX-512, the dot and packed kernels on AVX-512, gemm anywhere.
pub fn path_available(path: Path, trans_a: bool, trans_b: bool) -> bool {
    let level = cpu::level();
    match path {
        Path::Bcast => level != cpu::Level::Scalar,
        Path::Dot => level == cpu::Level::Avx512 && trans_b && !trans_a,
        Path::Sgemm => level == cpu::Level::Avx512,
        Path::Gemm => true,
    }
}

/// Forces one path (benchmarks and tests compare the paths against each other).
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_with_path(
    path: Path, a: &[f32], trans_a: bool, b: &[f32], trans_b: bool, c: &mut [f32],
    m: usize, k: usize, n: usize, accumulate: bool,
) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n && k > 0 && m * n > 0);
    assert!(path_available(path, trans_a, trans_b), "matmul path {path:?} not available for these operands");
    single(path, a, trans_a, b, trans_b, c, m, k, n, accumulate, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, naive_matmul as naive, Rng, THREAD_LOCK};

    fn check(m: usize, k: usize, n: usize, ta: bool, tb: bool, acc: bool, rng: &mut Rng) {
        let a = rng.vec(m * k);
        let b = rng.vec(k * n);
        let c0 = rng.vec(m * n);
        let want = naive(&a, ta, &b, tb, &c0, m, k, n, acc);
        let tol = 1e-5 * (k as f64).sqrt() + 1e-6;
        let mut c = c0.clone();
        matmul(&a, 0, 0, ta, &b, 0, 0, tb, &mut c, 1, m, k, n, acc);
        assert_close(&c, &want, 1e-5, tol, &format!("matmul {m}x{k}x{n} ta={ta} tb={tb} acc={acc}"));
        if k > 0 && m * n > 0 {
            for path in [Path::Bcast, Path::Dot, Path::Sgemm, Path::Gemm] {
                if path_available(path, ta, tb) {
                    let mut c = c0.clone();
                    matmul_with_path(path, &a, ta, &b, tb, &mut c, m, k, n, acc);
                    assert_close(&c, &want, 1e-5, tol, &format!("{path:?} {m}x{k}x{n} ta={ta} tb={tb}"));
                }
            }
        }
    }

    #[test]
    fn all_layouts_and_edge_sizes() {
        let mut rng = Rng::new(1);
        let sizes = [0usize, 1, 2, 5, 7, 8, 9, 15, 16, 17, 33, 63, 64, 65];
        for &m in &[1usize, 6, 7, 13] {
            for &k in &sizes {
                for &n in &sizes {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        check(m, k, n, ta, tb, (m + n) % 2 == 0, &mut rng);
                    }
                }
            }
        }
        for &m in &[0usize, 17, 32, 64, 65] {
            check(m, 30, 27, false, false, false, &mut rng);
        }
    }

    #[test]
    fn lecture_shapes_and_one_large() {
        let mut rng = Rng::new(2);
        for (m, k, n) in [(32, 30, 200), (32, 200, 27), (32, 200, 200), (182, 97, 301), (300, 300, 300)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                check(m, k, n, ta, tb, false, &mut rng);
            }
        }
    }

    #[test]
    fn batched_with_broadcast_and_offsets() {
        let mut rng = Rng::new(3);
        let (batch, m, k, n) = (5, 7, 9, 11);
        let a = rng.vec(3 + batch * m * k);
        let b = rng.vec(2 + k * n); // broadcast B (batch stride 0)
        let mut out = rng.vec(batch * m * n);
        let before = out.clone();
        matmul(&a, 3, m * k, false, &b, 2, 0, false, &mut out, batch, m, k, n, true);
        for bi in 0..batch {
            let want = naive(&a[3 + bi * m * k..][..m * k], false, &b[2..], false,
                &before[bi * m * n..][..m * n], m, k, n, true);
            assert_close(&out[bi * m * n..][..m * n], &want, 1e-5, 1e-5, "batched");
        }
        // Many small products split over the batch.
        let (batch, m, k, n) = (4000, 3, 4, 5);
        let a = rng.vec(batch * m * k);
        let b = rng.vec(batch * k * n);
        let mut out = vec![0f32; batch * m * n];
        matmul(&a, 0, m * k, true, &b, 0, k * n, true, &mut out, batch, m, k, n, false);
        for bi in (0..batch).step_by(397) {
            let want = naive(&a[bi * m * k..][..m * k], true, &b[bi * k * n..][..k * n], true, &[], m, k, n, false);
            assert_close(&out[bi * m * n..][..m * n], &want, 1e-5, 1e-5, "many small");
        }
    }

    /// op(A)·Bᵀ on the `Bcast` path, whichever way B's transpose is handled (the output
    /// transposed for a small m, B in L1 panels for a wide n, B whole otherwise), has the bits
    /// of the plain kernel on an explicitly transposed B: the same FMA chain per output.
    #[test]
    fn transposed_b_has_the_bits_of_the_plain_kernel() {
        if !path_available(Path::Bcast, false, true) {
            return;
        }
        let _g = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(5);
        let shapes = [(32, 128, 256), (64, 128, 256), (32, 27, 128), (32, 27, 200), (128, 128, 48),
            (32, 200, 30), (1, 5, 130), (7, 33, 129), (13, 64, 300), (17, 9, 16), (3, 100, 64),
            // large enough to split over 2 threads: the output-transposed and the panel path
            (64, 256, 512), (200, 128, 300)];
        for &(m, k, n) in &shapes {
            let b = rng.vec(n * k); // stored n×k
            let mut bt = vec![0f32; k * n];
            for j in 0..n {
                for p in 0..k {
                    bt[p * n + j] = b[j * k + p];
                }
            }
            let c0 = rng.vec(m * n);
            for ta in [false, true] {
                let a = rng.vec(m * k);
                for acc in [false, true] {
                    let mut want = c0.clone();
                    matmul_with_path(Path::Bcast, &a, ta, &bt, false, &mut want, m, k, n, acc);
                    for threads in [1, 2] {
                        crate::pool::set_num_threads(threads).unwrap();
                        let mut got = c0.clone();
                        matmul_with_path(Path::Bcast, &a, ta, &b, true, &mut got, m, k, n, acc);
                        let same = got.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(same, "{m}x{k}x{n} ta={ta} acc={acc} threads={threads}");
                    }
                }
            }
        }
        crate::pool::set_num_threads(1).unwrap();
    }

    /// Both widths of the broadcast kernel give each output the bits of one scalar FMA chain over
    /// p from +0 (then + C when accumulating): a product has the same bits on an AVX2 machine and
    /// an AVX-512 one, and an exact zero is +0 (-0 only where the chain gives it). The transposes
    /// of both widths move every element to its place.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn both_widths_give_the_bits_of_one_fma_chain() {
        type Bcast = unsafe fn(usize, usize, usize, *const f32, usize, usize, *const f32, usize, *mut f32, usize, bool);
        type Pack = unsafe fn(*const f32, usize, usize, *mut f32);
        let mut kernels: Vec<(&str, Bcast, Pack)> = Vec::new();
        if cpu::level() != cpu::Level::Scalar {
            kernels.push(("avx2", avx2::bcast, avx2::pack_transposed));
        }
        if cpu::level() == cpu::Level::Avx512 {
            kernels.push(("avx512", avx512::bcast, avx512::pack_transposed));
        }
        let mut rng = Rng::new(6);
        for &(m, k, n) in &[(32, 27, 200), (32, 30, 200), (7, 1, 9), (13, 33, 17), (1, 5, 130), (6, 64, 8), (65, 9, 31)] {
            // Integers (zeros and signs included) make exact zeros common, and the signs of zero show.
            let a: Vec<f32> = (0..m * k).map(|_| (rng.vec(1)[0] * 2.0).round()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| (rng.vec(1)[0] * 2.0).round()).collect();
            let c0: Vec<f32> = rng.vec(m * n);
            for acc in [false, true] {
                let want: Vec<u32> = (0..m * n)
                    .map(|ij| {
                        let (i, j) = (ij / n, ij % n);
                        let chain = (0..k).fold(0.0f32, |s, p| a[i * k + p].mul_add(b[p * n + j], s));
                        (if acc { c0[ij] + chain } else { chain }).to_bits()
                    })
                    .collect();
                for &(name, bcast, _) in &kernels {
                    let mut c = c0.clone();
                    // SAFETY: the kernel's features were detected; a, b, c hold m·k, k·n, m·n.
                    unsafe { bcast(m, n, k, a.as_ptr(), k, 1, b.as_ptr(), n, c.as_mut_ptr(), n, acc) };
                    let got: Vec<u32> = c.iter().map(|x| x.to_bits()).collect();
                    assert!(got == want, "{name} {m}x{k}x{n} acc={acc}");
                }
            }
            for &(name, _, pack) in &kernels {
                let mut bt = vec![f32::NAN; k * n];
                // SAFETY: as above; b read as n×k, bt holds k·n.
                unsafe { pack(b.as_ptr(), n, k, bt.as_mut_ptr()) };
                assert!((0..k * n).all(|i| bt[(i % k) * n + i / k].to_bits() == b[i].to_bits()), "{name} transpose {n}x{k}");
            }
        }
    }

    #[test]
    fn transposed_output_only_where_it_moves_fewer_elements() {
        assert!(transposed_via_output(32, 128, 256, false)); // dX3 at batch 32
        assert!(transposed_via_output(64, 128, 256, false)); // dX2
        assert!(!transposed_via_output(32, 27, 128, false)); // dH3: Bᵀ is the smaller copy
        assert!(!transposed_via_output(128, 128, 48, false)); // dX1
        assert!(!transposed_via_output(1024, 200, 30, false));
    }

    #[test]
    fn k_zero_overwrites_or_keeps() {
        let mut out = vec![3.0f32; 6];
        matmul(&[], 0, 0, false, &[], 0, 0, false, &mut out, 1, 2, 0, 3, true);
        assert_eq!(out, vec![3.0; 6]);
        matmul(&[], 0, 0, false, &[], 0, 0, false, &mut out, 1, 2, 0, 3, false);
        assert_eq!(out, vec![0.0; 6]);
    }

    #[test]
    fn same_bits_with_one_or_two_threads() {
        let _g = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(4);
        for (m, k, n, ta, tb) in [(512, 512, 512, false, false), (256, 200, 200, false, true),
            (200, 256, 200, true, false), (700, 130, 530, false, false)] {
            let a = rng.vec(m * k);
            let b = rng.vec(k * n);
            let mut c1 = vec![0f32; m * n];
            let mut c2 = vec![0f32; m * n];
            crate::pool::set_num_threads(1).unwrap();
            matmul(&a, 0, 0, ta, &b, 0, 0, tb, &mut c1, 1, m, k, n, false);
            crate::pool::set_num_threads(2).unwrap();
            matmul(&a, 0, 0, ta, &b, 0, 0, tb, &mut c2, 1, m, k, n, false);
            assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}x{k}x{n}");
        }
    }
}
