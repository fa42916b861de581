//! A session over a loaded model: its KV cache, recurrent state and thread pool; decodes batches
//! of tokens (split into micro-batches of `n_ubatch`) or single tokens and returns logits.

use crate::cache::{KvCache, RecurrentState};
use crate::cpu::ThreadPool;
use crate::gguf::GgmlType;
use crate::model::forward::{forward, Memory};
use crate::model::{Model, ModelError};

#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Maximum tokens the session can hold (prompt + generated).
    pub n_ctx: usize,
    /// Largest number of tokens one `decode` call accepts.
    pub n_batch: usize,
    /// Tokens per forward pass inside a decode call.
    pub n_ubatch: usize,
    /// Worker threads (0 = one per core).
    pub n_threads: usize,
    pub kv_type_k: GgmlType,
    pub kv_type_v: GgmlType,
    /// Attention computed as llama.cpp's flash-attention kernel (`-fa on`); the fixture
    /// references use the default softmax formulation.
    pub flash_attn: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            n_ctx: 4096,
            n_batch: 2048,
            n_ubatch: 512,
            n_threads: 0,
            kv_type_k: GgmlType::F16,
            kv_type_v: GgmlType::F16,
            flash_attn: false,
        }
    }
}

/// Which positions of a decode call need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WantLogits {
    All,
    Last,
}

/// Logits of some positions of a decode call, `n_vocab` floats per row.
#[derive(Debug, Clone)]
pub struct Logits {
    pub n_vocab: usize,
    /// Absolute positions (in the session) of the rows.
    pub positions: Vec<usize>,
    pub data: Vec<f32>,
}

impl Logits {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.n_vocab..(i + 1) * self.n_vocab]
    }
    pub fn last(&self) -> &[f32] {
        self.row(self.positions.len().saturating_sub(1))
    }
    pub fn len(&self) -> usize {
        self.positions.len()
    }
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}

/// A saved copy of everything a session has seen (KV cache, recurrent state, position).
#[derive(Clone)]
pub struct SessionState {
    n_past: usize,
    mem: Memory,
}

impl SessionState {
    pub fn n_past(&self) -> usize {
        self.n_past
    }
}

pub struct Session<'m> {
    model: &'m Model,
    opts: SessionOptions,
    mem: Memory,
    n_past: usize,
    pool: ThreadPool,
    /// The last call's logits, and the forward pass's output and wanted rows: reused so that a
    /// decode loop allocates nothing per token.
    logits: Logits,
    chunk_logits: Vec<f32>,
    want_rows: Vec<usize>,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Model, opts: SessionOptions) -> Result<Session<'m>, ModelError> {
        if opts.n_ctx == 0 || opts.n_batch == 0 || opts.n_ubatch == 0 {
            return Err(ModelError::Options(
                "n_ctx, n_batch and n_ubatch must be positive".into(),
            ));
        }
        let c = model.config();
        let attn = model.attention_layers();
        let kv = KvCache::new(
            opts.kv_type_k,
            opts.kv_type_v,
            opts.n_ctx,
            c.head_dim_k,
            c.head_dim_v,
            &attn,
            &c.n_head_kv,
        )?;
        let (conv_len, ssm_len) = match &c.ssm {
            Some(s) => (s.conv_state_len(), s.delta_state_len()),
            None => (0, 0),
        };
        let recurrent: Vec<bool> = attn.iter().map(|a| !a).collect();
        let rs = RecurrentState::new(&recurrent, conv_len, ssm_len);
        let flash_attn = opts.flash_attn;
        let pool =
            ThreadPool::new(opts.n_threads).map_err(|e| ModelError::Threads(e.to_string()))?;
        Ok(Session {
            model,
            opts,
            mem: Memory { kv, rs, flash_attn },
            n_past: 0,
            pool,
            logits: Logits {
                n_vocab: model.vocab_size(),
                positions: Vec::new(),
                data: Vec::new(),
            },
            chunk_logits: Vec::new(),
            want_rows: Vec::new(),
        })
    }

    pub fn model(&self) -> &Model {
        self.model
    }

    pub fn options(&self) -> &SessionOptions {
        &self.opts
    }

    /// Tokens evaluated so far (the position of the next token).
    pub fn n_past(&self) -> usize {
        self.n_past
    }

    /// Evaluates `tokens` after what the session holds; returns logits of all or the last position.
    pub fn decode(&mut self, tokens: &[u32], want: WantLogits) -> Result<Logits, ModelError> {
        self.decode_in_place(tokens, want)?;
        // Moved out, not cloned: a perplexity chunk's logits are hundreds of MB.
        Ok(Logits {
            n_vocab: self.logits.n_vocab,
            positions: std::mem::take(&mut self.logits.positions),
            data: std::mem::take(&mut self.logits.data),
        })
    }

    /// [`Session::decode`] into the session's own logits buffer, borrowed until the next call:
    /// what generation and benchmark loops use, as it allocates nothing once warmed up.
    pub fn decode_in_place(
        &mut self,
        tokens: &[u32],
        want: WantLogits,
    ) -> Result<&Logits, ModelError> {
        let n_vocab = self.model.vocab_size();
        self.logits.positions.clear();
        self.logits.data.clear();
        if tokens.is_empty() {
            return Ok(&self.logits);
        }
        if tokens.len() > self.opts.n_batch {
            return Err(ModelError::Options(format!(
                "{} tokens exceed n_batch {}",
                tokens.len(),
                self.opts.n_batch
            )));
        }
        if self.n_past + tokens.len() > self.opts.n_ctx {
            return Err(ModelError::ContextFull {
                n_past: self.n_past,
                n_new: tokens.len(),
                n_ctx: self.opts.n_ctx,
            });
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(ModelError::BadToken {
                token: bad,
                n_vocab,
            });
        }
        let model = self.model;
        for (ci, chunk) in tokens.chunks(self.opts.n_ubatch).enumerate() {
            let start = ci * self.opts.n_ubatch;
            self.want_rows.clear();
            match want {
                WantLogits::All => self.want_rows.extend(0..chunk.len()),
                WantLogits::Last if start + chunk.len() == tokens.len() => {
                    self.want_rows.push(chunk.len() - 1)
                }
                WantLogits::Last => {}
            }
            let pos0 = self.n_past;
            let (mem, want_rows, buf) = (&mut self.mem, &self.want_rows, &mut self.chunk_logits);
            self.pool
                .install(|| forward(model, mem, chunk, pos0, want_rows, buf))?;
            self.n_past += chunk.len();
            let out = &mut self.logits;
            out.positions
                .extend(self.want_rows.iter().map(|&r| pos0 + r));
            out.data.extend_from_slice(&self.chunk_logits);
        }
        // Keep a decode step's worth of room, not a whole batch of rows.
        if self.chunk_logits.capacity() > 4 * n_vocab {
            self.chunk_logits = Vec::new();
        }
        Ok(&self.logits)
    }

    /// The logits of the last [`Session::decode_in_place`] call.
    pub fn logits(&self) -> &Logits {
        &self.logits
    }

    /// Forgets everything (position 0, empty caches).
    pub fn clear(&mut self) {
        self.n_past = 0;
        self.mem.rs.clear();
    }

    pub fn save_state(&self) -> SessionState {
        SessionState {
            n_past: self.n_past,
            mem: self.mem.clone(),
        }
    }

    pub fn restore_state(&mut self, state: &SessionState) {
        self.n_past = state.n_past;
        self.mem = state.mem.clone();
    }
}
