//! Typed, zero-copy views of weight tensors inside the model's memory map.

use crate::gguf::{GgmlType, GgufModel};
use crate::packed::PackedRows;
use crate::quant;

/// Errors while binding a model's tensors.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    #[error("tensor '{0}' is missing")]
    Missing(String),
    #[error("tensor '{name}' has shape {got:?}, expected {expected:?}")]
    Shape {
        name: String,
        got: Vec<u64>,
        expected: Vec<usize>,
    },
    #[error("tensor '{name}' has type {ty}, which the engine does not support yet")]
    Unsupported { name: String, ty: &'static str },
}

/// One weight tensor: its type, ggml dims (`dims[0]` = row length) and bytes in the mmap.
#[derive(Clone)]
pub struct Tensor {
    pub name: String,
    pub ty: GgmlType,
    pub dims: Vec<usize>,
    /// SAFETY: points into the `GgufModel` mmap owned by the same `Model`, which outlives every
    /// `Tensor` it hands out (tensors are only reachable through `&Model`) and never moves its pages.
    data: &'static [u8],
    /// A copy in GPU memory when the placement put this weight there: its products run there.
    gpu: Option<crate::cuda::DeviceBytes>,
    /// A copy repacked for the CPU kernels (see [`crate::packed`]): its CPU products read it.
    packed: Option<PackedRows>,
}

impl Tensor {
    /// Binds `name`, checking its shape (trailing dims of size 1 are ignored).
    pub fn bind(gguf: &GgufModel, name: &str, expected: &[usize]) -> Result<Tensor, TensorError> {
        let t = Self::bind_any(gguf, name)?;
        let trim = |d: &[usize]| {
            let mut v = d.to_vec();
            while v.len() > 1 && v.last() == Some(&1) {
                v.pop();
            }
            v
        };
        if trim(&t.dims) != trim(expected) {
            return Err(TensorError::Shape {
                name: name.into(),
                got: t.dims.iter().map(|&d| d as u64).collect(),
                expected: expected.to_vec(),
            });
        }
        Ok(t)
    }

    /// Binds `name` if present (shape-checked), `None` if absent.
    pub fn bind_opt(
        gguf: &GgufModel,
        name: &str,
        expected: &[usize],
    ) -> Result<Option<Tensor>, TensorError> {
        match gguf.tensor(name) {
            None => Ok(None),
            Some(_) => Self::bind(gguf, name, expected).map(Some),
        }
    }

    /// Binds `name` whatever its shape.
    pub fn bind_any(gguf: &GgufModel, name: &str) -> Result<Tensor, TensorError> {
        let mt = gguf
            .tensor(name)
            .ok_or_else(|| TensorError::Missing(name.into()))?;
        if quant::kernels(mt.info.ggml_type).is_none() {
            return Err(TensorError::Unsupported {
                name: name.into(),
                ty: mt.info.ggml_type.name(),
            });
        }
        let bytes = gguf.tensor_data(mt);
        // SAFETY: see the field comment; the slice lives in a read-only mmap owned by the model.
        let data: &'static [u8] =
            unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) };
        Ok(Tensor {
            name: name.into(),
            ty: mt.info.ggml_type,
            dims: mt.info.dims.iter().map(|&d| d as usize).collect(),
            data,
            gpu: None,
            packed: None,
        })
    }

    pub fn row_len(&self) -> usize {
        self.dims[0]
    }

    pub fn n_rows(&self) -> usize {
        self.dims[1..].iter().product()
    }

    pub fn row_bytes(&self) -> usize {
        self.data.len() / self.n_rows().max(1)
    }

    /// The GPU copy, if this weight lives on the GPU.
    pub fn gpu(&self) -> Option<&crate::cuda::DeviceBytes> {
        self.gpu.as_ref()
    }

    /// Copies the weight to the GPU; later products with it run there.
    pub fn upload_to_gpu(&mut self) -> Result<(), crate::cuda::CudaError> {
        self.gpu = Some(crate::cuda::upload(self.data)?);
        Ok(())
    }

    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// The copy repacked for the CPU kernels, if [`Tensor::repack_for_cpu`] made one.
    pub fn packed(&self) -> Option<&PackedRows> {
        self.packed.as_ref()
    }

    /// Repacks the weight for the CPU kernels when its format, shape and this CPU allow it (a GPU
    /// weight is left as it is). Returns whether it is repacked.
    pub fn repack_for_cpu(&mut self) -> bool {
        // The rows of one matrix: dims[1] also for a stacked expert tensor (one expert).
        let rows_per_matrix = self.dims.get(1).copied().unwrap_or(1);
        if self.gpu.is_none() && self.packed.is_none() {
            self.packed = PackedRows::repack(
                self.ty,
                self.data,
                self.row_len(),
                self.n_rows(),
                rows_per_matrix,
            );
        }
        self.packed.is_some()
    }

    pub fn row(&self, r: usize) -> &[u8] {
        let rb = self.row_bytes();
        &self.data[r * rb..(r + 1) * rb]
    }

    /// Rows `[start, start + count)` as a 2-D tensor (one expert of a stacked expert tensor).
    pub fn rows(&self, start: usize, count: usize) -> Tensor {
        let rb = self.row_bytes();
        Tensor {
            name: self.name.clone(),
            ty: self.ty,
            dims: vec![self.dims[0], count],
            data: &self.data[start * rb..(start + count) * rb],
            gpu: self.gpu.as_ref().map(|g| g.slice(start * rb, count * rb)),
            packed: self.packed.as_ref().and_then(|p| p.rows(start, count)),
        }
    }

    /// Dequantizes row `r` into `dst` (`dst.len() == row_len`).
    pub fn dequantize_row(&self, r: usize, dst: &mut [f32]) {
        // bind_any checked the type has kernels.
        if let Some(k) = quant::kernels(self.ty) {
            (k.dequantize)(self.row(r), dst);
        }
    }

    /// The whole tensor as f32 (for small tensors: norms, biases, gates).
    pub fn to_f32(&self) -> Vec<f32> {
        let n = self.row_len();
        let mut out = vec![0f32; n * self.n_rows()];
        for (r, chunk) in out.chunks_exact_mut(n).enumerate() {
            self.dequantize_row(r, chunk);
        }
        out
    }
}
