use clap::Parser;
use fitbench_engine::cli_exit;

fn main() {
    cli_exit::restore_default_sigpipe();
    cli_exit::run_or_exit(|| fitbench::cli::run(fitbench::cli::Cli::parse()));
}
