//! End-to-end: `fitbench calibrate` on tiny slices stores a per-host file, and `fitbench plan` on
//! this machine then says it is calibrated (and a profile plan says it is not).

use std::process::Command;

fn fitbench(args: &[&str], calib_dir: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fitbench"))
        .args(args)
        .env("FITBENCH_CALIBRATION_DIR", calib_dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn calibrate_then_plan_reports_calibrated() {
    let calib = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (ok, out, err) = fitbench(
        &["plan", "--model", "qwen3.5-0.8b", "--ctx", "4096", "--json"],
        calib.path(),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("uncalibrated: run `fitbench calibrate`"),
        "{out}"
    );

    let (ok, out, err) = fitbench(
        &[
            "calibrate",
            "--slice",
            "gemma-3-270m:2:Q4_K_M:256",
            "--slice",
            "qwen3.5-0.8b:1:Q4_K_M:256",
            "-p",
            "16",
            "-n",
            "4",
            "-r",
            "1",
            "--work-dir",
            work.path().to_str().unwrap(),
        ],
        calib.path(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("effective read"), "{out}");
    let stored: Vec<_> = std::fs::read_dir(calib.path()).unwrap().collect();
    assert_eq!(stored.len(), 1, "one file per host");

    let (ok, out, err) = fitbench(
        &["plan", "--model", "qwen3.5-0.8b", "--ctx", "4096", "--json"],
        calib.path(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("calibrated on this machine"), "{out}");
    // A built-in profile is another machine: its plan stays uncalibrated.
    let (ok, out, err) = fitbench(
        &[
            "plan",
            "--profile",
            "rtx-3090",
            "--model",
            "qwen3.5-0.8b",
            "--json",
        ],
        calib.path(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("uncalibrated: built-in coefficients"), "{out}");
}

#[test]
fn calibrate_rejects_bad_slices_clearly() {
    let calib = tempfile::tempdir().unwrap();
    let (ok, _, err) = fitbench(&["calibrate", "--slice", "nope:1:Q4_K_M:256"], calib.path());
    assert!(!ok);
    assert!(err.contains("unknown model 'nope'"), "{err}");
    let (ok, _, err) = fitbench(
        &["calibrate", "--slice", "gemma-3-270m:1:Q4_K_M"],
        calib.path(),
    );
    assert!(!ok);
    assert!(err.contains("LIKE:LAYERS:QUANT:VOCAB"), "{err}");
}

#[test]
fn a_corrupt_calibration_file_is_named_and_ignored() {
    let calib = tempfile::tempdir().unwrap();
    // One tiny slice (bandwidth-only fit), then corrupt the file it stored for this host.
    let work = tempfile::tempdir().unwrap();
    let (ok, _, err) = fitbench(
        &[
            "calibrate",
            "--slice",
            "gemma-3-270m:1:Q4_K_M:256",
            "-p",
            "8",
            "-n",
            "2",
            "-r",
            "1",
            "--work-dir",
            work.path().to_str().unwrap(),
        ],
        calib.path(),
    );
    assert!(ok, "{err}");
    let file = std::fs::read_dir(calib.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, "schema: [broken").unwrap();
    let (ok, out, err) = fitbench(
        &["plan", "--model", "qwen3.5-0.8b", "--ctx", "4096", "--json"],
        calib.path(),
    );
    assert!(ok, "{err}");
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(err.contains("warning") && err.contains(name), "{err}");
    assert!(out.contains("uncalibrated"), "{out}");
}
