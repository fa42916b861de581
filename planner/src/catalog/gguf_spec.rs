//! ModelSpec of a catalog slice → the engine's synth spec: the metadata llama.cpp and the engine
//! read for the architecture (key set as in shared/fixtures/models/*.gguf), and a value
//! distribution per tensor that keeps a random model numerically sane.

use fitbench_engine::synth::{Init, MetaValue, SynthSpec, SynthTensor};

use super::entry::CatalogEntry;
use super::recipe::{Ftype, Quant};
use crate::model::ModelSpec;

#[derive(Debug, thiserror::Error)]
#[error("synth: architecture '{0}' is not supported (supported: {SUPPORTED:?})")]
pub struct UnsupportedArch(pub String);

pub const SUPPORTED: &[&str] = &[
    "qwen35moe",
    "qwen35",
    "qwen3moe",
    "qwen3",
    "qwen3next",
    "llama",
    "gemma3",
];

/// llama.cpp `llama_ftype` ids (general.file_type), for the quants that have one.
fn file_type_id(f: Ftype) -> Option<u32> {
    Some(match f {
        Ftype::F16 => 1,
        Ftype::Q4_0 => 2,
        Ftype::Q8_0 => 7,
        Ftype::Q2_K => 10,
        Ftype::Q3_K_S => 11,
        Ftype::Q3_K_M => 12,
        Ftype::Q3_K_L => 13,
        Ftype::Q4_K_S => 14,
        Ftype::Q4_K_M => 15,
        Ftype::Q5_K_S => 16,
        Ftype::Q5_K_M => 17,
        Ftype::Q6_K => 18,
        Ftype::IQ2_XXS => 19,
        Ftype::IQ2_XS => 20,
        Ftype::IQ3_XS => 22,
        Ftype::IQ3_XXS => 23,
        Ftype::IQ1_S => 24,
        Ftype::IQ4_NL => 25,
        Ftype::IQ3_S => 26,
        Ftype::IQ3_M => 27,
        Ftype::IQ2_S => 28,
        Ftype::IQ2_M => 29,
        Ftype::IQ4_XS => 30,
        Ftype::IQ1_M => 31,
        Ftype::BF16 => 32,
        Ftype::Mxfp4Moe => 38,
    })
}

fn metadata(e: &CatalogEntry, quant: &Quant) -> Vec<(String, MetaValue)> {
    let a = e.arch.as_str();
    let mut md: Vec<(String, MetaValue)> = Vec::new();
    let mut put = |k: &str, v: MetaValue| {
        let key = if k.starts_with("general.") || k.starts_with("tokenizer.") {
            k.to_string()
        } else {
            format!("{a}.{k}")
        };
        md.push((key, v));
    };
    use MetaValue::{String as S, F32, U32};
    let u = |v: u64| U32(v as u32);
    put("general.architecture", S(a.into()));
    put(
        "general.name",
        S(format!("synthetic {} {}L {}", e.name, e.layers, quant.name)),
    );
    put("general.quantization_version", U32(2));
    if let Some(id) = file_type_id(quant.ftype) {
        put("general.file_type", U32(id));
    }
    put("block_count", u(e.layers));
    put("context_length", u(e.context));
    put("embedding_length", u(e.hidden));
    let ffn = match &e.experts {
        Some(x) if e.ffn == 0 => x.ffn,
        _ => e.ffn,
    };
    put("feed_forward_length", u(ffn));
    put("attention.head_count", u(e.heads));
    put("attention.head_count_kv", u(e.kv_heads));
    put("attention.key_length", u(e.head_dim));
    put("attention.value_length", u(e.head_dim));
    let eps = if a == "llama" { 1e-5 } else { 1e-6 };
    put("attention.layer_norm_rms_epsilon", F32(eps));
    let rope_base = match a {
        "llama" => 500_000.0,
        "qwen35" | "qwen35moe" | "qwen3next" => 10_000_000.0,
        _ => 1_000_000.0,
    };
    put("rope.freq_base", F32(rope_base));
    if let Some(x) = &e.experts {
        put("expert_count", u(x.count));
        put("expert_used_count", u(x.used));
        put("expert_feed_forward_length", u(x.ffn));
        if x.shared_ffn > 0 {
            put("expert_shared_feed_forward_length", u(x.shared_ffn));
        }
    }
    if let Some(lin) = &e.linear {
        // Qwen3.5/Next: partial rotary (a quarter of the head), multi-section rope.
        put("rope.dimension_count", u(e.head_dim / 4));
        if a != "qwen3next" {
            put(
                "rope.dimension_sections",
                MetaValue::I32Array(vec![11, 11, 10, 0]),
            );
        }
        put("ssm.conv_kernel", u(lin.conv));
        put("ssm.state_size", u(lin.head_dim));
        put("ssm.group_count", u(lin.k_heads));
        put("ssm.time_step_rank", u(lin.v_heads));
        put("ssm.inner_size", u(lin.v_heads * lin.head_dim));
        put(
            "full_attention_interval",
            u(e.full_attention_interval.unwrap_or(4)),
        );
    } else {
        put("rope.dimension_count", u(e.head_dim));
    }
    if let Some(w) = e.sliding_window {
        put("attention.sliding_window", u(w));
    }
    for (k, v) in byte_vocabulary(e.vocab) {
        put(k, v);
    }
    put("vocab_size", u(e.vocab));
    md
}

/// Token id of the synthetic vocabulary's end-of-text token (the first id after the 256 bytes).
const SYNTH_EOT_ID: u32 = 256;

/// A byte-level GPT-2 vocabulary with no merges: ids 0-255 are the bytes (in GPT-2's
/// byte-to-character mapping, so text tokenizes one byte per token in llama.cpp and in the engine
/// alike), 256 is an end-of-text control token, the rest fill the model's vocabulary size. It lets
/// llama.cpp's text tools (llama-perplexity, llama-completion) run on a synthetic model, so the
/// engine can be compared with them on shapes no fixture has. Vocabularies too small for it get
/// no tokenizer (`none`).
fn byte_vocabulary(n_vocab: u64) -> Vec<(&'static str, MetaValue)> {
    if n_vocab <= SYNTH_EOT_ID as u64 {
        return vec![("tokenizer.ggml.model", MetaValue::String("none".into()))];
    }
    let n = n_vocab as usize;
    let mut tokens: Vec<String> = (0..=255u8)
        .map(|b| fitbench_engine::tokenizer::byte_to_char(b).to_string())
        .collect();
    tokens.push("<|endoftext|>".into());
    tokens.extend((tokens.len()..n).map(|i| format!("<|synth_{i}|>")));
    // llama_token_type: 1 normal, 3 control.
    let types: Vec<i32> = (0..n)
        .map(|i| if i == SYNTH_EOT_ID as usize { 3 } else { 1 })
        .collect();
    vec![
        ("tokenizer.ggml.model", MetaValue::String("gpt2".into())),
        ("tokenizer.ggml.pre", MetaValue::String("gpt-2".into())),
        ("tokenizer.ggml.tokens", MetaValue::StringArray(tokens)),
        ("tokenizer.ggml.token_type", MetaValue::I32Array(types)),
        ("tokenizer.ggml.merges", MetaValue::StringArray(Vec::new())),
        ("tokenizer.ggml.bos_token_id", MetaValue::U32(SYNTH_EOT_ID)),
        ("tokenizer.ggml.eos_token_id", MetaValue::U32(SYNTH_EOT_ID)),
        ("tokenizer.ggml.add_bos_token", MetaValue::Bool(false)),
    ]
}

/// Values per tensor: norms 1, DeltaNet decay/dt/conv in their trained ranges, weights N(0, 0.02).
fn init_for(name: &str) -> Init {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let stem = stem.rsplit('.').next().unwrap_or(stem);
    if name.ends_with("ssm_a") {
        // A = -exp(A_log), A_log ~ log U(1, 16) in training; keep decays moderate.
        Init::Uniform {
            low: -8.0,
            high: -1.0,
        }
    } else if name.ends_with("ssm_dt.bias") {
        // softplus(dt_bias) in about [0.02, 0.3].
        Init::Uniform {
            low: -4.0,
            high: -1.0,
        }
    } else if stem == "ssm_conv1d" {
        Init::Normal {
            std: 0.5,
            mean: 0.0,
        }
    } else if stem.ends_with("norm") {
        Init::Ones
    } else if name.ends_with(".bias") || stem == "attn_sinks" {
        Init::Constant(0.0)
    } else {
        Init::Normal {
            std: 0.02,
            mean: 0.0,
        }
    }
}

/// The engine's synth spec for a sliced catalog entry and its ModelSpec.
pub fn synth_spec(
    e: &CatalogEntry,
    quant: &Quant,
    model: &ModelSpec,
    seed: u64,
) -> Result<SynthSpec, UnsupportedArch> {
    if !SUPPORTED.contains(&e.arch.as_str()) {
        return Err(UnsupportedArch(e.arch.clone()));
    }
    let tensors = model
        .tensors
        .iter()
        .map(|t| SynthTensor {
            name: t.name.clone(),
            dims: t.dims.clone(),
            ggml_type: t.ggml_type.name().to_string(),
            init: init_for(&t.name),
        })
        .collect();
    Ok(SynthSpec {
        seed,
        metadata: metadata(e, quant),
        tensors,
    })
}
