//! Writes GGUF v3 files: the header up front, then tensor data streamed in index order.
//! Used by `synth` (models that never fit in memory at once) and by tests that craft files.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::file::{align_up, TensorInfo, DEFAULT_ALIGNMENT, GGUF_MAGIC};
use super::types::GgmlType;
use super::value::{Array, Metadata, Value};

#[derive(Debug, Default)]
pub struct GgufWriter {
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    next_offset: u64,
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn alignment(&self) -> u64 {
        self.metadata
            .get_i64("general.alignment")
            .map(|a| a as u64)
            .unwrap_or(DEFAULT_ALIGNMENT)
    }

    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        self.metadata.insert(key, value);
        self
    }

    /// Adds a tensor to the index; its data must later be written in the same order.
    /// Panics if the shape is not a whole number of blocks (a programming error in the caller).
    pub fn add_tensor(&mut self, name: &str, dims: &[u64], ggml_type: GgmlType) -> &TensorInfo {
        let n: u64 = dims.iter().product();
        let size = ggml_type.bytes_for(n).unwrap_or_else(|| {
            panic!("tensor {name}: {n} elements is not whole blocks of {ggml_type}")
        });
        let offset = align_up(self.next_offset, self.alignment());
        self.next_offset = offset + size;
        self.tensors.push(TensorInfo {
            name: name.to_string(),
            dims: dims.to_vec(),
            ggml_type,
            offset,
            size,
        });
        self.tensors.last().unwrap()
    }

    /// Header bytes, padded so that tensor data starts aligned.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(GGUF_MAGIC);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (k, v) in self.metadata.iter() {
            encode_string(&mut out, k);
            encode_value(&mut out, v);
        }
        for t in &self.tensors {
            encode_string(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.ggml_type.id().to_le_bytes());
            out.extend_from_slice(&t.offset.to_le_bytes());
        }
        let padded = align_up(out.len() as u64, self.alignment()) as usize;
        out.resize(padded, 0);
        out
    }

    /// Writes the file, asking `write_data` for each tensor's bytes in index order.
    /// `write_data` must write exactly `info.size` bytes.
    pub fn write_file<F>(&self, path: &Path, mut write_data: F) -> io::Result<()>
    where
        F: FnMut(usize, &TensorInfo, &mut dyn Write) -> io::Result<()>,
    {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let header = self.header_bytes();
        w.write_all(&header)?;
        let mut pos = 0u64;
        for (i, t) in self.tensors.iter().enumerate() {
            write_zeros(&mut w, t.offset - pos)?;
            let mut counted = CountingWriter {
                inner: &mut w,
                count: 0,
            };
            write_data(i, t, &mut counted)?;
            if counted.count != t.size {
                return Err(io::Error::other(format!(
                    "tensor {}: wrote {} bytes, expected {}",
                    t.name, counted.count, t.size
                )));
            }
            pos = t.offset + t.size;
        }
        w.flush()
    }
}

fn write_zeros(w: &mut dyn Write, mut n: u64) -> io::Result<()> {
    let zeros = [0u8; 4096];
    while n > 0 {
        let k = n.min(zeros.len() as u64) as usize;
        w.write_all(&zeros[..k])?;
        n -= k as u64;
    }
    Ok(())
}

struct CountingWriter<'a> {
    inner: &'a mut dyn Write,
    count: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub fn encode_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn value_type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn array_type_id(a: &Array) -> u32 {
    match a {
        Array::U8(_) => 0,
        Array::I8(_) => 1,
        Array::U16(_) => 2,
        Array::I16(_) => 3,
        Array::U32(_) => 4,
        Array::I32(_) => 5,
        Array::F32(_) => 6,
        Array::Bool(_) => 7,
        Array::String(_) => 8,
        Array::Array(_) => 9,
        Array::U64(_) => 10,
        Array::I64(_) => 11,
        Array::F64(_) => 12,
    }
}

/// Type id followed by the payload, as a metadata value is stored.
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    out.extend_from_slice(&value_type_id(v).to_le_bytes());
    encode_payload(out, v);
}

fn encode_payload(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(*x as u8),
        Value::String(s) => encode_string(out, s),
        Value::Array(a) => encode_array(out, a),
    }
}

fn encode_array(out: &mut Vec<u8>, a: &Array) {
    out.extend_from_slice(&array_type_id(a).to_le_bytes());
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    macro_rules! each {
        ($v:expr) => {
            for x in $v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
    }
    match a {
        Array::U8(v) => out.extend_from_slice(v),
        Array::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        Array::U16(v) => each!(v),
        Array::I16(v) => each!(v),
        Array::U32(v) => each!(v),
        Array::I32(v) => each!(v),
        Array::U64(v) => each!(v),
        Array::I64(v) => each!(v),
        Array::F32(v) => each!(v),
        Array::F64(v) => each!(v),
        Array::Bool(v) => out.extend(v.iter().map(|&x| x as u8)),
        Array::String(v) => v.iter().for_each(|s| encode_string(out, s)),
        Array::Array(v) => v.iter().for_each(|inner| encode_array(out, inner)),
    }
}
