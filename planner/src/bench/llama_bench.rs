//! llama-bench output (`-o json` array or `-o jsonl` lines; fields per
//! shared/docs/research/llamacpp.md §3.4) read into records. Used by `fitbench import` and by the
//! runner's `--engine llama.cpp` mode.

use serde::Deserialize;

use super::host::{HostFingerprint, ToolInfo};
use super::model_id::ModelIdentity;
use super::record::{
    BenchConfig, EngineInfo, Measurement, Protocol, Record, Status, Workload, RECORD_SCHEMA,
};

/// One llama-bench test record; only the fields fitbench uses (unknown ones are ignored, since the
/// schema grows from build to build).
#[derive(Debug, Clone, Deserialize)]
pub struct LlamaBenchRow {
    #[serde(default)]
    pub build_commit: Option<String>,
    #[serde(default)]
    pub build_number: Option<i64>,
    #[serde(default)]
    pub cpu_info: String,
    #[serde(default)]
    pub gpu_info: String,
    #[serde(default)]
    pub model_filename: String,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub model_size: Option<u64>,
    #[serde(default = "d_batch")]
    pub n_batch: u32,
    #[serde(default = "d_ubatch")]
    pub n_ubatch: u32,
    #[serde(default)]
    pub n_threads: Option<u32>,
    #[serde(default = "d_f16")]
    pub type_k: String,
    #[serde(default = "d_f16")]
    pub type_v: String,
    #[serde(default)]
    pub n_gpu_layers: Option<i32>,
    #[serde(default)]
    pub n_cpu_moe: u32,
    /// -1 auto, 0 off, 1 on (older builds wrote a bool).
    #[serde(default)]
    pub flash_attn: Option<serde_json::Value>,
    pub n_prompt: u32,
    pub n_gen: u32,
    #[serde(default)]
    pub n_depth: u32,
    #[serde(default)]
    pub test_time: Option<String>,
    pub avg_ts: f64,
    #[serde(default)]
    pub samples_ts: Vec<f64>,
    #[serde(default)]
    pub samples_ns: Vec<u64>,
}

fn d_batch() -> u32 {
    2048
}
fn d_ubatch() -> u32 {
    512
}
fn d_f16() -> String {
    "f16".into()
}

#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ImportError {
    pub origin: String,
    pub message: String,
}

/// Parses a JSON array or JSON Lines; errors name the origin and the line.
pub fn parse(text: &str, origin: &str) -> Result<Vec<LlamaBenchRow>, ImportError> {
    let err = |message: String| ImportError {
        origin: origin.to_string(),
        message,
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed)
            .map_err(|e| err(format!("not a llama-bench JSON array: {e}")));
    }
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        rows.push(parse_line(line).map_err(|e| err(format!("line {}: {e}", i + 1)))?);
    }
    if rows.is_empty() {
        return Err(err("no llama-bench records".into()));
    }
    Ok(rows)
}

pub fn parse_line(line: &str) -> Result<LlamaBenchRow, String> {
    serde_json::from_str(line).map_err(|e| format!("not a llama-bench record: {e}"))
}

impl LlamaBenchRow {
    pub fn flash_attn_str(&self) -> String {
        match &self.flash_attn {
            Some(serde_json::Value::Number(n)) if n.as_i64() == Some(1) => "on".into(),
            Some(serde_json::Value::Number(n)) if n.as_i64() == Some(0) => "off".into(),
            Some(serde_json::Value::Bool(b)) => if *b { "on" } else { "off" }.into(),
            _ => "auto".into(),
        }
    }

    pub fn config(&self) -> BenchConfig {
        BenchConfig {
            n_batch: self.n_batch,
            n_ubatch: self.n_ubatch,
            n_threads: self.n_threads,
            type_k: self.type_k.clone(),
            type_v: self.type_v.clone(),
            flash_attn: self.flash_attn_str(),
            n_cpu_moe: self.n_cpu_moe,
            n_gpu_layers: self.n_gpu_layers,
            placement: "explicit".into(),
        }
    }

    /// Host as far as llama-bench describes it (device strings only).
    pub fn host(&self) -> HostFingerprint {
        let gpus = self
            .gpu_info
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        HostFingerprint::new(
            self.cpu_info.clone(),
            None,
            None,
            None,
            gpus,
            String::new(),
            String::new(),
        )
    }

    /// The record; the caller overrides host/model/config when it knows them better.
    pub fn to_record(&self, run_id: &str, seq_no: usize, suite: &str) -> Record {
        // Old outputs without samples still carry the mean: keep it as a single sample.
        let samples = if self.samples_ts.is_empty() {
            vec![self.avg_ts]
        } else {
            self.samples_ts.clone()
        };
        let reps = samples.len() as u32;
        Record {
            schema: RECORD_SCHEMA.into(),
            run_id: run_id.into(),
            seq_no,
            time_utc: self.test_time.clone().unwrap_or_default(),
            suite: suite.into(),
            tool: ToolInfo::this_build(),
            engine: EngineInfo {
                name: "llama.cpp".into(),
                version: self.build_number.map(|n| format!("b{n}")),
                commit: self.build_commit.clone(),
            },
            host: self.host(),
            anchor: None,
            model: ModelIdentity::by_name(&self.model_filename, self.model_size),
            config: self.config(),
            workload: Workload::new(self.n_prompt, self.n_gen, self.n_depth),
            protocol: Protocol::llama_bench_like(reps),
            measurement: Measurement::from_samples(samples, self.samples_ns.clone()),
            prediction: None,
            prediction_error_pct: None,
            status: Status::Ok,
            error: None,
            stderr_tail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::TestKind;

    const SAMPLE: &str = include_str!("testdata/llama-bench-sample.jsonl");

    #[test]
    fn imports_committed_sample() {
        let rows = parse(SAMPLE, "sample.jsonl").unwrap();
        assert_eq!(rows.len(), 4);
        let recs: Vec<Record> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| r.to_record("imp", i, "import"))
            .collect();
        let r = &recs[3];
        assert_eq!(r.workload.kind, TestKind::Tg);
        assert_eq!((r.workload.n_gen, r.workload.n_depth), (128, 4096));
        assert_eq!(r.engine.commit.as_deref(), Some("0c1e570"));
        assert_eq!(r.config.flash_attn, "on");
        assert_eq!(r.config.n_threads, Some(16));
        assert_eq!(r.config.type_k, "q8_0");
        let m = r.measurement.as_ref().unwrap();
        assert_eq!(m.samples_ts.len(), 5);
        assert!((m.median - 38.41).abs() < 1e-9);
        assert_eq!(r.model.name, "Qwen3.5-35B-A3B-Q4_K_M");
        assert_eq!(r.host.gpus, vec!["NVIDIA GeForce RTX 4090".to_string()]);
        // Same point shape, different depth → different key.
        assert_ne!(recs[1].point_key(), recs[3].point_key());
    }

    #[test]
    fn json_array_and_errors() {
        let arr = format!("[{}]", SAMPLE.lines().next().unwrap());
        assert_eq!(parse(&arr, "a.json").unwrap().len(), 1);
        let e = parse("{\"n_prompt\": 1}\n", "bad.jsonl")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad.jsonl: line 1:"), "{e}");
        assert!(parse("", "empty.jsonl").is_err());
    }
}
