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
