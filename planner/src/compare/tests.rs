//! Verdicts on synthetic records.

use std::path::{Path, PathBuf};

use super::*;
use crate::bench::host::HostFingerprint;
use crate::bench::record::tests::sample_record;
use crate::bench::record::{Record, Status};

/// Ten deterministic samples around `center` with ±1 % spread.
fn samples(center: f64, phase: f64) -> Vec<f64> {
    (0..10)
        .map(|i| center * (1.0 + 0.01 * ((i as f64) * 1.7 + phase).sin()))
        .collect()
}

fn run(tg: f64, tg_deep: f64, phase: f64) -> Vec<Record> {
    let mut a = sample_record(samples(tg, phase), 0);
    let mut b = sample_record(samples(tg_deep, phase), 4096);
    a.seq_no = 0;
    b.seq_no = 1;
    vec![a, b]
}

fn write(dir: &Path, name: &str, recs: &[Record]) -> PathBuf {
    let p = dir.join(name);
    let text: String = recs
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&p, text).unwrap();
    p
}

fn cmp(
    base: Vec<Record>,
    cand: Vec<Record>,
    allow: bool,
    aa: bool,
) -> Result<Comparison, CompareError> {
    let dir = tempfile::tempdir().unwrap();
    let (b, c) = (
        write(dir.path(), "b.jsonl", &base),
        write(dir.path(), "c.jsonl", &cand),
    );
    compare_files(&b, &c, Criteria::default(), allow, aa)
}

#[test]
fn same_speed_is_no_regression() {
    let c = cmp(run(100.0, 80.0, 0.0), run(100.3, 80.2, 0.5), false, false).unwrap();
    assert_eq!(c.points.len(), 2);
    assert_eq!(c.regressions(), 0);
    assert!(c.points.iter().all(|p| p.verdict == Verdict::Unchanged));
    assert!(c.markdown.contains("**0 regression(s)**"), "{}", c.markdown);
}

#[test]
fn clear_regression_is_flagged() {
    let c = cmp(run(100.0, 80.0, 0.0), run(100.0, 64.0, 0.3), false, false).unwrap();
    assert_eq!(c.regressions(), 1);
    let p = c
        .points
        .iter()
        .find(|p| p.verdict == Verdict::Regression)
        .unwrap();
    assert!(p.label.contains("tg128 @ d4096"), "{}", p.label);
    assert!((p.ratio - 0.8).abs() < 0.01);
    let ci = p.ratio_ci.unwrap();
    assert!(
        ci.low < 0.8 && ci.high > 0.8 - 0.001 && ci.high < 0.85,
        "{ci:?}"
    );
    assert!(p.p_adjusted < 0.05);
    assert!(c.markdown.contains("❌ regression"));
}

#[test]
fn significant_but_small_change_is_not_a_regression() {
    // 3 % slower: clearly significant with tight samples, but under the 5 % threshold.
    let c = cmp(run(100.0, 80.0, 0.0), run(97.0, 77.6, 0.0), false, false).unwrap();
    assert!(
        c.points.iter().all(|p| p.p_adjusted < 0.05),
        "{:?}",
        c.points
    );
    assert_eq!(c.regressions(), 0);
}

#[test]
fn host_mismatch_is_refused_unless_allowed() {
    let mut cand = run(100.0, 64.0, 0.3);
    for r in &mut cand {
        r.host = HostFingerprint::new(
            "Other CPU".into(),
            Some(64),
            Some(128),
            Some(512 << 30),
            vec![],
            "".into(),
            "".into(),
        );
    }
    let e = cmp(run(100.0, 80.0, 0.0), cand.clone(), false, false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("different hosts") && e.contains("--allow-host-mismatch"),
        "{e}"
    );
    assert_eq!(
        cmp(run(100.0, 80.0, 0.0), cand, true, false)
            .unwrap()
            .regressions(),
        1
    );
}

#[test]
fn aa_mode_reports_noise_floor() {
    let c = cmp(run(100.0, 80.0, 0.0), run(100.0, 80.0, 0.9), false, true).unwrap();
    let n = c.noise.as_ref().unwrap();
    assert_eq!(n.points, 2);
    assert_eq!(n.flagged, 0);
    assert!(
        n.max_abs_change < 0.02 && n.max_ci_excursion < 0.03,
        "{n:?}"
    );
    assert!(c.markdown.contains("Noise floor"));
}

#[test]
fn too_few_reps_warns_and_failed_points_are_listed() {
    let mut base = run(100.0, 80.0, 0.0);
    let mut cand = run(100.0, 40.0, 0.0);
    for r in base.iter_mut().chain(cand.iter_mut()) {
        let m = r.measurement.as_mut().unwrap();
        m.samples_ts.truncate(2);
    }
    let mut failed = sample_record(vec![], 8192);
    failed.status = Status::Failed;
    failed.error = Some("timed out".into());
    cand.push(failed);
    let c = cmp(base, cand, false, false).unwrap();
    assert_eq!(c.regressions(), 0);
    assert!(
        c.markdown.contains("run more repetitions"),
        "{}",
        c.markdown
    );
    assert!(c.markdown.contains("1 failed point(s)") && c.markdown.contains("timed out"));
}

#[test]
fn nothing_in_common() {
    let e = cmp(
        run(100.0, 80.0, 0.0)[..1].to_vec(),
        run(100.0, 80.0, 0.0)[1..].to_vec(),
        false,
        false,
    );
    assert!(matches!(e, Err(CompareError::NothingInCommon { .. })));
}
