//! Hyperparameters read from GGUF metadata, as llama.cpp's `load_hparams` reads them.

use crate::gguf::Metadata;

/// The architecture families the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Qwen3Moe,
    Qwen35,
    Qwen35Moe,
    Qwen3Next,
    Gemma3,
}

impl Arch {
    pub fn from_name(name: &str) -> Option<Arch> {
        Some(match name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "qwen3moe" => Arch::Qwen3Moe,
            "qwen35" => Arch::Qwen35,
            "qwen35moe" => Arch::Qwen35Moe,
            "qwen3next" => Arch::Qwen3Next,
            "gemma3" => Arch::Gemma3,
            _ => return None,
        })
    }

    /// Hybrid Gated-DeltaNet / gated-attention families.
    pub fn is_hybrid(self) -> bool {
        matches!(self, Arch::Qwen35 | Arch::Qwen35Moe | Arch::Qwen3Next)
    }
}

/// How rotary embeddings pair dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeKind {
    /// Adjacent pairs (2i, 2i+1): llama.
    Norm,
    /// Halves (i, i + n_rot/2): Qwen, Gemma.
    Neox,
    /// Interleaved multi-section (Qwen3.5); for text all sections carry the token position.
    IMrope([usize; 4]),
}

/// The FFN's gate activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Silu,
    /// tanh-approximated GELU, through ggml's f16 table.
    Gelu,
}

/// Gated DeltaNet sizes.
#[derive(Debug, Clone)]
pub struct SsmConfig {
    pub d_conv: usize,
    pub d_state: usize,
    pub n_group: usize,
    pub dt_rank: usize,
    pub d_inner: usize,
}

impl SsmConfig {
    pub fn head_v_dim(&self) -> usize {
        self.d_inner / self.dt_rank
    }
    pub fn key_dim(&self) -> usize {
        self.d_state * self.n_group
    }
    pub fn conv_dim(&self) -> usize {
        2 * self.key_dim() + self.d_inner
    }
    /// f32s of one layer's conv window: the last `d_conv − 1` projected inputs.
    pub fn conv_state_len(&self) -> usize {
        self.d_conv.saturating_sub(1) * self.conv_dim()
    }
    /// f32s of one layer's delta-rule state (`d_state × d_inner`).
    pub fn delta_state_len(&self) -> usize {
        self.d_state * self.d_inner
    }
    /// Bytes of one recurrent layer's whole state (both parts, f32).
    pub fn state_bytes(&self) -> u64 {
        4 * (self.conv_state_len() + self.delta_state_len()) as u64
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub arch: Arch,
    pub arch_name: String,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_vocab: usize,
    pub n_ctx_train: usize,
    pub n_head: Vec<usize>,
    pub n_head_kv: Vec<usize>,
    pub head_dim_k: usize,
    pub head_dim_v: usize,
    pub n_rot: usize,
    pub rope_base: f32,
    pub rope_kind: RopeKind,
    /// Linear rope scaling (`rope.scaling.type = linear`): 1 / factor; 1 otherwise.
    pub rope_freq_scale: f32,
    pub rms_eps: f32,
    /// True where layer i is a Gated DeltaNet layer.
    pub recurrent: Vec<bool>,
    pub ssm: Option<SsmConfig>,
    pub n_expert: usize,
    pub n_expert_used: usize,
    pub activation: Activation,
    /// Gemma: embeddings multiplied by sqrt(n_embd).
    pub embd_scale: Option<f32>,
    /// Gemma: q multiplied by this before attention (then no softmax scale).
    pub q_scale: Option<f32>,
    /// True where layer i attends within a sliding window of `n_swa` positions.
    pub swa: Vec<bool>,
    pub n_swa: usize,
    pub rope_base_swa: f32,
    /// Gemma: attention output and FFN output are RMS-normed before the residual add.
    pub post_norms: bool,
    pub final_softcap: Option<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("metadata has no general.architecture")]
    NoArch,
    #[error("architecture '{0}' is not supported by the engine")]
    UnsupportedArch(String),
    #[error("metadata key '{0}' is missing or invalid")]
    Key(String),
    #[error("inconsistent hyperparameters: {0}")]
    Inconsistent(String),
}

fn req(md: &Metadata, arch: &str, suffix: &str) -> Result<usize, ConfigError> {
    md.arch_usize(suffix)
        .ok_or_else(|| ConfigError::Key(format!("{arch}.{suffix}")))
}

fn per_layer(
    md: &Metadata,
    arch: &str,
    suffix: &str,
    n: usize,
    default: Option<usize>,
) -> Result<Vec<usize>, ConfigError> {
    let key = format!("{arch}.{suffix}");
    match md.get_per_layer(&key, n) {
        Some(v) if v.len() >= n && v.iter().all(|&x| x >= 0) => {
            Ok(v[..n].iter().map(|&x| x as usize).collect())
        }
        Some(_) => Err(ConfigError::Key(key)),
        None => default.map(|d| vec![d; n]).ok_or(ConfigError::Key(key)),
    }
}

impl Config {
    /// Reads the config; `n_vocab_tensor` is the row count of `token_embd` (authoritative for the vocabulary).
    pub fn from_metadata(md: &Metadata, n_vocab_tensor: usize) -> Result<Config, ConfigError> {
        let name = md.architecture().ok_or(ConfigError::NoArch)?.to_string();
        let arch =
            Arch::from_name(&name).ok_or_else(|| ConfigError::UnsupportedArch(name.clone()))?;
        let a = name.as_str();
        let n_embd = req(md, a, "embedding_length")?;
        let n_layer_all = req(md, a, "block_count")?;
        let n_nextn = md.arch_usize("nextn_predict_layers").unwrap_or(0);
        let n_layer = n_layer_all.saturating_sub(n_nextn);
        let n_head = per_layer(md, a, "attention.head_count", n_layer, None)?;
        let n_head_kv = per_layer(md, a, "attention.head_count_kv", n_layer, None)
            .unwrap_or_else(|_| n_head.clone());
        let h0 = n_head.iter().copied().find(|&h| h > 0).unwrap_or(1);
        let head_dim_k = md.arch_usize("attention.key_length").unwrap_or(n_embd / h0);
        let head_dim_v = md
            .arch_usize("attention.value_length")
            .unwrap_or(n_embd / h0);
        let n_rot = md.arch_usize("rope.dimension_count").unwrap_or(head_dim_k);
        let rope_base = md.arch_f64("rope.freq_base").unwrap_or(10000.0) as f32;
        let rms_eps = md
            .arch_f64("attention.layer_norm_rms_epsilon")
            .ok_or_else(|| ConfigError::Key(format!("{a}.attention.layer_norm_rms_epsilon")))?
            as f32;
        let rope_kind = match arch {
            Arch::Llama => RopeKind::Norm,
            Arch::Qwen35 | Arch::Qwen35Moe => {
                let s = md
                    .get_i64_array(&format!("{a}.rope.dimension_sections"))
                    .ok_or_else(|| ConfigError::Key(format!("{a}.rope.dimension_sections")))?;
                let mut sec = [0usize; 4];
                for (d, v) in sec.iter_mut().zip(s.iter()) {
                    *d = (*v).max(0) as usize;
                }
                RopeKind::IMrope(sec)
            }
            _ => RopeKind::Neox,
        };
        let (ssm, recurrent) = if arch.is_hybrid() {
            let ssm = SsmConfig {
                d_conv: req(md, a, "ssm.conv_kernel")?,
                d_state: req(md, a, "ssm.state_size")?,
                n_group: req(md, a, "ssm.group_count")?,
                dt_rank: req(md, a, "ssm.time_step_rank")?,
                d_inner: req(md, a, "ssm.inner_size")?,
            };
            if ssm.dt_rank == 0
                || ssm.n_group == 0
                || ssm.d_conv == 0
                || ssm.d_inner != ssm.d_state * ssm.dt_rank
            {
                return Err(ConfigError::Inconsistent(format!(
                    "ssm.inner_size {} must equal ssm.state_size {} x ssm.time_step_rank {}",
                    ssm.d_inner, ssm.d_state, ssm.dt_rank
                )));
            }
            if ssm.dt_rank % ssm.n_group != 0 {
                return Err(ConfigError::Inconsistent(
                    "ssm.time_step_rank must be a multiple of ssm.group_count".into(),
                ));
            }
            let recurrent = match md
                .arch_key("attention.recurrent_layers")
                .and_then(|v| v.as_array())
                .and_then(|x| x.as_i64_vec())
            {
                Some(v) if v.len() >= n_layer => v[..n_layer].iter().map(|&x| x != 0).collect(),
                _ => {
                    let interval = md.arch_usize("full_attention_interval").unwrap_or(4).max(1);
                    (0..n_layer).map(|i| (i + 1) % interval != 0).collect()
                }
            };
            (Some(ssm), recurrent)
        } else {
            (None, vec![false; n_layer])
        };
        let n_expert = md.arch_usize("expert_count").unwrap_or(0);
        let n_expert_used = md.arch_usize("expert_used_count").unwrap_or(0);
        if n_expert > 0 && (n_expert_used == 0 || n_expert_used > n_expert) {
            return Err(ConfigError::Inconsistent(format!(
                "expert_used_count {n_expert_used} of {n_expert} experts"
            )));
        }
        if n_rot > head_dim_k || n_rot % 2 != 0 {
            return Err(ConfigError::Inconsistent(format!(
                "rope dimension {n_rot} vs head dim {head_dim_k}"
            )));
        }
        for (&h, &kv) in n_head.iter().zip(&n_head_kv) {
            if h > 0 && (kv == 0 || h % kv != 0) {
                return Err(ConfigError::Inconsistent(format!(
                    "{h} heads with {kv} KV heads"
                )));
            }
        }
        let rope_freq_scale = match md.arch_key("rope.scaling.type").and_then(|v| v.as_str()) {
            None | Some("none") => 1.0,
            Some("linear") => {
                let f = md.arch_f64("rope.scaling.factor").unwrap_or(1.0) as f32;
                if f > 0.0 {
                    1.0 / f
                } else {
                    1.0
                }
            }
            Some(other) => {
                return Err(ConfigError::Inconsistent(format!(
                    "rope scaling '{other}' is not supported yet"
                )))
            }
        };
        let gemma = arch == Arch::Gemma3;
        let n_swa = if gemma {
            md.arch_usize("attention.sliding_window").unwrap_or(0)
        } else {
            0
        };
        let swa: Vec<bool> = if n_swa > 0 {
            let period = md
                .arch_usize("attention.sliding_window_pattern")
                .unwrap_or(6)
                .max(1);
            (0..n_layer).map(|il| il % period < period - 1).collect()
        } else {
            vec![false; n_layer]
        };
        let softcap = md
            .arch_f64("final_logit_softcapping")
            .map(|v| v as f32)
            .filter(|&v| v > 0.0);
        Ok(Config {
            activation: if gemma {
                Activation::Gelu
            } else {
                Activation::Silu
            },
            embd_scale: gemma.then(|| (n_embd as f32).sqrt()),
            q_scale: gemma.then(|| 1.0 / (head_dim_k as f32).sqrt()),
            n_swa,
            rope_base_swa: 10000.0,
            post_norms: gemma,
            // llama.cpp applies the soft cap only to Gemma 3 without sliding-window layers.
            final_softcap: if gemma && n_swa == 0 { softcap } else { None },
            swa,
            rope_freq_scale,
            arch,
            arch_name: name.clone(),
            n_embd,
            n_layer,
            n_vocab: n_vocab_tensor,
            n_ctx_train: md.arch_usize("context_length").unwrap_or(4096),
            n_head,
            n_head_kv,
            head_dim_k,
            head_dim_v,
            n_rot,
            rope_base,
            rope_kind,
            rms_eps,
            recurrent,
            ssm,
            n_expert,
            n_expert_used,
        })
    }
}
