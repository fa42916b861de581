//! A slice of a catalog model for synthetic benchmarks: its first N layers (the layer pattern of
//! hybrid models is kept, since layer kinds follow the layer index) and an optional smaller vocabulary.

use crate::model::ModelSpec;

use super::entry::{find, CatalogEntry};
use super::recipe::Quant;
use super::synth::synthesize;

#[derive(Debug, thiserror::Error)]
pub enum SliceError {
    #[error("unknown model '{0}' (see planner/catalog/models.yaml for the catalog ids)")]
    UnknownModel(String),
    #[error("unknown quant '{name}'; known: {known}")]
    UnknownQuant { name: String, known: String },
    #[error("--layers {layers} is out of range for {model}: it has 1..={max} layers")]
    LayersOutOfRange {
        model: String,
        layers: u64,
        max: u64,
    },
    #[error("--vocab {vocab} is out of range for {model}: 1..={max}")]
    VocabOutOfRange { model: String, vocab: u64, max: u64 },
    #[error(transparent)]
    Catalog(#[from] super::entry::CatalogError),
}

/// What to synthesize.
#[derive(Debug, Clone)]
pub struct SliceRequest {
    pub like: String,
    pub layers: Option<u64>,
    pub quant: String,
    /// Vocabulary size; None keeps the model's own.
    pub vocab: Option<u64>,
}

/// The sliced catalog entry, the quant, and the ModelSpec a GGUF of that slice would have.
pub fn slice(req: &SliceRequest) -> Result<(CatalogEntry, Quant, ModelSpec), SliceError> {
    let mut entry = find(&req.like)?.ok_or_else(|| SliceError::UnknownModel(req.like.clone()))?;
    let quant = Quant::parse(&req.quant).ok_or_else(|| SliceError::UnknownQuant {
        name: req.quant.clone(),
        known: Quant::all_names().join(", "),
    })?;
    let layers = req.layers.unwrap_or(entry.layers);
    if layers == 0 || layers > entry.layers {
        return Err(SliceError::LayersOutOfRange {
            model: entry.id,
            layers,
            max: entry.layers,
        });
    }
    let vocab = req.vocab.unwrap_or(entry.vocab);
    if vocab == 0 || vocab > entry.vocab {
        return Err(SliceError::VocabOutOfRange {
            model: entry.id,
            vocab,
            max: entry.vocab,
        });
    }
    entry.layers = layers;
    entry.vocab = vocab;
    let spec = synthesize(&entry, &quant);
    Ok((entry, quant, spec))
}
