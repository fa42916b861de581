//! Memory per device for a placement: weights, KV cache, recurrent state, compute buffers, runtime overhead.

use serde::Serialize;

use super::cache::{kv_bytes_for_layer, layer_cells, recurrent_layer_bytes};
use super::config::{Placement, RunConfig};
use crate::model::{LayerKind, ModelSpec, TensorRole};

/// CUDA context, cuBLAS workspace and allocator slack seen by nvidia-smi beyond llama.cpp's buffers.
/// Not counted by `--fit` (its 1 GiB margin absorbs it); counted here so "VRAM used" is what users see.
pub const GPU_RUNTIME_OVERHEAD: u64 = 350 << 20;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct DeviceMemory {
    pub weights: u64,
    pub kv_cache: u64,
    pub recurrent_state: u64,
    pub compute: u64,
    pub overhead: u64,
}

impl DeviceMemory {
    pub fn total(&self) -> u64 {
        self.weights + self.kv_cache + self.recurrent_state + self.compute + self.overhead
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MemoryEstimate {
    pub gpu: DeviceMemory,
    pub cpu: DeviceMemory,
}

/// Whether a tensor sits on the GPU under `p` (token_embd always stays in RAM, as in llama.cpp).
pub fn tensor_on_gpu(
    spec: &ModelSpec,
    p: &Placement,
    role: TensorRole,
    layer: Option<usize>,
) -> bool {
    let n = spec.n_layers();
    match (role, layer) {
        (TensorRole::Embedding, _) | (TensorRole::Mtp, _) => false,
        (TensorRole::RoutedExperts, Some(il)) => p.experts_on_gpu(il, n),
        (_, Some(il)) if il < n => p.layer_on_gpu(il, n),
        _ => p.output_on_gpu(n),
    }
}

/// Compute-buffer size on the device that runs the output layer (derived from llama.cpp's
/// worst-case graph reservation, llamacpp.md §4.3): logits for every ubatch token, activations,
/// MoE and DeltaNet intermediates, and without flash attention the full KQ matrix.
pub fn compute_buffer_bytes(spec: &ModelSpec, cfg: &RunConfig, with_logits: bool) -> u64 {
    let ub = cfg.ubatch.min(cfg.n_ctx.max(1));
    let logits = if with_logits {
        spec.n_vocab * ub * 4
    } else {
        0
    };
    let ffn = spec
        .tensors
        .iter()
        .filter(|t| t.role == TensorRole::DenseFfn)
        .map(|t| t.dims[0].max(*t.dims.get(1).unwrap_or(&0)))
        .max()
        .unwrap_or(0);
    let moe = spec.experts.as_ref().map(|e| {
        let ff = spec
            .tensors
            .iter()
            .find(|t| t.role == TensorRole::RoutedExperts)
            .and_then(|t| t.dims.get(1).copied())
            .unwrap_or(0);
        3 * e.used * ff
    });
    let rec = spec
        .recurrent
        .as_ref()
        .map(|r| 2 * (r.inner_size + 2 * r.group_count * r.state_size) + r.inner_size)
        .unwrap_or(0);
    let act = ub * 4 * (8 * spec.n_embd + 3 * ffn + moe.unwrap_or(0) + rec);
    let kq = if cfg.flash_attn {
        0
    } else {
        spec.layers
            .iter()
            .filter_map(|l| match l {
                LayerKind::Attention { n_head, window, .. } => {
                    Some(2 * layer_cells(*window, cfg.n_ctx, ub) * ub * n_head * 4)
                }
                LayerKind::Recurrent => None,
            })
            .max()
            .unwrap_or(0)
    };
    logits + act + kq
}

pub fn estimate_memory(
    spec: &ModelSpec,
    p: &Placement,
    cfg: &RunConfig,
    has_gpu: bool,
) -> MemoryEstimate {
    let n = spec.n_layers();
    let p = if has_gpu { *p } else { Placement::cpu_only() };
    let mut m = MemoryEstimate::default();
    for t in &spec.tensors {
        if t.role == TensorRole::Mtp {
            continue;
        }
        if tensor_on_gpu(spec, &p, t.role, t.layer) {
            m.gpu.weights += t.bytes;
        } else {
            m.cpu.weights += t.bytes;
        }
    }
    let rs = recurrent_layer_bytes(spec) * cfg.n_seq.max(1);
    for il in 0..n {
        let kv = kv_bytes_for_layer(spec, il, cfg.n_ctx, cfg.ubatch, cfg.kv_k, cfg.kv_v)
            * cfg.n_seq.max(1);
        let r = if matches!(spec.layers[il], LayerKind::Recurrent) {
            rs
        } else {
            0
        };
        let dev = if p.layer_on_gpu(il, n) {
            &mut m.gpu
        } else {
            &mut m.cpu
        };
        dev.kv_cache += kv;
        dev.recurrent_state += r;
    }
    let out_gpu = p.output_on_gpu(n);
    if p.n_gpu_layers > 0 {
        m.gpu.compute = compute_buffer_bytes(spec, cfg, out_gpu);
        m.gpu.overhead = GPU_RUNTIME_OVERHEAD;
        // Host-side buffer for inputs and CPU-resident ops.
        m.cpu.compute = cfg.ubatch * spec.n_embd * 4 * 4;
    } else {
        m.cpu.compute = compute_buffer_bytes(spec, cfg, true);
    }
    m
}
