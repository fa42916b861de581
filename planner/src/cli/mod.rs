//! Command-line front end: one file per subcommand, each with its `Args` and `run`.

use clap::{Parser, Subcommand};

pub mod bench;
pub mod calibrate;
pub mod compare;
pub mod import;
pub mod inspect;
pub mod machine;
pub mod output;
pub mod plan;
mod plan_sweep;
pub mod probe;
pub mod profiles;
pub mod synth;

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
    /// Describe this machine: RAM, CPU, GPUs, measured RAM bandwidth.
    Probe(probe::Args),
    /// List the built-in hardware profiles.
    Profiles(profiles::Args),
    /// Which model and quant fit this machine (or --profile), with placement and predicted speed.
    Plan(plan::Args),
    /// A GGUF file's architecture, layers, tensor types and sizes (header only).
    Inspect(inspect::Args),
    /// Run a benchmark suite and append the results to results/.
    Bench(bench::Args),
    /// Compare two results files; exit status 2 on a regression.
    Compare(compare::Args),
    /// Convert llama-bench JSON/JSONL output to fitbench records.
    Import(import::Args),
    /// Write a GGUF with a catalog model's real shapes and random weights (see --help).
    Synth(synth::Args),
    /// Measure this machine's CPU speed coefficients on synthetic slices; `plan` then uses them.
    Calibrate(calibrate::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Probe(a) => probe::run(a),
        Command::Profiles(a) => profiles::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Import(a) => import::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Calibrate(a) => calibrate::run(a),
    }
}
