//! Byte-level BPE (GPT-2 style): each word's bytes start as one symbol each (shown through
//! GPT-2's byte alphabet) and the adjacent pair with the lowest merge rank is merged until
//! no listed pair remains — llama.cpp's `llm_tokenizer_bpe_session`.
//!
//! Pieces (token texts and merge halves) are interned to integers at load time, so merging
//! compares integers and never builds strings.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::error::{Result, TokenizerError};
use super::unicode::byte_to_char;
use super::vocab::Vocab;

/// A small multiplicative hasher for integer keys (SipHash would dominate merge lookups).
#[derive(Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

const NO_PIECE: u32 = u32::MAX;

pub struct BpeModel {
    /// `(left piece, right piece)` → `(rank, merged piece)`.
    merges: IntMap<(u32, u32), (u32, u32)>,
    /// The piece of each single byte (its GPT-2 character), or `NO_PIECE`.
    byte_piece: [u32; 256],
    n_vocab: u32,
}

#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    piece: u32,
    prev: isize,
    next: isize,
}

#[derive(PartialEq, Eq)]
struct Bigram {
    rank: u32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    // BinaryHeap pops the greatest: lowest rank first, then leftmost.
    fn cmp(&self, other: &Self) -> Ordering {
        other.rank.cmp(&self.rank).then(other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl BpeModel {
    pub fn load(vocab: &Vocab, merges: &[String]) -> Result<BpeModel> {
        let n_vocab = vocab.len() as u32;
        // Merge halves that are not tokens get piece ids from `n_vocab` up.
        let mut extra_pieces: HashMap<String, u32> = HashMap::new();
        let intern = |text: &str, extra: &mut HashMap<String, u32>| -> u32 {
            if let Some(id) = vocab.token(text) {
                return id;
            }
            let next = n_vocab + extra.len() as u32;
            *extra.entry(text.to_string()).or_insert(next)
        };
        let mut table: IntMap<(u32, u32), (u32, u32)> = IntMap::default();
        table.reserve(merges.len());
        for (rank, merge) in merges.iter().enumerate() {
            // llama.cpp splits at the first space after the first byte (a merge half may be a space).
            let Some(pos) = merge
                .as_bytes()
                .iter()
                .skip(1)
                .position(|&b| b == b' ')
                .map(|p| p + 1)
            else {
                return Err(TokenizerError::BadValue {
                    key: "tokenizer.ggml.merges",
                    problem: format!(
                        "entry {rank} ({merge:?}) is not two pieces separated by a space"
                    ),
                });
            };
            let (first, second) = (&merge[..pos], &merge[pos + 1..]);
            let left = intern(first, &mut extra_pieces);
            let right = intern(second, &mut extra_pieces);
            let merged = intern(&format!("{first}{second}"), &mut extra_pieces);
            // The first listing of a pair wins, as with llama.cpp's `emplace`.
            table.entry((left, right)).or_insert((rank as u32, merged));
        }
        let mut byte_piece = [NO_PIECE; 256];
        for (b, slot) in byte_piece.iter_mut().enumerate() {
            let text = byte_to_char(b as u8).to_string();
            *slot = vocab
                .token(&text)
                .or_else(|| extra_pieces.get(&text).copied())
                .unwrap_or(NO_PIECE);
        }
        Ok(BpeModel {
            merges: table,
            byte_piece,
            n_vocab,
        })
    }

    /// Tokenizes one pre-tokenized word (raw bytes), appending token ids to `out`.
    pub fn encode_word(
        &self,
        vocab: &Vocab,
        word: &[u8],
        ignore_merges: bool,
        out: &mut Vec<u32>,
        scratch: &mut BpeScratch,
    ) {
        if word.is_empty() {
            return;
        }
        if ignore_merges {
            let encoded: String = word.iter().map(|&b| byte_to_char(b)).collect();
            if let Some(id) = vocab.token(&encoded) {
                out.push(id);
                return;
            }
        }
        let symbols = &mut scratch.symbols;
        let heap = &mut scratch.heap;
        symbols.clear();
        heap.clear();
        let n = word.len();
        for (i, &b) in word.iter().enumerate() {
            let next = if i + 1 == n { -1 } else { i as isize + 1 };
            symbols.push(Symbol {
                start: i,
                len: 1,
                piece: self.byte_piece[b as usize],
                prev: i as isize - 1,
                next,
            });
        }
        for i in 1..n {
            self.push_bigram(symbols, heap, i - 1, i);
        }
        while let Some(bigram) = heap.pop() {
            let (left, right) = (symbols[bigram.left], symbols[bigram.right]);
            // Stale entries: one side already merged elsewhere.
            if left.len == 0 || right.len == 0 || left.len + right.len != bigram.size {
                continue;
            }
            let Some(&(_, merged)) = self.merges.get(&(left.piece, right.piece)) else {
                continue;
            };
            symbols[bigram.left].len += right.len;
            symbols[bigram.left].piece = merged;
            symbols[bigram.left].next = right.next;
            symbols[bigram.right].len = 0;
            if right.next >= 0 {
                symbols[right.next as usize].prev = bigram.left as isize;
            }
            if left.prev >= 0 {
                self.push_bigram(symbols, heap, left.prev as usize, bigram.left);
            }
            if right.next >= 0 {
                self.push_bigram(symbols, heap, bigram.left, right.next as usize);
            }
        }
        let mut i = 0isize;
        while i >= 0 {
            let sym = symbols[i as usize];
            if sym.len > 0 {
                self.emit(vocab, &word[sym.start..sym.start + sym.len], sym.piece, out);
            }
            i = sym.next;
        }
    }

    fn push_bigram(
        &self,
        symbols: &[Symbol],
        heap: &mut BinaryHeap<Bigram>,
        left: usize,
        right: usize,
    ) {
        let (l, r) = (&symbols[left], &symbols[right]);
        if let Some(&(rank, _)) = self.merges.get(&(l.piece, r.piece)) {
            heap.push(Bigram {
                rank,
                left,
                right,
                size: l.len + r.len,
            });
        }
    }

    /// Emits a final symbol: its token, or (llama.cpp's fallback) the tokens of those encoded
    /// bytes that are single-byte tokens.
    fn emit(&self, vocab: &Vocab, bytes: &[u8], piece: u32, out: &mut Vec<u32>) {
        if piece < self.n_vocab {
            out.push(piece);
            return;
        }
        let encoded: String = bytes.iter().map(|&b| byte_to_char(b)).collect();
        for &b in encoded.as_bytes() {
            if b < 0x80 {
                if let Some(id) = vocab.token(&(b as char).to_string()) {
                    out.push(id);
                }
            }
        }
    }
}

/// Buffers reused across words.
#[derive(Default)]
pub struct BpeScratch {
    symbols: Vec<Symbol>,
    heap: BinaryHeap<Bigram>,
}
