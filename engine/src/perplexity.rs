//! Perplexity scored the way `llama-perplexity` does (tools/perplexity/perplexity.cpp): the text
//! is tokenized, cut into floor(n / n_ctx) chunks, each chunk's first token replaced by BOS when
//! the vocabulary adds BOS (llama.cpp's `add_bos`; otherwise the text's own token stays, see
//! [`chunk_start`]), and only the second half of each chunk is scored (logits at positions
//! n_ctx/2 .. n_ctx-2 against the next tokens), so every scored token has at least n_ctx/2 tokens
//! of context.

use crate::session::{Session, WantLogits};
use crate::tokenizer::Tokenizer;
use crate::ModelError;

/// Running totals; `ppl` and `stderr` as llama.cpp prints them.
#[derive(Debug, Clone, Default)]
pub struct PerplexityStats {
    /// Sum of -log p over scored tokens.
    pub nll: f64,
    /// Sum of (-log p)^2.
    pub nll2: f64,
    pub count: usize,
}

impl PerplexityStats {
    pub fn ppl(&self) -> f64 {
        (self.nll / self.count as f64).exp()
    }

    /// Standard error of the PPL: llama.cpp's delta-method estimate
    /// sqrt((E[nll²] - E[nll]²) / (n - 1)) * PPL.
    pub fn ppl_stderr(&self) -> f64 {
        let n = self.count as f64;
        let mean = self.nll / n;
        let mean2 = self.nll2 / n;
        let var = (mean2 - mean * mean).max(0.0);
        (var / (n - 1.0)).sqrt() * self.ppl()
    }

    fn add(&mut self, nll: f64) {
        self.nll += nll;
        self.nll2 += nll * nll;
        self.count += 1;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PerplexityError {
    #[error("{n_tokens} tokens are fewer than 2 * n_ctx ({n_ctx}); llama-perplexity needs at least two chunks' worth")]
    TooFewTokens { n_tokens: usize, n_ctx: usize },
    #[error("the vocabulary adds BOS but has no BOS token")]
    NoBos,
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// -log softmax(logits)[target], computed in f64 with the max subtracted.
pub fn nll(logits: &[f32], target: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    -((logits[target as usize] as f64 - max) - sum.ln())
}

/// The token every chunk starts with, by llama-perplexity's rule: BOS when the vocabulary adds
/// BOS, `None` (each chunk keeps its first text token) when it does not.
pub fn chunk_start(tok: &Tokenizer) -> Result<Option<u32>, PerplexityError> {
    if !tok.adds_bos() {
        return Ok(None);
    }
    tok.bos().map(Some).ok_or(PerplexityError::NoBos)
}

/// Scores `tokens` in chunks of the session's n_ctx; `on_chunk(i, n_chunks, stats)` is called
/// after each chunk with the running totals. `bos`: what [`chunk_start`] gives.
pub fn perplexity(
    session: &mut Session,
    tokens: &[u32],
    bos: Option<u32>,
    mut on_chunk: impl FnMut(usize, usize, &PerplexityStats),
) -> Result<PerplexityStats, PerplexityError> {
    let n_ctx = session.options().n_ctx;
    // llama-perplexity refuses fewer than 2 * n_ctx tokens.
    if tokens.len() < 2 * n_ctx {
        return Err(PerplexityError::TooFewTokens {
            n_tokens: tokens.len(),
            n_ctx,
        });
    }
    let n_chunks = tokens.len() / n_ctx;
    let first = n_ctx / 2;
    let n_batch = session.options().n_batch.min(n_ctx);
    let mut stats = PerplexityStats::default();
    let mut chunk = Vec::with_capacity(n_ctx);
    for i in 0..n_chunks {
        chunk.clear();
        chunk.extend_from_slice(&tokens[i * n_ctx..(i + 1) * n_ctx]);
        if let Some(bos) = bos {
            chunk[0] = bos;
        }
        session.clear();
        let mut rows: Vec<f32> = Vec::new();
        let mut n_vocab = 0;
        for (b, part) in chunk.chunks(n_batch).enumerate() {
            let logits = session.decode(part, WantLogits::All)?;
            n_vocab = logits.n_vocab;
            // Keep only rows from position `first` on (the scored half).
            let start = b * n_batch;
            let skip = first.saturating_sub(start).min(part.len());
            rows.extend_from_slice(&logits.data[skip * n_vocab..]);
        }
        for pos in first..n_ctx - 1 {
            let r = pos - first;
            stats.add(nll(&rows[r * n_vocab..(r + 1) * n_vocab], chunk[pos + 1]));
        }
        on_chunk(i, n_chunks, &stats);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nll_by_hand() {
        // softmax([ln 1, ln 3]) = [0.25, 0.75]
        assert!((nll(&[0.0, 3f32.ln()], 1) - (-(0.75f64).ln())).abs() < 1e-6);
    }

    #[test]
    fn stats_by_hand() {
        let mut s = PerplexityStats::default();
        for x in [1.0, 2.0, 3.0] {
            s.add(x);
        }
        assert!((s.ppl() - 2f64.exp()).abs() < 1e-9);
        // var = 14/3 - 4 = 2/3; sqrt(2/3 / 2) * e^2
        assert!((s.ppl_stderr() - (1.0f64 / 3.0).sqrt() * 2f64.exp()).abs() < 1e-9);
    }
}
