//! Subcommands of the `fitbench-engine` binary kept out of main.rs.

pub mod bench;
pub mod perplexity;
pub mod run;
pub mod synth;

use anyhow::{Context, Result};
use fitbench_engine::tokenizer::Tokenizer;
use fitbench_engine::{LoadOptions, Model};
use std::path::Path;

/// How the weights are brought into memory (shared by run, bench and perplexity).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LoadFlags {
    /// Lock the weights in RAM (mlock), as llama.cpp's --mlock.
    #[arg(long)]
    pub mlock: bool,
    /// Read the weights into memory instead of mapping the file, as llama.cpp's --no-mmap.
    #[arg(long)]
    pub no_mmap: bool,
}

impl LoadFlags {
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            no_mmap: self.no_mmap,
            mlock: self.mlock,
        }
    }
}

/// Loads a model and its tokenizer; errors name the file.
pub fn load(path: &Path, flags: &LoadFlags) -> Result<(Model, Tokenizer)> {
    if !path.is_file() {
        anyhow::bail!("model file {} not found", path.display());
    }
    let model = Model::load(path, &flags.options())
        .with_context(|| format!("loading {}", path.display()))?;
    let tok = Tokenizer::from_metadata(model.metadata())
        .with_context(|| format!("tokenizer of {}", path.display()))?;
    Ok((model, tok))
}
