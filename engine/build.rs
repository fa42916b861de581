//! Records the git commit the workspace was built from (FITBENCH_GIT_COMMIT, exposed as
//! `fitbench_engine::GIT_COMMIT` and used by the planner too), when git is available.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    if let Some(commit) = git(&["rev-parse", "HEAD"]) {
        println!("cargo:rustc-env=FITBENCH_GIT_COMMIT={commit}");
    }
    // Rebuild when HEAD moves: HEAD itself changes only on a branch switch, so also watch the
    // branch's ref file and packed-refs (paths from git, so worktrees work too).
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for p in watch {
        if let Some(path) = git(&["rev-parse", "--git-path", &p]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
