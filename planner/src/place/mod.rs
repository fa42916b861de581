//! Placement: which tensors go where, which KV type and context, for a model on a machine.

mod commands;
mod search;
mod sweep;

pub use commands::{engine_command, llama_server_command};
pub use search::{
    describe_placement, fit_gpu, fits_machine, gpu_budget, max_context, plan, Goal, Plan,
    PlanError, PlanRequest,
};
pub use sweep::{sweep, SweepRow};

#[cfg(test)]
mod multi_gpu_tests;
#[cfg(test)]
mod tests;
