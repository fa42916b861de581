//! Subcommands of the `fitbench-engine` binary kept out of main.rs.

pub mod bench;
pub mod chat;
pub mod config_summary;
pub mod generate;
pub mod info;
pub mod perplexity;
pub mod placement_args;
pub mod run;
pub mod sampling_args;
pub mod session_args;
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
    /// Keep the file's weight layout (no repacking at load), as llama.cpp's --no-repack.
    #[arg(long = "no-repack", alias = "nr")]
    pub no_repack: bool,
}

impl LoadFlags {
    /// `opts` with these flags set.
    pub fn apply(&self, opts: LoadOptions) -> LoadOptions {
        LoadOptions {
            no_mmap: self.no_mmap,
            mlock: self.mlock,
            repack: !self.no_repack,
            ..opts
        }
    }
}

/// Loads a model's weights (placed per `opts`); the error names the file once.
pub fn load_model(path: &Path, opts: &LoadOptions) -> Result<Model> {
    if !path.is_file() {
        anyhow::bail!("model file {} not found", path.display());
    }
    Model::load(path, opts).map_err(|e| {
        let shown = path.display().to_string();
        // GGUF errors already start with the path; the others get it here.
        if e.to_string().contains(&shown) {
            anyhow::Error::new(e)
        } else {
            anyhow::Error::new(e).context(format!("loading {shown}"))
        }
    })
}

/// Loads a model (placing its weights per `opts`) and its tokenizer; errors name the file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(Model, Tokenizer)> {
    let model = load_model(path, opts)?;
    placement_args::report_notice(&model);
    let tok = Tokenizer::from_metadata(model.metadata())
        .with_context(|| format!("tokenizer of {}", path.display()))?;
    Ok((model, tok))
}
