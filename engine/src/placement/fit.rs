//! `--fit`: the engine's own fit rule (the engine cannot depend on the planner crate).
//!
//! Budget = free VRAM − `--fit-target`. Try, in order, and keep the first that fits:
//! 1. everything on the GPU;
//! 2. for MoE models, `--n-cpu-moe N` for N = 1..=n_layer (experts of the first N layers in RAM);
//! 3. fewer GPU layers (`-ngl` from n_layer down to 0), with all experts in RAM for MoE models.
//!
//! GPU bytes counted: the weights the placement puts there, plus the KV cache / recurrent state
//! of each GPU layer, plus a fixed compute reserve.

use super::{GpuLayers, Placement, PlacementError, PlacementOptions};

/// What the fit rule needs to know about the model and the device.
#[derive(Debug, Clone)]
pub struct FitInput<'a> {
    /// (tensor name, bytes) of every tensor.
    pub tensors: &'a [(String, u64)],
    pub n_layer: usize,
    /// Bytes of cache state (KV at the session's n_ctx, or recurrent state) per layer.
    pub cache_bytes_per_layer: Vec<u64>,
    /// Free memory on CUDA0 in bytes.
    pub free_vram: u64,
    /// Scratch activations and kernels, kept free in addition to the target margin.
    pub compute_reserve: u64,
}

fn gpu_bytes(p: &Placement, cache: &[u64]) -> u64 {
    let weights: u64 = p
        .tensors
        .iter()
        .filter(|t| t.device.is_gpu())
        .map(|t| t.bytes)
        .sum();
    let caches: u64 = p
        .layers
        .iter()
        .zip(cache)
        .filter(|(d, _)| d.is_gpu())
        .map(|(_, b)| *b)
        .sum();
    weights + caches
}

/// Turns `base.fit` into concrete `-ngl` / `--n-cpu-moe` choices (the user's `-ot` rules are kept
/// first). Errors when not even the CPU-only placement fits, which cannot happen (0 bytes).
pub fn fit_options(
    base: &PlacementOptions,
    input: &FitInput,
) -> Result<PlacementOptions, PlacementError> {
    let Some(fit) = base.fit else {
        return Ok(base.clone());
    };
    let margin = fit.target_mib.saturating_mul(1 << 20) + input.compute_reserve;
    let budget = input.free_vram.saturating_sub(margin);
    let is_moe = input
        .tensors
        .iter()
        .any(|(n, _)| regex::Regex::new(super::FFN_EXPS_REGEX).is_ok_and(|r| r.is_match(n)));
    let fits = |o: &PlacementOptions| -> Result<bool, PlacementError> {
        let p = Placement::resolve_names(input.tensors, input.n_layer, o, 1)?;
        Ok(gpu_bytes(&p, &input.cache_bytes_per_layer) <= budget)
    };
    let mut o = base.clone();
    o.fit = None;
    o.gpu_layers = GpuLayers::All;
    o.cpu_moe = false;
    o.n_cpu_moe = 0;
    if fits(&o)? {
        return Ok(o);
    }
    if is_moe {
        for n in 1..=input.n_layer {
            o.n_cpu_moe = n;
            if fits(&o)? {
                return Ok(o);
            }
        }
        o.n_cpu_moe = 0;
        o.cpu_moe = true;
    }
    for ngl in (0..=input.n_layer).rev() {
        o.gpu_layers = GpuLayers::Count(ngl);
        if fits(&o)? {
            return Ok(o);
        }
    }
    Err(PlacementError::Fit(format!(
        "nothing fits in {budget} bytes of VRAM"
    )))
}
