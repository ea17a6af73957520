//! The threads used by parallel kernels, and the rule deciding when a call is worth splitting.
//!
//! A split runs on the calling thread and the `workers::Crew`'s helpers (T − 1 for T threads).
//! The `gemm` crate's products need a rayon pool of their own (`rayon_for`), built the first time
//! one is asked for. `set_num_threads` can change the count at any time: later calls use the new
//! crew and pool.

use crate::workers::{Crew, Job};
use rayon::ThreadPool;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Upper bound on threads a caller may request; far above any sensible value for a CPU library.
pub const MAX_THREADS: usize = 1024;

/// Below roughly this many nanoseconds of estimated serial work, waking a second thread costs
/// more than it saves (measured on the 2-core machines with the rayon pool this replaced, whose
/// round trip was several µs; a spinning helper of `workers.rs` starts within ~1 µs, so the bound
/// is conservative now, not yet measured again).
pub const PAR_MIN_NS: f64 = 40_000.0;

struct State {
    threads: usize,
    crew: Arc<Crew>,
    rayon: Arc<OnceLock<Arc<ThreadPool>>>,
}

static STATE: OnceLock<RwLock<State>> = OnceLock::new();

fn fresh(threads: usize) -> State {
    State { threads, crew: Arc::new(Crew::new(threads - 1)), rayon: Arc::new(OnceLock::new()) }
}

fn state() -> &'static RwLock<State> {
    STATE.get_or_init(|| RwLock::new(fresh(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))))
}

/// Number of threads parallel kernels use.
pub fn num_threads() -> usize {
    state().read().unwrap_or_else(|e| e.into_inner()).threads
}

/// Sets the number of threads (1..=MAX_THREADS) used by later calls.
pub fn set_num_threads(n: usize) -> Result<(), String> {
    if n == 0 || n > MAX_THREADS {
        return Err(format!("setNumThreads: n must be in [1, {MAX_THREADS}], got {n}"));
    }
    let mut st = state().write().unwrap_or_else(|e| e.into_inner());
    if st.threads != n {
        *st = fresh(n);
    }
    Ok(())
}

/// The threads of a split: the caller and `crew.helpers()` others.
pub struct Pool {
    crew: Arc<Crew>,
}

impl Pool {
    pub fn current_num_threads(&self) -> usize {
        self.crew.helpers() + 1
    }
}

/// The current pool, or None when only one thread is configured.
pub fn pool() -> Option<Pool> {
    let st = state().read().unwrap_or_else(|e| e.into_inner());
    (st.threads > 1).then(|| Pool { crew: st.crew.clone() })
}

/// The pool to use for a call with `est_ns` of estimated serial work, if it is worth splitting.
pub fn pool_for(est_ns: f64) -> Option<Pool> {
    if est_ns < PAR_MIN_NS {
        return None;
    }
    pool()
}

/// A rayon pool of `num_threads()` workers for code that schedules its own work on rayon (the
/// `gemm` crate), if `est_ns` is worth splitting. Its workers sleep whenever it is not in use.
pub fn rayon_for(est_ns: f64) -> Option<Arc<ThreadPool>> {
    if est_ns < PAR_MIN_NS {
        return None;
    }
    let (threads, cell) = {
        let st = state().read().unwrap_or_else(|e| e.into_inner());
        (st.threads, st.rayon.clone())
    };
    if threads < 2 {
        return None;
    }
    Some(
        cell.get_or_init(|| {
            Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("ferrograd-rayon-{i}"))
                    .build()
                    .expect("failed to start the ferrograd rayon pool"),
            )
        })
        .clone(),
    )
}

/// A split in progress: shares are claimed by counting up `next`, so each runs exactly once, on
/// whichever thread claims it first.
struct Split {
    shares: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// The caller's closure, lifetime erased: only dereferenced after a successful claim, and the
    /// caller does not return before every claimed share is done (see `run_shares`).
    f: *const (dyn Fn(usize) + Sync),
}
// SAFETY: `f` points to a Sync closure and is only used as described above.
unsafe impl Send for Split {}
unsafe impl Sync for Split {}

impl Job for Split {
    /// Claims and runs shares until none is left; a panic is kept for the caller to resume.
    fn run(&self) {
        loop {
            let g = self.next.fetch_add(1, Ordering::AcqRel);
            if g >= self.shares {
                return;
            }
            // SAFETY: g was claimed here, so the caller is still waiting and `f` is alive.
            let f = unsafe { &*self.f };
            if let Err(e) = std::panic::catch_unwind(AssertUnwindSafe(|| f(g))) {
                self.panic.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// Runs `f(g)` for each share g in 0..shares, on the calling thread and on pool workers, and
/// returns when all are done. The caller works through the shares itself and the workers take
/// what is left when they wake up, so a worker that is slow to start (the other core busy, a
/// futex wake-up of several µs) makes the call no slower than running it on one thread; the
/// caller waits only for shares a worker has already started. (With `install` the caller slept
/// while two woken workers did the work, and 2 threads ran the MLP step slower than one.)
fn run_shares(p: &Pool, shares: usize, f: &(dyn Fn(usize) + Sync)) {
    // SAFETY (lifetime erasure): see `Split::f`; this function does not return (or unwind) before
    // every claimed share has finished, and unclaimed ones can no longer be claimed by then.
    let f: *const (dyn Fn(usize) + Sync + '_) = f;
    let f: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(f) };
    let split = Arc::new(Split { shares, next: AtomicUsize::new(0), done: AtomicUsize::new(0), panic: Mutex::new(None), f });
    p.crew.offer(split.clone());
    split.run();
    let mut spins = 0u32;
    while split.done.load(Ordering::Acquire) < shares {
        if spins < 64 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
    let panic = split.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(e) = panic {
        std::panic::resume_unwind(e);
    }
}

/// Shares per thread: a worker that starts late still finds work left, and the caller's and the
/// worker's last shares end close together.
const SHARES_PER_THREAD: usize = 4;

/// The shares of `n` items for a pool: contiguous ranges, SHARES_PER_THREAD per thread (at most n).
fn shares_of(p: &Pool, n: usize) -> (usize, impl Fn(usize) -> std::ops::Range<usize> + Sync + Copy) {
    let t = (p.current_num_threads() * SHARES_PER_THREAD).clamp(1, n.max(1));
    (t, move |g: usize| g * n / t..(g + 1) * n / t)
}

/// Calls `f(chunk_index, chunk)` for consecutive chunks of `out` (each `chunk` elements, the last
/// possibly shorter), in parallel when `est_ns` is large enough. Each chunk must be computed
/// independently of the others, so the result does not depend on the thread count.
pub fn for_each_chunk<T: Send>(
    out: &mut [T],
    chunk: usize,
    est_ns: f64,
    f: impl Fn(usize, &mut [T]) + Send + Sync,
) {
    let chunk = chunk.max(1);
    if out.len() <= chunk {
        if !out.is_empty() {
            f(0, out);
        }
        return;
    }
    match pool_for(est_ns) {
        Some(p) => {
            let (len, n) = (out.len(), out.len().div_ceil(chunk));
            let op = SendPtr(out.as_mut_ptr());
            let (shares, share) = shares_of(&p, n);
            run_shares(&p, shares, &|g| {
                for i in share(g) {
                    let start = i * chunk;
                    // SAFETY: chunk i covers out[start..start + c] alone (c > 0, in bounds), and
                    // every chunk index belongs to exactly one share.
                    let c = unsafe { std::slice::from_raw_parts_mut(op.get().add(start), chunk.min(len - start)) };
                    f(i, c);
                }
            });
        }
        None => out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c)),
    }
}

/// Calls `f(i)` for i in 0..n, in parallel when `est_ns` is large enough.
pub fn for_each_index(n: usize, est_ns: f64, f: impl Fn(usize) + Send + Sync) {
    if n <= 1 {
        if n == 1 {
            f(0);
        }
        return;
    }
    match pool_for(est_ns) {
        Some(p) => {
            let (shares, share) = shares_of(&p, n);
            run_shares(&p, shares, &|g| share(g).for_each(&f));
        }
        None => (0..n).for_each(f),
    }
}

/// Calls `f(i)` for i in 0..n, each i a share of its own, in parallel when `est_ns` is large
/// enough: for a few long tasks of similar cost (sgemm's column panels), where the
/// SHARES_PER_THREAD ranges of `for_each_index` would leave one thread a whole range of work
/// after the other has finished.
pub fn for_each_task(n: usize, est_ns: f64, f: impl Fn(usize) + Send + Sync) {
    match pool_for(est_ns) {
        Some(p) if n > 1 => run_shares(&p, n, &f),
        _ => (0..n).for_each(f),
    }
}

/// Calls `f(start, end)` over 0..len: SHARES_PER_THREAD ranges per thread (starts on multiples of
/// `align`) when `est_ns` is large enough to split, else once over everything. For work whose
/// every element is computed independently (per-column statistics) and wants wide ranges.
pub fn for_each_range(len: usize, align: usize, est_ns: f64, f: impl Fn(usize, usize) + Send + Sync) {
    if len == 0 {
        return;
    }
    if let Some(p) = pool_for(est_ns) {
        let per = len.div_ceil(p.current_num_threads() * SHARES_PER_THREAD).next_multiple_of(align.max(1));
        let tasks = len.div_ceil(per);
        if tasks > 1 {
            return run_shares(&p, tasks, &|i| f(i * per, ((i + 1) * per).min(len)));
        }
    }
    f(0, len)
}

/// Maps `f` over 0..n into a Vec, in parallel when worthwhile; element i is always `f(i)`.
pub fn map_index<R: Send>(n: usize, est_ns: f64, f: impl Fn(usize) -> R + Send + Sync) -> Vec<R> {
    match pool_for(est_ns) {
        Some(p) if n > 1 => {
            let (shares, share) = shares_of(&p, n);
            let parts: Vec<std::sync::Mutex<Vec<R>>> = (0..shares).map(|_| std::sync::Mutex::new(Vec::new())).collect();
            run_shares(&p, shares, &|g| {
                let v: Vec<R> = share(g).map(&f).collect();
                *parts[g].lock().unwrap_or_else(|e| e.into_inner()) = v;
            });
            parts.into_iter().flat_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).collect()
        }
        _ => (0..n).map(f).collect(),
    }
}

/// A raw pointer that may cross threads: used where disjoint writes are proven by index arithmetic
/// but cannot be expressed with `chunks_mut` (e.g. strided outputs).
pub struct SendPtr<T>(pub *mut T);
// By hand: derive would require T: Copy, but the pointer is copyable whatever it points to.
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// Accessor (closures must capture the whole wrapper, not the raw field, to stay Send).
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_threads() {
        let _g = crate::testutil::THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let before = num_threads();
        set_num_threads(1).unwrap();
        assert_eq!(num_threads(), 1);
        assert!(pool().is_none());
        set_num_threads(2).unwrap();
        assert_eq!(num_threads(), 2);
        assert_eq!(pool().unwrap().current_num_threads(), 2);
        assert!(set_num_threads(0).is_err());
        assert!(set_num_threads(MAX_THREADS + 1).is_err());
        set_num_threads(before).unwrap();
    }

    #[test]
    fn a_panic_in_a_share_reaches_the_caller_after_the_others_finish() {
        let _g = crate::testutil::THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let before = num_threads();
        set_num_threads(2).unwrap();
        let ran = AtomicUsize::new(0);
        for bad in [0usize, 5] {
            ran.store(0, Ordering::Relaxed);
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                for_each_index(6, 1e9, |i| {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    ran.fetch_add(1, Ordering::Relaxed);
                    assert!(i != bad, "share {i} fails");
                })
            }));
            let msg = r.unwrap_err().downcast::<String>().map(|s| *s).unwrap_or_default();
            assert_eq!(msg, format!("share {bad} fails"));
            // Nothing of the call is still running once it has returned.
            let n = ran.load(Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert_eq!(ran.load(Ordering::Relaxed), n);
        }
        // The pool still works afterwards, and every index of a split runs exactly once.
        let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
        for_each_index(1000, 1e9, |i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        let m = map_index(1001, 1e9, |i| i * 3);
        assert!(m.iter().enumerate().all(|(i, &v)| v == i * 3));
        set_num_threads(before).unwrap();
    }

    #[test]
    fn chunks_cover_everything_once() {
        for &n in &[0usize, 1, 7, 64, 1000, 100_003] {
            let mut v = vec![0u32; n];
            for_each_chunk(&mut v, 64, 1e9, |ci, c| {
                for (j, x) in c.iter_mut().enumerate() {
                    *x += (ci * 64 + j) as u32 + 1;
                }
            });
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32 + 1));
        }
    }
}
