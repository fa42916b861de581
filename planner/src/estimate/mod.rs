//! Memory and speed estimates for a model on a machine (llama.cpp's behaviour; see docs/planner-model.md).

mod cache;
mod config;
pub mod gpu_efficiency;
mod memory;
mod multi_gpu;
mod speed;

pub use cache::*;
pub use config::{Placement, RunConfig};
pub use memory::{
    compute_buffer_bytes, estimate_memory, tensor_on_gpu, DeviceMemory, MemoryEstimate,
    GPU_RUNTIME_OVERHEAD,
};
pub use multi_gpu::GpuSet;
pub use speed::{
    generation_tps, prompt_flops_per_token, prompt_tps, ram_bandwidth, token_reads, Calibration,
    PromptFlops, TokenReads, CALIBRATION,
};

#[cfg(test)]
mod gpu_backend_tests;
#[cfg(test)]
mod heldout_tests;
#[cfg(test)]
pub(crate) mod machines;
#[cfg(test)]
pub(crate) mod tests;
