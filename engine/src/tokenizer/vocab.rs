//! The vocabulary read from `tokenizer.ggml.*`: token texts, scores, attributes and the special
//! token ids, with llama.cpp's defaults and text-based detection of end-of-turn tokens.

use std::collections::{BTreeSet, HashMap};

use super::error::{Result, TokenizerError};
use crate::gguf::{Array, Metadata};

/// Token attributes (llama.cpp's `llama_token_attr`), from `tokenizer.ggml.token_type`.
pub mod attr {
    pub const UNDEFINED: u8 = 0;
    pub const UNKNOWN: u8 = 1 << 0;
    pub const UNUSED: u8 = 1 << 1;
    pub const NORMAL: u8 = 1 << 2;
    pub const CONTROL: u8 = 1 << 3;
    pub const USER_DEFINED: u8 = 1 << 4;
    pub const BYTE: u8 = 1 << 5;
}

/// Which algorithm turns text into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// SentencePiece BPE by score (`llama`): LLaMA 1/2, Mistral, Gemma.
    Spm,
    /// Byte-level BPE by merge rank (`gpt2`): GPT-2, LLaMA 3, Qwen.
    Bpe,
}

/// Special token ids; `None` where the vocabulary has none.
#[derive(Debug, Clone, Default)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

pub struct Vocab {
    pub kind: VocabKind,
    pub texts: Vec<String>,
    pub ids: HashMap<String, u32>,
    pub scores: Vec<f32>,
    pub attrs: Vec<u8>,
    pub special: SpecialIds,
    pub eog: BTreeSet<u32>,
}

const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_SCORES: &str = "tokenizer.ggml.scores";
const KEY_TYPES: &str = "tokenizer.ggml.token_type";

/// Texts llama.cpp takes for an end-of-turn token when `tokenizer.ggml.eot_token_id` is absent,
/// in the order this engine prefers them.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];

/// Texts that end generation (llama.cpp's `special_eog_ids` detection).
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

impl Vocab {
    /// Reads the vocabulary; `kind` and the per-kind defaults come from the caller.
    pub fn load(
        md: &Metadata,
        kind: VocabKind,
        default_bos: Option<u32>,
        default_eos: Option<u32>,
    ) -> Result<Vocab> {
        let raw = md
            .get_str_array(KEY_TOKENS)
            .ok_or_else(|| match md.get(KEY_TOKENS) {
                None => TokenizerError::MissingKey(KEY_TOKENS),
                Some(v) => TokenizerError::BadValue {
                    key: KEY_TOKENS,
                    problem: format!("is a {}, not a string array", v.type_name()),
                },
            })?;
        let n = raw.len();
        if n == 0 || n > u32::MAX as usize / 2 {
            return Err(TokenizerError::BadValue {
                key: KEY_TOKENS,
                problem: format!("has {n} tokens"),
            });
        }
        let scores = match md.get(KEY_SCORES) {
            None => vec![0.0; n],
            Some(_) => {
                let s = md.get_array(KEY_SCORES).and_then(|a| match a {
                    Array::F32(v) => Some(v.clone()),
                    Array::I32(v) => Some(v.iter().map(|&x| x as f32).collect()),
                    _ => None,
                });
                let s = s.ok_or(TokenizerError::BadValue {
                    key: KEY_SCORES,
                    problem: "is not an f32 or i32 array".into(),
                })?;
                if s.len() < n {
                    return Err(TokenizerError::BadValue {
                        key: KEY_SCORES,
                        problem: format!("has {} entries for {n} tokens", s.len()),
                    });
                }
                s
            }
        };
        let attrs = match md.get(KEY_TYPES) {
            None => vec![attr::NORMAL; n],
            Some(_) => {
                let types = md.get_array(KEY_TYPES).and_then(|a| a.as_i64_vec()).ok_or(
                    TokenizerError::BadValue {
                        key: KEY_TYPES,
                        problem: "is not an integer array".into(),
                    },
                )?;
                if types.len() < n {
                    return Err(TokenizerError::BadValue {
                        key: KEY_TYPES,
                        problem: format!("has {} entries for {n} tokens", types.len()),
                    });
                }
                types[..n].iter().map(|&t| type_to_attr(t)).collect()
            }
        };

        let mut texts = Vec::with_capacity(n);
        let mut ids = HashMap::with_capacity(n);
        for (i, word) in raw.iter().enumerate() {
            let text = if word.is_empty() {
                format!("[EMPTY_{i}]")
            } else {
                word.clone()
            };
            if let Some(&first) = ids.get(&text) {
                return Err(TokenizerError::DuplicateToken {
                    text,
                    first,
                    second: i as u32,
                });
            }
            ids.insert(text.clone(), i as u32);
            texts.push(text);
        }

        let mut vocab = Vocab {
            kind,
            texts,
            ids,
            scores,
            attrs,
            special: SpecialIds::default(),
            eog: BTreeSet::new(),
        };
        vocab.read_special_ids(md, default_bos, default_eos);
        vocab.detect_special_by_text();
        Ok(vocab)
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn token(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    pub fn attr(&self, id: u32) -> u8 {
        self.attrs
            .get(id as usize)
            .copied()
            .unwrap_or(attr::UNDEFINED)
    }

    fn id_key(&self, md: &Metadata, key: &str, default: Option<u32>) -> Option<u32> {
        let in_range = |id: u32| (id as usize) < self.len();
        match md.get_i64(key) {
            // llama.cpp keeps the default when the stored id is out of range.
            Some(id) if id >= 0 && in_range(id as u32) => Some(id as u32),
            _ => default.filter(|&id| in_range(id)),
        }
    }

    fn read_special_ids(
        &mut self,
        md: &Metadata,
        default_bos: Option<u32>,
        default_eos: Option<u32>,
    ) {
        let default_unk = if self.kind == VocabKind::Spm {
            Some(0)
        } else {
            None
        };
        let k = |name: &str| format!("tokenizer.ggml.{name}");
        self.special = SpecialIds {
            bos: self.id_key(md, &k("bos_token_id"), default_bos),
            eos: self.id_key(md, &k("eos_token_id"), default_eos),
            eot: self.id_key(md, &k("eot_token_id"), None),
            eom: self.id_key(md, &k("eom_token_id"), None),
            unk: self.id_key(md, &k("unknown_token_id"), default_unk),
            pad: self.id_key(md, &k("padding_token_id"), None),
            fim_pad: self.id_key(md, &k("fim_pad_token_id"), None),
            fim_rep: self.id_key(md, &k("fim_rep_token_id"), None),
            fim_sep: self.id_key(md, &k("fim_sep_token_id"), None),
        };
    }

    /// Finds EOT/EOM/FIM tokens by their text where the metadata does not name them, marks
    /// such tokens as control tokens, and builds the end-of-generation set (llama.cpp's rules).
    fn detect_special_by_text(&mut self) {
        // Each slot is filled by text only when the metadata left it empty; only tokens found
        // that way are forced to be control tokens (as llama.cpp does).
        let by_text = |slot: &mut Option<u32>, texts: &[&str], ids: &HashMap<String, u32>| {
            if slot.is_some() {
                return None;
            }
            *slot = texts.iter().find_map(|t| ids.get(*t).copied());
            *slot
        };
        let sp = &mut self.special;
        let detected = [
            by_text(&mut sp.eot, EOT_TEXTS, &self.ids),
            by_text(&mut sp.eom, &["<|eom_id|>"], &self.ids),
            by_text(
                &mut sp.fim_pad,
                &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
                &self.ids,
            ),
            by_text(
                &mut sp.fim_rep,
                &[
                    "<|fim_repo|>",
                    "<|repo_name|>",
                    "<fim-repo>",
                    "<REPO>",
                    "<reponame>",
                ],
                &self.ids,
            ),
            by_text(&mut sp.fim_sep, &["<|file_sep|>"], &self.ids),
        ];
        for id in detected.into_iter().flatten() {
            self.attrs[id as usize] |= attr::CONTROL;
        }

        let mut eog: BTreeSet<u32> = [
            self.special.fim_pad,
            self.special.fim_rep,
            self.special.fim_sep,
        ]
        .into_iter()
        .flatten()
        .collect();
        for text in EOG_TEXTS {
            if let Some(id) = self.token(text) {
                eog.insert(id);
                self.attrs[id as usize] |= attr::CONTROL;
            }
        }
        // gpt-oss: these structural tokens must always be rendered.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(id) = self.token(text) {
                self.attrs[id as usize] = attr::USER_DEFINED;
            }
        }
        eog.extend(
            [self.special.eos, self.special.eot, self.special.eom]
                .into_iter()
                .flatten(),
        );
        // o200k_harmony / solar-open: `<|end|>` separates messages there and does not end generation.
        let has = |t: &str| self.token(t).is_some_and(|id| eog.contains(&id));
        if (has("<|return|>") && has("<|call|>") || has("<|calls|>") && has("<|flush|>"))
            && has("<|end|>")
        {
            if let Some(end) = self.token("<|end|>") {
                eog.remove(&end);
                self.attrs[end as usize] = attr::USER_DEFINED;
            }
        }
        self.eog = eog;
    }
}

fn type_to_attr(token_type: i64) -> u8 {
    match token_type {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => attr::UNDEFINED,
    }
}
