//! Command-line front end: one file per subcommand, each with its `Args` and `run`.

use clap::{Parser, Subcommand};

pub mod probe;
pub mod profiles;

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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Probe(a) => probe::run(a),
        Command::Profiles(a) => profiles::run(a),
    }
}
