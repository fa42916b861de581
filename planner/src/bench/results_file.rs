//! The results file of a run: `results/<date>-<host>-<model>-<suite>.jsonl`, one record per line,
//! appended and flushed point by point so a crash loses nothing already measured.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::{Record, Status};

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot create results folder {path}: {cause}")]
    CreateDir { path: String, cause: std::io::Error },
    #[error("cannot open results file {path} for appending: {cause}")]
    Open { path: String, cause: std::io::Error },
    #[error("cannot write to results file {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    #[error("{path}: line {line}: not a fitbench record: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
}

/// Keeps file names portable: letters, digits, `.`, `_` and `-` only.
pub fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

pub fn results_path(dir: &Path, date: &str, host: &str, model: &str, suite: &str) -> PathBuf {
    dir.join(format!(
        "{}-{}-{}-{}.jsonl",
        sanitize(date),
        sanitize(host),
        sanitize(model),
        sanitize(suite)
    ))
}

pub struct ResultsWriter {
    path: PathBuf,
    file: File,
}

impl ResultsWriter {
    pub fn open(path: &Path) -> Result<Self, ResultsError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|cause| ResultsError::CreateDir {
                path: dir.display().to_string(),
                cause,
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|cause| ResultsError::Open {
                path: path.display().to_string(),
                cause,
            })?;
        Ok(ResultsWriter {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and flushes it to the OS.
    pub fn append(&mut self, r: &Record) -> Result<(), ResultsError> {
        let err = |cause| ResultsError::Write {
            path: self.path.display().to_string(),
            cause,
        };
        let mut line = serde_json::to_string(r).map_err(|e| err(std::io::Error::other(e)))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(err)?;
        self.file.flush().map_err(err)
    }
}

/// Reads every record of a results file. A truncated last line (the writer was killed mid-line)
/// is skipped; any other bad line is an error naming the file and line.
pub fn read_records(path: &Path) -> Result<Vec<Record>, ResultsError> {
    let text = std::fs::read_to_string(path).map_err(|cause| ResultsError::Open {
        path: path.display().to_string(),
        cause,
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => {
                return Err(ResultsError::Parse {
                    path: path.display().to_string(),
                    line: i + 1,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// Resume keys of the points already measured successfully in `path` (empty if it does not exist).
pub fn finished_points(path: &Path) -> Result<HashSet<String>, ResultsError> {
    if !path.exists() {
        return Ok(HashSet::new());
    }
    Ok(read_records(path)?
        .iter()
        .filter(|r| r.status == Status::Ok)
        .map(Record::resume_key)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized() {
        let p = results_path(
            Path::new("results"),
            "2026-11-23",
            "my host",
            "Qwen3.5/35B",
            "quick",
        );
        assert_eq!(
            p,
            Path::new("results/2026-11-23-my_host-Qwen3.5_35B-quick.jsonl")
        );
    }

    #[test]
    fn unwritable_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let e = ResultsWriter::open(&blocker.join("sub/r.jsonl"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("cannot create results folder") && e.contains("file/sub"),
            "{e}"
        );
    }
}
