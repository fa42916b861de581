//! CPU and RAM of this machine, read through sysinfo.

use sysinfo::System;

use super::{simd::simd_features, ProbeError};

const GIB: f64 = (1u64 << 30) as f64;

#[derive(Debug, Clone)]
pub struct HostInfo {
    pub hostname: String,
    pub os: String,
    pub cpu_name: String,
    pub physical_cores: u32,
    pub logical_cores: u32,
    /// Clock reported by the OS (MHz); 0 when unknown.
    pub frequency_mhz: u64,
    pub simd: Vec<String>,
    pub total_gib: f64,
    pub available_gib: f64,
}

pub fn probe_host() -> Result<HostInfo, ProbeError> {
    let mut sys = System::new().map_err(|e| ProbeError::System(e.to_string()))?;
    sys.refresh_memory();
    sys.refresh_cpu_all();
    let cpus = sys.cpus();
    let logical = cpus
        .len()
        .max(std::thread::available_parallelism().map_or(1, |n| n.get()));
    let physical = System::physical_core_count()
        .unwrap_or(logical)
        .clamp(1, logical);
    let cpu_name = cpus
        .first()
        .map(|c| c.brand().trim().to_string())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| format!("unknown {} CPU", System::cpu_arch()));
    let frequency_mhz = cpus.iter().map(|c| c.frequency()).max().unwrap_or(0);
    let hostname = System::host_name()
        .ok()
        .map(|h| sanitize_id(&h))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this-machine".into());
    let os = System::long_os_version().unwrap_or_else(|_| std::env::consts::OS.to_string());
    Ok(HostInfo {
        hostname,
        os,
        cpu_name,
        physical_cores: physical as u32,
        logical_cores: logical as u32,
        frequency_mhz,
        simd: simd_features(),
        total_gib: sys.total_memory() as f64 / GIB,
        available_gib: sys.available_memory() as f64 / GIB,
    })
}

impl HostInfo {
    /// Peak FP32 FLOP per cycle per core implied by the widest FMA unit detected.
    pub fn flops_per_cycle(&self) -> u32 {
        let has = |f: &str| self.simd.iter().any(|s| s == f);
        if has("avx512f") {
            64 // 2 x 16-lane FMA (assumes two 512-bit pipes; some CPUs have one)
        } else if has("avx2") && has("fma") {
            32 // 2 x 8-lane FMA
        } else if has("neon") {
            16 // 2 x 4-lane FMA (Cortex-A76 class; Apple cores have 4 pipes)
        } else {
            8
        }
    }

    /// Rough peak FP32 GFLOP/s of all physical cores; None when the clock is unknown.
    pub fn estimated_gflops(&self) -> Option<f64> {
        (self.frequency_mhz > 0).then(|| {
            let g = self.physical_cores as f64
                * self.flops_per_cycle() as f64
                * self.frequency_mhz as f64
                / 1000.0;
            g.round()
        })
    }
}

/// A profile id: lowercase letters, digits and dashes.
fn sanitize_id(s: &str) -> String {
    let id: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    id.trim_matches('-').to_string()
}
