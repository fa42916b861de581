//! Flags `run` and `chat` share: context, batch, threads, weight placement, chat template,
//! sampling.

use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct SessionArgs {
    /// Render the chat template with enable_thinking = false.
    #[arg(long)]
    pub no_think: bool,
    /// A Jinja chat template to use instead of the model's `tokenizer.chat_template`.
    #[arg(long)]
    pub chat_template_file: Option<PathBuf>,
    /// CPU threads; 0 = one per core.
    #[arg(short = 't', long, default_value_t = 0)]
    pub threads: usize,
    /// Context length in tokens.
    #[arg(short = 'c', long, default_value_t = 4096)]
    pub ctx_size: usize,
    /// Prompt tokens read per batch.
    #[arg(short = 'b', long, default_value_t = 512)]
    pub batch_size: usize,
    #[command(flatten)]
    pub placement: super::placement_args::PlacementArgs,
    #[command(flatten)]
    pub sampling: super::sampling_args::SamplingArgs,
}
