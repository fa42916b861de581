//! Hand-built hardware profiles for tests (figures: vendor specifications).

use std::collections::BTreeMap;

use crate::hw::{CpuSpec, HardwareProfile, RamSpec};

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

/// Built-in profiles (hw-profiles/*.yaml): what users get with `--profile`.
pub fn rtx_3090() -> HardwareProfile {
    crate::hw::find_profile("rtx-3090").unwrap()
}
pub fn rtx_5090() -> HardwareProfile {
    crate::hw::find_profile("rtx-5090").unwrap()
}
pub fn rtx_5080() -> HardwareProfile {
    crate::hw::find_profile("rtx-5080").unwrap()
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
        calibration: None,
    }
}

/// The 2-core AVX-512 EPYC VM the results/ runs were measured on (probe: ~332 GFLOP/s FP32
/// estimate, 43-46 GB/s measured read with 2 threads).
pub fn cpu_2core_epyc() -> HardwareProfile {
    let mut hw = cpu_2core();
    hw.name = "cpu-2core-epyc".into();
    hw.description = "test: 2-core AVX-512 EPYC VM".into();
    hw.cpu = cpu(2, 332.0);
    hw.ram.measured_read_gbs = Some(44.0);
    hw
}
