//! fitbench: plan which model and quant fit a machine, benchmark them, compare runs.

pub mod cli;
pub mod hw;
pub mod probe;
