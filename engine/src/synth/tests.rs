use super::*;
use crate::gguf::{GgmlType, GgufModel};

fn tensor(name: &str, dims: &[u64], ty: &str, init: Init) -> SynthTensor {
    SynthTensor {
        name: name.into(),
        dims: dims.to_vec(),
        ggml_type: ty.into(),
        init,
    }
}

fn small_spec(seed: u64) -> SynthSpec {
    SynthSpec {
        seed,
        metadata: vec![
            (
                "general.architecture".into(),
                MetaValue::String("llama".into()),
            ),
            ("llama.block_count".into(), MetaValue::U32(1)),
        ],
        tensors: vec![
            tensor(
                "a",
                &[256, 64],
                "Q4_K",
                Init::Normal {
                    std: 0.02,
                    mean: 0.0,
                },
            ),
            tensor(
                "b",
                &[4096, 16],
                "F32",
                Init::Normal {
                    std: 0.5,
                    mean: 1.0,
                },
            ),
            tensor(
                "c",
                &[32],
                "F32",
                Init::Uniform {
                    low: -8.0,
                    high: -1.0,
                },
            ),
            tensor("d", &[64], "F32", Init::Ones),
            tensor("e", &[64, 3], "Q8_0", Init::Constant(0.25)),
        ],
    }
}

fn f32_values(m: &GgufModel, name: &str) -> Vec<f32> {
    let t = m.tensor(name).expect("tensor present");
    let n = t.info.dims.iter().product::<u64>() as usize;
    let mut out = vec![0f32; n];
    crate::quant::dequantize(t.info.ggml_type, m.tensor_data(t), &mut out).unwrap();
    out
}

#[test]
fn writes_header_shapes_and_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.gguf");
    let report = write_synth(&small_spec(7), &path).unwrap();
    let m = GgufModel::open(&path).unwrap();
    assert_eq!(m.metadata().architecture(), Some("llama"));
    assert_eq!(report.n_tensors, 5);
    assert_eq!(m.tensors.len(), 5);
    let a = m.tensor("a").unwrap();
    assert_eq!(a.info.ggml_type, GgmlType::Q4_K);
    assert_eq!(a.info.dims, vec![256, 64]);
    // The data section ends the file exactly.
    let last = &m.tensors.last().unwrap().info;
    assert_eq!(
        report.file_bytes,
        report.header_bytes + last.offset + last.size
    );

    let b = f32_values(&m, "b");
    let mean = b.iter().map(|&v| v as f64).sum::<f64>() / b.len() as f64;
    let var = b.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / b.len() as f64;
    assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    assert!((var.sqrt() - 0.5).abs() < 0.01, "std {}", var.sqrt());
    let c = f32_values(&m, "c");
    assert!(c.iter().all(|&v| (-8.0..=-1.0).contains(&v)));
    assert!(f32_values(&m, "d").iter().all(|&v| v == 1.0));
    assert!(f32_values(&m, "e").iter().all(|&v| (v - 0.25).abs() < 1e-3));
    let a = f32_values(&m, "a");
    let std = (a.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / a.len() as f64).sqrt();
    assert!((std - 0.02).abs() < 0.003, "Q4_K std {std}");
}

#[test]
fn deterministic_from_seed() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_synth(&small_spec(1), &p("a")).unwrap();
    write_synth(&small_spec(1), &p("b")).unwrap();
    write_synth(&small_spec(2), &p("c")).unwrap();
    let read = |n: &str| std::fs::read(p(n)).unwrap();
    assert_eq!(read("a"), read("b"));
    assert_ne!(read("a"), read("c"));
}

#[test]
fn rejects_bad_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.gguf");
    let cases = [
        (tensor("t", &[256], "Q9_9", Init::Ones), "unknown ggml type"),
        (tensor("t", &[100, 2], "Q4_K", Init::Ones), "block size"),
        (tensor("t", &[0], "F32", Init::Ones), "bad shape"),
        (
            tensor("t", &[1 << 30, 1 << 30], "F32", Init::Ones),
            "too large",
        ),
        (
            tensor(
                "t",
                &[32],
                "F32",
                Init::Normal {
                    std: f32::NAN,
                    mean: 0.0,
                },
            ),
            "bad init",
        ),
    ];
    for (t, want) in cases {
        let spec = SynthSpec {
            seed: 0,
            metadata: vec![],
            tensors: vec![t],
        };
        let e = write_synth(&spec, &path).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    let e = write_synth(&small_spec(0), &dir.path().join("no/such/dir.gguf"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/dir.gguf"), "{e}");
}

#[test]
fn spec_json_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    let spec = small_spec(3);
    std::fs::write(&path, serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(SynthSpec::from_json_file(&path).unwrap(), spec);
    std::fs::write(&path, "{\"metadata\": 3}").unwrap();
    let e = SynthSpec::from_json_file(&path).unwrap_err().to_string();
    assert!(e.contains("spec.json"), "{e}");
}
