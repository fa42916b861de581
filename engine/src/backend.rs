//! The seam between the forward pass and the compute backends: a matrix product runs where its
//! weight lives (CPU memory map or GPU copy, see [`crate::placement`]); activations cross as needed.

use crate::cpu::{self, MatmulError};
use crate::cuda::{self, CudaError};
use crate::tensor::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Cpu(#[from] MatmulError),
    #[error("tensor '{tensor}' on the GPU: {cause}")]
    Cuda { tensor: String, cause: CudaError },
}

/// CPU errors keep their old variant (callers match `ModelError::Matmul` to skip formats).
impl From<BackendError> for crate::ModelError {
    fn from(e: BackendError) -> crate::ModelError {
        match e {
            BackendError::Cpu(m) => crate::ModelError::Matmul(m),
            cuda => crate::ModelError::Backend(cuda),
        }
    }
}

/// `out[t][r] = W[r] · x[t]` (`x`: rows of `w.row_len()`, `out`: rows of `w.n_rows()`).
pub fn matmul(w: &Tensor, x: &[f32], out: &mut [f32]) -> Result<(), BackendError> {
    match w.gpu() {
        Some(g) => cuda::matmul(g, w.ty, w.row_len(), w.n_rows(), x, out).map_err(|cause| {
            BackendError::Cuda {
                tensor: w.name.clone(),
                cause,
            }
        }),
        None => Ok(cpu::matmul(w, x, out)?),
    }
}
