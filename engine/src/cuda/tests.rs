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

fn nvrtc_found() -> bool {
    if nvrtc::available() {
        return true;
    }
    false
}

fn ensure_nvrtc() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        if let Some(lib) = pip_nvrtc() {
            nvrtc::preload(&lib);
        }
        nvrtc_found()
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
