//! ModelSpec: everything the estimator needs about a model, from a GGUF header or the catalog.

use fitbench_engine::gguf::GgmlType;
use serde::Serialize;

use super::role::TensorRole;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerKind {
    /// Full attention; `window` is set on sliding-window layers (their KV cache is capped).
    Attention {
        n_head: u64,
        n_head_kv: u64,
        head_dim_k: u64,
        head_dim_v: u64,
        window: Option<u64>,
    },
    /// Gated DeltaNet / SSM: a fixed-size state per sequence, no KV cache.
    Recurrent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpertSpec {
    pub count: u64,
    pub used: u64,
    /// Shared-expert FFN width (0 when the model has none).
    pub shared_ff: u64,
}

/// Recurrent (Gated DeltaNet) dimensions, llama.cpp's `ssm.*` keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurrentSpec {
    pub conv_kernel: u64,
    pub inner_size: u64,
    pub state_size: u64,
    pub group_count: u64,
}

impl RecurrentSpec {
    /// `n_embd_r`: conv state floats per layer per sequence.
    pub fn conv_floats(&self) -> u64 {
        self.conv_kernel.saturating_sub(1)
            * (self.inner_size + 2 * self.group_count * self.state_size)
    }
    /// `n_embd_s`: delta-rule state floats per layer per sequence.
    pub fn state_floats(&self) -> u64 {
        self.state_size * self.inner_size
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorSpec {
    pub name: String,
    pub layer: Option<usize>,
    pub role: TensorRole,
    #[serde(serialize_with = "ser_type")]
    pub ggml_type: GgmlType,
    pub dims: Vec<u64>,
    pub bytes: u64,
}

fn ser_type<S: serde::Serializer>(t: &GgmlType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}

impl TensorSpec {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    pub name: String,
    pub architecture: String,
    pub n_embd: u64,
    pub n_vocab: u64,
    pub context_train: u64,
    /// Trunk layers (MTP layers excluded), one entry each.
    pub layers: Vec<LayerKind>,
    pub experts: Option<ExpertSpec>,
    pub recurrent: Option<RecurrentSpec>,
    pub tensors: Vec<TensorSpec>,
    /// Where the spec came from (a file path or "catalog: …").
    pub source: String,
}

impl ModelSpec {
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn n_attention_layers(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l, LayerKind::Attention { .. }))
            .count()
    }

    pub fn n_recurrent_layers(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l, LayerKind::Recurrent))
            .count()
    }

    pub fn is_moe(&self) -> bool {
        self.experts.as_ref().is_some_and(|e| e.count > 1)
    }

    /// Sum of every tensor's size (the file's data section without alignment padding).
    pub fn total_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }

    /// Bytes that llama.cpp loads (MTP layers are skipped unless asked for).
    pub fn loaded_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.role != TensorRole::Mtp)
            .map(|t| t.bytes)
            .sum()
    }

    pub fn bytes_by_role(&self, role: TensorRole) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.role == role)
            .map(|t| t.bytes)
            .sum()
    }

    /// Routed-expert bytes of one layer.
    pub fn expert_bytes_in_layer(&self, layer: usize) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.role == TensorRole::RoutedExperts && t.layer == Some(layer))
            .map(|t| t.bytes)
            .sum()
    }

    /// Share of routed-expert weights read per token (top_k / n_experts).
    pub fn expert_read_fraction(&self) -> f64 {
        match &self.experts {
            Some(e) if e.count > 0 => e.used as f64 / e.count as f64,
            _ => 1.0,
        }
    }

    /// Parameter count (elements of all loaded tensors).
    pub fn n_params(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.role != TensorRole::Mtp)
            .map(|t| t.n_elements())
            .sum()
    }

    /// Parameters used per token: everything but the embedding table, with routed experts scaled by top_k/n.
    pub fn active_params(&self) -> f64 {
        let frac = self.expert_read_fraction();
        self.tensors
            .iter()
            .map(|t| match t.role {
                TensorRole::Embedding | TensorRole::Mtp => 0.0,
                TensorRole::RoutedExperts => t.n_elements() as f64 * frac,
                _ => t.n_elements() as f64,
            })
            .sum()
    }

    /// Largest attention geometry, used for FLOP estimates.
    pub fn attention_dims(&self) -> Option<(u64, u64, u64)> {
        self.layers.iter().find_map(|l| match l {
            LayerKind::Attention {
                n_head,
                n_head_kv,
                head_dim_k,
                ..
            } => Some((*n_head, *n_head_kv, *head_dim_k)),
            LayerKind::Recurrent => None,
        })
    }

    /// Count of tensors and bytes per ggml type, largest first.
    pub fn type_mix(&self) -> Vec<(GgmlType, usize, u64)> {
        let mut mix: Vec<(GgmlType, usize, u64)> = Vec::new();
        for t in &self.tensors {
            match mix.iter_mut().find(|m| m.0 == t.ggml_type) {
                Some(m) => {
                    m.1 += 1;
                    m.2 += t.bytes;
                }
                None => mix.push((t.ggml_type, 1, t.bytes)),
            }
        }
        mix.sort_by(|a, b| b.2.cmp(&a.2));
        mix
    }
}
