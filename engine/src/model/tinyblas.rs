//! The accumulation order of llama.cpp's x86 F16 matrix products (llamafile's tinyBLAS on
//! AVX-512, used for K·q and P·V when the row length is a multiple of 16): one 16-lane f32
//! accumulator fed by fused multiply-adds, element `i` into lane `i % 16`, then a halving tree
//! (`_mm512_reduce_add_ps`). Matching it bit for bit keeps attention from flipping f16 roundings
//! of probabilities, which a real model (Gemma 3) amplifies into logit differences above 1.

//!
//! The scalar code here is the reference; `tinyblas_avx2` (AVX2/FMA/F16C) and `tinyblas_avx512`
//! (the same with AVX-512F, for scores and P·V) hold bit-identical versions, chosen at run time by
//! the dispatching functions (`scores_f16`, `pv_f16`, `round_f16`).

use crate::cache::HeadRows;
use half::f16;
use std::ops::Range;

pub const LANES: usize = 16;

#[inline]
fn half_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f32()
}

/// Sum of the lanes as `_mm512_reduce_add_ps`: lane i += lane i + h, halving h.
#[inline]
pub fn reduce_lanes(mut lanes: [f32; LANES]) -> f32 {
    let mut h = LANES / 2;
    while h > 0 {
        for i in 0..h {
            lanes[i] += lanes[i + h];
        }
        h /= 2;
    }
    lanes[0]
}

/// Dot product of two F16 rows of `n` elements (`n % 16 == 0`) in tinyBLAS order.
pub fn dot_f16(n: usize, a: &[u8], b: &[u8]) -> f32 {
    let mut acc = [0f32; LANES];
    for i in 0..n {
        let l = i % LANES;
        acc[l] = half_at(a, i).mul_add(half_at(b, i), acc[l]);
    }
    reduce_lanes(acc)
}

/// `dot_f16` with the second row already widened to f32 (exact, so the result is the same).
pub fn dot_f16_f32(n: usize, a: &[u8], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    for (i, &bi) in b.iter().enumerate().take(n) {
        let l = i % LANES;
        acc[l] = half_at(a, i).mul_add(bi, acc[l]);
    }
    reduce_lanes(acc)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn simd() -> bool {
    super::tinyblas_avx2::available()
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn simd() -> bool {
    false
}

/// Attention scores of the heads in `q` (rows of `hd` f32) against K rows `rows`:
/// `p[h * p_stride + (j - rows.start)] = dot_f16(K_j, q_h) * scale`.
pub fn scores_f16(
    k: HeadRows,
    rows: Range<usize>,
    q: &[f32],
    hd: usize,
    scale: f32,
    p: &mut [f32],
    p_stride: usize,
) {
    let g = q.len() / hd;
    let len = rows.len();
    assert!(k.holds(rows.end) && k.row_bytes >= 2 * hd && hd % LANES == 0);
    assert!(g == 0 || len == 0 || (g - 1) * p_stride + len <= p.len());
    #[cfg(target_arch = "x86_64")]
    if simd() {
        if super::tinyblas_avx512::available() {
            // SAFETY: AVX-512F, AVX2, FMA and F16C were detected; the bounds were checked above.
            return unsafe {
                super::tinyblas_avx512::scores_f16(k, rows, q, hd, scale, p, p_stride)
            };
        }
        // SAFETY: AVX2, FMA and F16C were detected; the bounds were checked above.
        return unsafe { super::tinyblas_avx2::scores_f16(k, rows, q, hd, scale, p, p_stride) };
    }
    scores_f16_scalar(k, rows, q, hd, scale, p, p_stride)
}

pub fn scores_f16_scalar(
    k: HeadRows,
    rows: Range<usize>,
    q: &[f32],
    hd: usize,
    scale: f32,
    p: &mut [f32],
    p_stride: usize,
) {
    let start = rows.start;
    for j in rows {
        let kj = k.row(j);
        for (h, qh) in q.chunks_exact(hd).enumerate() {
            p[h * p_stride + j - start] = dot_f16_f32(hd, kj, qh) * scale;
        }
    }
}

/// `out[h * hv..][..hv] = Σ_j p[h * p_stride + (j - rows.start)] · V_j` for each head h of `out`,
/// in tinyBLAS order (row j into lane `j % 16`, then the halving tree).
pub fn pv_f16(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
) {
    check_pv_bounds(v, &rows, p, p_stride, out, hv);
    #[cfg(target_arch = "x86_64")]
    if simd() {
        if super::tinyblas_avx512::available() {
            // SAFETY: AVX-512F, AVX2, FMA and F16C were detected; the bounds were checked above.
            return unsafe { super::tinyblas_avx512::pv_f16(v, rows, p, p_stride, out, hv) };
        }
        // SAFETY: AVX2, FMA and F16C were detected; the bounds were checked above.
        return unsafe { super::tinyblas_avx2::pv_f16(v, rows, p, p_stride, out, hv) };
    }
    pv_f16_scalar(v, rows, p, p_stride, out, hv)
}

/// What the P·V kernels rely on: every V row of `rows` and every head's probabilities exist.
fn check_pv_bounds(
    v: HeadRows,
    rows: &Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &[f32],
    hv: usize,
) {
    let g = out.len() / hv;
    let len = rows.len();
    assert!(v.holds(rows.end) && v.row_bytes >= 2 * hv);
    assert!(g == 0 || len == 0 || (g - 1) * p_stride + len <= p.len());
}

/// [`pv_f16`] for many heads (a tile of query tokens) at once: the rows are walked in chunks of
/// `chunk` with every head accumulated per chunk, so each chunk of V is read
/// from memory once for all the heads instead of once per group of four. Same bits as
/// [`pv_f16`] (each lane still sees its rows in increasing order); without AVX-512 it is
/// [`pv_f16`].
pub fn pv_f16_chunked(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
    chunk: usize,
) {
    check_pv_bounds(v, &rows, p, p_stride, out, hv);
    #[cfg(target_arch = "x86_64")]
    if simd() && super::tinyblas_avx512::available() {
        // SAFETY: AVX-512F, AVX2, FMA and F16C were detected; the bounds were checked above.
        return unsafe {
            super::tinyblas_avx512::pv_f16_chunked(v, rows, p, p_stride, out, hv, chunk)
        };
    }
    pv_f16(v, rows, p, p_stride, out, hv)
}

pub fn pv_f16_scalar(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
) {
    for (h, o) in out.chunks_exact_mut(hv).enumerate() {
        let mut acc = LaneAcc::new(hv);
        for j in rows.clone() {
            acc.add_f16_row(j, p[h * p_stride + j - rows.start], v.row(j));
        }
        acc.finish(o);
    }
}

/// Rounds every value to the nearest f16 (ties to even), kept as f32.
pub fn round_f16(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if simd() {
        // SAFETY: AVX2 and F16C were detected.
        return unsafe { super::tinyblas_avx2::round_f16(x) };
    }
    round_f16_scalar(x)
}

pub fn round_f16_scalar(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = f16::from_f32(*v).to_f32();
    }
}

/// Per output column, 16 lane accumulators of `p_j * v_j` (row j into lane `j % 16`).
pub struct LaneAcc {
    dim: usize,
    acc: Vec<f32>,
}

impl LaneAcc {
    pub fn new(dim: usize) -> LaneAcc {
        LaneAcc {
            dim,
            acc: vec![0f32; dim * LANES],
        }
    }

    /// Adds `p * v` for row `j` (v: F16 bytes of `dim` elements).
    pub fn add_f16_row(&mut self, j: usize, p: f32, v: &[u8]) {
        let l = j % LANES;
        for d in 0..self.dim {
            let a = &mut self.acc[d * LANES + l];
            *a = p.mul_add(half_at(v, d), *a);
        }
    }

    pub fn finish(&self, out: &mut [f32]) {
        for (d, o) in out.iter_mut().enumerate().take(self.dim) {
            let mut lanes = [0f32; LANES];
            lanes.copy_from_slice(&self.acc[d * LANES..(d + 1) * LANES]);
            *o = reduce_lanes(lanes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter()
            .flat_map(|&x| f16::from_f32(x).to_bits().to_le_bytes())
            .collect()
    }

    #[test]
    fn dot_and_lane_accumulator_agree_with_plain_sums() {
        let a: Vec<f32> = (0..32).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..32).map(|i| 1.0 - i as f32 * 0.25).collect();
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_f16(32, &bytes(&a), &bytes(&b)) - exact).abs() < 1e-3);
        let mut acc = LaneAcc::new(2);
        for j in 0..20 {
            acc.add_f16_row(j, 0.5, &bytes(&[1.0, j as f32]));
        }
        let mut out = [0f32; 2];
        acc.finish(&mut out);
        assert_eq!(out, [10.0, 95.0]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernels_match_the_scalar_reference_bit_for_bit() {
        use crate::model::test_rng::Rng;
        use crate::model::tinyblas_avx2 as avx2;
        use crate::model::tinyblas_avx512 as avx512;
        if !avx2::available() {
            println!("skipped: no AVX2/FMA/F16C");
            return;
        }
        let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        let mut rng = Rng::new(3);
        for case in 0..120 {
            let n = LANES * (1 + rng.below(20));
            let a: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..n).map(|_| rng.normal() * 4.0).collect();
            let (ab, bb) = (bytes(&a), bytes(&b));
            let want = dot_f16(n, &ab, &bb);
            // SAFETY: AVX2, FMA and F16C are available.
            let got = unsafe { avx2::dot_f16(n, &ab, &bb) };
            assert_eq!(want.to_bits(), got.to_bits(), "dot n={n}");
            let bf: Vec<f32> = bb
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect();
            assert_eq!(dot_f16_f32(n, &ab, &bf).to_bits(), want.to_bits());

            // A cache of `n_rows` rows of `heads` KV heads, rows of `dim` halves.
            let heads = 1 + case % 3;
            let g = 1 + rng.below(9);
            let dim = if case % 2 == 0 {
                n
            } else {
                8 * (1 + rng.below(40)) + case % 8
            };
            let n_rows = 1 + rng.below(300);
            let data: Vec<f32> = (0..n_rows * heads * dim).map(|_| rng.normal()).collect();
            let cache = bytes(&data);
            let head = rng.below(heads);
            let rows = HeadRows {
                bytes: &cache[head * 2 * dim..],
                stride: heads * 2 * dim,
                row_bytes: 2 * dim,
            };
            let start = rng.below(n_rows);
            let range = start..n_rows;
            let stride = range.len() + rng.below(5);
            if dim % LANES == 0 {
                let q: Vec<f32> = (0..g * dim)
                    .map(|_| f16::from_f32(rng.normal()).to_f32())
                    .collect();
                let scale = rng.uniform();
                let (mut want, mut got) = (vec![0f32; g * stride], vec![0f32; g * stride]);
                scores_f16_scalar(rows, range.clone(), &q, dim, scale, &mut want, stride);
                // SAFETY: as above; bounds as `scores_f16` checks them.
                unsafe { avx2::scores_f16(rows, range.clone(), &q, dim, scale, &mut got, stride) };
                assert!(same(&want, &got), "scores dim={dim} g={g} rows={range:?}");
                if avx512::available() {
                    let mut got = vec![0f32; g * stride];
                    // SAFETY: AVX-512F and the rest are available; bounds as above.
                    unsafe {
                        avx512::scores_f16(rows, range.clone(), &q, dim, scale, &mut got, stride)
                    };
                    assert!(
                        same(&want, &got),
                        "avx512 scores dim={dim} g={g} rows={range:?}"
                    );
                }
            }
            let mut p: Vec<f32> = (0..g * stride).map(|_| rng.uniform()).collect();
            let mut p2 = p.clone();
            round_f16_scalar(&mut p);
            // SAFETY: AVX2 and F16C are available.
            unsafe { avx2::round_f16(&mut p2) };
            assert!(same(&p, &p2), "round");
            let (mut want, mut got) = (vec![0f32; g * dim], vec![1f32; g * dim]);
            pv_f16_scalar(rows, range.clone(), &p, stride, &mut want, dim);
            // SAFETY: as above.
            unsafe { avx2::pv_f16(rows, range.clone(), &p, stride, &mut got, dim) };
            assert!(same(&want, &got), "pv dim={dim} g={g} rows={range:?}");
            if avx512::available() {
                let mut got = vec![1f32; g * dim];
                // SAFETY: as above.
                unsafe { avx512::pv_f16(rows, range.clone(), &p, stride, &mut got, dim) };
                assert!(
                    same(&want, &got),
                    "avx512 pv dim={dim} g={g} rows={range:?}"
                );
            }
            // The chunked walk (all heads per chunk of rows) gives the same bits.
            let chunk = LANES * (1 + rng.below(6));
            let mut got = vec![1f32; g * dim];
            pv_f16_chunked(rows, range.clone(), &p, stride, &mut got, dim, chunk);
            assert!(
                same(&want, &got),
                "chunked pv dim={dim} g={g} rows={range:?} chunk={chunk}"
            );
        }
    }
}
