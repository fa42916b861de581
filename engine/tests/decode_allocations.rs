//! Counts heap allocations per decoded token (a counting global allocator): none, once a session
//! has run a step of the same shape. Products, attention, DeltaNet and the FFN reuse per-thread
//! buffers (`scratch`, the matvec scratch) and the session its logits (`decode_in_place`).

use fitbench_engine::{fixtures, LoadOptions, Model, Session, SessionOptions, WantLogits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per decoded token after a prompt and a few warm-up steps, or `None` when the
/// fixture is missing.
fn per_token(model: &Path, n_threads: usize, flash_attn: bool) -> Option<usize> {
    let model = Model::load(model, &LoadOptions::default()).ok()?;
    let n_vocab = model.vocab_size() as u32;
    let mut s = Session::new(
        &model,
        SessionOptions {
            n_ctx: 512,
            n_threads,
            flash_attn,
            ..Default::default()
        },
    )
    .ok()?;
    // A prompt deep enough that attention runs its longer-context paths, then warm-up steps.
    let prompt: Vec<u32> = (0..300).map(|i| (i * 7 + 1) % n_vocab).collect();
    s.decode_in_place(&prompt, WantLogits::Last).ok()?;
    for t in 0..3 {
        s.decode_in_place(&[(t * 5 + 2) % n_vocab], WantLogits::Last)
            .ok()?;
    }
    let steps = 8;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for t in 0..steps {
        s.decode_in_place(&[(t * 3 + 4) % n_vocab], WantLogits::Last)
            .ok()?;
    }
    Some((ALLOCATIONS.load(Ordering::Relaxed) - before) / steps as usize)
}

#[test]
fn a_warmed_up_decode_step_allocates_nothing() {
    let mut ran = 0;
    let fixture = |name: &str| (name.to_string(), fixtures::find(name));
    let mut models: Vec<(String, Option<PathBuf>)> = [
        "models/llama-tiny-Q4_K_M.gguf",
        "models/qwen2-tiny-Q4_K_M.gguf",
        "models/qwen3-tiny-Q4_K_M.gguf",
        "models/qwen3moe-tiny-Q4_K_M.gguf",
        "models/qwen35-tiny-Q4_K_M.gguf",
        "models/qwen35moe-tiny-Q4_K_M.gguf",
        "models/qwen35moe-tiny-IQ2_XXS.gguf",
        "models/qwen3next-tiny-Q4_K_M.gguf",
    ]
    .map(fixture)
    .into();
    // Gemma 3 (sliding-window layers with their own rope), and any model named in
    // FITBENCH_ALLOC_MODEL (e.g. a 256-expert slice from `fitbench synth`).
    models.push(("gemma3-270m".into(), fixtures::gemma3_270m()));
    if let Some(extra) = std::env::var_os("FITBENCH_ALLOC_MODEL") {
        models.push(("FITBENCH_ALLOC_MODEL".into(), Some(extra.into())));
    }
    for (name, path) in &models {
        for (threads, flash) in [(1, false), (2, false), (2, true)] {
            let Some(n) = path.as_deref().and_then(|p| per_token(p, threads, flash)) else {
                println!("skipped: {name} not found");
                break;
            };
            println!("{name} -t {threads} -fa {flash}: {n} allocations per token");
            assert_eq!(
                n, 0,
                "{name} -t {threads} -fa {flash}: {n} allocations per token"
            );
            ran += 1;
        }
    }
    assert!(ran > 0, "no fixture model found");
}
