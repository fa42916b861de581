//! `fitbench synth`: a catalog slice written as a synthetic GGUF has exactly the planner's tensor
//! list and size, and loads and runs in the engine. (llama.cpp acceptance is checked by hand with
//! llama-bench; see the synth report.)

use fitbench::catalog::{slice, synth_spec, SliceRequest};
use fitbench::model;
use fitbench_engine::gguf::GgufModel;
use fitbench_engine::synth::write_synth;
use fitbench_engine::{LoadOptions, Model, Session, SessionOptions, WantLogits};

fn request(like: &str, layers: u64, quant: &str, vocab: u64) -> SliceRequest {
    SliceRequest {
        like: like.into(),
        layers: Some(layers),
        quant: quant.into(),
        vocab: Some(vocab),
    }
}

/// Writes the slice, checks it against the planner's prediction, runs 4 tokens.
fn synth_and_run(req: SliceRequest) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    let (entry, quant, predicted) = slice(&req).unwrap();
    let spec = synth_spec(&entry, &quant, &predicted, 42).unwrap();
    let report = write_synth(&spec, &path).unwrap();

    // Same names, shapes and types, in order; sizes as predicted.
    let file = GgufModel::open(&path).unwrap();
    assert_eq!(file.tensors.len(), predicted.tensors.len());
    for (got, want) in file.tensors.iter().zip(&predicted.tensors) {
        assert_eq!(got.info.name, want.name);
        assert_eq!(got.info.dims, want.dims, "{}", want.name);
        assert_eq!(got.info.ggml_type, want.ggml_type, "{}", want.name);
        assert_eq!(got.info.size, want.bytes, "{}", want.name);
    }
    // File = header + aligned tensor data, nothing else; the data is the predicted total.
    let last = &file.tensors.last().unwrap().info;
    let file_len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(file_len, report.header_bytes + last.offset + last.size);
    let padding: u64 = file
        .tensors
        .windows(2)
        .map(|w| w[1].info.offset - (w[0].info.offset + w[0].info.size))
        .sum();
    assert_eq!(last.offset + last.size - padding, predicted.total_bytes());
    // The planner reads the file back as the same model.
    let reread = model::open(&path).unwrap();
    assert_eq!(reread.layers, predicted.layers);
    assert_eq!(reread.total_bytes(), predicted.total_bytes());

    let engine_model = Model::load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(engine_model.vocab_size() as u64, req.vocab.unwrap());
    let opts = SessionOptions {
        n_ctx: 8,
        n_batch: 8,
        n_ubatch: 8,
        n_threads: 2,
        ..Default::default()
    };
    let mut s = Session::new(&engine_model, opts).unwrap();
    let logits = s.decode(&[1, 7, 100, 3], WantLogits::All).unwrap().data;
    assert_eq!(logits.len(), 4 * engine_model.vocab_size());
    assert!(logits.iter().all(|v| v.is_finite()));
    let spread = logits.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(spread > 1e-3, "logits all ~0");

    // The byte-level vocabulary: one token per UTF-8 byte, no BOS, so llama.cpp's text tools and
    // the engine score the same ids (results/unseen-shapes/compare.sh).
    let tok =
        fitbench_engine::tokenizer::Tokenizer::from_metadata(engine_model.metadata()).unwrap();
    assert_eq!(
        tok.encode("hé x", true, false),
        vec![104, 195, 169, 32, 120]
    );
}

#[test]
fn qwen35_hybrid_slice_matches_prediction_and_runs() {
    // 4 layers: 3 DeltaNet + 1 attention, the real Qwen3.5-0.8B shapes.
    synth_and_run(request("qwen3.5-0.8b", 4, "Q4_K_M", 1024));
}

#[test]
fn gemma3_slice_matches_prediction_and_runs() {
    synth_and_run(request("gemma-3-270m", 2, "Q8_0", 512));
}

#[test]
fn qwen35moe_real_shapes_behind_env() {
    // Real Qwen3.5-35B-A3B experts: ~0.5 GB per layer, too slow for the default run.
    if std::env::var_os("FITBENCH_SYNTH_HEAVY").is_none() {
        eprintln!("skipped: set FITBENCH_SYNTH_HEAVY=1");
        return;
    }
    synth_and_run(request("qwen3.5-35b-a3b", 4, "Q4_K_M", 1024));
}

#[test]
fn bad_arguments_are_clear_errors() {
    let err = |r: SliceRequest| slice(&r).unwrap_err().to_string();
    assert!(
        err(request("no-such-model", 4, "Q4_K_M", 512)).contains("unknown model 'no-such-model'")
    );
    assert!(err(request("qwen3.5-0.8b", 4, "Q4_K_Q", 512)).contains("unknown quant 'Q4_K_Q'"));
    assert!(err(request("qwen3.5-0.8b", 0, "Q8_0", 512)).contains("--layers 0 is out of range"));
    assert!(err(request("qwen3.5-0.8b", 999, "Q8_0", 512)).contains("out of range"));
    assert!(err(request("qwen3.5-0.8b", 4, "Q8_0", 1 << 40)).contains("--vocab"));

    let (e, q, m) = slice(&request("qwen3.5-0.8b", 1, "Q8_0", 256)).unwrap();
    let spec = synth_spec(&e, &q, &m, 0).unwrap();
    let bad = std::path::Path::new("/nonexistent-dir/x.gguf");
    let msg = write_synth(&spec, bad).unwrap_err().to_string();
    assert!(msg.contains("/nonexistent-dir/x.gguf"), "{msg}");
}
