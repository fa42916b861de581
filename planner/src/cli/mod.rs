//! Command-line front end: one file per subcommand, each with its `Args` and `run`.

use clap::{Parser, Subcommand};

pub mod bench;
pub mod compare;
pub mod import;

#[derive(Parser)]
#[command(
    name = "fitbench",
    version,
    about = "Which model and quant fit this machine, and how fast they run"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a benchmark suite and append the results to results/.
    Bench(bench::Args),
    /// Compare two results files; exit status 2 on a regression.
    Compare(compare::Args),
    /// Convert llama-bench JSON/JSONL output to fitbench records.
    Import(import::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Bench(a) => bench::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Import(a) => import::run(a),
    }
}
