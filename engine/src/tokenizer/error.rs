//! Why a tokenizer could not be built from a model's metadata, or a chat template not rendered.

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A required `tokenizer.ggml.*` key is absent.
    #[error("tokenizer metadata: missing key `{0}`")]
    MissingKey(&'static str),
    /// A key is present but has the wrong type or an unusable value.
    #[error("tokenizer metadata: `{key}` {problem}")]
    BadValue { key: &'static str, problem: String },
    /// `tokenizer.ggml.model` names a tokenizer this engine does not implement.
    #[error("unsupported tokenizer model `{0}` (supported: gpt2 (BPE), llama (SentencePiece))")]
    UnsupportedModel(String),
    /// `tokenizer.ggml.pre` names a BPE pre-tokenizer this engine does not implement.
    #[error("unsupported BPE pre-tokenizer `{0}` (supported: {list})", list = super::pretokenize::SUPPORTED_PRE_NAMES)]
    UnsupportedPre(String),
    /// The model carries no vocabulary (`tokenizer.ggml.model = "none"`): it takes token ids only.
    #[error(
        "the model has no vocabulary (tokenizer.ggml.model = `{0}`): it takes token ids, not text"
    )]
    NoVocabulary(String),
    /// Two tokens share one text; llama.cpp refuses such vocabularies too.
    #[error("duplicate token in vocabulary: {text:?} has ids {first} and {second}")]
    DuplicateToken {
        text: String,
        first: u32,
        second: u32,
    },
    /// A chat template failed to parse or to render.
    #[error("chat template{}: {message}", origin.as_deref().map(|o| format!(" {o}")).unwrap_or_default())]
    Template {
        origin: Option<String>,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, TokenizerError>;
