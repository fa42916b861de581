//! Benchmarking: suites, the runner that launches the engine, result records, statistics, plots.

pub mod anchor;
pub mod host;
pub mod llama_bench;
pub mod model_id;
pub mod model_resolve;
pub mod plot;
pub mod predict;
pub mod process;
pub mod record;
pub mod results_file;
pub mod runner;
pub mod stats;
pub mod suite;
pub mod summary;

pub use record::Record;

#[cfg(test)]
mod runner_tests;
