//! Runner tests against a fake engine: a shell script that prints JSON lines and then dies.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::host::HostFingerprint;
use super::record::Status;
use super::results_file::read_records;
use super::runner::{run_model, EngineKind, RunnerOptions};
use super::suite::Suite;

fn line(p: u32, g: u32, d: u32) -> String {
    let ts = if p > 0 {
        "[6400.0, 6300.0]"
    } else {
        "[160.0, 158.0]"
    };
    format!(
        r#"{{"schema":"fitbench-engine-bench/1","engine_version":"0.1.0","n_prompt":{p},"n_gen":{g},"n_depth":{d},"n_batch":2048,"reps":2,"warmup":true,"seed":1,"depth_mode":"untimed_prefill","depth_state_reuse":"across_tests","samples_ns":[10000000,10100000],"samples_ts":{ts}}}"#
    )
}

/// Writes an executable script that logs its arguments to `log`, prints `lines`, then runs `end`.
fn fake_engine(dir: &Path, name: &str, log: &Path, lines: &[String], end: &str) -> PathBuf {
    let mut s = format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display());
    for l in lines {
        s.push_str(&format!("echo '{l}'\n"));
    }
    s.push_str(end);
    s.push('\n');
    let path = dir.join(name);
    std::fs::write(&path, s).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn model() -> Option<PathBuf> {
    let m = fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf");
    if m.is_none() {
        eprintln!("skipped: fixture model not found");
    }
    m
}

fn suite(model: &Path) -> Suite {
    let y = format!(
        "name: quick\nmodels: [{{file: '{}'}}]\ntests: {{n_prompt: [64], n_gen: [16], depths: [0, 256]}}\nreps: 2\ntimeout_s: 60\n",
        model.display()
    );
    Suite::parse(&y, "test.yaml").unwrap()
}

fn opts(exe: PathBuf, results: PathBuf, resume: bool) -> RunnerOptions {
    RunnerOptions {
        engine: EngineKind::Fitbench,
        engine_exe: exe,
        results_dir: results,
        resume,
        progress: false,
        host: HostFingerprint::new(
            "Fake CPU".into(),
            Some(2),
            Some(2),
            Some(8 << 30),
            vec![],
            "".into(),
            "testhost".into(),
        ),
        anchor: None,
        timeout: None,
        context_limit: None,
        hardware: Some(crate::estimate::machines::cpu_2core()),
    }
}

fn all_lines() -> Vec<String> {
    vec![
        line(64, 0, 0),
        line(0, 16, 0),
        line(64, 0, 256),
        line(0, 16, 256),
    ]
}

#[test]
fn crash_midway_keeps_earlier_points_and_records_failures_then_resume() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("args.log");
    let results = dir.path().join("results");
    let s = suite(&model);
    for (name, end, why) in [
        (
            "killed",
            "echo 'ggml: out of memory' >&2; kill -9 $$",
            "signal",
        ),
        ("exit3", "echo 'ggml: out of memory' >&2; exit 3", "3"),
    ] {
        let _ = std::fs::remove_dir_all(&results);
        let crash = fake_engine(dir.path(), name, &log, &all_lines()[..2], end);
        let out = run_model(&s, &model, &opts(crash, results.clone(), false)).unwrap();
        let on_disk = read_records(&out.results_path).unwrap();
        assert_eq!(on_disk.len(), 4, "{name}");
        assert_eq!(on_disk, out.records);
        let st: Vec<Status> = on_disk.iter().map(|r| r.status).collect();
        assert_eq!(
            st,
            vec![Status::Ok, Status::Ok, Status::Failed, Status::Failed],
            "{name}"
        );
        let ok = &on_disk[0];
        assert_eq!(ok.workload.name(), "pp64");
        assert_eq!(ok.measurement.as_ref().unwrap().median, 6350.0);
        // The planner's prediction for the point, and the error of the measured median against it.
        let predicted = ok.prediction.as_ref().unwrap().tokens_per_s;
        let err = ok.prediction_error_pct.unwrap();
        assert!((err - (6350.0 - predicted) / predicted * 100.0).abs() < 1e-9);
        assert!(on_disk[3].prediction.is_some() && on_disk[3].prediction_error_pct.is_none());
        let failed = &on_disk[3];
        assert_eq!(failed.workload.name(), "tg16 @ d256");
        assert!(
            failed.error.as_deref().unwrap().contains(why),
            "{:?}",
            failed.error
        );
        assert!(failed
            .stderr_tail
            .as_deref()
            .unwrap()
            .contains("out of memory"));
        let name_ok = out
            .results_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name_ok.ends_with("-testhost-qwen35moe-tiny-Q4_K_M-quick.jsonl"),
            "{name_ok}"
        );
    }
    let args = std::fs::read_to_string(&log).unwrap();
    let first = args.lines().next().unwrap();
    assert!(
        first.starts_with("bench -m ")
            && first.contains("-p 64 -n 16 -d 0,256")
            && first.contains("-r 2 -o jsonl"),
        "{first}"
    );

    // Resume: only depth 256 is run again.
    let good = fake_engine(dir.path(), "good", &log, &all_lines(), "exit 0");
    let out = run_model(&s, &model, &opts(good.clone(), results.clone(), true)).unwrap();
    assert_eq!(out.skipped, 2);
    assert_eq!(out.records.len(), 2);
    assert!(out
        .records
        .iter()
        .all(|r| r.status == Status::Ok && r.workload.n_depth == 256));
    let last = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(last.contains("-d 256 "), "{last}");
    assert_eq!(read_records(&out.results_path).unwrap().len(), 6);

    // Everything done: the engine is not started at all.
    let calls = std::fs::read_to_string(&log).unwrap().lines().count();
    let out = run_model(&s, &model, &opts(good, results, true)).unwrap();
    assert_eq!((out.skipped, out.records.len()), (4, 0));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        calls
    );
}

#[test]
fn timeout_kills_the_engine() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("args.log");
    let hang = fake_engine(
        dir.path(),
        "hang",
        &log,
        &all_lines()[..1],
        "echo 'stuck' >&2; exec sleep 30",
    );
    let mut o = opts(hang, dir.path().join("r"), false);
    o.timeout = Some(Duration::from_millis(700));
    let t = std::time::Instant::now();
    let out = run_model(&suite(&model), &model, &o).unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(out.records.len(), 4);
    assert_eq!(out.records[0].status, Status::Ok);
    assert!(out.records[1]
        .error
        .as_deref()
        .unwrap()
        .contains("timed out"));
    assert_eq!(out.records[1].stderr_tail.as_deref(), Some("stuck"));
}

#[test]
fn engine_error_line_becomes_failed_point() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("args.log");
    let mut lines = all_lines();
    lines[1] = lines[1].replace("}", r#","error":"decode failed: KV cache full"}"#);
    let exe = fake_engine(dir.path(), "e", &log, &lines, "exit 1");
    let out = run_model(
        &suite(&model),
        &model,
        &opts(exe, dir.path().join("r"), false),
    )
    .unwrap();
    let r = out
        .records
        .iter()
        .find(|r| r.workload.name() == "tg16")
        .unwrap();
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("decode failed: KV cache full"));
    assert_eq!(
        out.records
            .iter()
            .filter(|r| r.status == Status::Ok)
            .count(),
        3
    );
}

#[test]
fn unwritable_results_folder_is_a_clear_error() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let exe = fake_engine(
        dir.path(),
        "e",
        &dir.path().join("log"),
        &all_lines(),
        "exit 0",
    );
    let e = run_model(
        &suite(&model),
        &model,
        &opts(exe, blocker.join("results"), false),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("cannot create results folder") && e.contains("not-a-dir"),
        "{e}"
    );
}

#[test]
fn missing_engine_records_failed_points() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = run_model(
        &suite(&model),
        &model,
        &opts(dir.path().join("nope"), dir.path().join("r"), false),
    )
    .unwrap();
    assert_eq!(out.records.len(), 4);
    assert!(out.records.iter().all(
        |r| r.status == Status::Failed && r.error.as_deref().unwrap().contains("cannot start")
    ));
}

#[test]
fn llama_bench_engine_output_is_converted() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("args.log");
    let row = |p: u32, g: u32, d: u32| {
        format!(
            r#"{{"build_commit":"0c1e570","build_number":7212,"cpu_info":"AMD EPYC","gpu_info":"","backends":"CPU","model_filename":"x.gguf","model_type":"qwen35moe ?B Q4_K - Medium","model_size":5560032,"model_n_params":1,"n_batch":2048,"n_ubatch":512,"n_threads":2,"type_k":"f16","type_v":"f16","n_gpu_layers":-1,"n_cpu_moe":0,"flash_attn":-1,"n_prompt":{p},"n_gen":{g},"n_depth":{d},"test_time":"2026-11-23T00:00:00Z","avg_ns":1,"stddev_ns":0,"avg_ts":100.0,"stddev_ts":1.0,"samples_ns":[1,1],"samples_ts":[99.0,101.0]}}"#
        )
    };
    let lines = vec![
        row(64, 0, 0),
        row(0, 16, 0),
        row(64, 0, 256),
        row(0, 16, 256),
    ];
    let exe = fake_engine(dir.path(), "llama-bench", &log, &lines, "exit 0");
    let mut o = opts(exe, dir.path().join("r"), false);
    o.engine = EngineKind::LlamaCpp;
    let out = run_model(&suite(&model), &model, &o).unwrap();
    assert_eq!(out.records.len(), 4);
    assert!(out
        .records
        .iter()
        .all(|r| r.status == Status::Ok && r.engine.name == "llama.cpp"));
    assert_eq!(out.records[0].engine.commit.as_deref(), Some("0c1e570"));
    // Host and model identity are this run's, not llama-bench's strings.
    assert_eq!(out.records[0].host.cpu_model, "Fake CPU");
    assert!(out.records[0].model.header_sha256.is_some());
    assert_eq!(out.records[3].measurement.as_ref().unwrap().median, 100.0);
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.starts_with("-m "),
        "llama-bench gets no `bench` subcommand: {args}"
    );
}
