//! Built-in catalog: model hyperparameters (embedded YAML), quant recipes, synthetic tensor lists.

mod entry;
mod recipe;
mod synth;

pub use entry::{entries, find, CatalogEntry, CatalogError, ExpertConfig, LinearConfig};
pub use recipe::{tensor_type, Ftype, Quant, TensorContext, UNSLOTH};
pub use synth::synthesize;

#[cfg(test)]
mod tests;
