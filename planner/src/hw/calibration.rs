//! Speed coefficients measured on one machine by `fitbench calibrate` (see planner/src/calibrate/).
//! A profile carries them only when it describes the machine they were measured on.

use serde::{Deserialize, Serialize};

/// CPU coefficients of the speed model, measured with the bundled engine on synthetic slices of
/// catalog models. They replace the built-in efficiency factors for work done on the CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuCalibration {
    /// Effective bytes/s (as GB/s) that generation streams weights and KV from RAM at.
    pub gen_read_gbs: f64,
    /// Fixed time per layer per generated token (thread sync, small ops, activation quantization), s.
    pub gen_layer_overhead_s: f64,
    /// Effective prompt-processing rate, GFLOP/s (2 FLOPs per active weight plus attention).
    pub prompt_gflops: f64,
    /// UTC date of the measurement, YYYY-MM-DD.
    pub measured_on: String,
    /// Engine and version the coefficients were measured with.
    pub engine: String,
    /// Threads the engine ran with.
    pub threads: usize,
}
