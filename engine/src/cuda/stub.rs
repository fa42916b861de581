//! The backend's API when built without the `cuda` feature: nothing is ever placed on a GPU.

use super::{Availability, Bandwidth, CudaError};
use crate::gguf::GgmlType;

/// Device-resident bytes; uninhabited without CUDA.
#[derive(Debug, Clone)]
pub enum DeviceBytes {}

impl DeviceBytes {
    pub fn slice(&self, _offset: usize, _len: usize) -> DeviceBytes {
        match *self {}
    }
}

pub fn availability() -> Availability {
    Availability::BuiltWithout
}

pub fn upload(_bytes: &[u8]) -> Result<DeviceBytes, CudaError> {
    Err(CudaError::BuiltWithout)
}

pub fn matmul(
    w: &DeviceBytes,
    _ty: GgmlType,
    _k: usize,
    _rows: usize,
    _x: &[f32],
    _out: &mut [f32],
) -> Result<(), CudaError> {
    match *w {}
}

pub fn bandwidth() -> Result<Bandwidth, CudaError> {
    Err(CudaError::BuiltWithout)
}
