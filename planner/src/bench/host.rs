//! Where a record was measured: a hardware fingerprint of the host (facts from `fitbench::probe`)
//! and the build of fitbench itself.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostFingerprint {
    pub cpu_model: String,
    #[serde(default)]
    pub physical_cores: Option<u32>,
    #[serde(default)]
    pub logical_cores: Option<u32>,
    #[serde(default)]
    pub ram_bytes: Option<u64>,
    /// GPU names, one per device.
    #[serde(default)]
    pub gpus: Vec<String>,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub hostname: String,
    /// sha256 of the hardware fields (not OS or host name): equal on the same hardware.
    pub fingerprint: String,
}

impl HostFingerprint {
    /// Builds the fingerprint from hardware fields. RAM is rounded to GiB so a few MiB reserved
    /// differently by a kernel update do not change it.
    pub fn new(
        cpu_model: String,
        physical_cores: Option<u32>,
        logical_cores: Option<u32>,
        ram_bytes: Option<u64>,
        gpus: Vec<String>,
        os: String,
        hostname: String,
    ) -> Self {
        let canonical = serde_json::json!({
            "cpu": cpu_model.trim(),
            "physical_cores": physical_cores,
            "logical_cores": logical_cores,
            "ram_gib": ram_bytes.map(|b| (b as f64 / (1u64 << 30) as f64).round() as u64),
            "gpus": gpus,
        });
        let fingerprint = format!(
            "sha256:{:x}",
            Sha256::digest(canonical.to_string().as_bytes())
        );
        HostFingerprint {
            cpu_model,
            physical_cores,
            logical_cores,
            ram_bytes,
            gpus,
            os,
            hostname,
            fingerprint,
        }
    }

    /// This machine, probed without the bandwidth measurement (what calibration files are keyed by).
    pub fn detect() -> Self {
        match crate::probe::probe_with(None) {
            Ok((host, profile)) => Self::from_probe(&host, &profile),
            Err(_) => Self::new(
                String::new(),
                None,
                None,
                None,
                Vec::new(),
                String::new(),
                String::new(),
            ),
        }
    }

    /// This machine, from the probe (`fitbench::probe`), so records and `fitbench probe` agree.
    pub fn from_probe(host: &crate::probe::HostInfo, p: &crate::hw::HardwareProfile) -> Self {
        Self::new(
            host.cpu_name.clone(),
            Some(host.physical_cores),
            Some(host.logical_cores),
            Some((host.total_gib * (1u64 << 30) as f64) as u64),
            p.gpus.iter().map(|g| g.name.clone()).collect(),
            host.os.clone(),
            host.hostname.clone(),
        )
    }
}

/// The fitbench build that produced a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    /// The workspace's git commit at build time (`fitbench_engine::GIT_COMMIT`), when known.
    #[serde(default)]
    pub git_commit: Option<String>,
    pub build_profile: String,
    /// CPU features the binary was compiled for (not what the CPU has).
    #[serde(default)]
    pub target_features: Vec<String>,
    /// The instruction-set ceiling the engine ran under when one was set (`FITBENCH_CPU_ISA`:
    /// `avx2` or `baseline`); absent when the kernels used what the CPU has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa_ceiling: Option<String>,
    /// Who fetched weight bytes ahead of the decode kernels (`software` or `hardware`, by CPU or
    /// `FITBENCH_PREFETCH`); absent off x86-64 and in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_prefetch: Option<String>,
}

impl ToolInfo {
    pub fn this_build() -> Self {
        let mut features = Vec::new();
        macro_rules! compiled_for {
            ($($f:tt),*) => { $( if cfg!(target_feature = $f) { features.push($f.to_string()); } )* };
        }
        crate::probe::for_each_simd_feature!(compiled_for);
        ToolInfo {
            name: "fitbench".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: fitbench_engine::GIT_COMMIT.map(str::to_string),
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
            target_features: features,
            isa_ceiling: match fitbench_engine::isa_ceiling::ceiling() {
                fitbench_engine::isa_ceiling::IsaLevel::Native => None,
                level => Some(format!("{level:?}").to_ascii_lowercase()),
            },
            weight_prefetch: fitbench_engine::quant::weight_prefetch().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_os_and_small_ram_differences() {
        let a = HostFingerprint::new(
            "CPU X".into(),
            Some(8),
            Some(16),
            Some(32 << 30),
            vec![],
            "A".into(),
            "h1".into(),
        );
        let b = HostFingerprint::new(
            "CPU X".into(),
            Some(8),
            Some(16),
            Some((32 << 30) - (5 << 20)),
            vec![],
            "B".into(),
            "h2".into(),
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        let c = HostFingerprint::new(
            "CPU X".into(),
            Some(8),
            Some(16),
            Some(32 << 30),
            vec!["RTX".into()],
            "A".into(),
            "h1".into(),
        );
        assert_ne!(a.fingerprint, c.fingerprint);
    }

    #[test]
    fn probe_fills_the_cpu() {
        let (host, profile) = crate::probe::probe_with(None).unwrap();
        let h = HostFingerprint::from_probe(&host, &profile);
        assert!(h.logical_cores.unwrap_or(0) >= 1);
        assert_eq!(h.cpu_model, profile.cpu.name);
        assert!(h.fingerprint.starts_with("sha256:"));
    }
}
