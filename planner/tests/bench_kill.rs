//! Failure handling with the real engine (`fitbench-engine`, built beside `fitbench`): a corrupt
//! model copy and a timed-out point become failed records carrying the engine's stderr, the suite
//! goes on; killing the runner mid-suite keeps every record written so far, and `--resume` skips them.
//!
//! Needs `cargo build --release -p fitbench-engine` (or FITBENCH_ENGINE_EXE); skipped without it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fitbench::bench::record::{Record, Status};
use fitbench::bench::results_file::read_records;

const TINY: &str = "models/qwen35moe-tiny-Q4_K_M.gguf";

fn engine_exe() -> Option<PathBuf> {
    let exe = std::env::var_os("FITBENCH_ENGINE_EXE")
        .map(PathBuf::from)
        .or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_fitbench"))
                .parent()
                .map(|d| d.join("fitbench-engine"))
        })
        .filter(|p| p.exists());
    if exe.is_none() {
        eprintln!("skipped: fitbench-engine not built (cargo build --release -p fitbench-engine)");
    }
    exe
}

fn fitbench(engine: &Path, suite: &Path, results: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitbench"));
    c.args(["bench", "--no-anchor", "--no-plot", "--engine-exe"])
        .arg(engine)
        .arg(suite)
        .arg("--results")
        .arg(results);
    c
}

/// A copy of `model` with the UINT32 metadata value `key` changed from `was` to `now`.
fn patched_copy(model: &Path, to: &Path, key: &str, was: u32, now: u32) {
    let mut bytes = std::fs::read(model).unwrap();
    let key = key.as_bytes();
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .unwrap_or_else(|| {
            panic!(
                "{} has no key {}",
                model.display(),
                String::from_utf8_lossy(key)
            )
        })
        + key.len();
    // GGUF value: u32 type tag (4 = UINT32), then the value.
    assert_eq!(bytes[at..at + 4], 4u32.to_le_bytes());
    assert_eq!(bytes[at + 4..at + 8], was.to_le_bytes());
    bytes[at + 4..at + 8].copy_from_slice(&now.to_le_bytes());
    std::fs::write(to, bytes).unwrap();
}

/// The tiny fixture with `block_count` raised from 4 to 5: the header still parses (so the
/// harness identifies the model), but the engine fails to load it (tensor blk.4.* missing).
fn corrupt_copy(model: &Path, to: &Path) {
    patched_copy(model, to, "qwen35moe.block_count", 4, 5);
}

/// The tiny fixture allowing 64K of context (it is trained for 4K), so a deep point takes
/// seconds of untimed prefill: long enough to be killed or timed out on any machine.
fn long_context_copy(model: &Path, dir: &Path) -> PathBuf {
    let sub = dir.join("long");
    std::fs::create_dir_all(&sub).unwrap();
    let to = sub.join(model.file_name().unwrap());
    patched_copy(model, &to, "qwen35moe.context_length", 4096, 65536);
    to
}

fn write_suite(dir: &Path, name: &str, models: &[&Path], depths: &str, timeout_s: u32) -> PathBuf {
    let list: Vec<String> = models
        .iter()
        .map(|m| format!("{{file: '{}'}}", m.display()))
        .collect();
    let y = format!(
        "name: {name}\nmodels: [{}]\ntests: {{n_prompt: [32], n_gen: [8], depths: [{depths}]}}\nreps: 1\ntimeout_s: {timeout_s}\n",
        list.join(", ")
    );
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(&p, y).unwrap();
    p
}

fn results_of(dir: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            out.extend(read_records(&p).unwrap());
        }
    }
    out
}

fn lines_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .map(|t| t.matches('\n').count())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn crash_and_timeout_become_failed_points_and_the_suite_goes_on() {
    let (Some(engine), Some(model)) = (engine_exe(), fitbench_engine::fixtures::find(TINY)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = long_context_copy(&model, dir.path());
    let corrupt = dir.path().join("corrupt-tiny.gguf");
    corrupt_copy(&model, &corrupt);
    // Depth 32768 needs ~32K tokens prefilled untimed: seconds on any CPU, beyond the 1 s limit.
    let suite = write_suite(dir.path(), "kill", &[&corrupt, &model], "0, 32768", 60);
    let results = dir.path().join("r");
    let t = Instant::now();
    let out = fitbench(&engine, &suite, &results)
        .args(["--timeout", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(60));
    let recs = results_of(&results);
    let of = |stem: &str| -> Vec<&Record> {
        recs.iter()
            .filter(|r| r.model.name == stem)
            .collect::<Vec<_>>()
    };
    // Corrupt copy: every point failed, with the engine's own error in the stderr tail.
    let bad = of("corrupt-tiny");
    assert_eq!(bad.len(), 4, "{recs:#?}");
    for r in &bad {
        assert_eq!(r.status, Status::Failed);
        assert!(
            r.error.as_deref().unwrap().contains("exit"),
            "{:?}",
            r.error
        );
        let tail = r.stderr_tail.as_deref().unwrap();
        assert!(tail.contains("blk.4") && tail.contains("missing"), "{tail}");
    }
    // The good model still ran: depth 0 measured (fits in 1 s), depth 32768 timed out.
    let good = of("qwen35moe-tiny-Q4_K_M");
    assert_eq!(good.len(), 4, "{recs:#?}");
    let (ok, failed): (Vec<&&Record>, Vec<&&Record>) =
        good.iter().partition(|r| r.status == Status::Ok);
    assert!(
        ok.iter().all(|r| r.workload.n_depth == 0),
        "only depth-0 points can finish in 1 s"
    );
    assert!(
        failed
            .iter()
            .any(|r| r.workload.n_depth == 32768
                && r.error.as_deref().unwrap().contains("timed out")),
        "{failed:#?}"
    );
}

#[test]
fn killed_runner_keeps_its_records_and_resume_skips_them() {
    let (Some(engine), Some(model)) = (engine_exe(), fitbench_engine::fixtures::find(TINY)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = long_context_copy(&model, dir.path());
    let suite = write_suite(dir.path(), "interrupt", &[&model], "0, 32768", 600);
    let results = dir.path().join("r");
    // Own process group, so the runner and the engine it started are killed together.
    let mut child = fitbench(&engine, &suite, &results)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Wait for the two depth-0 points (the depth-32768 ones take seconds more).
    while lines_in(&results) < 2 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still_running = child.try_wait().unwrap().is_none();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    assert!(
        still_running,
        "the runner finished before it could be killed"
    );
    let kept = results_of(&results);
    assert!(kept.len() >= 2, "{kept:#?}");
    assert!(kept.iter().all(|r| r.status == Status::Ok));
    assert!(kept[..2].iter().all(|r| r.workload.n_depth == 0));

    // Resume: the measured points are skipped; the rest run (and time out here, to stay fast).
    let out = fitbench(&engine, &suite, &results)
        .args(["--resume", "--timeout", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("({} already there, skipped)", kept.len())),
        "{stdout}"
    );
    let all = results_of(&results);
    assert_eq!(all[..kept.len()], kept[..], "earlier records untouched");
    assert_eq!(all.len(), 4, "{all:#?}");
}
