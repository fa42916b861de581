//! fitbench: plan which model and quant fit a machine, benchmark them, compare runs.

pub mod bench;
pub mod cli;
pub mod compare;
pub mod hw;
