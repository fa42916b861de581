//! Gemma 3 270M's real SentencePiece vocabulary: the prompt tokens llama.cpp produced for the
//! reference logits (BOS added, special tokens not parsed).

use std::path::Path;

use super::load;
use crate::fixtures;

/// `i32 n, i32 n_vocab, i32 tokens[n]` at the start of a `.top32.bin` file.
fn reference_tokens(path: &Path) -> Vec<u32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let word = |i: usize| i32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    let n = word(0) as usize;
    (0..n).map(|i| word(2 + i) as u32).collect()
}

fn check(tok: &super::Tokenizer, text_file: &str, bin_file: &str) {
    let dir = fixtures::in_repo().join("gemma3-270m");
    let text = std::fs::read_to_string(dir.join(text_file)).expect("read text");
    let want = reference_tokens(&dir.join(bin_file));
    let got = tok.encode(&text, true, false);
    // The reference keeps at most its first 64/256 tokens of the text.
    assert!(
        got.len() >= want.len(),
        "{text_file}: {} tokens, reference has {}",
        got.len(),
        want.len()
    );
    assert_eq!(&got[..want.len()], &want[..], "{text_file}");
    eprintln!(
        "{text_file}: first {} of {} tokens match llama.cpp",
        want.len(),
        got.len()
    );
}

#[test]
fn gemma3_prompt_tokens_match_llama_cpp() {
    let Some(path) = fixtures::gemma3_270m() else {
        return;
    };
    let tok = load(&path);
    assert_eq!(tok.vocab_size(), 262_144);
    assert_eq!((tok.bos(), tok.eos()), (Some(2), Some(1)));
    assert_eq!(tok.eot(), tok.token_id("<end_of_turn>"));
    assert!(tok.is_eog(1) && tok.is_eog(106) && !tok.is_eog(2));
    check(&tok, "prompt1.txt", "prompt1.top32.bin");
    check(&tok, "gpl3-head.txt", "gpl3.top32.bin");

    // Decoding gives the text back (BOS is a control token and renders as nothing).
    let text = std::fs::read_to_string(fixtures::in_repo().join("gemma3-270m/gpl3-head.txt"))
        .expect("read");
    assert_eq!(tok.decode(&tok.encode(&text, true, false)), text);
    // Special tokens: parsed only when asked.
    let turn = "<start_of_turn>user\nHi<end_of_turn>\n";
    let ids = tok.encode(turn, false, true);
    assert_eq!(ids.first(), tok.token_id("<start_of_turn>").as_ref());
    assert!(ids.contains(&106));
    assert!(!tok.encode(turn, false, false).contains(&106));
    assert_eq!(tok.decode_with(&ids, true), turn);
}
