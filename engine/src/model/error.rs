//! Errors of model loading and evaluation.

use crate::backend::BackendError;
use crate::cache::KvError;
use crate::cpu::MatmulError;
use crate::gguf::GgufError;
use crate::tensor::TensorError;

use super::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    // Display already includes the cause; not marked #[source] so reports do not repeat it.
    #[error("{path}: {cause}")]
    Config { path: String, cause: ConfigError },
    #[error("{path}: {cause}")]
    Tensor { path: String, cause: TensorError },
    #[error(transparent)]
    Matmul(#[from] MatmulError),
    #[error(transparent)]
    Backend(BackendError),
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("token id {token} is outside the vocabulary (size {n_vocab})")]
    BadToken { token: u32, n_vocab: usize },
    #[error("context full: {n_past} + {n_new} tokens exceed n_ctx {n_ctx}")]
    ContextFull {
        n_past: usize,
        n_new: usize,
        n_ctx: usize,
    },
    #[error("invalid session options: {0}")]
    Options(String),
    #[error("placement: {0}")]
    Placement(#[from] crate::placement::PlacementError),
    #[error("{path}: moving weights to the GPU: {cause}")]
    Gpu {
        path: String,
        cause: crate::cuda::CudaError,
    },
    #[error("thread pool: {0}")]
    Threads(String),
}
