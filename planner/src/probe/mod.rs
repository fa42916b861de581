//! `probe`: describe this machine as a `HardwareProfile` (RAM, CPU, NVIDIA GPUs, measured RAM bandwidth).
//!
//! Everything read from the OS or the driver is exact; figures the OS cannot tell us (theoretical RAM
//! bandwidth, CPU GFLOP/s) are estimates and say so in `sources`.

mod apple;
mod gpubw;
mod host;
mod membw;
mod nvidia;
mod simd;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::hw::{CpuSpec, HardwareProfile, RamSpec};

pub use apple::{apple_silicon, AppleSilicon};
pub use host::{probe_host, HostInfo};
pub use membw::{measure_read_bandwidth, measure_with as membw_measure_with, ReadBandwidth};
pub use nvidia::{probe_nvidia_gpus, NvidiaProbe};
pub(crate) use simd::for_each_simd_feature;
pub use simd::simd_features;

/// Typical fraction of the theoretical peak a multi-threaded read loop attains (STREAM-like loads
/// usually reach 60-85%); used only to estimate the theoretical peak when it cannot be read.
const TYPICAL_READ_EFFICIENCY: f64 = 0.75;

/// How long the RAM read-bandwidth measurement may run (allocation and first touch included).
pub const BANDWIDTH_BUDGET: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot read system information: {0}")]
    System(String),
}

/// Probes this machine. `measure_bandwidth = false` skips the ~0.5 s RAM read measurement.
pub fn probe(measure_bandwidth: bool) -> Result<HardwareProfile, ProbeError> {
    let measured = measure_bandwidth.then(|| measure_read_bandwidth(BANDWIDTH_BUDGET));
    Ok(probe_with(measured)?.1)
}

/// Probes this machine with a bandwidth measured by the caller (the benchmark harness records the
/// same measurement as its anchor); also returns the host facts the profile was built from.
pub fn probe_with(
    measured: Option<ReadBandwidth>,
) -> Result<(HostInfo, HardwareProfile), ProbeError> {
    let host = probe_host()?;
    let nvidia = probe_nvidia_gpus();
    let apple = cfg!(target_os = "macos")
        .then(|| apple_silicon(&host.cpu_name, host.total_gib, apple::wired_limit_mb()))
        .flatten();
    let measure_gpus = measured.is_some();
    let mut profile = build_profile(host.clone(), measured, nvidia, apple);
    gpubw::apply(&mut profile, measure_gpus);
    Ok((host, profile))
}

fn build_profile(
    host: HostInfo,
    measured: Option<ReadBandwidth>,
    nvidia: NvidiaProbe,
    apple: Option<AppleSilicon>,
) -> HardwareProfile {
    let mut cpu_sources = BTreeMap::new();
    cpu_sources.insert("name".into(), "probed: sysinfo".into());
    cpu_sources.insert("physical_cores".into(), "probed: sysinfo".into());
    cpu_sources.insert(
        "simd".into(),
        "probed: runtime CPU feature detection".into(),
    );
    let gflops = host.estimated_gflops();
    if let Some(g) = gflops {
        cpu_sources.insert(
            "gflops".into(),
            format!(
                "ESTIMATE: {} physical cores x {} FP32 FLOP/cycle (from SIMD width) x {} MHz reported clock = {g:.0}",
                host.physical_cores,
                host.flops_per_cycle(),
                host.frequency_mhz
            ),
        );
    }

    let mut ram_sources = BTreeMap::new();
    ram_sources.insert("total_gib".into(), "probed: sysinfo".into());
    ram_sources.insert("available_gib".into(), "probed: sysinfo".into());
    let measured_gbs = measured.as_ref().map(|m| m.gb_per_s);
    let bandwidth_gbs = match (&apple, measured_gbs) {
        (Some(a), _) => {
            ram_sources.insert("bandwidth_gbs".into(), a.ram_bandwidth_source.clone());
            a.ram_bandwidth_gbs
        }
        (None, Some(m)) => {
            ram_sources.insert(
                "bandwidth_gbs".into(),
                format!(
                    "ESTIMATE: measured read {m:.1} GB/s / {TYPICAL_READ_EFFICIENCY} typical efficiency; \
                     DIMM speed and channel count are not readable without root: edit this with channels x MT/s x 8"
                ),
            );
            round1(m / TYPICAL_READ_EFFICIENCY)
        }
        (None, None) => {
            ram_sources.insert(
                "bandwidth_gbs".into(),
                "ESTIMATE: unknown (not measured); placeholder of a DDR4-3200 dual-channel desktop, 51.2 GB/s: edit it"
                    .into(),
            );
            51.2
        }
    };
    if let Some(m) = &measured {
        ram_sources.insert(
            "measured_read_gbs".into(),
            format!(
                "measured: {} threads summing a {} MiB buffer for {:.2} s",
                m.threads,
                m.buffer_bytes >> 20,
                m.seconds
            ),
        );
    }

    let mut notes = vec![format!(
        "Probed by fitbench {} on {}.",
        env!("CARGO_PKG_VERSION"),
        host.os
    )];
    notes.extend(nvidia.notes.iter().cloned());
    if apple.is_some() {
        notes.push(
            "Apple Silicon: the Metal GPU entry comes from the chip name and macOS's wired limit."
                .into(),
        );
    }
    let mut gpus = nvidia.gpus;
    let mut unified_memory = None;
    if let Some(a) = apple {
        gpus.push(a.gpu);
        unified_memory = Some(a.unified);
    }

    HardwareProfile {
        name: host.hostname.clone(),
        description: format!("Probed machine `{}`", host.hostname),
        cpu: CpuSpec {
            name: host.cpu_name.clone(),
            physical_cores: host.physical_cores,
            logical_cores: host.logical_cores,
            simd: host.simd.clone(),
            gflops,
            sources: cpu_sources,
        },
        ram: RamSpec {
            total_gib: round2(host.total_gib),
            available_gib: Some(round2(host.available_gib.min(host.total_gib))),
            bandwidth_gbs,
            measured_read_gbs: measured_gbs.map(round1),
            sources: ram_sources,
        },
        gpus,
        unified_memory,
        notes,
        calibration: None,
    }
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
