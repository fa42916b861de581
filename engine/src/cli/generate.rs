//! The generation loop shared by `run` and `chat`: sample, stream the text, feed the token back.

use anyhow::Result;
use fitbench_engine::sample::Sampler;
use fitbench_engine::tokenizer::{StreamDecoder, Tokenizer};
use fitbench_engine::{Session, WantLogits};
use std::io::Write;

/// What one reply produced.
pub struct Generated {
    pub text: String,
    pub n_tokens: usize,
    pub seconds: f64,
}

/// Generates from the session's last logits until an end-of-generation token, `n_predict` tokens
/// or a full context, writing the text to `out` as it comes. With `keep_end_of_turn`, the
/// end-of-generation token is fed to the session too, so that a next turn follows a closed one.
pub fn generate(
    session: &mut Session,
    sampler: &mut Sampler,
    tok: &Tokenizer,
    n_predict: usize,
    keep_end_of_turn: bool,
    out: &mut impl Write,
) -> Result<Generated> {
    let t0 = std::time::Instant::now();
    let n_ctx = session.options().n_ctx;
    let mut dec = StreamDecoder::new();
    let mut text = String::new();
    let mut n_tokens = 0;
    while n_tokens < n_predict && session.n_past() < n_ctx {
        let id = sampler.sample(&session.logits().data);
        sampler.accept(id);
        n_tokens += 1;
        if tok.is_eog(id) {
            if keep_end_of_turn && session.n_past() < n_ctx {
                session.decode_in_place(&[id], WantLogits::Last)?;
            }
            break;
        }
        let piece = dec.push(tok, id);
        out.write_all(piece.as_bytes())?;
        out.flush()?;
        text.push_str(&piece);
        if n_tokens == n_predict || session.n_past() >= n_ctx {
            break;
        }
        session.decode_in_place(&[id], WantLogits::Last)?;
    }
    let rest = dec.finish();
    out.write_all(rest.as_bytes())?;
    text.push_str(&rest);
    writeln!(out)?;
    out.flush()?;
    Ok(Generated {
        text,
        n_tokens,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
