//! `fitbench-engine perplexity`: llama-perplexity's scoring of a text file.

use anyhow::{Context, Result};
use clap::Args;
use fitbench_engine::perplexity::{chunk_start, perplexity};
use fitbench_engine::{Session, SessionOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct PerplexityArgs {
    #[command(flatten)]
    pub load: super::LoadFlags,
    #[arg(short = 'm', long)]
    model: PathBuf,
    /// Text file to score.
    #[arg(short = 'f', long)]
    file: PathBuf,
    #[arg(short = 'c', long, default_value_t = 512)]
    ctx_size: usize,
    #[arg(short = 'b', long, default_value_t = 512)]
    batch_size: usize,
    #[arg(short = 't', long, default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    placement: super::placement_args::PlacementArgs,
}

pub fn run(a: PerplexityArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let opts = a.load.apply(a.placement.load_options(a.ctx_size)?);
    let (model, tok) = super::load(&a.model, &opts)?;
    let bos = chunk_start(&tok).with_context(|| a.model.display().to_string())?;
    let tokens = tok.encode(&text, true, false);
    let n = a.batch_size.clamp(1, a.ctx_size.max(1));
    let opts = SessionOptions {
        n_ctx: a.ctx_size,
        n_batch: n,
        n_ubatch: n,
        n_threads: a.threads,
        ..Default::default()
    };
    let mut session = Session::new(&model, opts)?;
    eprintln!(
        "{} tokens, {} chunks of {}",
        tokens.len(),
        tokens.len() / a.ctx_size.max(1),
        a.ctx_size
    );
    let t0 = Instant::now();
    let stats = perplexity(&mut session, &tokens, bos, |i, _, s| {
        print!("[{}]{:.4},", i + 1, s.ppl());
        let _ = std::io::stdout().flush();
    })
    .with_context(|| format!("scoring {}", a.file.display()))?;
    println!();
    println!(
        "Final estimate: PPL = {:.4} +/- {:.5}",
        stats.ppl(),
        stats.ppl_stderr()
    );
    eprintln!("{:.2} s", t0.elapsed().as_secs_f64());
    Ok(())
}
