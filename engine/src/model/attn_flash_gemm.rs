//! Flash attention for a prompt tile on an F16 (or F32) cache, as llama.cpp's CPU backend runs it
//! when a micro-batch holds at least 64 tokens (`ggml_compute_forward_flash_attn_ext_tiled`):
//! q stays f32, K and V are widened to f32 one 64-row KV tile at a time, scores and P·V are f32
//! GEMMs ([`super::fa_gemm`]), and the online softmax is updated once per KV tile instead of once
//! per row. Token by token ([`super::attn_tile::flash_tile`]) the same attention costs one f16
//! dot, one `expf` and one f16-rounded multiply-add per (row, head), which left `-fa 1` prompts at
//! 0.42× llama.cpp's speed at 8K.
//!
//! The result per query row equals ggml's tiled kernel bit for bit (tested against a
//! transcription of it below), whichever rows share a tile: per row and per KV tile (absolute
//! positions `64i..64i+64`) that it sees at least once:
//! - scores: an FMA chain over the head dimension from 0, times `scale`; unseen entries -inf;
//! - `M' = max(M, tile max)`; on a new maximum the accumulator and the sum are scaled by
//!   `expf(M - M')` (plain multiplies);
//! - `p = exp(s - M')` by ggml's vector exp, summed in f64 per 16 lanes, added to the f32 sum;
//! - the accumulator takes `p · V` as FMA chains over the tile's rows in order (unseen rows add
//!   `0 · v`, exactly nothing);
//!
//! and at the end the accumulator is multiplied by `1 / sum`.

use super::attn_head::{flash_finish, reset};
use super::attn_tile::TokenTile;
use super::attn_vec::exp_sum_fast;
use super::fa_gemm::gemm_acc;
use crate::cache::KvCache;
use crate::gguf::GgmlType;
use std::cell::RefCell;

/// KV rows per tile (`GGML_FA_TILE_KV`); tile boundaries are absolute positions.
pub const KV_TILE: usize = 64;
/// llama.cpp takes this path when the micro-batch has at least this many tokens (`GGML_FA_TILE_Q`).
pub const MIN_BATCH: usize = 64;
/// Query rows (tokens × heads of a KV group) per tile: enough to amortize widening K and V.
const TILE_ROWS: usize = 128;

/// Whether llama.cpp runs this micro-batch's flash attention tiled (F16/F32 K and V of one type,
/// at least [`MIN_BATCH`] tokens).
pub fn applies(kv: &KvCache, n_tokens: usize) -> bool {
    let (k, v) = (kv.k_kernels.ggml_type, kv.v_kernels.ggml_type);
    n_tokens >= MIN_BATCH && k == v && matches!(k, GgmlType::F16 | GgmlType::F32)
}

/// Tokens per tile for a KV group of `group` query heads.
pub fn tile_tokens(group: usize) -> usize {
    (TILE_ROWS / group.max(1)).max(1)
}

#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    /// K tile transposed: `k[d * KV_TILE + j]`.
    k: Vec<f32>,
    /// One K row widened, before it is transposed into `k`.
    k_row: Vec<f32>,
    scores: Vec<f32>,
    v: Vec<f32>,
    acc: Vec<f32>,
    max: Vec<f32>,
    sum: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `q32`: f32 q rows of the whole batch (row `t * n_head + h`, `head_dim_k` each; `tile.q` is not
/// read). `out`: for each token of the tile, one row of `head_dim_v` per head of the group.
pub fn flash_gemm_tile(kv: &KvCache, tile: &TokenTile, q32: &[f32], out: &mut [f32]) {
    let (g, n_t) = (tile.group, tile.tokens.len());
    let rows = g * n_t;
    if rows == 0 {
        return;
    }
    let (hd, hv) = (tile.head_dim_k, out.len() / rows);
    let seen = |r: usize| tile.visible(tile.tokens.start + r / g);
    let (first, end) = (seen(0).start, seen(rows - 1).end);
    let (k, v) = (
        kv.k_rows(tile.layer, tile.kv_head),
        kv.v_rows(tile.layer, tile.kv_head),
    );
    SCRATCH.with(|s| {
        let s = &mut *s.borrow_mut();
        reset(&mut s.q, rows * hd, 0.0);
        for (r, q) in s.q.chunks_exact_mut(hd).enumerate() {
            let (t, h) = (tile.tokens.start + r / g, tile.kv_head * g + r % g);
            let at = (t * tile.n_head + h) * hd;
            q.copy_from_slice(&q32[at..at + hd]);
        }
        reset(&mut s.acc, rows * hv, 0.0);
        reset(&mut s.max, rows, f32::NEG_INFINITY);
        reset(&mut s.sum, rows, 0.0);
        reset(&mut s.k, hd * KV_TILE, 0.0);
        reset(&mut s.v, KV_TILE * hv, 0.0);
        reset(&mut s.k_row, hd, 0.0);
        let mut c0 = first / KV_TILE * KV_TILE;
        while c0 < end {
            let c1 = (c0 + KV_TILE).min(end);
            // Rows past `c1` stay zero (seen by no row of the tile).
            s.k.fill(0.0);
            for j in c0.max(first)..c1 {
                (kv.k_kernels.dequantize)(k.row(j), &mut s.k_row);
                for (d, &x) in s.k_row.iter().enumerate() {
                    s.k[d * KV_TILE + j - c0] = x;
                }
            }
            reset(&mut s.scores, rows * KV_TILE, 0.0);
            gemm_acc(&mut s.scores, &s.q, &s.k, rows, hd, KV_TILE);
            for r in 0..rows {
                let sc = &mut s.scores[r * KV_TILE..(r + 1) * KV_TILE];
                let vis = seen(r);
                let (lo, hi) = (vis.start.max(c0), vis.end.min(c0 + KV_TILE));
                if lo >= hi {
                    // Nothing seen in this tile: ggml zeroes the row, adding nothing to P·V.
                    sc.fill(0.0);
                    continue;
                }
                for (j, x) in sc.iter_mut().enumerate() {
                    *x = if (lo..hi).contains(&(c0 + j)) {
                        *x * tile.scale
                    } else {
                        f32::NEG_INFINITY
                    };
                }
                let tile_max = sc.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let (m_old, m_new) = (s.max[r], s.max[r].max(tile_max));
                if m_new > m_old {
                    let ms = (m_old - m_new).exp();
                    for a in &mut s.acc[r * hv..(r + 1) * hv] {
                        *a *= ms;
                    }
                    s.sum[r] *= ms;
                }
                s.max[r] = m_new;
                let sum = exp_sum_fast(sc, m_new, KV_TILE);
                s.sum[r] = (s.sum[r] as f64 + sum) as f32;
            }
            s.v.fill(0.0);
            for j in c0.max(first)..c1 {
                let at = (j - c0) * hv;
                (kv.v_kernels.dequantize)(v.row(j), &mut s.v[at..at + hv]);
            }
            gemm_acc(&mut s.acc, &s.scores, &s.v, rows, KV_TILE, hv);
            c0 += KV_TILE;
        }
        flash_finish(&s.acc, &s.sum, out, hv);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::quantize_rows;
    use crate::model::ggml_math::exp_sum;
    use crate::model::test_rng::Rng;

    /// ggml's tiled kernel for one query row, transcribed loop for loop (scalar): every KV tile
    /// of the padded row `0..row_len`, the mask added, tiles with nothing seen skipped.
    fn ggml_tiled_row(
        kv: &KvCache,
        layer: usize,
        kv_head: usize,
        q: &[f32],
        seen: std::ops::Range<usize>,
        scale: f32,
        row_len: usize,
    ) -> Vec<f32> {
        let (k, v) = (kv.k_rows(layer, kv_head), kv.v_rows(layer, kv_head));
        let (hd, hv) = (q.len(), kv.v_row_bytes / 2);
        let (mut m, mut s) = (f32::NEG_INFINITY, 0f32);
        let mut acc = vec![0f32; hv];
        let (mut kr, mut vr) = (vec![0f32; hd], vec![0f32; hv]);
        for ic in (0..row_len).step_by(KV_TILE) {
            let mut kq = [0f32; KV_TILE];
            for (tk, x) in kq.iter_mut().enumerate() {
                (kv.k_kernels.dequantize)(k.row(ic + tk), &mut kr);
                let mut dot = 0f32;
                for d in 0..hd {
                    dot = q[d].mul_add(kr[d], dot);
                }
                let mask = if seen.contains(&(ic + tk)) {
                    0.0
                } else {
                    f32::NEG_INFINITY
                };
                *x = dot * scale + mask;
            }
            let tile_max = kq
                .iter()
                .fold(f32::NEG_INFINITY, |a, &b| if a > b { a } else { b });
            if tile_max == f32::NEG_INFINITY {
                continue;
            }
            let m_new = m.max(tile_max);
            if m_new > m {
                let ms = (m - m_new).exp();
                acc.iter_mut().for_each(|a| *a *= ms);
                s *= ms;
            }
            m = m_new;
            s = (s as f64 + exp_sum(&mut kq, m_new, KV_TILE)) as f32;
            for (tk, &p) in kq.iter().enumerate() {
                (kv.v_kernels.dequantize)(v.row(ic + tk), &mut vr);
                for (a, &x) in acc.iter_mut().zip(&vr) {
                    *a = p.mul_add(x, *a);
                }
            }
        }
        let inv = if s == 0.0 { 0.0 } else { 1.0 / s };
        acc.iter().map(|a| a * inv).collect()
    }

    #[test]
    fn tiles_match_ggml_tiled_flash_attention_bit_for_bit() {
        let mut rng = Rng::new(23);
        for case in 0..40 {
            let (hd, hv) = [(64, 64), (128, 128), (256, 256), (80, 48)][case % 4];
            let group = 1 + case % 4;
            let window = [usize::MAX, 1 + rng.below(200), 512][case % 3];
            let nkv = 2;
            let (pos0, t_n) = (rng.below(400), 64 + rng.below(100));
            let n_ctx = (pos0 + t_n).div_ceil(256) * 256;
            let mut kv =
                KvCache::new(GgmlType::F16, GgmlType::F16, n_ctx, hd, hv, &[true], &[nkv]).unwrap();
            for pos in 0..pos0 + t_n {
                let k: Vec<f32> = (0..nkv * hd).map(|_| rng.normal()).collect();
                let v: Vec<f32> = (0..nkv * hv).map(|_| rng.normal()).collect();
                kv.store(0, pos, &k, &v);
            }
            let nh = nkv * group;
            let q: Vec<f32> = (0..t_n * nh * hd).map(|_| rng.normal() * 0.7).collect();
            let mut qq = Vec::new();
            let qrb = quantize_rows(kv.k_kernels.dot_type, &q, hd, &mut qq).unwrap();
            let scale = 0.05 + rng.uniform() * 0.2;
            let kv_head = rng.below(nkv);
            let start = rng.below(t_n);
            let tokens = start..start + 1 + rng.below((t_n - start).min(40));
            let row_len = (pos0 + t_n).div_ceil(256) * 256;
            let tile = TokenTile {
                layer: 0,
                kv_head,
                q: &qq,
                q_row_bytes: qrb,
                n_head: nh,
                group,
                tokens: tokens.clone(),
                n_kv0: pos0 + 1,
                window,
                head_dim_k: hd,
                scale,
                row_len,
            };
            let mut got = vec![f32::NAN; tokens.len() * group * hv];
            flash_gemm_tile(&kv, &tile, &q, &mut got);
            for (i, t) in tokens.clone().enumerate() {
                for hl in 0..group {
                    let h = kv_head * group + hl;
                    let qr = &q[(t * nh + h) * hd..(t * nh + h + 1) * hd];
                    let want = ggml_tiled_row(&kv, 0, kv_head, qr, tile.visible(t), scale, row_len);
                    let r = i * group + hl;
                    let g = &got[r * hv..(r + 1) * hv];
                    for (c, (a, b)) in want.iter().zip(g).enumerate() {
                        assert_eq!(
                            a.to_bits(),
                            b.to_bits(),
                            "case {case} hd {hd} hv {hv} group {group} window {window} pos0 {pos0} \
                             token {t} head {h} element {c}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    /// Independent of ggml's formulation: the exact softmax attention in f64.
    #[test]
    fn tiles_agree_with_exact_attention() {
        let mut rng = Rng::new(3);
        let (hd, hv, nkv, group, pos0, t_n) = (64, 64, 1, 2, 300, 70);
        let n_ctx = 512;
        let mut kv =
            KvCache::new(GgmlType::F16, GgmlType::F16, n_ctx, hd, hv, &[true], &[nkv]).unwrap();
        for pos in 0..pos0 + t_n {
            let k: Vec<f32> = (0..hd).map(|_| rng.normal()).collect();
            let v: Vec<f32> = (0..hv).map(|_| rng.normal()).collect();
            kv.store(0, pos, &k, &v);
        }
        let nh = nkv * group;
        let q: Vec<f32> = (0..t_n * nh * hd).map(|_| rng.normal()).collect();
        let scale = 1.0 / (hd as f32).sqrt();
        let tile = TokenTile {
            layer: 0,
            kv_head: 0,
            q: &[],
            q_row_bytes: 1,
            n_head: nh,
            group,
            tokens: 0..t_n,
            n_kv0: pos0 + 1,
            window: usize::MAX,
            head_dim_k: hd,
            scale,
            row_len: 512,
        };
        let mut got = vec![0f32; t_n * group * hv];
        flash_gemm_tile(&kv, &tile, &q, &mut got);
        let (mut kr, mut vr) = (vec![0f32; hd], vec![0f32; hv]);
        for t in [0, 31, t_n - 1] {
            for h in 0..group {
                let qr = &q[(t * nh + h) * hd..(t * nh + h + 1) * hd];
                let n = pos0 + 1 + t;
                let mut sc = Vec::with_capacity(n);
                for j in 0..n {
                    (kv.k_kernels.dequantize)(kv.k_rows(0, 0).row(j), &mut kr);
                    sc.push(
                        qr.iter()
                            .zip(&kr)
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum::<f64>()
                            * scale as f64,
                    );
                }
                let mx = sc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = sc.iter().map(|s| (s - mx).exp()).collect();
                let total: f64 = w.iter().sum();
                let mut want = vec![0f64; hv];
                for (j, &wj) in w.iter().enumerate() {
                    (kv.v_kernels.dequantize)(kv.v_rows(0, 0).row(j), &mut vr);
                    for (o, &x) in want.iter_mut().zip(&vr) {
                        *o += wj / total * x as f64;
                    }
                }
                let g = &got[(t * group + h) * hv..(t * group + h + 1) * hv];
                for (a, &b) in want.iter().zip(g) {
                    assert!(
                        (a - b as f64).abs() < 1e-5,
                        "token {t} head {h}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
