//! BPE pre-tokenizers: split text into the words that BPE merges run within.
//!
//! The common regexes are hand-written scanners transcribed from llama.cpp's `unicode.cpp`
//! (`unicode_regex_split_custom_{gpt2,llama3,qwen2,qwen35}`), because those scanners — not
//! the regexes they stand for — are what the vocabularies' test vectors were produced with.
//! Rarer pre-tokenizers run their llama.cpp regex list through `fancy-regex`.

use super::error::{Result, TokenizerError};
use super::unicode::{flags, LETTER, MARK, NUMBER, WHITESPACE};

/// The `tokenizer.ggml.pre` values [`PreTokenizer::from_name`] accepts, for error messages.
pub const SUPPORTED_PRE_NAMES: &str =
    "gpt-2 and aliases, llama-bpe/llama3 and aliases, qwen2 and aliases, qwen35, \
     default, starcoder and aliases, falcon";

/// How a BPE vocabulary splits text before merging.
pub enum PreTokenizer {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    Gpt2,
    /// The llama3 family: `(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    /// Qwen2 groups single digits; Qwen3.5 also counts combining marks (`\p{M}`) as letters.
    Llama3Like {
        max_digits: usize,
        marks_are_letters: bool,
    },
    /// A list of regexes applied in turn, each splitting the pieces the previous one left.
    Regexes(Vec<fancy_regex::Regex>),
}

/// Properties of a pre-tokenizer name that change more than the split.
pub struct PreConfig {
    pub pre: PreTokenizer,
    /// Use a whole word as one token when it is in the vocabulary (llama3).
    pub ignore_merges: bool,
    /// Default for `add_bos` when the metadata does not say.
    pub add_bos: bool,
    /// Apply llama.cpp's `clean_up_tokenization_spaces` passes when decoding.
    pub clean_spaces: bool,
}

const GPT2_REGEX: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

impl PreConfig {
    /// The configuration llama.cpp uses for `tokenizer.ggml.pre = name` (empty: `default`).
    pub fn from_name(name: &str) -> Result<PreConfig> {
        let llama3 = PreTokenizer::Llama3Like {
            max_digits: 3,
            marks_are_letters: false,
        };
        let cfg = |pre, ignore_merges, add_bos, clean_spaces| PreConfig {
            pre,
            ignore_merges,
            add_bos,
            clean_spaces,
        };
        Ok(match name {
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
            | "midm-2.0" | "lfm2" | "jina-v5-nano" => cfg(llama3, true, true, true),
            "dbrx" | "smaug-bpe" => cfg(llama3, false, false, true),
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open" => cfg(
                PreTokenizer::Llama3Like {
                    max_digits: 1,
                    marks_are_letters: false,
                },
                false,
                false,
                false,
            ),
            "stablelm2" | "megrez" => cfg(
                PreTokenizer::Llama3Like {
                    max_digits: 1,
                    marks_are_letters: false,
                },
                false,
                false,
                true,
            ),
            "qwen35" => cfg(
                PreTokenizer::Llama3Like {
                    max_digits: 1,
                    marks_are_letters: true,
                },
                false,
                false,
                false,
            ),
            "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
            | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais"
            | "exaone4" => cfg(PreTokenizer::Gpt2, false, false, true),
            "trillion" | "granite-docling" => cfg(PreTokenizer::Gpt2, false, false, false),
            "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => cfg(
                PreTokenizer::regexes(&[r"\p{N}", GPT2_REGEX])?,
                false,
                false,
                true,
            ),
            "command-r" | "smollm" => cfg(
                PreTokenizer::regexes(&[r"\p{N}", GPT2_REGEX])?,
                false,
                false,
                false,
            ),
            "falcon" => cfg(
                PreTokenizer::regexes(&[r"[\p{P}\$\+<=>\^~\|`]+", GPT2_REGEX, "[0-9][0-9][0-9]"])?,
                false,
                false,
                true,
            ),
            "" | "default" => cfg(
                PreTokenizer::regexes(&[
                    r"[\p{P}\$\+<=>\^~\|]+",
                    GPT2_REGEX,
                    r"\p{N}+",
                    "[0-9][0-9][0-9]",
                ])?,
                false,
                false,
                true,
            ),
            other => return Err(TokenizerError::UnsupportedPre(other.to_string())),
        })
    }
}

impl PreTokenizer {
    fn regexes(patterns: &[&str]) -> Result<PreTokenizer> {
        let compiled = patterns
            .iter()
            .map(|p| {
                fancy_regex::Regex::new(p).map_err(|e| TokenizerError::BadValue {
                    key: "tokenizer.ggml.pre",
                    problem: format!("pre-tokenizer regex {p:?} does not compile: {e}"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PreTokenizer::Regexes(compiled))
    }

    /// Splits `text` into words, returned as byte ranges that tile `text` in order.
    pub fn split(&self, text: &str) -> Vec<(usize, usize)> {
        match self {
            PreTokenizer::Gpt2 => scan(text, split_gpt2),
            PreTokenizer::Llama3Like {
                max_digits,
                marks_are_letters,
            } => {
                let letter = if *marks_are_letters {
                    LETTER | MARK
                } else {
                    LETTER
                };
                scan(text, |cps, out| split_llama3(cps, *max_digits, letter, out))
            }
            PreTokenizer::Regexes(list) => split_regexes(text, list),
        }
    }
}

/// Decodes `text` into code points, runs `splitter` (which yields word lengths in code points)
/// and converts the result to byte ranges.
fn scan(text: &str, splitter: impl Fn(&Cps, &mut Vec<usize>)) -> Vec<(usize, usize)> {
    let cps = Cps::new(text);
    let mut lengths = Vec::new();
    splitter(&cps, &mut lengths);
    let mut ranges = Vec::with_capacity(lengths.len());
    let mut cp = 0usize;
    for len in lengths {
        let start = cps.byte_at(cp);
        cp += len;
        ranges.push((start, cps.byte_at(cp)));
    }
    ranges
}

/// A text as code points with their classes; positions past the end read as "none".
struct Cps {
    chars: Vec<char>,
    class: Vec<u8>,
    byte_offsets: Vec<usize>,
}

impl Cps {
    fn new(text: &str) -> Cps {
        let n = text.len();
        let mut chars = Vec::with_capacity(n);
        let mut class = Vec::with_capacity(n);
        let mut byte_offsets = Vec::with_capacity(n + 1);
        for (i, c) in text.char_indices() {
            chars.push(c);
            class.push(flags(c));
            byte_offsets.push(i);
        }
        byte_offsets.push(n);
        Cps {
            chars,
            class,
            byte_offsets,
        }
    }

    fn len(&self) -> usize {
        self.chars.len()
    }

    fn byte_at(&self, cp: usize) -> usize {
        self.byte_offsets[cp.min(self.chars.len())]
    }

    /// The code point at `pos`, or `None` past the end (llama.cpp's OUT_OF_RANGE).
    fn cpt(&self, pos: usize) -> Option<char> {
        self.chars.get(pos).copied()
    }

    /// Class bits at `pos`; past the end every bit is clear.
    fn class(&self, pos: usize) -> u8 {
        self.class.get(pos).copied().unwrap_or(0)
    }

    fn is(&self, pos: usize, bits: u8) -> bool {
        self.class(pos) & bits != 0
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `pos` (optionally case-insensitive): its length in code points.
    fn contraction(&self, pos: usize, ignore_case: bool) -> Option<usize> {
        if self.cpt(pos) != Some('\'') || pos + 1 >= self.len() {
            return None;
        }
        let norm = |c: Option<char>| {
            c.map(|c| {
                if ignore_case {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
        };
        let next = norm(self.cpt(pos + 1));
        if matches!(next, Some('s' | 't' | 'm' | 'd')) {
            return Some(2);
        }
        if pos + 2 < self.len() {
            let next2 = norm(self.cpt(pos + 2));
            if matches!(
                (next, next2),
                (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l'))
            ) {
                return Some(3);
            }
        }
        None
    }

    /// Length of the whitespace run starting at `pos`.
    fn whitespace_run(&self, pos: usize) -> usize {
        let mut n = 0;
        while self.is(pos + n, WHITESPACE) {
            n += 1;
        }
        n
    }
}

/// Emits words as code-point lengths, skipping empty ones (llama.cpp's `_add_token`).
struct Emitter<'a> {
    prev_end: usize,
    out: &'a mut Vec<usize>,
}

impl Emitter<'_> {
    fn emit(&mut self, end: usize) -> usize {
        let len = end - self.prev_end;
        if len > 0 {
            self.out.push(len);
        }
        self.prev_end = end;
        len
    }
}

fn split_gpt2(cps: &Cps, out: &mut Vec<usize>) {
    let end = cps.len();
    let mut em = Emitter { prev_end: 0, out };
    let mut pos = 0;
    while pos < end {
        if let Some(n) = cps.contraction(pos, false) {
            pos += em.emit(pos + n);
            continue;
        }
        let is_space = cps.cpt(pos) == Some(' ');
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the class is decided by the char after an optional space.
        let lead = if is_space { pos + 1 } else { pos };
        let in_range = lead < end;
        let class = cps.class(lead);
        if class & LETTER != 0 || class & NUMBER != 0 {
            let bit = if class & LETTER != 0 { LETTER } else { NUMBER };
            pos = lead;
            while cps.is(pos, bit) {
                pos += 1;
            }
            em.emit(pos);
            continue;
        }
        if in_range && class & (WHITESPACE | LETTER | NUMBER) == 0 {
            pos = lead;
            while pos < end && cps.class(pos) & (WHITESPACE | LETTER | NUMBER) == 0 {
                pos += 1;
            }
            em.emit(pos);
            continue;
        }
        let n_ws = cps.whitespace_run(pos);
        if n_ws > 1 && pos + n_ws < end {
            // `\s+(?!\S)`: leave the last space to lead the next word.
            pos += n_ws - 1;
            em.emit(pos);
            continue;
        }
        if n_ws > 0 {
            pos += n_ws;
            em.emit(pos);
            continue;
        }
        pos += 1;
        em.emit(pos);
    }
}

fn split_llama3(cps: &Cps, max_digits: usize, letter: u8, out: &mut Vec<usize>) {
    let end = cps.len();
    let stop = WHITESPACE | letter | NUMBER;
    let mut em = Emitter { prev_end: 0, out };
    let mut pos = 0;
    while pos < end {
        let cpt = cps.cpt(pos);
        let class = cps.class(pos);
        if let Some(n) = cps.contraction(pos, true) {
            pos += em.emit(pos + n);
            continue;
        }
        // `[^\r\n\p{L}\p{N}]?\p{L}+` (Qwen3.5: letters and marks)
        if !matches!(cpt, Some('\r' | '\n'))
            && class & NUMBER == 0
            && (class & letter != 0 || cps.is(pos + 1, letter))
        {
            pos += 1;
            while cps.is(pos, letter) {
                pos += 1;
            }
            em.emit(pos);
            continue;
        }
        // `\p{N}{1,max_digits}`
        if class & NUMBER != 0 {
            let mut ini = pos;
            while cps.is(pos, NUMBER) {
                pos += 1;
                if pos - ini >= max_digits {
                    em.emit(pos);
                    ini = pos;
                }
            }
            em.emit(pos);
            continue;
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let lead = if cpt == Some(' ') { pos + 1 } else { pos };
        if lead < end && cps.class(lead) & stop == 0 {
            pos = lead;
            while pos < end && cps.class(pos) & stop == 0 {
                pos += 1;
            }
            while matches!(cps.cpt(pos), Some('\r' | '\n')) {
                pos += 1;
            }
            em.emit(pos);
            continue;
        }
        let mut n_ws = 0;
        let mut last_newline_end = 0;
        while cps.is(pos + n_ws, WHITESPACE) {
            if matches!(cps.cpt(pos + n_ws), Some('\r' | '\n')) {
                last_newline_end = pos + n_ws + 1;
            }
            n_ws += 1;
        }
        // `\s*[\r\n]+`
        if last_newline_end > 0 {
            pos = last_newline_end;
            em.emit(pos);
            continue;
        }
        // `\s+(?!\S)`
        if n_ws > 1 && pos + n_ws < end {
            pos += n_ws - 1;
            em.emit(pos);
            continue;
        }
        // `\s+`
        if n_ws > 0 {
            pos += n_ws;
            em.emit(pos);
            continue;
        }
        pos += 1;
        em.emit(pos);
    }
}

/// llama.cpp's generic path: each regex splits every current piece into its matches and the
/// unmatched gaps between them.
fn split_regexes(text: &str, regexes: &[fancy_regex::Regex]) -> Vec<(usize, usize)> {
    let mut pieces = if text.is_empty() {
        Vec::new()
    } else {
        vec![(0, text.len())]
    };
    for re in regexes {
        let mut next = Vec::with_capacity(pieces.len());
        for &(start, end) in &pieces {
            let piece = &text[start..end];
            let mut last = 0;
            for m in re.find_iter(piece) {
                // A regex that gives up (backtrack limit) leaves the rest of the piece whole.
                let Ok(m) = m else { break };
                if m.start() > last {
                    next.push((start + last, start + m.start()));
                }
                if m.end() > m.start() {
                    next.push((start + m.start(), start + m.end()));
                }
                last = m.end();
            }
            if last < piece.len() {
                next.push((start + last, end));
            }
        }
        pieces = next;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pre: &str, text: &str) -> Vec<String> {
        let cfg = PreConfig::from_name(pre).unwrap();
        cfg.pre
            .split(text)
            .into_iter()
            .map(|(a, b)| text[a..b].to_string())
            .collect()
    }

    #[test]
    fn gpt2_split_matches_the_regex() {
        assert_eq!(
            words("gpt-2", "Hello world's  end 123!!"),
            ["Hello", " world", "'s", " ", " end", " 123", "!!"]
        );
        assert_eq!(words("gpt-2", "a   "), ["a", "   "]);
    }

    #[test]
    fn llama3_split_groups_digits_by_three() {
        assert_eq!(
            words("llama-bpe", "x 12345\n\n y"),
            ["x", " ", "123", "45", "\n\n", " y"]
        );
        assert_eq!(words("llama-bpe", "I'VE"), ["I", "'VE"]);
    }

    #[test]
    fn qwen35_keeps_marks_with_letters() {
        assert_eq!(
            words("qwen35", "re\u{301}sume\u{301} 42"),
            ["re\u{301}sume\u{301}", " ", "4", "2"]
        );
        assert_eq!(words("qwen2", "re\u{301}s"), ["re", "\u{301}s"]);
    }

    #[test]
    fn splits_tile_the_text() {
        let text = "  \t\n🚀 (x) 😶‍🌫️ ✅ 3..3 我想 ------ ''' I'm\r\n  ";
        for pre in [
            "gpt-2",
            "llama-bpe",
            "qwen2",
            "qwen35",
            "default",
            "starcoder",
        ] {
            let joined: String = words(pre, text).concat();
            assert_eq!(joined, text, "{pre}");
        }
    }

    #[test]
    fn unknown_pre_is_named() {
        let err = PreConfig::from_name("martian").err().unwrap().to_string();
        assert!(err.contains("martian"), "{err}");
    }
}
