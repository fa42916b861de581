//! Hand-built hardware profiles for tests (figures: vendor specifications).

use std::collections::BTreeMap;

use crate::hw::{CpuSpec, GpuSpec, HardwareProfile, PcieLink, RamSpec};

fn cpu(cores: u32, gflops: f64) -> CpuSpec {
    CpuSpec {
        name: "test cpu".into(),
        physical_cores: cores,
        logical_cores: cores * 2,
        simd: vec!["avx2".into()],
        gflops: Some(gflops),
        sources: BTreeMap::new(),
    }
}

fn gpu(name: &str, vram_gib: f64, bw: f64, tflops: f64, pcie_gen: u32, pcie_bw: f64) -> GpuSpec {
    GpuSpec {
        name: name.into(),
        backend: "cuda".into(),
        vram_gib,
        free_gib: None,
        bandwidth_gbs: bw,
        measured_bandwidth_gbs: None,
        fp16_tflops: tflops,
        pcie: Some(PcieLink {
            gen: pcie_gen,
            width: 16,
            bandwidth_gbs: pcie_bw,
            measured_h2d_gbs: None,
        }),
        compute_capability: None,
        sources: BTreeMap::new(),
    }
}

/// A desktop with one GPU and dual-channel DDR5-6000 (96 GB/s theoretical).
pub fn desktop(name: &str, g: GpuSpec) -> HardwareProfile {
    HardwareProfile {
        name: name.into(),
        description: format!("test: {}", g.name),
        cpu: cpu(8, 1000.0),
        ram: RamSpec {
            total_gib: 64.0,
            available_gib: None,
            bandwidth_gbs: 96.0,
            measured_read_gbs: None,
            sources: BTreeMap::new(),
        },
        gpus: vec![g],
        unified_memory: None,
        notes: vec![],
    }
}

pub fn rtx_3090() -> HardwareProfile {
    desktop("rtx-3090", gpu("RTX 3090", 24.0, 936.0, 71.0, 4, 32.0))
}
pub fn rtx_5090() -> HardwareProfile {
    desktop("rtx-5090", gpu("RTX 5090", 32.0, 1792.0, 209.5, 5, 64.0))
}
pub fn rtx_5080() -> HardwareProfile {
    desktop("rtx-5080", gpu("RTX 5080", 16.0, 960.0, 112.6, 5, 64.0))
}
/// This project's CPU machines: 2 cores AVX2, ~16 GB/s measured read.
pub fn cpu_2core() -> HardwareProfile {
    HardwareProfile {
        name: "cpu-2core".into(),
        description: "test: 2-core AVX2 VM".into(),
        cpu: cpu(2, 150.0),
        ram: RamSpec {
            total_gib: 8.0,
            available_gib: None,
            bandwidth_gbs: 25.0,
            measured_read_gbs: Some(16.0),
            sources: BTreeMap::new(),
        },
        gpus: vec![],
        unified_memory: None,
        notes: vec![],
    }
}
