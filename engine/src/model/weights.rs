//! Binds every tensor a forward pass needs, per layer, with shape checks.

use super::config::{Arch, Config, SsmConfig};
use super::qkvz::QkvzProjection;
use crate::gguf::GgufModel;
use crate::tensor::{Tensor, TensorError};

pub struct AttentionWeights {
    /// Either separate q/k/v or one fused `attn_qkv` (q | k | v).
    pub q: Option<Tensor>,
    pub k: Option<Tensor>,
    pub v: Option<Tensor>,
    pub qkv: Option<Tensor>,
    pub q_bias: Option<Vec<f32>>,
    pub k_bias: Option<Vec<f32>>,
    pub v_bias: Option<Vec<f32>>,
    pub q_norm: Option<Vec<f32>>,
    pub k_norm: Option<Vec<f32>>,
    pub output: Tensor,
    /// Qwen3.5/Next: q carries a per-head output gate `[q_h | gate_h]`.
    pub gated: bool,
}

pub struct DeltaNetWeights {
    pub qkvz: QkvzProjection,
    /// Separate beta/alpha projections (Qwen3.5) or one grouped `ssm_ba` (Qwen3-Next).
    pub beta: Option<Tensor>,
    pub alpha: Option<Tensor>,
    pub ba: Option<Tensor>,
    /// `[conv_dim][d_conv]`.
    pub conv: Vec<f32>,
    pub dt_bias: Vec<f32>,
    /// `-exp(A_log)` per value head.
    pub a: Vec<f32>,
    pub norm: Vec<f32>,
    pub output: Tensor,
}

pub enum Mixer {
    Attention(AttentionWeights),
    DeltaNet(DeltaNetWeights),
}

pub struct SharedExpert {
    pub gate_inp: Option<Tensor>,
    pub gate: Tensor,
    pub up: Tensor,
    pub down: Tensor,
}

pub enum Ffn {
    Dense {
        gate: Tensor,
        up: Tensor,
        down: Tensor,
    },
    Moe {
        router: Tensor,
        gate: Tensor,
        up: Tensor,
        down: Tensor,
        n_ff: usize,
        shared: Option<SharedExpert>,
    },
}

pub struct Layer {
    pub attn_norm: Vec<f32>,
    pub mixer: Mixer,
    /// Gemma: norm of the attention output before the residual add.
    pub attn_post_norm: Option<Vec<f32>>,
    pub ffn_norm: Vec<f32>,
    pub ffn: Ffn,
    /// Gemma: norm of the FFN output before the residual add.
    pub ffn_post_norm: Option<Vec<f32>>,
}

pub struct Weights {
    pub token_embd: Tensor,
    pub output_norm: Vec<f32>,
    pub output: Tensor,
    pub layers: Vec<Layer>,
}

fn small(g: &GgufModel, name: &str, n: usize) -> Result<Vec<f32>, TensorError> {
    Ok(Tensor::bind(g, name, &[n])?.to_f32())
}

fn small_opt(g: &GgufModel, name: &str, n: usize) -> Result<Option<Vec<f32>>, TensorError> {
    Ok(Tensor::bind_opt(g, name, &[n])?.map(|t| t.to_f32()))
}

impl Weights {
    pub fn bind(g: &GgufModel, c: &Config) -> Result<Weights, TensorError> {
        let e = c.n_embd;
        let token_embd = Tensor::bind(g, "token_embd.weight", &[e, c.n_vocab])?;
        let output = match Tensor::bind_opt(g, "output.weight", &[e, c.n_vocab])? {
            Some(t) => t,
            None => token_embd.clone(),
        };
        let layers = (0..c.n_layer)
            .map(|il| bind_layer(g, c, il))
            .collect::<Result<_, _>>()?;
        Ok(Weights {
            token_embd,
            output_norm: small(g, "output_norm.weight", e)?,
            output,
            layers,
        })
    }
}

fn bind_layer(g: &GgufModel, c: &Config, il: usize) -> Result<Layer, TensorError> {
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = c.n_embd;
    let mixer = if c.recurrent[il] {
        Mixer::DeltaNet(bind_delta_net(g, c, il)?)
    } else {
        Mixer::Attention(bind_attention(g, c, il)?)
    };
    let ffn_norm_name = if c.arch.is_hybrid() {
        "post_attention_norm.weight"
    } else {
        "ffn_norm.weight"
    };
    let ffn = if c.n_expert > 0 {
        let ne = c.n_expert;
        let gate = Tensor::bind_any(g, &p("ffn_gate_exps.weight"))?;
        let n_ff = gate.dims.get(1).copied().unwrap_or(0);
        let shared = match g.tensor(&p("ffn_gate_shexp.weight")) {
            None => None,
            Some(_) => {
                let gs = Tensor::bind_any(g, &p("ffn_gate_shexp.weight"))?;
                let n_sh = gs.dims.get(1).copied().unwrap_or(0);
                Some(SharedExpert {
                    gate_inp: Tensor::bind_opt(g, &p("ffn_gate_inp_shexp.weight"), &[e])?,
                    gate: Tensor::bind(g, &p("ffn_gate_shexp.weight"), &[e, n_sh])?,
                    up: Tensor::bind(g, &p("ffn_up_shexp.weight"), &[e, n_sh])?,
                    down: Tensor::bind(g, &p("ffn_down_shexp.weight"), &[n_sh, e])?,
                })
            }
        };
        Ffn::Moe {
            router: Tensor::bind(g, &p("ffn_gate_inp.weight"), &[e, ne])?,
            gate: Tensor::bind(g, &p("ffn_gate_exps.weight"), &[e, n_ff, ne])?,
            up: Tensor::bind(g, &p("ffn_up_exps.weight"), &[e, n_ff, ne])?,
            down: Tensor::bind(g, &p("ffn_down_exps.weight"), &[n_ff, e, ne])?,
            n_ff,
            shared,
        }
    } else {
        let gate = Tensor::bind_any(g, &p("ffn_gate.weight"))?;
        let n_ff = gate.dims.get(1).copied().unwrap_or(0);
        Ffn::Dense {
            gate: Tensor::bind(g, &p("ffn_gate.weight"), &[e, n_ff])?,
            up: Tensor::bind(g, &p("ffn_up.weight"), &[e, n_ff])?,
            down: Tensor::bind(g, &p("ffn_down.weight"), &[n_ff, e])?,
        }
    };
    let (attn_post_norm, ffn_post_norm) = if c.post_norms {
        (
            Some(small(g, &p("post_attention_norm.weight"), e)?),
            Some(small(g, &p("post_ffw_norm.weight"), e)?),
        )
    } else {
        (None, None)
    };
    Ok(Layer {
        attn_norm: small(g, &p("attn_norm.weight"), e)?,
        mixer,
        attn_post_norm,
        ffn_norm: small(g, &p(ffn_norm_name), e)?,
        ffn,
        ffn_post_norm,
    })
}

fn bind_attention(g: &GgufModel, c: &Config, il: usize) -> Result<AttentionWeights, TensorError> {
    let p = |s: &str| format!("blk.{il}.{s}");
    let (e, hd, hv) = (c.n_embd, c.head_dim_k, c.head_dim_v);
    let (nh, nkv) = (c.n_head[il], c.n_head_kv[il]);
    let gated = c.arch.is_hybrid();
    let q_width = nh * hd * if gated { 2 } else { 1 };
    let qkv = Tensor::bind_opt(
        g,
        &p("attn_qkv.weight"),
        &[e, q_width + nkv * hd + nkv * hv],
    )?;
    let (q, k, v) = if qkv.is_some() {
        (None, None, None)
    } else {
        (
            Some(Tensor::bind(g, &p("attn_q.weight"), &[e, q_width])?),
            Some(Tensor::bind(g, &p("attn_k.weight"), &[e, nkv * hd])?),
            Some(Tensor::bind(g, &p("attn_v.weight"), &[e, nkv * hv])?),
        )
    };
    Ok(AttentionWeights {
        q,
        k,
        v,
        qkv,
        q_bias: small_opt(g, &p("attn_q.bias"), q_width)?,
        k_bias: small_opt(g, &p("attn_k.bias"), nkv * hd)?,
        v_bias: small_opt(g, &p("attn_v.bias"), nkv * hv)?,
        q_norm: small_opt(g, &p("attn_q_norm.weight"), hd)?,
        k_norm: small_opt(g, &p("attn_k_norm.weight"), hd)?,
        output: Tensor::bind(g, &p("attn_output.weight"), &[nh * hv, e])?,
        gated,
    })
}

fn bind_delta_net(g: &GgufModel, c: &Config, il: usize) -> Result<DeltaNetWeights, TensorError> {
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = c.n_embd;
    // recurrent layers exist only when the config has ssm sizes (Config::from_metadata).
    let s = c
        .ssm
        .as_ref()
        .ok_or_else(|| TensorError::Missing(p("ssm (no ssm.* metadata)")))?;
    let conv_dim = s.conv_dim();
    let hv = s.dt_rank;
    let (beta, alpha, ba) = if c.arch == Arch::Qwen3Next {
        (
            None,
            None,
            Some(Tensor::bind(g, &p("ssm_ba.weight"), &[e, 2 * hv])?),
        )
    } else {
        (
            Some(Tensor::bind(g, &p("ssm_beta.weight"), &[e, hv])?),
            Some(Tensor::bind(g, &p("ssm_alpha.weight"), &[e, hv])?),
            None,
        )
    };
    Ok(DeltaNetWeights {
        qkvz: bind_qkvz(g, c, s, il)?,
        beta,
        alpha,
        ba,
        conv: Tensor::bind(g, &p("ssm_conv1d.weight"), &[s.d_conv, conv_dim])?.to_f32(),
        dt_bias: small(g, &p("ssm_dt.bias"), hv)?,
        a: small(g, &p("ssm_a"), hv)?,
        norm: small(g, &p("ssm_norm.weight"), s.head_v_dim())?,
        output: Tensor::bind(g, &p("ssm_out.weight"), &[s.d_inner, e])?,
    })
}

/// `attn_qkv` + `attn_gate`, or a legacy Qwen3-Next `ssm_in` when the file has no `attn_qkv`.
fn bind_qkvz(
    g: &GgufModel,
    c: &Config,
    s: &SsmConfig,
    il: usize,
) -> Result<QkvzProjection, TensorError> {
    let p = |s: &str| format!("blk.{il}.{s}");
    let e = c.n_embd;
    let legacy = p("ssm_in.weight");
    if c.arch == Arch::Qwen3Next
        && g.tensor(&p("attn_qkv.weight")).is_none()
        && g.tensor(&legacy).is_some()
    {
        return Ok(QkvzProjection::Fused(Tensor::bind(
            g,
            &legacy,
            &[e, s.conv_dim() + s.d_inner],
        )?));
    }
    Ok(QkvzProjection::Split {
        qkv: Tensor::bind(g, &p("attn_qkv.weight"), &[e, s.conv_dim()])?,
        z: Tensor::bind(g, &p("attn_gate.weight"), &[e, s.d_inner])?,
    })
}
