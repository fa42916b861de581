//! Model identity for records: name, file size and a sha256 over the GGUF header and tensor index
//! (every byte before the data section). Hashing the header, not the weights, takes milliseconds for
//! a 100 GB model and still changes with any change to metadata, tensor types, shapes or offsets.

use std::path::Path;

use fitbench_engine::gguf::GgufFile;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// File stem, e.g. `Qwen3.5-35B-A3B-Q4_K_M`.
    pub name: String,
    /// Path as given to the engine.
    pub path: String,
    #[serde(default)]
    pub file_size: Option<u64>,
    /// `sha256:<hex>` of bytes `[0, data_offset)`; None when the file was not available (imports).
    #[serde(default)]
    pub header_sha256: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    /// `<arch>.context_length`: the longest context the model was trained for.
    #[serde(default)]
    pub n_ctx_train: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ModelIdError {
    pub path: String,
    pub message: String,
}

pub fn model_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

impl ModelIdentity {
    /// Opens the GGUF header of `path` (the first part of a split set identifies the set).
    pub fn of_file(path: &Path) -> Result<Self, ModelIdError> {
        let err = |message: String| ModelIdError {
            path: path.display().to_string(),
            message,
        };
        let file = GgufFile::open(path).map_err(|e| err(e.to_string()))?;
        let end =
            usize::try_from(file.data_offset).map_err(|_| err("data offset too large".into()))?;
        let header = file
            .bytes()
            .get(..end)
            .ok_or_else(|| err("data offset beyond the end of the file".into()))?;
        Ok(ModelIdentity {
            name: model_name(path),
            path: path.display().to_string(),
            file_size: Some(file.file_size),
            header_sha256: Some(format!("sha256:{:x}", Sha256::digest(header))),
            architecture: file.metadata.architecture().map(str::to_string),
            n_ctx_train: file.metadata.arch_usize("context_length").map(|n| n as u64),
        })
    }

    /// Identity of a model known only by name (llama-bench imports without the file at hand).
    pub fn by_name(path: &str, file_size: Option<u64>) -> Self {
        ModelIdentity {
            name: model_name(Path::new(path)),
            path: path.to_string(),
            file_size,
            header_sha256: None,
            architecture: None,
            n_ctx_train: None,
        }
    }

    /// What pairs points across runs: the header hash when known, else name and size.
    pub fn key(&self) -> String {
        match &self.header_sha256 {
            Some(h) => h.clone(),
            None => format!(
                "{}:{}",
                self.name,
                self.file_size.map(|s| s.to_string()).unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_the_header() {
        let path = fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf");
        let Some(path) = path else {
            eprintln!("skipped: fixture model not found");
            return;
        };
        let id = ModelIdentity::of_file(&path).unwrap();
        let file = GgufFile::open(&path).unwrap();
        let want = format!(
            "sha256:{:x}",
            Sha256::digest(&file.bytes()[..file.data_offset as usize])
        );
        assert_eq!(id.header_sha256.as_deref(), Some(want.as_str()));
        assert_eq!(id.file_size, Some(std::fs::metadata(&path).unwrap().len()));
        assert_eq!(id.name, "qwen35moe-tiny-Q4_K_M");
        assert!(file.data_offset < file.file_size);
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = ModelIdentity::of_file(Path::new("/nonexistent/m.gguf")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/m.gguf"));
    }
}
