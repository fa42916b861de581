//! Subcommands of the `fitbench-engine` binary kept out of main.rs.

pub mod bench;
pub mod perplexity;
pub mod run;
pub mod synth;

use anyhow::{Context, Result};
use fitbench_engine::tokenizer::Tokenizer;
use fitbench_engine::{LoadOptions, Model};
use std::path::Path;

/// Loads a model and its tokenizer; errors name the file.
pub fn load(path: &Path) -> Result<(Model, Tokenizer)> {
    if !path.is_file() {
        anyhow::bail!("model file {} not found", path.display());
    }
    let model = Model::load(path, &LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))?;
    let tok = Tokenizer::from_metadata(model.metadata())
        .with_context(|| format!("tokenizer of {}", path.display()))?;
    Ok((model, tok))
}
