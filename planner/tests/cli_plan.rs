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

/// `fitbench plan --profile <the 5080 above> --model qwen3.5-35b-a3b EXTRA… --json`, which must succeed.
fn plan_35b_on_5080(extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("rtx-5080.yaml");
    std::fs::write(&prof, PROFILE_5080).unwrap();
    let mut args = vec![
        "plan",
        "--profile",
        prof.to_str().unwrap(),
        "--model",
        "qwen3.5-35b-a3b",
    ];
    args.extend_from_slice(extra);
    args.push("--json");
    let (ok, out, err) = fitbench(&args);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn plan_rtx_5080_35b_json_matches_reported_setup() {
    let v = plan_35b_on_5080(&[
        "--quant",
        "UD-Q4_K_XL",
        "--ctx",
        "262144",
        "--kv-type",
        "q4_0",
    ]);
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

/// `--n-cpu-moe` evaluates the placement asked for; without --model it is refused.
#[test]
fn plan_evaluates_an_n_cpu_moe_asked_for() {
    let run = |k: &str| plan_35b_on_5080(&["--ctx", "65536", "--n-cpu-moe", k]);
    let (a, b) = (run("20"), run("30"));
    assert_eq!(a["plan"]["placement"]["n_cpu_moe"].as_u64(), Some(20));
    assert_eq!(b["plan"]["placement"]["n_cpu_moe"].as_u64(), Some(30));
    assert!(a["llama_server"]
        .as_str()
        .unwrap()
        .contains("--n-cpu-moe 20"));
    let gen = |v: &serde_json::Value| v["plan"]["gen_tps_empty"].as_f64().unwrap();
    assert!(gen(&a) > gen(&b), "{} vs {}", gen(&a), gen(&b));

    let (ok, _, err) = fitbench(&["plan", "--n-cpu-moe", "4"]);
    assert!(!ok && err.contains("add --model"), "{err}");
}

/// `--sweep`: every --n-cpu-moe value as JSON rows, the plan's choice named; refused without a GPU.
#[test]
fn plan_sweep_lists_every_n_cpu_moe() {
    let v = plan_35b_on_5080(&["--ctx", "65536", "--sweep"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 41);
    let chosen = v["plan"].as_str().unwrap();
    let first_fit = rows.iter().find(|r| r["fits"] == true).unwrap();
    assert_eq!(first_fit["flags"].as_str(), Some(chosen));

    let (ok, _, err) = fitbench(&[
        "plan",
        "--profile",
        "desktop-ddr5-2ch",
        "--model",
        "qwen3.5-35b-a3b",
        "--sweep",
    ]);
    assert!(!ok && err.contains("no GPU"), "{err}");
}
