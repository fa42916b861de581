//! CUDA backend: weights placed on the GPU ([`crate::placement`]) are uploaded once at load and
//! their matrix products run there; activations cross host↔device per op.
//!
//! Built with the `cuda` feature (cudarc with dynamic loading: no toolkit or driver needed to
//! build; `libcuda` and `libnvrtc` are looked up at run time). Without the feature a stub with
//! the same API reports "built without CUDA". Kernels are CUDA C ([`kernels`]) compiled by NVRTC
//! for the device's architecture on first use and cached per process.
//!
//! What runs on the GPU today: the quantized matrix products (decode matvec and prompt matmul,
//! formats in [`kernels::matmul_kernel`]). The other kernels (RMSNorm, RoPE, attention, Gated
//! DeltaNet, conv1d, MoE routing, SwiGLU, softmax) are compiled and shipped but the forward pass
//! still runs those ops on the CPU: the KV cache and recurrent state stay in host memory.

pub mod kernels;

#[cfg(feature = "cuda")]
pub mod nvrtc;
#[cfg(feature = "cuda")]
pub mod ops;
#[cfg(all(test, feature = "cuda"))]
mod ops_tests;
#[cfg(feature = "cuda")]
mod runtime;
#[cfg(feature = "cuda")]
pub use runtime::{availability, bandwidth, matmul, upload, DeviceBytes};

#[cfg(not(feature = "cuda"))]
mod stub;
#[cfg(not(feature = "cuda"))]
pub use stub::{availability, bandwidth, matmul, upload, DeviceBytes};

#[cfg(all(test, feature = "cuda"))]
mod tests;

/// What the machine offers.
#[derive(Debug, Clone)]
pub enum Availability {
    /// The crate was built without the `cuda` feature.
    BuiltWithout,
    /// No `libcuda` (no NVIDIA driver).
    NoDriver,
    /// The driver loaded but reports no device (or failed to initialize: the reason).
    NoDevice(String),
    Ready(DeviceInfo),
}

impl Availability {
    pub fn is_ready(&self) -> bool {
        matches!(self, Availability::Ready(_))
    }

    /// What a user who asked for the GPU is told when it cannot be used.
    pub fn fallback_notice(&self) -> Option<String> {
        match self {
            Availability::Ready(_) => None,
            Availability::BuiltWithout => {
                Some("built without CUDA (feature `cuda`); running on the CPU".into())
            }
            Availability::NoDriver => Some("no CUDA device; running on the CPU".into()),
            Availability::NoDevice(why) => {
                Some(format!("no CUDA device ({why}); running on the CPU"))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeviceInfo {
    pub name: String,
    pub compute_capability: (i32, i32),
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// Measured copy bandwidths, GB/s (10^9 bytes per second).
#[derive(Debug, Clone, Copy)]
pub struct Bandwidth {
    pub device_to_device_gbs: f64,
    pub host_to_device_gbs: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum CudaError {
    #[error("built without CUDA (feature `cuda`)")]
    BuiltWithout,
    #[error("no CUDA device: {0}")]
    NoDevice(String),
    #[error("libnvrtc not found (install the CUDA toolkit or `pip install nvidia-cuda-nvrtc`, or set FITBENCH_NVRTC to the library)")]
    NoNvrtc,
    #[error("NVRTC failed to compile {source_name} for {arch}:\n{log}")]
    Compile {
        source_name: &'static str,
        arch: String,
        log: String,
    },
    #[error("CUDA driver error during {what}: {detail}")]
    Driver { what: &'static str, detail: String },
    #[error("no CUDA matmul kernel for {0}")]
    Unsupported(&'static str),
    #[error("bad shape for a CUDA matmul: {0}")]
    Shape(String),
}
