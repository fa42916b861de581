//! The persistent worker pool: built once per session, reused for every parallel region of every
//! forward pass. The thread that installs it takes part in each region, so `-t N` means N threads.
//!
//! Why not rayon: a decode step is ~30 short parallel regions separated by short serial work
//! (norms, routing, activation quantizing). Rayon's idle workers yield-spin for a few µs and then
//! sleep on a futex, so each region after a 20–50 µs serial gap paid 12–35 µs of wake-up on this
//! 2-vCPU VM (measured: 20 µs tasks took 52 µs per region after a 20 µs gap, 106 µs after 50 µs).
//! Here idle workers spin on a generation counter for a few milliseconds before sleeping, as
//! llama.cpp's threadpool polls, so a region starts within a cache-line transfer.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Idle workers spin (pause, then yield) this long after their last region before sleeping.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_millis(3);
/// Within the spin, pure `pause` spinning for this long, then `sched_yield` between checks (so an
/// oversubscribed machine, e.g. parallel tests, still gets its CPU back).
const PAUSE_ONLY: Duration = Duration::from_micros(100);

pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

/// One parallel region: `items` indices handed out one at a time to whoever asks next.
struct Job {
    run: *const (dyn Fn(usize) + Sync),
    items: usize,
}

struct Shared {
    n_threads: usize,
    /// Bumped once per region (and once at shutdown); workers wait for it to change.
    generation: AtomicU64,
    /// The current region (null between regions), written by the caller only while every worker
    /// is between regions and published by the `generation` bump after it.
    job: AtomicPtr<Job>,
    next_item: AtomicUsize,
    /// Workers that have finished the current region.
    finished: AtomicUsize,
    /// Workers asleep on `wake` (the caller notifies only when there are some).
    sleeping: AtomicUsize,
    sleep_lock: Mutex<()>,
    wake: Condvar,
    shutdown: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// One region at a time per pool, whichever thread installed it.
    region: Mutex<()>,
}

// Lifetime of a published job: the job (and the closure it points to) outlives every worker's use
// of it, because the caller publishing it waits until all workers have reported `finished`.

thread_local! {
    /// The pool installed on this thread (null: none; regions run serially).
    static INSTALLED: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    /// Set while this thread runs a region's items: nested regions run serially in place.
    static IN_REGION: Cell<bool> = const { Cell::new(false) };
}

impl ThreadPool {
    /// `n_threads == 0` means one per available core. Spawns `n_threads - 1` workers.
    pub fn new(n_threads: usize) -> std::io::Result<ThreadPool> {
        super::heap::keep_freed_memory();
        let n = if n_threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            n_threads
        };
        let shared = Arc::new(Shared {
            n_threads: n,
            generation: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            next_item: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            sleep_lock: Mutex::new(()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            panic: Mutex::new(None),
            region: Mutex::new(()),
        });
        let mut pool = ThreadPool {
            shared: shared.clone(),
            workers: Vec::new(),
        };
        for i in 1..n {
            let s = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("fitbench-worker-{i}"))
                .spawn(move || worker(&s))?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    pub fn n_threads(&self) -> usize {
        self.shared.n_threads
    }

    /// Runs `f` on this thread with this pool serving every parallel region inside it.
    pub fn install<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(*const Shared);
        impl Drop for Restore {
            fn drop(&mut self) {
                INSTALLED.with(|c| c.set(self.0));
            }
        }
        let previous = INSTALLED.with(|c| c.replace(Arc::as_ptr(&self.shared)));
        let _restore = Restore(previous);
        f()
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        {
            let _g = lock(&self.shared.sleep_lock);
            self.shared.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Threads the parallel regions started on this thread use (1 outside an installed pool or
/// inside a region).
pub fn current_threads() -> usize {
    if IN_REGION.with(|c| c.get()) {
        return 1;
    }
    let p = INSTALLED.with(|c| c.get());
    if p.is_null() {
        1
    } else {
        // SAFETY: `install` keeps the pool (and so its `Shared`) alive while the pointer is set.
        unsafe { (*p).n_threads }
    }
}

/// Calls `f(i)` for every `i < items`, spread over the installed pool's threads (serially when
/// there is no pool, one thread, a single item, or when already inside a region). Returns once
/// every call has returned; a panic in any call is re-raised here.
pub fn run_indexed(items: usize, f: &(dyn Fn(usize) + Sync)) {
    if items <= 1 || current_threads() <= 1 {
        (0..items).for_each(f);
        return;
    }
    // SAFETY: `current_threads` > 1 means a pool is installed here, kept alive by `install`.
    let shared = unsafe { &*INSTALLED.with(|c| c.get()) };
    let _region = lock(&shared.region);
    let job = Job {
        // SAFETY (lifetime erased): workers use the closure only before reporting `finished`, and
        // this function does not return before all of them have.
        run: unsafe {
            std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync)>(
                f,
            )
        },
        items,
    };
    shared
        .job
        .store(&job as *const Job as *mut Job, Ordering::Relaxed);
    shared.next_item.store(0, Ordering::Relaxed);
    shared.finished.store(0, Ordering::Relaxed);
    shared.generation.fetch_add(1, Ordering::SeqCst);
    if shared.sleeping.load(Ordering::SeqCst) > 0 {
        let _g = lock(&shared.sleep_lock);
        shared.wake.notify_all();
    }
    take_items(shared, &job);
    let workers = shared.n_threads - 1;
    let start = Instant::now();
    while shared.finished.load(Ordering::Acquire) < workers {
        relax(start.elapsed());
    }
    shared.job.store(std::ptr::null_mut(), Ordering::Relaxed);
    if let Some(payload) = lock(&shared.panic).take() {
        resume_unwind(payload);
    }
}

/// Runs items of `job` until none are left; a panic is kept for the caller to re-raise.
fn take_items(shared: &Shared, job: &Job) {
    IN_REGION.with(|c| c.set(true));
    loop {
        let i = shared.next_item.fetch_add(1, Ordering::Relaxed);
        if i >= job.items {
            break;
        }
        // SAFETY: see the job's lifetime note above `thread_local!`.
        let run = unsafe { &*job.run };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(i))) {
            // Skip what is left; the first panic wins.
            shared.next_item.store(usize::MAX / 2, Ordering::Relaxed);
            lock(&shared.panic).get_or_insert(payload);
        }
    }
    IN_REGION.with(|c| c.set(false));
}

fn worker(shared: &Shared) {
    // Not a load: a region published before this thread first ran must still count it in.
    let mut seen = 0;
    loop {
        let start = Instant::now();
        let mut now = shared.generation.load(Ordering::Acquire);
        while now == seen {
            // One clock read per round: it decides both sleeping and pausing vs yielding.
            let waited = start.elapsed();
            if waited > SPIN_BEFORE_SLEEP {
                now = sleep_until_changed(shared, seen);
                break;
            }
            relax(waited);
            now = shared.generation.load(Ordering::Acquire);
        }
        seen = now;
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let job = shared.job.load(Ordering::Relaxed);
        if !job.is_null() {
            // SAFETY: published by the generation bump just observed; see the lifetime note.
            take_items(shared, unsafe { &*job });
        }
        shared.finished.fetch_add(1, Ordering::Release);
    }
}

/// Sleeps until the generation moves past `seen`; returns the new generation.
fn sleep_until_changed(shared: &Shared, seen: u64) -> u64 {
    let mut guard = lock(&shared.sleep_lock);
    shared.sleeping.fetch_add(1, Ordering::SeqCst);
    loop {
        let now = shared.generation.load(Ordering::SeqCst);
        if now != seen {
            shared.sleeping.fetch_sub(1, Ordering::SeqCst);
            return now;
        }
        guard = shared
            .wake
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// One step of a wait loop that has lasted `waited`: a `pause` early on, then a `sched_yield`.
#[inline]
fn relax(waited: Duration) {
    if waited < PAUSE_ONLY {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

/// Locks ignoring poison: the data behind these mutexes stays valid whatever panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_index_runs_once_on_every_pool_size() {
        for threads in [1, 2, 3, 5] {
            let pool = ThreadPool::new(threads).unwrap();
            for items in [0, 1, 2, 7, 1000] {
                let hits: Vec<AtomicU32> = (0..items).map(|_| AtomicU32::new(0)).collect();
                pool.install(|| {
                    run_indexed(items, &|i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    })
                });
                assert!(
                    hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                    "{threads} {items}"
                );
            }
        }
    }

    #[test]
    fn regions_use_the_workers_and_nested_regions_run_in_place() {
        let pool = ThreadPool::new(3).unwrap();
        let names = Mutex::new(std::collections::HashSet::new());
        pool.install(|| {
            assert_eq!(current_threads(), 3);
            for _ in 0..200 {
                run_indexed(64, &|_| {
                    assert_eq!(current_threads(), 1);
                    let inner = AtomicU32::new(0);
                    run_indexed(4, &|_| {
                        inner.fetch_add(1, Ordering::Relaxed);
                    });
                    assert_eq!(inner.load(Ordering::Relaxed), 4);
                    std::thread::sleep(Duration::from_micros(50));
                    let name = std::thread::current().name().map(str::to_string);
                    lock(&names).insert(name);
                });
            }
        });
        assert!(lock(&names).len() >= 2, "only {:?} ran items", lock(&names));
        assert_eq!(current_threads(), 1, "uninstalled after install returns");
    }

    #[test]
    fn a_panic_in_an_item_reaches_the_caller_and_the_pool_still_works() {
        let pool = ThreadPool::new(2).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.install(|| run_indexed(100, &|i| assert!(i != 57, "item 57 failed")))
        }));
        assert!(r.is_err());
        let count = AtomicU32::new(0);
        pool.install(|| {
            run_indexed(10, &|_| {
                count.fetch_add(1, Ordering::Relaxed);
            })
        });
        assert_eq!(count.load(Ordering::Relaxed), 10);
    }

    #[test]
    fn sleeping_workers_wake_for_the_next_region() {
        let pool = ThreadPool::new(2).unwrap();
        std::thread::sleep(SPIN_BEFORE_SLEEP * 4);
        let count = AtomicU32::new(0);
        pool.install(|| {
            run_indexed(50, &|_| {
                count.fetch_add(1, Ordering::Relaxed);
            })
        });
        assert_eq!(count.load(Ordering::Relaxed), 50);
        drop(pool); // joins the workers: a hang here is a lost wake-up
    }
}
