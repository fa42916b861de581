//! Runs the matmul kernel's per-lane code on the host (g++ builds `host_check.cpp` from the same
//! `.cu`/`.cuh` sources NVRTC compiles) and compares with the engine's dequantizers: this checks
//! every format's decoding and the lane/warp indexing without a GPU.

use super::matmul_kernel;
use crate::gguf::GgmlType;
use crate::quant;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the host harness once per process; `None` (after saying why) if g++ is missing.
fn harness() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cuda/kernels");
            let out =
                std::env::temp_dir().join(format!("fitbench-host-check-{}", std::process::id()));
            let status = Command::new("g++")
                .args(["-O1", "-std=c++17", "-I"])
                .arg(&dir)
                .arg(dir.join("host_check.cpp"))
                .arg("-o")
                .arg(&out)
                .status();
            match status {
                Ok(s) if s.success() => Some(out),
                Ok(s) => panic!("g++ failed to build host_check.cpp: {s}"),
                Err(e) => {
                    eprintln!("skipped: g++ not found ({e})");
                    None
                }
            }
        })
        .clone()
}

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// y = W x on the host harness.
fn run_harness(exe: &Path, ty: GgmlType, w: &[u8], k: usize, rows: usize, x: &[f32]) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let (wp, xp, yp) = (
        dir.path().join("w"),
        dir.path().join("x"),
        dir.path().join("y"),
    );
    std::fs::write(&wp, w).unwrap();
    let xb: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&xp, xb).unwrap();
    let n = x.len() / k;
    let st = Command::new(exe)
        .args([ty.name(), &k.to_string(), &rows.to_string(), &n.to_string()])
        .args([&wp, &xp, &yp])
        .status()
        .unwrap();
    assert!(st.success(), "host_check {} failed", ty.name());
    std::fs::read(&yp)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Reference: dequantize with the engine's Rust code, dot in f64.
fn reference(ty: GgmlType, w: &[u8], k: usize, rows: usize, x: &[f32]) -> Vec<f32> {
    let rb = w.len() / rows;
    let n = x.len() / k;
    let mut out = vec![0f32; n * rows];
    let mut row = vec![0f32; k];
    for r in 0..rows {
        quant::dequantize(ty, &w[r * rb..(r + 1) * rb], &mut row).unwrap();
        for t in 0..n {
            let s: f64 = row
                .iter()
                .zip(&x[t * k..(t + 1) * k])
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum();
            out[t * rows + r] = s as f32;
        }
    }
    out
}

fn check(exe: &Path, ty: GgmlType, w: &[u8], k: usize, rows: usize, x: &[f32]) {
    let got = run_harness(exe, ty, w, k, rows, x);
    let want = reference(ty, w, k, rows, x);
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * scale + 1e-5,
            "{}: y[{i}] = {g}, reference {w}",
            ty.name()
        );
    }
}

#[test]
fn every_cuda_format_decodes_like_the_cpu() {
    let Some(exe) = harness() else { return };
    let (k, rows) = (512, 6);
    let mut seed = 7u64;
    // 11 tokens: one full tile of 8 and a partial one.
    let x: Vec<f32> = (0..11 * k).map(|_| lcg(&mut seed)).collect();
    let types = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q5_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ];
    for ty in types {
        assert!(matmul_kernel(ty).is_some());
        let src: Vec<f32> = (0..k * rows).map(|_| lcg(&mut seed) * 0.1).collect();
        let kern = quant::kernels(ty).unwrap();
        let q = kern
            .quantize
            .unwrap_or_else(|| panic!("{} has no quantizer", ty.name()));
        let mut w = vec![0u8; ty.bytes_for((k * rows) as u64).unwrap() as usize];
        q(&src, &mut w);
        check(&exe, ty, &w, k, rows, &x);
        // Decode shape: one token.
        check(&exe, ty, &w, k, rows, &x[..k]);
    }
}

#[test]
fn fixture_tensors_decode_like_the_cpu() {
    let Some(exe) = harness() else { return };
    let Some(path) = crate::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf") else {
        eprintln!("skipped: qwen35moe-tiny-Q4_K_M.gguf not found");
        return;
    };
    let g = crate::gguf::GgufModel::open(&path).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut seed = 11u64;
    for t in &g.tensors {
        let ty = t.info.ggml_type;
        if matmul_kernel(ty).is_none() || t.info.dims.len() < 2 || !seen.insert(ty.name()) {
            continue;
        }
        let k = t.info.dims[0] as usize;
        let rows = (t.info.dims[1] as usize).min(16);
        let rb = ty.bytes_for(k as u64).unwrap() as usize;
        let w = &g.tensor_data(t)[..rows * rb];
        let x: Vec<f32> = (0..3 * k).map(|_| lcg(&mut seed)).collect();
        check(&exe, ty, w, k, rows, &x);
    }
    assert!(seen.contains("Q4_K") && seen.contains("Q6_K"), "{seen:?}");
}
