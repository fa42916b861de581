//! The engine's logits against llama.cpp's on every fixture model, in batch mode (all 48 tokens in
//! one decode) and step mode (one token per decode), within `tolerances.tsv`.
//!
//! Models whose tensor types the engine does not support yet are listed as skipped, never passed.
//! `FITBENCH_MODELS=substr` restricts the run to matching model names.

use fitbench_engine::reference::{compare, read_tolerances, ReferenceLogits, Tolerance};
use fitbench_engine::{
    fixtures, LoadOptions, Model, ModelError, Session, SessionOptions, WantLogits,
};
use std::path::Path;

enum Outcome {
    Pass,
    Skipped(String),
    Fail(String),
}

fn run_mode(
    model: &Model,
    reference: &ReferenceLogits,
    step: bool,
) -> Result<Vec<f32>, ModelError> {
    let n = reference.tokens.len();
    let opts = SessionOptions {
        n_ctx: n,
        n_batch: n,
        n_ubatch: n,
        n_threads: 2,
        ..Default::default()
    };
    let mut s = Session::new(model, opts)?;
    if !step {
        return Ok(s.decode(&reference.tokens, WantLogits::All)?.data);
    }
    let mut all = Vec::with_capacity(n * model.vocab_size());
    for &t in &reference.tokens {
        all.extend_from_slice(&s.decode(&[t], WantLogits::Last)?.data);
    }
    Ok(all)
}

fn check_model(root: &Path, name: &str, tol: &Tolerance) -> Outcome {
    let path = root.join("models").join(format!("{name}.gguf"));
    let model = match Model::load(&path, &LoadOptions::default()) {
        Ok(m) => m,
        Err(ModelError::Tensor {
            cause: fitbench_engine::tensor::TensorError::Unsupported { ty, .. },
            ..
        }) => return Outcome::Skipped(format!("tensor type {ty} not supported yet")),
        Err(e) => return Outcome::Fail(format!("load: {e}")),
    };
    let mut report = Vec::new();
    let mut ok = true;
    for mode in ["batch", "step"] {
        let rpath = root.join("reference").join(format!("{name}.{mode}.bin"));
        let reference = match ReferenceLogits::read(&rpath) {
            Ok(r) => r,
            Err(e) => return Outcome::Fail(format!("reference: {e}")),
        };
        let ours = match run_mode(&model, &reference, mode == "step") {
            Ok(l) => l,
            Err(ModelError::Matmul(e)) => return Outcome::Skipped(format!("{e}")),
            Err(e) => return Outcome::Fail(format!("{mode}: {e}")),
        };
        let (max_abs, kl) = compare(&reference.logits, &ours, reference.n_vocab);
        let pass = max_abs <= tol.max_abs && kl <= tol.mean_kl;
        ok &= pass;
        report.push(format!(
            "{mode}: max|d|={max_abs:.4} (tol {}) KL={kl:.2e} (tol {:.1e})",
            tol.max_abs, tol.mean_kl
        ));
    }
    let line = report.join("; ");
    if ok {
        println!("  ok    {name:32} {line}");
        Outcome::Pass
    } else {
        Outcome::Fail(line)
    }
}

fn check_set(root: &Path) -> (usize, Vec<String>) {
    let tolerances = read_tolerances(&root.join("tolerances.tsv")).expect("tolerances.tsv");
    let filter = std::env::var("FITBENCH_MODELS").unwrap_or_default();
    let (mut passed, mut failures, mut skipped) = (0, Vec::new(), Vec::new());
    for tol in &tolerances {
        if !root
            .join("models")
            .join(format!("{}.gguf", tol.model))
            .exists()
            || !tol.model.contains(&filter)
        {
            continue;
        }
        match check_model(root, &tol.model, tol) {
            Outcome::Pass => passed += 1,
            Outcome::Skipped(why) => skipped.push(format!("{} ({why})", tol.model)),
            Outcome::Fail(why) => {
                println!("  FAIL  {:32} {why}", tol.model);
                failures.push(format!("{}: {why}", tol.model));
            }
        }
    }
    println!(
        "{}: {passed} passed, {} failed, {} skipped",
        root.display(),
        failures.len(),
        skipped.len()
    );
    for s in &skipped {
        println!("  skipped (unsupported format, NOT passed): {s}");
    }
    (passed, failures)
}

#[test]
fn in_repo_fixture_models_match_llama_cpp() {
    let (_, failures) = check_set(&fixtures::in_repo());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn shared_fixture_models_match_llama_cpp() {
    let Some(root) = fixtures::shared() else {
        println!("skipped: ../shared/fixtures not found");
        return;
    };
    let (_, failures) = check_set(&root);
    assert!(failures.is_empty(), "{failures:#?}");
}
