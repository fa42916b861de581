//! `--no-mmap`, `--mlock` and `--no-repack`: the weights read into memory (or locked) give the very
//! same logits as the mapped file, the weights left in the file's layout the same logits to float
//! rounding, and a bad file still fails with its name in the error.

use fitbench_engine::{fixtures, LoadOptions, Model, Session, SessionOptions, WantLogits};

const MODEL: &str = "models/qwen3moe-tiny-Q4_K_M.gguf";

fn last_logits(opts: &LoadOptions) -> Option<Vec<f32>> {
    let path = fixtures::find(MODEL)?;
    let model = Model::load(path, opts).unwrap();
    let mut s = Session::new(
        &model,
        SessionOptions {
            n_ctx: 16,
            n_threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    // A prompt, then two single-token steps (the decode path).
    s.decode(&[1, 2, 3, 4], WantLogits::Last).unwrap();
    s.decode(&[5], WantLogits::Last).unwrap();
    Some(s.decode(&[6], WantLogits::Last).unwrap().last().to_vec())
}

#[test]
fn no_mmap_and_mlock_give_identical_logits() {
    let Some(mapped) = last_logits(&LoadOptions::default()) else {
        println!("skipped: fixture model not found");
        return;
    };
    let read = last_logits(&LoadOptions {
        no_mmap: true,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(mapped, read);
    // mlock may be refused by RLIMIT_MEMLOCK; then the error must say so, naming the file.
    let path = fixtures::find(MODEL).unwrap();
    match Model::load(
        &path,
        &LoadOptions {
            mlock: true,
            ..Default::default()
        },
    ) {
        Ok(_) => {}
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("mlock") && msg.contains("qwen3moe-tiny"),
                "{msg}"
            );
        }
    }
}

#[test]
fn repacked_and_file_layout_weights_agree_to_rounding() {
    let Some(repacked) = last_logits(&LoadOptions::default()) else {
        println!("skipped: fixture model not found");
        return;
    };
    let plain = last_logits(&LoadOptions {
        repack: false,
        ..Default::default()
    })
    .unwrap();
    // Repacked Q4_K gives the row kernel's bits; repacked Q6_K sums in the order of the scalar row
    // kernel where the file-layout SIMD kernel uses llama.cpp's AVX2 order, so its last bits move.
    let max_abs = plain.iter().fold(0f32, |m, v| m.max(v.abs()));
    let max_diff = repacked
        .iter()
        .zip(&plain)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        max_diff <= 1e-5 * max_abs,
        "repacked and file-layout logits differ by {max_diff} (largest logit {max_abs})"
    );
    let argmax = |v: &[f32]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j]));
    assert_eq!(argmax(&repacked), argmax(&plain));
    let path = fixtures::find(MODEL).unwrap();
    let model = Model::load(&path, &LoadOptions::default()).unwrap();
    if fitbench_engine::quant::x16::has_fast_kernel() {
        // Its Q4_K and Q6_K expert and attention weights have whole groups of 16 rows.
        assert!(model.repacked_bytes() > 0);
    } else {
        println!("no repacked kernel on this CPU: both loads used the file layout");
        assert_eq!(model.repacked_bytes(), 0);
    }
}

#[test]
fn no_mmap_reports_bad_files_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.gguf");
    std::fs::write(&path, b"GGUF\x03\x00\x00\x00").unwrap();
    let err = Model::load(
        &path,
        &LoadOptions {
            no_mmap: true,
            ..Default::default()
        },
    )
    .err()
    .expect("a truncated file must not load");
    assert!(err.to_string().contains("truncated.gguf"), "{err}");
}
