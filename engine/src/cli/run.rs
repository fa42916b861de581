//! `fitbench-engine run`: generate text from a prompt, streamed to stdout.

use anyhow::{bail, Context, Result};
use clap::Args;
use fitbench_engine::sample::{Sampler, SamplingParams};
use fitbench_engine::tokenizer::{ChatMessage, ChatTemplate, RenderOptions, StreamDecoder};
use fitbench_engine::{Session, SessionOptions, WantLogits};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub load: super::LoadFlags,
    #[arg(short = 'm', long)]
    model: PathBuf,
    #[arg(short = 'p', long)]
    prompt: String,
    /// Tokens to generate at most.
    #[arg(short = 'n', long, default_value_t = 128)]
    n_predict: usize,
    /// Wrap the prompt as a user message in the model's chat template.
    #[arg(long)]
    chat: bool,
    /// Render the chat template with enable_thinking = false.
    #[arg(long)]
    no_think: bool,
    #[arg(long)]
    chat_template_file: Option<PathBuf>,
    #[arg(short = 't', long, default_value_t = 0)]
    threads: usize,
    #[arg(short = 'c', long, default_value_t = 4096)]
    ctx_size: usize,
    #[arg(short = 'b', long, default_value_t = 512)]
    batch_size: usize,
    #[command(flatten)]
    placement: super::placement_args::PlacementArgs,
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

fn sampling(a: &RunArgs) -> Result<SamplingParams> {
    let mut p = match &a.preset {
        None => SamplingParams::default(),
        Some(name) => SamplingParams::preset(name).with_context(|| {
            format!(
                "unknown preset '{name}' (known: {})",
                SamplingParams::PRESETS.join(", ")
            )
        })?,
    };
    if let Some(v) = a.temp {
        p.temperature = v;
    }
    if let Some(v) = a.top_k {
        p.top_k = v;
    }
    if let Some(v) = a.top_p {
        p.top_p = v;
    }
    if let Some(v) = a.min_p {
        p.min_p = v;
    }
    if let Some(v) = a.presence_penalty {
        p.presence_penalty = v;
    }
    if let Some(v) = a.repeat_penalty {
        p.repeat_penalty = v;
    }
    if let Some(v) = a.repeat_last_n {
        p.repeat_last_n = v;
    }
    if let Some(v) = a.seed {
        p.seed = v;
    }
    Ok(p)
}

pub fn run(a: RunArgs) -> Result<()> {
    let params = sampling(&a)?;
    let opts = a.load.apply(a.placement.load_options(a.ctx_size)?);
    let (model, tok) = super::load(&a.model, &opts)?;
    let tokens = if a.chat {
        let template = match &a.chat_template_file {
            Some(f) => ChatTemplate::from_file(f)?,
            None => ChatTemplate::from_metadata(model.metadata())?.with_context(|| {
                format!(
                    "{} has no chat template (pass --chat-template-file)",
                    a.model.display()
                )
            })?,
        };
        let mut opts = RenderOptions::for_tokenizer(&tok, true);
        if a.no_think {
            opts.enable_thinking = Some(false);
        }
        let text = template.render(&[ChatMessage::new("user", a.prompt.clone())], &opts)?;
        // The template writes BOS itself when it wants one.
        tok.encode(&text, false, true)
    } else {
        tok.encode(&a.prompt, true, true)
    };
    if tokens.is_empty() {
        bail!("the prompt is empty after tokenization");
    }
    if tokens.len() >= a.ctx_size {
        bail!(
            "the prompt is {} tokens, longer than the context ({}); raise -c",
            tokens.len(),
            a.ctx_size
        );
    }
    let opts = SessionOptions {
        n_ctx: a.ctx_size,
        n_batch: a.batch_size.max(1),
        n_ubatch: a.batch_size.max(1),
        n_threads: a.threads,
        ..Default::default()
    };
    let mut session = Session::new(&model, opts)?;
    let mut sampler = Sampler::new(params);
    for &t in &tokens {
        sampler.accept(t);
    }

    let t0 = Instant::now();
    for part in tokens.chunks(a.batch_size.max(1)) {
        session.decode_in_place(part, WantLogits::Last)?;
    }
    let prompt_s = t0.elapsed().as_secs_f64();

    let mut out = std::io::stdout().lock();
    let mut dec = StreamDecoder::new();
    let t1 = Instant::now();
    let mut n_gen = 0;
    while n_gen < a.n_predict && session.n_past() < a.ctx_size {
        let id = sampler.sample(&session.logits().data);
        sampler.accept(id);
        n_gen += 1;
        if tok.is_eog(id) {
            break;
        }
        out.write_all(dec.push(&tok, id).as_bytes())?;
        out.flush()?;
        if n_gen == a.n_predict || session.n_past() >= a.ctx_size {
            break;
        }
        session.decode_in_place(&[id], WantLogits::Last)?;
    }
    out.write_all(dec.finish().as_bytes())?;
    writeln!(out)?;
    out.flush()?;
    let gen_s = t1.elapsed().as_secs_f64();
    eprintln!(
        "prompt: {} tokens, {:.1} t/s | generation: {} tokens, {:.1} t/s",
        tokens.len(),
        tokens.len() as f64 / prompt_s.max(1e-9),
        n_gen,
        n_gen as f64 / gen_s.max(1e-9)
    );
    Ok(())
}
