//! The query heads that share one KV head, against the KV cache, in llama.cpp's two CPU
//! formulations:
//! - `softmax_group`: scores, softmax, then probabilities (rounded to f16 for an F16 V) times V;
//! - `flash_group`: ggml's flash-attention kernel: online softmax, V accumulated in f16 for an F16 V.
//!
//! Each K and V row is read once for all heads of the group. Results equal `attn_head_ref`'s
//! one-head-at-a-time versions bit for bit (tested below).

use super::attn_vec::{mad_acc, scale_acc, softmax_row};
use super::tinyblas;
use crate::cache::KvCache;
use crate::gguf::GgmlType;
use std::cell::RefCell;

/// Some of the query heads of one KV head, for one token.
pub struct HeadGroup<'a> {
    pub layer: usize,
    pub kv_head: usize,
    /// q of each head, in the K cache's dot type, back to back (`q_row_bytes` each).
    pub q: &'a [u8],
    pub q_row_bytes: usize,
    pub head_dim_k: usize,
    pub scale: f32,
    /// Positions `first..n_kv` are visible.
    pub first: usize,
    pub n_kv: usize,
    /// Length of llama.cpp's (masked) score row, which decides its SIMD split.
    pub row_len: usize,
}

/// The first position a token seeing positions `..n_kv` attends to under a sliding window of
/// `window` positions (`usize::MAX`: no window). llama.cpp masks `p - j >= n_swa`.
pub fn first_visible(n_kv: usize, window: usize) -> usize {
    (n_kv - 1).saturating_sub(window.saturating_sub(1))
}

impl HeadGroup<'_> {
    pub(super) fn n_heads(&self) -> usize {
        self.q.len() / self.q_row_bytes.max(1)
    }

    fn q_row(&self, h: usize) -> &[u8] {
        &self.q[h * self.q_row_bytes..(h + 1) * self.q_row_bytes]
    }
}

/// Per-thread buffers, reused across calls so the hot loop does not allocate.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) q: Vec<f32>,
    pub(super) p: Vec<f32>,
    pub(super) vrow: Vec<f32>,
    pub(super) acc: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| f(&mut s.borrow_mut()))
}

pub(super) fn reset(v: &mut Vec<f32>, n: usize, fill: f32) {
    v.clear();
    v.resize(n, fill);
}

/// `out`: one row of `head_dim_v` per head of the group.
pub fn softmax_group(kv: &KvCache, hg: &HeadGroup, out: &mut [f32]) {
    let g = hg.n_heads();
    if g == 0 {
        return;
    }
    let (hd, hv) = (hg.head_dim_k, out.len() / g);
    // llama.cpp runs K·q and P·V through tinyBLAS for F16 caches when the lengths allow it.
    let f16_cache = kv.k_kernels.ggml_type == GgmlType::F16
        && kv.v_kernels.ggml_type == GgmlType::F16
        && hd % tinyblas::LANES == 0
        && hg.row_len % tinyblas::LANES == 0;
    // 16-wide softmax chunks wholly before `first` add exactly nothing: start at the chunk
    // holding `first` (earlier scores are masked, -inf).
    let base = hg.first / 16 * 16;
    let len = hg.n_kv - base;
    let off = hg.first - base;
    let (k, v) = (
        kv.k_rows(hg.layer, hg.kv_head),
        kv.v_rows(hg.layer, hg.kv_head),
    );
    with_scratch(|s| {
        reset(&mut s.p, g * len, f32::NEG_INFINITY);
        if f16_cache {
            reset(&mut s.q, g * hd, 0.0);
            for (h, q) in s.q.chunks_exact_mut(hd).enumerate() {
                // F16 → F32 is exact.
                (kv.k_kernels.dequantize)(hg.q_row(h), q);
            }
            let rows = hg.first..hg.n_kv;
            tinyblas::scores_f16(k, rows, &s.q, hd, hg.scale, &mut s.p[off..], len);
        } else {
            for j in hg.first..hg.n_kv {
                let kj = k.row(j);
                for h in 0..g {
                    let dot = (kv.k_kernels.vec_dot)(hd, kj, hg.q_row(h));
                    s.p[h * len + j - base] = dot * hg.scale;
                }
            }
        }
        for row in s.p.chunks_exact_mut(len) {
            softmax_row(row, hg.row_len - base);
        }
        if kv.v_kernels.ggml_type == GgmlType::F16 {
            tinyblas::round_f16(&mut s.p);
        }
        if f16_cache {
            tinyblas::pv_f16(v, hg.first..hg.n_kv, &s.p[off..], len, out, hv);
            return;
        }
        reset(&mut s.vrow, hv, 0.0);
        out.fill(0.0);
        for j in hg.first..hg.n_kv {
            (kv.v_kernels.dequantize)(v.row(j), &mut s.vrow);
            for (h, o) in out.chunks_exact_mut(hv).enumerate() {
                let pj = s.p[h * len + j - base];
                // Multiply, then add (unfused), as the reference.
                for (a, &b) in o.iter_mut().zip(&s.vrow) {
                    *a += pj * b;
                }
            }
        }
    })
}

/// `out`: one row of `head_dim_v` per head of the group.
pub fn flash_group(kv: &KvCache, hg: &HeadGroup, out: &mut [f32]) {
    let g = hg.n_heads();
    if g == 0 {
        return;
    }
    let hv = out.len() / g;
    with_scratch(|s| {
        reset(&mut s.acc, g * hv, 0.0);
        // Per head: running sum of exponentials, then running maximum.
        reset(&mut s.p, 2 * g, 0.0);
        let (sums, maxes) = s.p.split_at_mut(g);
        maxes.fill(f32::NEG_INFINITY);
        flash_rows(
            kv,
            hg,
            hg.first..hg.n_kv,
            &mut s.acc,
            sums,
            maxes,
            &mut s.vrow,
        );
        flash_finish(&s.acc, sums, out, hv);
    })
}

/// [`flash_group`]'s loop over K/V `rows` (visible ones), left unnormalized: per head its
/// accumulator (`acc`, rows of `head_dim_v`), running sum and running maximum, which start at
/// 0, 0 and -inf.
pub(super) fn flash_rows(
    kv: &KvCache,
    hg: &HeadGroup,
    rows: std::ops::Range<usize>,
    acc: &mut [f32],
    sums: &mut [f32],
    maxes: &mut [f32],
    vrow: &mut Vec<f32>,
) {
    let g = hg.n_heads();
    if g == 0 {
        return;
    }
    let (hd, hv) = (hg.head_dim_k, acc.len() / g);
    let f16_v = kv.v_kernels.ggml_type == GgmlType::F16;
    let (k, v) = (
        kv.k_rows(hg.layer, hg.kv_head),
        kv.v_rows(hg.layer, hg.kv_head),
    );
    reset(vrow, hv, 0.0);
    for j in rows {
        let kj = k.row(j);
        (kv.v_kernels.dequantize)(v.row(j), vrow);
        for (h, acc) in acc.chunks_exact_mut(hv).enumerate() {
            let sc = (kv.k_kernels.vec_dot)(hd, kj, hg.q_row(h)) * hg.scale;
            flash_step(acc, &mut sums[h], &mut maxes[h], sc, vrow, f16_v);
        }
    }
}

/// One K/V row of ggml's flash-attention loop for one head: rescale on a new maximum, add the
/// row's V weighted by its exponential, update the running sum.
#[inline]
pub(super) fn flash_step(
    acc: &mut [f32],
    sum: &mut f32,
    max: &mut f32,
    score: f32,
    v: &[f32],
    f16_v: bool,
) {
    let (mut ms, mut vs) = (1f32, 1f32);
    if score > *max {
        let m_old = *max;
        *max = score;
        ms = (m_old - score).exp();
        scale_acc(acc, ms, f16_v);
    } else {
        vs = (score - *max).exp();
    }
    mad_acc(acc, v, vs, f16_v);
    // Fused: the compiled ggml-cpu contracts `S*ms + vs` (vfmadd132ss).
    *sum = sum.mul_add(ms, vs);
}

/// Each head's accumulator divided by its running sum (rows of `hv`).
pub(super) fn flash_finish(acc: &[f32], sums: &[f32], out: &mut [f32], hv: usize) {
    for ((o, acc), &sum) in out.chunks_exact_mut(hv).zip(acc.chunks_exact(hv)).zip(sums) {
        let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
        for (o, &a) in o.iter_mut().zip(acc) {
            *o = a * inv;
        }
    }
}

#[cfg(test)]
#[path = "attn_head_tests.rs"]
mod tests;
