//! One benchmark result record: a JSON line that stands alone (schema RECORD_SCHEMA). Fields are
//! grouped as in shared/docs/research/bench-harnesses.md §13: identity (model, config, workload —
//! must match to compare), environment (tool, engine, host, anchor), protocol and measurement.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::anchor::BandwidthAnchor;
use super::host::{HostFingerprint, ToolInfo};
use super::model_id::ModelIdentity;
use super::stats::{self, ConfidenceInterval};

pub const RECORD_SCHEMA: &str = "fitbench-record/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub schema: String,
    /// One harness invocation (all records of one `fitbench bench` run share it).
    pub run_id: String,
    /// Position of this point in the run (order effects).
    pub seq_no: usize,
    /// RFC 3339 UTC time the point finished.
    pub time_utc: String,
    #[serde(default)]
    pub suite: String,
    pub tool: ToolInfo,
    pub engine: EngineInfo,
    pub host: HostFingerprint,
    #[serde(default)]
    pub anchor: Option<BandwidthAnchor>,
    pub model: ModelIdentity,
    pub config: BenchConfig,
    pub workload: Workload,
    pub protocol: Protocol,
    #[serde(default)]
    pub measurement: Option<Measurement>,
    /// The planner's predicted t/s for this point (filled when a plan is available).
    #[serde(default)]
    pub prediction: Option<Prediction>,
    /// (measured median − predicted) / predicted × 100.
    #[serde(default)]
    pub prediction_error_pct: Option<f64>,
    pub status: Status,
    /// Why the point failed (exit status, timeout, engine error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Last lines of the engine's stderr, for failed points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_tail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `fitbench-engine` or `llama.cpp`.
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
}

/// Engine configuration, defaults materialised (llama-bench's names and defaults).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BenchConfig {
    pub n_batch: u32,
    pub n_ubatch: u32,
    /// None = the engine's default (all physical cores).
    pub n_threads: Option<u32>,
    pub type_k: String,
    pub type_v: String,
    /// `auto`, `on` or `off`.
    pub flash_attn: String,
    pub n_cpu_moe: u32,
    #[serde(default)]
    pub n_gpu_layers: Option<i32>,
    /// `auto` (the planner decides) or a description of the explicit placement.
    #[serde(default = "default_placement")]
    pub placement: String,
}

fn default_placement() -> String {
    "auto".to_string()
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            n_batch: 2048,
            n_ubatch: 512,
            n_threads: None,
            type_k: "f16".into(),
            type_v: "f16".into(),
            flash_attn: "auto".into(),
            n_cpu_moe: 0,
            n_gpu_layers: None,
            placement: default_placement(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// Prompt processing: n_prompt tokens in batches.
    Pp,
    /// Generation: n_gen tokens, one per step.
    Tg,
    /// Prompt then generation, one timed region.
    Pg,
}

/// What was measured: test shape and the meaning of depth.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Workload {
    pub kind: TestKind,
    pub n_prompt: u32,
    pub n_gen: u32,
    pub n_depth: u32,
    /// `untimed_prefill`: depth tokens are in the context before the timer starts, not counted.
    pub depth_mode: String,
    /// `across_tests`: the depth state is filled once and restored before each repetition.
    pub depth_state_reuse: String,
    /// `random` token ids.
    pub tokens: String,
}

impl Workload {
    pub fn new(n_prompt: u32, n_gen: u32, n_depth: u32) -> Self {
        let kind = match (n_prompt > 0, n_gen > 0) {
            (true, true) => TestKind::Pg,
            (false, true) => TestKind::Tg,
            _ => TestKind::Pp,
        };
        Workload {
            kind,
            n_prompt,
            n_gen,
            n_depth,
            depth_mode: "untimed_prefill".into(),
            depth_state_reuse: "across_tests".into(),
            tokens: "random".into(),
        }
    }

    /// llama-bench's test name: `pp512`, `tg128`, `pp512+tg128`, with ` @ d4096` when depth > 0.
    pub fn name(&self) -> String {
        let base = match self.kind {
            TestKind::Pp => format!("pp{}", self.n_prompt),
            TestKind::Tg => format!("tg{}", self.n_gen),
            TestKind::Pg => format!("pp{}+tg{}", self.n_prompt, self.n_gen),
        };
        if self.n_depth > 0 {
            format!("{base} @ d{}", self.n_depth)
        } else {
            base
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Untimed warm-up runs before the repetitions (llama-bench: 1).
    pub warmup_runs: u32,
    pub reps: u32,
    /// `sequential`: points in suite order, repetitions back to back.
    pub order: String,
    /// `engine_compute`: tokenization and sampling excluded.
    pub timing_scope: String,
}

impl Protocol {
    pub fn llama_bench_like(reps: u32) -> Self {
        Protocol {
            warmup_runs: 1,
            reps,
            order: "sequential".into(),
            timing_scope: "engine_compute".into(),
        }
    }
}

/// Throughput of one point: every repetition plus summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub unit: String,
    pub samples_ts: Vec<f64>,
    #[serde(default)]
    pub samples_ns: Vec<u64>,
    pub median: f64,
    pub mean: f64,
    pub stddev: f64,
    /// Bootstrap 95 % CI of the median (seeded; see stats::median_ci).
    pub ci: Option<ConfidenceInterval>,
}

/// Seed of the CI in records: fixed, so the same samples always give the same interval.
const RECORD_CI_SEED: u64 = 0x5EED;

impl Measurement {
    /// None without samples.
    pub fn from_samples(samples_ts: Vec<f64>, samples_ns: Vec<u64>) -> Option<Self> {
        let median = stats::median(&samples_ts)?;
        let mean = stats::mean(&samples_ts)?;
        Some(Measurement {
            unit: "tokens/s".into(),
            stddev: stats::stddev(&samples_ts),
            ci: stats::median_ci(&samples_ts, RECORD_CI_SEED),
            samples_ts,
            samples_ns,
            median,
            mean,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub tokens_per_s: f64,
    /// What made it, e.g. `fitbench-plan 0.1.0`.
    pub source: String,
}

impl Record {
    /// What defines a point: model identity, configuration and workload (not host, not engine —
    /// those are checked separately so a fitbench run can be set beside a llama.cpp run).
    pub fn point_key(&self) -> String {
        point_key(&self.model, &self.config, &self.workload)
    }

    /// point_key plus the engine: what `--resume` uses to skip finished points.
    pub fn resume_key(&self) -> String {
        resume_key(&self.engine.name, &self.model, &self.config, &self.workload)
    }

    /// Fills the prediction and its error against the measured median.
    pub fn set_prediction(&mut self, p: Prediction) {
        self.prediction_error_pct = self
            .measurement
            .as_ref()
            .filter(|_| p.tokens_per_s > 0.0)
            .map(|m| (m.median - p.tokens_per_s) / p.tokens_per_s * 100.0);
        self.prediction = Some(p);
    }
}

/// sha256 of the canonical identity of a point (see `Record::point_key`).
pub fn point_key(model: &ModelIdentity, config: &BenchConfig, workload: &Workload) -> String {
    let canonical =
        serde_json::json!({ "model": model.key(), "config": config, "workload": workload });
    format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()))
}

pub fn resume_key(
    engine: &str,
    model: &ModelIdentity,
    config: &BenchConfig,
    workload: &Workload,
) -> String {
    format!("{engine}:{}", point_key(model, config, workload))
}

/// Current UTC time as RFC 3339 (seconds), without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86400) as i64);
    let s = secs % 86400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_record(samples: Vec<f64>, n_depth: u32) -> Record {
        Record {
            schema: RECORD_SCHEMA.into(),
            run_id: "run".into(),
            seq_no: 0,
            time_utc: "2026-01-01T00:00:00Z".into(),
            suite: "quick".into(),
            tool: ToolInfo::this_build(),
            engine: EngineInfo {
                name: "fitbench-engine".into(),
                version: Some("0.1.0".into()),
                commit: None,
            },
            host: HostFingerprint::new(
                "CPU".into(),
                Some(2),
                Some(2),
                Some(8 << 30),
                vec![],
                "os".into(),
                "h".into(),
            ),
            anchor: None,
            model: ModelIdentity::by_name("m.gguf", Some(123)),
            config: BenchConfig::default(),
            workload: Workload::new(0, 128, n_depth),
            protocol: Protocol::llama_bench_like(samples.len() as u32),
            measurement: Measurement::from_samples(samples, vec![]),
            prediction: None,
            prediction_error_pct: None,
            status: Status::Ok,
            error: None,
            stderr_tail: None,
        }
    }

    #[test]
    fn round_trips_and_keys_ignore_host_and_measurement() {
        let a = sample_record(vec![10.0, 11.0, 12.0], 0);
        let line = serde_json::to_string(&a).unwrap();
        let b: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(b.point_key(), a.point_key());
        let mut c = sample_record(vec![1.0], 0);
        c.host = HostFingerprint::new(
            "Other".into(),
            None,
            None,
            None,
            vec![],
            "".into(),
            "".into(),
        );
        assert_eq!(c.point_key(), a.point_key());
        assert_ne!(sample_record(vec![1.0], 4096).point_key(), a.point_key());
        let mut d = sample_record(vec![1.0], 0);
        d.config.type_k = "q8_0".into();
        assert_ne!(d.point_key(), a.point_key());
    }

    #[test]
    fn measurement_and_prediction() {
        let mut r = sample_record(vec![10.0, 12.0, 11.0, 13.0], 0);
        let m = r.measurement.clone().unwrap();
        assert_eq!(m.median, 11.5);
        assert_eq!(m.mean, 11.5);
        r.set_prediction(Prediction {
            tokens_per_s: 10.0,
            source: "test".into(),
        });
        assert!((r.prediction_error_pct.unwrap() - 15.0).abs() < 1e-12);
        assert_eq!(Workload::new(512, 0, 4096).name(), "pp512 @ d4096");
        assert_eq!(Workload::new(0, 128, 0).name(), "tg128");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(now_rfc3339().len(), 20);
    }
}
