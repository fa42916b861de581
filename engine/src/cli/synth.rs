//! `fitbench-engine synth --spec SPEC.json -o FILE`: write a synthetic GGUF from a JSON spec
//! (the low-level entry; `fitbench synth --like MODEL` builds the spec from the planner's catalog).

use anyhow::Result;
use clap::Args as ClapArgs;
use fitbench_engine::synth::{write_synth, SynthSpec};
use std::path::PathBuf;

#[derive(ClapArgs)]
pub struct Args {
    /// JSON spec: {"seed": N, "metadata": [[key, {"u32": 4}], …], "tensors": [{"name", "dims",
    /// "type", "init": {"normal": {"std": 0.02}} | "ones" | {"uniform": {"low", "high"}} | {"constant": x}}]}
    #[arg(long)]
    pub spec: PathBuf,
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let spec = SynthSpec::from_json_file(&args.spec)?;
    let r = write_synth(&spec, &args.output)?;
    eprintln!(
        "wrote {} ({} tensors, {} bytes) in {:.1} s",
        args.output.display(),
        r.n_tensors,
        r.file_bytes,
        r.seconds
    );
    Ok(())
}
