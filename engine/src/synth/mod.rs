//! Synthetic models: a GGUF with a real model's tensor shapes and seeded random weights, written
//! streaming (one row block at a time) so that files far larger than memory can be produced.

mod error;
mod init;
mod random;
mod spec;
mod write;

pub use error::SynthError;
pub use init::Init;
pub use random::RowRng;
pub use spec::{MetaValue, SynthSpec, SynthTensor};
pub use write::{write_synth, SynthReport};

#[cfg(test)]
mod tests;
