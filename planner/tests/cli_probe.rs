//! `fitbench probe --yaml` and `fitbench profiles --json` through the real binary.

use std::process::Command;

fn fitbench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fitbench"))
        .args(args)
        .output()
        .expect("run fitbench");
    assert!(
        out.status.success(),
        "fitbench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn probe_yaml_saved_to_a_file_loads_back() {
    let yaml = fitbench(&["probe", "--yaml"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my-box.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let loaded = fitbench::hw::load_profile_file(&path).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert!(loaded.ram.total_gib > 0.0);
    assert!(loaded.ram.measured_read_gbs.is_some_and(|b| b > 0.0));
    assert!(loaded.cpu.logical_cores >= 1);
}

#[test]
fn probe_json_and_table() {
    let json = fitbench(&["probe", "--json", "--no-bandwidth"]);
    let p: fitbench::hw::HardwareProfile = serde_json::from_str(&json).unwrap();
    assert!(p.ram.measured_read_gbs.is_none());
    let table = fitbench(&["probe", "--no-bandwidth"]);
    assert!(
        table.contains("RAM") && table.contains("not measured"),
        "{table}"
    );
}

#[test]
fn profiles_json_lists_every_builtin() {
    let json = fitbench(&["profiles", "--json"]);
    let list: Vec<fitbench::hw::HardwareProfile> = serde_json::from_str(&json).unwrap();
    assert_eq!(list.len(), fitbench::hw::builtin_profile_names().len());
    assert!(list.len() >= 30);
    let table = fitbench(&["profiles"]);
    assert!(table.contains("m4-max-128gb") && table.contains("2x-rtx-3090"));
}
