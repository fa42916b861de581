//! The synthetic model description (`synth --spec SPEC.json`): metadata key/values and an ordered
//! tensor list, each with its shape, ggml type and value distribution.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::SynthError;
use super::init::Init;
use crate::gguf::{Array, GgmlType, Value, MAX_DIMS};

/// A typed metadata value. JSON: `{"u32": 40}`, `{"f32": 1e-6}`, `{"string": "qwen35moe"}`,
/// `{"i32_array": [11, 11, 10, 0]}`, …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaValue {
    U32(u32),
    I32(i32),
    U64(u64),
    F32(f32),
    Bool(bool),
    String(String),
    U32Array(Vec<u32>),
    I32Array(Vec<i32>),
    F32Array(Vec<f32>),
    BoolArray(Vec<bool>),
    StringArray(Vec<String>),
}

impl MetaValue {
    pub fn to_value(&self) -> Value {
        match self.clone() {
            MetaValue::U32(v) => Value::U32(v),
            MetaValue::I32(v) => Value::I32(v),
            MetaValue::U64(v) => Value::U64(v),
            MetaValue::F32(v) => Value::F32(v),
            MetaValue::Bool(v) => Value::Bool(v),
            MetaValue::String(v) => Value::String(v),
            MetaValue::U32Array(v) => Value::Array(Array::U32(v)),
            MetaValue::I32Array(v) => Value::Array(Array::I32(v)),
            MetaValue::F32Array(v) => Value::Array(Array::F32(v)),
            MetaValue::BoolArray(v) => Value::Array(Array::Bool(v)),
            MetaValue::StringArray(v) => Value::Array(Array::String(v)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthTensor {
    pub name: String,
    /// ggml order: `dims[0]` is the row length.
    pub dims: Vec<u64>,
    /// ggml type name ("Q4_K", "F32", …).
    #[serde(rename = "type")]
    pub ggml_type: String,
    pub init: Init,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthSpec {
    #[serde(default)]
    pub seed: u64,
    /// Key/value pairs in file order.
    pub metadata: Vec<(String, MetaValue)>,
    pub tensors: Vec<SynthTensor>,
}

/// Largest tensor accepted (elements): guards against a typo turning into a petabyte file.
const MAX_TENSOR_ELEMENTS: u64 = 1 << 40;

impl SynthSpec {
    pub fn from_json_file(path: &Path) -> Result<Self, SynthError> {
        let err = |msg: String| SynthError::Spec {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let spec: SynthSpec = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        spec.validate().map_err(|e| err(e.to_string()))?;
        Ok(spec)
    }

    /// Checks every tensor: known type with a quantizer, whole blocks per row, sane shape, unique name.
    pub fn validate(&self) -> Result<(), SynthError> {
        let mut seen = std::collections::HashSet::new();
        for t in &self.tensors {
            t.resolve_type()?;
            if !seen.insert(t.name.as_str()) {
                return Err(t.error("duplicate tensor name".into()));
            }
        }
        Ok(())
    }
}

impl SynthTensor {
    fn error(&self, msg: String) -> SynthError {
        SynthError::Tensor {
            name: self.name.clone(),
            msg,
        }
    }

    /// The ggml type, checked against the shape and the quantizers the engine has.
    pub fn resolve_type(&self) -> Result<GgmlType, SynthError> {
        let ty = GgmlType::from_name(&self.ggml_type)
            .ok_or_else(|| self.error(format!("unknown ggml type '{}'", self.ggml_type)))?;
        if crate::quant::kernels(ty).and_then(|k| k.quantize).is_none() {
            return Err(self.error(format!("no quantizer for type {}", ty.name())));
        }
        if self.dims.is_empty() || self.dims.len() > MAX_DIMS as usize || self.dims.contains(&0) {
            return Err(self.error(format!("bad shape {:?}", self.dims)));
        }
        let n = self
            .dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
            .ok_or_else(|| self.error(format!("shape {:?} is too large", self.dims)))?;
        if self.dims[0] % ty.block_size() != 0 || ty.bytes_for(n).is_none() {
            return Err(self.error(format!(
                "row length {} is not a multiple of {}'s block size {}",
                self.dims[0],
                ty.name(),
                ty.block_size()
            )));
        }
        self.init.validate().map_err(|m| self.error(m))?;
        Ok(ty)
    }
}
