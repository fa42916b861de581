//! Per-point verdicts: ratio of medians (candidate / base) with a bootstrap CI, a Mann-Whitney
//! p-value, Holm–Bonferroni adjustment over all points compared; a regression is a point that is
//! both significant after adjustment AND slower than the threshold.

use crate::bench::record::Record;
use crate::bench::stats::{self, ConfidenceInterval};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Regression,
    Improvement,
    /// Within the threshold, or not significant.
    Unchanged,
}

#[derive(Debug, Clone)]
pub struct PointComparison {
    pub label: String,
    pub base_median: f64,
    pub candidate_median: f64,
    /// candidate / base (throughput: < 1 is slower).
    pub ratio: f64,
    pub ratio_ci: Option<ConfidenceInterval>,
    pub p_value: f64,
    /// Holm–Bonferroni adjusted.
    pub p_adjusted: f64,
    pub verdict: Verdict,
    pub n_base: usize,
    pub n_candidate: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct Criteria {
    /// Relative change that matters, e.g. 0.05 for 5 %.
    pub threshold: f64,
    /// Family-wise significance level.
    pub alpha: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        Criteria {
            threshold: 0.05,
            alpha: 0.05,
        }
    }
}

const RATIO_CI_SEED: u64 = 0xC0FFEE;

/// Label of a point for tables: test name plus the settings that are not llama-bench defaults.
pub fn label(r: &Record) -> String {
    let c = &r.config;
    let mut parts = vec![r.model.name.clone(), r.workload.name()];
    if c.n_ubatch != 512 {
        parts.push(format!("ub={}", c.n_ubatch));
    }
    if c.n_batch != 2048 {
        parts.push(format!("b={}", c.n_batch));
    }
    if let Some(t) = c.n_threads {
        parts.push(format!("t={t}"));
    }
    if c.type_k != "f16" || c.type_v != "f16" {
        parts.push(format!("kv={}/{}", c.type_k, c.type_v));
    }
    if c.flash_attn != "auto" {
        parts.push(format!("fa={}", c.flash_attn));
    }
    if c.n_cpu_moe != 0 {
        parts.push(format!("ncmoe={}", c.n_cpu_moe));
    }
    if r.engine.name != "fitbench-engine" {
        parts.push(format!("[{}]", r.engine.name));
    }
    parts.join(" ")
}

pub fn compare_points(pairs: &[(Record, Record)], criteria: Criteria) -> Vec<PointComparison> {
    let mut out: Vec<PointComparison> = pairs
        .iter()
        .filter_map(|(b, c)| {
            let (bs, cs) = (
                &b.measurement.as_ref()?.samples_ts,
                &c.measurement.as_ref()?.samples_ts,
            );
            let (bm, cm) = (stats::median(bs)?, stats::median(cs)?);
            Some(PointComparison {
                label: label(b),
                base_median: bm,
                candidate_median: cm,
                ratio: cm / bm,
                ratio_ci: stats::ratio_ci(bs, cs, 0.95, stats::BOOTSTRAP_RESAMPLES, RATIO_CI_SEED),
                p_value: stats::mann_whitney_u(bs, cs)?.p_value,
                p_adjusted: 1.0,
                verdict: Verdict::Unchanged,
                n_base: bs.len(),
                n_candidate: cs.len(),
            })
        })
        .collect();
    let adjusted = stats::holm_adjust(&out.iter().map(|p| p.p_value).collect::<Vec<_>>());
    for (p, adj) in out.iter_mut().zip(adjusted) {
        p.p_adjusted = adj;
        let significant = adj < criteria.alpha;
        p.verdict = if significant && p.ratio < 1.0 - criteria.threshold {
            Verdict::Regression
        } else if significant && p.ratio > 1.0 + criteria.threshold {
            Verdict::Improvement
        } else {
            Verdict::Unchanged
        };
    }
    out
}

/// Smallest two-sided p-value the test can give for these sample sizes (complete separation),
/// so a report can say when there are too few repetitions to ever flag a point.
pub fn min_attainable_p(n1: usize, n2: usize) -> f64 {
    let a: Vec<f64> = (0..n1).map(|i| i as f64).collect();
    let b: Vec<f64> = (0..n2).map(|i| (n1 + i) as f64).collect();
    stats::mann_whitney_u(&a, &b)
        .map(|m| m.p_value)
        .unwrap_or(1.0)
}

/// A/A summary: how far ratios between two runs of the same build stray from 1.
#[derive(Debug, Clone)]
pub struct NoiseFloor {
    pub points: usize,
    /// Median of |ratio − 1|.
    pub median_abs_change: f64,
    /// Largest |ratio − 1|.
    pub max_abs_change: f64,
    /// Largest distance of a 95 % CI bound from 1.
    pub max_ci_excursion: f64,
    /// Points flagged (either way) although nothing changed: false positives.
    pub flagged: usize,
}

pub fn noise_floor(points: &[PointComparison]) -> Option<NoiseFloor> {
    let changes: Vec<f64> = points.iter().map(|p| (p.ratio - 1.0).abs()).collect();
    let max_ci = points
        .iter()
        .filter_map(|p| p.ratio_ci)
        .map(|ci| (1.0 - ci.low).abs().max((ci.high - 1.0).abs()))
        .fold(0.0, f64::max);
    Some(NoiseFloor {
        points: points.len(),
        median_abs_change: stats::median(&changes)?,
        max_abs_change: changes.iter().cloned().fold(0.0, f64::max),
        max_ci_excursion: max_ci,
        flagged: points
            .iter()
            .filter(|p| p.verdict != Verdict::Unchanged)
            .count(),
    })
}
