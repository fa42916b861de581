//! Command-line front end: one file per subcommand, each with its `Args` and `run`.

use clap::{Parser, Subcommand};

pub mod probe;
pub mod profiles;
pub mod inspect;
pub mod machine;
pub mod output;
pub mod plan;

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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Probe(a) => probe::run(a),
        Command::Profiles(a) => profiles::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Inspect(a) => inspect::run(a),
    }
}
