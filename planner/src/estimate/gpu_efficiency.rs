//! How close llama.cpp's GPU kernels come to a device's headline figures, per backend.
//!
//! The profile gives a GPU's bandwidth and its `fp16_tflops` (the tensor-core FP16 figure on
//! NVIDIA and AMD, the shader FP32 rate on Apple GPUs without matrix units). What llama.cpp reaches
//! of them depends on the backend's kernels, so each backend has its own shares, fitted on
//! published llama.cpp measurements (sources beside each constant; docs/planner-model.md lists
//! which rows fit them and which rows check them).

/// Shares of a GPU's bandwidth (generation) and FP16 compute (prompt) that llama.cpp reaches.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GpuEfficiency {
    /// Generation: quantized dense weights streamed by the mat-vec kernels.
    pub read_quantized: f64,
    /// Generation: F16/BF16/F32 weights.
    pub read_float: f64,
    /// Generation: routed-expert slices (`mul_mat_id` with one token: short, scattered reads).
    pub read_experts: f64,
    /// Generation: time of one recurrent (Gated DeltaNet) layer's non-matmul work per token, in
    /// bytes read at the full bandwidth (it scales with the GPU's bandwidth, not as a fixed cost).
    pub recurrent_layer_bytes: f64,
    /// Prompt: matrix products every token goes through (attention, recurrent and shared-expert
    /// projections, dense FFN), `ubatch` columns each.
    pub prompt_dense: f64,
    /// Prompt: routed experts, each seeing only `n = ubatch · top_k / n_experts` tokens, run at
    /// `prompt_dense · n / (n + this)`: narrow products leave the matrix units idle.
    pub prompt_expert_half_tokens: f64,
    /// Prompt: attention over the context (flash attention).
    pub prompt_attention: f64,
    /// Prompt: one recurrent (Gated DeltaNet) layer's non-matmul work per token, in FLOPs run at
    /// `prompt_dense` (the chunked recurrence and its small ops).
    pub recurrent_layer_prompt_flops: f64,
}

impl GpuEfficiency {
    /// Prompt share of the routed-expert products when each expert sees `tokens` tokens.
    pub fn prompt_experts(&self, tokens: f64) -> f64 {
        self.prompt_dense * tokens / (tokens + self.prompt_expert_half_tokens)
    }
}

/// CUDA (also used for SYCL and for ROCm on other than RDNA 3).
pub const CUDA: GpuEfficiency = GpuEfficiency {
    // Typical large mat-vec efficiency (assumed); checked by the 3090/4090 Llama 3 8B rows.
    read_quantized: 0.8,
    read_float: 0.8,
    // Set between the MoE reports without DeltaNet layers: DGX Spark gpt-oss 20B MXFP4 tg32 79.74
    // (ggerganov's llama-bench, b6767; -13% at 0.6), Qwen3-30B-A3B Q4_K on a 3090 Ti 166.9 t/s at
    // 4K and on a 4090 "up to 196" (community reports; the plan says 199 on a 3090, 210 on a 4090).
    read_experts: 0.6,
    // RTX 3090 35B-A3B Q4_K at 4K (111.2 t/s) and RTX 5090 at 512 (160-194 t/s) with the experts at
    // `read_experts`: what is left is about 145 MB-equivalent per DeltaNet layer on both cards (a
    // fixed time per layer would not fit both). Before this term the experts' share was fitted at
    // 0.11 on these rows, which made MoEs without DeltaNet layers 2-4x too slow (Qwen3-30B-A3B,
    // gpt-oss). Checked by the RTX 5060 Ti 35B-A3B IQ3_S row (448 GB/s).
    recurrent_layer_bytes: 145e6,
    // RTX 3090 and 4090, Llama 3 8B Q4_K_M pp512: 4030 and 7139 t/s (XiongjieDai/GPU-Benchmarks-on-
    // LLM-Inference, llama.cpp May 2024): 0.40 and 0.30 of the FP16-accumulate tensor peak.
    prompt_dense: 0.35,
    // llama.cpp PR #26977, Qwen3-30B-A3B Q4_K_M pp at ubatch 64/96/128/256 (4-16 tokens per
    // expert): 2403/3006/3604/5994 t/s, whose ratios give about 24 tokens at half speed.
    prompt_expert_half_tokens: 24.0,
    // RTX 3090 at 131K (1288 t/s) and RTX 5090 at 262K (2003 t/s), 35B-A3B, read at full depth.
    prompt_attention: 0.30,
    // RTX 3090 35B-A3B Q4_K, 2622 t/s at 4K: what the products leave over, per DeltaNet layer
    // (checked by the 5090 UD-Q4_K_XL prompt, 7026 t/s).
    recurrent_layer_prompt_flops: 340e6,
};

/// Apple GPUs through Metal (`fp16_tflops` = the shader FP32 rate).
pub const METAL: GpuEfficiency = GpuEfficiency {
    // M1 Max 32-core, Llama 3.1 8B Q4_K_M tg128 46.2 t/s (normiebench #40, 2026): the
    // dequantizing mat-vec kernels are ALU-bound on Apple GPUs.
    read_quantized: 0.53,
    // M1 Max 32-core, Llama 3 8B F16 tg 18.75 t/s (XiongjieDai, May 2024).
    read_float: 0.70,
    // M2 Ultra 76-core, Qwen3-30B-A3B Q8_0 tg128 76.3 t/s (llama.cpp PR #15616, 2025) and M3 Max
    // 40-core, Qwen3.5-35B-A3B Q4_K_M 58.3 t/s (hiesch.eu, llama-server b9020, 2026): -18% / +15%.
    read_experts: 0.21,
    // Not seen on Metal: the two MoE rows (with and without DeltaNet layers) fit one expert share.
    recurrent_layer_bytes: 0.0,
    // Llama 3 8B Q4_K_M pp512 on M1 Max (500 t/s, normiebench #40), M3 Max (693) and M2 Ultra (994,
    // XiongjieDai May 2024): -10%, -12%, +18%.
    prompt_dense: 0.60,
    // M2 Ultra 76-core, Qwen3-30B-A3B Q8_0 pp512 2045 t/s (PR #15616), dense part at `prompt_dense`:
    // 32 tokens per expert run at 0.36.
    prompt_expert_half_tokens: 21.0,
    // Same run, pp16384 1023 t/s: the extra time over pp512 is attention at ~8K mean depth.
    prompt_attention: 0.45,
    recurrent_layer_prompt_flops: 0.0,
};

/// Vulkan, as measured on the only Vulkan profile (Strix Halo, Radeon 8060S). Generation keeps
/// CUDA's shares: its four rows below land within -7..-17%.
pub const VULKAN: GpuEfficiency = GpuEfficiency {
    // fromthematrix.dev, Strix Halo, llama.cpp b8123 Vulkan, 7624-token prompts through
    // llama-server: Qwen3.5-35B-A3B Q4_K_M 667, Qwen3-Coder-30B-A3B Q4_K_M 779, gpt-oss-20b 1040,
    // gpt-oss-120b 404 t/s. CUDA's prompt shares put them 1.7-2.4x too fast (geometric mean 2.14);
    // the dense and attention shares are CUDA's divided by 2.14. llama.cpp issue #21948 profiles
    // the cause on this chip: the routed-expert kernel (MUL_MAT_ID) takes 42-66% of prefill time.
    prompt_dense: 0.35 / 2.14,
    prompt_attention: 0.30 / 2.14,
    ..CUDA
};

/// ROCm on RDNA 3 (gfx11xx: RX 7900 XTX): the mat-vec kernels reach about half the memory
/// bandwidth CUDA's reach on NVIDIA cards. Prompt shares stay CUDA's.
pub const ROCM_RDNA3: GpuEfficiency = GpuEfficiency {
    // RX 7900 XTX, Llama 3.1 8B Q2_K tg64 131.0 t/s (llama.cpp PR #26284, stock HIP build): 0.47
    // of 960 GB/s after the fixed per-layer time. CUDA's 0.8 predicted 205.6 (+57%).
    read_quantized: 0.47,
    ..CUDA
};

/// The shares for a GPU: by backend, and for ROCm by architecture.
pub fn for_gpu(backend: &str, compute_capability: Option<&str>) -> &'static GpuEfficiency {
    match backend {
        "metal" => &METAL,
        "vulkan" => &VULKAN,
        "rocm" if compute_capability.is_some_and(|c| c.starts_with("gfx11")) => &ROCM_RDNA3,
        _ => &CUDA,
    }
}
