//! Speed of llama.cpp (CUDA/Metal build, or its CPU build when the machine has no GPU) versus context
//! depth. A roofline with calibrated efficiencies; constants and their sources are in
//! docs/planner-model.md and in `Calibration`. Where the profile carries coefficients measured on
//! that machine (`HardwareProfile::calibration`, from `fitbench calibrate`), CPU work uses them.

use serde::Serialize;

use super::cache::kv_bytes_for_layer;
use super::config::{Placement, RunConfig};
use super::gpu_efficiency;
use super::memory::tensor_on_gpu;
use super::multi_gpu::GpuSet;
use crate::hw::HardwareProfile;
use crate::model::{LayerKind, ModelSpec, TensorRole};

/// Efficiency factors, fitted to the published llama.cpp measurements in PLANNER-DATA.md. The GPU
/// kernels' shares of bandwidth and compute are per backend, in [`super::gpu_efficiency`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Calibration {
    /// Share of GPU bandwidth for f16 KV reads by flash attention (3090 at 131K: 79.4 t/s).
    pub gpu_kv_f16: f64,
    /// Same for quantized KV (dequantized inside the FA kernel); fitted on the RTX 5080 q4_0 run at ~233K.
    pub gpu_kv_quant: f64,
    /// Fixed GPU time per layer per token (kernel launches, small ops), seconds.
    pub gpu_layer_s: f64,
    /// Share of RAM bandwidth (measured, or 70% of theoretical) reached by CPU mat-vec.
    pub cpu_read: f64,
    /// Per layer whose experts run on the CPU: hidden state over PCIe twice, sync, thread wake-up (s).
    /// Fitted on the RTX 5080 `--n-cpu-moe 16` run (51.1 t/s).
    pub offload_layer_s: f64,
    /// Share of PCIe bandwidth reached copying CPU-resident experts to the GPU per ubatch (5090 table).
    pub pcie: f64,
    /// Share of CPU peak FLOP/s reached in prompt processing (fitted: 2-core AVX2 machine, pp512 167 t/s).
    pub cpu_prompt: f64,
    /// Share of CPU peak FLOP/s reached by llama.cpp's one-token attention over an f16 cache on the
    /// CPU (each query head walks its KV head's rows: compute, not the KV read, sets the time).
    /// Fitted on the 2-core EPYC VM (332 GFLOP/s peak): the Qwen3.5-35B-A3B slice's extra time per
    /// token over depth 0 gives 25–32 GFLOP/s at 4K–16K with and without flash attention, Gemma 3
    /// 270M's 52–55 GFLOP/s (results/2026-11-23-vm-context-scaling-2core.md, cpu-ratios flash
    /// table); 0.12 (40 GFLOP/s) sits between them.
    pub cpu_attn: f64,
    /// Prompt time per token per layer whose experts are in RAM, beyond the copy (seconds); fitted on
    /// the 5090 `--n-cpu-moe 38` ubatch table, whose speed levels off near 700 t/s.
    pub offload_prompt_token_layer_s: f64,
    /// Per token, per GPU beyond the first in a layer split: the hidden state handed to the next
    /// GPU and a sync. Assumed (no multi-GPU speed measurement in PLANNER-DATA.md to fit it on).
    pub gpu_hop_s: f64,
}

pub const CALIBRATION: Calibration = Calibration {
    gpu_kv_f16: 0.8,
    gpu_kv_quant: 0.12,
    gpu_layer_s: 30e-6,
    cpu_read: 0.8,
    offload_layer_s: 0.42e-3,
    pcie: 0.47,
    cpu_prompt: 0.54,
    cpu_attn: 0.12,
    offload_prompt_token_layer_s: 29e-6,
    gpu_hop_s: 100e-6,
};

/// Effective RAM read bandwidth, bytes/s.
pub fn ram_bandwidth(hw: &HardwareProfile) -> f64 {
    hw.ram
        .measured_read_gbs
        .unwrap_or(hw.ram.bandwidth_gbs * 0.7)
        * 1e9
}

fn is_quant_kv(t: fitbench_engine::gguf::GgmlType) -> bool {
    t.is_quantized()
}

/// Bytes read per generated token, split by where they are read.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TokenReads {
    pub gpu_dense: f64,
    /// The part of `gpu_dense` in F16/BF16/F32 tensors (read at another rate on some backends).
    pub gpu_dense_float: f64,
    pub gpu_experts: f64,
    pub gpu_kv: f64,
    pub cpu_weights: f64,
    pub cpu_kv: f64,
}

pub fn token_reads(
    spec: &ModelSpec,
    p: &Placement,
    cfg: &RunConfig,
    depth: u64,
    has_gpu: bool,
) -> TokenReads {
    let frac = spec.expert_read_fraction();
    let mut r = TokenReads::default();
    let p = if has_gpu { *p } else { Placement::cpu_only() };
    // Tied embeddings (no output tensor, as Gemma 3): the table is also the output head, read whole.
    let tied = !spec.tensors.iter().any(|t| t.role == TensorRole::Output);
    for t in &spec.tensors {
        let bytes = match t.role {
            TensorRole::Mtp => continue,
            TensorRole::Embedding if tied => t.bytes as f64,
            // One row of the embedding table per token.
            TensorRole::Embedding => {
                t.bytes as f64 / t.dims.get(1).copied().unwrap_or(1).max(1) as f64
            }
            TensorRole::RoutedExperts => t.bytes as f64 * frac,
            _ => t.bytes as f64,
        };
        if tensor_on_gpu(spec, &p, t.role, t.layer) {
            if t.role == TensorRole::RoutedExperts {
                r.gpu_experts += bytes;
            } else {
                r.gpu_dense += bytes;
                if !t.ggml_type.is_quantized() {
                    r.gpu_dense_float += bytes;
                }
            }
        } else {
            r.cpu_weights += bytes;
        }
    }
    let n = spec.n_layers();
    for il in 0..n {
        let kv = kv_bytes_for_layer(spec, il, depth.max(1), 1, cfg.kv_k, cfg.kv_v) as f64;
        // The cache is padded to 256 cells; what is read is the filled part.
        let kv = kv * depth as f64 / super::cache::pad_ctx(depth.max(1)) as f64;
        if p.layer_on_gpu(il, n) {
            r.gpu_kv += kv;
        } else {
            r.cpu_kv += kv;
        }
    }
    r
}

/// Predicted generation speed (tokens/s) with `depth` tokens already in the context.
pub fn generation_tps(
    spec: &ModelSpec,
    hw: &HardwareProfile,
    p: &Placement,
    cfg: &RunConfig,
    depth: u64,
) -> f64 {
    let c = CALIBRATION;
    let gpu = hw.gpus.first();
    let r = token_reads(spec, p, cfg, depth, gpu.is_some());
    let cpu_bytes = r.cpu_weights + r.cpu_kv;
    let mut t = match &hw.calibration {
        // Measured on this machine: effective read rate plus a fixed cost per CPU-computed layer.
        Some(cal) => {
            let n = spec.n_layers();
            let cpu_layers = match gpu {
                Some(_) => n - p.n_gpu_layers.min(n),
                None => n,
            };
            cpu_bytes / (cal.gen_read_gbs * 1e9) + cpu_layers as f64 * cal.gen_layer_overhead_s
        }
        None => cpu_bytes / (ram_bandwidth(hw) * c.cpu_read),
    };
    t += cpu_attention_flops(spec, p, depth, gpu.is_some()) / (cpu_peak_flops(hw) * c.cpu_attn);
    if let (Some(set), Some(g)) = (GpuSet::of(hw), gpu) {
        if p.n_gpu_layers > 0 {
            let e = gpu_efficiency::for_gpu(&g.backend, g.compute_capability.as_deref());
            // Several GPUs: layer blocks in turn (see multi_gpu.rs).
            let bw = set.bandwidth_gbs * 1e9;
            t += (set.n_gpus() - 1) as f64 * c.gpu_hop_s;
            let kv_eff = if is_quant_kv(cfg.kv_k) || is_quant_kv(cfg.kv_v) {
                c.gpu_kv_quant
            } else {
                c.gpu_kv_f16
            };
            let quantized = r.gpu_dense - r.gpu_dense_float;
            t += quantized / (bw * e.read_quantized)
                + r.gpu_dense_float / (bw * e.read_float)
                + r.gpu_experts / (bw * e.read_experts)
                + r.gpu_kv / (bw * kv_eff);
            t += p.n_gpu_layers.min(spec.n_layers()) as f64 * c.gpu_layer_s;
            let n = spec.n_layers();
            let recurrent_on_gpu = spec
                .layers
                .iter()
                .enumerate()
                .filter(|(il, l)| matches!(l, LayerKind::Recurrent) && p.layer_on_gpu(*il, n))
                .count();
            t += recurrent_on_gpu as f64 * e.recurrent_layer_bytes / bw;
            let n_offloaded = if spec.is_moe() {
                p.n_cpu_moe.min(spec.n_layers())
            } else {
                0
            };
            let partial = spec.n_layers().saturating_sub(p.n_gpu_layers).min(1);
            t += (n_offloaded + partial) as f64 * c.offload_layer_s;
        }
    }
    if t > 0.0 {
        1.0 / t
    } else {
        0.0
    }
}

/// Peak FP32 FLOP/s of the CPU (the profile's figure, else 50 GFLOP/s per core).
fn cpu_peak_flops(hw: &HardwareProfile) -> f64 {
    hw.cpu.gflops.unwrap_or(hw.cpu.physical_cores as f64 * 50.0) * 1e9
}

/// Attention FLOPs of one generated token at `depth` in the layers whose KV cache is in RAM.
fn cpu_attention_flops(spec: &ModelSpec, p: &Placement, depth: u64, has_gpu: bool) -> f64 {
    let n = spec.n_layers();
    spec.layers
        .iter()
        .enumerate()
        .filter(|(il, _)| !(has_gpu && p.layer_on_gpu(*il, n)))
        .map(|(_, l)| attention_flops(l, depth))
        .sum()
}

/// 2 · heads · (K + V head dims) per visible position: QK and PV of one query token.
fn attention_flops(l: &LayerKind, depth: u64) -> f64 {
    match l {
        LayerKind::Attention {
            n_head,
            head_dim_k,
            head_dim_v,
            window,
            ..
        } => {
            let span = window.map_or(depth, |w| w.min(depth)) as f64;
            2.0 * (*n_head as f64) * (head_dim_k + head_dim_v) as f64 * span
        }
        LayerKind::Recurrent => 0.0,
    }
}

/// FLOPs per prompt token at `depth`, by kind of product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromptFlops {
    /// 2 per weight every token goes through.
    pub dense: f64,
    /// 2 per routed-expert weight a token uses (`top_k / n_experts` of them).
    pub experts: f64,
    /// Attention over the context.
    pub attention: f64,
}

impl PromptFlops {
    pub fn total(&self) -> f64 {
        self.dense + self.experts + self.attention
    }
}

/// FLOPs per prompt token at `depth`. The LM head is left out: a prompt (llama-bench `pp`, a
/// server's prompt) computes logits for its last token only.
pub fn prompt_flops_per_token(spec: &ModelSpec, depth: u64) -> PromptFlops {
    let frac = spec.expert_read_fraction();
    let mut f = PromptFlops {
        dense: 0.0,
        experts: 0.0,
        attention: spec.layers.iter().map(|l| attention_flops(l, depth)).sum(),
    };
    for t in &spec.tensors {
        let n = t.n_elements() as f64;
        match t.role {
            TensorRole::Embedding | TensorRole::Mtp | TensorRole::Output => {}
            TensorRole::RoutedExperts => f.experts += 2.0 * n * frac,
            _ => f.dense += 2.0 * n,
        }
    }
    f
}

/// Predicted prompt-processing speed (tokens/s) for a prompt evaluated at `depth`.
pub fn prompt_tps(
    spec: &ModelSpec,
    hw: &HardwareProfile,
    p: &Placement,
    cfg: &RunConfig,
    depth: u64,
) -> f64 {
    let c = CALIBRATION;
    let f = prompt_flops_per_token(spec, depth);
    let ub = cfg.ubatch.max(1) as f64;
    match hw.gpus.first() {
        Some(g) if p.n_gpu_layers > 0 => {
            let flops = GpuSet::of(hw).map_or(g.fp16_tflops, |s| s.fp16_tflops) * 1e12;
            let e = gpu_efficiency::for_gpu(&g.backend, g.compute_capability.as_deref());
            let recurrent = spec.n_recurrent_layers() as f64;
            let t_compute = ub
                * ((f.dense + recurrent * e.recurrent_layer_prompt_flops)
                    / (flops * e.prompt_dense)
                    + f.experts / (flops * e.prompt_experts(ub * spec.expert_read_fraction()))
                    + f.attention / (flops * e.prompt_attention));
            // CPU-resident weights cross PCIe once per ubatch (llama.cpp offloads the op when ubatch >= 32).
            let cpu_bytes: f64 = spec
                .tensors
                .iter()
                .filter(|t| {
                    t.role != TensorRole::Embedding
                        && t.role != TensorRole::Mtp
                        && !tensor_on_gpu(spec, p, t.role, t.layer)
                })
                .map(|t| t.bytes as f64)
                .sum();
            let pcie = g
                .pcie
                .as_ref()
                .map(|l| l.measured_h2d_gbs.unwrap_or(l.bandwidth_gbs))
                .unwrap_or(16.0)
                * 1e9;
            let t_copy = if ub >= 32.0 {
                cpu_bytes / (pcie * c.pcie)
            } else {
                cpu_bytes / (ram_bandwidth(hw) * c.cpu_read) * ub
            };
            let n_off = if spec.is_moe() {
                p.n_cpu_moe.min(spec.n_layers())
            } else {
                0
            } + spec.n_layers().saturating_sub(p.n_gpu_layers);
            let t_offload = ub * n_off as f64 * c.offload_prompt_token_layer_s;
            ub / (t_compute + t_copy + t_offload)
        }
        _ => {
            let effective = match &hw.calibration {
                Some(cal) => cal.prompt_gflops * 1e9,
                None => cpu_peak_flops(hw) * c.cpu_prompt,
            };
            effective / f.total()
        }
    }
}
