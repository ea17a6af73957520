//! The pool's own helper threads: how a split reaches them and how they wait between splits.
//!
//! A call with T threads runs on the calling thread and T − 1 helpers. (With a rayon pool of T
//! workers beside the caller, 3 threads took turns on the 2 cores: over a 6 ms 1024³ product on
//! 2 threads the caller spent 0.3-0.5 ms runnable but off a core, and the workers were runnable
//! 1-4 ms each without running.) A helper that finishes a split spins for a while before it
//! sleeps, so the next split finds it awake: a sleeping worker on the 2-core VM took 35-50 µs to
//! start, a rayon worker that had just gone to sleep often more than 1 ms, a spinning helper
//! under 1 µs (`examples/pool_wake.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Work the helpers can join: `run` claims and runs what is left of it (and returns at once when
/// nothing is, so a helper that sees a finished split late does no harm).
pub trait Job: Send + Sync {
    fn run(&self);
}

/// How long a helper spins for a new split before it sleeps: long enough to cover the JavaScript
/// and allocation between two parallel kernels of a training step and a minor GC (0.3 ms at
/// 1024³), short enough that a process that has stopped computing frees the core at once.
const SPIN: Duration = Duration::from_micros(300);

/// What the caller and the helpers share.
struct Board {
    /// Bumped for each new split; a helper that sees it change takes `current`.
    epoch: AtomicU64,
    current: Mutex<Option<Arc<dyn Job>>>,
    /// Helpers asleep on `wake` (or about to be): the caller only takes the lock and signals
    /// when some are.
    sleeping: AtomicUsize,
    wake: Condvar,
    quit: AtomicBool,
}

/// T − 1 helper threads; dropping the crew lets them finish and exit.
pub struct Crew {
    board: Arc<Board>,
    helpers: usize,
}

impl Crew {
    /// Starts `helpers` threads named ferrograd-1, ferrograd-2, ...
    pub fn new(helpers: usize) -> Crew {
        let board = Arc::new(Board {
            epoch: AtomicU64::new(0),
            current: Mutex::new(None),
            sleeping: AtomicUsize::new(0),
            wake: Condvar::new(),
            quit: AtomicBool::new(false),
        });
        for i in 0..helpers {
            let b = board.clone();
            std::thread::Builder::new()
                .name(format!("ferrograd-{}", i + 1))
                .spawn(move || helper(&b))
                .expect("failed to start a ferrograd helper thread");
        }
        Crew { board, helpers }
    }

    pub fn helpers(&self) -> usize {
        self.helpers
    }

    /// Offers `job` to every helper; they run it as soon as they see it (a spinning helper
    /// within about a microsecond, a sleeping one once woken).
    pub fn offer(&self, job: Arc<dyn Job>) {
        let b = &*self.board;
        *b.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
        b.epoch.fetch_add(1, Ordering::SeqCst);
        // A helper counts itself in `sleeping` (under the lock) before its last look at the
        // epoch, so either it sees the new epoch or we see it counted and signal it.
        if b.sleeping.load(Ordering::SeqCst) > 0 {
            let _g = b.current.lock().unwrap_or_else(|e| e.into_inner());
            b.wake.notify_all();
        }
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        let b = &*self.board;
        b.quit.store(true, Ordering::SeqCst);
        b.epoch.fetch_add(1, Ordering::SeqCst);
        let _g = b.current.lock().unwrap_or_else(|e| e.into_inner());
        b.wake.notify_all();
    }
}

fn helper(b: &Board) {
    // The epoch the board started with (not its value now: an offer made before this thread
    // got going must still be seen).
    let mut seen = 0;
    loop {
        let t0 = Instant::now();
        let mut spins = 0u32;
        while b.epoch.load(Ordering::Acquire) == seen {
            std::hint::spin_loop();
            spins += 1;
            if !spins.is_multiple_of(256) {
                continue;
            }
            // Every few µs, let a thread waiting for this core run first (our caller, when
            // other processes hold the other core); with none waiting this returns at once.
            std::thread::yield_now();
            if t0.elapsed() > SPIN {
                let mut g = b.current.lock().unwrap_or_else(|e| e.into_inner());
                b.sleeping.fetch_add(1, Ordering::SeqCst);
                while b.epoch.load(Ordering::SeqCst) == seen {
                    g = b.wake.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                b.sleeping.fetch_sub(1, Ordering::SeqCst);
                break;
            }
        }
        seen = b.epoch.load(Ordering::Acquire);
        if b.quit.load(Ordering::Acquire) {
            return;
        }
        let job = b.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(job) = job {
            job.run();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts its runs.
    struct Count(AtomicUsize);
    impl Job for Count {
        fn run(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn wait_until(what: &str, ok: impl Fn() -> bool) {
        let t0 = Instant::now();
        while !ok() {
            assert!(t0.elapsed() < Duration::from_secs(10), "{what}");
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    #[test]
    fn helpers_run_offers_while_spinning_and_after_sleeping() {
        let crew = Crew::new(2);
        for pause in [Duration::ZERO, SPIN * 20] {
            // After the pause the helpers have gone to sleep: the offer must wake them.
            std::thread::sleep(pause);
            let job = Arc::new(Count(AtomicUsize::new(0)));
            crew.offer(job.clone());
            wait_until("both helpers run the job", || job.0.load(Ordering::SeqCst) == 2);
        }
    }

    #[test]
    fn dropping_the_crew_ends_its_threads() {
        let crew = Crew::new(2);
        let board = crew.board.clone();
        crew.offer(Arc::new(Count(AtomicUsize::new(0))));
        drop(crew);
        // Each helper holds the board until it returns.
        wait_until("helpers exit", || Arc::strong_count(&board) == 1);
    }
}
