//! Crafted files: one valid round trip, one case per way a header can be wrong, split sets.

use super::writer::{encode_string, encode_value};
use super::*;
use std::path::{Path, PathBuf};

fn small_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.set("general.architecture", Value::String("llama".into()));
    w.set("llama.block_count", Value::U32(2));
    w.set(
        "llama.attention.head_count_kv",
        Value::Array(Array::I32(vec![2, 4])),
    );
    w.set(
        "tokenizer.ggml.tokens",
        Value::Array(Array::String(vec!["a".into(), "ü".into()])),
    );
    w.set("some.f64", Value::F64(1.5));
    w.set("some.bool", Value::Bool(true));
    w.set(
        "nested",
        Value::Array(Array::Array(vec![
            Array::U8(vec![1, 2]),
            Array::U8(vec![3]),
        ])),
    );
    w.add_tensor("token_embd.weight", &[64, 3], GgmlType::Q8_0);
    w.add_tensor("output_norm.weight", &[64], GgmlType::F32);
    w.add_tensor("blk.0.ffn_up.weight", &[256, 2], GgmlType::Q4_K);
    w
}

fn write_valid(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    small_writer()
        .write_file(&path, |i, t, out| {
            out.write_all(&vec![i as u8 + 1; t.size as usize])
        })
        .unwrap();
    path
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_valid(dir.path(), "m.gguf");
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.version, 3);
    assert_eq!(f.metadata.architecture(), Some("llama"));
    assert_eq!(f.metadata.arch_usize("block_count"), Some(2));
    assert_eq!(
        f.metadata.get_per_layer("llama.attention.head_count_kv", 2),
        Some(vec![2, 4])
    );
    assert_eq!(
        f.metadata.get_per_layer("llama.block_count", 3),
        Some(vec![2, 2, 2])
    );
    assert_eq!(
        f.metadata.get_str_array("tokenizer.ggml.tokens").unwrap()[1],
        "ü"
    );
    assert_eq!(f.metadata.get_f64("some.f64"), Some(1.5));
    assert_eq!(f.metadata.get_bool("some.bool"), Some(true));
    assert_eq!(f.tensors.len(), 3);
    let t = &f.tensors[2];
    assert_eq!(t.size, 2 * 144);
    assert_eq!(t.row_bytes(), 144);
    assert_eq!(t.offset % 32, 0);
    assert!(f.tensor_data(t).iter().all(|&b| b == 3));
    assert_eq!(f.tensor_data(&f.tensors[0]).len(), 2 * 34 * 3);
}

/// Builds raw header bytes by hand so each field can be broken on purpose.
struct Raw {
    bytes: Vec<u8>,
}

impl Raw {
    fn header(version: u32, n_tensors: u64, n_kv: u64) -> Raw {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&n_tensors.to_le_bytes());
        bytes.extend_from_slice(&n_kv.to_le_bytes());
        Raw { bytes }
    }
    fn kv(mut self, key: &str, v: Value) -> Raw {
        encode_string(&mut self.bytes, key);
        encode_value(&mut self.bytes, &v);
        self
    }
    fn raw(mut self, b: &[u8]) -> Raw {
        self.bytes.extend_from_slice(b);
        self
    }
    fn u32(self, x: u32) -> Raw {
        self.raw(&x.to_le_bytes())
    }
    fn u64(self, x: u64) -> Raw {
        self.raw(&x.to_le_bytes())
    }
    fn tensor(self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Raw {
        let mut s = self;
        encode_string(&mut s.bytes, name);
        s = s.u32(dims.len() as u32);
        for &d in dims {
            s = s.u64(d);
        }
        s.u32(ty).u64(offset)
    }
    fn pad_data(mut self, n: usize) -> Raw {
        let aligned = align_up(self.bytes.len() as u64, 32) as usize;
        self.bytes.resize(aligned + n, 0);
        self
    }
    fn open(&self) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crafted.gguf");
        std::fs::write(&path, &self.bytes).unwrap();
        let err = GgufFile::open(&path)
            .expect_err("crafted file must be rejected")
            .to_string();
        assert!(
            err.contains("crafted.gguf"),
            "error must name the file: {err}"
        );
        err
    }
}

#[test]
fn wrong_magic() {
    let mut r = Raw::header(3, 0, 0);
    r.bytes[0] = b'X';
    assert!(r.open().contains("magic"));
}

#[test]
fn empty_file() {
    assert!(Raw { bytes: vec![] }.open().contains("empty"));
}

#[test]
fn unsupported_versions() {
    assert!(Raw::header(1, 0, 0).open().contains("version 1"));
    assert!(Raw::header(7, 0, 0).open().contains("version 7"));
    assert!(Raw::header(3u32.swap_bytes(), 0, 0)
        .open()
        .contains("big-endian"));
}

#[test]
fn truncated_header() {
    let full = Raw::header(3, 0, 1).kv("general.name", Value::String("abcdef".into()));
    let cut = Raw {
        bytes: full.bytes[..full.bytes.len() - 3].to_vec(),
    };
    let err = cut.open();
    assert!(
        err.contains("truncated") && err.contains("general.name"),
        "{err}"
    );
    let tiny = Raw {
        bytes: b"GGUF\x03\x00".to_vec(),
    };
    assert!(tiny.open().contains("version"));
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    assert!(Raw::header(3, u64::MAX, 0).open().contains("tensor_count"));
    assert!(Raw::header(3, 0, 1 << 60)
        .open()
        .contains("metadata_kv_count"));
    // An array claiming 2^61 u64 elements in a file of a few dozen bytes.
    let r = Raw::header(3, 0, 1).raw(&{
        let mut b = Vec::new();
        encode_string(&mut b, "big");
        b
    });
    let err = r.u32(9).u32(10).u64(1 << 61).open();
    assert!(err.contains("array length") && err.contains("big"), "{err}");
    // A string length larger than the file.
    let r = Raw::header(3, 0, 1).raw(&{
        let mut b = Vec::new();
        encode_string(&mut b, "s");
        b
    });
    assert!(r.u32(8).u64(u64::MAX).open().contains("'s'"));
}

#[test]
fn unknown_value_type() {
    let r = Raw::header(3, 0, 1).raw(&{
        let mut b = Vec::new();
        encode_string(&mut b, "k");
        b
    });
    assert!(r.u32(99).open().contains("unknown value type id 99"));
}

#[test]
fn non_utf8_string() {
    let mut b = Vec::new();
    b.extend_from_slice(&2u64.to_le_bytes());
    b.extend_from_slice(&[0xff, 0xfe]);
    b.extend_from_slice(&[0u8; 16]);
    let err = Raw::header(3, 0, 1).raw(&b).open();
    assert!(
        err.contains("UTF-8") && err.contains("metadata key #0"),
        "{err}"
    );
}

#[test]
fn bad_tensor_dims() {
    let err = Raw::header(3, 1, 0)
        .tensor("t", &[0], 0, 0)
        .pad_data(0)
        .open();
    assert!(err.contains("'t'") && err.contains("dimension 0"), "{err}");
    let err = Raw::header(3, 1, 0)
        .tensor("t", &[1 << 40, 1 << 40], 0, 0)
        .pad_data(0)
        .open();
    assert!(err.contains("overflows"), "{err}");
    let err = Raw::header(3, 1, 0)
        .tensor("t", &[1, 1, 1, 1, 1], 0, 0)
        .pad_data(0)
        .open();
    assert!(err.contains("n_dims"), "{err}");
    let err = Raw::header(3, 1, 0)
        .tensor("q", &[33], 8, 0)
        .pad_data(64)
        .open();
    assert!(err.contains("block size"), "{err}");
}

#[test]
fn unknown_tensor_type() {
    let err = Raw::header(3, 1, 0)
        .tensor("w", &[32], 77, 0)
        .pad_data(256)
        .open();
    assert!(
        err.contains("'w'") && err.contains("unknown ggml type id 77"),
        "{err}"
    );
    let err = Raw::header(3, 1, 0)
        .tensor("w", &[32], 4, 0)
        .pad_data(256)
        .open();
    assert!(err.contains("removed"), "{err}");
}

#[test]
fn tensor_data_outside_file() {
    let err = Raw::header(3, 1, 0)
        .tensor("w", &[64], 0, 0)
        .pad_data(100)
        .open();
    assert!(
        err.contains("'w'") && err.contains("outside the file"),
        "{err}"
    );
    let err = Raw::header(3, 1, 0)
        .tensor("w", &[8], 0, u64::MAX - 31)
        .pad_data(100)
        .open();
    assert!(err.contains("outside the file"), "{err}");
    let err = Raw::header(3, 1, 0)
        .tensor("w", &[8], 0, 3)
        .pad_data(100)
        .open();
    assert!(err.contains("aligned"), "{err}");
}

#[test]
fn bad_alignment_and_duplicates() {
    let err = Raw::header(3, 0, 1)
        .kv("general.alignment", Value::U32(24))
        .open();
    assert!(err.contains("power of two"), "{err}");
    let err = Raw::header(3, 0, 2)
        .kv("a", Value::U8(1))
        .kv("a", Value::U8(2))
        .open();
    assert!(err.contains("twice"), "{err}");
    let err = Raw::header(3, 0, 1)
        .kv("b", Value::U8(1))
        .raw(&[])
        .open_ok_or_err();
    assert!(err.is_none());
}

impl Raw {
    fn open_ok_or_err(&self) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.gguf");
        std::fs::write(&path, &self.bytes).unwrap();
        GgufFile::open(&path).err().map(|e| e.to_string())
    }
}

fn write_split(dir: &Path, count: u32) -> Vec<PathBuf> {
    (1..=count)
        .map(|no| {
            let mut w = GgufWriter::new();
            if no == 1 {
                w.set("general.architecture", Value::String("llama".into()));
                w.set("split.tensors.count", Value::I32(count as i32));
            }
            w.set("split.no", Value::U16(no as u16 - 1));
            w.set("split.count", Value::U16(count as u16));
            w.add_tensor(&format!("t{no}"), &[32, 2], GgmlType::F16);
            let path = split_part_path(&dir.join("x.gguf"), "Model-UD", no, count);
            w.write_file(&path, |_, t, out| {
                out.write_all(&vec![no as u8; t.size as usize])
            })
            .unwrap();
            path
        })
        .collect()
}

#[test]
fn split_sets_open_from_any_part() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_split(dir.path(), 3);
    assert_eq!(parse_split_name(&paths[1]), Some(("Model-UD".into(), 2, 3)));
    for p in &paths {
        let m = GgufModel::open(p).unwrap();
        assert_eq!(m.parts.len(), 3);
        assert_eq!(m.metadata().architecture(), Some("llama"));
        assert_eq!(m.tensors.len(), 3);
        let t = m.tensor("t3").unwrap();
        assert_eq!(t.part, 2);
        assert!(m.tensor_data(t).iter().all(|&b| b == 3));
        assert_eq!(m.tensor_bytes(), 3 * 128);
    }
    std::fs::remove_file(&paths[2]).unwrap();
    let err = GgufModel::open(&paths[0]).unwrap_err().to_string();
    assert!(
        err.contains("missing") && err.contains("00003-of-00003"),
        "{err}"
    );
}

#[test]
fn single_file_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_valid(dir.path(), "single.gguf");
    let m = GgufModel::open(&path).unwrap();
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.tensor_bytes(), 64 / 32 * 34 * 3 + 64 * 4 + 2 * 144);
}

#[test]
fn missing_file_is_named() {
    let err = GgufModel::open("/nonexistent/dir/m.gguf")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/dir/m.gguf") && err.contains("cannot open"),
        "{err}"
    );
}
