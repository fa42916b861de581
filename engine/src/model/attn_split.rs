//! One token's attention for the query heads of one KV head, split across the thread pool by KV
//! rows (scores) and by V columns (P·V) rather than by heads (F16 cache, softmax-then-V form).
//!
//! Why: with fewer KV heads than threads (Gemma 3 has one), splitting a decode step by query heads
//! makes every thread read the whole K and V. Past L3 that doubles the DRAM traffic of the deepest
//! part of a decode step. Here K rows and V columns are divided, so each byte is read once.
//! Gemma 3 270M tg128, 2 threads, three alternating runs each: 65–66 → 72–85 t/s at 16K of
//! context, and no loss when the cache is small (110–114 → 113–118 at 1K; 90–99 → 101–111 at 4K),
//! so it is used at every depth.
//!
//! Bit for bit [`super::attn_head::softmax_group`]: every score is the same dot product, each
//! head's softmax runs on the same row, and each output column is the same lane sums (a column's
//! P·V never depends on the other columns).

use super::attn_head::{reset, HeadGroup};
use super::attn_vec::softmax_row;
use super::tinyblas;
use crate::cache::{HeadRows, KvCache};
use crate::cpu::parallel;
use std::cell::RefCell;

/// Reused buffers of the calling thread.
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    /// Scores chunk by chunk: chunk c holds `g` rows of `chunk_rows`.
    blocks: Vec<f32>,
    /// Probabilities, one row per head from the 16-aligned first visible position.
    p: Vec<f32>,
    /// P·V of each column slice: `g` rows of the slice's width, slice after slice.
    parts: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `out`: one row of `head_dim_v` per head of the group. The caller checked
/// [`super::attn_tile::tile_applies`] (F16 K and V, 16-multiple lengths).
pub fn softmax_split(kv: &KvCache, hg: &HeadGroup, out: &mut [f32], threads: usize) {
    let g = hg.q.len() / hg.q_row_bytes.max(1);
    if g == 0 {
        return;
    }
    let (hd, hv) = (hg.head_dim_k, out.len() / g);
    let base = hg.first / 16 * 16;
    let len = hg.n_kv - base;
    let (k, v) = (
        kv.k_rows(hg.layer, hg.kv_head),
        kv.v_rows(hg.layer, hg.kv_head),
    );
    let rows = hg.first..hg.n_kv;
    // Rows per scoring task: a few per thread, whole 16-row groups.
    let chunk = (rows.len().div_ceil(2 * threads.max(1)).div_ceil(16) * 16).max(16);
    // Columns per P·V task: whole 16-column vectors.
    let cols = (hv.div_ceil(threads.max(1)).div_ceil(16) * 16).clamp(16, hv.max(16));
    let n_chunks = rows.len().div_ceil(chunk);
    SCRATCH.with(|cell| {
        let s = &mut *cell.borrow_mut();
        reset(&mut s.q, g * hd, 0.0);
        for (h, q) in s.q.chunks_exact_mut(hd).enumerate() {
            // F16 → F32 is exact.
            let row = &hg.q[h * hg.q_row_bytes..(h + 1) * hg.q_row_bytes];
            (kv.k_kernels.dequantize)(row, q);
        }
        reset(&mut s.blocks, n_chunks * g * chunk, 0.0);
        let q = &s.q;
        parallel::for_each_chunk_mut(&mut s.blocks, g * chunk, |c, block| {
            let start = rows.start + c * chunk;
            let part = start..(start + chunk).min(rows.end);
            tinyblas::scores_f16(k, part, q, hd, hg.scale, block, chunk);
        });
        reset(&mut s.p, g * len, f32::NEG_INFINITY);
        let blocks = &s.blocks;
        parallel::for_each_chunk_mut(&mut s.p, len, |h, row| {
            for c in 0..n_chunks {
                let start = rows.start + c * chunk;
                let n = chunk.min(rows.end - start);
                let from = &blocks[(c * g + h) * chunk..][..n];
                row[start - base..start - base + n].copy_from_slice(from);
            }
            softmax_row(row, hg.row_len - base);
            tinyblas::round_f16(row);
        });
        let n_slices = hv.div_ceil(cols);
        reset(&mut s.parts, n_slices * g * cols, 0.0);
        let p = &s.p[hg.first - base..];
        parallel::for_each_chunk_mut(&mut s.parts, g * cols, |i, part| {
            let c0 = i * cols;
            let width = cols.min(hv - c0);
            let slice = HeadRows {
                bytes: &v.bytes[2 * c0..],
                stride: v.stride,
                row_bytes: 2 * width,
            };
            tinyblas::pv_f16(slice, rows.clone(), p, len, &mut part[..g * width], width);
        });
        for i in 0..n_slices {
            let c0 = i * cols;
            let width = cols.min(hv - c0);
            let part = &s.parts[i * g * cols..][..g * width];
            for (h, o) in out.chunks_exact_mut(hv).enumerate() {
                o[c0..c0 + width].copy_from_slice(&part[h * width..(h + 1) * width]);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::quantize_rows;
    use crate::gguf::GgmlType;
    use crate::model::attn_head::softmax_group;
    use crate::model::test_rng::Rng;

    #[test]
    fn split_attention_matches_grouped_heads_bit_for_bit() {
        let mut rng = Rng::new(5);
        for case in 0..40 {
            let (hd, hv) = ([16, 64, 256][case % 3], [16, 48, 256, 80][case % 4]);
            let (nkv, group) = (2, 1 + case % 5);
            let n_kv = 1 + rng.below(900);
            let window = [usize::MAX, 1 + rng.below(200)][case % 2];
            let mut kv = KvCache::new(
                GgmlType::F16,
                GgmlType::F16,
                n_kv + 3,
                hd,
                hv,
                &[false, true],
                &[0, nkv],
            )
            .unwrap();
            for pos in 0..n_kv {
                let k: Vec<f32> = (0..nkv * hd).map(|_| rng.normal()).collect();
                let v: Vec<f32> = (0..nkv * hv).map(|_| rng.normal()).collect();
                kv.store(1, pos, &k, &v);
            }
            let q: Vec<f32> = (0..group * hd).map(|_| rng.normal() * 0.5).collect();
            let mut qq = Vec::new();
            let qrb = quantize_rows(kv.k_kernels.dot_type, &q, hd, &mut qq).unwrap();
            let hg = HeadGroup {
                layer: 1,
                kv_head: case % nkv,
                q: &qq,
                q_row_bytes: qrb,
                head_dim_k: hd,
                scale: 0.2 + rng.uniform(),
                first: (n_kv - 1).saturating_sub(window.saturating_sub(1)),
                n_kv,
                row_len: n_kv.div_ceil(256) * 256,
            };
            let mut want = vec![0f32; group * hv];
            softmax_group(&kv, &hg, &mut want);
            for threads in [1, 2, 3, 8] {
                let mut got = vec![f32::NAN; group * hv];
                softmax_split(&kv, &hg, &mut got, threads);
                for (i, (a, b)) in want.iter().zip(&got).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "case {case} hd {hd} hv {hv} group {group} n_kv {n_kv} threads {threads} \
                         element {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
