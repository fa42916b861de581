//! Which ggml type each tensor gets in a quant: llama-quantize's `llama_tensor_get_type` rules for the
//! classes that carry the bytes (output, token_embd, attn_v/attn_qkv, ffn_down, attn_output), plus
//! approximate Unsloth "UD" (Dynamic 2.0) mixes. Cross-checked against the type mixes that
//! llama-quantize produced for the fixtures in shared/fixtures/models (see tests).

use fitbench_engine::gguf::GgmlType;

use super::published_mix::published_type;
use crate::model::TensorRole;

/// llama.cpp `llama_ftype` names (what `llama-quantize` takes).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ftype {
    F16,
    BF16,
    Q8_0,
    Q6_K,
    Q5_K_M,
    Q5_K_S,
    Q4_K_M,
    Q4_K_S,
    Q4_0,
    Q3_K_L,
    Q3_K_M,
    Q3_K_S,
    Q2_K,
    IQ4_XS,
    IQ4_NL,
    IQ3_M,
    IQ3_S,
    IQ3_XS,
    IQ3_XXS,
    IQ2_M,
    IQ2_S,
    IQ2_XS,
    IQ2_XXS,
    IQ1_M,
    IQ1_S,
    Mxfp4Moe,
}

/// A quant as offered for download: a llama-quantize ftype, or an Unsloth dynamic mix built on one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quant {
    pub name: String,
    pub ftype: Ftype,
    pub unsloth: bool,
}

const FTYPES: &[(&str, Ftype)] = &[
    ("F16", Ftype::F16),
    ("BF16", Ftype::BF16),
    ("Q8_0", Ftype::Q8_0),
    ("Q6_K", Ftype::Q6_K),
    ("Q5_K_M", Ftype::Q5_K_M),
    ("Q5_K_S", Ftype::Q5_K_S),
    ("Q4_K_M", Ftype::Q4_K_M),
    ("Q4_K_S", Ftype::Q4_K_S),
    ("Q4_0", Ftype::Q4_0),
    ("Q3_K_L", Ftype::Q3_K_L),
    ("Q3_K_M", Ftype::Q3_K_M),
    ("Q3_K_S", Ftype::Q3_K_S),
    ("Q2_K", Ftype::Q2_K),
    ("IQ4_XS", Ftype::IQ4_XS),
    ("IQ4_NL", Ftype::IQ4_NL),
    ("IQ3_M", Ftype::IQ3_M),
    ("IQ3_S", Ftype::IQ3_S),
    ("IQ3_XS", Ftype::IQ3_XS),
    ("IQ3_XXS", Ftype::IQ3_XXS),
    ("IQ2_M", Ftype::IQ2_M),
    ("IQ2_S", Ftype::IQ2_S),
    ("IQ2_XS", Ftype::IQ2_XS),
    ("IQ2_XXS", Ftype::IQ2_XXS),
    ("IQ1_M", Ftype::IQ1_M),
    ("IQ1_S", Ftype::IQ1_S),
    ("MXFP4_MOE", Ftype::Mxfp4Moe),
];

/// Unsloth dynamic quants this catalog can size (approximate recipes, see `unsloth_override`).
pub const UNSLOTH: &[(&str, Ftype)] = &[
    ("UD-IQ2_XXS", Ftype::IQ2_XXS),
    ("UD-IQ2_M", Ftype::IQ2_M),
    ("UD-Q3_K_XL", Ftype::Q3_K_M),
    ("UD-Q4_K_XL", Ftype::Q4_K_M),
    ("UD-Q5_K_XL", Ftype::Q5_K_M),
    ("UD-Q6_K_XL", Ftype::Q6_K),
    ("UD-Q8_K_XL", Ftype::Q8_0),
];

impl Quant {
    pub fn parse(name: &str) -> Option<Quant> {
        let up = name.to_ascii_uppercase();
        if let Some((n, f)) = UNSLOTH.iter().find(|(n, _)| *n == up) {
            return Some(Quant {
                name: n.to_string(),
                ftype: *f,
                unsloth: true,
            });
        }
        FTYPES.iter().find(|(n, _)| *n == up).map(|(n, f)| Quant {
            name: n.to_string(),
            ftype: *f,
            unsloth: false,
        })
    }

    /// Every quant name the catalog knows.
    pub fn all_names() -> Vec<&'static str> {
        FTYPES
            .iter()
            .map(|(n, _)| *n)
            .chain(UNSLOTH.iter().map(|(n, _)| *n))
            .collect()
    }
}

/// What the rules need to know about one tensor.
#[derive(Debug, Clone)]
pub struct TensorContext<'a> {
    /// Catalog id of the model (e.g. `qwen3.5-35b-a3b`); empty when the tensor comes from a file.
    pub model: &'a str,
    /// Name without `blk.N.` and `.weight`, e.g. `ffn_down_exps`.
    pub stem: &'a str,
    pub role: TensorRole,
    pub layer: Option<usize>,
    pub n_layers: usize,
    /// Row length (ggml ne0): quantized types need whole blocks per row.
    pub ne0: u64,
    pub n_dims: usize,
    pub n_expert: u64,
    /// n_head / n_head_kv.
    pub n_gqa: u64,
    /// True when the model has no separate output tensor (token_embd is also the LM head).
    pub tied: bool,
}

/// llama.cpp `use_more_bits`: the first and last eighth of layers and every third in between.
fn use_more_bits(i: usize, n: usize) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

fn base_type(f: Ftype) -> GgmlType {
    use Ftype::*;
    match f {
        F16 => GgmlType::F16,
        BF16 => GgmlType::BF16,
        Q8_0 | Mxfp4Moe => GgmlType::Q8_0,
        Q6_K => GgmlType::Q6_K,
        Q5_K_M | Q5_K_S => GgmlType::Q5_K,
        Q4_K_M | Q4_K_S => GgmlType::Q4_K,
        Q4_0 => GgmlType::Q4_0,
        Q3_K_L | Q3_K_M | Q3_K_S => GgmlType::Q3_K,
        Q2_K => GgmlType::Q2_K,
        IQ4_XS => GgmlType::IQ4_XS,
        IQ4_NL => GgmlType::IQ4_NL,
        IQ3_M | IQ3_S | IQ3_XS => GgmlType::IQ3_S,
        IQ3_XXS => GgmlType::IQ3_XXS,
        IQ2_M => GgmlType::IQ2_S,
        IQ2_S | IQ2_XS => GgmlType::IQ2_XS,
        IQ2_XXS => GgmlType::IQ2_XXS,
        IQ1_M => GgmlType::IQ1_M,
        IQ1_S => GgmlType::IQ1_S,
    }
}

fn is_very_low(f: Ftype) -> bool {
    matches!(
        f,
        Ftype::IQ2_XXS | Ftype::IQ2_XS | Ftype::IQ2_S | Ftype::IQ2_M | Ftype::IQ1_S | Ftype::IQ1_M
    )
}

/// Tensors llama-quantize never quantizes: 1-D vectors, routers, convolution kernels.
fn stays_f32(ctx: &TensorContext) -> bool {
    ctx.n_dims < 2
        || ctx.role == TensorRole::Norm
        || ctx.role == TensorRole::Router
        || ctx.stem == "ffn_gate_inp_shexp"
        || ctx.stem.starts_with("ssm_conv1d")
        || ctx.stem.starts_with("attn_sinks")
}

/// The type llama-quantize would give this tensor for `quant`.
pub fn tensor_type(quant: &Quant, ctx: &TensorContext) -> GgmlType {
    if stays_f32(ctx) {
        return GgmlType::F32;
    }
    let f = quant.ftype;
    if matches!(f, Ftype::F16 | Ftype::BF16) {
        return base_type(f);
    }
    let chosen = if quant.unsloth {
        published_type(&quant.name, ctx)
            .or_else(|| unsloth_override(quant, ctx))
            .unwrap_or_else(|| ftype_rule(f, ctx))
    } else {
        ftype_rule(f, ctx)
    };
    fit_row(chosen, ctx.ne0)
}

fn ftype_rule(f: Ftype, ctx: &TensorContext) -> GgmlType {
    use Ftype::*;
    let base = base_type(f);
    let i = ctx.layer.unwrap_or(0);
    let n = ctx.n_layers.max(1);
    let is_output =
        ctx.role == TensorRole::Output || (ctx.tied && ctx.role == TensorRole::Embedding);
    if f == Mxfp4Moe {
        return if ctx.role == TensorRole::RoutedExperts {
            GgmlType::MXFP4
        } else {
            GgmlType::Q8_0
        };
    }
    if is_output {
        return match f {
            Q8_0 => GgmlType::Q8_0,
            _ if !ctx.ne0.is_multiple_of(256) => GgmlType::Q8_0,
            IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S | IQ2_S | IQ2_M | IQ1_M => GgmlType::Q5_K,
            _ => GgmlType::Q6_K,
        };
    }
    if ctx.role == TensorRole::Embedding {
        return match f {
            IQ2_XXS | IQ2_XS | IQ1_S | IQ1_M => GgmlType::Q2_K,
            IQ2_S | IQ2_M | IQ3_XXS => GgmlType::IQ3_S,
            _ => base,
        };
    }
    let stem = ctx.stem;
    let v_like = stem == "attn_v" || stem == "attn_qkv";
    if v_like {
        if ctx.n_expert == 8 && !is_very_low(f) {
            return GgmlType::Q8_0;
        }
        return match f {
            _ if is_very_low(f) => {
                if ctx.n_gqa >= 4 || ctx.n_expert >= 4 {
                    GgmlType::Q4_K
                } else {
                    GgmlType::IQ3_S
                }
            }
            Q2_K => {
                if ctx.n_gqa >= 4 || ctx.n_expert >= 4 {
                    GgmlType::Q4_K
                } else {
                    GgmlType::Q3_K
                }
            }
            Q3_K_M => {
                if i < 2 {
                    GgmlType::Q5_K
                } else {
                    GgmlType::Q4_K
                }
            }
            Q3_K_L => GgmlType::Q5_K,
            IQ3_XXS | IQ3_XS | IQ3_S | IQ3_M => GgmlType::Q4_K,
            IQ4_XS | IQ4_NL if ctx.n_gqa >= 4 => GgmlType::Q5_K,
            Q4_K_M | Q5_K_M if use_more_bits(i, n) => GgmlType::Q6_K,
            Q4_K_S if i < 4 => GgmlType::Q5_K,
            _ => base,
        };
    }
    if stem == "attn_k" && ctx.n_expert == 8 {
        return if is_very_low(f) {
            GgmlType::Q4_K
        } else {
            GgmlType::Q8_0
        };
    }
    if stem.starts_with("ffn_down") {
        return match f {
            Q2_K => GgmlType::Q3_K,
            Q3_K_M if i < n / 16 => GgmlType::Q5_K,
            Q3_K_M => GgmlType::Q4_K,
            Q3_K_L => GgmlType::Q5_K,
            Q4_K_M | Q5_K_M if use_more_bits(i, n) => GgmlType::Q6_K,
            Q4_K_S if i < n / 8 => GgmlType::Q5_K,
            _ => base,
        };
    }
    if stem == "attn_output" {
        if ctx.n_expert == 8 && !matches!(f, Q4_0 | Q8_0 | Q6_K) {
            return GgmlType::Q5_K;
        }
        return match f {
            Q2_K => GgmlType::Q3_K,
            Q3_K_M => GgmlType::Q4_K,
            Q3_K_L => GgmlType::Q5_K,
            _ => base,
        };
    }
    if f == IQ3_XS && ctx.role == TensorRole::RoutedExperts && !stem.starts_with("ffn_down") {
        return GgmlType::IQ3_XXS;
    }
    base
}

/// Approximate Unsloth Dynamic 2.0 choices: attention, `ssm_out` and shared experts kept at 8 bits
/// (their KLD study found those most sensitive), routed experts at the quant's nominal width with
/// `ffn_down_exps` one step higher. Published per-tensor mixes change between uploads and between
/// models; sizes land within a few % of the published files (see tests), not exactly. Where a real
/// file's map is known, `published_mix.rs` takes precedence.
fn unsloth_override(q: &Quant, ctx: &TensorContext) -> Option<GgmlType> {
    let sensitive = matches!(ctx.role, TensorRole::Attention | TensorRole::SharedExpert)
        || ctx.stem == "ssm_out"
        || ctx.stem == "attn_qkv";
    let down = ctx.stem.starts_with("ffn_down");
    let experts = ctx.role == TensorRole::RoutedExperts || ctx.role == TensorRole::DenseFfn;
    let t = match q.name.as_str() {
        // Sensitive tensors raised as in the fixture qwen35moe-tiny-UD-IQ2_XXS: attn_qkv/ssm_out/attn_gate.
        // Experts all at IQ2_XXS (the published 397B file's size requires ffn_down_exps at ~2 bits too).
        "UD-IQ2_XXS" => match () {
            _ if ctx.role == TensorRole::RoutedExperts => GgmlType::IQ2_XXS,
            _ if ctx.stem == "attn_gate" => GgmlType::Q6_K,
            _ if ctx.stem == "ssm_out" || ctx.stem == "attn_qkv" => GgmlType::Q8_0,
            _ => return None,
        },
        "UD-IQ2_M" => match () {
            _ if experts && down => GgmlType::IQ3_XXS,
            _ if experts => GgmlType::IQ2_S,
            _ if sensitive => GgmlType::Q8_0,
            _ => return None,
        },
        "UD-Q3_K_XL" => match () {
            _ if experts && down => GgmlType::Q3_K,
            _ if experts => GgmlType::IQ3_XXS,
            _ if sensitive => GgmlType::Q8_0,
            _ => return None,
        },
        "UD-Q4_K_XL" => match () {
            _ if experts => GgmlType::Q4_K,
            _ if sensitive => GgmlType::Q8_0,
            _ => return None,
        },
        "UD-Q5_K_XL" => match () {
            _ if experts => GgmlType::Q5_K,
            _ if sensitive => GgmlType::Q8_0,
            _ => return None,
        },
        "UD-Q6_K_XL" => match () {
            _ if experts && ctx.stem.starts_with("ffn_gate") => GgmlType::Q5_K,
            _ if experts => GgmlType::Q6_K,
            _ if sensitive => GgmlType::Q8_0,
            _ => return None,
        },
        "UD-Q8_K_XL" => match () {
            _ if sensitive => GgmlType::BF16,
            _ => return None,
        },
        _ => return None,
    };
    Some(t)
}

/// llama.cpp falls back to a type with smaller blocks when a row is not whole blocks.
fn fit_row(t: GgmlType, ne0: u64) -> GgmlType {
    if ne0.is_multiple_of(t.block_size()) {
        return t;
    }
    let fallback = match t {
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q5_K => GgmlType::Q5_1,
        GgmlType::Q6_K => GgmlType::Q8_0,
        _ => GgmlType::IQ4_NL,
    };
    if ne0.is_multiple_of(fallback.block_size()) {
        fallback
    } else {
        GgmlType::F16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_more_bits_matches_llama_cpp_on_four_layers() {
        // Q4_K_M fixtures (4 layers) carry Q6_K ffn_down on layers 2 and 3.
        let got: Vec<bool> = (0..4).map(|i| use_more_bits(i, 4)).collect();
        assert_eq!(got, vec![false, false, true, true]);
    }

    #[test]
    fn quant_names_parse() {
        assert_eq!(Quant::parse("q4_k_m").unwrap().ftype, Ftype::Q4_K_M);
        assert!(Quant::parse("UD-Q4_K_XL").unwrap().unsloth);
        assert!(Quant::parse("Q9_X").is_none());
    }
}
