//! Where calibrations live and how they are read back: one YAML file per host fingerprint under
//! `$FITBENCH_CALIBRATION_DIR`, else `$XDG_CONFIG_HOME/fitbench/calibration`, else
//! `~/.config/fitbench/calibration`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::measure::Measurement;
use crate::bench::host::HostFingerprint;
use crate::hw::CpuCalibration;

/// Schema tag of calibration files.
pub const CALIBRATION_SCHEMA: &str = "fitbench-calibration/1";

/// Calibration files larger than this are not read (they are a few KiB).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// One `fitbench calibrate` run: the machine, the fitted coefficients and what they were fitted to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    pub schema: String,
    pub host: HostFingerprint,
    pub cpu: CpuCalibration,
    /// Largest relative error of the fitted generation / prompt model over the measured slices.
    pub gen_fit_max_error: f64,
    pub prompt_fit_max_error: f64,
    /// One-minute load average when the run started (Linux): above the core count, other work
    /// shared the CPU and the coefficients describe a busy machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<f64>,
    pub measurements: Vec<Measurement>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: String, what: String },
    #[error("no calibration directory: set FITBENCH_CALIBRATION_DIR or HOME, or pass --out")]
    NoDir,
}

/// The directory calibrations are stored in by default.
pub fn default_dir() -> Result<PathBuf, StoreError> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = env("FITBENCH_CALIBRATION_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = env("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("fitbench").join("calibration"));
    }
    env("HOME")
        .map(|h| PathBuf::from(h).join(".config/fitbench/calibration"))
        .ok_or(StoreError::NoDir)
}

/// File name for a host: the first 16 hex digits of its hardware fingerprint.
pub fn file_name(host: &HostFingerprint) -> String {
    let hex: String = host
        .fingerprint
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    format!("{hex}.yaml")
}

pub fn save(file: &CalibrationFile, path: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_saphyr::to_string(file).map_err(|e| StoreError::Invalid {
        path: path.display().to_string(),
        what: format!("serializing: {e}"),
    })?;
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads and checks a calibration file.
pub fn load(path: &Path) -> Result<CalibrationFile, StoreError> {
    let shown = path.display().to_string();
    let io = |source| StoreError::Io {
        path: shown.clone(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(StoreError::Invalid {
            path: shown,
            what: format!("{len} bytes; a calibration file is a few KiB"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let file: CalibrationFile = serde_saphyr::from_str(&text).map_err(|e| StoreError::Invalid {
        path: shown.clone(),
        what: e.to_string(),
    })?;
    let invalid = |what: String| StoreError::Invalid {
        path: shown.clone(),
        what,
    };
    if file.schema != CALIBRATION_SCHEMA {
        return Err(invalid(format!(
            "schema '{}', expected '{CALIBRATION_SCHEMA}'",
            file.schema
        )));
    }
    let c = &file.cpu;
    for (name, v, lo, hi) in [
        ("cpu.gen_read_gbs", c.gen_read_gbs, 0.01, 1e5),
        ("cpu.gen_layer_overhead_s", c.gen_layer_overhead_s, 0.0, 1.0),
        ("cpu.prompt_gflops", c.prompt_gflops, 0.001, 1e7),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            return Err(invalid(format!("{name} = {v} is outside {lo}..={hi}")));
        }
    }
    Ok(file)
}

/// The stored calibration for `host` in `dir`, if there is one for exactly this hardware.
pub fn load_for_host(
    dir: &Path,
    host: &HostFingerprint,
) -> Result<Option<CalibrationFile>, StoreError> {
    let path = dir.join(file_name(host));
    if !path.exists() {
        return Ok(None);
    }
    let file = load(&path)?;
    Ok((file.host.fingerprint == host.fingerprint).then_some(file))
}

/// Today's UTC date, YYYY-MM-DD (civil-from-days, no calendar crate needed).
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date((secs / 86_400) as i64)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_415), "2025-11-23");
    }

    #[test]
    fn bad_files_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.yaml");
        std::fs::write(&p, "schema: [unclosed").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("x.yaml"), "{e}");
        std::fs::write(&p, "schema: other/1\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("x.yaml"), "{e}");
    }
}
