//! `fitbench-engine`: run a GGUF model from the command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fitbench_engine::reference::ReferenceLogits;
use fitbench_engine::{Session, SessionOptions, WantLogits};
use std::path::PathBuf;

mod cli;

#[derive(Parser)]
#[command(
    name = "fitbench-engine",
    about = "fitbench's bundled CPU inference engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// All tokens in one decode call.
    Batch,
    /// One token per decode call.
    Step,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate token ids and write all logits in the fixtures' reference format.
    Logits {
        #[arg(short = 'm', long)]
        model: PathBuf,
        /// Token ids: whitespace/comma separated text, or a reference .bin file (its tokens are used).
        #[arg(long)]
        tokens: PathBuf,
        #[arg(long, value_enum, default_value = "batch")]
        mode: Mode,
        #[arg(short = 'o', long)]
        output: PathBuf,
        #[arg(short = 't', long, default_value_t = 0)]
        threads: usize,
        #[command(flatten)]
        placement: cli::placement_args::PlacementArgs,
    },
    /// Write a synthetic GGUF (real shapes, seeded random weights) from a JSON spec.
    Synth(cli::synth::Args),
    /// Generate text from a prompt (streamed).
    Run(cli::run::RunArgs),
    /// Talk to the model: each line is a user message, the reply streams back (conversation mode).
    Chat(cli::chat::ChatArgs),
    /// Perplexity of a text file, scored as llama-perplexity does.
    Perplexity(cli::perplexity::PerplexityArgs),
    /// Measure prompt-processing and generation speed (llama-bench's protocol and flags).
    Bench(cli::bench::Args),
    /// Print the model's architecture, hyperparameters and where each tensor would live.
    Info {
        #[arg(short = 'm', long)]
        model: PathBuf,
        #[command(flatten)]
        placement: cli::placement_args::PlacementArgs,
    },
}

fn read_tokens(path: &PathBuf) -> Result<Vec<u32>> {
    if path.extension().is_some_and(|e| e == "bin") {
        return Ok(ReferenceLogits::read(path)?.tokens);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u32>()
                .with_context(|| format!("{}: '{s}' is not a token id", path.display()))
        })
        .collect()
}

fn main() {
    fitbench_engine::cli_exit::restore_default_sigpipe();
    fitbench_engine::cli_exit::run_or_exit(run_command);
}

fn run_command() -> Result<()> {
    match Cli::parse_from(cli::bench::normalize_args(std::env::args())).command {
        Command::Bench(args) => cli::bench::run(args)?,
        Command::Logits {
            model,
            tokens,
            mode,
            output,
            threads,
            placement,
        } => {
            let tokens = read_tokens(&tokens)?;
            if tokens.is_empty() {
                bail!("no tokens to evaluate");
            }
            let m = cli::load_model(&model, &placement.load_options(tokens.len())?)?;
            cli::placement_args::report_notice(&m);
            let n = tokens.len();
            let n_ctx_train = m.config().n_ctx_train;
            if n > n_ctx_train {
                bail!(
                    "{} tokens exceed the model's context length {n_ctx_train}",
                    n
                );
            }
            let opts = SessionOptions {
                n_ctx: n,
                n_batch: n,
                n_ubatch: n,
                n_threads: threads,
                ..Default::default()
            };
            let mut s = Session::new(&m, opts)?;
            let logits = match mode {
                Mode::Batch => s.decode(&tokens, WantLogits::All)?.data,
                Mode::Step => {
                    let mut all = Vec::with_capacity(n * m.vocab_size());
                    for &t in &tokens {
                        all.extend_from_slice(&s.decode(&[t], WantLogits::Last)?.data);
                    }
                    all
                }
            };
            let out = ReferenceLogits {
                tokens,
                n_vocab: m.vocab_size(),
                logits,
            };
            std::fs::write(&output, out.to_bytes())
                .with_context(|| format!("writing {}", output.display()))?;
        }
        Command::Synth(a) => cli::synth::run(a)?,
        Command::Run(a) => cli::run::run(a)?,
        Command::Chat(a) => cli::chat::run(a)?,
        Command::Perplexity(a) => cli::perplexity::run(a)?,
        Command::Info { model, placement } => cli::info::run(&model, &placement)?,
    }
    Ok(())
}
