//! fitbench: plan which model and quant fit a machine, benchmark them, compare runs.

pub mod bench;
pub mod calibrate;
pub mod catalog;
pub mod cli;
pub mod compare;
pub mod estimate;
pub mod hw;
pub mod model;
pub mod place;
pub mod probe;
