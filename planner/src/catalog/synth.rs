//! A catalog entry + a quant → a synthetic tensor list (names, shapes, types), consumed by the same
//! estimator as a real header. Shapes follow llama.cpp's tensor creation for each architecture.

use crate::model::{
    classify, ExpertSpec, LayerKind, ModelSpec, RecurrentSpec, TensorRole, TensorSpec,
};

use super::entry::CatalogEntry;
use super::recipe::{tensor_type, Quant, TensorContext};

struct Builder<'a> {
    entry: &'a CatalogEntry,
    quant: &'a Quant,
    layers: &'a [LayerKind],
    tensors: Vec<TensorSpec>,
}

impl Builder<'_> {
    fn add(&mut self, layer: Option<usize>, stem: &str, suffix: &str, dims: &[u64]) {
        let name = match layer {
            Some(il) => format!("blk.{il}.{stem}{suffix}"),
            None => format!("{stem}{suffix}"),
        };
        let recurrent = layer.is_some_and(|il| matches!(self.layers[il], LayerKind::Recurrent));
        let role = classify(&name, recurrent);
        let e = self.entry;
        let ctx = TensorContext {
            model: &e.id,
            stem,
            role,
            layer,
            n_layers: self.layers.len(),
            ne0: dims[0],
            n_dims: if suffix == ".bias" { 1 } else { dims.len() },
            n_expert: e.experts.as_ref().map(|x| x.count).unwrap_or(0),
            n_gqa: e.heads / e.kv_heads.max(1),
            tied: e.tied_embeddings,
        };
        let ty = if suffix == ".bias" {
            fitbench_engine::gguf::GgmlType::F32
        } else {
            tensor_type(self.quant, &ctx)
        };
        let n: u64 = dims.iter().product();
        let bytes = ty.bytes_for(n).unwrap_or(n * 2);
        self.tensors.push(TensorSpec {
            name,
            layer,
            role,
            ggml_type: ty,
            dims: dims.to_vec(),
            bytes,
        });
    }
}

/// Layer kinds of a catalog model.
fn layer_kinds(e: &CatalogEntry) -> Vec<LayerKind> {
    let swa_every = match e.arch.as_str() {
        "gemma3" => Some(6usize),
        "gpt-oss" => Some(2),
        _ => None,
    };
    (0..e.layers as usize)
        .map(|il| {
            if let (Some(_), Some(interval)) = (&e.linear, e.full_attention_interval) {
                if (il + 1) % interval.max(1) as usize != 0 {
                    return LayerKind::Recurrent;
                }
            }
            let window = match (e.sliding_window, swa_every) {
                (Some(w), Some(n)) if il % n < n - 1 => Some(w),
                _ => None,
            };
            LayerKind::Attention {
                n_head: e.heads,
                n_head_kv: e.kv_heads,
                head_dim_k: e.head_dim,
                head_dim_v: e.head_dim,
                window,
            }
        })
        .collect()
}

/// The ModelSpec a GGUF of `entry` quantized as `quant` would have.
pub fn synthesize(entry: &CatalogEntry, quant: &Quant) -> ModelSpec {
    let layers = layer_kinds(entry);
    let e = entry;
    let h = e.hidden;
    let mut b = Builder {
        entry,
        quant,
        layers: &layers,
        tensors: Vec::new(),
    };
    b.add(None, "token_embd", ".weight", &[h, e.vocab]);
    let hybrid = e.linear.is_some();
    let gated_q = hybrid; // Qwen3.5/Next attention: Q carries the output gate, twice as wide.
    for (il, kind) in layers.iter().enumerate() {
        let l = Some(il);
        b.add(l, "attn_norm", ".weight", &[h]);
        match kind {
            LayerKind::Attention { .. } => {
                let q = e.heads * e.head_dim;
                let kv = e.kv_heads * e.head_dim;
                b.add(
                    l,
                    "attn_q",
                    ".weight",
                    &[h, if gated_q { 2 * q } else { q }],
                );
                b.add(l, "attn_k", ".weight", &[h, kv]);
                b.add(l, "attn_v", ".weight", &[h, kv]);
                b.add(l, "attn_output", ".weight", &[q, h]);
                if e.qk_norm || hybrid {
                    b.add(l, "attn_q_norm", ".weight", &[e.head_dim]);
                    b.add(l, "attn_k_norm", ".weight", &[e.head_dim]);
                }
                if e.arch == "gpt-oss" {
                    for (s, d) in [
                        ("attn_q", q),
                        ("attn_k", kv),
                        ("attn_v", kv),
                        ("attn_output", h),
                    ] {
                        b.add(l, s, ".bias", &[d]);
                    }
                    b.add(l, "attn_sinks", ".weight", &[e.heads]);
                }
            }
            LayerKind::Recurrent => {
                let lin = e
                    .linear
                    .as_ref()
                    .expect("recurrent layers only exist with linear config");
                let key_dim = lin.k_heads * lin.head_dim;
                let value_dim = lin.v_heads * lin.head_dim;
                let conv_dim = 2 * key_dim + value_dim;
                b.add(l, "attn_qkv", ".weight", &[h, conv_dim]);
                b.add(l, "attn_gate", ".weight", &[h, value_dim]);
                b.add(l, "ssm_conv1d", ".weight", &[lin.conv, conv_dim]);
                b.add(l, "ssm_dt", ".bias", &[lin.v_heads]);
                b.add(l, "ssm_a", "", &[lin.v_heads]);
                if e.arch == "qwen3next" {
                    b.add(l, "ssm_ba", ".weight", &[h, 2 * lin.v_heads]);
                } else {
                    b.add(l, "ssm_beta", ".weight", &[h, lin.v_heads]);
                    b.add(l, "ssm_alpha", ".weight", &[h, lin.v_heads]);
                }
                b.add(l, "ssm_norm", ".weight", &[lin.head_dim]);
                b.add(l, "ssm_out", ".weight", &[value_dim, h]);
            }
        }
        if hybrid || e.arch == "gemma3" || e.arch == "gpt-oss" {
            b.add(l, "post_attention_norm", ".weight", &[h]);
        }
        if e.arch == "gemma3" || !hybrid && e.arch != "gpt-oss" {
            b.add(l, "ffn_norm", ".weight", &[h]);
        }
        match &e.experts {
            Some(x) => {
                b.add(l, "ffn_gate_inp", ".weight", &[h, x.count]);
                b.add(l, "ffn_gate_exps", ".weight", &[h, x.ffn, x.count]);
                b.add(l, "ffn_up_exps", ".weight", &[h, x.ffn, x.count]);
                b.add(l, "ffn_down_exps", ".weight", &[x.ffn, h, x.count]);
                if e.arch == "gpt-oss" {
                    b.add(l, "ffn_gate_inp", ".bias", &[x.count]);
                    b.add(l, "ffn_gate_exps", ".bias", &[x.ffn, x.count]);
                    b.add(l, "ffn_up_exps", ".bias", &[x.ffn, x.count]);
                    b.add(l, "ffn_down_exps", ".bias", &[h, x.count]);
                }
                if x.shared_ffn > 0 {
                    b.add(l, "ffn_gate_inp_shexp", ".weight", &[h]);
                    b.add(l, "ffn_gate_shexp", ".weight", &[h, x.shared_ffn]);
                    b.add(l, "ffn_up_shexp", ".weight", &[h, x.shared_ffn]);
                    b.add(l, "ffn_down_shexp", ".weight", &[x.shared_ffn, h]);
                }
            }
            None => {
                b.add(l, "ffn_gate", ".weight", &[h, e.ffn]);
                b.add(l, "ffn_up", ".weight", &[h, e.ffn]);
                b.add(l, "ffn_down", ".weight", &[e.ffn, h]);
            }
        }
        if e.arch == "gemma3" {
            b.add(l, "post_ffw_norm", ".weight", &[h]);
        }
    }
    b.add(None, "output_norm", ".weight", &[h]);
    if !e.tied_embeddings {
        b.add(None, "output", ".weight", &[h, e.vocab]);
    }
    let tensors = b.tensors;
    debug_assert!(
        tensors.iter().all(|t| t.role != TensorRole::Other),
        "{:?}",
        tensors.iter().find(|t| t.role == TensorRole::Other)
    );
    ModelSpec {
        name: format!("{} {}", e.name, quant.name),
        architecture: e.arch.clone(),
        n_embd: h,
        n_vocab: e.vocab,
        context_train: e.context,
        experts: e.experts.as_ref().map(|x| ExpertSpec {
            count: x.count,
            used: x.used,
            shared_ff: x.shared_ffn,
        }),
        recurrent: e.linear.as_ref().map(|lin| RecurrentSpec {
            conv_kernel: lin.conv,
            inner_size: lin.v_heads * lin.head_dim,
            state_size: lin.head_dim,
            group_count: lin.k_heads,
        }),
        layers,
        tensors,
        source: format!(
            "catalog: {} ({}); quant recipe {}",
            e.id, e.source, quant.name
        ),
    }
}
