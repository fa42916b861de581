//! Finds the GGUF a suite names by catalog name and quant: a file in the models folders
//! (`--models-dir`, then `FITBENCH_MODELS`, a path list, then `./models`) whose name carries the
//! model and the quant, or, when the suite asks for `synth`, a synthetic slice of the catalog model
//! (the catalog's real shapes, random weights) written once into the first models folder.

use std::path::{Path, PathBuf};

use super::suite::{ModelRef, SynthSlice};
use crate::catalog::{find, slice, synth_spec, CatalogEntry, SliceRequest};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("model file `{0}` not found")]
    FileMissing(String),
    #[error("unknown catalog model `{0}` (ids are in planner/catalog/models.yaml)")]
    UnknownCatalog(String),
    #[error(
        "catalog model `{name}` {quant}: no GGUF found in {searched} (looked for a *.gguf whose name \
         contains `{id}` and `{quant}`); put the file there, pass --models-dir DIR, set \
         FITBENCH_MODELS, or add `synth: {{layers: N}}` to the suite entry to synthesize a slice"
    )]
    CatalogMissing {
        name: String,
        id: String,
        quant: String,
        searched: String,
    },
    #[error("synthesizing {path}: {message}")]
    Synth { path: String, message: String },
}

/// Where catalog models are looked for, in order; synthetic slices are written to the first.
#[derive(Debug, Clone)]
pub struct ModelSearch {
    pub dirs: Vec<PathBuf>,
}

impl ModelSearch {
    /// `--models-dir`, then every folder of `FITBENCH_MODELS`, then `./models`.
    pub fn new(models_dir: Option<PathBuf>, env: Option<std::ffi::OsString>) -> Self {
        let mut dirs: Vec<PathBuf> = models_dir.into_iter().collect();
        if let Some(e) = env {
            dirs.extend(std::env::split_paths(&e).filter(|p| !p.as_os_str().is_empty()));
        }
        dirs.push(PathBuf::from("models"));
        ModelSearch { dirs }
    }

    pub fn from_env(models_dir: Option<PathBuf>) -> Self {
        Self::new(models_dir, std::env::var_os("FITBENCH_MODELS"))
    }

    fn searched(&self) -> String {
        let d: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        d.join(", ")
    }

    /// The first GGUF in the folders that names `entry` and `quant` (first part of a split set).
    pub fn find_catalog(&self, entry: &CatalogEntry, quant: &str) -> Option<PathBuf> {
        for dir in &self.dirs {
            let Ok(list) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut hits: Vec<PathBuf> = list
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
                })
                .filter(|p| {
                    let stem = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_ascii_lowercase())
                        .unwrap_or_default();
                    names_model(&stem, entry) && names_quant(&stem, quant) && is_first_part(&stem)
                })
                .collect();
            hits.sort();
            if let Some(h) = hits.into_iter().next() {
                return Some(h);
            }
        }
        None
    }
}

/// Lowercase letters and digits only: `Qwen3.5-35B-A3B` and `qwen3.5-35b-a3b` both become `qwen3535ba3b`.
fn squash(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn names_model(stem: &str, e: &CatalogEntry) -> bool {
    let s = squash(stem);
    s.contains(&squash(&e.id)) || s.contains(&squash(&e.name))
}

/// `q4_k_m` as a whole word: not `iq4_k_m`, not `q4_k_m2`, and `q4_k` does not match `q4_k_m`.
fn names_quant(stem: &str, quant: &str) -> bool {
    let q = quant.to_ascii_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    stem.match_indices(&q).any(|(i, _)| {
        !word(stem[..i].chars().next_back()) && !word(stem[i + q.len()..].chars().next())
    })
}

/// Split sets (`…-00002-of-00003`) are opened from their first part.
fn is_first_part(stem: &str) -> bool {
    match stem.rfind("-of-") {
        Some(i) if i >= 6 => {
            let part = &stem[i - 5..i];
            !part.chars().all(|c| c.is_ascii_digit()) || part == "00001"
        }
        _ => true,
    }
}

/// The GGUF file of a suite entry. Relative `file` paths are tried from the current directory,
/// then from the suite's folder.
pub fn resolve(
    m: &ModelRef,
    suite_dir: Option<&Path>,
    search: &ModelSearch,
) -> Result<PathBuf, ResolveError> {
    if let Some(f) = &m.file {
        let p = PathBuf::from(f);
        if p.exists() {
            return Ok(p);
        }
        if let Some(q) = suite_dir.map(|d| d.join(&p)).filter(|q| q.exists()) {
            return Ok(q);
        }
        return Err(ResolveError::FileMissing(f.clone()));
    }
    let name = m.catalog.clone().unwrap_or_default();
    let quant = m.quant.clone().unwrap_or_default();
    let entry = find(&name)
        .ok()
        .flatten()
        .ok_or_else(|| ResolveError::UnknownCatalog(name.clone()))?;
    if let Some(s) = &m.synth {
        return synthesized(&entry, &quant, s, search);
    }
    search
        .find_catalog(&entry, &quant)
        .ok_or_else(|| ResolveError::CatalogMissing {
            name,
            id: entry.id.clone(),
            quant,
            searched: search.searched(),
        })
}

/// File name of a synthetic slice: what was asked for, so a different slice gets a different file.
pub fn synth_file_name(entry: &CatalogEntry, quant: &str, s: &SynthSlice) -> String {
    let layers = s.layers.unwrap_or(entry.layers);
    let vocab = s.vocab.map(|v| format!("-v{v}")).unwrap_or_default();
    format!(
        "{}-{layers}L{vocab}-s{}-{quant}-synth.gguf",
        entry.id, s.seed
    )
}

/// An existing slice in the folders, else one written to the first folder.
fn synthesized(
    entry: &CatalogEntry,
    quant: &str,
    s: &SynthSlice,
    search: &ModelSearch,
) -> Result<PathBuf, ResolveError> {
    let file = synth_file_name(entry, quant, s);
    if let Some(p) = search
        .dirs
        .iter()
        .map(|d| d.join(&file))
        .find(|p| p.exists())
    {
        return Ok(p);
    }
    let dir = search
        .dirs
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("models"));
    let path = dir.join(&file);
    let err = |message: String| ResolveError::Synth {
        path: path.display().to_string(),
        message,
    };
    let req = SliceRequest {
        like: entry.id.clone(),
        layers: s.layers,
        quant: quant.to_string(),
        vocab: s.vocab,
    };
    let (entry, q, spec) = slice(&req).map_err(|e| err(e.to_string()))?;
    let synth = synth_spec(&entry, &q, &spec, s.seed).map_err(|e| err(e.to_string()))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    // Written under a temporary name and renamed, so an interrupted write leaves no half file.
    let partial = dir.join(format!("{file}.partial"));
    fitbench_engine::synth::write_synth(&synth, &partial).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&partial, &path).map_err(|e| err(e.to_string()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_ref(name: &str, quant: &str, synth: Option<SynthSlice>) -> ModelRef {
        ModelRef {
            file: None,
            catalog: Some(name.into()),
            quant: Some(quant.into()),
            synth,
        }
    }

    #[test]
    fn finds_catalog_files_by_name_and_quant() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "Qwen3.5-35B-A3B-IQ4_K_M.gguf",
            "Qwen3.5-35B-A3B-Q4_K_M-00002-of-00002.gguf",
            "Qwen3.5-35B-A3B-Q4_K_M-00001-of-00002.gguf",
            "Qwen3.5-35B-A3B-Q4_K_S.gguf",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let search = ModelSearch::new(Some(dir.path().into()), None);
        let r = |n: &str, q: &str| resolve(&catalog_ref(n, q, None), None, &search);
        let p = r("qwen3.5-35b-a3b", "Q4_K_M").unwrap();
        assert!(
            p.ends_with("Qwen3.5-35B-A3B-Q4_K_M-00001-of-00002.gguf"),
            "{p:?}"
        );
        assert!(r("qwen3.5-35b-a3b", "q4_k_s").is_ok());
        let e = r("qwen3.5-35b-a3b", "Q4_K").unwrap_err().to_string();
        assert!(
            e.contains("`qwen3.5-35b-a3b` Q4_K") && e.contains(&dir.path().display().to_string()),
            "{e}"
        );
        let e = r("no-such-model", "Q4_K_M").unwrap_err().to_string();
        assert!(e.contains("unknown catalog model `no-such-model`"), "{e}");
        // FITBENCH_MODELS is a path list searched after --models-dir.
        let env = std::env::join_paths(["/nonexistent", dir.path().to_str().unwrap()]).unwrap();
        let s = ModelSearch::new(None, Some(env));
        assert_eq!(s.dirs.len(), 3);
        assert!(s
            .find_catalog(&find("qwen3.5-35b-a3b").unwrap().unwrap(), "Q4_K_M")
            .is_some());
    }

    #[test]
    fn missing_file_is_named() {
        let m = ModelRef {
            file: Some("nope/m.gguf".into()),
            catalog: None,
            quant: None,
            synth: None,
        };
        let e = resolve(&m, None, &ModelSearch::new(None, None)).unwrap_err();
        assert_eq!(e.to_string(), "model file `nope/m.gguf` not found");
    }

    #[test]
    fn synthesizes_a_slice_once() {
        let dir = tempfile::tempdir().unwrap();
        let search = ModelSearch::new(Some(dir.path().join("models")), None);
        let s = SynthSlice {
            layers: Some(1),
            vocab: Some(256),
            seed: 7,
        };
        let m = catalog_ref("gemma-3-270m", "Q8_0", Some(s));
        let p = resolve(&m, None, &search).unwrap();
        assert!(
            p.ends_with("models/gemma-3-270m-1L-v256-s7-Q8_0-synth.gguf"),
            "{p:?}"
        );
        let spec = crate::model::open(&p).unwrap();
        assert_eq!((spec.architecture.as_str(), spec.n_layers()), ("gemma3", 1));
        let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
        assert_eq!(resolve(&m, None, &search).unwrap(), p);
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), modified);
    }
}
