//! Flags `run` and `chat` share: context, batch, threads, weight placement, chat template,
//! sampling.

use anyhow::{Context, Result};
use clap::Args;
use fitbench_engine::tokenizer::{ChatTemplate, RenderOptions, Tokenizer};
use fitbench_engine::{Model, SessionOptions};
use std::path::{Path, PathBuf};

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

impl SessionArgs {
    /// Prompt tokens per batch (at least one).
    pub fn batch(&self) -> usize {
        self.batch_size.max(1)
    }

    pub fn session_options(&self) -> SessionOptions {
        SessionOptions {
            n_ctx: self.ctx_size,
            n_batch: self.batch(),
            n_ubatch: self.batch(),
            n_threads: self.threads,
            ..Default::default()
        }
    }

    /// The chat template: `--chat-template-file` if given, else the model's
    /// `tokenizer.chat_template`.
    pub fn chat_template(&self, model: &Model, model_path: &Path) -> Result<ChatTemplate> {
        match &self.chat_template_file {
            Some(f) => Ok(ChatTemplate::from_file(f)?),
            None => ChatTemplate::from_metadata(model.metadata())?.with_context(|| {
                format!(
                    "{} has no chat template (pass --chat-template-file)",
                    model_path.display()
                )
            }),
        }
    }

    /// Template variables: the tokenizer's BOS/EOS, a generation prompt, and `--no-think`.
    pub fn render_options(&self, tok: &Tokenizer) -> RenderOptions {
        let mut opts = RenderOptions::for_tokenizer(tok, true);
        if self.no_think {
            opts.enable_thinking = Some(false);
        }
        opts
    }
}
