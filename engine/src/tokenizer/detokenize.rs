//! Token ids back to text: each token's bytes (llama.cpp's `token_to_piece`), whole sequences
//! (`detokenize`, with its space clean-up), and a streaming decoder that only ever hands out
//! complete UTF-8 characters even when a character's bytes span several tokens.

use super::unicode::char_to_byte;
use super::vocab::{attr, Vocab, VocabKind};

/// The bytes token `id` stands for. Control and unknown tokens give their text when
/// `special` is true and nothing otherwise; unused/undefined tokens and ids out of range give nothing.
pub fn piece(vocab: &Vocab, id: u32, special: bool) -> Vec<u8> {
    let Some(text) = vocab.texts.get(id as usize) else {
        return Vec::new();
    };
    let a = vocab.attr(id);
    if a & (attr::CONTROL | attr::UNKNOWN) != 0 {
        return if special {
            text.as_bytes().to_vec()
        } else {
            Vec::new()
        };
    }
    if a & attr::USER_DEFINED != 0 {
        return text.as_bytes().to_vec();
    }
    if a & attr::NORMAL != 0 {
        return match vocab.kind {
            VocabKind::Spm => text.replace('▁', " ").into_bytes(),
            VocabKind::Bpe => text
                .chars()
                .flat_map(|c| match char_to_byte(c) {
                    Some(b) => vec![b],
                    // Outside GPT-2's alphabet: keep the character itself.
                    None => c.to_string().into_bytes(),
                })
                .collect(),
        };
    }
    if a & attr::BYTE != 0 {
        return byte_of(text).map(|b| vec![b]).unwrap_or_default();
    }
    Vec::new()
}

/// The byte of a `<0xNN>` token.
fn byte_of(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

/// llama.cpp's `detokenize(tokens, remove_special = false, unparse_special = special)`.
pub fn detokenize(
    vocab: &Vocab,
    ids: &[u32],
    special: bool,
    strip_leading_space: bool,
    clean_spaces: bool,
) -> Vec<u8> {
    let mut text = Vec::new();
    let mut remove_space = strip_leading_space;
    for &id in ids {
        let p = piece(vocab, id, special);
        // Only the very first token (even an empty one, such as BOS) may lose one leading space.
        let skip = usize::from(remove_space && p.first() == Some(&b' '));
        text.extend_from_slice(&p[skip..]);
        remove_space = false;
    }
    if clean_spaces {
        clean_up_spaces(&mut text);
    }
    text
}

/// Hugging Face's `clean_up_tokenization_spaces`, as llama.cpp applies it (three in-place
/// passes, kept literally): drop the space before `?!.,`, the spaces around a lone apostrophe,
/// and the space before the contractions `'s 'm 're 've`.
fn clean_up_spaces(text: &mut Vec<u8>) {
    let t = text;
    // pass 1: " ?", " !", " .", " ,"
    let n = t.len();
    let mut total = usize::from(n > 0);
    for i in 1..n {
        let x = t[i];
        if t[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            total -= 1;
        }
        t[total] = x;
        total += 1;
    }
    t.truncate(total);
    // pass 2: " ' " becomes "'"
    let n = t.len();
    let mut total = usize::from(n > 0);
    let mut i = 1;
    while i < n {
        let x = t[i];
        if x == b'\'' && i + 1 < n && t[i - 1] == b' ' && t[i + 1] == b' ' {
            total -= 1;
            i += 1;
            t[i] = 0;
        }
        t[total] = x;
        total += 1;
        i += 1;
    }
    t.truncate(total);
    // pass 3: " 's", " 'm", " 're", " 've"
    let n = t.len();
    let mut total = usize::from(n > 0);
    for i in 1..n {
        let x = t[i];
        if t[i - 1] == b' ' && x == b'\'' && i + 1 < n {
            let x1 = t[i + 1];
            let contraction = matches!(x1, b's' | b'm')
                || (i + 2 < n && matches!((x1, t[i + 2]), (b'r', b'e') | (b'v', b'e')));
            if contraction {
                total -= 1;
            }
        }
        t[total] = x;
        total += 1;
    }
    t.truncate(total);
}

/// Turns a stream of token pieces into text, holding back an incomplete UTF-8 sequence at the
/// end until the bytes that complete it arrive. Invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder::default()
    }

    /// Adds a token's bytes and returns the text that is now complete (possibly empty).
    pub fn push_bytes(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // The prefix was just validated; this cannot fail.
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                        None => {
                            // Incomplete sequence at the end: wait for more bytes.
                            self.pending.drain(..valid);
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// Adds token `id` of `tokenizer` (control tokens as their text) and returns the text now complete.
    pub fn push(&mut self, tokenizer: &super::Tokenizer, id: u32) -> String {
        self.push_bytes(&tokenizer.token_to_piece(id))
    }

    /// Flushes whatever is held back (an incomplete sequence becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}
