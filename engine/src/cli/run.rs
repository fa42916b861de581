//! `fitbench-engine run`: generate text from a prompt, streamed to stdout.

use anyhow::{bail, Context, Result};
use clap::Args;
use fitbench_engine::sample::Sampler;
use fitbench_engine::tokenizer::ChatMessage;
use fitbench_engine::{Session, WantLogits};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub load: super::LoadFlags,
    /// The GGUF file (the first part of a split model).
    #[arg(short = 'm', long)]
    model: PathBuf,
    /// The prompt text (with --chat: the user's message).
    #[arg(
        short = 'p',
        long,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    prompt: Option<String>,
    /// Read the prompt from a file instead (llama-cli's -f).
    #[arg(short = 'f', long)]
    file: Option<PathBuf>,
    /// Tokens to generate at most; -1 = until the end of generation or a full context.
    #[arg(short = 'n', long, default_value_t = 128, allow_hyphen_values = true)]
    n_predict: i64,
    /// Wrap the prompt as a user message in the model's chat template.
    #[arg(long)]
    chat: bool,
    #[command(flatten)]
    shared: super::session_args::SessionArgs,
}

pub fn run(a: RunArgs) -> Result<()> {
    let params = a.shared.sampling.params()?;
    let prompt = match (&a.prompt, &a.file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("reading the prompt file {}", f.display()))?,
        (None, None) => bail!("give a prompt with -p TEXT or -f FILE"),
    };
    let opts = a
        .load
        .apply(a.shared.placement.load_options(a.shared.ctx_size)?);
    let (model, tok) = super::load(&a.model, &opts)?;
    let tokens = if a.chat {
        let template = a.shared.chat_template(&model, &a.model)?;
        let opts = a.shared.render_options(&tok);
        let text = template.render(&[ChatMessage::new("user", prompt.clone())], &opts)?;
        // The template writes BOS itself when it wants one.
        tok.encode(&text, false, true)
    } else {
        tok.encode(&prompt, true, true)
    };
    if tokens.is_empty() {
        bail!("the prompt is empty after tokenization");
    }
    if tokens.len() >= a.shared.ctx_size {
        bail!(
            "the prompt is {} tokens, longer than the context ({}); raise -c",
            tokens.len(),
            a.shared.ctx_size
        );
    }
    let mut session = Session::new(&model, a.shared.session_options())?;
    let mut sampler = Sampler::new(params);
    for &t in &tokens {
        sampler.accept(t);
    }

    let t0 = Instant::now();
    for part in tokens.chunks(a.shared.batch()) {
        session.decode_in_place(part, WantLogits::Last)?;
    }
    let prompt_s = t0.elapsed().as_secs_f64();

    let mut out = std::io::stdout().lock();
    let reply = super::generate::generate(
        &mut session,
        &mut sampler,
        &tok,
        usize::try_from(a.n_predict).unwrap_or(usize::MAX),
        false,
        &mut out,
    )?;
    eprintln!(
        "prompt: {} tokens, {:.1} t/s | generation: {} tokens, {:.1} t/s",
        tokens.len(),
        tokens.len() as f64 / prompt_s.max(1e-9),
        reply.n_tokens,
        reply.n_tokens as f64 / reply.seconds.max(1e-9)
    );
    Ok(())
}
