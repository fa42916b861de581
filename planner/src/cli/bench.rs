//! `fitbench bench SUITE`: run a benchmark suite with fitbench-engine (or llama-bench), append
//! records to results/, print a summary table and draw an SVG plot.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::bench::anchor::BandwidthAnchor;
use crate::bench::host::HostFingerprint;
use crate::bench::model_resolve::{resolve, ModelSearch};
use crate::bench::plot::plot_depth_scaling;
use crate::bench::record::Record;
use crate::bench::runner::{run_model, EngineKind, RunnerOptions};
use crate::bench::suite::Suite;
use crate::bench::summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    Fitbench,
    #[value(name = "llama.cpp")]
    LlamaCpp,
}

#[derive(clap::Args)]
pub struct Args {
    /// Suite file, or the name of one in bench-suites/ (e.g. `quick`).
    #[arg(required_unless_present = "suite_flag", conflicts_with = "suite_flag")]
    pub suite: Option<String>,
    /// The suite, as a flag (`--suite FILE` is the same as the positional argument).
    #[arg(long = "suite", value_name = "SUITE")]
    pub suite_flag: Option<String>,
    /// Run only these depths (comma separated) instead of the suite's: a capped run. Results go
    /// to a file named `<suite>-capped`.
    #[arg(long, value_delimiter = ',')]
    pub depths: Option<Vec<u32>>,
    /// Repetitions per point instead of the suite's `reps` (also marks the run as capped).
    #[arg(long)]
    pub reps: Option<u32>,
    /// Run this model file instead of the suite's models.
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Engine that measures.
    #[arg(long, value_enum, default_value = "fitbench")]
    pub engine: EngineChoice,
    /// llama-bench executable (with --engine llama.cpp).
    #[arg(long)]
    pub llama_bench: Option<PathBuf>,
    /// fitbench-engine executable (default: beside this binary, else on PATH).
    #[arg(long)]
    pub engine_exe: Option<PathBuf>,
    /// Folder searched first for catalog models (then FITBENCH_MODELS, a path list, then ./models);
    /// synthetic slices are written here.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Folder the results file is appended to.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Skip points already measured in today's results file for this host, model and suite.
    #[arg(long)]
    pub resume: bool,
    /// Per-configuration time limit in seconds (overrides the suite's timeout_s).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Skip the memory-bandwidth anchor measurement (~0.5 s); predictions then use 70% of the
    /// estimated theoretical bandwidth.
    #[arg(long)]
    pub no_anchor: bool,
    /// Do not draw the SVG plot.
    #[arg(long)]
    pub no_plot: bool,
}

fn suite_path(s: &str) -> PathBuf {
    let p = PathBuf::from(s);
    if p.exists() || s.contains('/') || s.ends_with(".yaml") {
        return p;
    }
    PathBuf::from("bench-suites").join(format!("{s}.yaml"))
}

fn default_engine_exe() -> PathBuf {
    let name = format!("fitbench-engine{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(&name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let name = args
        .suite
        .clone()
        .or(args.suite_flag.clone())
        .context("no suite given")?;
    let path = suite_path(&name);
    let mut suite = Suite::load(&path)?;
    if args.depths.is_some() || args.reps.is_some() {
        if let Some(d) = &args.depths {
            suite.tests.depths = d.clone();
        }
        if let Some(r) = args.reps {
            suite.reps = r;
        }
        suite
            .validate(&path.display().to_string())
            .context("with --depths/--reps")?;
        suite.name = format!("{}-capped", suite.name);
    }
    let (engine, engine_exe) = match args.engine {
        EngineChoice::Fitbench => (
            EngineKind::Fitbench,
            args.engine_exe.clone().unwrap_or_else(default_engine_exe),
        ),
        EngineChoice::LlamaCpp => match &args.llama_bench {
            Some(p) => (EngineKind::LlamaCpp, p.clone()),
            None => {
                bail!("--engine llama.cpp needs --llama-bench PATH (the llama-bench executable)")
            }
        },
    };
    let search = ModelSearch::from_env(args.models_dir.clone());
    let models: Vec<PathBuf> = match &args.model {
        Some(m) => vec![m.clone()],
        None => suite
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                resolve(m, path.parent(), &search).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: models[{i}]: {e} (or pass -m FILE to run a local file)",
                        path.display()
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    if let Some(missing) = models.iter().find(|m| !m.exists()) {
        bail!("model file {} not found", missing.display());
    }
    // One probe: the host fingerprint, the hardware profile the predictions use, and the
    // bandwidth anchor are the same measurement.
    let measured = (!args.no_anchor)
        .then(|| crate::probe::measure_read_bandwidth(crate::probe::BANDWIDTH_BUDGET));
    let anchor = measured.as_ref().map(BandwidthAnchor::from_measurement);
    let (host_info, hardware) =
        crate::probe::probe_with(measured).context("probing this machine")?;
    let host = HostFingerprint::from_probe(&host_info, &hardware);
    if let Some(a) = &anchor {
        eprintln!(
            "memory read bandwidth anchor: {:.1} GB/s ({} threads)",
            a.read_gbs, a.threads
        );
    }
    let opts = RunnerOptions {
        engine,
        engine_exe,
        results_dir: args.results.clone(),
        resume: args.resume,
        progress: true,
        host,
        anchor,
        timeout: args.timeout.map(Duration::from_secs),
        context_limit: None,
        hardware: Some(hardware),
    };
    let mut failed = 0;
    for model in &models {
        let out =
            run_model(&suite, model, &opts).with_context(|| format!("suite {}", path.display()))?;
        failed += out
            .records
            .iter()
            .filter(|r| r.status == crate::bench::record::Status::Failed)
            .count();
        for w in &out.warnings {
            eprintln!("{}: {w}", model.display());
        }
        // Summarize and plot everything in the results file: a resumed run still shows all depths,
        // and a llama.cpp run on the same suite pairs with the fitbench run before it.
        let all = crate::bench::results_file::read_records(&out.results_path)?;
        println!("{}", summary::table(&latest_per_engine(&all)));
        println!(
            "{} point(s) written to {}{}",
            out.records.len(),
            out.results_path.display(),
            if out.skipped > 0 {
                format!(" ({} already there, skipped)", out.skipped)
            } else {
                String::new()
            }
        );
        if !args.no_plot && !all.is_empty() {
            let svg = out.results_path.with_extension("svg");
            plot_depth_scaling(&latest_per_engine(&all), &svg)?;
            println!("plot: {}", svg.display());
        }
    }
    if failed > 0 {
        eprintln!("{failed} point(s) failed; see `error` and `stderr_tail` in the results file");
    }
    Ok(())
}

/// The last record of each (engine, point): a results file appended by several runs shows each
/// point once per engine.
fn latest_per_engine(records: &[Record]) -> Vec<Record> {
    let mut order: Vec<String> = Vec::new();
    let mut last: std::collections::HashMap<String, &Record> = Default::default();
    for r in records {
        let k = r.resume_key();
        if last.insert(k.clone(), r).is_none() {
            order.push(k);
        }
    }
    order.iter().map(|k| last[k].clone()).collect()
}
