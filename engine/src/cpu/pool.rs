//! A persistent worker pool (rayon underneath): built once per session, reused for every decode.

pub struct ThreadPool {
    pool: rayon::ThreadPool,
}

impl ThreadPool {
    /// `n_threads == 0` means one per available core.
    pub fn new(n_threads: usize) -> Result<ThreadPool, rayon::ThreadPoolBuildError> {
        super::heap::keep_freed_memory();
        let n = if n_threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            n_threads
        };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
        Ok(ThreadPool { pool })
    }

    pub fn n_threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `f` with this pool as the target of every parallel iterator inside it.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}
