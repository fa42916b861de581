//! End to end through the `fitbench` binary: bench with a fake engine, compare, import.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fitbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitbench"));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    c
}

/// A fake engine whose generation speed is `tg` t/s (samples spread ±1 %).
fn fake_engine(dir: &Path, name: &str, tg: f64) -> PathBuf {
    let mut s = String::from("#!/bin/sh\n");
    for (p, g) in [(64, 0), (0, 16)] {
        for d in [0, 256] {
            let base = if p > 0 { 5000.0 } else { tg } * (1.0 - d as f64 / 10000.0);
            let ts: Vec<String> = (0..8)
                .map(|i| format!("{:.3}", base * (1.0 + 0.01 * ((i as f64) * 1.7).sin())))
                .collect();
            s.push_str(&format!(
                "echo '{{\"schema\":\"fitbench-engine-bench/1\",\"engine_version\":\"0.1.0\",\"n_prompt\":{p},\"n_gen\":{g},\"n_depth\":{d},\"n_batch\":2048,\"reps\":8,\"warmup\":true,\"seed\":1,\"depth_mode\":\"untimed_prefill\",\"depth_state_reuse\":\"across_tests\",\"samples_ns\":[],\"samples_ts\":[{}]}}'\n",
                ts.join(",")
            ));
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, s).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn bench(dir: &Path, exe: &Path, results: &str) -> PathBuf {
    let out = fitbench()
        .args(["bench", "quick", "--no-anchor", "--results"])
        .arg(dir.join(results))
        .arg("--engine-exe")
        .arg(exe)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("tg16 @ d256") && stdout.contains("4 point(s) written"),
        "{stdout}"
    );
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join(results))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "svg")),
        "{files:?}"
    );
    files
        .into_iter()
        .find(|f| f.extension().is_some_and(|e| e == "jsonl"))
        .unwrap()
}

#[test]
fn bench_compare_import() {
    if fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf").is_none() {
        eprintln!("skipped: fixture model not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = bench(
        dir.path(),
        &fake_engine(dir.path(), "base", 200.0),
        "r-base",
    );
    let same = bench(
        dir.path(),
        &fake_engine(dir.path(), "same", 200.5),
        "r-same",
    );
    let slow = bench(
        dir.path(),
        &fake_engine(dir.path(), "slow", 150.0),
        "r-slow",
    );

    let ok = fitbench()
        .arg("compare")
        .arg(&base)
        .arg(&same)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{md}");
    assert!(md.contains("**0 regression(s)**"), "{md}");

    let bad = fitbench()
        .arg("compare")
        .arg(&base)
        .arg(&slow)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(2), "{md}");
    assert!(md.contains("**2 regression(s)**"), "{md}");

    let aa = fitbench()
        .args(["compare", "--aa"])
        .arg(&base)
        .arg(&same)
        .output()
        .unwrap();
    assert!(aa.status.success() && String::from_utf8_lossy(&aa.stdout).contains("Noise floor"));

    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bench/testdata/llama-bench-sample.jsonl");
    let imp = fitbench().arg("import").arg(&sample).output().unwrap();
    assert!(imp.status.success());
    assert_eq!(String::from_utf8_lossy(&imp.stdout).lines().count(), 4);

    let missing = fitbench()
        .args(["bench", "no-such-suite", "--no-anchor"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-suite.yaml"));
}

#[test]
fn catalog_model_not_on_disk_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("cat.yaml");
    std::fs::write(
        &suite,
        "name: cat\nmodels: [{catalog: qwen3.5-35b-a3b, quant: Q4_K_M}]\ntests: {depths: [0]}\n",
    )
    .unwrap();
    let out = fitbench()
        .args(["bench", "--no-anchor", "--suite"])
        .arg(&suite)
        .arg("--models-dir")
        .arg(dir.path())
        .env_remove("FITBENCH_MODELS")
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains("cat.yaml: models[0]")
            && e.contains("`qwen3.5-35b-a3b` Q4_K_M")
            && e.contains(&dir.path().display().to_string()),
        "{e}"
    );
}
