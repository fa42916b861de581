//! Models: hyperparameters, bound weights, and the decoder forward pass shared by all families
//! (llama, qwen2, qwen3, qwen3moe, qwen35, qwen35moe, qwen3next, gemma3) over per-layer building blocks.

pub mod attention;
pub mod attn_flash_gemm;
pub mod attn_flash_split;
pub mod attn_head;
#[cfg(test)]
mod attn_head_ref;
pub mod attn_split;
pub mod attn_tile;
pub mod attn_vec;
#[cfg(target_arch = "x86_64")]
pub mod attn_vec_avx2;
#[cfg(target_arch = "x86_64")]
pub mod attn_vec_avx512;
pub mod config;
pub mod delta_net;
mod delta_rule;
pub mod error;
mod expert_choice;
pub mod fa_gemm;
#[cfg(target_arch = "x86_64")]
pub mod fa_gemm_avx2;
#[cfg(target_arch = "x86_64")]
pub mod fa_gemm_avx512;
pub mod ffn;
mod ffn_decode;
pub mod fit_input;
pub mod forward;
pub mod ggml_math;
pub mod norm;
pub mod qkvz;
pub mod residency;
pub mod rope;
#[cfg(test)]
mod test_rng;
pub mod tinyblas;
#[cfg(target_arch = "x86_64")]
pub mod tinyblas_avx2;
#[cfg(target_arch = "x86_64")]
pub mod tinyblas_avx512;
pub mod weights;

use crate::gguf::{GgufModel, LoadMode, Metadata};
use crate::placement::{Placement, PlacementOptions};
use crate::tensor::Tensor;
pub use config::{Activation, Arch, Config, RopeKind, SsmConfig};
pub use error::ModelError;
use rope::Rope;
use std::path::Path;
use weights::{Mixer, Weights};

/// Options for [`Model::load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Read the weights into anonymous memory instead of mapping the file (llama.cpp `--no-mmap`).
    pub no_mmap: bool,
    /// Lock the weights in RAM (llama.cpp `--mlock`); fails clearly when the limit is too low.
    pub mlock: bool,
    /// Where weights live (`-ngl`, `--n-cpu-moe`, `-ot`, `--fit`). Default: everything in RAM.
    pub placement: PlacementOptions,
    /// Context size `--fit` budgets the KV cache for.
    pub fit_n_ctx: usize,
    /// Repack the CPU-resident weights whose format has a faster repacked kernel on this CPU
    /// (see [`crate::packed`]); `--no-repack` turns it off, as in llama.cpp.
    pub repack: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            no_mmap: false,
            mlock: false,
            placement: PlacementOptions::default(),
            fit_n_ctx: 4096,
            repack: true,
        }
    }
}

/// A loaded model: weights stay in the memory map (zero-copy); small tensors are copied to f32.
pub struct Model {
    config: Config,
    weights: Weights,
    rope: Rope,
    /// Rope of sliding-window layers (Gemma 3: base 10000).
    rope_swa: Rope,
    placement: Placement,
    /// Why a GPU request was not (fully) honoured, for the CLI to print.
    placement_notice: Option<String>,
    /// Bytes of (file) weights repacked for the CPU kernels at load.
    repacked_bytes: u64,
    // Declared last: the tensors above point into its mmap.
    gguf: GgufModel,
}

impl Model {
    pub fn load(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Model, ModelError> {
        let path = path.as_ref();
        let mode = LoadMode {
            no_mmap: opts.no_mmap,
            mlock: opts.mlock,
            populate: true,
        };
        let gguf = GgufModel::open_with(path, mode)?;
        let shown = path.display().to_string();
        let embd =
            Tensor::bind_any(&gguf, "token_embd.weight").map_err(|e| ModelError::Tensor {
                path: shown.clone(),
                cause: e,
            })?;
        let n_vocab = embd.n_rows();
        let config =
            Config::from_metadata(gguf.metadata(), n_vocab).map_err(|e| ModelError::Config {
                path: shown.clone(),
                cause: e,
            })?;
        if config.arch.is_hybrid() && config.head_dim_k != config.head_dim_v {
            return Err(ModelError::Options(format!(
                "{shown}: gated attention needs key_length == value_length"
            )));
        }
        let mut weights = Weights::bind(&gguf, &config).map_err(|e| ModelError::Tensor {
            path: shown.clone(),
            cause: e,
        })?;
        let (placement, placement_notice) =
            residency::apply(&gguf, &shown, &config, &mut weights, opts)?;
        let repacked_bytes = if opts.repack {
            residency::repack_cpu_weights(&gguf, &mut weights)
        } else {
            0
        };
        let freq_factors = Tensor::bind_opt(&gguf, "rope_freqs.weight", &[config.n_rot / 2])
            .map_err(|e| ModelError::Tensor {
                path: path.display().to_string(),
                cause: e,
            })?
            .map(|t| t.to_f32());
        let rope = Rope::new(config.rope_kind, config.n_rot, config.rope_base)
            .scaled(config.rope_freq_scale, freq_factors);
        let rope_swa = Rope::new(config.rope_kind, config.n_rot, config.rope_base_swa);
        Ok(Model {
            config,
            weights,
            rope,
            rope_swa,
            placement,
            placement_notice,
            repacked_bytes,
            gguf,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn vocab_size(&self) -> usize {
        self.config.n_vocab
    }

    /// Where each weight lives, as applied at load.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Set when a GPU was asked for and could not be used (fully): print it.
    pub fn placement_notice(&self) -> Option<&str> {
        self.placement_notice.as_deref()
    }

    pub fn metadata(&self) -> &Metadata {
        self.gguf.metadata()
    }

    pub fn gguf(&self) -> &GgufModel {
        &self.gguf
    }

    /// Bytes of the file's weights that were repacked at load for the CPU kernels (0 with
    /// `--no-repack`, or where this CPU has no repacked kernel).
    pub fn repacked_bytes(&self) -> u64 {
        self.repacked_bytes
    }

    pub(crate) fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The rope of layer `il` (sliding-window layers may use another base).
    pub(crate) fn rope(&self, il: usize) -> &Rope {
        if self.config.swa[il] {
            &self.rope_swa
        } else {
            &self.rope
        }
    }

    /// Which layers hold a KV cache (attention) and which a recurrent state.
    pub fn attention_layers(&self) -> Vec<bool> {
        self.weights
            .layers
            .iter()
            .map(|l| matches!(l.mixer, Mixer::Attention(_)))
            .collect()
    }
}
