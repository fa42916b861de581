//! Which device each weight tensor of a GGUF lives on, resolved as llama.cpp does.
//!
//! - `-ngl N` counts from the output end: of the `n_layer + 1` "layers" (the repeating blocks,
//!   then the output layer: `output.weight`, `output_norm.weight`), the last N go to the GPU.
//!   The input layer (`token_embd.weight` and other tensors outside `blk.*`) always stays on
//!   the CPU, as llama.cpp keeps it there.
//! - Override rules (`-ot`, then `--cpu-moe` / `--n-cpu-moe`) are checked in order, first match
//!   wins, as an unanchored regex search over the tensor name; they take precedence over `-ngl`.
//! - A layer's KV cache and recurrent state live on the layer's `-ngl` device (overrides move
//!   weights only, as in llama.cpp).
//! - With no GPU, everything resolves to the CPU.

pub mod device;
pub mod fit;
pub mod options;
#[cfg(test)]
mod tests;

pub use device::Device;
pub use fit::{fit_options, FitInput};
pub use options::{Fit, GpuLayers, PlacementOptions, TensorOverride, FFN_EXPS_REGEX};

use crate::gguf::GgufModel;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("{0}")]
    Flag(String),
    #[error("--fit: {0}")]
    Fit(String),
}

/// The layer a tensor belongs to, for `-ngl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOf {
    Input,
    Block(usize),
    Output,
}

/// `blk.N.*` → block N; `output.weight`, `output_norm.*` → output; anything else → input.
pub fn layer_of(name: &str) -> LayerOf {
    if let Some(rest) = name.strip_prefix("blk.") {
        if let Some((n, _)) = rest.split_once('.') {
            if let Ok(il) = n.parse() {
                return LayerOf::Block(il);
            }
        }
    }
    if name.starts_with("output.") || name.starts_with("output_norm.") {
        return LayerOf::Output;
    }
    LayerOf::Input
}

/// One tensor's resolved device.
#[derive(Debug, Clone)]
pub struct TensorPlacement {
    pub name: String,
    pub device: Device,
    pub bytes: u64,
}

/// Every tensor of a model mapped to a device, plus each layer's device for its caches.
#[derive(Debug, Clone)]
pub struct Placement {
    pub tensors: Vec<TensorPlacement>,
    /// Device of each block's KV cache / recurrent state.
    pub layers: Vec<Device>,
    /// Device of the output layer.
    pub output: Device,
}

impl Placement {
    /// Resolves `opts` for `gguf` with `n_layer` blocks and `n_gpus` CUDA devices (0: all on CPU).
    /// `--fit` must already have been turned into concrete options ([`fit_options`]).
    pub fn resolve(
        gguf: &GgufModel,
        n_layer: usize,
        opts: &PlacementOptions,
        n_gpus: usize,
    ) -> Result<Placement, PlacementError> {
        let names: Vec<(String, u64)> = gguf
            .tensors
            .iter()
            .map(|t| (t.info.name.clone(), t.info.size))
            .collect();
        Self::resolve_names(&names, n_layer, opts, n_gpus)
    }

    /// As [`Placement::resolve`] over (name, bytes) pairs.
    pub fn resolve_names(
        tensors: &[(String, u64)],
        n_layer: usize,
        opts: &PlacementOptions,
        n_gpus: usize,
    ) -> Result<Placement, PlacementError> {
        let rules = opts.rules()?;
        for r in &rules {
            if let Device::Cuda(i) = r.device {
                if i >= n_gpus && n_gpus > 0 {
                    return Err(PlacementError::Flag(format!(
                        "-ot: {} does not exist ({n_gpus} CUDA device(s))",
                        r.device
                    )));
                }
            }
        }
        let n_gpu_layers = match opts.gpu_layers {
            GpuLayers::All => n_layer + 1,
            GpuLayers::Count(n) => n.min(n_layer + 1),
        };
        let gpu_start = (n_layer + 1).saturating_sub(n_gpu_layers);
        let layer_device = |il: usize| {
            if n_gpus > 0 && il >= gpu_start {
                Device::Cuda(0)
            } else {
                Device::Cpu
            }
        };
        let layers: Vec<Device> = (0..n_layer).map(layer_device).collect();
        let output = layer_device(n_layer);
        let placed = tensors
            .iter()
            .map(|(name, bytes)| {
                let by_layer = match layer_of(name) {
                    LayerOf::Input => Device::Cpu,
                    LayerOf::Block(il) => layer_device(il),
                    LayerOf::Output => output,
                };
                let ruled = rules
                    .iter()
                    .find(|r| r.pattern.is_match(name))
                    .map(|r| r.device);
                // With no GPU an override to CUDA cannot be honoured: everything runs on the CPU.
                let device = match ruled {
                    Some(Device::Cuda(_)) if n_gpus == 0 => Device::Cpu,
                    Some(d) => d,
                    None => by_layer,
                };
                TensorPlacement {
                    name: name.clone(),
                    device,
                    bytes: *bytes,
                }
            })
            .collect();
        Ok(Placement {
            tensors: placed,
            layers,
            output,
        })
    }

    pub fn device_of(&self, name: &str) -> Option<Device> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.device)
    }

    /// Weight bytes per device.
    pub fn bytes_per_device(&self) -> BTreeMap<Device, u64> {
        let mut m = BTreeMap::new();
        for t in &self.tensors {
            *m.entry(t.device).or_insert(0) += t.bytes;
        }
        m
    }

    /// True when some weight lives on a GPU.
    pub fn uses_gpu(&self) -> bool {
        self.tensors.iter().any(|t| t.device.is_gpu())
    }

    /// A short human summary: `CPU 1.2 GiB, CUDA0 19.8 GiB`.
    pub fn summary(&self) -> String {
        self.bytes_per_device()
            .iter()
            .map(|(d, b)| format!("{d} {:.2} GiB", *b as f64 / (1u64 << 30) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
