//! Apple Silicon: the GPU works out of the shared RAM, so a Mac's GPU entry comes from the chip name
//! (bandwidth, GPU throughput) and macOS's GPU wired-memory limit, not from a driver query.

use std::collections::BTreeMap;

use crate::hw::{GpuSpec, UnifiedMemory};

/// (brand as macOS reports it, memory GB/s of the full chip, GPU FP16 TFLOP/s of the largest GPU
/// configuration, source). Binned variants (fewer GPU cores, narrower bus) are slower: see notes.
const CHIPS: &[(&str, f64, f64, &str)] = &[
    ("Apple M1", 68.25, 2.6, "Apple M1 press release: 68.25 GB/s, 2.6 TFLOPS (8-core GPU)"),
    ("Apple M1 Pro", 200.0, 5.2, "Apple M1 Pro press release: 200 GB/s, 5.2 TFLOPS (16-core GPU)"),
    ("Apple M1 Max", 400.0, 10.4, "Apple M1 Max press release: 400 GB/s, 10.4 TFLOPS (32-core GPU)"),
    ("Apple M1 Ultra", 800.0, 21.0, "Apple M1 Ultra press release: 800 GB/s, 21 TFLOPS (64-core GPU)"),
    ("Apple M2", 100.0, 3.6, "Apple M2 press release: 100 GB/s, 3.6 TFLOPS (10-core GPU)"),
    ("Apple M2 Pro", 200.0, 6.8, "Apple M2 Pro press release: 200 GB/s, 6.8 TFLOPS (19-core GPU)"),
    ("Apple M2 Max", 400.0, 13.6, "Apple M2 Max press release: 400 GB/s, 13.6 TFLOPS (38-core GPU)"),
    ("Apple M2 Ultra", 800.0, 27.2, "Apple M2 Ultra press release: 800 GB/s, 27.2 TFLOPS (76-core GPU)"),
    ("Apple M3", 100.0, 3.6, "Apple M3 tech specs: 100 GB/s; TFLOPS ESTIMATE (10 cores x 128 ALUs x 2 x 1.4 GHz)"),
    ("Apple M3 Pro", 150.0, 6.5, "Apple M3 Pro tech specs: 150 GB/s; TFLOPS ESTIMATE (18 cores)"),
    ("Apple M3 Max", 400.0, 14.2, "Apple M3 Max tech specs: 400 GB/s (300 GB/s on the 30-core GPU bin); TFLOPS ESTIMATE (40 cores)"),
    ("Apple M3 Ultra", 819.0, 28.4, "Apple M3 Ultra tech specs: 819 GB/s; TFLOPS ESTIMATE (80 cores)"),
    ("Apple M4", 120.0, 4.3, "Apple M4 tech specs: 120 GB/s; TFLOPS ESTIMATE (10 cores x 128 ALUs x 2 x 1.7 GHz)"),
    ("Apple M4 Pro", 273.0, 9.2, "Apple M4 Pro tech specs: 273 GB/s; TFLOPS ESTIMATE (20 cores)"),
    ("Apple M4 Max", 546.0, 18.4, "Apple M4 Max tech specs: 546 GB/s (410 GB/s on the 32-core GPU bin); TFLOPS ESTIMATE (40 cores)"),
    ("Apple M5 Max", 614.0, 70.0, "Apple M5 Max announcement: 614 GB/s; TFLOPS ESTIMATE (4x M4 Max AI compute claim)"),
];

/// What a Mac's probe adds: the GPU entry, the wired limit, and the RAM bandwidth of the chip.
#[derive(Debug, Clone, PartialEq)]
pub struct AppleSilicon {
    pub gpu: GpuSpec,
    pub unified: UnifiedMemory,
    pub ram_bandwidth_gbs: f64,
    pub ram_bandwidth_source: String,
}

/// macOS's default GPU wired limit as a fraction of RAM (Metal's recommendedMaxWorkingSetSize):
/// about 75% on Macs with more than 36 GB, about two thirds on smaller ones.
pub fn default_wired_fraction(total_gib: f64) -> f64 {
    if total_gib > 36.0 {
        0.75
    } else {
        2.0 / 3.0
    }
}

/// Describes an Apple Silicon chip by its brand; None for other CPUs or chips not in the table.
/// `wired_limit_mb` is `sysctl iogpu.wired_limit_mb` (0 or None: macOS's default).
pub fn apple_silicon(
    brand: &str,
    total_gib: f64,
    wired_limit_mb: Option<u64>,
) -> Option<AppleSilicon> {
    let (_, bw, tflops, source) = CHIPS.iter().find(|c| c.0 == brand.trim())?;
    let (usable, note) = match wired_limit_mb.filter(|&mb| mb > 0) {
        Some(mb) => (
            (mb as f64 / 1024.0).min(total_gib),
            format!("probed: sysctl iogpu.wired_limit_mb = {mb}"),
        ),
        None => {
            let f = default_wired_fraction(total_gib);
            (
                total_gib * f,
                format!(
                    "macOS default GPU wired limit, ~{:.0}% of RAM (Metal recommendedMaxWorkingSetSize); \
                     raise it with `sudo sysctl iogpu.wired_limit_mb=N`",
                    f * 100.0
                ),
            )
        }
    };
    let usable = (usable * 100.0).round() / 100.0;
    let mut sources = BTreeMap::new();
    sources.insert("vram_gib".into(), "= unified_memory.gpu_usable_gib".into());
    sources.insert("bandwidth_gbs".into(), source.to_string());
    sources.insert("fp16_tflops".into(), source.to_string());
    Some(AppleSilicon {
        gpu: GpuSpec {
            name: format!("{} GPU", brand.trim()),
            backend: "metal".into(),
            vram_gib: usable,
            free_gib: None,
            bandwidth_gbs: *bw,
            measured_bandwidth_gbs: None,
            fp16_tflops: *tflops,
            pcie: None,
            compute_capability: None,
            sources,
        },
        unified: UnifiedMemory {
            gpu_usable_gib: usable,
            note: Some(note),
        },
        ram_bandwidth_gbs: *bw,
        ram_bandwidth_source: format!("{source} (full chip; binned variants are slower)"),
    })
}

/// `sysctl -n iogpu.wired_limit_mb` on macOS; None elsewhere or when unreadable.
pub fn wired_limit_mb() -> Option<u64> {
    if !cfg!(target_os = "macos") {
        return None;
    }
    let out = std::process::Command::new("sysctl")
        .args(["-n", "iogpu.wired_limit_mb"])
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_chip_gets_a_metal_gpu_and_the_default_wired_limit() {
        let a = apple_silicon("Apple M4 Max", 128.0, None).unwrap();
        assert_eq!(a.gpu.backend, "metal");
        assert_eq!(a.unified.gpu_usable_gib, 96.0);
        assert_eq!(a.gpu.vram_gib, 96.0);
        assert_eq!(a.ram_bandwidth_gbs, 546.0);
        // Small Macs: about two thirds.
        let s = apple_silicon("Apple M3", 24.0, Some(0)).unwrap();
        assert_eq!(s.unified.gpu_usable_gib, 16.0);
    }

    #[test]
    fn raised_wired_limit_is_used() {
        let a = apple_silicon("Apple M1 Max", 64.0, Some(57344)).unwrap();
        assert_eq!(a.unified.gpu_usable_gib, 56.0);
    }

    #[test]
    fn other_cpus_are_not_apple_silicon() {
        assert!(apple_silicon("AMD Ryzen 9 9950X", 96.0, None).is_none());
    }

    #[test]
    fn table_agrees_with_the_builtin_profiles() {
        for p in crate::hw::builtin_profiles().unwrap() {
            if let Some(a) = apple_silicon(&p.cpu.name, p.ram.total_gib, None) {
                assert_eq!(a.ram_bandwidth_gbs, p.ram.bandwidth_gbs, "{}", p.name);
                assert_eq!(
                    a.unified.gpu_usable_gib,
                    p.unified_memory.as_ref().unwrap().gpu_usable_gib,
                    "{}",
                    p.name
                );
                assert_eq!(a.gpu.fp16_tflops, p.gpus[0].fp16_tflops, "{}", p.name);
            }
        }
    }
}
