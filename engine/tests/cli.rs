//! The `fitbench-engine` binary: reference-format output, and clear failures on bad input.

use fitbench_engine::fixtures;
use fitbench_engine::reference::ReferenceLogits;
use std::process::Command;

fn engine() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fitbench-engine"))
}

#[test]
fn logits_writes_the_reference_format() {
    let (Some(model), Some(reference)) = (
        fixtures::find("models/llama-tiny-Q4_K_M.gguf"),
        fixtures::find("reference/llama-tiny-Q4_K_M.step.bin"),
    ) else {
        println!("skipped: fixtures not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let status = engine()
        .args(["logits", "-m"])
        .arg(&model)
        .arg("--tokens")
        .arg(&reference)
        .args(["--mode", "step", "-t", "2", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let ours = ReferenceLogits::read(&out).unwrap();
    let r = ReferenceLogits::read(&reference).unwrap();
    assert_eq!(ours.tokens, r.tokens);
    let (max_abs, _) = fitbench_engine::reference::compare(&r.logits, &ours.logits, r.n_vocab);
    assert!(max_abs < 0.107, "{max_abs}");
}

#[test]
fn bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("t.txt");
    std::fs::write(&tokens, "1 2 x").unwrap();
    let o = engine()
        .args(["logits", "-m", "/nonexistent.gguf", "--tokens"])
        .arg(&tokens)
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("'x' is not a token id") && !err.contains("panicked"),
        "{err}"
    );
    std::fs::write(&tokens, "1 2 3").unwrap();
    let o = engine()
        .args(["logits", "-m", "/nonexistent.gguf", "--tokens"])
        .arg(&tokens)
        .args(["-o", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("/nonexistent.gguf") && !err.contains("panicked"),
        "{err}"
    );
    let o = engine()
        .args(["info", "-m", "/nonexistent.gguf"])
        .output()
        .unwrap();
    assert!(!o.status.success());
}
