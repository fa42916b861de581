//! The model's hyperparameters as `key = value` lines, the way llama.cpp's `print_info` lists them.

use fitbench_engine::model::config::{Activation, Config, RopeKind};

/// One line per hyperparameter; per-layer values are collapsed when every layer agrees.
pub fn lines(c: &Config) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| out.push((k.to_string(), v));
    put("architecture", c.arch_name.clone());
    put("n_layer", c.n_layer.to_string());
    put("layer kinds", layer_kinds(c));
    put("n_embd", c.n_embd.to_string());
    put("n_vocab", c.n_vocab.to_string());
    put("n_ctx_train", c.n_ctx_train.to_string());
    put("n_head", per_layer(&c.n_head));
    put("n_head_kv", per_layer(&c.n_head_kv));
    put(
        "head_dim k / v",
        format!("{} / {}", c.head_dim_k, c.head_dim_v),
    );
    put("rope", rope(c));
    if c.swa.iter().any(|&s| s) {
        put(
            "sliding window",
            format!(
                "{} tokens on {} of {} layers (rope base {})",
                c.n_swa,
                c.swa.iter().filter(|&&s| s).count(),
                c.n_layer,
                c.rope_base_swa
            ),
        );
    }
    put("rms_eps", format!("{:e}", c.rms_eps));
    if let Some(s) = &c.ssm {
        put(
            "gated deltanet",
            format!(
                "d_inner {}, d_state {}, {} key groups, {} value heads, conv {}",
                s.d_inner, s.d_state, s.n_group, s.dt_rank, s.d_conv
            ),
        );
    }
    if c.n_expert > 0 {
        put(
            "experts",
            format!("{} routed, {} used per token", c.n_expert, c.n_expert_used),
        );
    }
    let act = match c.activation {
        Activation::Silu => "SwiGLU (silu)",
        Activation::Gelu => "GeGLU (tanh gelu)",
    };
    put("ffn", act.to_string());
    if let Some(s) = c.embd_scale {
        put("embedding scale", format!("{s}"));
    }
    if let Some(s) = c.q_scale {
        put("query scale", format!("{s}"));
    }
    if c.post_norms {
        put("post norms", "attention and ffn outputs normed".to_string());
    }
    if let Some(s) = c.final_softcap {
        put("final logit softcap", format!("{s}"));
    }
    out
}

/// `A` attention, `R` recurrent (Gated DeltaNet), `S` sliding-window attention, one per layer.
fn layer_kinds(c: &Config) -> String {
    (0..c.n_layer)
        .map(|i| match (c.recurrent.get(i), c.swa.get(i)) {
            (Some(true), _) => 'R',
            (_, Some(true)) => 'S',
            _ => 'A',
        })
        .collect()
}

fn per_layer(v: &[usize]) -> String {
    match v.first() {
        Some(&first) if v.iter().all(|&x| x == first) => first.to_string(),
        _ => format!("{v:?}"),
    }
}

fn rope(c: &Config) -> String {
    let kind = match c.rope_kind {
        RopeKind::Norm => "normal".to_string(),
        RopeKind::Neox => "neox".to_string(),
        RopeKind::IMrope(s) => format!("interleaved multi-section {s:?}"),
    };
    let scale = if c.rope_freq_scale == 1.0 {
        String::new()
    } else {
        format!(", linear scale {}", c.rope_freq_scale)
    };
    format!(
        "{kind}, {} of {} dims, base {}{scale}",
        c.n_rot, c.head_dim_k, c.rope_base
    )
}
