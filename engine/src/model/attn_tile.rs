//! Prompt attention for a tile of consecutive query tokens against one KV head, bit for bit what
//! [`super::attn_head`] gives for each token on its own: the softmax-then-V form for an F16
//! cache ([`softmax_tile`]) and ggml's flash-attention form for any cache ([`flash_tile`]).
//!
//! Why tiles: token by token, every query token of a prompt streams its KV head's whole K and V
//! (16 MiB each at 32K positions and 256 dimensions), so a deep prompt ran at DRAM speed: 0.6× of
//! llama.cpp's prompt speed at 32K on Gemma 3. Here the tile's tokens share one walk: K and V go
//! in chunks that stay in L2 while every head of every token of the tile uses them.
//!
//! Why the same bits: each score is the same dot product; each token's softmax runs on exactly
//! its own row (the same slice, the same masked length); and in P·V the rows a token does not see
//! carry probability 0, which adds exactly nothing to a lane (lanes are fixed by the absolute row
//! index, and start at +0).

use super::attn_head::{first_visible, flash_finish, flash_step, reset, with_scratch};
use super::attn_vec::softmax_row;
use super::tinyblas;
use crate::cache::KvCache;
use crate::gguf::GgmlType;
use std::ops::Range;

/// Rows of K or V walked per chunk: 256 rows of 256 halves is 128 KiB, well inside L2.
const CHUNK_BYTES: usize = 128 << 10;
/// Probability matrix kept per tile (heads × visible rows × f32) while it can stay in cache.
const P_BUDGET_BYTES: usize = 4 << 20;
/// Deeper, where even a one-token tile's matrix leaves the cache, tiles of up to
/// [`DEEP_TILE_TOKENS`] share this much across all threads: at one token per tile each token
/// streamed its KV head's whole K and V (128 MiB at 128K positions of 256 dimensions) and the
/// Qwen3.5-35B-A3B slice's pp512 at 128K was 0.69× llama.cpp's; eight tokens per tile cut the
/// attention time per token by 1.7× there (`time_softmax_tiles_at_depth`).
const P_DEEP_BUDGET_BYTES: usize = 64 << 20;
const DEEP_TILE_TOKENS: usize = 8;
/// At most this many query heads per tile (their P·V lane accumulators are 64 B per column).
const MAX_TILE_HEADS: usize = 64;

/// Consecutive query tokens of a prompt, each with the query heads of one KV head.
pub struct TokenTile<'a> {
    pub layer: usize,
    pub kv_head: usize,
    /// q of every head of every token of the batch, in the K cache's dot type (F16):
    /// row `t * n_head + h`, `q_row_bytes` each.
    pub q: &'a [u8],
    pub q_row_bytes: usize,
    pub n_head: usize,
    /// Query heads per KV head; the tile's heads are `kv_head * group ..` of each token.
    pub group: usize,
    /// The tile's tokens, as indices into the batch.
    pub tokens: Range<usize>,
    /// Positions visible to the batch's first token: `0..n_kv0` (later tokens see one more each).
    pub n_kv0: usize,
    /// Sliding window (positions), or `usize::MAX`.
    pub window: usize,
    pub head_dim_k: usize,
    pub scale: f32,
    /// Length of llama.cpp's (masked) score row, which decides its SIMD split.
    pub row_len: usize,
}

impl TokenTile<'_> {
    /// Positions token `t` of the batch sees.
    pub(super) fn visible(&self, t: usize) -> Range<usize> {
        let n_kv = self.n_kv0 + t;
        first_visible(n_kv, self.window)..n_kv
    }
}

/// Whether [`softmax_tile`] handles this cache and these lengths (else use `softmax_group`).
pub fn tile_applies(kv: &KvCache, head_dim_k: usize, row_len: usize) -> bool {
    kv.k_kernels.ggml_type == GgmlType::F16
        && kv.v_kernels.ggml_type == GgmlType::F16
        && head_dim_k.is_multiple_of(tinyblas::LANES)
        && row_len.is_multiple_of(tinyblas::LANES)
}

/// Tokens per tile for a batch run on `threads` threads: as many as keep the probabilities
/// within budget at the deepest token (`max_visible` rows) and the heads within
/// [`MAX_TILE_HEADS`], at least one.
pub fn tile_tokens(group: usize, max_visible: usize, threads: usize) -> usize {
    let per_token = group.max(1) * (max_visible + 16) * 4;
    let in_cache = P_BUDGET_BYTES / per_token;
    let deep = (P_DEEP_BUDGET_BYTES / threads.max(1) / per_token).min(DEEP_TILE_TOKENS);
    in_cache.max(deep).min(MAX_TILE_HEADS / group.max(1)).max(1)
}

/// `out`: for each token of the tile, one row of `head_dim_v` per head of the group.
pub fn softmax_tile(kv: &KvCache, tile: &TokenTile, out: &mut [f32]) {
    let (g, n_t) = (tile.group, tile.tokens.len());
    let heads = g * n_t;
    if heads == 0 {
        return;
    }
    let (hd, hv) = (tile.head_dim_k, out.len() / heads);
    let first = tile.visible(tile.tokens.start).start;
    let end = tile.visible(tile.tokens.end - 1).end;
    let base = first / 16 * 16;
    let width = end - base;
    let (k, v) = (
        kv.k_rows(tile.layer, tile.kv_head),
        kv.v_rows(tile.layer, tile.kv_head),
    );
    let chunk_rows = |row_bytes: usize| (CHUNK_BYTES / row_bytes.max(1) / 16).max(1) * 16;
    with_scratch(|s| {
        reset(&mut s.q, heads * hd, 0.0);
        for (i, q) in s.q.chunks_exact_mut(hd).enumerate() {
            let (t, h) = (tile.tokens.start + i / g, tile.kv_head * g + i % g);
            let row = (t * tile.n_head + h) * tile.q_row_bytes;
            // F16 → F32 is exact.
            (kv.k_kernels.dequantize)(&tile.q[row..row + tile.q_row_bytes], q);
        }
        reset(&mut s.p, heads * width, f32::NEG_INFINITY);
        let chunk = chunk_rows(k.row_bytes);
        let mut c0 = first;
        while c0 < end {
            let c1 = (c0 + chunk - c0 % chunk).min(end);
            let p = &mut s.p[c0 - base..];
            tinyblas::scores_f16(k, c0..c1, &s.q, hd, tile.scale, p, width);
            c0 = c1;
        }
        for (i, row) in s.p.chunks_exact_mut(width).enumerate() {
            let seen = tile.visible(tile.tokens.start + i / g);
            // The token's own row as `softmax_group` lays it out: from its 16-aligned start,
            // masked before `seen.start`.
            let own = seen.start / 16 * 16;
            let (before, rest) = row.split_at_mut(own - base);
            let (mine, after) = rest.split_at_mut(seen.end - own);
            mine[..seen.start - own].fill(f32::NEG_INFINITY);
            softmax_row(mine, tile.row_len - own);
            before.fill(0.0);
            after.fill(0.0);
        }
        tinyblas::round_f16(&mut s.p);
        let p = &s.p[first - base..];
        tinyblas::pv_f16_chunked(v, first..end, p, width, out, hv, chunk_rows(v.row_bytes));
    })
}

/// Tokens per tile of [`flash_tile`]: its state is one accumulator row per head, so only the
/// head count bounds it.
pub fn flash_tile_tokens(group: usize) -> usize {
    (MAX_TILE_HEADS / group.max(1)).max(1)
}

/// ggml's flash-attention formulation ([`super::attn_head::flash_group`]) for a tile of tokens, any
/// cache type: each K/V row is read (and V dequantized) once for every head of every token of the
/// tile that sees it. Each (token, head) still takes its rows in increasing order through the
/// same update, so the result is the token-by-token one bit for bit.
pub fn flash_tile(kv: &KvCache, tile: &TokenTile, out: &mut [f32]) {
    let (g, n_t) = (tile.group, tile.tokens.len());
    let heads = g * n_t;
    if heads == 0 {
        return;
    }
    let (hd, hv) = (tile.head_dim_k, out.len() / heads);
    let f16_v = kv.v_kernels.ggml_type == GgmlType::F16;
    let first = tile.visible(tile.tokens.start).start;
    let end = tile.visible(tile.tokens.end - 1).end;
    let (k, v) = (
        kv.k_rows(tile.layer, tile.kv_head),
        kv.v_rows(tile.layer, tile.kv_head),
    );
    let q_row = |i: usize| {
        let (t, h) = (tile.tokens.start + i / g, tile.kv_head * g + i % g);
        let at = (t * tile.n_head + h) * tile.q_row_bytes;
        &tile.q[at..at + tile.q_row_bytes]
    };
    with_scratch(|s| {
        reset(&mut s.acc, heads * hv, 0.0);
        reset(&mut s.vrow, hv, 0.0);
        // Per head: running sum of exponentials, then running maximum.
        reset(&mut s.p, 2 * heads, 0.0);
        let (sums, maxes) = s.p.split_at_mut(heads);
        maxes.fill(f32::NEG_INFINITY);
        for j in first..end {
            let kj = k.row(j);
            (kv.v_kernels.dequantize)(v.row(j), &mut s.vrow);
            for (t, token) in tile.tokens.clone().enumerate() {
                if !tile.visible(token).contains(&j) {
                    continue;
                }
                for i in t * g..(t + 1) * g {
                    let sc = (kv.k_kernels.vec_dot)(hd, kj, q_row(i)) * tile.scale;
                    let acc = &mut s.acc[i * hv..(i + 1) * hv];
                    flash_step(acc, &mut sums[i], &mut maxes[i], sc, &s.vrow, f16_v);
                }
            }
        }
        flash_finish(&s.acc, sums, out, hv);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::quantize_rows;
    use crate::model::attn_head::{flash_group, softmax_group, HeadGroup};
    use crate::model::test_rng::Rng;

    /// Every token of a tile against `softmax_group` for that token alone, bit for bit.
    fn check(rng: &mut Rng, case: &Case) {
        let Case {
            ty,
            hd,
            hv,
            group,
            window,
            flash,
        } = *case;
        let (nkv, pos0, t_n) = (2, rng.below(700), 1 + rng.below(40));
        let n_ctx = pos0 + t_n;
        let mut kv = KvCache::new(ty, ty, n_ctx, hd, hv, &[false, true], &[0, nkv]).unwrap();
        for pos in 0..n_ctx {
            let k: Vec<f32> = (0..nkv * hd).map(|_| rng.normal()).collect();
            let v: Vec<f32> = (0..nkv * hv).map(|_| rng.normal()).collect();
            kv.store(1, pos, &k, &v);
        }
        let nh = nkv * group;
        let q: Vec<f32> = (0..t_n * nh * hd).map(|_| rng.normal() * 0.5).collect();
        let mut qq = Vec::new();
        let qrb = quantize_rows(kv.k_kernels.dot_type, &q, hd, &mut qq).unwrap();
        let (scale, row_len) = (0.2 + rng.uniform(), n_ctx.div_ceil(256) * 256);
        let kv_head = rng.below(nkv);
        let start = rng.below(t_n);
        let tokens = start..start + 1 + rng.below(t_n - start);
        let tile = TokenTile {
            layer: 1,
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
        if flash {
            flash_tile(&kv, &tile, &mut got);
        } else {
            softmax_tile(&kv, &tile, &mut got);
        }
        for (i, t) in tokens.clone().enumerate() {
            let n_kv = pos0 + 1 + t;
            let q0 = t * nh + kv_head * group;
            let hg = HeadGroup {
                layer: 1,
                kv_head,
                q: &qq[q0 * qrb..(q0 + group) * qrb],
                q_row_bytes: qrb,
                head_dim_k: hd,
                scale,
                first: (n_kv - 1).saturating_sub(window.saturating_sub(1)),
                n_kv,
                row_len,
            };
            let mut want = vec![0f32; group * hv];
            if flash {
                flash_group(&kv, &hg, &mut want);
            } else {
                softmax_group(&kv, &hg, &mut want);
            }
            let g = &got[i * group * hv..(i + 1) * group * hv];
            for (c, (a, b)) in want.iter().zip(g).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{ty} flash {flash} hd {hd} hv {hv} group {group} window {window} pos0 {pos0} \
                     tokens {tokens:?} token {t} element {c}: {a} vs {b}"
                );
            }
        }
    }

    #[derive(Clone, Copy)]
    struct Case {
        ty: GgmlType,
        hd: usize,
        hv: usize,
        group: usize,
        window: usize,
        flash: bool,
    }

    #[test]
    fn tiles_match_token_by_token_attention_bit_for_bit() {
        let mut rng = Rng::new(11);
        for case in 0..60 {
            let window = [usize::MAX, 1 + rng.below(300), 512][case % 3];
            let c = Case {
                ty: GgmlType::F16,
                hd: [16, 64, 128][case % 3],
                hv: [16, 64, 40, 128][case % 4],
                group: 1 + case % 4,
                window,
                flash: false,
            };
            check(&mut rng, &c);
            // Flash attention, also on quantized caches (it takes any type).
            let ty = [GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0][case % 3];
            let (hd, hv) = if ty == GgmlType::F16 {
                (c.hd, c.hv)
            } else {
                (64 * (1 + case % 2), 64)
            };
            check(
                &mut rng,
                &Case {
                    ty,
                    hd,
                    hv,
                    flash: true,
                    ..c
                },
            );
        }
    }

    /// Prompt attention time per token at depth by tokens per tile (one KV head of 256 with 8
    /// query heads, as Qwen3.5-35B-A3B's; one thread). `N_KV=131072 cargo test --release -p
    /// fitbench-engine --lib time_softmax_tiles -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, not a check"]
    fn time_softmax_tiles_at_depth() {
        let depth: usize = std::env::var("N_KV")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(32768);
        let (hd, group, t_n) = (256, 8, 32);
        let mut rng = Rng::new(5);
        let n_ctx = depth + t_n;
        let mut kv =
            KvCache::new(GgmlType::F16, GgmlType::F16, n_ctx, hd, hd, &[true], &[1]).unwrap();
        for pos in 0..n_ctx {
            let k: Vec<f32> = (0..hd).map(|_| rng.normal()).collect();
            kv.store(0, pos, &k, &k);
        }
        let q: Vec<f32> = (0..t_n * group * hd).map(|_| rng.normal() * 0.5).collect();
        let mut qq = Vec::new();
        let qrb = quantize_rows(kv.k_kernels.dot_type, &q, hd, &mut qq).unwrap();
        println!(
            "tile_tokens at this depth, 2 threads: {}",
            tile_tokens(group, n_ctx, 2)
        );
        for per_tile in [1, 2, 4, 8] {
            let t0 = std::time::Instant::now();
            for start in (0..t_n).step_by(per_tile) {
                let tokens = start..(start + per_tile).min(t_n);
                let tile = TokenTile {
                    layer: 0,
                    kv_head: 0,
                    q: &qq,
                    q_row_bytes: qrb,
                    n_head: group,
                    group,
                    tokens: tokens.clone(),
                    n_kv0: depth + 1,
                    window: usize::MAX,
                    head_dim_k: hd,
                    scale: 0.0625,
                    row_len: n_ctx.div_ceil(256) * 256,
                };
                let mut out = vec![0f32; tokens.len() * group * hd];
                softmax_tile(&kv, &tile, &mut out);
                std::hint::black_box(&out);
            }
            let per_token = t0.elapsed().as_secs_f64() / t_n as f64;
            println!(
                "depth {depth}, {per_tile} tokens per tile: {:.2} ms per token",
                per_token * 1e3
            );
        }
    }

    #[test]
    fn tiles_shrink_with_depth_and_stay_nonempty() {
        // Shallow: the head cap.
        assert_eq!(tile_tokens(4, 512, 2), 16);
        // Within the in-cache budget where it allows more than eight tokens...
        assert_eq!(tile_tokens(1, 32768, 2), 31);
        assert!(tile_tokens(1, 32768, 2) * 32784 * 4 <= P_BUDGET_BYTES);
        // ...else up to eight from the shared deep budget (the 35B-A3B slice at 32K and 128K),
        assert_eq!(tile_tokens(8, 32768, 2), 8);
        assert_eq!(tile_tokens(8, 131072, 2), 7);
        assert!(2 * tile_tokens(8, 131072, 2) * 8 * 131088 * 4 <= P_DEEP_BUDGET_BYTES);
        // fewer with more threads sharing it,
        assert_eq!(tile_tokens(8, 131072, 32), 1);
        assert_eq!(tile_tokens(8, 1 << 30, 2), 1);
    }
}
