//! One calibration point: synthesize a slice of a catalog model (random weights, the quant's real
//! type mix), run the bundled engine's llama-bench protocol on it in-process, and record what it
//! cost per token next to what the speed model says it reads and computes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fitbench_engine::bench::{run_bench, BenchLine, BenchSpec};
use fitbench_engine::gguf::GgmlType;
use fitbench_engine::{LoadOptions, Model, Session, SessionOptions};
use serde::{Deserialize, Serialize};

use super::CalibrateError;
use crate::catalog::{slice, synth_spec, SliceRequest};
use crate::estimate::{prompt_flops_per_token, token_reads, Placement, RunConfig};

/// A slice to measure: `LIKE:LAYERS:QUANT:VOCAB`, e.g. `qwen3.5-4b:1:Q4_K_M:8192`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceJob {
    pub like: String,
    pub layers: u64,
    pub quant: String,
    pub vocab: u64,
}

impl SliceJob {
    pub fn parse(s: &str) -> Result<SliceJob, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [like, layers, quant, vocab] = parts[..] else {
            return Err(format!("'{s}': expected LIKE:LAYERS:QUANT:VOCAB"));
        };
        let num = |v: &str, what: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("'{s}': {what} '{v}' is not a positive integer"))
        };
        Ok(SliceJob {
            like: like.to_string(),
            layers: num(layers, "layers")?,
            quant: quant.to_string(),
            vocab: num(vocab, "vocab")?,
        })
    }

    /// File name of the synthesized slice (deterministic: same job and seed, same file).
    fn file_name(&self, seed: u64) -> String {
        format!(
            "{}-{}L-{}-v{}-s{seed}.gguf",
            self.like, self.layers, self.quant, self.vocab
        )
    }
}

/// How each slice is benchmarked.
#[derive(Debug, Clone, Copy)]
pub struct BenchSettings {
    pub n_prompt: usize,
    pub n_gen: usize,
    pub reps: usize,
    /// Engine threads (0 = one per core).
    pub threads: usize,
    pub seed: u64,
}

/// What one slice cost, with the model's view of the same work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub slice: SliceJob,
    pub file_bytes: u64,
    pub n_layers: usize,
    pub n_prompt: usize,
    pub n_gen: usize,
    /// Bytes the speed model says a generated token reads (at the mean tg depth).
    pub gen_bytes_per_token: f64,
    /// FLOPs the speed model says a prompt token costs (at the mean pp depth).
    pub prompt_flops_per_token: f64,
    /// Median of the repetitions.
    pub tg_tps: f64,
    pub pp_tps: f64,
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// Writes the slice into `work_dir` unless a complete copy is already there; returns its path.
fn synthesize(job: &SliceJob, work_dir: &Path, seed: u64) -> Result<PathBuf, CalibrateError> {
    let req = SliceRequest {
        like: job.like.clone(),
        layers: Some(job.layers),
        quant: job.quant.clone(),
        vocab: Some(job.vocab),
    };
    let (entry, quant, spec) = slice(&req).map_err(|e| CalibrateError::Slice(e.to_string()))?;
    let path = work_dir.join(job.file_name(seed));
    // A complete earlier copy has the same tensor bytes; a truncated one fails to open.
    if let Ok(existing) = crate::model::open(&path) {
        if existing.total_bytes() == spec.total_bytes() {
            return Ok(path);
        }
    }
    std::fs::create_dir_all(work_dir).map_err(|e| CalibrateError::Io {
        path: work_dir.display().to_string(),
        what: e.to_string(),
    })?;
    let synth = synth_spec(&entry, &quant, &spec, seed)
        .map_err(|e| CalibrateError::Slice(e.to_string()))?;
    fitbench_engine::synth::write_synth(&synth, &path).map_err(|e| CalibrateError::Io {
        path: path.display().to_string(),
        what: e.to_string(),
    })?;
    Ok(path)
}

/// Synthesizes (or reuses) the slice and measures it.
pub fn measure(
    job: &SliceJob,
    settings: &BenchSettings,
    work_dir: &Path,
) -> Result<Measurement, CalibrateError> {
    if settings.n_prompt == 0 || settings.n_gen == 0 || settings.reps == 0 {
        return Err(CalibrateError::Settings(
            "prompt, generation and repetitions must all be at least 1".into(),
        ));
    }
    let path = synthesize(job, work_dir, settings.seed)?;
    measure_file(&path, job, settings)
}

/// Measures an existing GGUF (`job` only labels the result).
pub fn measure_file(
    path: &Path,
    job: &SliceJob,
    settings: &BenchSettings,
) -> Result<Measurement, CalibrateError> {
    if settings.n_prompt == 0 || settings.n_gen == 0 || settings.reps == 0 {
        return Err(CalibrateError::Settings(
            "prompt, generation and repetitions must all be at least 1".into(),
        ));
    }
    let shown = path.display().to_string();
    let engine_err = |what: String| CalibrateError::Engine {
        path: shown.clone(),
        what,
    };
    let spec = crate::model::open(path).map_err(|e| engine_err(e.to_string()))?;
    let model =
        Model::load(path, &LoadOptions::default()).map_err(|e| engine_err(e.to_string()))?;
    let opts = SessionOptions {
        n_ctx: settings.n_prompt.max(settings.n_gen) + 8,
        n_batch: settings.n_prompt,
        n_ubatch: settings.n_prompt.min(512),
        n_threads: settings.threads,
        kv_type_k: GgmlType::F16,
        kv_type_v: GgmlType::F16,
        flash_attn: true,
    };
    let n_ctx = opts.n_ctx as u64;
    let mut session = Session::new(&model, opts).map_err(|e| engine_err(e.to_string()))?;
    let bench = BenchSpec {
        n_prompt: vec![settings.n_prompt],
        n_gen: vec![settings.n_gen],
        depths: vec![0],
        n_batch: settings.n_prompt,
        reps: settings.reps,
        warmup: true,
        seed: settings.seed,
        params: BTreeMap::new(),
    };
    let mut lines: Vec<BenchLine> = Vec::new();
    run_bench(&mut session, &bench, None, |l| lines.push(l.clone()));
    if let Some(e) = lines.iter().find_map(|l| l.error.clone()) {
        return Err(engine_err(format!("benchmark failed: {e}")));
    }
    let rate = |pp: bool| {
        lines
            .iter()
            .find(|l| (l.n_prompt > 0) == pp)
            .and_then(|l| median(&l.samples_ts))
            .filter(|&r| r > 0.0)
            .ok_or_else(|| engine_err("the benchmark produced no timing".into()))
    };
    let (pp_tps, tg_tps) = (rate(true)?, rate(false)?);

    let cfg = RunConfig::new(n_ctx, GgmlType::F16);
    let r = token_reads(
        &spec,
        &Placement::cpu_only(),
        &cfg,
        (settings.n_gen / 2) as u64,
        false,
    );
    let prompt_flops = prompt_flops_per_token(&spec, (settings.n_prompt / 2) as u64);
    Ok(Measurement {
        slice: job.clone(),
        file_bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        n_layers: spec.n_layers(),
        n_prompt: settings.n_prompt,
        n_gen: settings.n_gen,
        gen_bytes_per_token: r.cpu_weights + r.cpu_kv,
        prompt_flops_per_token: prompt_flops.total(),
        tg_tps,
        pp_tps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_jobs_parse_and_reject_bad_input() {
        let j = SliceJob::parse("gemma-3-270m:2:Q4_K_M:256").unwrap();
        assert_eq!(j.layers, 2);
        assert_eq!(j.vocab, 256);
        assert!(SliceJob::parse("gemma-3-270m:2:Q4_K_M").is_err());
        assert!(SliceJob::parse("gemma-3-270m:0:Q4_K_M:256").is_err());
        assert!(SliceJob::parse("gemma-3-270m:x:Q4_K_M:256").is_err());
    }

    #[test]
    fn median_of_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
