//! One GGUF file (v2 or v3), memory-mapped. Parsing reads only the header and tensor index;
//! tensor data is never touched until a caller asks for a tensor's bytes.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapOptions};

use super::error::{GgufError, Result};
use super::types::GgmlType;
use super::value::{Array, Metadata, Value, ValueType};

pub const GGUF_MAGIC: &[u8; 4] = b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most four dimensions.
pub const MAX_DIMS: u32 = 4;
/// Nested arrays deeper than this are refused (no real file nests at all).
const MAX_ARRAY_DEPTH: u32 = 4;

/// One tensor's entry in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the contiguous (row) dimension.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset from the start of the data section of the file that holds it.
    pub offset: u64,
    /// Exact byte size from the type table.
    pub size: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Elements per row (`ne[0]`).
    pub fn row_len(&self) -> u64 {
        self.dims.first().copied().unwrap_or(1)
    }

    /// Number of rows (product of `ne[1..]`).
    pub fn n_rows(&self) -> u64 {
        self.dims.iter().skip(1).product()
    }

    pub fn row_bytes(&self) -> u64 {
        self.ggml_type.bytes_for(self.row_len()).unwrap_or(0)
    }
}

/// A parsed GGUF file with its mapping kept open.
#[derive(Debug)]
pub struct GgufFile {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute file offset where tensor data begins.
    pub data_offset: u64,
    pub file_size: u64,
    mmap: Mmap,
    mode: LoadMode,
}

impl GgufFile {
    /// Maps and parses `path`. Every count, size and offset is checked against the file's length.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        Self::open_with(path, LoadMode::default())
    }

    /// As [`GgufFile::open`], reading the file into anonymous memory instead of mapping it
    /// (`no_mmap`) and/or locking its pages in RAM (`mlock`), as llama.cpp's `--no-mmap`/`--mlock`.
    pub fn open_with(path: impl AsRef<Path>, mode: LoadMode) -> Result<GgufFile> {
        let path = path.as_ref();
        let file =
            File::open(path).map_err(|e| GgufError::new(path, format!("cannot open: {e}")))?;
        let len = file
            .metadata()
            .map_err(|e| GgufError::new(path, format!("cannot stat: {e}")))?
            .len();
        if len == 0 {
            return Err(GgufError::new(path, "file is empty, not a GGUF file"));
        }
        // SAFETY: the mapping is read-only; a file changed underneath by another process is the
        // same hazard every mmap-based loader (llama.cpp included) accepts.
        let mmap = if mode.no_mmap {
            read_to_anonymous(&file, len).map_err(|e| GgufError::new(path, e))?
        } else {
            // A model loaded to run is populated at map time, as llama.cpp maps (MAP_POPULATE):
            // otherwise every expert a token routes to for the first time page-faults during
            // decode (~120 faults per Qwen3.5-MoE token in a 128-token bench, vs ~7 for
            // llama.cpp). Reading a header never touches tensor data, so it maps lazily.
            let mut options = MmapOptions::new();
            if mode.populate {
                options.populate();
            }
            unsafe { options.map(&file) }
                .map_err(|e| GgufError::new(path, format!("cannot mmap: {e}")))?
        };
        if mode.mlock {
            mmap.lock().map_err(|e| {
                GgufError::new(
                    path,
                    format!("cannot lock {len} bytes in RAM (mlock: {e}); raise `ulimit -l` or drop --mlock"),
                )
            })?;
        }
        let header = parse_header(&mmap[..]).map_err(|m| GgufError::new(path, m))?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            version: header.version,
            metadata: header.metadata,
            tensors: header.tensors,
            alignment: header.alignment,
            data_offset: header.data_offset,
            file_size: len,
            mmap,
            mode,
        })
    }

    /// The bytes of one tensor, borrowed from the mapping.
    pub fn tensor_data(&self, info: &TensorInfo) -> &[u8] {
        let start = (self.data_offset + info.offset) as usize;
        &self.mmap[start..start + info.size as usize]
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The whole mapping (for hashing the header region, or advising the kernel).
    pub fn bytes(&self) -> &[u8] {
        &self.mmap[..]
    }

    /// Gives back the RAM of the 64 KiB-aligned stretches inside `bytes`: a slice of this file's
    /// mapping that nothing will read again (a weight now read from its repacked copy). Only for
    /// an unlocked file mapping, whose pages come back from the file if read after all. Returns
    /// the bytes released.
    pub fn release_pages(&self, bytes: &[u8]) -> usize {
        // A multiple of every common page size (4 KiB x86, 16 KiB Apple, 64 KiB arm64 kernels):
        // madvise refuses a range that does not start on a page.
        const ALIGN: usize = 64 << 10;
        if self.mode.no_mmap || self.mode.mlock {
            return 0;
        }
        let base = self.mmap.as_ptr() as usize;
        let start = bytes.as_ptr() as usize;
        if start < base || start + bytes.len() > base + self.mmap.len() {
            return 0;
        }
        let from = (start - base).next_multiple_of(ALIGN);
        let to = (start - base + bytes.len()) / ALIGN * ALIGN;
        if to <= from {
            return 0;
        }
        #[cfg(unix)]
        {
            // SAFETY: a private read-only file mapping; MADV_DONTNEED only drops pages, which
            // are read back from the unchanged file on a later access (nothing lost or zeroed).
            let advised = unsafe {
                self.mmap.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    from,
                    to - from,
                )
            };
            if advised.is_ok() {
                return to - from;
            }
        }
        0
    }
}

/// How a GGUF file's bytes are brought into memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadMode {
    /// Read the whole file into anonymous memory instead of mapping it.
    pub no_mmap: bool,
    /// Lock the pages in RAM (mlock) so they are never paged out.
    pub mlock: bool,
    /// Read every page in while mapping (MAP_POPULATE): for running a model, not for headers.
    pub populate: bool,
}

/// Reads the whole file into an anonymous mapping (page-aligned, like the file mapping).
fn read_to_anonymous(file: &File, len: u64) -> std::result::Result<Mmap, String> {
    use std::io::Read;
    let n = usize::try_from(len).map_err(|_| format!("{len} bytes do not fit in memory"))?;
    let mut anon = crate::anon_memory::map_anonymous(n)
        .map_err(|e| format!("cannot allocate {len} bytes to read the file into: {e}"))?;
    let mut reader = file;
    reader
        .read_exact(&mut anon[..])
        .map_err(|e| format!("cannot read {len} bytes: {e}"))?;
    anon.make_read_only()
        .map_err(|e| format!("cannot make the copy read-only: {e}"))
}

/// Everything in a GGUF header, parsed from a byte slice.
#[derive(Debug)]
pub struct Header {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    pub data_offset: u64,
}

/// Parses a header from the start of `bytes` (the whole file). Errors are messages naming the field.
pub fn parse_header(bytes: &[u8]) -> std::result::Result<Header, String> {
    let mut r = Cursor { bytes, pos: 0 };
    let magic = r.take(4, "magic")?;
    if magic != GGUF_MAGIC {
        return Err(format!(
            "bad magic {:02x?}: not a GGUF file (expected \"GGUF\")",
            magic
        ));
    }
    let version = r.u32("version")?;
    match version {
        2 | 3 => {}
        1 => return Err("GGUF version 1 is not supported (v2 and v3 are)".into()),
        v if v.swap_bytes() <= 3 => {
            return Err(format!(
                "GGUF version {v} looks byte-swapped: big-endian files are not supported"
            ))
        }
        v => {
            return Err(format!(
                "unsupported GGUF version {v} (v2 and v3 are supported)"
            ))
        }
    }
    let n_tensors = r.u64("tensor_count")?;
    let n_kv = r.u64("metadata_kv_count")?;
    // Each kv takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
    r.check_count(n_kv, 13, "metadata_kv_count")?;
    r.check_count(n_tensors, 32, "tensor_count")?;

    let mut metadata = Metadata::new();
    for i in 0..n_kv {
        let key = r.string(&format!("metadata key #{i}"))?;
        let ctx = format!("metadata value of '{key}'");
        let ty = r.u32(&ctx)?;
        let ty =
            ValueType::from_id(ty).ok_or_else(|| format!("{ctx}: unknown value type id {ty}"))?;
        let value = r.value(ty, &ctx, 0)?;
        if metadata.contains(&key) {
            return Err(format!("metadata key '{key}' appears twice"));
        }
        metadata.insert(key, value);
    }

    let alignment = match metadata.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(v) => {
            let a = v.as_i64().ok_or_else(|| {
                format!(
                    "general.alignment has type {}, expected an integer",
                    v.type_name()
                )
            })?;
            if a <= 0 || (a as u64).count_ones() != 1 {
                return Err(format!(
                    "general.alignment = {a} is not a positive power of two"
                ));
            }
            a as u64
        }
    };

    let mut tensors = Vec::with_capacity(n_tensors as usize);
    for i in 0..n_tensors {
        let name = r.string(&format!("tensor #{i} name"))?;
        let ctx = format!("tensor '{name}'");
        let n_dims = r.u32(&format!("{ctx} n_dims"))?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(format!("{ctx}: n_dims = {n_dims}, must be 1..={MAX_DIMS}"));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        let mut n_elements: u64 = 1;
        for d in 0..n_dims {
            let ne = r.u64(&format!("{ctx} dim {d}"))?;
            if ne == 0 || ne > i64::MAX as u64 {
                return Err(format!("{ctx}: dimension {d} = {ne} is out of range"));
            }
            n_elements = n_elements
                .checked_mul(ne)
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or_else(|| {
                    format!("{ctx}: element count overflows (dims so far {dims:?} × {ne})")
                })?;
            dims.push(ne);
        }
        let type_id = r.u32(&format!("{ctx} type"))?;
        let ggml_type = GgmlType::from_id(type_id).map_err(|e| format!("{ctx}: {e}"))?;
        if dims[0] % ggml_type.block_size() != 0 {
            return Err(format!(
                "{ctx}: row length {} is not a multiple of {}'s block size {}",
                dims[0],
                ggml_type,
                ggml_type.block_size()
            ));
        }
        let size = ggml_type.bytes_for(n_elements).ok_or_else(|| {
            format!("{ctx}: byte size overflows ({n_elements} elements of {ggml_type})")
        })?;
        let offset = r.u64(&format!("{ctx} offset"))?;
        if offset % alignment != 0 {
            return Err(format!(
                "{ctx}: data offset {offset} is not aligned to {alignment}"
            ));
        }
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
            size,
        });
    }

    let data_offset = align_up(r.pos as u64, alignment);
    let file_len = bytes.len() as u64;
    if data_offset > file_len && !tensors.is_empty() {
        return Err(format!(
            "data section starts at {data_offset}, past the end of the file ({file_len} bytes)"
        ));
    }
    for t in &tensors {
        let end = data_offset
            .checked_add(t.offset)
            .and_then(|s| s.checked_add(t.size));
        match end {
            Some(end) if end <= file_len => {}
            _ => {
                return Err(format!(
                    "tensor '{}': data [{}..+{}] lies outside the file ({} bytes; file truncated?)",
                    t.name,
                    data_offset.saturating_add(t.offset),
                    t.size,
                    file_len
                ))
            }
        }
    }
    Ok(Header {
        version,
        metadata,
        tensors,
        alignment,
        data_offset,
    })
}

pub fn align_up(x: u64, alignment: u64) -> u64 {
    x.div_ceil(alignment) * alignment
}

/// A bounds-checked little-endian reader; every failure names the field being read.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: &str) -> std::result::Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "truncated header: {what} needs {n} bytes at offset {}, file has {} left",
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    /// Refuses a count whose minimal encoding could not fit in the rest of the file, so no
    /// allocation is ever sized by an untrusted count alone.
    fn check_count(
        &self,
        count: u64,
        min_each: u64,
        what: &str,
    ) -> std::result::Result<(), String> {
        match count.checked_mul(min_each) {
            Some(need) if need <= self.remaining() => Ok(()),
            _ => Err(format!(
                "{what} = {count} cannot fit in the {} bytes left in the file",
                self.remaining()
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> std::result::Result<[u8; N], String> {
        Ok(self.take(N as u64, what)?.try_into().unwrap())
    }

    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> std::result::Result<String, String> {
        let len = self.u64(&format!("{what} (string length)"))?;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec())
            .map_err(|e| format!("{what}: string is not valid UTF-8 ({e})"))
    }

    fn value(
        &mut self,
        ty: ValueType,
        what: &str,
        depth: u32,
    ) -> std::result::Result<Value, String> {
        Ok(match ty {
            ValueType::U8 => Value::U8(self.array::<1>(what)?[0]),
            ValueType::I8 => Value::I8(self.array::<1>(what)?[0] as i8),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            ValueType::U32 => Value::U32(self.u32(what)?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            ValueType::U64 => Value::U64(self.u64(what)?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            ValueType::Bool => {
                let b = self.array::<1>(what)?[0];
                if b > 1 {
                    return Err(format!("{what}: bool byte is {b}, expected 0 or 1"));
                }
                Value::Bool(b == 1)
            }
            ValueType::String => Value::String(self.string(what)?),
            ValueType::Array => Value::Array(self.array_value(what, depth)?),
        })
    }

    fn array_value(&mut self, what: &str, depth: u32) -> std::result::Result<Array, String> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(format!(
                "{what}: arrays nested deeper than {MAX_ARRAY_DEPTH}"
            ));
        }
        let ty_id = self.u32(&format!("{what} (array element type)"))?;
        let ty = ValueType::from_id(ty_id)
            .ok_or_else(|| format!("{what}: unknown array element type id {ty_id}"))?;
        let n = self.u64(&format!("{what} (array length)"))?;
        self.check_count(n, ty.min_encoded_size(), &format!("{what}: array length"))?;
        let n = n as usize;
        macro_rules! fixed {
            ($variant:ident, $t:ty) => {{
                let raw = self.take((n * std::mem::size_of::<$t>()) as u64, what)?;
                Array::$variant(
                    raw.chunks_exact(std::mem::size_of::<$t>())
                        .map(|c| <$t>::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                )
            }};
        }
        Ok(match ty {
            ValueType::U8 => Array::U8(self.take(n as u64, what)?.to_vec()),
            ValueType::I8 => Array::I8(
                self.take(n as u64, what)?
                    .iter()
                    .map(|&b| b as i8)
                    .collect(),
            ),
            ValueType::U16 => fixed!(U16, u16),
            ValueType::I16 => fixed!(I16, i16),
            ValueType::U32 => fixed!(U32, u32),
            ValueType::I32 => fixed!(I32, i32),
            ValueType::U64 => fixed!(U64, u64),
            ValueType::I64 => fixed!(I64, i64),
            ValueType::F32 => fixed!(F32, f32),
            ValueType::F64 => fixed!(F64, f64),
            ValueType::Bool => {
                let raw = self.take(n as u64, what)?;
                if let Some(b) = raw.iter().find(|&&b| b > 1) {
                    return Err(format!(
                        "{what}: bool array holds byte {b}, expected 0 or 1"
                    ));
                }
                Array::Bool(raw.iter().map(|&b| b == 1).collect())
            }
            ValueType::String => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    v.push(self.string(&format!("{what}[{i}]"))?);
                }
                Array::String(v)
            }
            ValueType::Array => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    v.push(self.array_value(&format!("{what}[{i}]"), depth + 1)?);
                }
                Array::Array(v)
            }
        })
    }
}
