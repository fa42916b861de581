//! Catalog entries: hyperparameters of well-known models, embedded in the binary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertConfig {
    pub count: u64,
    pub used: u64,
    pub ffn: u64,
    pub shared_ffn: u64,
}

/// Gated DeltaNet dimensions (HF `linear_*` config fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    pub k_heads: u64,
    pub v_heads: u64,
    pub head_dim: u64,
    pub conv: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub id: String,
    pub name: String,
    /// GGUF `general.architecture`.
    pub arch: String,
    pub layers: u64,
    pub hidden: u64,
    pub heads: u64,
    pub kv_heads: u64,
    pub head_dim: u64,
    #[serde(default)]
    pub ffn: u64,
    #[serde(default)]
    pub full_attention_interval: Option<u64>,
    #[serde(default)]
    pub experts: Option<ExpertConfig>,
    #[serde(default)]
    pub linear: Option<LinearConfig>,
    #[serde(default)]
    pub sliding_window: Option<u64>,
    #[serde(default)]
    pub qk_norm: bool,
    pub vocab: u64,
    pub context: u64,
    pub tied_embeddings: bool,
    pub source: String,
    /// Published GGUF sizes in GB (10^9 bytes) by quant, for reference.
    #[serde(default)]
    pub sizes_gb: BTreeMap<String, f64>,
    /// Published quality notes by quant.
    #[serde(default)]
    pub quality: BTreeMap<String, String>,
}

const MODELS_YAML: &str = include_str!("../../catalog/models.yaml");

#[derive(Debug, thiserror::Error)]
#[error("built-in catalog (planner/catalog/models.yaml): {0}")]
pub struct CatalogError(String);

/// All catalog entries.
pub fn entries() -> Result<Vec<CatalogEntry>, CatalogError> {
    let list: Vec<CatalogEntry> =
        serde_saphyr::from_str(MODELS_YAML).map_err(|e| CatalogError(e.to_string()))?;
    for e in &list {
        if e.layers == 0 || e.hidden == 0 || e.heads == 0 || e.vocab == 0 {
            return Err(CatalogError(format!(
                "{}: zero layers/hidden/heads/vocab",
                e.id
            )));
        }
    }
    Ok(list)
}

/// An entry by id or name, case-insensitive.
pub fn find(name: &str) -> Result<Option<CatalogEntry>, CatalogError> {
    let n = name.to_ascii_lowercase();
    Ok(entries()?
        .into_iter()
        .find(|e| e.id == n || e.name.to_ascii_lowercase() == n))
}
