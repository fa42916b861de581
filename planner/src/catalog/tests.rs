//! Catalog checks: recipes against llama-quantize's real choices (fixtures), sizes against published files.

use fitbench_engine::gguf::GgufModel;

use super::*;
use crate::model::{self, split_layer, LayerKind};

fn stem(name: &str) -> &str {
    let (_, tail) = split_layer(name);
    tail.strip_suffix(".weight")
        .or_else(|| tail.strip_suffix(".bias"))
        .unwrap_or(tail)
}

/// For every tensor of the quantized fixtures, the recipe must pick the type llama-quantize picked.
#[test]
fn recipes_match_llama_quantize_on_fixtures() {
    let mut files: Vec<(String, &str)> = vec![
        ("models/qwen35moe-tiny-Q4_K_M.gguf".into(), "Q4_K_M"),
        ("models/qwen35-tiny-Q4_K_M.gguf".into(), "Q4_K_M"),
        ("models/llama-tiny-Q4_K_M.gguf".into(), "Q4_K_M"),
        ("models/qwen3moe-tiny-Q4_K_M.gguf".into(), "Q4_K_M"),
        ("models/qwen3-tiny-Q4_K_M.gguf".into(), "Q4_K_M"),
    ];
    if fitbench_engine::fixtures::shared().is_some() {
        for q in [
            "Q8_0",
            "Q6_K",
            "Q5_K_M",
            "Q4_0",
            "Q3_K_M",
            "Q2_K",
            "IQ4_XS",
            "IQ4_NL",
            "MXFP4_MOE",
            "BF16",
            "F16",
            "IQ2_XXS",
            "IQ2_XS",
            "IQ2_S",
            "IQ3_S",
            "IQ1_S",
            "IQ1_M",
        ] {
            files.push((format!("models/qwen35moe-tiny-{q}.gguf"), q));
        }
    } else {
        println!("skipped: ../shared/fixtures not found (only the in-repo subset is checked)");
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (rel, qname) in &files {
        let Some(path) = fitbench_engine::fixtures::find(rel) else {
            continue;
        };
        let gguf = GgufModel::open(&path).unwrap();
        let spec = model::from_model(&gguf).unwrap();
        let quant = Quant::parse(qname).unwrap();
        let (n_head, n_head_kv) = spec
            .layers
            .iter()
            .find_map(|l| match l {
                LayerKind::Attention {
                    n_head, n_head_kv, ..
                } => Some((*n_head, *n_head_kv)),
                _ => None,
            })
            .unwrap();
        for t in &spec.tensors {
            let ctx = TensorContext {
                stem: stem(&t.name),
                role: t.role,
                layer: t.layer,
                n_layers: spec.n_layers(),
                ne0: t.dims[0],
                n_dims: t.dims.len(),
                n_expert: spec.experts.as_ref().map(|e| e.count).unwrap_or(0),
                n_gqa: n_head / n_head_kv.max(1),
                tied: spec.tensors.iter().all(|x| x.name != "output.weight"),
            };
            let want = tensor_type(&quant, &ctx);
            checked += 1;
            if want != t.ggml_type {
                wrong.push(format!(
                    "{rel}: {} is {} but the recipe says {}",
                    t.name,
                    t.ggml_type.name(),
                    want.name()
                ));
            }
        }
    }
    // The I-quant "very low" families use rules this recipe does not copy in full (e.g. IQ3_XXS
    // puts attn_q in IQ2_S); tolerate a small share of misses and print them.
    for w in &wrong {
        println!("recipe miss: {w}");
    }
    assert!(checked > 100);
    assert!(
        wrong.len() * 50 <= checked,
        "{} of {checked} tensors typed differently:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Published GGUF sizes (GB, PLANNER-DATA.md) and the catalog's synthetic size for each.
/// Ranges are given where uploaders disagree; the check is "within 3% of the range".
/// Rows listed in KNOWN_MISSES are printed but not asserted (reason given there).
const KNOWN_MISSES: &[(&str, &str, &str)] = &[
    ("qwen3.5-35b-a3b", "Q3_K_M", "llama.cpp's rule gives ffn_down_exps Q4_K (as on the fixture); +4% over the largest published upload"),
    ("qwen3.5-35b-a3b", "MXFP4_MOE", "catalog 19.78 GB = 18.4 GiB: the published figure is most likely GiB"),
    ("qwen3.5-35b-a3b", "UD-IQ2_M", "Unsloth keeps more tensors wide on 35B than on 122B (122B matches at -0.5%); one recipe cannot fit both"),
    ("qwen3-next-80b-a3b", "Q4_K_M", "\"~42\" is approximate and Q8_0 matches exactly, so the upload's Q4_K_M mix differs from llama-quantize's default"),
];
const PUBLISHED: &[(&str, &str, f64, f64)] = &[
    ("qwen3.5-35b-a3b", "Q2_K", 12.8, 12.8),
    ("qwen3.5-35b-a3b", "IQ3_XS", 14.5, 14.5),
    ("qwen3.5-35b-a3b", "Q3_K_M", 14.7, 16.1),
    ("qwen3.5-35b-a3b", "UD-IQ2_M", 15.0, 15.0),
    ("qwen3.5-35b-a3b", "UD-Q3_K_XL", 15.0, 15.0),
    ("qwen3.5-35b-a3b", "MXFP4_MOE", 18.4, 18.4),
    ("qwen3.5-35b-a3b", "Q4_0", 19.7, 19.7),
    ("qwen3.5-35b-a3b", "UD-Q4_K_XL", 20.0, 20.0),
    ("qwen3.5-35b-a3b", "Q4_K_M", 21.2, 21.2),
    ("qwen3.5-35b-a3b", "Q5_K_M", 24.8, 24.8),
    ("qwen3.5-35b-a3b", "UD-Q6_K_XL", 27.0, 27.0),
    ("qwen3.5-35b-a3b", "Q6_K", 28.5, 28.7),
    ("qwen3.5-35b-a3b", "Q8_0", 36.9, 36.9),
    ("qwen3.5-35b-a3b", "BF16", 69.4, 69.4),
    ("qwen3.5-27b", "IQ4_XS", 14.7, 14.7),
    ("qwen3.5-27b", "Q4_K_S", 15.6, 15.6),
    ("qwen3.5-27b", "Q4_K_M", 16.5, 16.5),
    ("qwen3.5-27b", "Q5_K_M", 19.4, 19.4),
    ("qwen3.5-27b", "Q6_K", 22.7, 22.7),
    ("qwen3.5-27b", "Q8_0", 28.6, 28.6),
    ("qwen3.5-27b", "BF16", 53.8, 53.8),
    ("qwen3.5-122b-a10b", "Q3_K_M", 59.0, 59.0),
    ("qwen3.5-122b-a10b", "Q4_K_M", 74.4, 74.4),
    ("qwen3.5-122b-a10b", "Q5_K_M", 87.1, 87.1),
    ("qwen3.5-122b-a10b", "Q6_K", 100.8, 100.8),
    ("qwen3.5-122b-a10b", "Q8_0", 129.9, 129.9),
    ("qwen3.5-122b-a10b", "BF16", 244.0, 244.0),
    ("qwen3.5-122b-a10b", "UD-IQ2_M", 45.0, 45.0),
    ("qwen3.5-397b-a17b", "BF16", 807.0, 807.0),
    ("qwen3.5-397b-a17b", "UD-IQ2_XXS", 106.0, 106.0),
    ("qwen3-next-80b-a3b", "Q8_0", 84.8, 84.8),
    ("qwen3-next-80b-a3b", "Q4_K_M", 42.0, 42.0),
];

#[test]
fn catalog_sizes_match_published_files() {
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for &(id, q, lo, hi) in PUBLISHED {
        let entry = find(id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not in catalog"));
        let spec = synthesize(&entry, &Quant::parse(q).unwrap());
        let gb = spec.total_bytes() as f64 / 1e9;
        let err = if gb < lo {
            gb / lo - 1.0
        } else if gb > hi {
            gb / hi - 1.0
        } else {
            0.0
        };
        let line = format!(
            "{id:20} {q:11} published {lo:>6.1}-{hi:<6.1} GB  catalog {gb:7.2} GB  error {:+.1}%",
            err * 100.0
        );
        let known = KNOWN_MISSES.iter().find(|k| k.0 == id && k.1 == q);
        let line = match known {
            Some(k) => format!("{line}  KNOWN MISS: {}", k.2),
            None => line,
        };
        if err.abs() > 0.03 && known.is_none() {
            failed.push(line.clone());
        }
        report.push(line);
    }
    println!("{}", report.join("\n"));
    assert!(failed.is_empty(), "outside 3%:\n{}", failed.join("\n"));
}

#[test]
fn every_entry_synthesizes_for_every_quant() {
    for e in entries().unwrap() {
        for q in Quant::all_names() {
            let spec = synthesize(&e, &Quant::parse(q).unwrap());
            assert!(spec.total_bytes() > 0, "{} {q}", e.id);
            assert_eq!(spec.n_layers(), e.layers as usize);
        }
    }
}

#[test]
fn synthetic_35b_matches_llama_cpp_layer_layout() {
    let e = find("qwen3.5-35b-a3b").unwrap().unwrap();
    let spec = synthesize(&e, &Quant::parse("Q4_K_M").unwrap());
    assert_eq!(spec.n_attention_layers(), 10);
    assert_eq!(spec.n_recurrent_layers(), 30);
    assert!(matches!(spec.layers[3], LayerKind::Attention { .. }));
    // ~35B parameters, ~3B active.
    let p = spec.n_params() as f64 / 1e9;
    assert!((34.0..36.5).contains(&p), "{p}");
    let a = spec.active_params() / 1e9;
    assert!((2.5..3.9).contains(&a), "{a}");
}
