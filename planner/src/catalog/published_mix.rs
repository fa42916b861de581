//! Per-tensor type maps read from real uploaded files, for the quants whose mix differs from model to
//! model (Unsloth's dynamic quants pick per model). Where a map is here it beats the generic
//! approximation in `recipe.rs`; where it is not, the generic rule applies.

use fitbench_engine::gguf::GgmlType;

use super::recipe::TensorContext;
use crate::model::TensorRole;

/// The type a published file gives this tensor, if a map for (`ctx.model`, quant) is known.
pub fn published_type(quant: &str, ctx: &TensorContext) -> Option<GgmlType> {
    match (ctx.model, quant) {
        ("qwen3.5-35b-a3b", "UD-IQ2_M") => qwen35_35b_ud_iq2_m(ctx),
        _ => None,
    }
}

/// Unsloth UD-IQ2_M on the 35B-A3B layout, from the header of `Qwen3.6-35B-A3B-UD-IQ2_M.gguf`
/// (11,522,702,304 bytes; same `qwen35moe` shapes and 733 tensors as Qwen3.5-35B-A3B), as listed
/// in github.com/waefrebeorn/bytropix `.hermes/unsloth-qwen3.6-quant-formula.md`. The Qwen3.5
/// file is quoted at "10.6 GB, 2.6 bpw" (a README that downloads `unsloth/Qwen3.5-35B-A3B-GGUF`),
/// which matches this map read as GiB. The map says three of the 40 `ffn_down_exps` are IQ4_XS
/// without saying which; the first three are used here (the size does not depend on it).
fn qwen35_35b_ud_iq2_m(ctx: &TensorContext) -> Option<GgmlType> {
    let t = match ctx.stem {
        "ffn_gate_exps" | "ffn_up_exps" => GgmlType::IQ2_XXS,
        "ffn_down_exps" if ctx.layer.is_some_and(|l| l < 3) => GgmlType::IQ4_XS,
        "ffn_down_exps" => GgmlType::IQ3_XXS,
        "ffn_down_shexp" | "ssm_out" => GgmlType::Q6_K,
        "ffn_gate_shexp" | "ffn_up_shexp" => GgmlType::Q5_K,
        "attn_qkv" | "attn_gate" | "attn_q" | "attn_k" | "attn_v" | "attn_output" => GgmlType::Q5_K,
        "ssm_alpha" | "ssm_beta" => GgmlType::F32,
        _ if ctx.role == TensorRole::Embedding => GgmlType::Q5_K,
        _ if ctx.role == TensorRole::Output => GgmlType::Q4_K,
        _ => return None,
    };
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{find, synthesize, Quant};

    /// Every tensor class the published map lists gets the listed type, tensor counts included.
    #[test]
    fn qwen35_35b_ud_iq2_m_type_counts_match_the_published_header() {
        let entry = find("qwen3.5-35b-a3b").unwrap().unwrap();
        let spec = synthesize(&entry, &Quant::parse("UD-IQ2_M").unwrap());
        let count = |stem: &str, ty: GgmlType| {
            spec.tensors
                .iter()
                .filter(|t| {
                    let whole = format!("{stem}.weight");
                    (t.name == whole || t.name.ends_with(&format!(".{whole}"))) && t.ggml_type == ty
                })
                .count()
        };
        // (stem, type, tensors) as the header map lists them.
        let expected = [
            ("attn_qkv", GgmlType::Q5_K, 30),
            ("attn_gate", GgmlType::Q5_K, 30),
            ("ssm_out", GgmlType::Q6_K, 30),
            ("ssm_alpha", GgmlType::F32, 30),
            ("ssm_beta", GgmlType::F32, 30),
            ("attn_q", GgmlType::Q5_K, 10),
            ("attn_k", GgmlType::Q5_K, 10),
            ("attn_v", GgmlType::Q5_K, 10),
            ("attn_output", GgmlType::Q5_K, 10),
            ("ffn_down_exps", GgmlType::IQ3_XXS, 37),
            ("ffn_down_exps", GgmlType::IQ4_XS, 3),
            ("ffn_gate_exps", GgmlType::IQ2_XXS, 40),
            ("ffn_up_exps", GgmlType::IQ2_XXS, 40),
            ("ffn_down_shexp", GgmlType::Q6_K, 40),
            ("ffn_gate_shexp", GgmlType::Q5_K, 40),
            ("ffn_up_shexp", GgmlType::Q5_K, 40),
            ("ffn_gate_inp", GgmlType::F32, 40),
            ("token_embd", GgmlType::Q5_K, 1),
            ("output", GgmlType::Q4_K, 1),
        ];
        for (stem, ty, n) in expected {
            assert_eq!(count(stem, ty), n, "{stem} as {}", ty.name());
        }
        // The published file: 11,522,702,304 bytes, of which the header and tokenizer are a few MB.
        let bytes = spec.total_bytes() as f64;
        assert!((bytes / 11_522_702_304.0 - 1.0).abs() < 0.005, "{bytes}");
    }
}
