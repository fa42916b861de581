//! End-to-end: tiny slices through synthesis, the engine, the fit, the store and the speed model.

use super::*;
use crate::estimate::{generation_tps, prompt_tps, Placement, RunConfig};
use crate::model::ModelSpec;

fn tiny_jobs() -> Vec<SliceJob> {
    // Different bytes per layer (hidden 640 vs 1024 with DeltaNet), so both generation terms fit.
    ["gemma-3-270m:2:Q4_K_M:256", "qwen3.5-0.8b:1:Q8_0:256"]
        .iter()
        .map(|s| SliceJob::parse(s).unwrap())
        .collect()
}

fn settings() -> BenchSettings {
    BenchSettings {
        n_prompt: 16,
        n_gen: 4,
        reps: 1,
        threads: 0,
        seed: 7,
    }
}

fn calibrated_cpu(cal: CpuCalibration) -> HardwareProfile {
    let mut hw = crate::estimate::machines::cpu_2core();
    hw.calibration = Some(cal);
    hw
}

fn spec_of(dir: &std::path::Path, m: &Measurement) -> ModelSpec {
    let j = &m.slice;
    let name = format!(
        "{}-{}L-{}-v{}-s{}.gguf",
        j.like,
        j.layers,
        j.quant,
        j.vocab,
        settings().seed
    );
    crate::model::open(dir.join(name)).unwrap()
}

#[test]
fn calibration_runs_on_tiny_slices_and_the_plan_uses_it() {
    let work = tempfile::tempdir().unwrap();
    let host = crate::bench::host::HostFingerprint::detect();
    let mut seen = 0;
    let file = calibrate(&tiny_jobs(), &settings(), work.path(), host.clone(), |m| {
        seen += 1;
        assert!(m.tg_tps > 0.0 && m.pp_tps > 0.0, "{m:?}");
    })
    .unwrap();
    assert_eq!(seen, 2);
    let c = &file.cpu;
    println!(
        "tiny calibration: read {:.2} GB/s, {:.1} us/layer, prompt {:.1} GFLOP/s, fit errors {:.3}/{:.3}",
        c.gen_read_gbs,
        c.gen_layer_overhead_s * 1e6,
        c.prompt_gflops,
        file.gen_fit_max_error,
        file.prompt_fit_max_error
    );
    assert!(c.gen_read_gbs > 0.0 && c.prompt_gflops > 0.0);
    assert_eq!(c.measured_on.len(), 10);

    // Stored and read back for this host; a different host does not get it.
    let store_dir = tempfile::tempdir().unwrap();
    let path = store_dir.path().join(file_name(&host));
    save(&file, &path).unwrap();
    let back = load_for_host(store_dir.path(), &host).unwrap().unwrap();
    assert_eq!(back, file);
    let mut other = host.clone();
    other.fingerprint = "sha256:0000".into();
    assert!(load_for_host(store_dir.path(), &other).unwrap().is_none());

    // The planner's speed model, given the coefficients, reproduces each measured slice within the
    // fit's own residual (it evaluates the same formula the fit used, on the GGUF header). The
    // residuals are relative errors in time per token: predicted time / measured time - 1.
    let hw = calibrated_cpu(file.cpu.clone());
    for m in &file.measurements {
        let spec = spec_of(work.path(), m);
        let cfg = RunConfig::new(64, fitbench_engine::gguf::GgmlType::F16);
        let p = Placement::cpu_only();
        let tg = generation_tps(&spec, &hw, &p, &cfg, (m.n_gen / 2) as u64);
        let err = (m.tg_tps / tg - 1.0).abs();
        assert!(
            err <= file.gen_fit_max_error + 0.01,
            "{}: model {tg:.1} t/s vs measured {:.1}",
            m.slice.like,
            m.tg_tps
        );
        let pp = prompt_tps(&spec, &hw, &p, &cfg, (m.n_prompt / 2) as u64);
        let err = (m.pp_tps / pp - 1.0).abs();
        assert!(
            err <= file.prompt_fit_max_error + 0.01,
            "{}: model {pp:.1} t/s vs measured {:.1}",
            m.slice.like,
            m.pp_tps
        );
    }

    // Reuse: a second run finds the synthesized slices and does not rewrite them.
    let before: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().modified().unwrap())
        .collect();
    calibrate(&tiny_jobs(), &settings(), work.path(), host, |_| {}).unwrap();
    let after: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().modified().unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn plan_status_says_whether_it_is_calibrated() {
    let hw = crate::estimate::machines::cpu_2core();
    assert_eq!(status(&hw, true), "uncalibrated: run `fitbench calibrate`");
    assert!(status(&hw, false).starts_with("uncalibrated"));
    let hw = calibrated_cpu(CpuCalibration {
        gen_read_gbs: 12.0,
        gen_layer_overhead_s: 20e-6,
        prompt_gflops: 90.0,
        measured_on: "2026-11-23".into(),
        engine: "fitbench-engine 0.1.0".into(),
        threads: 2,
    });
    assert!(status(&hw, true).starts_with("calibrated on this machine, 2026-11-23"));
}

#[test]
fn stored_coefficients_change_the_cpu_prediction() {
    let e = crate::catalog::find("qwen3.5-35b-a3b").unwrap().unwrap();
    let spec = crate::catalog::synthesize(&e, &crate::catalog::Quant::parse("Q4_K_M").unwrap());
    let cfg = RunConfig::new(4096, fitbench_engine::gguf::GgmlType::F16);
    let p = Placement::cpu_only();
    let plain = crate::estimate::machines::cpu_2core();
    let slow = calibrated_cpu(CpuCalibration {
        gen_read_gbs: 6.4, // half of the built-in 16 GB/s x 0.8
        gen_layer_overhead_s: 0.0,
        prompt_gflops: 40.5, // half of 150 x 0.54
        measured_on: "2026-11-23".into(),
        engine: "test".into(),
        threads: 2,
    });
    let ratio =
        generation_tps(&spec, &plain, &p, &cfg, 0) / generation_tps(&spec, &slow, &p, &cfg, 0);
    assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
    let ratio = prompt_tps(&spec, &plain, &p, &cfg, 0) / prompt_tps(&spec, &slow, &p, &cfg, 0);
    assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
}

/// Held-out check (slow, opt-in): calibrate with the quick slices, then predict a model the fit
/// never saw and compare with the engine's own measurement of it.
/// `FITBENCH_CALIBRATE_HELDOUT=/path/to/model.gguf cargo test -p fitbench --release heldout -- --nocapture`
#[test]
fn heldout_prediction_after_quick_calibration() {
    let Some(file) = std::env::var_os("FITBENCH_CALIBRATE_HELDOUT") else {
        println!("skipped: set FITBENCH_CALIBRATE_HELDOUT to a GGUF to run the held-out check");
        return;
    };
    let path = std::path::PathBuf::from(file);
    let work = std::env::temp_dir().join("fitbench-calibrate");
    let settings = BenchSettings {
        n_prompt: 64,
        n_gen: 16,
        reps: 2,
        threads: 0,
        seed: 0,
    };
    let jobs: Vec<SliceJob> = QUICK_SLICES
        .iter()
        .map(|s| SliceJob::parse(s).unwrap())
        .collect();
    let host = crate::bench::host::HostFingerprint::detect();
    let cal = calibrate(&jobs, &settings, &work, host, |m| {
        println!(
            "fit slice {}: tg {:.1} pp {:.1}",
            m.slice.like, m.tg_tps, m.pp_tps
        )
    })
    .unwrap();
    let label = SliceJob {
        like: path.display().to_string(),
        layers: 0,
        quant: String::new(),
        vocab: 0,
    };
    let m = measure_file(&path, &label, &settings).unwrap();
    let spec = crate::model::open(&path).unwrap();
    let hw = calibrated_cpu(cal.cpu.clone());
    let plain = crate::probe::probe(true).unwrap();
    let cfg = RunConfig::new(128, fitbench_engine::gguf::GgmlType::F16);
    let p = Placement::cpu_only();
    let tg_cal = generation_tps(&spec, &hw, &p, &cfg, 8);
    let tg_plain = generation_tps(&spec, &plain, &p, &cfg, 8);
    let pp_cal = prompt_tps(&spec, &hw, &p, &cfg, 32);
    let pp_plain = prompt_tps(&spec, &plain, &p, &cfg, 32);
    println!(
        "coefficients: {:.2} GB/s, {:.1} us/layer, {:.1} GFLOP/s",
        cal.cpu.gen_read_gbs,
        cal.cpu.gen_layer_overhead_s * 1e6,
        cal.cpu.prompt_gflops
    );
    println!(
        "held-out {}: measured tg {:.1} pp {:.1}; calibrated tg {tg_cal:.1} ({:+.0}%) pp {pp_cal:.1} ({:+.0}%); \
         built-in tg {tg_plain:.1} ({:+.0}%) pp {pp_plain:.1} ({:+.0}%)",
        path.display(),
        m.tg_tps,
        m.pp_tps,
        (tg_cal / m.tg_tps - 1.0) * 100.0,
        (pp_cal / m.pp_tps - 1.0) * 100.0,
        (tg_plain / m.tg_tps - 1.0) * 100.0,
        (pp_plain / m.pp_tps - 1.0) * 100.0
    );
}
