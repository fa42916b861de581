//! Runs a suite for one model: one engine subprocess per configuration (all its depths), each
//! finished point appended to the results file at once; a crash, OOM or timeout turns the points
//! the engine did not report into failed records carrying the tail of its stderr, and the suite
//! goes on with the next configuration.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fitbench_engine::bench::{BenchLine, BENCH_LINE_SCHEMA};
use indicatif::{ProgressBar, ProgressStyle};

use super::anchor::BandwidthAnchor;
use super::host::{HostFingerprint, ToolInfo};
use super::llama_bench;
use super::model_id::ModelIdentity;
use super::predict::Predictor;
use super::process::{run_streaming, Exit};
use super::record::{
    self, BenchConfig, EngineInfo, Measurement, Protocol, Record, Status, Workload,
};
use super::results_file::{finished_points, results_path, ResultsError, ResultsWriter};
use super::suite::{PlacementSpec, Suite};
use crate::hw::HardwareProfile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// `fitbench-engine bench … -o jsonl`
    Fitbench,
    /// llama.cpp's `llama-bench … -o jsonl`
    LlamaCpp,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Fitbench => "fitbench-engine",
            EngineKind::LlamaCpp => "llama.cpp",
        }
    }
}

pub struct RunnerOptions {
    pub engine: EngineKind,
    pub engine_exe: PathBuf,
    pub results_dir: PathBuf,
    pub resume: bool,
    pub progress: bool,
    pub host: HostFingerprint,
    pub anchor: Option<BandwidthAnchor>,
    /// Overrides the suite's timeout_s.
    pub timeout: Option<Duration>,
    /// Context limit capping depths (the model's trained context and, with `placement: auto`,
    /// the plan's largest context cap them too).
    pub context_limit: Option<u32>,
    /// This machine as the planner sees it (the probe): predictions and `placement: auto` need it.
    pub hardware: Option<HardwareProfile>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Results(#[from] ResultsError),
    #[error("suite `{suite}`: no depth fits the context limit of {limit} tokens")]
    NoDepth { suite: String, limit: u32 },
}

pub struct RunOutcome {
    pub results_path: PathBuf,
    /// Records written by this run, in order.
    pub records: Vec<Record>,
    /// Points skipped because `--resume` found them in the results file.
    pub skipped: usize,
    /// Why predictions are missing, if they are (e.g. an architecture the planner cannot read).
    pub warnings: Vec<String>,
}

/// The command line for one configuration (same flag names for both engines).
pub fn engine_args(
    model: &Path,
    c: &BenchConfig,
    n_prompt: &[u32],
    n_gen: &[u32],
    depths: &[u32],
    reps: u32,
) -> Vec<String> {
    let list = |v: &[u32]| {
        if v.is_empty() {
            "0".to_string()
        } else {
            v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        }
    };
    let mut a: Vec<String> = vec!["-m".into(), model.display().to_string()];
    for (flag, value) in [
        ("-p", list(n_prompt)),
        ("-n", list(n_gen)),
        ("-d", list(depths)),
        ("-b", c.n_batch.to_string()),
        ("-ub", c.n_ubatch.to_string()),
        ("-ctk", c.type_k.clone()),
        ("-ctv", c.type_v.clone()),
        ("-fa", c.flash_attn.clone()),
        ("--n-cpu-moe", c.n_cpu_moe.to_string()),
        ("-r", reps.to_string()),
        ("-o", "jsonl".into()),
    ] {
        a.push(flag.into());
        a.push(value);
    }
    if let Some(t) = c.n_threads {
        a.extend(["-t".into(), t.to_string()]);
    }
    if let Some(ngl) = c.n_gpu_layers {
        a.extend(["-ngl".into(), ngl.to_string()]);
    }
    a
}

/// The points of one configuration, in the engine's order (per depth: pp tests, then tg tests).
fn points(suite: &Suite, depths: &[u32]) -> Vec<Workload> {
    let mut out = Vec::new();
    for &d in depths {
        out.extend(
            suite
                .tests
                .n_prompt
                .iter()
                .filter(|&&p| p > 0)
                .map(|&p| Workload::new(p, 0, d)),
        );
        out.extend(
            suite
                .tests
                .n_gen
                .iter()
                .filter(|&&g| g > 0)
                .map(|&g| Workload::new(0, g, d)),
        );
    }
    out
}

struct RunContext<'a> {
    suite: &'a Suite,
    opts: &'a RunnerOptions,
    model: ModelIdentity,
    run_id: String,
    seq_no: usize,
    writer: ResultsWriter,
    written: Vec<Record>,
    bar: ProgressBar,
    predictor: Option<Predictor>,
}

impl RunContext<'_> {
    fn record(&mut self, config: &BenchConfig, workload: Workload) -> Record {
        let r = Record {
            schema: record::RECORD_SCHEMA.into(),
            run_id: self.run_id.clone(),
            seq_no: self.seq_no,
            time_utc: record::now_rfc3339(),
            suite: self.suite.name.clone(),
            tool: ToolInfo::this_build(),
            engine: EngineInfo {
                name: self.opts.engine.name().into(),
                version: None,
                commit: None,
            },
            host: self.opts.host.clone(),
            anchor: self.opts.anchor.clone(),
            model: self.model.clone(),
            config: config.clone(),
            workload,
            protocol: Protocol::llama_bench_like(self.suite.reps),
            measurement: None,
            prediction: None,
            prediction_error_pct: None,
            status: Status::Failed,
            error: None,
            stderr_tail: None,
        };
        self.seq_no += 1;
        r
    }

    fn write(&mut self, mut r: Record) -> Result<(), ResultsError> {
        if let Some(p) = self
            .predictor
            .as_ref()
            .and_then(|p| p.predict(&r.config, &r.workload))
        {
            r.set_prediction(p);
        }
        self.writer.append(&r)?;
        self.bar.inc(1);
        self.bar.set_message(format!(
            "{} {}",
            r.workload.name(),
            if r.status == Status::Ok {
                "ok"
            } else {
                "FAILED"
            }
        ));
        self.written.push(r);
        Ok(())
    }

    /// Turns one stdout line into a record for a pending point; None if it matches none.
    fn record_from_line(
        &mut self,
        line: &str,
        config: &BenchConfig,
        pending: &[Workload],
    ) -> Option<Record> {
        if !line.trim_start().starts_with('{') {
            return None;
        }
        match self.opts.engine {
            EngineKind::Fitbench => {
                let l: BenchLine = serde_json::from_str(line).ok()?;
                let w = pending.iter().find(|w| {
                    (w.n_prompt as usize, w.n_gen as usize, w.n_depth as usize)
                        == (l.n_prompt, l.n_gen, l.n_depth)
                })?;
                let mut r = self.record(config, w.clone());
                r.engine.version = Some(l.engine_version.clone());
                r.engine.commit = l.engine_commit.clone();
                r.protocol.warmup_runs = u32::from(l.warmup);
                if l.schema != BENCH_LINE_SCHEMA {
                    r.error = Some(format!(
                        "engine wrote schema `{}`, expected `{BENCH_LINE_SCHEMA}`",
                        l.schema
                    ));
                } else if let Some(e) = l.error {
                    r.error = Some(e);
                } else {
                    r.measurement = Measurement::from_samples(l.samples_ts, l.samples_ns);
                    r.status = if r.measurement.is_some() {
                        Status::Ok
                    } else {
                        Status::Failed
                    };
                    if r.measurement.is_none() {
                        r.error = Some("engine reported no samples".into());
                    }
                }
                Some(r)
            }
            EngineKind::LlamaCpp => {
                let row = llama_bench::parse_line(line).ok()?;
                let w = pending.iter().find(|w| {
                    (w.n_prompt, w.n_gen, w.n_depth) == (row.n_prompt, row.n_gen, row.n_depth)
                })?;
                let mut r = self.record(config, w.clone());
                let imported = row.to_record(&r.run_id, r.seq_no, &r.suite);
                r.engine = imported.engine;
                r.measurement = imported.measurement;
                r.status = Status::Ok;
                Some(r)
            }
        }
    }
}

/// Runs `suite` on `model_path`; returns the records written.
pub fn run_model(
    suite: &Suite,
    model_path: &Path,
    opts: &RunnerOptions,
) -> Result<RunOutcome, RunnerError> {
    let mut warnings = Vec::new();
    // A model the harness cannot even read still gets its points, failed, so the suite goes on.
    let (model, unreadable) = match ModelIdentity::of_file(model_path) {
        Ok(m) => (m, None),
        Err(e) => {
            let size = std::fs::metadata(model_path).ok().map(|m| m.len());
            let name = model_path.display().to_string();
            (ModelIdentity::by_name(&name, size), Some(e.to_string()))
        }
    };
    let predictor = match (&opts.hardware, &unreadable) {
        (Some(hw), None) => match crate::model::open(model_path) {
            Ok(spec) => Some(Predictor::new(spec, hw.clone())),
            Err(e) => {
                warnings.push(format!(
                    "no predictions: the planner cannot read the model: {e}"
                ));
                None
            }
        },
        (None, None) => {
            warnings.push("no predictions: no hardware profile".into());
            None
        }
        (_, Some(_)) => None,
    };
    let auto = suite.placement == PlacementSpec::Keyword("auto".into());
    let plan_limit = predictor
        .as_ref()
        .filter(|_| auto)
        .and_then(|p| p.plan())
        .map(|p| p.max_ctx.min(u64::from(u32::MAX)) as u32);
    let model_limit = model.n_ctx_train.map(|n| n.min(u32::MAX as u64) as u32);
    let limit = [model_limit, opts.context_limit, plan_limit]
        .into_iter()
        .flatten()
        .min();
    let depths = suite.depths_for(limit);
    if depths.is_empty() {
        return Err(RunnerError::NoDepth {
            suite: suite.name.clone(),
            limit: limit.unwrap_or(0),
        });
    }
    let date = record::now_rfc3339()
        .get(..10)
        .unwrap_or("unknown")
        .to_string();
    let host = if opts.host.hostname.is_empty() {
        "host"
    } else {
        &opts.host.hostname
    };
    let path = results_path(&opts.results_dir, &date, host, &model.name, &suite.name);
    let done = if opts.resume {
        finished_points(&path)?
    } else {
        HashSet::new()
    };
    let writer = ResultsWriter::open(&path)?;

    // What each configuration still needs.
    let engine = opts.engine.name();
    let mut plan = Vec::new();
    let mut skipped = 0;
    let mut configurations = suite.configurations();
    if let (true, Some(p)) = (auto, &predictor) {
        for c in &mut configurations {
            p.apply_auto_placement(c, !suite.sweep.n_cpu_moe.is_empty());
        }
    }
    for config in configurations {
        let all = points(suite, &depths);
        let missing: Vec<Workload> = all
            .into_iter()
            .filter(|w| !done.contains(&record::resume_key(engine, &model, &config, w)))
            .collect();
        skipped += points(suite, &depths).len() - missing.len();
        if !missing.is_empty() {
            plan.push((config, missing));
        }
    }
    let total: usize = plan.iter().map(|(_, m)| m.len()).sum();
    let bar = if opts.progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} points  {elapsed_precise} elapsed, ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let run_id = format!("{}-{}", record::now_rfc3339(), std::process::id());
    let mut ctx = RunContext {
        suite,
        opts,
        model,
        run_id,
        seq_no: 0,
        writer,
        written: Vec::new(),
        bar,
        predictor,
    };
    let timeout = opts.timeout.unwrap_or(Duration::from_secs(suite.timeout_s));

    if let Some(why) = unreadable {
        for (config, missing) in plan {
            for w in missing {
                let mut r = ctx.record(&config, w);
                r.error = Some(format!("cannot read the model: {why}"));
                ctx.write(r)?;
            }
        }
        ctx.bar.finish_and_clear();
        return Ok(RunOutcome {
            results_path: path,
            records: ctx.written,
            skipped,
            warnings,
        });
    }
    for (config, missing) in plan {
        // Only the depths that still have a missing point.
        let mut run_depths: Vec<u32> = missing.iter().map(|w| w.n_depth).collect();
        run_depths.dedup();
        let mut cmd = Command::new(&opts.engine_exe);
        if opts.engine == EngineKind::Fitbench {
            cmd.arg("bench");
            // An anyhow error backtrace would push the error itself out of the stderr tail
            // (panics still follow RUST_BACKTRACE).
            cmd.env("RUST_LIB_BACKTRACE", "0");
        }
        cmd.args(engine_args(
            model_path,
            &config,
            &suite.tests.n_prompt,
            &suite.tests.n_gen,
            &run_depths,
            suite.reps,
        ));
        let mut pending = missing;
        let mut failed_lines = Vec::new();
        let mut write_error = None;
        let finished = run_streaming(cmd, timeout, |line| {
            if write_error.is_some() {
                return;
            }
            if let Some(r) = ctx.record_from_line(line, &config, &pending) {
                pending.retain(|w| *w != r.workload);
                if r.status == Status::Ok {
                    if let Err(e) = ctx.write(r) {
                        write_error = Some(e);
                    }
                } else {
                    failed_lines.push(r);
                }
            }
        });
        if let Some(e) = write_error {
            return Err(e.into());
        }
        let tail = Some(finished.stderr_tail.clone()).filter(|t| !t.is_empty());
        let why = match &finished.exit {
            Exit::Success => "engine exited without reporting this point".to_string(),
            Exit::Failed(m) => m.clone(),
            Exit::TimedOut(t) => format!("timed out after {:.0} s; engine killed", t.as_secs_f64()),
            Exit::SpawnFailed(m) => format!("cannot start {}: {m}", opts.engine_exe.display()),
        };
        for mut r in failed_lines {
            r.stderr_tail = tail.clone();
            ctx.write(r)?;
        }
        for w in pending {
            let mut r = ctx.record(&config, w);
            r.error = Some(why.clone());
            r.stderr_tail = tail.clone();
            ctx.write(r)?;
        }
    }
    ctx.bar.finish_and_clear();
    Ok(RunOutcome {
        results_path: path,
        records: ctx.written,
        skipped,
        warnings,
    })
}
