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
use rayon::prelude::*;

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
    let (key_dim, conv_dim, kc) = (s.key_dim(), s.conv_dim(), s.d_conv);
    let mut qkv = vec![0f32; t_n * conv_dim];
    let mut z = vec![0f32; t_n * s.d_inner];
    w.qkvz.project(s, x, &mut qkv, &mut z)?;
    let (mut b, mut a) = (vec![0f32; t_n * hv], vec![0f32; t_n * hv]);
    if let (Some(wb), Some(wa)) = (&w.beta, &w.alpha) {
        matmul(wb, x, &mut b)?;
        matmul(wa, x, &mut a)?;
    } else if let Some(wba) = &w.ba {
        // Qwen3-Next: per K-head group, r beta values then r alpha values.
        let mut ba = vec![0f32; t_n * 2 * hv];
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
    let mut core = vec![0f32; t_n * s.d_inner];
    let mut conv_out = vec![0f32; conv_dim];
    let q_scale = 1.0 / (dk as f32).sqrt();
    for t in 0..t_n {
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
        silu_in_place(&mut conv_out);
        if kc > 1 {
            state.conv.copy_within(conv_dim.., 0);
            let last = (kc - 2) * conv_dim;
            state.conv[last..last + conv_dim].copy_from_slice(xin);
        }
        let (qs, rest) = conv_out.split_at_mut(key_dim);
        let (ks, vs) = rest.split_at_mut(key_dim);
        for head in qs.chunks_exact_mut(dk) {
            l2_norm_in_place(head, c.rms_eps);
        }
        for head in ks.chunks_exact_mut(dk) {
            l2_norm_in_place(head, c.rms_eps);
        }
        let (qs, ks, vs) = (&*qs, &*ks, &*vs);
        let (bt, at) = (&b[t * hv..(t + 1) * hv], &a[t * hv..(t + 1) * hv]);
        let out_t = &mut core[t * s.d_inner..(t + 1) * s.d_inner];
        let zt = &z[t * s.d_inner..(t + 1) * s.d_inner];
        state
            .ssm
            .par_chunks_mut(dk * dv)
            .zip(out_t.par_chunks_mut(dv))
            .enumerate()
            .for_each(|(h, (sm, o))| {
                let g = if interleaved { h / (hv / hk) } else { h % hk };
                let (q, k, v) = (
                    &qs[g * dk..(g + 1) * dk],
                    &ks[g * dk..(g + 1) * dk],
                    &vs[h * dv..(h + 1) * dv],
                );
                let beta = sigmoid(bt[h]);
                let decay = (softplus(at[h] + w.dt_bias[h]) * w.a[h]).exp();
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
                let mut zs = zt[h * dv..(h + 1) * dv].to_vec();
                silu_in_place(&mut zs);
                for (oj, &zj) in o.iter_mut().zip(&zs) {
                    *oj *= zj;
                }
            });
    }
    matmul(&w.output, &core, out)?;
    Ok(())
}
