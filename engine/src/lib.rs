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
//! - Numerics follow llama.cpp's CPU backend (see [`quant`]): activations are converted once to
//!   each weight type's dot type (with the x86 `from_float` rounding, [`quant::activation_quantizer`]), the
//!   Q8_0 dot keeps ggml's AVX2 lane order ([`cpu::x86_dot`]), and exp/SiLU/GELU/softmax use
//!   ggml's vectorized formulas ([`model::ggml_math`]). On the tiny fixtures this is bit-exact
//!   for most qwen35moe quantizations.
//! - `SessionOptions::flash_attn` switches attention to ggml's flash-attention formulation
//!   (llama.cpp `-fa on`); the default is llama.cpp's default non-FA path.
//!
//! - Placement ([`placement`], `LoadOptions::placement`): llama.cpp's `-ngl`, `--n-cpu-moe`,
//!   `--cpu-moe`, `-ot REGEX=CPU|CUDA0` and `--fit` decide which weights live on the GPU
//!   (default: none). With the `cuda` feature (default; builds without a toolkit or driver) those
//!   weights are uploaded at load and their matrix products run on the GPU ([`backend`],
//!   [`cuda`]); everything else, the KV cache and the recurrent state stay on the CPU for now.
//!   No GPU → "no CUDA device; running on the CPU" ([`Model::placement_notice`]).
//!
//! Architectures: qwen35moe, qwen35, qwen3moe, qwen3, llama (checked against llama.cpp on the
//! fixtures), gemma3 (top-1 agrees with llama.cpp on Gemma 3 270M at 279/289 positions; logits
//! not yet within 0.1), qwen2 and qwen3next (implemented from llama.cpp's graphs, not checked:
//! no fixtures).

mod anon_memory;
pub mod backend;
pub mod bench;
pub mod cache;
pub mod cli_exit;
pub mod cpu;
pub mod cuda;
pub mod fixtures;
pub mod gguf;
pub mod isa_ceiling;
pub mod membw;
pub mod model;
pub mod packed;
pub mod perplexity;
pub mod placement;
pub mod quant;
pub mod reference;
pub mod sample;
pub mod scratch;
pub mod session;
pub mod synth;
pub mod tensor;
pub mod tokenizer;

pub use model::{LoadOptions, Model, ModelError};

/// The git commit this workspace was built from (`build.rs`), when git was available; the
/// planner reports the same one.
pub const GIT_COMMIT: Option<&str> = option_env!("FITBENCH_GIT_COMMIT");
pub use session::{Logits, Session, SessionOptions, SessionState, WantLogits};
