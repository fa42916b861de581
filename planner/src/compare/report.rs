//! Markdown report of a comparison, fit for a CI job summary.

use std::fmt::Write;

use super::pairing::Pairing;
use super::verdict::{min_attainable_p, Criteria, NoiseFloor, PointComparison, Verdict};

fn verdict_cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Regression => "❌ regression",
        Verdict::Improvement => "✅ faster",
        Verdict::Unchanged => "≈",
    }
}

pub fn markdown(
    title: &str,
    pairing: &Pairing,
    points: &[PointComparison],
    criteria: Criteria,
    noise: Option<&NoiseFloor>,
) -> String {
    let mut s = String::new();
    let regressions = points
        .iter()
        .filter(|p| p.verdict == Verdict::Regression)
        .count();
    let improvements = points
        .iter()
        .filter(|p| p.verdict == Verdict::Improvement)
        .count();
    let _ = writeln!(s, "## {title}\n");
    let _ = writeln!(
        s,
        "{} point(s) compared; **{regressions} regression(s)**, {improvements} improvement(s). \
         A point counts when its Holm-adjusted Mann-Whitney p < {} and it moved by more than {:.1} %.\n",
        points.len(),
        criteria.alpha,
        criteria.threshold * 100.0
    );
    if !points.is_empty() {
        let _ = writeln!(
            s,
            "| point | base t/s | candidate t/s | ratio | 95 % CI | p | p (Holm) | verdict |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---|---:|---:|---|");
        for p in points {
            let ci = p
                .ratio_ci
                .map(|c| format!("{:.3} – {:.3}", c.low, c.high))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} | {:.2} | {:.2} | {:.3} | {ci} | {:.4} | {:.4} | {} |",
                p.label,
                p.base_median,
                p.candidate_median,
                p.ratio,
                p.p_value,
                p.p_adjusted,
                verdict_cell(p.verdict)
            );
        }
        let floor = points
            .iter()
            .map(|p| min_attainable_p(p.n_base, p.n_candidate) * points.len() as f64)
            .fold(f64::INFINITY, f64::min);
        if floor >= criteria.alpha {
            let _ = writeln!(
                s,
                "\n> ⚠️ With these repetition counts and {} points, no point can reach significance after the \
                 Holm correction (smallest attainable adjusted p = {floor:.3}); run more repetitions.",
                points.len()
            );
        }
    }
    if let Some(n) = noise {
        let _ = writeln!(
            s,
            "\n### Noise floor (A/A)\n\n{} point(s): median |change| {:.2} %, max |change| {:.2} %, \
             widest 95 % CI reaches {:.2} % from 1; {} point(s) flagged although the builds are the same.",
            n.points,
            n.median_abs_change * 100.0,
            n.max_abs_change * 100.0,
            n.max_ci_excursion * 100.0,
            n.flagged
        );
    }
    for (what, list) in [
        ("only in base", &pairing.only_base),
        ("only in candidate", &pairing.only_candidate),
    ] {
        if !list.is_empty() {
            let names: Vec<String> = list.iter().map(super::verdict::label).collect();
            let _ = writeln!(s, "\n{} point(s) {what}: {}", list.len(), names.join(", "));
        }
    }
    if !pairing.failed.is_empty() {
        let _ = writeln!(
            s,
            "\n{} failed point(s) not compared:",
            pairing.failed.len()
        );
        for r in &pairing.failed {
            let _ = writeln!(
                s,
                "- {}: {}",
                super::verdict::label(r),
                r.error.as_deref().unwrap_or("failed")
            );
        }
    }
    s
}
