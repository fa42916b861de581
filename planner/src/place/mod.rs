//! Placement: which tensors go where, which KV type and context, for a model on a machine.

mod commands;
mod search;

pub use commands::{engine_command, llama_server_command};
pub use search::{fit_gpu, max_context, plan, Goal, Plan, PlanError, PlanRequest};

#[cfg(test)]
mod multi_gpu_tests;
#[cfg(test)]
mod tests;
