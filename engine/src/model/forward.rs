//! The decoder forward pass over one micro-batch of tokens at consecutive positions.

use super::attention::{attention, AttnCtx};
use super::delta_net::delta_net;
use super::ffn::ffn;
use super::norm::{rms_norm_rows, rms_norm_weighted};
use super::weights::Mixer;
use super::{Model, ModelError};
use crate::backend::matmul;
use crate::cache::{KvCache, RecurrentState};
use crate::scratch::Scratch;

/// Per-sequence memory the forward pass reads and extends.
#[derive(Clone)]
pub struct Memory {
    pub kv: KvCache,
    pub rs: RecurrentState,
    /// Attention in ggml's flash-attention formulation (llama.cpp `-fa on`).
    pub flash_attn: bool,
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
    let mut x = Scratch::<f32>::zeroed(t_n * e);
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
    if let Some(scale) = c.embd_scale {
        for v in x.iter_mut() {
            *v *= scale;
        }
    }
    let angles = model.rope(0).table(pos0, t_n);
    let has_swa = c.swa.iter().any(|&s| s) && c.swa.iter().any(|&s| !s);
    let other = c.swa.iter().position(|&s| s != c.swa[0]).unwrap_or(0);
    let angles_other = model.rope(other).table(pos0, if has_swa { t_n } else { 0 });
    let mut cur = Scratch::<f32>::zeroed(t_n * e);
    let mut y = Scratch::<f32>::zeroed(t_n * e);
    for (il, layer) in w.layers.iter().enumerate() {
        rms_norm_rows(&x, &layer.attn_norm, c.rms_eps, &mut cur);
        match &layer.mixer {
            Mixer::Attention(a) => {
                let angles = if c.swa[il] == c.swa[0] {
                    &angles
                } else {
                    &angles_other
                };
                let ctx = AttnCtx {
                    config: c,
                    layer: il,
                    pos0,
                    rope: model.rope(il),
                    angles,
                    flash_attn: mem.flash_attn,
                };
                attention(a, &ctx, &mut mem.kv, &cur, &mut y)?;
            }
            Mixer::DeltaNet(d) => {
                if let Some(state) = mem.rs.layers[il].as_mut() {
                    delta_net(d, c, state, &cur, &mut y)?;
                }
            }
        }
        if let Some(n) = &layer.attn_post_norm {
            rms_norm_in_place_rows(&mut y, n, c.rms_eps);
        }
        for (a, &b) in x.iter_mut().zip(&y) {
            *a += b;
        }
        rms_norm_rows(&x, &layer.ffn_norm, c.rms_eps, &mut cur);
        ffn(&layer.ffn, c.activation, c.n_expert_used, &cur, &mut y)?;
        if let Some(n) = &layer.ffn_post_norm {
            rms_norm_in_place_rows(&mut y, n, c.rms_eps);
        }
        for (a, &b) in x.iter_mut().zip(&y) {
            *a += b;
        }
    }
    let mut sel = Scratch::<f32>::empty();
    for &t in want {
        sel.extend_from_slice(&x[t * e..(t + 1) * e]);
    }
    let mut normed = Scratch::<f32>::zeroed(sel.len());
    rms_norm_rows(&sel, &w.output_norm, c.rms_eps, &mut normed);
    logits.clear();
    logits.resize(want.len() * c.n_vocab, 0.0);
    matmul(&w.output, &normed, logits)?;
    if let Some(cap) = c.final_softcap {
        for v in logits.iter_mut() {
            *v = (*v / cap).tanh() * cap;
        }
    }
    Ok(())
}

fn rms_norm_in_place_rows(x: &mut [f32], w: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(w.len()) {
        rms_norm_weighted(row, w, eps);
    }
}
