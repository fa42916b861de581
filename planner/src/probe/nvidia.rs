//! NVIDIA GPUs through NVML. libnvidia-ml is loaded at run time: without a driver there are simply no GPUs.

use std::collections::BTreeMap;

use nvml_wrapper::{enum_wrappers::device::Clock, error::NvmlError, Device, Nvml};

use crate::hw::{builtin_profiles, GpuSpec, PcieLink};

use super::{round1, round2};

const GIB: f64 = (1u64 << 30) as f64;

#[derive(Debug, Default)]
pub struct NvidiaProbe {
    pub gpus: Vec<GpuSpec>,
    /// Why there are no GPUs, or what could not be read.
    pub notes: Vec<String>,
}

pub fn probe_nvidia_gpus() -> NvidiaProbe {
    let mut out = NvidiaProbe::default();
    let nvml = match Nvml::init() {
        Ok(n) => n,
        Err(NvmlError::LibloadingError(_)) => {
            out.notes.push(
                "No NVIDIA driver library (libnvidia-ml) found: no NVIDIA GPUs probed.".into(),
            );
            return out;
        }
        Err(e) => {
            out.notes.push(format!(
                "NVML failed to start ({e}): no NVIDIA GPUs probed."
            ));
            return out;
        }
    };
    let count = match nvml.device_count() {
        Ok(c) => c,
        Err(e) => {
            out.notes.push(format!("NVML device count failed: {e}"));
            return out;
        }
    };
    if count == 0 {
        out.notes
            .push("NVML is present but reports no NVIDIA GPUs.".into());
    }
    for i in 0..count {
        match nvml.device_by_index(i) {
            Ok(dev) => out.gpus.push(describe(&dev, &mut out.notes)),
            Err(e) => out.notes.push(format!("NVIDIA GPU {i}: cannot open ({e})")),
        }
    }
    out
}

fn describe(dev: &Device<'_>, notes: &mut Vec<String>) -> GpuSpec {
    let name = dev.name().unwrap_or_else(|_| "NVIDIA GPU".into());
    let mut sources = BTreeMap::new();
    let (vram_gib, free_gib) = match dev.memory_info() {
        Ok(m) => (m.total as f64 / GIB, Some(m.free as f64 / GIB)),
        Err(e) => {
            notes.push(format!("{name}: memory size unreadable ({e})"));
            (0.25, None)
        }
    };
    sources.insert("vram_gib".into(), "probed: NVML".into());

    // NVML reports the memory clock at half the data rate for GDDR and HBM alike: bytes/s = 2 x clock x width / 8.
    let bandwidth_gbs = match (dev.memory_bus_width(), dev.max_clock_info(Clock::Memory)) {
        (Ok(bits), Ok(mhz)) if bits > 0 && mhz > 0 => {
            sources.insert(
                "bandwidth_gbs".into(),
                format!("computed from NVML: {bits}-bit bus x {mhz} MHz max memory clock x 2 (double data rate) / 8"),
            );
            round1(2.0 * mhz as f64 * 1e6 * bits as f64 / 8.0 / 1e9)
        }
        _ => {
            sources.insert(
                "bandwidth_gbs".into(),
                "ESTIMATE: NVML gave no bus width/clock; placeholder 100 GB/s".into(),
            );
            100.0
        }
    };

    let pcie = match (dev.max_pcie_link_gen(), dev.max_pcie_link_width()) {
        (Ok(gen), Ok(width)) if gen > 0 && width > 0 => {
            // Report the link as trained (current) when readable: a x16 card in a x4 slot runs at x4.
            let gen_now = dev.current_pcie_link_gen().unwrap_or(gen).max(1).min(gen);
            let width_now = dev
                .current_pcie_link_width()
                .unwrap_or(width)
                .max(1)
                .min(width);
            // Idle GPUs drop the link to gen 1 to save power; the max generation is what a copy gets.
            sources.insert(
                "pcie".into(),
                format!("probed: NVML max link gen {gen} x{width}, current gen {gen_now} x{width_now}; width as trained"),
            );
            Some(PcieLink {
                gen,
                width: width_now,
                bandwidth_gbs: round1(pcie_gbs(gen, width_now)),
                measured_h2d_gbs: None,
            })
        }
        _ => None,
    };

    let compute_capability = dev
        .cuda_compute_capability()
        .ok()
        .map(|c| format!("{}.{}", c.major, c.minor));

    let fp16_tflops = match known_fp16_tflops(&name) {
        Some((t, id)) => {
            sources.insert(
                "fp16_tflops".into(),
                format!("from built-in profile `{id}`"),
            );
            t
        }
        None => {
            let cores = dev.num_cores().unwrap_or(0) as f64;
            let mhz = dev.max_clock_info(Clock::Graphics).unwrap_or(0) as f64;
            let fp32 = cores * mhz * 2.0 / 1e6;
            let est = if fp32 > 0.0 { round1(fp32 * 4.0) } else { 10.0 };
            sources.insert(
                "fp16_tflops".into(),
                format!(
                    "ESTIMATE: 4 x FP32 peak ({cores} CUDA cores x {mhz} MHz x 2), the GeForce Ampere..Blackwell ratio; \
                     data-center parts are ~16x: check the vendor sheet"
                ),
            );
            est
        }
    };

    GpuSpec {
        name,
        backend: "cuda".into(),
        vram_gib: round2(vram_gib),
        free_gib: free_gib.map(|f| round2(f.min(vram_gib))),
        bandwidth_gbs,
        measured_bandwidth_gbs: None,
        fp16_tflops,
        pcie,
        compute_capability,
        sources,
    }
}

/// One-direction PCIe bandwidth in GB/s: per-lane GT/s x encoding efficiency / 8 x lanes.
pub fn pcie_gbs(gen: u32, width: u32) -> f64 {
    let per_lane = match gen {
        1 => 2.5 * 0.8,
        2 => 5.0 * 0.8,
        3 => 8.0 * 128.0 / 130.0,
        4 => 16.0 * 128.0 / 130.0,
        5 => 32.0 * 128.0 / 130.0,
        _ => 64.0 * 242.0 / 256.0, // gen 6 FLIT mode
    };
    per_lane / 8.0 * width as f64
}

/// The FP16 tensor figure of a built-in profile whose GPU has this name (NVML names match the vendor's).
fn known_fp16_tflops(name: &str) -> Option<(f64, String)> {
    let norm = |s: &str| {
        s.to_ascii_lowercase()
            .replace("nvidia", "")
            .replace("geforce", "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let wanted = norm(name);
    builtin_profiles().ok()?.into_iter().find_map(|p| {
        p.gpus
            .iter()
            .find(|g| norm(&g.name) == wanted)
            .map(|g| (g.fp16_tflops, p.name.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcie_link_bandwidths_match_the_spec() {
        // PCI-SIG: gen3 x16 ~15.75 GB/s, gen4 x16 ~31.5, gen5 x16 ~63.0 per direction.
        assert!((pcie_gbs(3, 16) - 15.75).abs() < 0.05);
        assert!((pcie_gbs(4, 16) - 31.5).abs() < 0.05);
        assert!((pcie_gbs(5, 16) - 63.0).abs() < 0.05);
    }

    #[test]
    fn nvml_names_find_builtin_figures() {
        assert_eq!(
            known_fp16_tflops("NVIDIA GeForce RTX 4090").map(|t| t.0),
            Some(330.3)
        );
        assert_eq!(
            known_fp16_tflops("NVIDIA H100 80GB HBM3").map(|t| t.0),
            Some(989.4)
        );
        assert_eq!(known_fp16_tflops("NVIDIA Made Up 1234"), None);
    }

    #[test]
    fn probing_without_a_driver_is_not_an_error() {
        // On machines without NVIDIA this returns no GPUs and a note; with GPUs each entry is checked.
        let p = probe_nvidia_gpus();
        for g in &p.gpus {
            assert_eq!(g.backend, "cuda");
            assert!(g.vram_gib > 0.0 && g.bandwidth_gbs > 0.0);
        }
        if p.gpus.is_empty() {
            assert!(!p.notes.is_empty());
        }
    }
}
