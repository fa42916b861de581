//! Built-in catalog: model hyperparameters (embedded YAML), quant recipes, synthetic tensor lists,
//! and slices of catalog models written as synthetic GGUFs.

mod entry;
mod gguf_spec;
mod published_mix;
mod recipe;
mod slice;
mod synth;

pub use entry::{entries, find, CatalogEntry, CatalogError, ExpertConfig, LinearConfig};
pub use gguf_spec::{synth_spec, UnsupportedArch, SUPPORTED as SYNTH_ARCHS};
pub use recipe::{tensor_type, Ftype, Quant, TensorContext, UNSLOTH};
pub use slice::{slice, SliceError, SliceRequest};
pub use synth::synthesize;

#[cfg(test)]
mod tests;
