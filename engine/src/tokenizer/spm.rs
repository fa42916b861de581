//! SentencePiece-style BPE (llama.cpp's `llm_tokenizer_spm_session`): start from single
//! characters and keep merging the adjacent pair whose concatenation is the highest-scoring
//! token; characters left without a token fall back to byte tokens `<0xNN>`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use super::vocab::Vocab;

#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: isize,
    next: isize,
}

struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}

impl Ord for Bigram {
    // BinaryHeap pops the greatest: highest score first, then leftmost.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Characters `c` for which some token contains `c▁` (`c` not itself `▁`). Before any other
/// character a `▁` starts a piece no merge can cross, which lets [`encode`] work word by word.
pub fn chars_joined_to_space(vocab: &Vocab) -> HashSet<char> {
    let mut set = HashSet::new();
    for text in &vocab.texts {
        let mut prev = None;
        for c in text.chars() {
            if c == '▁' {
                if let Some(p) = prev.filter(|&p| p != '▁') {
                    set.insert(p);
                }
            }
            prev = Some(c);
        }
    }
    set
}

/// Tokenizes `text` (spaces already escaped to `▁`), appending ids to `out`. The text is cut
/// before each `▁` that no token joins to the character before it; merging the pieces
/// separately gives the same tokens as merging the whole text, with far smaller queues.
pub fn encode(vocab: &Vocab, joined: &HashSet<char>, text: &str, out: &mut Vec<u32>) {
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '▁' && prev.is_some_and(|p| p != '▁' && !joined.contains(&p)) {
            encode_piece(vocab, &text[start..i], out);
            start = i;
        }
        prev = Some(c);
    }
    encode_piece(vocab, &text[start..], out);
}

fn encode_piece(vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
    if text.is_empty() {
        return;
    }
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    let n_chars = text.chars().count();
    for (i, (start, c)) in text.char_indices().enumerate() {
        let next = if i + 1 == n_chars { -1 } else { i as isize + 1 };
        symbols.push(Symbol {
            start,
            len: c.len_utf8(),
            prev: i as isize - 1,
            next,
        });
    }
    let mut heap = BinaryHeap::with_capacity(symbols.len());
    let try_add = |symbols: &[Symbol], heap: &mut BinaryHeap<Bigram>, left: usize, right: usize| {
        let (l, r) = (&symbols[left], &symbols[right]);
        let size = l.len + r.len;
        if let Some(id) = vocab.token(&text[l.start..l.start + size]) {
            heap.push(Bigram {
                score: vocab.scores[id as usize],
                left,
                right,
                size,
            });
        }
    };
    for i in 1..symbols.len() {
        try_add(&symbols, &mut heap, i - 1, i);
    }
    while let Some(bigram) = heap.pop() {
        let (left, right) = (symbols[bigram.left], symbols[bigram.right]);
        if left.len == 0 || right.len == 0 || left.len + right.len != bigram.size {
            continue;
        }
        symbols[bigram.left].len += right.len;
        symbols[bigram.left].next = right.next;
        symbols[bigram.right].len = 0;
        if right.next >= 0 {
            symbols[right.next as usize].prev = bigram.left as isize;
        }
        if left.prev >= 0 {
            try_add(&symbols, &mut heap, left.prev as usize, bigram.left);
        }
        if right.next >= 0 {
            try_add(&symbols, &mut heap, bigram.left, right.next as usize);
        }
    }
    let mut i = 0isize;
    while i >= 0 {
        let sym = symbols[i as usize];
        let piece = &text[sym.start..sym.start + sym.len];
        match vocab.token(piece) {
            Some(id) => out.push(id),
            None => {
                for &b in piece.as_bytes() {
                    if let Some(id) = byte_token(vocab, b) {
                        out.push(id);
                    }
                }
            }
        }
        i = sym.next;
    }
}

/// The token for a raw byte: `<0xNN>`, else the byte as a one-character token, else `<unk>`.
fn byte_token(vocab: &Vocab, b: u8) -> Option<u32> {
    vocab
        .token(&format!("<0x{b:02X}>"))
        .or_else(|| {
            if b < 0x80 {
                vocab.token(&(b as char).to_string())
            } else {
                None
            }
        })
        .or(vocab.special.unk)
}
