//! Arbitrary input never panics; decoding inverts encoding; streaming output keeps characters
//! whole; special tokens, EOG sets and errors; and speed (no quadratic behaviour).

use std::time::Instant;

use super::super::{StreamDecoder, Tokenizer, TokenizerError};
use super::load;
use crate::fixtures;
use crate::gguf::{Array, Metadata, Value};

fn vocab(name: &str) -> Tokenizer {
    load(&fixtures::in_repo().join("vocab").join(name))
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "a",
    "Z",
    "é",
    "e\u{301}",
    "7",
    "½",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\t",
    "'",
    "'s",
    "'LL",
    "!",
    "...",
    "我",
    "想",
    "🚀",
    "😶\u{200d}🌫\u{fe0f}",
    "\u{3000}",
    "\u{85}",
    "\u{a0}",
    "▁",
    "Ġ",
    "<|im_start|>",
    "<|im_end|>",
    "<s>",
    "</s>",
    "<0x0A>",
    "<unk>",
    "\u{fffd}",
    "\0",
    "\u{7f}",
    "ក",
    "\u{10ffff}",
    "hello",
    "world",
    "12345",
    "<",
    ">",
    "|",
];

fn random_text(rng: &mut Rng, max_pieces: usize) -> String {
    let n = rng.below(max_pieces + 1);
    (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

#[test]
fn random_text_round_trips_without_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // qwen35 keeps spaces as they are: it decodes exactly. llama-spm has byte fallback and decodes
    // exactly unless special tokens are parsed (llama.cpp prefixes a space to text after one).
    // gpt-2 applies llama.cpp's space clean-up on decode, so only "no panic" is checked there.
    for (name, exact) in [
        ("ggml-vocab-qwen35.gguf", [true, true]),
        ("ggml-vocab-llama-spm.gguf", [true, false]),
        ("ggml-vocab-gpt-2.gguf", [false, false]),
    ] {
        let tok = vocab(name);
        for _ in 0..400 {
            let text = random_text(&mut rng, 24);
            for parse_special in [false, true] {
                let with_bos = tok.encode(&text, true, parse_special);
                assert!(
                    with_bos.iter().all(|&id| (id as usize) < tok.vocab_size()),
                    "{name}: id out of range for {text:?}"
                );
                // Without BOS: llama.cpp's SPM decoding keeps the prefix space after a BOS.
                let ids = tok.encode(&text, false, parse_special);
                let decoded = tok.decode_with(&ids, parse_special);
                // SentencePiece writes spaces as `▁`, so a literal `▁` decodes as a space.
                let spm_ambiguous = name.contains("spm") && text.contains('▁');
                if exact[usize::from(parse_special)] && !spm_ambiguous {
                    assert_eq!(decoded, text, "{name}: round trip of {text:?} (parse_special {parse_special}) via {ids:?}");
                }
            }
        }
        assert!(tok.encode("", false, false).is_empty());
    }
}

#[test]
fn stream_decoder_keeps_characters_whole() {
    let tok = vocab("ggml-vocab-gpt-2.gguf");
    let text = "Rocket 🚀, café, 我想在apple工作, 😶\u{200d}🌫\u{fe0f}!";
    let ids = tok.encode(text, false, false);
    let mut stream = StreamDecoder::new();
    let mut out = String::new();
    let mut split_seen = false;
    for &id in &ids {
        split_seen |= std::str::from_utf8(&tok.token_to_piece(id)).is_err();
        out.push_str(&stream.push(&tok, id));
    }
    out.push_str(&stream.finish());
    assert!(
        split_seen,
        "the test text should split a character across tokens"
    );
    assert_eq!(out, text);
    // Invalid bytes become U+FFFD instead of stalling the stream.
    let mut stream = StreamDecoder::new();
    assert_eq!(stream.push_bytes(&[b'a', 0xFF, b'b', 0xE6]), "a\u{fffd}b");
    assert_eq!(stream.push_bytes(&[0x88]), "");
    assert_eq!(stream.push_bytes(&[0x91]), "我");
    assert_eq!(stream.push_bytes(&[0xF0]), "");
    assert_eq!(stream.finish(), "\u{fffd}");
}

#[test]
fn special_tokens_and_end_of_generation() {
    let tok = vocab("ggml-vocab-qwen35.gguf");
    let (im_start, im_end, endoftext) = (151_644, 151_645, 151_643);
    assert_eq!(tok.token_id("<|im_start|>"), Some(im_start));
    let ids = tok.encode("<|im_start|>user\nhi<|im_end|>", false, true);
    assert_eq!((ids.first(), ids.last()), (Some(&im_start), Some(&im_end)));
    assert!(!tok.encode("<|im_start|>", false, false).contains(&im_start));
    assert_eq!(tok.eot(), Some(im_end));
    assert_eq!(tok.eos(), Some(endoftext));
    assert!(tok.is_eog(im_end) && tok.is_eog(endoftext) && !tok.is_eog(im_start));
    assert!(!tok.adds_bos(), "Qwen adds no BOS");
    assert_eq!(
        tok.encode("hi", true, false),
        tok.encode("hi", false, false)
    );
    assert_eq!(
        tok.decode(&ids),
        "user\nhi",
        "control tokens are not rendered by decode"
    );

    let spm = vocab("ggml-vocab-llama-spm.gguf");
    assert!(spm.adds_bos());
    assert_eq!(spm.encode("Hello", true, false)[0], 1);
    assert_eq!(
        spm.decode(&spm.encode("Hello world", true, false)),
        " Hello world",
        "llama.cpp keeps the space after BOS"
    );
    assert_eq!(
        spm.decode(&spm.encode("Hello world", false, false)),
        "Hello world"
    );
}

fn metadata(entries: &[(&str, Value)]) -> Metadata {
    let mut md = Metadata::new();
    for (k, v) in entries {
        md.insert(*k, v.clone());
    }
    md
}

#[test]
fn unsupported_or_broken_metadata_is_a_named_error() {
    let tokens = Value::Array(Array::String(vec!["a".into(), "b".into(), "ab".into()]));
    let merges = Value::Array(Array::String(vec!["a b".into()]));
    let cases: Vec<(Metadata, &str)> = vec![
        (metadata(&[]), "tokenizer.ggml.model"),
        (
            metadata(&[("tokenizer.ggml.model", Value::String("bert".into()))]),
            "bert",
        ),
        (
            metadata(&[("tokenizer.ggml.model", Value::String("none".into()))]),
            "no vocabulary",
        ),
        (
            metadata(&[("tokenizer.ggml.model", Value::U32(3))]),
            "tokenizer.ggml.model",
        ),
        (
            metadata(&[
                ("tokenizer.ggml.model", Value::String("gpt2".into())),
                ("tokenizer.ggml.pre", Value::String("martian".into())),
                ("tokenizer.ggml.tokens", tokens.clone()),
                ("tokenizer.ggml.merges", merges.clone()),
            ]),
            "martian",
        ),
        (
            metadata(&[
                ("tokenizer.ggml.model", Value::String("gpt2".into())),
                ("tokenizer.ggml.tokens", tokens.clone()),
            ]),
            "tokenizer.ggml.merges",
        ),
        (
            metadata(&[
                ("tokenizer.ggml.model", Value::String("llama".into())),
                (
                    "tokenizer.ggml.tokens",
                    Value::Array(Array::String(vec!["a".into(), "a".into()])),
                ),
            ]),
            "duplicate",
        ),
        (
            metadata(&[
                ("tokenizer.ggml.model", Value::String("llama".into())),
                ("tokenizer.ggml.tokens", tokens.clone()),
                ("tokenizer.ggml.scores", Value::Array(Array::F32(vec![0.0]))),
            ]),
            "tokenizer.ggml.scores",
        ),
    ];
    for (md, needle) in cases {
        let err: TokenizerError = Tokenizer::from_metadata(&md).err().expect("must fail");
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
    }
    // A minimal valid BPE vocabulary works.
    let md = metadata(&[
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("gpt-2".into())),
        ("tokenizer.ggml.tokens", tokens),
        ("tokenizer.ggml.merges", merges),
    ]);
    let tok = Tokenizer::from_metadata(&md).expect("valid");
    assert_eq!(
        tok.encode("abab ba", false, false),
        [2, 2, 1, 0],
        "the space has no token and is dropped, as in llama.cpp"
    );
}

#[test]
fn models_without_vocabulary_say_so() {
    let path = fixtures::in_repo().join("models/qwen35-tiny-Q4_K_M.gguf");
    let model = crate::gguf::GgufModel::open(&path).expect("open");
    let err = Tokenizer::from_metadata(model.metadata())
        .err()
        .expect("no vocabulary");
    assert!(
        matches!(err, TokenizerError::NoVocabulary(ref m) if m == "none"),
        "{err}"
    );
}

/// Tokenizes ~100 KB of text with each vocabulary; llama.cpp-like cost is a few ms per 10 KB.
#[test]
fn tokenizing_100kb_is_fast() {
    let gpl = std::fs::read_to_string(fixtures::in_repo().join("gemma3-270m/GPL-3.txt"))
        .expect("GPL-3.txt");
    let prose = gpl.repeat(3);
    let inputs: Vec<(&str, String)> = vec![
        ("GPL-3 x3", prose),
        ("one 100 KB word", "ab".repeat(50_000)),
        ("100 KB of spaces", " ".repeat(100_000)),
        ("100 KB of CJK", "我想在苹果工作".repeat(100_000 / 21)),
    ];
    let names = [
        "ggml-vocab-qwen35.gguf",
        "ggml-vocab-llama-spm.gguf",
        "ggml-vocab-gpt-2.gguf",
    ];
    let mut paths: Vec<(String, std::path::PathBuf)> = names
        .iter()
        .map(|n| (n.to_string(), fixtures::in_repo().join("vocab").join(n)))
        .collect();
    paths.extend(fixtures::gemma3_270m().map(|p| ("gemma3-270m".to_string(), p)));
    let mut tokenizers = Vec::new();
    for (name, path) in paths {
        let model = crate::gguf::GgufModel::open(&path).expect("open");
        let t0 = Instant::now();
        let tok = Tokenizer::from_metadata(model.metadata()).expect("tokenizer");
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "{name}: built from metadata in {ms:.1} ms ({})",
            tok.describe()
        );
        tokenizers.push((name, tok));
    }
    for (name, tok) in &tokenizers {
        for (label, text) in &inputs {
            let t0 = Instant::now();
            let ids = tok.encode(text, true, true);
            let dt = t0.elapsed().as_secs_f64();
            eprintln!(
                "{name}: {label}: {} bytes -> {} tokens in {:.1} ms",
                text.len(),
                ids.len(),
                dt * 1e3
            );
            assert!(dt < 1.0, "{name}: {label} took {dt:.2} s");
        }
    }
}
