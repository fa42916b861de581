//! `fitbench calibrate`: measure this machine's CPU speed coefficients on synthetic slices of
//! catalog models (so nothing has to be downloaded), fit the speed model's CPU terms to them, and
//! store the result per host. `fitbench plan` on the same host then predicts with them.
//!
//! The slices run on the bundled engine in-process; the coefficients therefore describe the
//! bundled engine on this machine, which the planner uses for CPU work in its llama.cpp
//! predictions too (issue 4 holds the engine to at least llama.cpp's speed). GPU terms are not
//! calibrated (the engine has no GPU backend yet).

mod fit;
mod measure;
mod store;

pub use fit::{
    fit_generation, fit_prompt, generation_residual, prompt_residual, FitError, GenerationFit,
    PromptCost, TokenCost,
};
pub use measure::{measure, measure_file, BenchSettings, Measurement, SliceJob};
pub use store::{
    default_dir, file_name, load, load_for_host, save, today_utc, CalibrationFile, StoreError,
    CALIBRATION_SCHEMA,
};

use std::path::Path;

use crate::bench::host::HostFingerprint;
use crate::hw::{CpuCalibration, HardwareProfile};

/// `--quick`: two small slices that differ in bytes per layer (so the read rate and the per-layer
/// cost separate), vocabulary 8192; under a minute on 2 cores including synthesis.
pub const QUICK_SLICES: &[&str] = &["gemma-3-270m:6:Q4_K_M:8192", "qwen3.5-4b:1:Q4_K_M:8192"];

/// Default: the quick slices plus a MoE layer (expert routing) and a larger dense slice; a few
/// minutes the first time (synthesis), the slices are kept in the work directory for reruns.
pub const FULL_SLICES: &[&str] = &[
    "gemma-3-270m:6:Q4_K_M:8192",
    "qwen3.5-4b:1:Q4_K_M:8192",
    "qwen3-30b-a3b:1:Q4_K_M:8192",
    "qwen3.5-9b:1:Q8_0:8192",
];

#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error("slice: {0}")]
    Slice(String),
    #[error("{path}: {what}")]
    Io { path: String, what: String },
    #[error("engine on {path}: {what}")]
    Engine { path: String, what: String },
    #[error("settings: {0}")]
    Settings(String),
    #[error("fitting the measurements: {0}")]
    Fit(#[from] FitError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Measures every slice (reporting each as it finishes) and fits the coefficients.
pub fn calibrate(
    jobs: &[SliceJob],
    settings: &BenchSettings,
    work_dir: &Path,
    host: HostFingerprint,
    mut progress: impl FnMut(&Measurement),
) -> Result<CalibrationFile, CalibrateError> {
    let mut measurements = Vec::with_capacity(jobs.len());
    for job in jobs {
        let m = measure(job, settings, work_dir)?;
        progress(&m);
        measurements.push(m);
    }
    fit_file(measurements, settings.threads, host)
}

/// Fits stored measurements into a calibration file.
pub fn fit_file(
    measurements: Vec<Measurement>,
    threads: usize,
    host: HostFingerprint,
) -> Result<CalibrationFile, CalibrateError> {
    let gen: Vec<TokenCost> = measurements
        .iter()
        .map(|m| TokenCost {
            bytes: m.gen_bytes_per_token,
            layers: m.n_layers as f64,
            seconds: 1.0 / m.tg_tps,
        })
        .collect();
    let prompt: Vec<PromptCost> = measurements
        .iter()
        .map(|m| PromptCost {
            flops: m.prompt_flops_per_token,
            seconds: 1.0 / m.pp_tps,
        })
        .collect();
    let g = fit_generation(&gen)?;
    let rate = fit_prompt(&prompt)?;
    let threads = if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    Ok(CalibrationFile {
        schema: CALIBRATION_SCHEMA.to_string(),
        host,
        cpu: CpuCalibration {
            gen_read_gbs: g.read_rate / 1e9,
            gen_layer_overhead_s: g.layer_overhead_s,
            prompt_gflops: rate / 1e9,
            measured_on: today_utc(),
            engine: format!("fitbench-engine {}", env!("CARGO_PKG_VERSION")),
            threads,
        },
        gen_fit_max_error: generation_residual(&g, &gen),
        prompt_fit_max_error: prompt_residual(rate, &prompt),
        load_average: None,
        measurements,
    })
}

/// Attaches this host's stored calibration (from `dir`, else the default directory) to a profile
/// probed on this host. Returns a warning when a stored file exists but cannot be used.
pub fn attach_host_calibration(hw: &mut HardwareProfile, dir: Option<&Path>) -> Option<String> {
    let dir = match dir
        .map(Path::to_path_buf)
        .map(Ok)
        .unwrap_or_else(default_dir)
    {
        Ok(d) => d,
        Err(_) => return None,
    };
    match load_for_host(&dir, &HostFingerprint::detect()) {
        Ok(Some(f)) => {
            hw.calibration = Some(f.cpu);
            None
        }
        Ok(None) => None,
        Err(e) => Some(format!(
            "ignoring the stored calibration ({e}); run `fitbench calibrate` again"
        )),
    }
}

/// One line for plans: whether predictions use coefficients measured on this machine.
pub fn status(hw: &HardwareProfile, planned_for_this_host: bool) -> String {
    match (&hw.calibration, planned_for_this_host) {
        (Some(c), _) => {
            let gpu = if hw.gpus.is_empty() {
                ""
            } else {
                "; GPU terms uncalibrated"
            };
            format!(
                "calibrated on this machine, {} ({}, {} threads: {:.1} GB/s effective read, {:.0} GFLOP/s prompt{gpu})",
                c.measured_on, c.engine, c.threads, c.gen_read_gbs, c.prompt_gflops
            )
        }
        (None, true) => "uncalibrated: run `fitbench calibrate`".to_string(),
        (None, false) => {
            "uncalibrated: built-in coefficients (a profile, not this machine)".to_string()
        }
    }
}

#[cfg(test)]
mod tests;
