//! End-to-end: the `fitbench` binary's plan and inspect commands.

use std::process::Command;

const PROFILE_5080: &str = "name: rtx-5080
description: \"test desktop: RTX 5080 16 GB, dual-channel DDR5-6000\"
cpu: {name: \"8-core desktop\", physical_cores: 8, logical_cores: 16, gflops: 1000}
ram: {total_gib: 64, bandwidth_gbs: 96}
gpus:
  - {name: \"RTX 5080\", backend: cuda, vram_gib: 16, bandwidth_gbs: 960, fp16_tflops: 112.6, pcie: {gen: 5, width: 16, bandwidth_gbs: 64}}
";

fn fitbench(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fitbench"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plan_rtx_5080_35b_json_matches_reported_setup() {
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("rtx-5080.yaml");
    std::fs::write(&prof, PROFILE_5080).unwrap();
    let (ok, out, err) = fitbench(&[
        "plan",
        "--profile",
        prof.to_str().unwrap(),
        "--model",
        "qwen3.5-35b-a3b",
        "--quant",
        "UD-Q4_K_XL",
        "--ctx",
        "262144",
        "--kv-type",
        "q4_0",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let n_cpu_moe = v["plan"]["placement"]["n_cpu_moe"].as_u64().unwrap();
    assert!((13..=19).contains(&n_cpu_moe), "{n_cpu_moe}");
    let cmd = v["llama_server"].as_str().unwrap();
    assert!(
        cmd.contains("-c 262144 -ngl 999 --n-cpu-moe")
            && cmd.contains("-fa on -ctk q4_0 -ctv q4_0"),
        "{cmd}"
    );
    let gen = v["plan"]["gen_tps_empty"].as_f64().unwrap();
    assert!((gen / 51.1 - 1.0).abs() < 0.25, "{gen}");
}

#[test]
fn plan_ranks_the_catalog_for_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("rtx-5080.yaml");
    std::fs::write(&prof, PROFILE_5080).unwrap();
    let (ok, out, err) = fitbench(&["plan", "--profile", prof.to_str().unwrap(), "--yaml"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Qwen3.5-35B-A3B") && out.contains("llama_server"),
        "{}",
        &out[..out.len().min(2000)]
    );
}

#[test]
fn inspect_a_fixture_and_reject_a_bad_file() {
    let f = fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf").unwrap();
    let (ok, out, err) = fitbench(&["inspect", f.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["layer_pattern"], "RRRA");
    assert_eq!(v["recurrent_state_bytes_per_seq"], 3 * (6144 + 32768));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.gguf");
    std::fs::write(&bad, b"GGUF\x03\x00\x00\x00").unwrap();
    let (ok, _, err) = fitbench(&["inspect", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("broken.gguf"), "{err}");
    let (ok, _, err) = fitbench(&["plan", "--model", "no-such-model"]);
    assert!(
        !ok && err.contains("neither a file nor a catalog model"),
        "{err}"
    );
}
