//! The one error type of the GGUF reader: it always names the file and what is wrong with it.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct GgufError {
    pub path: PathBuf,
    pub message: String,
}

impl GgufError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        GgufError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, GgufError>;
