//! Where a record was measured: a hardware fingerprint of the host and the build of fitbench itself.
//! Until `fitbench::probe` is wired in, the host comes from sysinfo and /proc/driver/nvidia.

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

    /// This machine.
    pub fn detect() -> Self {
        let (mut cpu_model, mut logical, mut ram) = (String::new(), None, None);
        if let Ok(mut sys) = sysinfo::System::new() {
            sys.refresh_cpu_all();
            sys.refresh_memory();
            cpu_model = sys
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_string())
                .unwrap_or_default();
            logical = Some(sys.cpus().len() as u32).filter(|&n| n > 0);
            ram = Some(sys.total_memory()).filter(|&b| b > 0);
        }
        if logical.is_none() {
            logical = std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u32);
        }
        let physical = sysinfo::System::physical_core_count()
            .ok()
            .map(|n| n as u32);
        let os = format!(
            "{} {}",
            sysinfo::System::long_os_version().unwrap_or_default(),
            sysinfo::System::kernel_version().unwrap_or_default()
        );
        let hostname = sysinfo::System::host_name().unwrap_or_default();
        Self::new(
            cpu_model,
            physical,
            logical,
            ram,
            nvidia_gpu_names(),
            os.trim().to_string(),
            hostname,
        )
    }
}

impl HostFingerprint {
    /// From a probed profile (`fitbench::probe::probe`), so records and `fitbench probe` agree.
    pub fn from_profile(p: &crate::hw::HardwareProfile, os: String, hostname: String) -> Self {
        Self::new(
            p.cpu.name.clone(),
            Some(p.cpu.physical_cores),
            Some(p.cpu.logical_cores),
            Some((p.ram.total_gib * (1u64 << 30) as f64) as u64),
            p.gpus.iter().map(|g| g.name.clone()).collect(),
            os,
            hostname,
        )
    }
}

/// GPU names from the NVIDIA driver's proc files (Linux); empty elsewhere.
fn nvidia_gpu_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/driver/nvidia/gpus") else {
        return Vec::new();
    };
    let mut names: Vec<(String, String)> = dir
        .flatten()
        .filter_map(|e| {
            let info = std::fs::read_to_string(e.path().join("information")).ok()?;
            let model = info
                .lines()
                .find_map(|l| l.strip_prefix("Model:"))?
                .trim()
                .to_string();
            Some((e.file_name().to_string_lossy().into_owned(), model))
        })
        .collect();
    names.sort();
    names.into_iter().map(|(_, m)| m).collect()
}

/// The fitbench build that produced a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    /// Set when the build exported FITBENCH_GIT_COMMIT.
    #[serde(default)]
    pub git_commit: Option<String>,
    pub build_profile: String,
    /// CPU features the binary was compiled for (not what the CPU has).
    #[serde(default)]
    pub target_features: Vec<String>,
}

impl ToolInfo {
    pub fn this_build() -> Self {
        let mut features = Vec::new();
        macro_rules! feat {
            ($($f:tt),*) => { $( if cfg!(target_feature = $f) { features.push($f.to_string()); } )* };
        }
        feat!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vnni",
            "neon",
            "dotprod",
            "i8mm"
        );
        ToolInfo {
            name: "fitbench".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("FITBENCH_GIT_COMMIT").map(str::to_string),
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
            target_features: features,
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
    fn detect_fills_the_cpu() {
        let h = HostFingerprint::detect();
        assert!(h.logical_cores.unwrap_or(0) >= 1);
        assert!(h.fingerprint.starts_with("sha256:"));
    }
}
