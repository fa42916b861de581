//! How both binaries (`fitbench`, `fitbench-engine`) start and end: a closed pipe stops them
//! quietly, and an error is one `error:` line with its causes and exit status 1.

/// Rust ignores SIGPIPE, so `fitbench plan | head` would panic on the closed pipe; a CLI should
/// just stop. Call first thing in `main`.
pub fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; resets one signal to its default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs `body`; on error prints `error: …` with the cause chain on one line (`{:#}`) and exits 1.
/// Returning the error from `main` instead would add a backtrace whenever RUST_BACKTRACE is set,
/// which is noise for a user's mistake.
pub fn run_or_exit(body: impl FnOnce() -> anyhow::Result<()>) {
    if let Err(e) = body() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
