//! A model as one GGUF file or a split set (`NAME-00001-of-00004.gguf` …): open any part, get all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::{GgufError, Result};
use super::file::{GgufFile, LoadMode, TensorInfo};
use super::value::Metadata;

/// A tensor of a (possibly split) model: its index entry and the part that holds its data.
#[derive(Debug, Clone)]
pub struct ModelTensor {
    pub info: TensorInfo,
    pub part: usize,
}

/// All parts of a model. Metadata comes from the first part, as llama.cpp reads it.
#[derive(Debug)]
pub struct GgufModel {
    pub parts: Vec<GgufFile>,
    pub tensors: Vec<ModelTensor>,
    by_name: HashMap<String, usize>,
}

/// `(prefix, part number 1-based, part count)` if `path` is named like a split part.
pub fn parse_split_name(path: &Path) -> Option<(String, u32, u32)> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    if no.len() != 5 || count.len() != 5 {
        return None;
    }
    let no: u32 = no.parse().ok()?;
    let count: u32 = count.parse().ok()?;
    (no >= 1 && no <= count).then(|| (prefix.to_string(), no, count))
}

/// The path of part `no` (1-based) of `count`, next to `like`.
pub fn split_part_path(like: &Path, prefix: &str, no: u32, count: u32) -> PathBuf {
    like.with_file_name(format!("{prefix}-{no:05}-of-{count:05}.gguf"))
}

impl GgufModel {
    /// Opens `path`; if it is one part of a split set, opens every part.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufModel> {
        Self::open_with(path, LoadMode::default())
    }

    /// As [`GgufModel::open`], every part loaded as `mode` says.
    pub fn open_with(path: impl AsRef<Path>, mode: LoadMode) -> Result<GgufModel> {
        let path = path.as_ref();
        let first = GgufFile::open_with(path, mode)?;
        let declared = first.metadata.get_i64("split.count").unwrap_or(1);
        let from_name = parse_split_name(path);
        let paths: Vec<PathBuf> = match (declared, from_name) {
            (n, _) if n <= 1 => return Self::from_parts(vec![first]),
            (n, Some((prefix, _, count))) => {
                if n != count as i64 {
                    return Err(GgufError::new(
                        path,
                        format!("split.count = {n} but the file name says {count} parts"),
                    ));
                }
                (1..=count).map(|i| split_part_path(path, &prefix, i, count)).collect()
            }
            (n, None) => {
                return Err(GgufError::new(
                    path,
                    format!("split.count = {n} but the file is not named PREFIX-NNNNN-of-NNNNN.gguf, so its other parts cannot be found"),
                ))
            }
        };
        let mut parts = Vec::with_capacity(paths.len());
        let mut first = Some(first);
        for (i, p) in paths.iter().enumerate() {
            if p == path {
                parts.push(first.take().unwrap());
                continue;
            }
            if !p.exists() {
                return Err(GgufError::new(
                    path,
                    format!(
                        "split part {} of {} is missing: {}",
                        i + 1,
                        paths.len(),
                        p.display()
                    ),
                ));
            }
            parts.push(GgufFile::open_with(p, mode)?);
        }
        for (i, part) in parts.iter().enumerate() {
            if let Some(no) = part.metadata.get_i64("split.no") {
                if no != i as i64 {
                    return Err(GgufError::new(
                        &part.path,
                        format!("split.no = {no}, expected {i} for part {}", i + 1),
                    ));
                }
            }
        }
        Self::from_parts(parts)
    }

    /// [`GgufFile::release_pages`] on whichever part maps `bytes`.
    pub fn release_pages(&self, bytes: &[u8]) -> usize {
        self.parts.iter().map(|p| p.release_pages(bytes)).sum()
    }

    fn from_parts(parts: Vec<GgufFile>) -> Result<GgufModel> {
        let mut tensors = Vec::new();
        let mut by_name = HashMap::new();
        for (p, part) in parts.iter().enumerate() {
            for t in &part.tensors {
                if by_name.insert(t.name.clone(), tensors.len()).is_some() {
                    return Err(GgufError::new(
                        &part.path,
                        format!("tensor '{}' appears twice", t.name),
                    ));
                }
                tensors.push(ModelTensor {
                    info: t.clone(),
                    part: p,
                });
            }
        }
        if let Some(expected) = parts[0].metadata.get_i64("split.tensors.count") {
            if expected != tensors.len() as i64 {
                return Err(GgufError::new(
                    &parts[0].path,
                    format!(
                        "split.tensors.count = {expected} but the parts hold {} tensors",
                        tensors.len()
                    ),
                ));
            }
        }
        Ok(GgufModel {
            parts,
            tensors,
            by_name,
        })
    }

    pub fn metadata(&self) -> &Metadata {
        &self.parts[0].metadata
    }

    pub fn path(&self) -> &Path {
        &self.parts[0].path
    }

    pub fn tensor(&self, name: &str) -> Option<&ModelTensor> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    /// A tensor's bytes, zero-copy from its part's mapping.
    pub fn tensor_data(&self, t: &ModelTensor) -> &[u8] {
        self.parts[t.part].tensor_data(&t.info)
    }

    /// Sum of every tensor's exact size.
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.info.size).sum()
    }

    /// Sum of the parts' file sizes.
    pub fn file_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.file_size).sum()
    }
}
