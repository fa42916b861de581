//! Model descriptions for the planner: from a GGUF header (no weights read) or from the catalog.

mod from_gguf;
mod role;
mod spec;

pub use from_gguf::{from_model, open, ModelError};
pub use role::{classify, split_layer, TensorRole};
pub use spec::{ExpertSpec, LayerKind, ModelSpec, RecurrentSpec, TensorSpec};

#[cfg(test)]
mod tests;
