//! HardwareProfile: one schema for a probed machine (`fitbench probe --yaml`) and for `hw-profiles/*.yaml`.
//!
//! Sizes are in GiB (2^30 bytes) because that is how memory is sold and reported by drivers;
//! bandwidths in GB/s (10^9 bytes/s) because that is how vendors state them. Every figure that is not
//! measured on this machine carries its source in `sources` (key = field name).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareProfile {
    /// Short id used by `--profile` (the file stem for hw-profiles/*.yaml), e.g. `rtx-5080`.
    pub name: String,
    pub description: String,
    pub cpu: CpuSpec,
    pub ram: RamSpec,
    #[serde(default)]
    pub gpus: Vec<GpuSpec>,
    /// Set on machines where CPU and GPU share one memory pool (Apple Silicon, Strix Halo, DGX Spark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified_memory: Option<UnifiedMemory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Coefficients `fitbench calibrate` measured on this very machine; None: built-in ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<super::CpuCalibration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSpec {
    pub name: String,
    pub physical_cores: u32,
    pub logical_cores: u32,
    /// e.g. ["avx2", "fma", "avx512f"] or ["neon", "dotprod"].
    #[serde(default)]
    pub simd: Vec<String>,
    /// Peak FP32 GFLOP/s of all cores (for prompt-processing estimates on the CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RamSpec {
    pub total_gib: f64,
    /// Free for a model right now (probed); profiles may leave it out (then: total minus the OS reserve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_gib: Option<f64>,
    /// Theoretical peak (channels × transfer rate × 8 bytes).
    pub bandwidth_gbs: f64,
    /// Multi-threaded read bandwidth measured by `fitbench probe`; None if not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_read_gbs: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    pub name: String,
    /// cuda, rocm, metal, vulkan.
    pub backend: String,
    pub vram_gib: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_gib: Option<f64>,
    /// Theoretical memory bandwidth (bus width × data rate).
    pub bandwidth_gbs: f64,
    /// Device-to-device copy bandwidth measured through the engine's backend; None if not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_bandwidth_gbs: Option<f64>,
    /// Dense FP16 tensor-core TFLOP/s (no sparsity), with FP16 accumulate (the vendor headline; GeForce
    /// cards run FP32 accumulate at half this rate). GPUs without matrix units (Pascal, Apple before M5)
    /// give their plain FP32/FP16 shader peak; `sources.fp16_tflops` says which.
    pub fp16_tflops: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie: Option<PcieLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_capability: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcieLink {
    pub gen: u32,
    pub width: u32,
    /// Theoretical one-direction bandwidth of the link in GB/s.
    pub bandwidth_gbs: f64,
    /// Host-to-device copy bandwidth measured through the engine's backend; None if not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_h2d_gbs: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnifiedMemory {
    /// How much of the shared pool the GPU may use (e.g. macOS's default wired limit).
    /// On these machines `gpus[0].vram_gib` equals this figure and is part of `ram.total_gib`,
    /// not memory in addition to it: the weights, the KV cache and the OS all come out of one pool.
    pub gpu_usable_gib: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
