//! Sampling flags shared by `run` and `chat` (llama.cpp's names), over a named preset.

use anyhow::{Context, Result};
use clap::Args;
use fitbench_engine::sample::SamplingParams;

#[derive(Args)]
pub struct SamplingArgs {
    /// Sampling preset (thinking-general, thinking-coding, instruct-general, instruct-reasoning);
    /// explicit flags override it.
    #[arg(long)]
    preset: Option<String>,
    /// 0 = greedy.
    #[arg(long)]
    temp: Option<f32>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long)]
    min_p: Option<f32>,
    #[arg(long)]
    presence_penalty: Option<f32>,
    #[arg(long)]
    repeat_penalty: Option<f32>,
    #[arg(long)]
    repeat_last_n: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
}

impl SamplingArgs {
    pub fn params(&self) -> Result<SamplingParams> {
        let mut p = match &self.preset {
            None => SamplingParams::default(),
            Some(name) => SamplingParams::preset(name).with_context(|| {
                format!(
                    "unknown preset '{name}' (known: {})",
                    SamplingParams::PRESETS.join(", ")
                )
            })?,
        };
        if let Some(v) = self.temp {
            p.temperature = v;
        }
        if let Some(v) = self.top_k {
            p.top_k = v;
        }
        if let Some(v) = self.top_p {
            p.top_p = v;
        }
        if let Some(v) = self.min_p {
            p.min_p = v;
        }
        if let Some(v) = self.presence_penalty {
            p.presence_penalty = v;
        }
        if let Some(v) = self.repeat_penalty {
            p.repeat_penalty = v;
        }
        if let Some(v) = self.repeat_last_n {
            p.repeat_last_n = v;
        }
        if let Some(v) = self.seed {
            p.seed = v;
        }
        Ok(p)
    }
}
