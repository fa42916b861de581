//! Splitting text around special tokens before normal tokenization (llama.cpp's
//! `tokenizer_st_partition`): user-defined tokens always, control tokens only when the caller
//! asks to parse special tokens.
//!
//! llama.cpp tries every special token in turn, longest first, against every remaining text
//! fragment. That order decides overlapping matches, so it is kept; a trie scan first picks out
//! the few special tokens that occur in the text at all, so the cost stays linear in practice.

use super::vocab::{attr, Vocab};

/// A piece of the input: raw text (byte range) still to tokenize, or a special token already found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    Text(usize, usize),
    Token(u32),
}

/// The special tokens of a vocabulary, in llama.cpp's matching order, with a byte trie over them.
pub struct SpecialMatcher {
    /// Position of each token id in llama.cpp's matching order (control, user-defined and
    /// unknown tokens, longest text first, ties by id); `u32::MAX` for ordinary tokens.
    rank: Vec<u32>,
    /// Byte trie over the special tokens' texts; each node keeps its children sorted by byte.
    nodes: Vec<TrieNode>,
}

#[derive(Default)]
struct TrieNode {
    children: Vec<(u8, u32)>,
    token: Option<u32>,
}

impl SpecialMatcher {
    pub fn new(vocab: &Vocab) -> SpecialMatcher {
        let special = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        let mut ordered: Vec<u32> = (0..vocab.len() as u32)
            .filter(|&id| vocab.attr(id) & special != 0)
            .collect();
        ordered.sort_by(|&a, &b| {
            vocab.texts[b as usize]
                .len()
                .cmp(&vocab.texts[a as usize].len())
                .then(a.cmp(&b))
        });
        let mut nodes = vec![TrieNode::default()];
        for &id in &ordered {
            let mut node = 0usize;
            for &byte in vocab.texts[id as usize].as_bytes() {
                node = match nodes[node]
                    .children
                    .binary_search_by_key(&byte, |&(b, _)| b)
                {
                    Ok(i) => nodes[node].children[i].1 as usize,
                    Err(i) => {
                        let new = nodes.len();
                        nodes.push(TrieNode::default());
                        nodes[node].children.insert(i, (byte, new as u32));
                        new
                    }
                };
            }
            nodes[node].token = Some(id);
        }
        let mut rank = vec![u32::MAX; vocab.len()];
        for (i, &id) in ordered.iter().enumerate() {
            rank[id as usize] = i as u32;
        }
        SpecialMatcher { rank, nodes }
    }

    /// Whether `id` takes part in matching under `parse_special`.
    fn eligible(vocab: &Vocab, id: u32, parse_special: bool) -> bool {
        parse_special || vocab.attr(id) & (attr::CONTROL | attr::UNKNOWN) == 0
    }

    /// The eligible special tokens that occur anywhere in `text`, in matching order.
    fn occurring(&self, vocab: &Vocab, text: &str, parse_special: bool) -> Vec<u32> {
        let mut found = Vec::new();
        let bytes = text.as_bytes();
        for start in 0..bytes.len() {
            let mut node = 0usize;
            for &byte in &bytes[start..] {
                match self.nodes[node]
                    .children
                    .binary_search_by_key(&byte, |&(b, _)| b)
                {
                    Ok(i) => node = self.nodes[node].children[i].1 as usize,
                    Err(_) => break,
                }
                if let Some(id) = self.nodes[node].token {
                    if Self::eligible(vocab, id, parse_special) {
                        found.push(id);
                    }
                }
            }
        }
        found.sort_unstable_by_key(|&id| self.rank[id as usize]);
        found.dedup();
        found
    }

    /// Splits `text` into raw-text fragments and special tokens.
    pub fn partition(&self, vocab: &Vocab, text: &str, parse_special: bool) -> Vec<Fragment> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut fragments = vec![Fragment::Text(0, text.len())];
        for id in self.occurring(vocab, text, parse_special) {
            let needle = vocab.texts[id as usize].as_str();
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(mut start, end) = fragment else {
                    next.push(fragment);
                    continue;
                };
                while let Some(found) = text[start..end].find(needle) {
                    let at = start + found;
                    if at > start {
                        next.push(Fragment::Text(start, at));
                    }
                    next.push(Fragment::Token(id));
                    start = at + needle.len();
                }
                if start < end {
                    next.push(Fragment::Text(start, end));
                }
            }
            fragments = next;
        }
        fragments
    }
}
