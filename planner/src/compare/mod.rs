//! Run-vs-run comparison for CI: pairing points, per-point verdicts, markdown report.

pub mod pairing;
pub mod report;
pub mod verdict;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::bench::results_file::{read_records, ResultsError};

pub use pairing::{pair, Pairing, PairingError};
pub use verdict::{compare_points, noise_floor, Criteria, NoiseFloor, PointComparison, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Read(#[from] ResultsError),
    #[error(transparent)]
    Pairing(#[from] PairingError),
    #[error("{base} and {candidate} have no point in common")]
    NothingInCommon { base: String, candidate: String },
}

pub struct Comparison {
    pub pairing: Pairing,
    pub points: Vec<PointComparison>,
    pub noise: Option<NoiseFloor>,
    pub markdown: String,
}

impl Comparison {
    pub fn regressions(&self) -> usize {
        self.points
            .iter()
            .filter(|p| p.verdict == Verdict::Regression)
            .count()
    }
}

/// Compares two results files.
pub fn compare_files(
    base: &Path,
    candidate: &Path,
    criteria: Criteria,
    allow_host_mismatch: bool,
    aa: bool,
) -> Result<Comparison, CompareError> {
    let (b, c) = (read_records(base)?, read_records(candidate)?);
    let pairing = pair(&b, &c, allow_host_mismatch)?;
    if pairing.pairs.is_empty() {
        return Err(CompareError::NothingInCommon {
            base: base.display().to_string(),
            candidate: candidate.display().to_string(),
        });
    }
    let points = compare_points(&pairing.pairs, criteria);
    let noise = if aa { noise_floor(&points) } else { None };
    let title = if aa {
        "fitbench A/A noise check"
    } else {
        "fitbench comparison"
    };
    let markdown = report::markdown(title, &pairing, &points, criteria, noise.as_ref());
    Ok(Comparison {
        pairing,
        points,
        noise,
        markdown,
    })
}
