//! `fitbench synth --like MODEL --layers N --quant Q -o FILE`: a GGUF with a catalog model's real
//! per-layer shapes and the quant's llama-quantize type mix, random weights, for benchmarking a
//! model before downloading it. (The issue asked for `fitbench-engine synth --like`; the catalog
//! lives in this crate, so `--like` is offered here and `fitbench-engine synth --spec` stays the
//! low-level writer.)

use std::path::PathBuf;

use anyhow::Context;

use crate::catalog::{slice, synth_spec, SliceRequest};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "The engine's low-level writer is `fitbench-engine synth --spec SPEC.json -o FILE`; \
this command builds that spec from the catalog (shapes) and the quant recipe (per-tensor types)."
)]
pub struct Args {
    /// Catalog model id or name, e.g. qwen3.5-35b-a3b.
    #[arg(long)]
    pub like: String,
    /// Keep the first N layers (hybrid models keep their DeltaNet/attention pattern). Default: all.
    #[arg(long)]
    pub layers: Option<u64>,
    /// Quant, as llama-quantize names it (Q4_K_M, IQ4_XS, Q8_0, …).
    #[arg(long)]
    pub quant: String,
    /// Vocabulary size (token_embd/output rows); `--vocab 0` keeps the model's own.
    #[arg(long, default_value_t = 32768)]
    pub vocab: u64,
    /// Random seed: the same arguments and seed give the same file.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let req = SliceRequest {
        like: args.like.clone(),
        layers: args.layers,
        quant: args.quant.clone(),
        vocab: (args.vocab > 0).then_some(args.vocab),
    };
    let (entry, quant, model) = slice(&req)?;
    let spec = synth_spec(&entry, &quant, &model, args.seed)?;
    let report = fitbench_engine::synth::write_synth(&spec, &args.output)
        .with_context(|| format!("synthesizing {}", args.output.display()))?;
    eprintln!(
        "wrote {}: {} {} layers, vocab {}, {} tensors, {} bytes ({} of tensor data as predicted), {:.1} s",
        args.output.display(),
        entry.name,
        entry.layers,
        entry.vocab,
        report.n_tensors,
        report.file_bytes,
        model.total_bytes(),
        report.seconds
    );
    Ok(())
}
