//! Applies a [`Placement`] to bound weights: tensors placed on the GPU are uploaded there (when
//! the backend has a kernel for their format; otherwise they stay in RAM and the notice says so).

use super::qkvz::QkvzProjection;
use super::weights::{Ffn, Mixer, Weights};
use super::ModelError;
use super::{Config, LoadOptions};
use crate::cuda::{self, kernels::matmul_kernel};
use crate::gguf::GgufModel;
use crate::placement::{Device, Placement, TensorPlacement};
use crate::tensor::Tensor;

/// Every matrix weight of the blocks (the small f32 vectors are not tensors any more).
fn for_each_tensor_mut(
    w: &mut Weights,
    f: &mut dyn FnMut(&mut Tensor) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    for layer in &mut w.layers {
        match &mut layer.mixer {
            Mixer::Attention(a) => {
                for t in [&mut a.q, &mut a.k, &mut a.v, &mut a.qkv]
                    .into_iter()
                    .flatten()
                {
                    f(t)?;
                }
                f(&mut a.output)?;
            }
            Mixer::DeltaNet(d) => {
                match &mut d.qkvz {
                    QkvzProjection::Split { qkv, z } => {
                        f(qkv)?;
                        f(z)?;
                    }
                    QkvzProjection::Fused(w) => f(w)?,
                }
                for t in [&mut d.beta, &mut d.alpha, &mut d.ba].into_iter().flatten() {
                    f(t)?;
                }
                f(&mut d.output)?;
            }
        }
        match &mut layer.ffn {
            Ffn::Dense { gate, up, down } => {
                f(gate)?;
                f(up)?;
                f(down)?;
            }
            Ffn::Moe {
                router,
                gate,
                up,
                down,
                shared,
                ..
            } => {
                f(router)?;
                f(gate)?;
                f(up)?;
                f(down)?;
                if let Some(sh) = shared {
                    if let Some(gi) = &mut sh.gate_inp {
                        f(gi)?;
                    }
                    f(&mut sh.gate)?;
                    f(&mut sh.up)?;
                    f(&mut sh.down)?;
                }
            }
        }
    }
    Ok(())
}

/// Resolves `opts` (asking the driver whether a GPU exists) and uploads the GPU-placed weights.
/// Returns the placement as applied and, when the request could not be honoured in full, why.
pub fn apply(
    gguf: &GgufModel,
    path: &str,
    config: &Config,
    weights: &mut Weights,
    opts: &LoadOptions,
) -> Result<(Placement, Option<String>), ModelError> {
    let (n_layer, fit_n_ctx, opts) = (config.n_layer, opts.fit_n_ctx, &opts.placement);
    let wants_gpu = opts.wants_gpu() || opts.fit.is_some();
    let avail = if wants_gpu {
        cuda::availability()
    } else {
        cuda::Availability::NoDriver
    };
    let mut notice = if wants_gpu {
        avail.fallback_notice()
    } else {
        None
    };
    let n_gpus = usize::from(avail.is_ready());
    let mut concrete = opts.clone();
    if let (Some(_), cuda::Availability::Ready(info)) = (opts.fit, &avail) {
        concrete = super::fit_input::fit(gguf, config, opts, fit_n_ctx, info.free_bytes)?;
    }
    let mut placement = Placement::resolve(gguf, n_layer, &concrete, n_gpus)?;
    if !placement.uses_gpu() {
        return Ok((placement, notice));
    }
    let mut kept = Vec::new();
    let mut place = |t: &mut Tensor, device: Device| -> Result<(), ModelError> {
        if !device.is_gpu() {
            return Ok(());
        }
        // The kernels take rows in steps of 8 weights.
        if matmul_kernel(t.ty).is_none() || t.row_len() % 8 != 0 {
            kept.push(format!("{} ({})", t.name, t.ty.name()));
            return Ok(());
        }
        t.upload_to_gpu().map_err(|cause| ModelError::Gpu {
            path: path.into(),
            cause,
        })
    };
    // The output layer; a tied output shares token_embd's bytes but belongs to the output layer,
    // so its GPU copy is listed separately.
    let tied = gguf.tensor("output.weight").is_none();
    let out_dev = placement.output;
    place(&mut weights.output, out_dev)?;
    if tied && out_dev.is_gpu() && weights.output.gpu().is_some() {
        placement.tensors.push(TensorPlacement {
            name: "output.weight (tied: copy of token_embd.weight)".into(),
            device: out_dev,
            bytes: weights.output.data().len() as u64,
        });
    }
    let names = placement.clone();
    for_each_tensor_mut(weights, &mut |t| {
        let device = names.device_of(&t.name).unwrap_or(Device::Cpu);
        place(t, device)
    })?;
    if !kept.is_empty() {
        for tp in placement.tensors.iter_mut() {
            if kept
                .iter()
                .any(|k| k.starts_with(&format!("{} (", tp.name)))
            {
                tp.device = Device::Cpu;
            }
        }
        notice = Some(format!(
            "{} tensor(s) have no CUDA kernel for their format (or shape) and stay in RAM: {}",
            kept.len(),
            kept.join(", ")
        ));
    }
    Ok((placement, notice))
}

/// Repacks every CPU-resident weight that has a faster repacked layout here ([`crate::packed`]),
/// and gives the RAM of the file's copy back where nothing reads it any more (a tied output
/// shares token_embd's bytes, which the embedding lookup reads). Returns the bytes repacked.
pub fn repack_cpu_weights(gguf: &GgufModel, weights: &mut Weights) -> u64 {
    let mut bytes = 0u64;
    let mut repack = |t: &mut Tensor, release: bool| {
        if t.repack_for_cpu() {
            bytes += t.data().len() as u64;
            if release {
                gguf.release_pages(t.data());
            }
        }
    };
    let tied = gguf.tensor("output.weight").is_none();
    repack(&mut weights.output, !tied);
    // Infallible: the closure never fails.
    let _ = for_each_tensor_mut(weights, &mut |t| {
        repack(t, true);
        Ok(())
    });
    bytes
}
