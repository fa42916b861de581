//! Per-session memory: the attention KV cache and the Gated DeltaNet recurrent state.

pub mod kv;
pub mod recurrent;

pub use kv::{HeadRows, KvCache, KvError};
pub use recurrent::RecurrentState;
