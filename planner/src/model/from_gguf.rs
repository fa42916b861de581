//! ModelSpec from a GGUF header (one file or a split set). Reads metadata and the tensor index only.

use std::path::{Path, PathBuf};

use fitbench_engine::gguf::{GgufModel, Metadata, Value};

use super::role::{classify, split_layer};
use super::spec::{ExpertSpec, LayerKind, ModelSpec, RecurrentSpec, TensorSpec};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Gguf(#[from] fitbench_engine::gguf::GgufError),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

fn invalid(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Archs whose layers mix Gated DeltaNet and attention (llama.cpp `llm_arch_is_hybrid`, Qwen family).
const QWEN_HYBRID: &[&str] = &["qwen35", "qwen35moe", "qwen3next"];

/// Sliding-window layer pattern (llama.cpp `set_swa_pattern`): layer `il` is SWA when `il % n < n - 1`.
fn swa_pattern(arch: &str) -> Option<usize> {
    match arch {
        "gemma3" => Some(6),
        "gemma2" | "gpt-oss" | "openai-moe" => Some(2),
        _ => None,
    }
}

pub fn open(path: impl AsRef<Path>) -> Result<ModelSpec, ModelError> {
    let path = path.as_ref();
    let model = GgufModel::open(path)?;
    from_model(&model)
}

pub fn from_model(model: &GgufModel) -> Result<ModelSpec, ModelError> {
    let path = model.path();
    let md = model.metadata();
    let arch = md
        .architecture()
        .ok_or_else(|| invalid(path, "general.architecture is missing"))?
        .to_string();
    let need = |suffix: &str| -> Result<u64, ModelError> {
        md.arch_usize(suffix).map(|v| v as u64).ok_or_else(|| {
            invalid(
                path,
                format!("{arch}.{suffix} is missing or not an integer"),
            )
        })
    };
    let n_embd = need("embedding_length")?;
    let n_layer_all = need("block_count")? as usize;
    if n_layer_all == 0 || n_layer_all > 4096 {
        return Err(invalid(
            path,
            format!("{arch}.block_count = {n_layer_all} is not a plausible layer count"),
        ));
    }
    let n_nextn = md
        .arch_usize("nextn_predict_layers")
        .unwrap_or(0)
        .min(n_layer_all);
    let n_layers = n_layer_all - n_nextn;
    let context_train = md.arch_usize("context_length").unwrap_or(0) as u64;

    let per_layer = |suffix: &str, default: Option<i64>| -> Result<Vec<u64>, ModelError> {
        let key = format!("{arch}.{suffix}");
        match md.get_per_layer(&key, n_layer_all) {
            Some(v) if v.len() >= n_layers => Ok(v.into_iter().map(|x| x.max(0) as u64).collect()),
            Some(v) => Err(invalid(
                path,
                format!("{key} has {} entries for {n_layer_all} layers", v.len()),
            )),
            None => default
                .map(|d| vec![d.max(0) as u64; n_layer_all])
                .ok_or_else(|| invalid(path, format!("{key} is missing"))),
        }
    };
    let n_head = per_layer("attention.head_count", None)?;
    let n_head_kv = per_layer("attention.head_count_kv", Some(n_head[0] as i64))?;
    let default_head_dim = n_head
        .iter()
        .copied()
        .find(|&h| h > 0)
        .map(|h| n_embd / h)
        .unwrap_or(0);
    let head_k = md
        .arch_usize("attention.key_length")
        .map(|v| v as u64)
        .unwrap_or(default_head_dim);
    let head_v = md
        .arch_usize("attention.value_length")
        .map(|v| v as u64)
        .unwrap_or(default_head_dim);

    let recurrent_mask = recurrent_layers(md, &arch, n_layers, path)?;
    let window = md.arch_usize("attention.sliding_window").map(|w| w as u64);
    let pattern = swa_pattern(&arch);
    let layers: Vec<LayerKind> = (0..n_layers)
        .map(|il| {
            if recurrent_mask[il] {
                LayerKind::Recurrent
            } else {
                let is_swa = match (window, pattern) {
                    (Some(w), Some(n)) if w > 0 => (il % n < n - 1).then_some(w),
                    _ => None,
                };
                LayerKind::Attention {
                    n_head: n_head[il],
                    n_head_kv: n_head_kv[il],
                    head_dim_k: head_k,
                    head_dim_v: head_v,
                    window: is_swa,
                }
            }
        })
        .collect();

    let recurrent = if recurrent_mask.iter().any(|&r| r) {
        Some(RecurrentSpec {
            conv_kernel: need("ssm.conv_kernel")?,
            inner_size: need("ssm.inner_size")?,
            state_size: need("ssm.state_size")?,
            group_count: need("ssm.group_count")?,
        })
    } else {
        None
    };

    let tensors: Vec<TensorSpec> = model
        .tensors
        .iter()
        .map(|t| {
            let (layer, _) = split_layer(&t.info.name);
            let mut role = classify(
                &t.info.name,
                layer.is_some_and(|l| l < n_layers && recurrent_mask[l]),
            );
            if layer.is_some_and(|l| l >= n_layers) {
                role = super::role::TensorRole::Mtp;
            }
            TensorSpec {
                name: t.info.name.clone(),
                layer,
                role,
                ggml_type: t.info.ggml_type,
                dims: t.info.dims.clone(),
                bytes: t.info.size,
            }
        })
        .collect();

    let n_vocab = md
        .arch_usize("vocab_size")
        .map(|v| v as u64)
        .or_else(|| {
            md.get_array("tokenizer.ggml.tokens")
                .map(|a| a.len() as u64)
        })
        .or_else(|| {
            model
                .tensor("token_embd.weight")
                .and_then(|t| t.info.dims.get(1).copied())
        })
        .ok_or_else(|| {
            invalid(
                path,
                "vocabulary size unknown (no vocab_size, tokenizer tokens or token_embd)",
            )
        })?;

    let experts = match md.arch_usize("expert_count") {
        Some(count) if count > 0 => {
            let used = md
                .get_per_layer(&format!("{arch}.expert_used_count"), n_layer_all)
                .and_then(|v| v.first().copied())
                .ok_or_else(|| {
                    invalid(
                        path,
                        format!("{arch}.expert_used_count is missing for a MoE model"),
                    )
                })?;
            let shared_ff = md
                .arch_usize("expert_shared_feed_forward_length")
                .map(|v| v as u64)
                .or_else(|| {
                    tensors
                        .iter()
                        .find(|t| t.name.ends_with("ffn_up_shexp.weight"))
                        .and_then(|t| t.dims.get(1).copied())
                })
                .unwrap_or(0);
            Some(ExpertSpec {
                count: count as u64,
                used: used.max(0) as u64,
                shared_ff,
            })
        }
        _ => None,
    };

    let name = md
        .get_str("general.name")
        .map(str::to_string)
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    Ok(ModelSpec {
        name,
        architecture: arch,
        n_embd,
        n_vocab,
        context_train,
        layers,
        experts,
        recurrent,
        tensors,
        source: path.display().to_string(),
    })
}

/// Which trunk layers are recurrent: `<arch>.attention.recurrent_layers` if present, else (Qwen hybrids)
/// every layer but each `full_attention_interval`-th, as llama.cpp's loader does.
fn recurrent_layers(
    md: &Metadata,
    arch: &str,
    n_layers: usize,
    path: &Path,
) -> Result<Vec<bool>, ModelError> {
    let key = format!("{arch}.attention.recurrent_layers");
    if let Some(v) = md.get(&key) {
        let flags: Vec<bool> = match v {
            Value::Array(a) => a
                .as_i64_vec()
                .map(|v| v.into_iter().map(|x| x != 0).collect())
                .ok_or_else(|| invalid(path, format!("{key} is not a bool/int array")))?,
            Value::Bool(b) => vec![*b; n_layers],
            other => other
                .as_i64()
                .map(|x| vec![x != 0; n_layers])
                .ok_or_else(|| invalid(path, format!("{key} has an unexpected type")))?,
        };
        if flags.len() < n_layers {
            return Err(invalid(
                path,
                format!("{key} has {} entries for {n_layers} layers", flags.len()),
            ));
        }
        return Ok(flags[..n_layers].to_vec());
    }
    if QWEN_HYBRID.contains(&arch) {
        let interval = md.arch_usize("full_attention_interval").unwrap_or(4).max(1);
        return Ok((0..n_layers).map(|i| (i + 1) % interval != 0).collect());
    }
    Ok(vec![false; n_layers])
}
