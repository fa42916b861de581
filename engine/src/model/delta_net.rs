//! Gated DeltaNet (Qwen3.5 / Qwen3-Next linear attention), token-sequential as llama.cpp's fused
//! CPU op: causal conv1d with carried state + SiLU, L2-normed q/k, decay `g = softplus(a + dt) * A`,
//! `beta = sigmoid(b)`, delta-rule update of a `[dk][dv]` state per value head, gated RMS norm.

use super::config::{Arch, Config};
use super::delta_rule::{self, HeadStep};
use super::error::ModelError;
use super::ggml_math::silu_in_place;
use super::norm::{l2_norm_in_place, rms_norm_weighted, sigmoid, softplus};
use super::weights::DeltaNetWeights;
use crate::backend::matmul;
use crate::cache::recurrent::LayerState;
use crate::cpu::parallel;
use crate::scratch::Scratch;

/// `x`: T rows of n_embd (normed input); `out`: T rows of n_embd.
pub fn delta_net(
    w: &DeltaNetWeights,
    c: &Config,
    state: &mut LayerState,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    let Some(s) = c.ssm.as_ref() else {
        return Ok(());
    };
    let t_n = x.len() / c.n_embd;
    let (hk, hv, dk, dv) = (s.n_group, s.dt_rank, s.d_state, s.head_v_dim());
    let (key_dim, conv_dim) = (s.key_dim(), s.conv_dim());
    let mut qkv = Scratch::<f32>::zeroed(t_n * conv_dim);
    let mut z = Scratch::<f32>::zeroed(t_n * s.d_inner);
    w.qkvz.project(s, x, &mut qkv, &mut z)?;
    let (mut b, mut a) = (
        Scratch::<f32>::zeroed(t_n * hv),
        Scratch::<f32>::zeroed(t_n * hv),
    );
    if let (Some(wb), Some(wa)) = (&w.beta, &w.alpha) {
        matmul(wb, x, &mut b)?;
        matmul(wa, x, &mut a)?;
    } else if let Some(wba) = &w.ba {
        // Qwen3-Next: per K-head group, r beta values then r alpha values.
        let mut ba = Scratch::<f32>::zeroed(t_n * 2 * hv);
        matmul(wba, x, &mut ba)?;
        let r = hv / hk;
        for t in 0..t_n {
            for g in 0..hk {
                for i in 0..r {
                    b[t * hv + g * r + i] = ba[t * 2 * hv + g * 2 * r + i];
                    a[t * hv + g * r + i] = ba[t * 2 * hv + g * 2 * r + r + i];
                }
            }
        }
    }
    let interleaved = c.arch == Arch::Qwen3Next;
    let convs = conv_silu_norm(w, c, state, &qkv, t_n);
    let q_scale = 1.0 / (dk as f32).sqrt();
    // Heads in parallel, each running all T tokens: its [dk][dv] state stays in cache across tokens.
    // Outputs head-major ([h][t][dv]), so each head writes one contiguous piece.
    let mut per_head = Scratch::<f32>::zeroed(hv * t_n * dv);
    parallel::for_each_chunk_pair_mut(
        &mut state.ssm,
        dk * dv,
        &mut per_head,
        t_n * dv,
        |h, sm, outs| {
            let g = if interleaved { h / (hv / hk) } else { h % hk };
            let mut zs = Scratch::<f32>::zeroed(dv);
            for (t, o) in outs.chunks_exact_mut(dv).enumerate() {
                let ct = &convs[t * conv_dim..(t + 1) * conv_dim];
                let (q, k, v) = (
                    &ct[g * dk..(g + 1) * dk],
                    &ct[key_dim + g * dk..key_dim + (g + 1) * dk],
                    &ct[2 * key_dim + h * dv..2 * key_dim + (h + 1) * dv],
                );
                let beta = sigmoid(b[t * hv + h]);
                let decay = (softplus(a[t * hv + h] + w.dt_bias[h]) * w.a[h]).exp();
                let step = HeadStep {
                    q,
                    k,
                    v,
                    beta,
                    decay,
                };
                delta_rule::step(&step, sm, o);
                for oj in o.iter_mut() {
                    *oj *= q_scale;
                }
                rms_norm_weighted(o, &w.norm, c.rms_eps);
                zs.copy_from_slice(&z[t * s.d_inner + h * dv..t * s.d_inner + (h + 1) * dv]);
                silu_in_place(&mut zs);
                for (oj, &zj) in o.iter_mut().zip(&zs) {
                    *oj *= zj;
                }
            }
        },
    );
    let mut core = Scratch::<f32>::zeroed(t_n * s.d_inner);
    for (h, outs) in per_head.chunks_exact(t_n * dv).enumerate() {
        for (t, o) in outs.chunks_exact(dv).enumerate() {
            core[t * s.d_inner + h * dv..t * s.d_inner + (h + 1) * dv].copy_from_slice(o);
        }
    }
    matmul(&w.output, &core, out)?;
    Ok(())
}

/// Causal conv1d over the T rows of `qkv` (carrying `state.conv`), SiLU, then L2 norm of every
/// q and k head: T rows of conv_dim, q heads then k heads then v heads.
fn conv_silu_norm(
    w: &DeltaNetWeights,
    c: &Config,
    state: &mut LayerState,
    qkv: &[f32],
    t_n: usize,
) -> Scratch<f32> {
    let Some(s) = c.ssm.as_ref() else {
        return Scratch::zeroed(0);
    };
    let (dk, key_dim, conv_dim, kc) = (s.d_state, s.key_dim(), s.conv_dim(), s.d_conv);
    let mut convs = Scratch::<f32>::zeroed(t_n * conv_dim);
    for (t, conv_out) in convs.chunks_exact_mut(conv_dim).enumerate() {
        let xin = &qkv[t * conv_dim..(t + 1) * conv_dim];
        // out[c] = sum_k window[k][c] * w[c][k], window = (state rows, then this input).
        for (ch, o) in conv_out.iter_mut().enumerate() {
            let wrow = &w.conv[ch * kc..(ch + 1) * kc];
            let mut acc = 0f32;
            for k in 0..kc - 1 {
                acc += state.conv[k * conv_dim + ch] * wrow[k];
            }
            acc += xin[ch] * wrow[kc - 1];
            *o = acc;
        }
        silu_in_place(conv_out);
        if kc > 1 {
            state.conv.copy_within(conv_dim.., 0);
            let last = (kc - 2) * conv_dim;
            state.conv[last..last + conv_dim].copy_from_slice(xin);
        }
        for head in conv_out[..2 * key_dim].chunks_exact_mut(dk) {
            l2_norm_in_place(head, c.rms_eps);
        }
    }
    convs
}
