//! Packed, cache-blocked AVX-512 single-precision product for the large shapes (`Path::Sgemm`):
//! C (+)= op(A)·op(B), C row-major m×n with row stride ldc.
//!
//! Layout of the work (row-major C, vectors along n):
//! - the register tile is MR×NR = 6×64: 24 zmm accumulators, each k step loads four vectors of B
//!   and broadcasts six elements of A (10 loads for 24 FMAs, within Zen 5's two loads per cycle);
//! - B is packed per KC×64 panel ([p][64], zero-padded past n), so a tile reads one contiguous
//!   stream; the panel (256 KB) stays in the core's L2 while every 6-row strip of A streams past
//!   it from L3 (blocks of two panels, A strips reused from L1, ran 209 against 219 GFLOP/s);
//! - A is read in place through its strides (no packing); a strip past the last row is first
//!   copied into a zero-padded 6-row scratch.
//!
//! Each output is one FMA chain over p = 0..k from zero, as on the `Bcast` path (the same bits):
//! a k block after the first resumes the chain from the partial sum stored in C. (When
//! accumulating into C, the chain of each k block is added to C instead.)
//!
//! Sharing the work (per k block): a thread claims a column panel, packs its B block into the
//! call's packed buffer and computes its 6-row strips, claiming them one at a time; a thread that
//! finds no panel left to claim computes strips of a panel another thread has packed. So the
//! threads end within one strip (a few µs) of each other instead of one panel (0.6 ms at 1024³),
//! and a narrow product (one or two panels) is still shared, with B packed once. Every strip is
//! one kernel call over the whole k block, whichever thread runs it, so 1 and 2 threads give the
//! same bits.

use crate::pool;
use crate::matmul::avx512::tail_mask as mask;
use std::arch::x86_64::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const MR: usize = 6;
const NR: usize = 64;
/// Depth of one packed block. With k ≤ KC (1024³) every output is one FMA chain and C is
/// written once; 256 ran 1024³ at 212 against 219 GFLOP/s (thread CPU time, best of 30).
const KC: usize = 1024;

thread_local! {
    /// The packed B of one k block, all panels (on the calling thread): reused across calls,
    /// never shrunk.
    static PACKED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// A copy of the last strip of A, zero-padded to MR rows (on each computing thread).
    static TAIL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// C (+)= op(A)·op(B) where op(A)[i][p] = a[i·a_rs + p·a_cs], op(B)[p][j] = b[p·b_rs + j·b_cs]
/// and C[i][j] = c[i·ldc + j].
///
/// # Safety
/// avx512f must be available; every index above must be in bounds for i < m, p < k, j < n;
/// C must not overlap A or B. m, n, k ≥ 1.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    m: usize, n: usize, k: usize,
    a: *const f32, a_rs: usize, a_cs: usize,
    b: *const f32, b_rs: usize, b_cs: usize,
    c: *mut f32, ldc: usize, accumulate: bool, est_ns: f64,
) {
    let threads = pool::pool_for(est_ns).map_or(1, |p| p.current_num_threads());
    let panels = n.div_ceil(NR);
    let strips = m.div_ceil(MR);
    PACKED.with(|cell| {
        let mut v = cell.borrow_mut();
        // 16 floats of slack to align the packed block on a cache line.
        let slots = if threads > 1 { panels } else { 1 };
        let need = slots * KC.min(k) * NR + 16;
        if v.len() < need {
            v.resize(need, 0.0);
        }
        let base = v.as_mut_ptr();
        let packed = pool::SendPtr(base.add(base.align_offset(64)));
        let mut p0 = 0;
        while p0 < k {
            let kc = KC.min(k - p0);
            // Without accumulate, a later block continues each output's chain from the partial
            // sum the earlier blocks stored in C; with it, each block's chain is added to C.
            let start = if accumulate { Start::AddTo } else if p0 == 0 { Start::Zero } else { Start::Continue };
            let block = Block {
                m, n, kc, strips, start,
                a: a.add(p0 * a_cs), a_rs, a_cs,
                b: b.add(p0 * b_rs), b_rs, b_cs,
                c: pool::SendPtr(c), ldc, packed, slots,
                next_panel: AtomicUsize::new(0),
                panels: (0..panels).map(|_| Panel { packed: AtomicBool::new(false), next_strip: AtomicUsize::new(0), done_strips: AtomicUsize::new(0) }).collect(),
                failed: AtomicBool::new(false),
            };
            // One share per thread; each works until nothing is left to claim.
            pool::for_each_task(threads.min(panels * strips), est_ns, |_| block.work());
            p0 += kc;
        }
    });
}

/// One k block of the product, shared by the threads that work on it.
struct Block {
    m: usize, n: usize, kc: usize, strips: usize, start: Start,
    /// Column p0 of op(A) and row p0 of op(B), for the block's first k step p0.
    a: *const f32, a_rs: usize, a_cs: usize,
    b: *const f32, b_rs: usize, b_cs: usize,
    c: pool::SendPtr<f32>, ldc: usize,
    /// Panel q's packed block is slot q % slots, at (q % slots)·kc·NR. One slot on 1 thread (its
    /// lines stay in cache from panel to panel); one per panel on more (4 MB at 1024³), since a
    /// thread must not overwrite a slot while another may still run a strip from it: with 2 slots
    /// per thread, a thread waiting for a slot whose last strips were held by a descheduled
    /// thread halved 1024³ on 2 threads under load 3 (118 against 197 GFLOP/s).
    packed: pool::SendPtr<f32>,
    slots: usize,
    next_panel: AtomicUsize,
    panels: Vec<Panel>,
    /// Set when a thread's work on the block panicked: a thread waiting for a panel it will never
    /// see packed, or for a slot's strips it will never see done, stops waiting (the pool hands
    /// the panic to the caller once every share has returned).
    failed: AtomicBool,
}
// SAFETY: the pointers address the caller's operands, which outlive the block; threads write
// disjoint strips of C and each panel of the packed buffer is written by one thread before any
// other reads it (see `Panel::packed`).
unsafe impl Sync for Block {}

/// Sets its flag when dropped by a panic's unwinding.
struct FlagOnPanic<'a>(&'a AtomicBool);
impl Drop for FlagOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

struct Panel {
    /// Set (Release) once the claiming thread has packed the panel: other threads then read it.
    packed: AtomicBool,
    next_strip: AtomicUsize,
    /// Strips finished (Release): the panel `slots` later packs into the same slot only when all are.
    done_strips: AtomicUsize,
}

impl Block {
    /// Claims panels (packing each) and their strips until nothing is left to claim.
    fn work(&self) {
        let _flag = FlagOnPanic(&self.failed);
        let panels = self.panels.len();
        loop {
            let q = self.next_panel.fetch_add(1, Ordering::Relaxed);
            if q < panels {
                let cols = NR.min(self.n - q * NR);
                if q >= self.slots {
                    // The slot's previous panel may still have a strip running on another thread.
                    let prev = &self.panels[q - self.slots].done_strips;
                    while prev.load(Ordering::Acquire) < self.strips {
                        if self.failed.load(Ordering::Acquire) {
                            return;
                        }
                        std::thread::yield_now();
                    }
                }
                #[cfg(test)]
                tests::maybe_panic_packing(self.m, q);
                // SAFETY: panel q is this thread's alone to pack (claimed above) and no strip reads
                // its slot's previous panel any more; the slot is inside the packed buffer; B's
                // columns q·NR.. are in bounds.
                unsafe { pack_b(self.b.add(q * NR * self.b_cs), self.b_rs, self.b_cs, self.kc, cols, self.panel(q)) };
                self.panels[q].packed.store(true, Ordering::Release);
                // SAFETY: avx512f is available (`sgemm`'s contract).
                unsafe { self.strips_of(q) };
                continue;
            }
            // No panel left to claim: help with the packed one that has most strips left, or
            // wait for one being packed; stop when every panel's strips are all claimed.
            let mut best: Option<(usize, usize)> = None;
            let mut packing = false;
            for (i, p) in self.panels.iter().enumerate() {
                if !p.packed.load(Ordering::Acquire) {
                    packing = true;
                    continue;
                }
                let left = self.strips.saturating_sub(p.next_strip.load(Ordering::Relaxed));
                if left > 0 && best.is_none_or(|(_, l)| left > l) {
                    best = Some((i, left));
                }
            }
            match best {
                // SAFETY: as above.
                Some((q, _)) => unsafe { self.strips_of(q) },
                // (Yielding: the packing thread may be waiting for this core.)
                None if packing && !self.failed.load(Ordering::Acquire) => std::thread::yield_now(),
                None => return,
            }
        }
    }

    fn panel(&self, q: usize) -> *mut f32 {
        // SAFETY (of the callers' use): q < panels, inside the packed buffer.
        unsafe { self.packed.get().add((q % self.slots) * self.kc * NR) }
    }

    /// Claims the next strips of panel q: many at a time while many are left, one at a time at
    /// the end (so threads end within a strip of each other). Claimed per strip, the locked
    /// operations (each waits for the last tile's stores to drain) took 3% of 1-thread time.
    fn claim(&self, q: usize) -> Option<std::ops::Range<usize>> {
        let next = &self.panels[q].next_strip;
        let mut s = next.load(Ordering::Relaxed);
        loop {
            if s >= self.strips {
                return None;
            }
            let take = ((self.strips - s) / 4).clamp(1, 16);
            match next.compare_exchange_weak(s, s + take, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(s..s + take),
                Err(now) => s = now,
            }
        }
    }

    /// Computes strips of panel q (already packed) as long as any is left to claim.
    ///
    /// # Safety
    /// avx512f must be available.
    #[target_feature(enable = "avx512f")]
    unsafe fn strips_of(&self, q: usize) {
        let cols = NR.min(self.n - q * NR);
        while let Some(claimed) = self.claim(q) {
            let count = claimed.len();
            for s in claimed {
                let i = s * MR;
                let rows = MR.min(self.m - i);
                let c = self.c.get().add(i * self.ldc + q * NR);
                // SAFETY: strip s of panel q is this thread's alone (claimed above); rows
                // i..i+rows and columns q·NR..q·NR+cols of C are in bounds, as are A's rows; the
                // panel is packed (by this thread, or published with Release and seen with Acquire).
                if rows == MR {
                    kernel(self.kc, self.a.add(i * self.a_rs), self.a_rs, self.a_cs, self.panel(q), c, self.ldc, rows, cols, self.start);
                } else {
                    TAIL.with(|cell| {
                        let mut t = cell.borrow_mut();
                        let kc = self.kc;
                        if t.len() < MR * kc {
                            t.resize(MR * kc, 0.0);
                        }
                        // The last strip: its rows copied into a zero-padded MR×kc scratch.
                        let tp = t.as_mut_ptr();
                        for r in 0..MR {
                            for p in 0..kc {
                                *tp.add(r * kc + p) = if r < rows { *self.a.add((i + r) * self.a_rs + p * self.a_cs) } else { 0.0 };
                            }
                        }
                        kernel(kc, tp, kc, 1, self.panel(q), c, self.ldc, rows, cols, self.start);
                    });
                }
            }
            self.panels[q].done_strips.fetch_add(count, Ordering::Release);
        }
    }
}

/// Packs op(B)[0..kc][0..w] into panels of NR columns: panel q holds [p][NR] at q·KC·NR, columns
/// past w zero.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b(b: *const f32, b_rs: usize, b_cs: usize, kc: usize, w: usize, out: *mut f32) {
    let panels = w.div_ceil(NR);
    if b_cs == 1 {
        for q in 0..panels {
            let cols = NR.min(w - q * NR);
            let masks = [mask(cols), mask(cols.saturating_sub(16)), mask(cols.saturating_sub(32)), mask(cols.saturating_sub(48))];
            let (src, dst) = (b.add(q * NR), out.add(q * KC * NR));
            for p in 0..kc {
                let (s, d) = (src.add(p * b_rs), dst.add(p * NR));
                for (v, &mk) in masks.iter().enumerate() {
                    _mm512_store_ps(d.add(16 * v), _mm512_maskz_loadu_ps(mk, s.add(16 * v)));
                }
            }
        }
    } else if b_rs == 1 {
        // B stored transposed (column j contiguous in p): 16×16 blocks through registers.
        let mut r = [_mm512_setzero_ps(); 16];
        for q in 0..panels {
            let dst = out.add(q * KC * NR);
            for jv in 0..NR / 16 {
                let j = q * NR + jv * 16;
                let jn = w.saturating_sub(j).min(16);
                let mut p = 0;
                while p < kc {
                    let pn = (kc - p).min(16);
                    let ld = mask(pn);
                    for (i, x) in r.iter_mut().enumerate() {
                        *x = if i < jn { _mm512_maskz_loadu_ps(ld, b.add((j + i) * b_cs + p)) } else { _mm512_setzero_ps() };
                    }
                    crate::matmul::avx512::transpose16(&mut r);
                    for (s, &x) in r.iter().enumerate().take(pn) {
                        _mm512_store_ps(dst.add((p + s) * NR + jv * 16), x);
                    }
                    p += 16;
                }
            }
        }
    } else {
        for q in 0..panels {
            for p in 0..kc {
                for jj in 0..NR {
                    let j = q * NR + jj;
                    *out.add(q * KC * NR + p * NR + jj) = if j < w { *b.add(p * b_rs + j * b_cs) } else { 0.0 };
                }
            }
        }
    }
}

/// How a tile starts its chains and ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// acc = 0, C = acc.
    Zero,
    /// acc = C (the partial sum of the earlier k blocks), C = acc: one FMA chain over all of k.
    Continue,
    /// acc = 0, C = C + acc.
    AddTo,
}

/// One 6×64 tile over kc steps of k: for each output, one FMA chain over p (from zero or from the
/// partial sum in C, see `Start`). Bp is a packed panel ([p][64]); A is read through (a_rs, a_cs)
/// for all six rows (the caller pads a short strip); only rows × cols outputs are written.
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    kc: usize, a: *const f32, a_rs: usize, a_cs: usize, bp: *const f32,
    c: *mut f32, ldc: usize, rows: usize, cols: usize, start: Start,
) {
    let masks = [mask(cols), mask(cols.saturating_sub(16)), mask(cols.saturating_sub(32)), mask(cols.saturating_sub(48))];
    let mut acc = [[_mm512_setzero_ps(); 4]; MR];
    if start == Start::Continue {
        for (r, row) in acc.iter_mut().enumerate().take(rows) {
            for (v, x) in row.iter_mut().enumerate() {
                *x = _mm512_maskz_loadu_ps(masks[v], c.add(r * ldc + 16 * v));
            }
        }
        // The next strip's tile: its partial sums are loaded first thing in the next call.
        for r in 0..MR {
            for v in 0..4 {
                _mm_prefetch(c.add((MR + r) * ldc + 16 * v) as *const i8, _MM_HINT_ET0);
            }
        }
    } else {
        // The C tile is needed only at the end: ask for it now (for writing) so its lines arrive
        // during the FMAs instead of stalling the stores (a fresh output is in no cache).
        // Measured with the output rotating through 48 MB (as fresh tensors do): 201-207 GFLOP/s
        // without, 210-211 with.
        for r in 0..rows {
            for v in 0..4 {
                _mm_prefetch(c.add(r * ldc + 16 * v) as *const i8, _MM_HINT_ET0);
            }
        }
    }
    let (a0, a1, a2, a3, a4, a5) = (a, a.add(a_rs), a.add(2 * a_rs), a.add(3 * a_rs), a.add(4 * a_rs), a.add(5 * a_rs));
    let mut off = 0;
    let mut bq = bp;
    // The next strip's rows of A (when rows are contiguous in p), one line per step, so they are
    // in L1 when the next tile starts.
    let next = a.add(MR * a_rs);
    let (mut pr, mut pcol) = (0usize, if a_cs == 1 { 0 } else { kc });
    for _ in 0..kc {
        if pcol < kc {
            _mm_prefetch(next.add(pr * a_rs + pcol) as *const i8, _MM_HINT_T0);
            pr += 1;
            if pr == MR {
                pr = 0;
                pcol += 16;
            }
        }
        let b0 = _mm512_load_ps(bq);
        let b1 = _mm512_load_ps(bq.add(16));
        let b2 = _mm512_load_ps(bq.add(32));
        let b3 = _mm512_load_ps(bq.add(48));
        macro_rules! row {
            ($r:literal, $ar:ident) => {
                let x = _mm512_set1_ps(*$ar.add(off));
                acc[$r][0] = _mm512_fmadd_ps(x, b0, acc[$r][0]);
                acc[$r][1] = _mm512_fmadd_ps(x, b1, acc[$r][1]);
                acc[$r][2] = _mm512_fmadd_ps(x, b2, acc[$r][2]);
                acc[$r][3] = _mm512_fmadd_ps(x, b3, acc[$r][3]);
            };
        }
        row!(0, a0);
        row!(1, a1);
        row!(2, a2);
        row!(3, a3);
        row!(4, a4);
        row!(5, a5);
        off += a_cs;
        bq = bq.add(NR);
    }
    for (r, row) in acc.iter().enumerate().take(rows) {
        for (v, &x) in row.iter().enumerate() {
            let cp = c.add(r * ldc + 16 * v);
            let mk = masks[v];
            if mk == 0xFFFF {
                let y = if start == Start::AddTo { _mm512_add_ps(_mm512_loadu_ps(cp), x) } else { x };
                _mm512_storeu_ps(cp, y);
            } else if mk != 0 {
                let y = if start == Start::AddTo { _mm512_add_ps(_mm512_maskz_loadu_ps(mk, cp), x) } else { x };
                _mm512_mask_storeu_ps(cp, mk, y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, naive_matmul as naive, Rng, THREAD_LOCK};


    #[allow(clippy::too_many_arguments)]
    fn run(a: &[f32], ta: bool, b: &[f32], tb: bool, c: &mut [f32], m: usize, k: usize, n: usize, acc: bool) {
        let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
        let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
        // SAFETY: avx512f checked by the callers; the strides address the m·k, k·n, m·n slices.
        unsafe { sgemm(m, n, k, a.as_ptr(), a_rs, a_cs, b.as_ptr(), b_rs, b_cs, c.as_mut_ptr(), n, acc, 1e9) }
    }

    /// Odd shapes (m, n, k not multiples of the 6×64 tile or of the 1024-deep k block; k = 1), every layout, overwrite and accumulate, against float64.
    #[test]
    fn matches_float64_on_odd_shapes() {
        if crate::cpu::level() != crate::cpu::Level::Avx512 {
            return;
        }
        let mut rng = Rng::new(11);
        let shapes = [(1, 1, 1), (5, 1, 63), (7, 3, 65), (6, 17, 64), (13, 1, 130), (1, 300, 1), (37, 257, 129),
            (61, 530, 70), (12, 1000, 300), (100, 64, 513), (7, 769, 31), (8, 1025, 65), (13, 2100, 129)];
        for &(m, k, n) in &shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for acc in [false, true] {
                    let a = rng.vec(m * k);
                    let b = rng.vec(k * n);
                    let c0 = rng.vec(m * n);
                    let want = naive(&a, ta, &b, tb, &c0, m, k, n, acc);
                    let mut c = c0.clone();
                    run(&a, ta, &b, tb, &mut c, m, k, n, acc);
                    let tol = 2e-6 * k as f64 + 1e-6;
                    assert_close(&c, &want, 1e-5, tol, &format!("sgemm {m}x{k}x{n} ta={ta} tb={tb} acc={acc}"));
                }
            }
        }
    }

    /// The same bits with 1 and 2 threads, on shapes with many panels and with one or two (the
    /// second thread then computes strips of a panel the first has packed).
    #[test]
    fn same_bits_with_one_or_two_threads() {
        if crate::cpu::level() != crate::cpu::Level::Avx512 {
            return;
        }
        let _g = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(12);
        for (m, k, n, ta, tb) in [(300, 700, 600, false, false), (61, 1500, 200, false, false), (500, 300, 70, false, true), (97, 520, 1030, true, false),
            (700, 400, 50, false, false), (1000, 1100, 64, false, true),
            (256, 256, 256, true, true)] {
            let a = rng.vec(m * k);
            let b = rng.vec(k * n);
            let c0 = rng.vec(m * n);
            let mut got = Vec::new();
            for threads in [1, 2] {
                crate::pool::set_num_threads(threads).unwrap();
                let mut c = c0.clone();
                run(&a, ta, &b, tb, &mut c, m, k, n, true);
                got.push(c);
            }
            crate::pool::set_num_threads(1).unwrap();
            assert!(got[0].iter().zip(&got[1]).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}x{k}x{n}");
        }
    }

    /// The panel whose packing panics (on whichever thread packs it), or usize::MAX; only in
    /// products of PANIC_M rows, which no other test uses (tests run in parallel).
    static PANIC_PANEL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);
    const PANIC_M: usize = 613;

    pub(super) fn maybe_panic_packing(m: usize, q: usize) {
        if m == PANIC_M && PANIC_PANEL.load(Ordering::Relaxed) == q {
            panic!("sgemm test: packing panel {q} panics");
        }
    }

    /// A panic while one thread packs a panel reaches the caller as a panic, with 2 threads
    /// too, where the other thread may be waiting for that panel: it must stop waiting (a hang
    /// would never return to JavaScript).
    #[test]
    fn a_panic_while_packing_reaches_the_caller_instead_of_hanging() {
        if crate::cpu::level() != crate::cpu::Level::Avx512 {
            return;
        }
        let _g = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut rng = Rng::new(14);
        // One panel (n = 64): the second thread can only wait for it; and many panels.
        for (m, k, n) in [(PANIC_M, 700, 64), (PANIC_M, 700, 600)] {
            let a = rng.vec(m * k);
            let b = rng.vec(k * n);
            for threads in [1, 2] {
                crate::pool::set_num_threads(threads).unwrap();
                for q in [0, n.div_ceil(NR) - 1] {
                    PANIC_PANEL.store(q, Ordering::Relaxed);
                    let mut c = vec![0f32; m * n];
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&a, false, &b, false, &mut c, m, k, n, false)));
                    PANIC_PANEL.store(usize::MAX, Ordering::Relaxed);
                    assert!(r.is_err(), "{m}x{k}x{n}, {threads} threads, panel {q}: the panic was lost");
                }
            }
            crate::pool::set_num_threads(1).unwrap();
            // And the kernel still works afterwards.
            let mut c = vec![0f32; m * n];
            run(&a, false, &b, false, &mut c, m, k, n, false);
            let want = naive(&a, false, &b, false, &vec![0f32; m * n], m, k, n, false);
            assert_close(&c, &want, 1e-5, 2e-6 * k as f64 + 1e-6, "after the panics");
        }
    }

    /// Every output is the `Bcast` path's FMA chain, so the two paths give the same bits, also
    /// past one k block (without accumulate; with it, up to one block).
    #[test]
    fn same_bits_as_the_broadcast_kernel() {
        if crate::cpu::level() != crate::cpu::Level::Avx512 {
            return;
        }
        use crate::matmul::{matmul_with_path, Path};
        let mut rng = Rng::new(13);
        for &(m, k, n) in &[(13, 1, 70), (37, 257, 129), (20, 1024, 64), (9, 1500, 100), (7, 2100, 17)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                for acc in [false, true] {
                    if acc && k > KC {
                        continue;
                    }
                    let a = rng.vec(m * k);
                    let b = rng.vec(k * n);
                    let c0 = rng.vec(m * n);
                    let mut want = c0.clone();
                    matmul_with_path(Path::Bcast, &a, ta, &b, tb, &mut want, m, k, n, acc);
                    let mut got = c0.clone();
                    run(&a, ta, &b, tb, &mut got, m, k, n, acc);
                    let same = got.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{k}x{n} ta={ta} tb={tb} acc={acc}");
                }
            }
        }
    }
}
