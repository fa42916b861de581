//! `fitbench compare BASE CANDIDATE`: per-point verdicts between two results files, as markdown
//! (for a CI job summary). Exit status 2 when a point regressed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::compare::{compare_files, Criteria};

#[derive(clap::Args)]
pub struct Args {
    /// Results file of the baseline run (JSON Lines).
    pub base: PathBuf,
    /// Results file of the candidate run.
    pub candidate: PathBuf,
    /// Slowdown that counts as a regression when also significant, e.g. `5%` or `0.05`.
    #[arg(long, default_value = "5%")]
    pub threshold: String,
    /// Family-wise significance level (Holm–Bonferroni over all points).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Compare points measured on different hardware.
    #[arg(long)]
    pub allow_host_mismatch: bool,
    /// A/A mode: both runs are the same build; report the noise floor, never fail.
    #[arg(long)]
    pub aa: bool,
    /// Also write the markdown report to this file (e.g. $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `5%` → 0.05; `0.05` → 0.05.
pub fn parse_threshold(s: &str) -> anyhow::Result<f64> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    }
    .with_context(|| {
        format!("--threshold `{s}`: expected a percentage like 5% or a fraction like 0.05")
    })?;
    if !(0.0..1.0).contains(&v) {
        bail!("--threshold `{s}`: must be between 0% and 100%");
    }
    Ok(v)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha {}: must be between 0 and 1", args.alpha);
    }
    let criteria = Criteria {
        threshold: parse_threshold(&args.threshold)?,
        alpha: args.alpha,
    };
    let c = compare_files(
        &args.base,
        &args.candidate,
        criteria,
        args.allow_host_mismatch,
        args.aa,
    )?;
    print!("{}", c.markdown);
    if let Some(out) = &args.output {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .with_context(|| format!("cannot write report to {}", out.display()))?;
        f.write_all(c.markdown.as_bytes())
            .with_context(|| format!("cannot write report to {}", out.display()))?;
    }
    if !args.aa && c.regressions() > 0 {
        let _ = std::io::stdout().flush();
        eprintln!("{} regression(s)", c.regressions());
        std::process::exit(2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold("5%").unwrap(), 0.05);
        assert_eq!(parse_threshold("0.1").unwrap(), 0.1);
        assert!(parse_threshold("150%").is_err());
        assert!(parse_threshold("five")
            .unwrap_err()
            .to_string()
            .contains("--threshold"));
    }
}
