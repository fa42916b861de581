//! KV cache and recurrent state sizes, as llama.cpp allocates them (llamacpp.md §1.9, §4.1).

use fitbench_engine::gguf::GgmlType;

use crate::model::{LayerKind, ModelSpec};

/// Cache types llama.cpp accepts for `-ctk/-ctv`.
pub const KV_TYPES: &[&str] = &[
    "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1",
];

pub fn parse_kv_type(s: &str) -> Option<GgmlType> {
    let l = s.to_ascii_lowercase();
    KV_TYPES
        .contains(&l.as_str())
        .then(|| GgmlType::from_name(&l.to_ascii_uppercase()))
        .flatten()
}

/// llama.cpp pads the context to a multiple of 256.
pub fn pad_ctx(n_ctx: u64) -> u64 {
    n_ctx.div_ceil(256) * 256
}

fn row_bytes(t: GgmlType, n: u64) -> u64 {
    t.bytes_for(n).unwrap_or(n * 2)
}

/// Cells a layer's cache holds for a context of `n_ctx`: sliding-window layers keep
/// `window + ubatch` (padded), as llama.cpp's SWA cache does without `--swa-full`.
pub fn layer_cells(window: Option<u64>, n_ctx: u64, ubatch: u64) -> u64 {
    let full = pad_ctx(n_ctx);
    match window {
        Some(w) => full.min(pad_ctx(w + ubatch)),
        None => full,
    }
}

/// KV-cache bytes of one layer for `cells` positions.
pub fn kv_layer_bytes(layer: &LayerKind, cells: u64, k: GgmlType, v: GgmlType) -> u64 {
    match layer {
        LayerKind::Attention {
            n_head_kv,
            head_dim_k,
            head_dim_v,
            ..
        } => cells * (row_bytes(k, head_dim_k * n_head_kv) + row_bytes(v, head_dim_v * n_head_kv)),
        LayerKind::Recurrent => 0,
    }
}

/// KV bytes of layer `il` for a context of `n_ctx` tokens (window-capped).
pub fn kv_bytes_for_layer(
    spec: &ModelSpec,
    il: usize,
    n_ctx: u64,
    ubatch: u64,
    k: GgmlType,
    v: GgmlType,
) -> u64 {
    let layer = &spec.layers[il];
    let window = match layer {
        LayerKind::Attention { window, .. } => *window,
        LayerKind::Recurrent => None,
    };
    kv_layer_bytes(layer, layer_cells(window, n_ctx, ubatch), k, v)
}

/// Whole KV cache for one sequence of `n_ctx` tokens.
pub fn kv_cache_bytes(spec: &ModelSpec, n_ctx: u64, ubatch: u64, k: GgmlType, v: GgmlType) -> u64 {
    (0..spec.n_layers())
        .map(|il| kv_bytes_for_layer(spec, il, n_ctx, ubatch, k, v))
        .sum()
}

/// KV bytes per token of context (full-attention layers only; what grows with context).
pub fn kv_bytes_per_token(spec: &ModelSpec, k: GgmlType, v: GgmlType) -> u64 {
    spec.layers
        .iter()
        .filter(|l| matches!(l, LayerKind::Attention { window: None, .. }))
        .map(|l| kv_layer_bytes(l, 1, k, v))
        .sum()
}

/// Recurrent state of one layer per sequence: F32 conv state + delta-rule state.
pub fn recurrent_layer_bytes(spec: &ModelSpec) -> u64 {
    spec.recurrent
        .as_ref()
        .map(|r| 4 * (r.conv_floats() + r.state_floats()))
        .unwrap_or(0)
}

/// Recurrent state of all recurrent layers for `n_seq` sequences (context-independent).
pub fn recurrent_state_bytes(spec: &ModelSpec, n_seq: u64) -> u64 {
    recurrent_layer_bytes(spec) * spec.n_recurrent_layers() as u64 * n_seq.max(1)
}
