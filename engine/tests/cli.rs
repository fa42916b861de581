//! The `fitbench-engine` binary: reference-format output, and clear failures on bad input.

use fitbench_engine::fixtures;
use fitbench_engine::reference::ReferenceLogits;
use std::process::{Command, Output};

fn engine() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fitbench-engine"))
}

/// Runs `cmd` and asserts that it succeeded, with its stderr as the message when it did not.
fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
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
    // A user's mistake gets one `error:` line, not a backtrace, even with RUST_BACKTRACE set.
    let o = engine()
        .args(["info", "-m", "/nonexistent.gguf"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(
        err.trim(),
        "error: model file /nonexistent.gguf not found",
        "{err}"
    );
}

/// `info` prints each tensor's device and the bytes per device for the placement flags (the
/// placement a one-GPU machine would get, when this one has none); bad flags fail with a message.
#[test]
fn info_prints_the_placement() {
    let Some(model) = fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf") else {
        println!("skipped: fixtures not found");
        return;
    };
    let out = succeed(engine().args(["info", "-m"]).arg(&model).args([
        "-ngl",
        "all",
        "--n-cpu-moe",
        "1",
        "-ot",
        r"blk\.3\.attn_q=CPU",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    // Hyperparameters read as `key = value` lines, not a debug dump.
    for line in [
        "architecture         = qwen35moe",
        "layer kinds          = RRRA",
        "experts              = 8 routed, 2 used per token",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(!text.contains("Config {"), "{text}");
    let device_of = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"))
            .to_string()
    };
    assert_eq!(device_of("token_embd.weight"), "CPU");
    assert_eq!(device_of("blk.0.ffn_up_exps.weight"), "CPU");
    assert_eq!(device_of("blk.1.ffn_up_exps.weight"), "CUDA0");
    assert_eq!(device_of("blk.3.attn_q.weight"), "CPU");
    assert_eq!(device_of("blk.3.attn_k.weight"), "CUDA0");
    assert!(text.contains("CUDA0"), "{text}");

    let bad = engine()
        .args(["info", "-m"])
        .arg(&model)
        .args(["-ot", "exps=TPU"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown device 'TPU'"));
}

/// Asking for the GPU where there is none: a warning, and the CPU result is still right.
#[test]
fn gpu_request_without_a_gpu_falls_back_to_the_cpu() {
    if fitbench_engine::cuda::availability().is_ready() {
        println!("skipped: this machine has a CUDA device");
        return;
    }
    let (Some(model), Some(reference)) = (
        fixtures::find("models/llama-tiny-Q4_K_M.gguf"),
        fixtures::find("reference/llama-tiny-Q4_K_M.batch.bin"),
    ) else {
        println!("skipped: fixtures not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let run = succeed(
        engine()
            .args(["logits", "-m"])
            .arg(&model)
            .arg("--tokens")
            .arg(&reference)
            .args(["-ngl", "99", "-t", "2", "-o"])
            .arg(&out),
    );
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("running on the CPU"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ours = ReferenceLogits::read(&out).unwrap();
    let r = ReferenceLogits::read(&reference).unwrap();
    let (max_abs, _) = fitbench_engine::reference::compare(&r.logits, &ours.logits, r.n_vocab);
    assert!(max_abs < 0.107, "{max_abs}");
}

#[test]
fn bench_bandwidth_anchor_records_one_anchor_per_sample_and_the_bytes_per_token() {
    let Some(model) = fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf") else {
        println!("skipped: fixtures not found");
        return;
    };
    let out = succeed(engine().args(["bench", "-m"]).arg(&model).args([
        "-p",
        "0",
        "-n",
        "4",
        "-r",
        "2",
        "-t",
        "2",
        "--bandwidth-anchor",
        "-o",
        "jsonl",
    ]));
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let anchors = line["anchor_gbps"].as_array().unwrap();
    assert_eq!(anchors.len(), 2);
    assert!(anchors.iter().all(|a| a.as_f64().unwrap() > 0.0));
    // Bytes per token from the header: every tensor, the routed experts' used share, one
    // embedding row (this fixture has its own output head).
    let file = fitbench_engine::gguf::GgufFile::open(&model).unwrap();
    let meta = |k: &str| file.metadata.get_usize(&format!("qwen35moe.{k}")).unwrap() as u64;
    let (used, experts) = (meta("expert_used_count"), meta("expert_count"));
    let mut want = 0u64;
    for t in &file.tensors {
        want += match t.name.as_str() {
            n if n.contains("_exps") => t.size * used / experts,
            "token_embd.weight" => t.size / t.dims[1],
            _ => t.size,
        };
    }
    assert!(file.tensor("output.weight").is_some());
    assert_eq!(
        line["params"]["weight_bytes_per_token"].as_u64(),
        Some(want)
    );
    // Recurrent state read per token: per layer with a conv1d tensor ([kernel, channels]), the
    // conv window (kernel − 1 columns) and the state_size × inner_size delta-rule matrix, f32.
    let delta_rule = meta("ssm.state_size") * meta("ssm.inner_size");
    let state: u64 = file
        .tensors
        .iter()
        .filter(|t| t.name.ends_with("ssm_conv1d.weight"))
        .map(|t| 4 * ((t.dims[0] - 1) * t.dims[1] + delta_rule))
        .sum();
    assert!(state > 0);
    assert_eq!(
        line["params"]["recurrent_state_bytes_per_token"].as_u64(),
        Some(state)
    );
}

/// `fitbench-engine chat` with a chat template from the fixtures, greedy, with `input` piped in.
fn chat(model: &std::path::Path, template: &str, input: &str) -> (String, String) {
    use std::io::Write;
    let template = fixtures::in_repo().join("templates").join(template);
    let mut child = engine()
        .args(["chat", "-m"])
        .arg(model)
        .arg("--chat-template-file")
        .arg(&template)
        .args(["-n", "6", "--temp", "0", "-t", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// `chat` over piped lines (Gemma 3 270M: the fixtures' small models carry no vocabulary): each
/// line is a turn; the session keeps earlier turns (the context grows), and `/reset` forgets them
/// (the same first message then gets the same greedy reply at the same context size as in a fresh
/// process).
#[test]
fn chat_keeps_turns_and_reset_forgets_them() {
    let Some(model) = fixtures::gemma3_270m() else {
        return;
    };
    let gemma = "google-gemma-2-2b-it.jinja";
    let (first, _) = chat(&model, gemma, "Hello there\n");
    let (all, stderr) = chat(
        &model,
        gemma,
        "Hello there\nTell me more\n/reset\nHello there\n/exit\nnot read\n",
    );
    // One "[N tokens, … t/s; context USED/4096]" line per reply.
    let context_used = |stderr: &str| -> Vec<usize> {
        stderr
            .lines()
            .filter(|l| l.starts_with('['))
            .filter_map(|l| l.split("context ").nth(1))
            .map(|s| s.split('/').next().unwrap().parse().unwrap())
            .collect()
    };
    let used = context_used(&stderr);
    assert_eq!(used.len(), 3, "{stderr}");
    assert!(used[1] > used[0], "{used:?}");
    assert_eq!(used[2], used[0], "{used:?}");
    assert!(
        all.starts_with(&first) && all.ends_with(&first),
        "{all:?} vs {first:?}"
    );
    assert!(all.len() > 2 * first.len(), "{all:?}");

    // Qwen3's template rewrites the last reply once a new message follows: the second turn goes
    // back to the checkpoint taken after the first prompt and reads the reply again from there.
    let qwen3 = "Qwen-Qwen3-0.6B.jinja";
    let (two_turns, stderr) = chat(&model, qwen3, "Hello there\nTell me more\n");
    let used = context_used(&stderr);
    assert_eq!(used.len(), 2, "{stderr}");
    assert!(used[1] > used[0], "{used:?}");

    // A turn too long for the context is refused and leaves the session as it was: the next turn
    // goes on as if the refused one had not been typed.
    let long = "word ".repeat(5000);
    let (with_refusal, stderr) = chat(
        &model,
        qwen3,
        &format!("Hello there\n{long}\nTell me more\n"),
    );
    assert!(stderr.contains("the context is full"), "{stderr}");
    assert_eq!(with_refusal, two_turns);
    assert_eq!(context_used(&stderr), used);
}

/// `run -f FILE` reads the prompt from a file (greedy: the same text as `-p`); a missing file is
/// named in the error.
#[test]
fn run_reads_the_prompt_from_a_file() {
    let Some(model) = fixtures::gemma3_270m() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prompt.txt");
    std::fs::write(&file, "The capital of France is").unwrap();
    let run = |source: &[&std::ffi::OsStr]| {
        let out = succeed(
            engine()
                .args(["run", "-m"])
                .arg(&model)
                .args(source)
                .args(["-n", "8", "--temp", "0", "-t", "1"]),
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let from_file = run(&["-f".as_ref(), file.as_os_str()]);
    let inline = run(&["-p".as_ref(), "The capital of France is".as_ref()]);
    assert_eq!(from_file, inline);
    assert!(!from_file.trim().is_empty());

    let o = engine()
        .args(["run", "-m"])
        .arg(&model)
        .args(["-f", "/nonexistent/prompt.txt"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("/nonexistent/prompt.txt"),
        "{err}"
    );
}
