//! GGUF: the file format of llama.cpp models. Reading a header never touches tensor data.

mod error;
mod file;
mod model_files;
mod types;
mod value;
pub mod writer;

#[cfg(test)]
mod tests;

pub use error::{GgufError, Result};
pub use file::{
    align_up, parse_header, GgufFile, Header, LoadMode, TensorInfo, DEFAULT_ALIGNMENT, MAX_DIMS,
};
pub use model_files::{parse_split_name, split_part_path, GgufModel, ModelTensor};
pub use types::{GgmlType, UnknownType};
pub use value::{Array, Metadata, Value, ValueType};
pub use writer::GgufWriter;
