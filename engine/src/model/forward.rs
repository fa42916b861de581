//! The decoder forward pass over one micro-batch of tokens at consecutive positions.

use super::attention::{attention, AttnCtx};
use super::delta_net::delta_net;
use super::ffn::ffn;
use super::norm::rms_norm_rows;
use super::weights::Mixer;
use super::{Model, ModelError};
use crate::cache::{KvCache, RecurrentState};
use crate::cpu::matmul;

/// Per-sequence memory the forward pass reads and extends.
#[derive(Clone)]
pub struct Memory {
    pub kv: KvCache,
    pub rs: RecurrentState,
}

/// Evaluates `tokens` at positions `pos0..`; writes logits of the rows in `want` (batch indices,
/// ascending) to `logits` (`want.len() * n_vocab`).
pub fn forward(
    model: &Model,
    mem: &mut Memory,
    tokens: &[u32],
    pos0: usize,
    want: &[usize],
    logits: &mut Vec<f32>,
) -> Result<(), ModelError> {
    let c = model.config();
    let w = model.weights();
    let (e, t_n) = (c.n_embd, tokens.len());
    let mut x = vec![0f32; t_n * e];
    for (t, &tok) in tokens.iter().enumerate() {
        if tok as usize >= c.n_vocab {
            return Err(ModelError::BadToken {
                token: tok,
                n_vocab: c.n_vocab,
            });
        }
        w.token_embd
            .dequantize_row(tok as usize, &mut x[t * e..(t + 1) * e]);
    }
    let angles: Vec<_> = (0..t_n).map(|t| model.rope().angles(pos0 + t)).collect();
    let mut cur = vec![0f32; t_n * e];
    let mut y = vec![0f32; t_n * e];
    for (il, layer) in w.layers.iter().enumerate() {
        rms_norm_rows(&x, &layer.attn_norm, c.rms_eps, &mut cur);
        match &layer.mixer {
            Mixer::Attention(a) => {
                let ctx = AttnCtx {
                    config: c,
                    layer: il,
                    pos0,
                    rope: model.rope(),
                    angles: &angles,
                };
                attention(a, &ctx, &mut mem.kv, &cur, &mut y)?;
            }
            Mixer::DeltaNet(d) => {
                if let Some(state) = mem.rs.layers[il].as_mut() {
                    delta_net(d, c, state, &cur, &mut y)?;
                }
            }
        }
        for (a, &b) in x.iter_mut().zip(&y) {
            *a += b;
        }
        rms_norm_rows(&x, &layer.ffn_norm, c.rms_eps, &mut cur);
        ffn(&layer.ffn, c.n_expert_used, &cur, &mut y)?;
        for (a, &b) in x.iter_mut().zip(&y) {
            *a += b;
        }
    }
    let mut sel = Vec::with_capacity(want.len() * e);
    for &t in want {
        sel.extend_from_slice(&x[t * e..(t + 1) * e]);
    }
    let mut normed = vec![0f32; sel.len()];
    rms_norm_rows(&sel, &w.output_norm, c.rms_eps, &mut normed);
    logits.clear();
    logits.resize(want.len() * c.n_vocab, 0.0);
    matmul(&w.output, &normed, logits)?;
    Ok(())
}
