//! NVRTC compiles every kernel source for compute_90 (Hopper) — no GPU or driver needed. Finds
//! libnvrtc through the usual search path, `FITBENCH_NVRTC`, a CUDA toolkit, or the pip wheel
//! `nvidia-cuda-nvrtc` (CUDA 13) of the `python3` on PATH; skips with a message otherwise.

use super::kernels::{self, ALL};
use super::nvrtc;
use std::path::PathBuf;
use std::process::Command;

/// `nvidia/cu13/lib/libnvrtc.so.13` inside python3's site-packages, if the wheel is installed.
fn pip_nvrtc() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import nvidia, os; print(next(iter(nvidia.__path__)))",
        ])
        .output()
        .ok()?;
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = root.join("cu13/lib/libnvrtc.so.13");
    lib.is_file().then_some(lib)
}

/// The system's NVRTC first (on a GPU machine it matches the driver); the pip wheel otherwise.
fn ensure_nvrtc() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        if nvrtc::available() {
            return true;
        }
        if let Some(lib) = pip_nvrtc() {
            nvrtc::preload(&lib);
        }
        nvrtc::available()
    })
}

#[test]
fn every_kernel_compiles_for_hopper() {
    if !ensure_nvrtc() {
        eprintln!("skipped: libnvrtc not found");
        return;
    }
    for src in ALL {
        let ptx = nvrtc::compile(src, "compute_90").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            ptx.contains(".target sm_90"),
            "{}: {}",
            src.name,
            &ptx[..200.min(ptx.len())]
        );
        for k in src.kernels {
            assert!(
                ptx.contains(&format!(".entry {k}(")),
                "{}: kernel {k} missing from the PTX",
                src.name
            );
        }
    }
    // The assembled source resolves our includes.
    assert!(!kernels::assemble(&kernels::MATMUL).contains("#include \"dequant.cuh\""));
}

#[test]
fn no_device_here_is_reported_not_panicked() {
    // On a machine with a GPU this is Ready; without a driver it must say so.
    let a = super::availability();
    match &a {
        super::Availability::Ready(info) => eprintln!("CUDA device: {info:?}"),
        other => assert!(other
            .fallback_notice()
            .unwrap()
            .contains("running on the CPU")),
    }
}

/// On a GPU: the device matmul of every supported format against the CPU dequantizer (f64 dot),
/// decode (1 token) and prompt (11 tokens) shapes, including a row range of a larger upload.
#[test]
fn gpu_matmul_matches_the_cpu_dequantizer() {
    let super::Availability::Ready(_) = super::availability() else {
        eprintln!("skipped: no CUDA device");
        return;
    };
    use crate::gguf::GgmlType;
    let (k, rows) = (512usize, 40usize);
    let mut seed = 3u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let x: Vec<f32> = (0..11 * k).map(|_| rnd()).collect();
    for ty in [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q5_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        let src: Vec<f32> = (0..k * rows).map(|_| rnd() * 0.1).collect();
        let q = crate::quant::kernels(ty).and_then(|k| k.quantize).unwrap();
        let mut w = vec![0u8; ty.bytes_for((k * rows) as u64).unwrap() as usize];
        q(&src, &mut w);
        let dev = super::upload(&w).unwrap();
        let rb = w.len() / rows;
        // Rows 8..40 as a sub-range (as one expert of a stacked tensor).
        let sub = dev.slice(8 * rb, 32 * rb);
        for n in [1usize, 11] {
            let mut got = vec![0f32; n * 32];
            super::matmul(&sub, ty, k, 32, &x[..n * k], &mut got).unwrap();
            let mut row = vec![0f32; k];
            for r in 0..32 {
                crate::quant::dequantize(ty, &w[(8 + r) * rb..(9 + r) * rb], &mut row).unwrap();
                for t in 0..n {
                    let want: f64 = row
                        .iter()
                        .zip(&x[t * k..(t + 1) * k])
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum();
                    let g = got[t * 32 + r] as f64;
                    assert!(
                        (g - want).abs() < 1e-3,
                        "{} n={n} r={r}: {g} vs {want}",
                        ty.name()
                    );
                }
            }
        }
    }
}
