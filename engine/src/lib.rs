//! fitbench-engine: the bundled inference engine and the GGUF reader shared with the planner.

pub mod bench;
pub mod fixtures;
pub mod gguf;
pub mod quant;
