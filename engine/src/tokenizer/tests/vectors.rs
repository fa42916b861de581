//! llama.cpp's tokenizer test vectors (`test-tokenizer-0`): texts separated by
//! `\n__ggml_vocab_test__\n`, expected ids one line per text; no BOS, special tokens not parsed.

use std::path::{Path, PathBuf};

use super::load;
use crate::fixtures;

fn read_cases(gguf: &Path) -> Vec<(String, Vec<u32>)> {
    let inp = std::fs::read_to_string(format!("{}.inp", gguf.display())).expect("read .inp");
    let out = std::fs::read_to_string(format!("{}.out", gguf.display())).expect("read .out");
    let mut texts: Vec<&str> = inp.split("\n__ggml_vocab_test__\n").collect();
    // The file ends with a separator: the piece after it is not a case.
    assert_eq!(
        texts.pop(),
        Some(""),
        "{}.inp must end with a separator",
        gguf.display()
    );
    let expected: Vec<Vec<u32>> = out
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|t| t.parse().expect("token id"))
                .collect()
        })
        .collect();
    assert_eq!(
        texts.len(),
        expected.len(),
        "{}: case counts of .inp and .out differ",
        gguf.display()
    );
    texts
        .into_iter()
        .map(str::to_string)
        .zip(expected)
        .collect()
}

fn check_vocab(gguf: PathBuf) {
    let tok = load(&gguf);
    let cases = read_cases(&gguf);
    let mut failures = Vec::new();
    for (text, want) in &cases {
        let got = tok.encode(text, false, false);
        if &got != want {
            failures.push(format!("text {text:?}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} cases differ:\n{}",
        gguf.display(),
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{}: {} cases match", gguf.display(), cases.len());
}

fn in_repo(name: &str) -> PathBuf {
    fixtures::in_repo().join("vocab").join(name)
}

#[test]
fn qwen35_vectors() {
    check_vocab(in_repo("ggml-vocab-qwen35.gguf"));
}

#[test]
fn llama_spm_vectors() {
    check_vocab(in_repo("ggml-vocab-llama-spm.gguf"));
}

#[test]
fn gpt2_vectors() {
    check_vocab(in_repo("ggml-vocab-gpt-2.gguf"));
}

#[test]
fn llama_bpe_vectors() {
    let Some(shared) = fixtures::shared() else {
        eprintln!("skipped: ../shared/fixtures not found");
        return;
    };
    check_vocab(shared.join("vocab/ggml-vocab-llama-bpe.gguf"));
}
