//! Records the git commit the engine was built from (FITBENCH_GIT_COMMIT), when git is available.

use std::process::Command;

fn main() {
    if let Ok(out) = Command::new("git").args(["rev-parse", "HEAD"]).output() {
        if out.status.success() {
            let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !commit.is_empty() {
                println!("cargo:rustc-env=FITBENCH_GIT_COMMIT={commit}");
            }
        }
    }
    // Rebuild when HEAD moves; missing paths are ignored by cargo's change detection.
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=build.rs");
}
