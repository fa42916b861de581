//! Every fixture's reference logits with the weights on the GPU: all of them (`-ngl all`), and
//! for MoE models again with `--n-cpu-moe 2` (experts of layers 0-1 in RAM, the rest in VRAM),
//! within `tolerances.tsv`. Skips with a message when no CUDA device is usable (or the crate
//! was built without the `cuda` feature). `FITBENCH_MODELS=substr` restricts the models.

use fitbench_engine::cuda::{self, Availability};
use fitbench_engine::placement::{GpuLayers, PlacementOptions};
use fitbench_engine::reference::{compare, read_tolerances, ReferenceLogits, Tolerance};
use fitbench_engine::{fixtures, LoadOptions, Model, Session, SessionOptions, WantLogits};
use std::path::Path;

fn logits(model: &Model, r: &ReferenceLogits, step: bool) -> Result<Vec<f32>, String> {
    let n = r.tokens.len();
    let opts = SessionOptions {
        n_ctx: n,
        n_batch: n,
        n_ubatch: n,
        n_threads: 2,
        ..Default::default()
    };
    let mut s = Session::new(model, opts).map_err(|e| e.to_string())?;
    if !step {
        return Ok(s
            .decode(&r.tokens, WantLogits::All)
            .map_err(|e| e.to_string())?
            .data);
    }
    let mut all = Vec::with_capacity(n * model.vocab_size());
    for &t in &r.tokens {
        all.extend_from_slice(
            &s.decode(&[t], WantLogits::Last)
                .map_err(|e| e.to_string())?
                .data,
        );
    }
    Ok(all)
}

/// Ok(None) when the model cannot be loaded for a known reason (unsupported format: skipped).
fn check(
    root: &Path,
    tol: &Tolerance,
    placement: &PlacementOptions,
) -> Result<Option<String>, String> {
    let path = root.join("models").join(format!("{}.gguf", tol.model));
    let opts = LoadOptions {
        placement: placement.clone(),
        ..Default::default()
    };
    let model = match Model::load(&path, &opts) {
        Ok(m) => m,
        Err(e) if e.to_string().contains("not support") => return Ok(None),
        Err(e) => return Err(format!("load: {e}")),
    };
    if !model.placement().uses_gpu() {
        return Err(format!(
            "nothing placed on the GPU ({:?})",
            model.placement_notice()
        ));
    }
    let mut line = format!("[{}]", model.placement().summary());
    for mode in ["batch", "step"] {
        let r = ReferenceLogits::read(
            &root
                .join("reference")
                .join(format!("{}.{mode}.bin", tol.model)),
        )
        .map_err(|e| format!("reference: {e}"))?;
        let ours = logits(&model, &r, mode == "step")?;
        let (max_abs, kl) = compare(&r.logits, &ours, r.n_vocab);
        line += &format!(" {mode}: max|d|={max_abs:.4} KL={kl:.2e}");
        if max_abs > tol.max_abs || kl > tol.mean_kl {
            return Err(line);
        }
    }
    Ok(Some(line))
}

fn run_all(root: &Path) {
    let tolerances = read_tolerances(&root.join("tolerances.tsv")).expect("tolerances.tsv");
    let filter = std::env::var("FITBENCH_MODELS").unwrap_or_default();
    let mut failures = Vec::new();
    for tol in &tolerances {
        let exists = root
            .join("models")
            .join(format!("{}.gguf", tol.model))
            .exists();
        if !exists || !tol.model.contains(&filter) {
            continue;
        }
        let mut cases = vec![(
            "all on GPU",
            PlacementOptions {
                gpu_layers: GpuLayers::All,
                ..Default::default()
            },
        )];
        if tol.model.contains("moe") {
            cases.push((
                "--n-cpu-moe 2",
                PlacementOptions {
                    gpu_layers: GpuLayers::All,
                    n_cpu_moe: 2,
                    ..Default::default()
                },
            ));
        }
        for (label, p) in cases {
            match check(root, tol, &p) {
                Ok(Some(line)) => println!("  ok    {:28} {label:14} {line}", tol.model),
                Ok(None) => println!("  skipped (unsupported format, NOT passed): {}", tol.model),
                Err(why) => {
                    println!("  FAIL  {:28} {label:14} {why}", tol.model);
                    failures.push(format!("{} {label}: {why}", tol.model));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn gpu_ready() -> bool {
    match cuda::availability() {
        Availability::Ready(info) => {
            println!(
                "CUDA device: {} (sm_{}{})",
                info.name, info.compute_capability.0, info.compute_capability.1
            );
            true
        }
        other => {
            println!("skipped: {}", other.fallback_notice().unwrap_or_default());
            false
        }
    }
}

#[test]
fn in_repo_fixtures_on_the_gpu_match_llama_cpp() {
    if gpu_ready() {
        run_all(&fixtures::in_repo());
    }
}

#[test]
fn shared_fixtures_on_the_gpu_match_llama_cpp() {
    if !gpu_ready() {
        return;
    }
    let Some(root) = fixtures::shared() else {
        println!("skipped: ../shared/fixtures not found");
        return;
    };
    run_all(&root);
}
