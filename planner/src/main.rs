use clap::Parser;

fn main() {
    restore_default_sigpipe();
    let cli = fitbench::cli::Cli::parse();
    if let Err(e) = fitbench::cli::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Rust ignores SIGPIPE, so `fitbench plan | head` would panic on the closed pipe; a CLI should just stop.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; resets one signal to its default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
