//! Inputs of the `--fit` rule from a loaded model: tensor sizes and per-layer cache bytes.

use super::{Config, ModelError};
use crate::gguf::GgufModel;
use crate::placement::{fit_options, FitInput, PlacementOptions};

/// Scratch for activations, kernels and the CUDA context, kept free besides `--fit-target`.
const COMPUTE_RESERVE: u64 = 512 << 20;

/// Cache bytes per layer: an F16 KV cache of `n_ctx` cells for attention layers, the f32 conv
/// and delta-rule state for Gated DeltaNet layers.
pub fn cache_bytes_per_layer(c: &Config, n_ctx: usize) -> Vec<u64> {
    (0..c.n_layer)
        .map(|il| {
            if c.recurrent[il] {
                c.ssm.as_ref().map_or(0, |s| s.state_bytes())
            } else {
                (n_ctx * c.n_head_kv[il] * (c.head_dim_k + c.head_dim_v) * 2) as u64
            }
        })
        .collect()
}

/// Concrete options from `--fit` for a device with `free_vram` bytes free.
pub fn fit(
    gguf: &GgufModel,
    c: &Config,
    opts: &PlacementOptions,
    n_ctx: usize,
    free_vram: u64,
) -> Result<PlacementOptions, ModelError> {
    let tensors: Vec<(String, u64)> = gguf
        .tensors
        .iter()
        .map(|t| (t.info.name.clone(), t.info.size))
        .collect();
    let input = FitInput {
        tensors: &tensors,
        n_layer: c.n_layer,
        cache_bytes_per_layer: cache_bytes_per_layer(c, n_ctx),
        free_vram,
        compute_reserve: COMPUTE_RESERVE,
    };
    Ok(fit_options(opts, &input)?)
}
