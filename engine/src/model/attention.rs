//! Softmax attention over the KV cache: plain (llama, Qwen3) and gated (Qwen3.5/Next: q carries
//! a sigmoid output gate per head, q/k RMS-normed, partial rotary).
//!
//! Numerics as llama.cpp without flash attention: K·q with q converted to the cache's dot type
//! (F16), softmax in f32, probabilities rounded to F16 before the product with an F16 V.

use super::attn_flash_gemm::{self, flash_gemm_tile};
use super::attn_flash_split;
use super::attn_head::{first_visible, flash_group, softmax_group, HeadGroup};
use super::attn_split::softmax_split;
use super::attn_tile::{
    flash_tile, flash_tile_tokens, softmax_tile, tile_applies, tile_tokens, TokenTile,
};
use super::config::Config;
use super::error::ModelError;
use super::norm::{rms_norm_weighted, sigmoid};
use super::rope::{Rope, RopeTable};
use super::weights::AttentionWeights;
use crate::backend::matmul;
use crate::cache::KvCache;
use crate::cpu::parallel;
use crate::cpu::quantize_rows;
use crate::scratch::Scratch;

pub struct AttnCtx<'a> {
    pub config: &'a Config,
    pub layer: usize,
    pub pos0: usize,
    pub rope: &'a Rope,
    /// Rope angles of each token of the batch.
    pub angles: &'a RopeTable,
    /// ggml's flash-attention formulation instead of softmax-then-V.
    pub flash_attn: bool,
}

/// `x`: T rows of n_embd (normed input); `out`: T rows of n_embd.
pub fn attention(
    w: &AttentionWeights,
    ctx: &AttnCtx,
    kv: &mut KvCache,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    let c = ctx.config;
    let il = ctx.layer;
    let t_n = x.len() / c.n_embd;
    let (nh, nkv, hd, hv) = (c.n_head[il], c.n_head_kv[il], c.head_dim_k, c.head_dim_v);
    let q_width = nh * hd * if w.gated { 2 } else { 1 };
    let (mut qf, mut kf, mut vf) = (
        Scratch::<f32>::zeroed(t_n * q_width),
        Scratch::<f32>::zeroed(t_n * nkv * hd),
        Scratch::<f32>::zeroed(t_n * nkv * hv),
    );
    if let Some(qkv) = &w.qkv {
        let width = q_width + nkv * hd + nkv * hv;
        let mut all = Scratch::<f32>::zeroed(t_n * width);
        matmul(qkv, x, &mut all)?;
        for t in 0..t_n {
            let row = &all[t * width..(t + 1) * width];
            qf[t * q_width..(t + 1) * q_width].copy_from_slice(&row[..q_width]);
            kf[t * nkv * hd..(t + 1) * nkv * hd].copy_from_slice(&row[q_width..q_width + nkv * hd]);
            vf[t * nkv * hv..(t + 1) * nkv * hv].copy_from_slice(&row[q_width + nkv * hd..]);
        }
    } else if let (Some(q), Some(k), Some(v)) = (&w.q, &w.k, &w.v) {
        matmul(q, x, &mut qf)?;
        matmul(k, x, &mut kf)?;
        matmul(v, x, &mut vf)?;
    }
    add_bias(&mut qf, w.q_bias.as_deref());
    add_bias(&mut kf, w.k_bias.as_deref());
    add_bias(&mut vf, w.v_bias.as_deref());

    // Split q from its gate: per head the projection holds [q_h | gate_h].
    let mut q = Scratch::<f32>::zeroed(t_n * nh * hd);
    let mut gate = Scratch::<f32>::zeroed(if w.gated { t_n * nh * hd } else { 0 });
    let stride = if w.gated { 2 * hd } else { hd };
    for t in 0..t_n {
        for h in 0..nh {
            let src = &qf[t * q_width + h * stride..];
            q[(t * nh + h) * hd..(t * nh + h + 1) * hd].copy_from_slice(&src[..hd]);
            if w.gated {
                gate[(t * nh + h) * hd..(t * nh + h + 1) * hd].copy_from_slice(&src[hd..2 * hd]);
            }
        }
    }
    for t in 0..t_n {
        let angles = &ctx.angles.at(t);
        for head in q[t * nh * hd..(t + 1) * nh * hd].chunks_exact_mut(hd) {
            if let Some(n) = &w.q_norm {
                rms_norm_weighted(head, n, c.rms_eps);
            }
            ctx.rope.apply(head, angles);
        }
        for head in kf[t * nkv * hd..(t + 1) * nkv * hd].chunks_exact_mut(hd) {
            if let Some(n) = &w.k_norm {
                rms_norm_weighted(head, n, c.rms_eps);
            }
            ctx.rope.apply(head, angles);
        }
        kv.store(
            il,
            ctx.pos0 + t,
            &kf[t * nkv * hd..(t + 1) * nkv * hd],
            &vf[t * nkv * hv..(t + 1) * nkv * hv],
        );
    }

    if let Some(s) = c.q_scale {
        for v in q.iter_mut() {
            *v *= s;
        }
    }
    // q rows in the K cache's dot type, once.
    let mut qq = Scratch::<u8>::empty();
    let qrb = quantize_rows(kv.k_kernels.dot_type, &q, hd, &mut qq)?;
    let scale = if c.q_scale.is_some() {
        1.0
    } else {
        1.0 / (hd as f32).sqrt()
    };
    // Sliding-window layers see only the last n_swa positions (llama.cpp: masked if p - j >= n_swa).
    let window = if c.swa[il] { c.n_swa } else { usize::MAX };
    let group = nh / nkv;
    // llama.cpp's score row spans the KV cells used after this micro-batch, padded to a multiple
    // of 256 (`llama_kv_cache::get_n_kv`).
    let row_len = (ctx.pos0 + t_n).div_ceil(256) * 256;
    let kv_ref = &*kv;
    let mut att = Scratch::<f32>::zeroed(t_n * nh * hv);
    let tiled = ctx.flash_attn || tile_applies(kv_ref, hd, row_len);
    if t_n > 1 && tiled {
        // A prompt: tiles of tokens per KV head, so K and V are read once per tile.
        let deepest = (ctx.pos0 + t_n).min(window);
        // llama.cpp widens an F16 cache to f32 GEMMs for flash attention over >= 64 tokens.
        let gemm_flash = ctx.flash_attn && attn_flash_gemm::applies(kv_ref, t_n);
        let per_tile = if gemm_flash {
            attn_flash_gemm::tile_tokens(group)
        } else if ctx.flash_attn {
            flash_tile_tokens(group)
        } else {
            tile_tokens(group, deepest, parallel::current_threads())
        };
        let n_tiles = t_n.div_ceil(per_tile);
        let tiles: Vec<(usize, Vec<f32>)> = parallel::map_indices(n_tiles * nkv, |idx| {
            let (tile, kv_head) = (idx / nkv, idx % nkv);
            let tokens = tile * per_tile..((tile + 1) * per_tile).min(t_n);
            let tt = TokenTile {
                layer: il,
                kv_head,
                q: &qq,
                q_row_bytes: qrb,
                n_head: nh,
                group,
                tokens: tokens.clone(),
                n_kv0: ctx.pos0 + 1,
                window,
                head_dim_k: hd,
                scale,
                row_len,
            };
            let mut o = vec![0f32; tokens.len() * group * hv];
            if gemm_flash {
                flash_gemm_tile(kv_ref, &tt, &q, &mut o);
            } else if ctx.flash_attn {
                flash_tile(kv_ref, &tt, &mut o);
            } else {
                softmax_tile(kv_ref, &tt, &mut o);
            }
            (idx, o)
        });
        // Tile outputs are token-major rows of the group's heads: scatter into att[t][h].
        for (idx, o) in tiles {
            let (tile, kv_head) = (idx / nkv, idx % nkv);
            for (i, rows) in o.chunks_exact(group * hv).enumerate() {
                let t = tile * per_tile + i;
                let at = (t * nh + kv_head * group) * hv;
                att[at..at + group * hv].copy_from_slice(rows);
            }
        }
        return finish(w, &gate, att, out);
    }
    let threads = parallel::current_threads();
    // `n` query heads from q row `q0` (token-major rows of all heads), against KV head `kv_head`,
    // for a token that sees `n_kv` positions.
    let heads = |kv_head: usize, q0: usize, n: usize, n_kv: usize| HeadGroup {
        layer: il,
        kv_head,
        q: &qq[q0 * qrb..(q0 + n) * qrb],
        q_row_bytes: qrb,
        head_dim_k: hd,
        scale,
        first: first_visible(n_kv, window),
        n_kv,
        row_len,
    };
    if ctx.flash_attn && attn_flash_split::applies(kv_ref, t_n, row_len) {
        // One token, flash attention: split by KV rows across the pool, as llama.cpp does.
        let group_of = |kv_head: usize| heads(kv_head, kv_head * group, group, ctx.pos0 + 1);
        attn_flash_split::flash_split(kv_ref, nkv, &group_of, row_len, threads, &mut att);
        return finish(w, &gate, att, out);
    }
    if t_n == 1 && !ctx.flash_attn && nkv < threads && tile_applies(kv_ref, hd, row_len) {
        // One token, fewer KV heads than threads: split each KV head's rows and columns across
        // the pool instead of its query heads, so K and V are read once.
        for (kv_head, o) in att.chunks_exact_mut(group * hv).enumerate() {
            let hg = heads(kv_head, kv_head * group, group, ctx.pos0 + 1);
            softmax_split(kv_ref, &hg, o, threads);
        }
        return finish(w, &gate, att, out);
    }
    let per_task = heads_per_task(group, t_n * nkv, threads);
    // One task per (token, KV head, slice of its query heads): the slice's K and V rows are
    // read once for all its heads.
    parallel::for_each_chunk_mut(&mut att, per_task * hv, |idx, o| {
        let (t, h0) = (idx * per_task / nh, idx * per_task % nh);
        let hg = heads(h0 / group, t * nh + h0, per_task, ctx.pos0 + t + 1);
        if ctx.flash_attn {
            flash_group(kv_ref, &hg, o);
        } else {
            softmax_group(kv_ref, &hg, o);
        }
    });
    finish(w, &gate, att, out)
}

/// The output gate (gated attention) and the output projection.
fn finish(
    w: &AttentionWeights,
    gate: &[f32],
    mut att: Scratch<f32>,
    out: &mut [f32],
) -> Result<(), ModelError> {
    if w.gated {
        for (a, &g) in att.iter_mut().zip(gate) {
            *a *= sigmoid(g);
        }
    }
    matmul(&w.output, &att, out)?;
    Ok(())
}

/// Query heads per parallel task: a whole KV group (K and V read once for it) unless that leaves
/// threads idle, as in single-token decode; then the group is split into equal slices.
fn heads_per_task(group: usize, n_groups: usize, threads: usize) -> usize {
    let mut split = 1;
    while n_groups * split < threads && split < group {
        split += 1;
        while group % split != 0 {
            split += 1;
        }
    }
    group / split
}

fn add_bias(x: &mut [f32], bias: Option<&[f32]>) {
    if let Some(b) = bias {
        for row in x.chunks_exact_mut(b.len()) {
            for (v, &bb) in row.iter_mut().zip(b) {
                *v += bb;
            }
        }
    }
}
