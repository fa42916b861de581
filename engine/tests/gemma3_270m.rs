//! Gemma 3 270M end to end against llama.cpp: perplexity of GPL-3 (ctx 512) and a greedy
//! continuation through the `run` binary.

use fitbench_engine::perplexity::perplexity;
use fitbench_engine::tokenizer::Tokenizer;
use fitbench_engine::{fixtures, LoadOptions, Model, Session, SessionOptions};

#[test]
fn perplexity_gpl3_matches_llamacpp() {
    // ~7.5k tokens: minutes on a busy 2-core machine, so opt-in.
    if std::env::var_os("FITBENCH_SLOW_TESTS").is_none() {
        eprintln!("skipped: set FITBENCH_SLOW_TESTS=1 to score GPL-3 perplexity");
        return;
    }
    let Some(path) = fixtures::gemma3_270m() else {
        return;
    };
    let model = Model::load(&path, &LoadOptions::default()).unwrap();
    let tok = Tokenizer::from_metadata(model.metadata()).unwrap();
    let text = std::fs::read_to_string(fixtures::in_repo().join("gemma3-270m/GPL-3.txt")).unwrap();
    let tokens = tok.encode(&text, true, false);
    assert_eq!(tokens.len() / 512, 14);
    let opts = SessionOptions {
        n_ctx: 512,
        n_batch: 512,
        n_ubatch: 512,
        ..Default::default()
    };
    let mut s = Session::new(&model, opts).unwrap();
    let stats = perplexity(&mut s, &tokens, tok.bos().unwrap(), |_, _, _| {}).unwrap();
    let reference = 13.8844;
    assert!(
        (stats.ppl() / reference - 1.0).abs() < 0.005,
        "PPL {} vs {reference}",
        stats.ppl()
    );
}

#[test]
fn greedy_run_matches_llamacpp() {
    let Some(path) = fixtures::gemma3_270m() else {
        return;
    };
    let dir = fixtures::in_repo().join("gemma3-270m");
    let prompt = std::fs::read_to_string(dir.join("greedy-prompt.txt")).unwrap();
    let expected = std::fs::read_to_string(dir.join("greedy-llamacpp-32.txt")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fitbench-engine"))
        .args(["run", "-n", "32", "--temp", "0", "-m"])
        .arg(&path)
        .args(["-p", &prompt])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8_lossy(&out.stdout);
    // `run` ends with one newline of its own; llama.cpp's trailing newlines are compared trimmed.
    assert_eq!(got.trim_end(), expected.trim_end());
}

#[test]
fn run_errors_are_clear() {
    let bin = env!("CARGO_BIN_EXE_fitbench-engine");
    let out = std::process::Command::new(bin)
        .args(["run", "-m", "/nonexistent.gguf", "-p", "hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.gguf"));
    let Some(path) = fixtures::gemma3_270m() else {
        return;
    };
    let out = std::process::Command::new(bin)
        .args([
            "run",
            "-c",
            "4",
            "-p",
            "a much longer prompt than four tokens of context",
            "-m",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("longer than the context"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
