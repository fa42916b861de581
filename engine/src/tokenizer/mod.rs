//! Tokenizers built from a GGUF file's `tokenizer.ggml.*` metadata, reproducing llama.cpp's
//! `llama-vocab.cpp`: byte-level BPE (`gpt2`: GPT-2, LLaMA 3, Qwen 2/3/3.5) and SentencePiece
//! (`llama`: LLaMA 1/2, Mistral, Gemma), special-token parsing, BOS/EOS rules and decoding.
//! Chat templates live in [`chat_template`].

mod bpe;
pub mod chat_template;
pub mod chat_turns;
mod detokenize;
mod error;
mod pretokenize;
mod pycompat;
mod special;
mod spm;
mod unicode;
mod vocab;

#[cfg(test)]
mod tests;

use crate::gguf::Metadata;

pub use chat_template::{ChatMessage, ChatTemplate, RenderOptions};
pub use chat_turns::{next_turn, NextTurn, TurnText};
pub use detokenize::StreamDecoder;
pub use error::{Result, TokenizerError};
pub use unicode::byte_to_char;
pub use vocab::VocabKind;

use bpe::{BpeModel, BpeScratch};
use pretokenize::PreConfig;
use special::{Fragment, SpecialMatcher};
use vocab::Vocab;

/// Kind-specific state.
enum Model {
    /// `joined`: see [`spm::chars_joined_to_space`].
    Spm {
        joined: std::collections::HashSet<char>,
    },
    Bpe {
        bpe: Box<BpeModel>,
        pre: PreConfig,
    },
}

/// A text ↔ token-id converter for one model.
pub struct Tokenizer {
    vocab: Vocab,
    model: Model,
    special: SpecialMatcher,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
    clean_spaces: bool,
    model_name: String,
    pre_name: String,
}

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_MERGES: &str = "tokenizer.ggml.merges";

impl Tokenizer {
    /// Builds the tokenizer a GGUF file describes. Unsupported tokenizer models and BPE
    /// pre-tokenizers are errors that name the value found.
    pub fn from_metadata(md: &Metadata) -> Result<Tokenizer> {
        let model_name = match md.get(KEY_MODEL) {
            None => return Err(TokenizerError::MissingKey(KEY_MODEL)),
            Some(v) => v
                .as_str()
                .ok_or(TokenizerError::BadValue {
                    key: KEY_MODEL,
                    problem: format!("is a {}, not a string", v.type_name()),
                })?
                .to_string(),
        };
        let pre_name = md.get_str("tokenizer.ggml.pre").unwrap_or("").to_string();
        let (kind, pre) = match model_name.as_str() {
            "llama" => (VocabKind::Spm, None),
            "gpt2" => (VocabKind::Bpe, Some(PreConfig::from_name(&pre_name)?)),
            "none" | "no_vocab" => return Err(TokenizerError::NoVocabulary(model_name)),
            other => return Err(TokenizerError::UnsupportedModel(other.to_string())),
        };
        let (default_bos, default_eos) = match kind {
            VocabKind::Spm => (Some(1), Some(2)),
            VocabKind::Bpe => (None, None),
        };
        let vocab = Vocab::load(md, kind, default_bos, default_eos)?;

        // llama.cpp's per-kind defaults, then the metadata's own flags.
        let (mut add_bos, mut add_space_prefix, clean_spaces);
        let model = match pre {
            None => {
                (add_bos, add_space_prefix, clean_spaces) = (true, true, false);
                Model::Spm {
                    joined: spm::chars_joined_to_space(&vocab),
                }
            }
            Some(pre) => {
                (add_bos, add_space_prefix, clean_spaces) = (pre.add_bos, false, pre.clean_spaces);
                let merges =
                    md.get_str_array(KEY_MERGES)
                        .ok_or_else(|| match md.get(KEY_MERGES) {
                            None => TokenizerError::MissingKey(KEY_MERGES),
                            Some(v) => TokenizerError::BadValue {
                                key: KEY_MERGES,
                                problem: format!("is a {}, not a string array", v.type_name()),
                            },
                        })?;
                Model::Bpe {
                    bpe: Box::new(BpeModel::load(&vocab, merges)?),
                    pre,
                }
            }
        };
        if let Some(v) = md.get_bool("tokenizer.ggml.add_space_prefix") {
            add_space_prefix = v;
        }
        if let Some(v) = md.get_bool("tokenizer.ggml.add_bos_token") {
            add_bos = v;
        }
        let add_eos = md.get_bool("tokenizer.ggml.add_eos_token").unwrap_or(false);
        if add_bos && vocab.special.bos.is_none() {
            return Err(TokenizerError::BadValue {
                key: "tokenizer.ggml.add_bos_token",
                problem: "is true, but there is no BOS token".into(),
            });
        }
        if add_eos && vocab.special.eos.is_none() {
            return Err(TokenizerError::BadValue {
                key: "tokenizer.ggml.add_eos_token",
                problem: "is true, but there is no EOS token".into(),
            });
        }
        let special = SpecialMatcher::new(&vocab);
        unicode::warm_up();
        Ok(Tokenizer {
            vocab,
            model,
            special,
            add_bos,
            add_eos,
            add_space_prefix,
            clean_spaces,
            model_name,
            pre_name,
        })
    }

    /// Tokenizes `text`. With `add_special`, the BOS/EOS tokens are added where the model's
    /// metadata asks for them (llama.cpp's `add_special`); with `parse_special`, control tokens
    /// written in the text (`<|im_start|>`) become their ids. User-defined tokens are always matched.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let fragments = self.special.partition(&self.vocab, text, parse_special);
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && self.add_bos {
            out.extend(self.vocab.special.bos);
        }
        match &self.model {
            Model::Spm { joined } => self.encode_spm(joined, text, &fragments, &mut out),
            Model::Bpe { bpe, pre } => {
                let mut scratch = BpeScratch::default();
                for fragment in fragments {
                    match fragment {
                        Fragment::Token(id) => out.push(id),
                        Fragment::Text(start, end) => {
                            let piece = &text[start..end];
                            for (a, b) in pre.pre.split(piece) {
                                bpe.encode_word(
                                    &self.vocab,
                                    &piece.as_bytes()[a..b],
                                    pre.ignore_merges,
                                    &mut out,
                                    &mut scratch,
                                );
                            }
                        }
                    }
                }
            }
        }
        if add_special && self.add_eos {
            out.extend(self.vocab.special.eos);
        }
        out
    }

    fn encode_spm(
        &self,
        joined: &std::collections::HashSet<char>,
        text: &str,
        fragments: &[Fragment],
        out: &mut Vec<u32>,
    ) {
        // The first text fragment, and any right after a special token, gets a leading space.
        let mut prev_special = true;
        for &fragment in fragments {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Fragment::Text(start, end) => {
                    let prefix = if self.add_space_prefix && prev_special {
                        "▁"
                    } else {
                        ""
                    };
                    let escaped = format!("{prefix}{}", text[start..end].replace(' ', "▁"));
                    spm::encode(&self.vocab, joined, &escaped, out);
                    prev_special = false;
                }
            }
        }
    }

    /// Text of `ids`, as llama.cpp detokenizes without special tokens: control tokens (BOS,
    /// `<|im_end|>`…) are dropped. Invalid UTF-8 becomes U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        self.decode_with(ids, false)
    }

    /// Like [`decode`](Self::decode); with `special`, control tokens are written out as their text.
    pub fn decode_with(&self, ids: &[u32], special: bool) -> String {
        let bytes = detokenize::detokenize(
            &self.vocab,
            ids,
            special,
            self.add_space_prefix,
            self.clean_spaces,
        );
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The bytes of one token, control tokens included as text (for streaming output; feed them
    /// to a [`StreamDecoder`] to get whole characters). Unknown ids give nothing.
    pub fn token_to_piece(&self, id: u32) -> Vec<u8> {
        detokenize::piece(&self.vocab, id, true)
    }

    /// The stored text of token `id` (as in the vocabulary: `▁` and GPT-2 byte characters included).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.texts.get(id as usize).map(String::as_str)
    }

    /// The id whose stored text is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.token(text)
    }

    pub fn bos(&self) -> Option<u32> {
        self.vocab.special.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.vocab.special.eos
    }

    /// Padding token (`tokenizer.ggml.padding_token_id`).
    pub fn pad(&self) -> Option<u32> {
        self.vocab.special.pad
    }

    /// End-of-turn token (`<|im_end|>`, `<end_of_turn>`, `<|eot_id|>`…), from metadata or by text.
    pub fn eot(&self) -> Option<u32> {
        self.vocab.special.eot
    }

    /// Whether generating `id` ends the turn (EOS, EOT, EOM and the other end tokens llama.cpp knows).
    pub fn is_eog(&self, id: u32) -> bool {
        self.vocab.eog.contains(&id)
    }

    /// Whether `id` is a control token (not rendered by [`decode`](Self::decode)).
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.attr(id) & vocab::attr::CONTROL != 0
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    pub fn kind(&self) -> VocabKind {
        self.vocab.kind
    }

    /// Whether `encode(.., add_special = true, ..)` prepends BOS.
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether `encode(.., add_special = true, ..)` appends EOS.
    pub fn adds_eos(&self) -> bool {
        self.add_eos
    }

    /// `tokenizer.ggml.model` and `tokenizer.ggml.pre`, for display.
    pub fn describe(&self) -> String {
        match &self.model {
            Model::Spm { .. } => format!(
                "{} (SentencePiece), {} tokens",
                self.model_name,
                self.vocab.len()
            ),
            Model::Bpe { .. } => format!(
                "{} (BPE, pre `{}`), {} tokens",
                self.model_name,
                self.pre_name,
                self.vocab.len()
            ),
        }
    }
}
