//! fitbench-engine: the bundled CPU inference engine and the GGUF reader shared with the planner.
//!
//! # Running a model
//!
//! ```no_run
//! use fitbench_engine::{Model, LoadOptions, Session, SessionOptions, WantLogits};
//! let model = Model::load("model.gguf", &LoadOptions::default())?;
//! let mut session = Session::new(&model, SessionOptions { n_ctx: 512, ..Default::default() })?;
//! let prompt = session.decode(&[1, 2, 3], WantLogits::All)?;   // one row per token
//! assert_eq!(prompt.row(2).len(), model.vocab_size());
//! let saved = session.save_state();
//! let next = session.decode(&[4], WantLogits::Last)?;           // one step
//! session.restore_state(&saved);                                 // back to 3 tokens
//! session.clear();                                               // empty
//! # let _ = next; Ok::<(), fitbench_engine::ModelError>(())
//! ```
//!
//! - [`Model::load`] maps the GGUF file (zero-copy weights), reads the hyperparameters
//!   ([`model::Config`]) and binds every tensor, failing with a typed error naming the file on an
//!   unsupported architecture or tensor type, a missing tensor or a wrong shape.
//! - [`Session`] owns the KV cache (F16 by default, `kv_type_k`/`kv_type_v`), the Gated DeltaNet
//!   state (f32) and a thread pool; `decode` splits a batch into micro-batches of `n_ubatch`.
//! - Numerics follow llama.cpp's CPU backend (see [`quant`]), so logits match its references.
//!
//! Supported architectures: llama, qwen2, qwen3, qwen3moe, qwen35, qwen35moe, qwen3next.

pub mod bench;
pub mod cache;
pub mod cpu;
pub mod fixtures;
pub mod gguf;
pub mod model;
pub mod perplexity;
pub mod quant;
pub mod reference;
pub mod sample;
pub mod session;
pub mod tensor;
pub mod tokenizer;

pub use model::{LoadOptions, Model, ModelError};
pub use session::{Logits, Session, SessionOptions, SessionState, WantLogits};
