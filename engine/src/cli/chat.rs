//! `fitbench-engine chat`: an interactive conversation (llama-cli's conversation mode, `ollama
//! run`). Each line read is a user message; the reply streams back; earlier turns stay in the
//! session, so a turn reads only its own tokens.

use anyhow::Result;
use clap::Args;
use fitbench_engine::sample::Sampler;
use fitbench_engine::tokenizer::{next_turn, ChatMessage, TurnText};
use fitbench_engine::{Session, SessionState, WantLogits};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub load: super::LoadFlags,
    /// The GGUF file (the first part of a split model).
    #[arg(short = 'm', long)]
    model: PathBuf,
    /// A system message to open the conversation with.
    #[arg(short = 's', long)]
    system: Option<String>,
    /// Tokens per reply at most; -1 = until the end of the turn or a full context.
    #[arg(short = 'n', long, default_value_t = -1, allow_hyphen_values = true)]
    n_predict: i64,
    #[command(flatten)]
    shared: super::session_args::SessionArgs,
}

pub fn run(a: ChatArgs) -> Result<()> {
    let params = a.shared.sampling.params()?;
    let opts = a
        .load
        .apply(a.shared.placement.load_options(a.shared.ctx_size)?);
    let (model, tok) = super::load(&a.model, &opts)?;
    let template = a.shared.chat_template(&model, &a.model)?;
    let render = a.shared.render_options(&tok);
    let batch = a.shared.batch();
    let mut session = Session::new(&model, a.shared.session_options())?;
    let mut sampler = Sampler::new(params.clone());
    let opening: Vec<ChatMessage> = a
        .system
        .iter()
        .map(|s| ChatMessage::new("system", s.clone()))
        .collect();
    let mut history = opening.clone();
    let mut checkpoint: Option<(String, SessionState)> = None;
    let n_predict = usize::try_from(a.n_predict).unwrap_or(usize::MAX);

    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprintln!(
            "chat with {} ({} tokens of context). /reset starts over, /exit or Ctrl-D ends.",
            a.model.display(),
            a.shared.ctx_size
        );
    }
    let mut out = std::io::stdout().lock();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("> ");
            std::io::stderr().flush()?;
        }
        let Some(line) = lines.next().transpose()? else {
            break;
        };
        let line = line.trim();
        match line {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                history = opening.clone();
                checkpoint = None;
                session.clear();
                sampler = Sampler::new(params.clone());
                continue;
            }
            _ => {}
        }
        let message = ChatMessage::new("user", line);
        let turn = next_turn(
            &template,
            &history,
            &message,
            &render,
            checkpoint.as_ref().map(|(t, _)| t.as_str()),
        )?;
        // Where the text goes: after what the session holds, after the checkpoint, or from 0.
        let (start, text) = match (&turn.feed, &checkpoint) {
            (TurnText::Append(s), _) => (session.n_past(), s),
            (TurnText::FromCheckpoint(s), Some((_, state))) => (state.n_past(), s),
            (TurnText::FromCheckpoint(_), None) => unreachable!("no checkpoint was offered"),
            (TurnText::Restart(s), _) => (0, s),
        };
        // The template writes BOS itself when it wants one.
        let tokens = tok.encode(text, false, true);
        // Checked before the session is touched, so a refused turn leaves it as it was.
        if start + tokens.len() >= a.shared.ctx_size {
            eprintln!(
                "the context is full ({} tokens held, {} more needed, -c {}): /reset to start over, or raise -c",
                start,
                tokens.len(),
                a.shared.ctx_size
            );
            continue;
        }
        match (&turn.feed, &checkpoint) {
            (TurnText::FromCheckpoint(_), Some((_, state))) => session.restore_state(state),
            (TurnText::Restart(_), _) => {
                session.clear();
                sampler = Sampler::new(params.clone());
            }
            _ => {}
        }
        for part in tokens.chunks(batch) {
            session.decode_in_place(part, WantLogits::Last)?;
        }
        for &t in &tokens {
            sampler.accept(t);
        }
        // The session now holds the whole conversation as rendered: the point to come back to
        // when the template rewrites this reply once the next message follows it.
        checkpoint = Some((turn.whole, session.save_state()));
        let reply =
            super::generate::generate(&mut session, &mut sampler, &tok, n_predict, true, &mut out)?;
        eprintln!(
            "[{} tokens, {:.1} t/s; context {}/{}]",
            reply.n_tokens,
            reply.n_tokens as f64 / reply.seconds.max(1e-9),
            session.n_past(),
            a.shared.ctx_size
        );
        history.push(message);
        history.push(ChatMessage::new("assistant", reply.text));
    }
    Ok(())
}
