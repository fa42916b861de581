//! `fitbench inspect FILE`: architecture, hyperparameters, layer kinds, tensor type mix and sizes.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::output::{gib, table, OutputArgs};
use crate::estimate::{kv_bytes_per_token, recurrent_state_bytes};
use crate::model::{self, LayerKind, ModelSpec, TensorRole};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A GGUF file (any part of a split set).
    pub file: PathBuf,
    /// Also list every tensor.
    #[arg(long)]
    pub tensors: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Serialize)]
struct Summary<'a> {
    name: &'a str,
    architecture: &'a str,
    n_layers: usize,
    attention_layers: usize,
    recurrent_layers: usize,
    sliding_window_layers: usize,
    layer_pattern: String,
    n_embd: u64,
    n_vocab: u64,
    context_train: u64,
    experts: Option<&'a model::ExpertSpec>,
    recurrent: Option<&'a model::RecurrentSpec>,
    params: u64,
    active_params: f64,
    tensor_bytes: u64,
    kv_bytes_per_token_f16: u64,
    recurrent_state_bytes_per_seq: u64,
    bytes_by_role: Vec<(String, u64)>,
    type_mix: Vec<(String, usize, u64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tensors: Option<&'a [model::TensorSpec]>,
}

/// One character per layer: A attention, S sliding-window attention, R recurrent.
pub fn layer_pattern(spec: &ModelSpec) -> String {
    spec.layers
        .iter()
        .map(|l| match l {
            LayerKind::Attention {
                window: Some(_), ..
            } => 'S',
            LayerKind::Attention { .. } => 'A',
            LayerKind::Recurrent => 'R',
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = model::open(&args.file)
        .with_context(|| format!("reading the GGUF header of {}", args.file.display()))?;
    let f16 = fitbench_engine::gguf::GgmlType::F16;
    let summary = Summary {
        name: &spec.name,
        architecture: &spec.architecture,
        n_layers: spec.n_layers(),
        attention_layers: spec.n_attention_layers(),
        recurrent_layers: spec.n_recurrent_layers(),
        sliding_window_layers: spec
            .layers
            .iter()
            .filter(|l| {
                matches!(
                    l,
                    LayerKind::Attention {
                        window: Some(_),
                        ..
                    }
                )
            })
            .count(),
        layer_pattern: layer_pattern(&spec),
        n_embd: spec.n_embd,
        n_vocab: spec.n_vocab,
        context_train: spec.context_train,
        experts: spec.experts.as_ref(),
        recurrent: spec.recurrent.as_ref(),
        params: spec.n_params(),
        active_params: spec.active_params(),
        tensor_bytes: spec.total_bytes(),
        kv_bytes_per_token_f16: kv_bytes_per_token(&spec, f16, f16),
        recurrent_state_bytes_per_seq: recurrent_state_bytes(&spec, 1),
        bytes_by_role: TensorRole::ALL
            .iter()
            .map(|r| (r.label().to_string(), spec.bytes_by_role(*r)))
            .filter(|(_, b)| *b > 0)
            .collect(),
        type_mix: spec
            .type_mix()
            .into_iter()
            .map(|(t, n, b)| (t.name().to_string(), n, b))
            .collect(),
        tensors: args.tensors.then_some(spec.tensors.as_slice()),
    };
    if args.output.emit(&summary)? {
        return Ok(());
    }
    let mut t = table();
    t.set_header(vec!["", ""]);
    t.add_row(vec![
        "model".to_string(),
        format!("{} ({})", spec.name, spec.architecture),
    ]);
    t.add_row(vec![
        "layers".to_string(),
        format!(
            "{} ({} attention, {} recurrent, {} sliding-window)",
            summary.n_layers,
            summary.attention_layers,
            summary.recurrent_layers,
            summary.sliding_window_layers
        ),
    ]);
    t.add_row(vec![
        "layer kinds".to_string(),
        summary.layer_pattern.clone(),
    ]);
    t.add_row(vec![
        "embedding / vocab / context".to_string(),
        format!(
            "{} / {} / {}",
            spec.n_embd, spec.n_vocab, spec.context_train
        ),
    ]);
    if let Some(e) = &spec.experts {
        t.add_row(vec![
            "experts".to_string(),
            format!(
                "{} routed, {} used, shared ffn {}",
                e.count, e.used, e.shared_ff
            ),
        ]);
    }
    if let Some(r) = &spec.recurrent {
        t.add_row(vec![
            "recurrent (ssm)".to_string(),
            format!(
                "conv {} inner {} state {} groups {}",
                r.conv_kernel, r.inner_size, r.state_size, r.group_count
            ),
        ]);
    }
    t.add_row(vec![
        "parameters".to_string(),
        format!(
            "{:.3} B ({:.3} B active per token)",
            summary.params as f64 / 1e9,
            summary.active_params / 1e9
        ),
    ]);
    t.add_row(vec![
        "tensor data".to_string(),
        format!(
            "{} ({:.2} GB)",
            gib(summary.tensor_bytes),
            summary.tensor_bytes as f64 / 1e9
        ),
    ]);
    t.add_row(vec![
        "KV cache (f16)".to_string(),
        format!("{} bytes per token", summary.kv_bytes_per_token_f16),
    ]);
    t.add_row(vec![
        "recurrent state".to_string(),
        format!(
            "{:.2} MiB per sequence",
            summary.recurrent_state_bytes_per_seq as f64 / (1 << 20) as f64
        ),
    ]);
    println!("{t}");
    let mut roles = table();
    roles.set_header(vec!["role", "bytes", "share"]);
    for (r, b) in &summary.bytes_by_role {
        roles.add_row(vec![
            r.clone(),
            gib(*b),
            format!(
                "{:.1}%",
                100.0 * *b as f64 / summary.tensor_bytes.max(1) as f64
            ),
        ]);
    }
    println!("{roles}");
    let mut mix = table();
    mix.set_header(vec!["type", "tensors", "bytes"]);
    for (ty, n, b) in &summary.type_mix {
        mix.add_row(vec![ty.clone(), n.to_string(), gib(*b)]);
    }
    println!("{mix}");
    if args.tensors {
        let mut tt = table();
        tt.set_header(vec!["name", "role", "type", "shape", "bytes"]);
        for x in &spec.tensors {
            tt.add_row(vec![
                x.name.clone(),
                x.role.label().to_string(),
                x.ggml_type.name().to_string(),
                format!("{:?}", x.dims),
                x.bytes.to_string(),
            ]);
        }
        println!("{tt}");
    }
    Ok(())
}
