//! Feed-forward blocks: dense SwiGLU and softmax top-k mixture of experts with an optional
//! sigmoid-gated shared expert (llama.cpp `build_moe_ffn` with `norm_w`).

use super::config::Activation;
use super::error::ModelError;
use super::expert_choice::top_k;
use super::ffn_decode;
use super::ggml_math::{geglu_in_place, swiglu_in_place};
use super::norm::{sigmoid, softmax_in_place};
use super::weights::{Ffn, SharedExpert};
use crate::backend::matmul;
use crate::cpu::gemm::gemm;
use crate::cpu::parallel;
use crate::cpu::{quantize_rows, MatmulError};
use crate::gguf::GgmlType;
use crate::tensor::Tensor;

/// `x`: T rows of n_embd; `out`: T rows of n_embd.
pub fn ffn(
    f: &Ffn,
    act: Activation,
    n_expert_used: usize,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    // The one-token CPU kernels read the memory map; GPU-resident blocks go through the backend.
    let one_token = x.len() == n_embd(f) && on_cpu(f);
    match f {
        Ffn::Dense { gate, up, down } if one_token => {
            ffn_decode::gated_ffn_one(act, gate, up, down, x, out)
        }
        Ffn::Moe {
            router,
            gate,
            up,
            down,
            n_ff,
            shared,
        } if one_token && ffn_decode::moe_one_fits(n_expert_used) => ffn_decode::moe_one(
            router,
            gate,
            up,
            down,
            *n_ff,
            n_expert_used,
            shared.as_ref(),
            x,
            out,
        ),
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

/// Whether every weight of the block lives in RAM (no GPU copy).
fn on_cpu(f: &Ffn) -> bool {
    match f {
        Ffn::Dense { gate, up, down } => [gate, up, down].iter().all(|t| t.gpu().is_none()),
        Ffn::Moe {
            router,
            gate,
            up,
            down,
            shared,
            ..
        } => {
            [router, gate, up, down].iter().all(|t| t.gpu().is_none())
                && shared
                    .as_ref()
                    .is_none_or(|s| [&s.gate, &s.up, &s.down].iter().all(|t| t.gpu().is_none()))
        }
    }
}

/// Width of the vectors this block reads and writes (n_embd).
fn n_embd(f: &Ffn) -> usize {
    match f {
        Ffn::Dense { gate, .. } => gate.row_len(),
        Ffn::Moe { router, .. } => router.row_len(),
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
    let mut idx = Vec::with_capacity(k);
    for row in probs.chunks_exact_mut(n_expert) {
        softmax_in_place(row);
        top_k(row, k, &mut idx);
        let sum: f32 = idx[..k]
            .iter()
            .map(|&e| row[e])
            .sum::<f32>()
            .max(6.103_515_6e-5);
        chosen.extend(idx[..k].iter().map(|&e| (e, row[e] / sum)));
    }
    if gate.gpu().is_some() || up.gpu().is_some() {
        return moe_experts_on_gpu(gate, up, down, n_ff, k, &chosen, x, out);
    }
    // Per expert: gather its tokens, run its SwiGLU, scatter weighted results per (token, slot).
    // The gate and up inputs are quantized once for all experts (quantization is per row, so
    // gathering quantized rows gives the bytes quantizing the gathered rows would).
    let gate_in = QuantizedInput::new(gate, x, n_embd)?;
    let up_in = if gate_in.dot_type == dot_type(up)? {
        None
    } else {
        Some(QuantizedInput::new(up, x, n_embd)?)
    };
    let up_in = up_in.as_ref().unwrap_or(&gate_in);
    let (gate_dot, up_dot) = (vec_dot(gate)?, vec_dot(up)?);
    let mut slots_of: Vec<Vec<usize>> = vec![Vec::new(); n_expert];
    for (s, &(e, _)) in chosen.iter().enumerate() {
        slots_of[e].push(s);
    }
    // Experts run in parallel (each a few tokens' worth of small matrices, too little to split
    // across threads one at a time); every slot's values are the same whichever thread runs it.
    let active: Vec<usize> = (0..n_expert).filter(|&e| !slots_of[e].is_empty()).collect();
    let per_expert =
        parallel::map_indices(active.len(), |i| -> Result<(usize, Vec<f32>), ModelError> {
            let (e, slots) = (active[i], &slots_of[active[i]]);
            let tokens: Vec<usize> = slots.iter().map(|&s| s / k).collect();
            let (mut qg, mut qu) = (Vec::new(), Vec::new());
            gate_in.gather(&tokens, &mut qg);
            up_in.gather(&tokens, &mut qu);
            let ns = slots.len();
            let mut g = vec![0f32; ns * n_ff];
            let mut u = vec![0f32; ns * n_ff];
            let (ge, ue) = (gate.rows(e * n_ff, n_ff), up.rows(e * n_ff, n_ff));
            gemm(&ge, &qg, gate_in.row_bytes, ns, &mut g, gate_dot)?;
            gemm(&ue, &qu, up_in.row_bytes, ns, &mut u, up_dot)?;
            for (gr, ur) in g.chunks_exact_mut(n_ff).zip(u.chunks_exact(n_ff)) {
                swiglu_in_place(gr, ur);
            }
            let mut ye = vec![0f32; ns * n_embd];
            matmul(&down.rows(e * n_embd, n_embd), &g, &mut ye)?;
            Ok((e, ye))
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = vec![0f32; t_n * k * n_embd];
    for (e, ye) in &per_expert {
        scatter_weighted(&slots_of[*e], &chosen, ye, n_embd, &mut results);
    }
    sum_slots(&results, k, n_embd, out);
    Ok(())
}

/// The routed experts when their weights live on the GPU: each expert's gathered tokens go
/// through the backend's matmul; slots are summed in order as on the CPU path.
#[allow(clippy::too_many_arguments)]
fn moe_experts_on_gpu(
    gate: &Tensor,
    up: &Tensor,
    down: &Tensor,
    n_ff: usize,
    k: usize,
    chosen: &[(usize, f32)],
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    let n_embd = gate.row_len();
    let t_n = x.len() / n_embd;
    let n_expert = gate.n_rows() / n_ff;
    let mut results = vec![0f32; t_n * k * n_embd];
    for e in 0..n_expert {
        let slots: Vec<usize> = (0..t_n * k).filter(|&s| chosen[s].0 == e).collect();
        if slots.is_empty() {
            continue;
        }
        let mut xs = Vec::with_capacity(slots.len() * n_embd);
        for &s in &slots {
            let t = s / k;
            xs.extend_from_slice(&x[t * n_embd..(t + 1) * n_embd]);
        }
        let ns = slots.len();
        let mut g = vec![0f32; ns * n_ff];
        let mut u = vec![0f32; ns * n_ff];
        matmul(&gate.rows(e * n_ff, n_ff), &xs, &mut g)?;
        matmul(&up.rows(e * n_ff, n_ff), &xs, &mut u)?;
        for (gr, ur) in g.chunks_exact_mut(n_ff).zip(u.chunks_exact(n_ff)) {
            swiglu_in_place(gr, ur);
        }
        let mut ye = vec![0f32; ns * n_embd];
        matmul(&down.rows(e * n_embd, n_embd), &g, &mut ye)?;
        scatter_weighted(&slots, chosen, &ye, n_embd, &mut results);
    }
    sum_slots(&results, k, n_embd, out);
    Ok(())
}

/// Writes expert output row i, times its routing weight, into result slot `slots[i]`.
fn scatter_weighted(
    slots: &[usize],
    chosen: &[(usize, f32)],
    ye: &[f32],
    n_embd: usize,
    results: &mut [f32],
) {
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

/// Sums each token's k slots in order, as ggml adds the expert views one after another.
fn sum_slots(results: &[f32], k: usize, n_embd: usize, out: &mut [f32]) {
    for (t, o) in out.chunks_exact_mut(n_embd).enumerate() {
        o.copy_from_slice(&results[t * k * n_embd..(t * k + 1) * n_embd]);
        for slot in 1..k {
            let r = &results[(t * k + slot) * n_embd..(t * k + slot + 1) * n_embd];
            for (a, &b) in o.iter_mut().zip(r) {
                *a += b;
            }
        }
    }
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

/// The activation format `w`'s dot products take.
fn dot_type(w: &Tensor) -> Result<GgmlType, MatmulError> {
    crate::quant::kernels(w.ty)
        .map(|k| k.dot_type)
        .ok_or_else(|| MatmulError::Unsupported(w.ty.name(), w.name.clone()))
}

/// The dot kernel the matmul path uses for `w` (the same one, so results match it).
fn vec_dot(w: &Tensor) -> Result<fn(usize, &[u8], &[u8]) -> f32, MatmulError> {
    crate::cpu::x86_dot::vec_dot_for(w.ty)
        .ok_or_else(|| MatmulError::Unsupported(w.ty.name(), w.name.clone()))
}

/// Token rows quantized once to a weight's dot type, from which each expert gathers its tokens.
struct QuantizedInput {
    dot_type: GgmlType,
    bytes: Vec<u8>,
    row_bytes: usize,
}

impl QuantizedInput {
    fn new(w: &Tensor, x: &[f32], n_embd: usize) -> Result<QuantizedInput, MatmulError> {
        let dot_type = dot_type(w)?;
        let mut bytes = Vec::new();
        let row_bytes = quantize_rows(dot_type, x, n_embd, &mut bytes)?;
        Ok(QuantizedInput {
            dot_type,
            bytes,
            row_bytes,
        })
    }

    /// Copies the rows of `tokens` into `out`, in order.
    fn gather(&self, tokens: &[usize], out: &mut Vec<u8>) {
        let rb = self.row_bytes;
        out.clear();
        for &t in tokens {
            out.extend_from_slice(&self.bytes[t * rb..(t + 1) * rb]);
        }
    }
}
