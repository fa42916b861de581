//! Feed-forward blocks: dense SwiGLU and softmax top-k mixture of experts with an optional
//! sigmoid-gated shared expert (llama.cpp `build_moe_ffn` with `norm_w`).

use super::config::Activation;
use super::error::ModelError;
use super::ggml_math::{geglu_in_place, swiglu_in_place};
use super::norm::{sigmoid, softmax_in_place};
use super::weights::{Ffn, SharedExpert};
use crate::backend::matmul;
use crate::tensor::Tensor;

/// `x`: T rows of n_embd; `out`: T rows of n_embd.
pub fn ffn(
    f: &Ffn,
    act: Activation,
    n_expert_used: usize,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    match f {
        Ffn::Dense { gate, up, down } => gated_ffn(act, gate, up, down, x, out),
        Ffn::Moe {
            router,
            gate,
            up,
            down,
            n_ff,
            shared,
        } => {
            moe(router, gate, up, down, *n_ff, n_expert_used, x, out)?;
            if let Some(sh) = shared {
                shared_expert(sh, x, out)?;
            }
            Ok(())
        }
    }
}

/// `down(act(gate x) * (up x))`.
fn gated_ffn(
    act: Activation,
    gate: &Tensor,
    up: &Tensor,
    down: &Tensor,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    let t_n = x.len() / gate.row_len();
    let n_ff = gate.n_rows();
    let mut g = vec![0f32; t_n * n_ff];
    let mut u = vec![0f32; t_n * n_ff];
    matmul(gate, x, &mut g)?;
    matmul(up, x, &mut u)?;
    for (gr, ur) in g.chunks_exact_mut(n_ff).zip(u.chunks_exact(n_ff)) {
        match act {
            Activation::Silu => swiglu_in_place(gr, ur),
            Activation::Gelu => geglu_in_place(gr, ur),
        }
    }
    matmul(down, &g, out)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn moe(
    router: &Tensor,
    gate: &Tensor,
    up: &Tensor,
    down: &Tensor,
    n_ff: usize,
    k: usize,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    let n_embd = router.row_len();
    let n_expert = router.n_rows();
    let t_n = x.len() / n_embd;
    let mut probs = vec![0f32; t_n * n_expert];
    matmul(router, x, &mut probs)?;
    // Per token: softmax over all experts, top-k, weights renormalized over the k.
    let mut chosen: Vec<(usize, f32)> = Vec::with_capacity(t_n * k);
    for row in probs.chunks_exact_mut(n_expert) {
        softmax_in_place(row);
        let mut idx: Vec<usize> = (0..n_expert).collect();
        idx.sort_by(|&a, &b| {
            row[b]
                .partial_cmp(&row[a])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let sum: f32 = idx[..k]
            .iter()
            .map(|&e| row[e])
            .sum::<f32>()
            .max(6.103_515_6e-5);
        chosen.extend(idx[..k].iter().map(|&e| (e, row[e] / sum)));
    }
    // Per expert: gather its tokens, run its SwiGLU, scatter weighted results per (token, slot).
    let mut results = vec![0f32; t_n * k * n_embd];
    for e in 0..n_expert {
        let slots: Vec<usize> = (0..t_n * k).filter(|&s| chosen[s].0 == e).collect();
        if slots.is_empty() {
            continue;
        }
        let mut xe = Vec::with_capacity(slots.len() * n_embd);
        for &s in &slots {
            let t = s / k;
            xe.extend_from_slice(&x[t * n_embd..(t + 1) * n_embd]);
        }
        let mut ye = vec![0f32; slots.len() * n_embd];
        gated_ffn(
            Activation::Silu,
            &gate.rows(e * n_ff, n_ff),
            &up.rows(e * n_ff, n_ff),
            &down.rows(e * n_embd, n_embd),
            &xe,
            &mut ye,
        )?;
        for (i, &s) in slots.iter().enumerate() {
            let w = chosen[s].1;
            for (r, &y) in results[s * n_embd..(s + 1) * n_embd]
                .iter_mut()
                .zip(&ye[i * n_embd..(i + 1) * n_embd])
            {
                *r = y * w;
            }
        }
    }
    // Sum the slots in order, as ggml adds the expert views one after another.
    for t in 0..t_n {
        let o = &mut out[t * n_embd..(t + 1) * n_embd];
        o.copy_from_slice(&results[t * k * n_embd..(t * k + 1) * n_embd]);
        for slot in 1..k {
            let r = &results[(t * k + slot) * n_embd..(t * k + slot + 1) * n_embd];
            for (a, &b) in o.iter_mut().zip(r) {
                *a += b;
            }
        }
    }
    Ok(())
}

/// Adds `shexp(x) * sigmoid(gate_inp · x)` (ungated when there is no gate tensor).
fn shared_expert(sh: &SharedExpert, x: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
    let n_embd = sh.gate.row_len();
    let t_n = x.len() / n_embd;
    let mut y = vec![0f32; t_n * n_embd];
    gated_ffn(Activation::Silu, &sh.gate, &sh.up, &sh.down, x, &mut y)?;
    let mut g = vec![1f32; t_n];
    if let Some(gi) = &sh.gate_inp {
        matmul(gi, x, &mut g)?;
        for v in g.iter_mut() {
            *v = sigmoid(*v);
        }
    }
    for t in 0..t_n {
        for (o, &v) in out[t * n_embd..(t + 1) * n_embd]
            .iter_mut()
            .zip(&y[t * n_embd..(t + 1) * n_embd])
        {
            *o += v * g[t];
        }
    }
    Ok(())
}
