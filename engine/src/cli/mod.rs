//! Subcommands of the `fitbench-engine` binary kept out of main.rs.

pub mod bench;
pub mod info;
pub mod perplexity;
pub mod placement_args;
pub mod run;
pub mod synth;

use anyhow::{Context, Result};
use fitbench_engine::tokenizer::Tokenizer;
use fitbench_engine::{LoadOptions, Model};
use std::path::Path;

/// Loads a model (placing its weights per `opts`) and its tokenizer; errors name the file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(Model, Tokenizer)> {
    if !path.is_file() {
        anyhow::bail!("model file {} not found", path.display());
    }
    let model = Model::load(path, opts).with_context(|| format!("loading {}", path.display()))?;
    placement_args::report_notice(&model);
    let tok = Tokenizer::from_metadata(model.metadata())
        .with_context(|| format!("tokenizer of {}", path.display()))?;
    Ok((model, tok))
}
