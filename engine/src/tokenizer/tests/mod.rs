//! Tokenizer tests against llama.cpp's outputs (vocabulary test vectors, Gemma 3's prompt
//! tokens), Python jinja2's template renders, and robustness on arbitrary input.

mod chat;
mod gemma;
mod robustness;
mod vectors;

use std::path::Path;

use super::Tokenizer;
use crate::gguf::GgufModel;

/// Loads the tokenizer of a GGUF file.
pub(super) fn load(path: &Path) -> Tokenizer {
    let model = GgufModel::open(path).unwrap_or_else(|e| panic!("{e}"));
    Tokenizer::from_metadata(model.metadata()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
