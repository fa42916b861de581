//! The reference for `attn_head`: one query head at a time, plainly written, on the scalar
//! kernels (test-only). llama.cpp's two CPU formulations:
//! - `softmax_head`: scores, softmax, then probabilities (rounded to f16 for an F16 V) times V;
//! - `flash_head`: ggml's flash-attention kernel: online softmax, V accumulated in f16 for an F16 V.

use super::ggml_math::softmax_masked_row_len;
use super::tinyblas;
use crate::cache::KvCache;
use crate::gguf::GgmlType;
use half::f16;

pub struct HeadQuery<'a> {
    pub layer: usize,
    pub kv_head: usize,
    /// q in the K cache's dot type.
    pub q: &'a [u8],
    pub head_dim_k: usize,
    pub scale: f32,
    /// Positions `first..n_kv` are visible.
    pub first: usize,
    pub n_kv: usize,
    /// Length of llama.cpp's (masked) score row, which decides its SIMD split.
    pub row_len: usize,
}

pub fn softmax_head(kv: &KvCache, hq: &HeadQuery, out: &mut [f32]) {
    // llama.cpp runs K·q and P·V through tinyBLAS for F16 caches when the lengths allow it.
    let f16_cache = kv.k_kernels.ggml_type == GgmlType::F16
        && kv.v_kernels.ggml_type == GgmlType::F16
        && hq.head_dim_k % tinyblas::LANES == 0
        && hq.row_len % tinyblas::LANES == 0;
    let mut p: Vec<f32> = (0..hq.n_kv)
        .map(|j| {
            if j < hq.first {
                f32::NEG_INFINITY
            } else if f16_cache {
                let k = kv.k_row(hq.layer, j, hq.kv_head);
                tinyblas::dot_f16(hq.head_dim_k, k, hq.q) * hq.scale
            } else {
                score(kv, hq, j)
            }
        })
        .collect();
    softmax_masked_row_len(&mut p, hq.row_len);
    if f16_cache {
        let mut acc = tinyblas::LaneAcc::new(out.len());
        for (j, &pj) in p.iter().enumerate().skip(hq.first) {
            let pj = f16::from_f32(pj).to_f32();
            acc.add_f16_row(j, pj, kv.v_row(hq.layer, j, hq.kv_head));
        }
        acc.finish(out);
        return;
    }
    let round_p = kv.v_kernels.ggml_type == GgmlType::F16;
    let mut vrow = vec![0f32; out.len()];
    out.fill(0.0);
    for (j, &pj) in p.iter().enumerate().skip(hq.first) {
        let pj = if round_p {
            f16::from_f32(pj).to_f32()
        } else {
            pj
        };
        (kv.v_kernels.dequantize)(kv.v_row(hq.layer, j, hq.kv_head), &mut vrow);
        for (a, &b) in out.iter_mut().zip(&vrow) {
            *a += pj * b;
        }
    }
}

pub fn flash_head(kv: &KvCache, hq: &HeadQuery, out: &mut [f32]) {
    let f16_v = kv.v_kernels.ggml_type == GgmlType::F16;
    let dv = out.len();
    let mut acc = vec![0f32; dv];
    let mut vrow = vec![0f32; dv];
    let (mut s_sum, mut m) = (0f32, f32::NEG_INFINITY);
    let round = |x: f32| if f16_v { f16::from_f32(x).to_f32() } else { x };
    for j in hq.first..hq.n_kv {
        let s = score(kv, hq, j);
        let (mut ms, mut vs) = (1f32, 1f32);
        if s > m {
            let m_old = m;
            m = s;
            ms = (m_old - m).exp();
            for a in acc.iter_mut() {
                *a = round(*a * ms);
            }
        } else {
            vs = (s - m).exp();
        }
        (kv.v_kernels.dequantize)(kv.v_row(hq.layer, j, hq.kv_head), &mut vrow);
        for (a, &v) in acc.iter_mut().zip(&vrow) {
            *a = round(v.mul_add(vs, *a));
        }
        // Fused, as the compiled ggml-cpu does it (-ffp-contract=fast: vfmadd132ss).
        s_sum = s_sum.mul_add(ms, vs);
    }
    let inv = if s_sum == 0.0 { 0.0 } else { 1.0 / s_sum };
    for (o, &a) in out.iter_mut().zip(&acc) {
        *o = a * inv;
    }
}

fn score(kv: &KvCache, hq: &HeadQuery, j: usize) -> f32 {
    (kv.k_kernels.vec_dot)(hq.head_dim_k, kv.k_row(hq.layer, j, hq.kv_head), hq.q) * hq.scale
}
