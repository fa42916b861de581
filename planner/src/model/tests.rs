//! ModelSpec against real fixture headers: exact byte sizes and layer kinds.

use std::path::PathBuf;

use fitbench_engine::gguf::GgufModel;

use super::*;

fn fixture_models() -> Vec<PathBuf> {
    let mut dirs = vec![fitbench_engine::fixtures::in_repo().join("models")];
    match fitbench_engine::fixtures::shared() {
        Some(s) => dirs.push(s.join("models")),
        None => {
            println!("skipped: ../shared/fixtures not found (only the in-repo subset is checked)")
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "gguf") {
                    files.push(e.path());
                }
            }
        }
    }
    files.sort();
    files
}

/// Every tensor's size must equal what its type and shape imply, and the sizes together with the
/// alignment padding must fill the file's data section exactly.
#[test]
fn tensor_sizes_fill_the_data_section_of_every_fixture() {
    let files = fixture_models();
    assert!(files.len() >= 6, "expected fixture models, found {files:?}");
    for path in files {
        let model = GgufModel::open(&path).unwrap();
        let spec = from_model(&model).unwrap();
        let part = &model.parts[0];
        let mut end = 0u64;
        let mut padded = 0u64;
        for (t, info) in spec.tensors.iter().zip(&part.tensors) {
            assert_eq!(
                Some(t.bytes),
                t.ggml_type.bytes_for(t.n_elements()),
                "{}: {}",
                path.display(),
                t.name
            );
            let start = fitbench_engine::gguf::align_up(end, part.alignment);
            assert_eq!(info.offset, start, "{}: {} offset", path.display(), t.name);
            padded += start - end;
            end = start + t.bytes;
        }
        let data = part.file_size - part.data_offset;
        assert!(
            data >= end && data - end < part.alignment,
            "{}: data section {data}, tensors end at {end}",
            path.display()
        );
        assert_eq!(spec.total_bytes() + padded, end, "{}", path.display());
    }
}

#[test]
fn qwen35moe_fixture_layers_and_roles() {
    let path = fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf").unwrap();
    let spec = open(&path).unwrap();
    assert_eq!(spec.architecture, "qwen35moe");
    assert_eq!(spec.n_layers(), 4);
    assert_eq!(spec.n_recurrent_layers(), 3);
    assert!(matches!(
        spec.layers[3],
        LayerKind::Attention {
            n_head: 4,
            n_head_kv: 2,
            head_dim_k: 64,
            head_dim_v: 64,
            window: None
        }
    ));
    let e = spec.experts.clone().unwrap();
    assert_eq!((e.count, e.used, e.shared_ff), (8, 2, 256));
    let r = spec.recurrent.clone().unwrap();
    assert_eq!(
        (r.conv_kernel, r.inner_size, r.state_size, r.group_count),
        (4, 256, 32, 4)
    );
    // Each layer has gate/up/down experts.
    for il in 0..4 {
        let n = spec
            .tensors
            .iter()
            .filter(|t| t.layer == Some(il) && t.role == TensorRole::RoutedExperts)
            .count();
        assert_eq!(n, 3, "layer {il}");
    }
    assert!(spec
        .tensors
        .iter()
        .any(|t| t.name == "blk.0.attn_qkv.weight" && t.role == TensorRole::Recurrent));
    assert!(spec
        .tensors
        .iter()
        .any(|t| t.name == "blk.3.attn_q.weight" && t.role == TensorRole::Attention));
    assert_eq!(
        spec.tensors
            .iter()
            .filter(|t| t.role == TensorRole::Other)
            .count(),
        0,
        "{:?}",
        spec.tensors
            .iter()
            .filter(|t| t.role == TensorRole::Other)
            .map(|t| &t.name)
            .collect::<Vec<_>>()
    );
}

#[test]
fn dense_fixtures_have_no_recurrent_layers() {
    for f in [
        "models/llama-tiny-Q4_K_M.gguf",
        "models/qwen3-tiny-Q4_K_M.gguf",
    ] {
        let spec = open(fitbench_engine::fixtures::find(f).unwrap()).unwrap();
        assert_eq!(spec.n_attention_layers(), 4, "{f}");
        assert!(spec.experts.is_none() && spec.recurrent.is_none());
        assert_eq!(
            spec.tensors
                .iter()
                .filter(|t| t.role == TensorRole::Other)
                .count(),
            0,
            "{f}"
        );
    }
}

#[test]
fn a_non_gguf_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.gguf");
    std::fs::write(&p, b"not a gguf file at all").unwrap();
    let err = open(&p).unwrap_err().to_string();
    assert!(err.contains("bad.gguf"), "{err}");
}
