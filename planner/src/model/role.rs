//! What a tensor is for, from its name: the estimator needs to know which bytes are read per token
//! (dense part, router, shared expert, a top_k/n_experts share of routed experts) and which can move to RAM.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorRole {
    /// `token_embd`: one row is gathered per token; llama.cpp keeps it in RAM.
    Embedding,
    /// `output.weight` (the LM head).
    Output,
    /// Norm vectors (`*_norm.weight`), tiny.
    Norm,
    /// Projections of a full-attention layer.
    Attention,
    /// Projections and parameters of a recurrent (Gated DeltaNet / SSM) layer.
    Recurrent,
    /// Dense FFN (`ffn_gate/up/down`).
    DenseFfn,
    /// MoE router (`ffn_gate_inp`, `exp_probs_b`).
    Router,
    /// Shared expert (`*_shexp`).
    SharedExpert,
    /// Routed experts (`ffn_*_exps`): only top_k / n_experts of them is read per token.
    RoutedExperts,
    /// Multi-token-prediction layers: stored in the file but not loaded by llama.cpp by default.
    Mtp,
    Other,
}

impl TensorRole {
    pub fn label(self) -> &'static str {
        match self {
            TensorRole::Embedding => "embedding",
            TensorRole::Output => "output",
            TensorRole::Norm => "norm",
            TensorRole::Attention => "attention",
            TensorRole::Recurrent => "recurrent",
            TensorRole::DenseFfn => "dense ffn",
            TensorRole::Router => "router",
            TensorRole::SharedExpert => "shared expert",
            TensorRole::RoutedExperts => "routed experts",
            TensorRole::Mtp => "mtp",
            TensorRole::Other => "other",
        }
    }

    pub const ALL: [TensorRole; 11] = [
        TensorRole::Embedding,
        TensorRole::Output,
        TensorRole::Norm,
        TensorRole::Attention,
        TensorRole::Recurrent,
        TensorRole::DenseFfn,
        TensorRole::Router,
        TensorRole::SharedExpert,
        TensorRole::RoutedExperts,
        TensorRole::Mtp,
        TensorRole::Other,
    ];
}

/// `(layer index, rest of the name)` for `blk.N.rest`, else `(None, name)`.
pub fn split_layer(name: &str) -> (Option<usize>, &str) {
    if let Some(rest) = name.strip_prefix("blk.") {
        if let Some((n, tail)) = rest.split_once('.') {
            if let Ok(i) = n.parse::<usize>() {
                return (Some(i), tail);
            }
        }
    }
    (None, name)
}

/// The role of a tensor; `recurrent_layer` says whether its layer is a recurrent one (where
/// `attn_qkv` / `attn_gate` are DeltaNet projections, not attention).
pub fn classify(name: &str, recurrent_layer: bool) -> TensorRole {
    let (layer, tail) = split_layer(name);
    if layer.is_none() {
        return match tail {
            t if t.starts_with("token_embd") => TensorRole::Embedding,
            t if t.starts_with("output_norm") => TensorRole::Norm,
            t if t.starts_with("output.") || t == "output" => TensorRole::Output,
            t if t.ends_with("norm.weight") || t.ends_with("norm.bias") => TensorRole::Norm,
            _ => TensorRole::Other,
        };
    }
    let stem = tail.split('.').next().unwrap_or(tail);
    if tail.starts_with("nextn.") {
        return TensorRole::Mtp;
    }
    if stem.ends_with("_exps") || stem.ends_with("_chexps") {
        return TensorRole::RoutedExperts;
    }
    if stem.ends_with("_shexp") {
        return TensorRole::SharedExpert;
    }
    if stem == "ffn_gate_inp" || stem == "exp_probs_b" {
        return TensorRole::Router;
    }
    if stem.ends_with("norm") || stem.starts_with("layer_output_norm") {
        return TensorRole::Norm;
    }
    if matches!(stem, "ffn_gate" | "ffn_up" | "ffn_down" | "ffn_gate_up") {
        return TensorRole::DenseFfn;
    }
    if stem.starts_with("ssm_") {
        return TensorRole::Recurrent;
    }
    if stem.starts_with("attn_") {
        return if recurrent_layer {
            TensorRole::Recurrent
        } else {
            TensorRole::Attention
        };
    }
    TensorRole::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_llama_cpp_names() {
        assert_eq!(classify("token_embd.weight", false), TensorRole::Embedding);
        assert_eq!(classify("output.weight", false), TensorRole::Output);
        assert_eq!(classify("output_norm.weight", false), TensorRole::Norm);
        assert_eq!(
            classify("blk.3.attn_q.weight", false),
            TensorRole::Attention
        );
        assert_eq!(
            classify("blk.0.attn_qkv.weight", true),
            TensorRole::Recurrent
        );
        assert_eq!(classify("blk.0.ssm_a", true), TensorRole::Recurrent);
        assert_eq!(
            classify("blk.0.ffn_gate_inp.weight", true),
            TensorRole::Router
        );
        assert_eq!(
            classify("blk.0.ffn_gate_inp_shexp.weight", true),
            TensorRole::SharedExpert
        );
        assert_eq!(
            classify("blk.0.ffn_down_exps.weight", true),
            TensorRole::RoutedExperts
        );
        assert_eq!(classify("blk.0.ffn_up.weight", false), TensorRole::DenseFfn);
        assert_eq!(
            classify("blk.0.attn_q_norm.weight", false),
            TensorRole::Norm
        );
        assert_eq!(
            classify("blk.40.nextn.eh_proj.weight", false),
            TensorRole::Mtp
        );
    }
}
