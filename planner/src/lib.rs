//! fitbench: plan which model and quant fit a machine, benchmark them, compare runs.

pub mod catalog;
pub mod cli;
pub mod estimate;
pub mod hw;
pub mod probe;
pub mod model;
pub mod place;
