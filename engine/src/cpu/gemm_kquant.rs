//! GEMM tile kernels for the K-quants (Q4_K, Q5_K, Q6_K weights · Q8_K activations), AVX2.
//!
//! Per 256-element block, each of the tile's weight rows is unpacked once (quants to bytes, scales
//! to broadcast i16 vectors) and then dotted with every activation column of the tile. For every
//! (row, column) the integer lanes and the float accumulation are those of the format's `vec_dot`
//! (`quant/q4_k_avx2.rs`, `q5_k_avx2.rs`, `q6_k_avx2.rs`), so results are bit-identical.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS, MAX_ROWS};
use super::gemm_simd::{dot_u8_i8_scaled, f16_at, hsum_f32, hsum_i32, load32, scale_min_k4};
use crate::quant::{q4_k, q5_k, q6_k, q8_k};
use std::arch::x86_64::*;

/// Calls `$kernel::<R>` for the tile's row count (1..=MAX_ROWS, which is 4).
macro_rules! dispatch_rows {
    ($kernel:ident, $w:expr, $wrb:expr, $nr:expr, $a:expr, $arb:expr, $nc:expr, $nb:expr, $sums:expr) => {
        match $nr {
            1 => $kernel::<1>($w, $wrb, $a, $arb, $nc, $nb, $sums),
            2 => $kernel::<2>($w, $wrb, $a, $arb, $nc, $nb, $sums),
            3 => $kernel::<3>($w, $wrb, $a, $arb, $nc, $nb, $sums),
            _ => $kernel::<4>($w, $wrb, $a, $arb, $nc, $nb, $sums),
        }
    };
}
pub(super) use dispatch_rows;

/// Q8_K's sixteen 16-element sums `bsums` as i16 lanes.
#[inline(always)]
unsafe fn bsums(y: &[u8]) -> __m256i {
    load32(y, q8_k::BSUMS)
}

/// (Σ lanes of `a`, Σ lanes of `b`): both horizontal sums in one reduction (exact integers).
#[inline(always)]
unsafe fn hsum_pair_i32(a: __m256i, b: __m256i) -> (i32, i32) {
    let h = _mm256_hadd_epi32(a, b);
    let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    let t = _mm_hadd_epi32(s, s);
    (_mm_cvtsi128_si32(t), _mm_extract_epi32(t, 1))
}

/// One Q4_K or Q5_K block row, unpacked: 32-byte quant vectors per sub-block, scales and mins.
struct KBlock {
    q: [__m256i; 8],
    scale: [__m256i; 8],
    /// Each sub-block's min twice, as i16 lanes matching `bsums` (two 16-sums per sub-block).
    min_dup: __m256i,
    d: f32,
    dmin: f32,
}

#[inline(always)]
unsafe fn scales_and_mins(scales: &[u8]) -> ([__m256i; 8], __m256i) {
    let mut sc = [_mm256_setzero_si256(); 8];
    let mut mn = [0i16; 16];
    for j in 0..8 {
        let (s, m) = scale_min_k4(j, scales);
        sc[j] = _mm256_set1_epi16(s as i16);
        mn[2 * j] = m as i16;
        mn[2 * j + 1] = m as i16;
    }
    (sc, _mm256_loadu_si256(mn.as_ptr() as *const __m256i))
}

#[inline(always)]
unsafe fn unpack_q4_k(x: &[u8]) -> KBlock {
    let m4 = _mm256_set1_epi8(0x0F);
    let (scale, min_dup) = scales_and_mins(&x[4..16]);
    let mut q = [_mm256_setzero_si256(); 8];
    for c in 0..4 {
        let v = load32(x, 16 + 32 * c);
        q[2 * c] = _mm256_and_si256(v, m4);
        q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
    KBlock {
        q,
        scale,
        min_dup,
        d: f16_at(x, 0),
        dmin: f16_at(x, 2),
    }
}

/// Bit `bit` of every byte of `h`, moved to bit 4 (the fifth bit of a Q5 quant).
#[inline(always)]
unsafe fn high_bit(h: __m256i, bit: i32) -> __m256i {
    let isolated = _mm256_and_si256(h, _mm256_set1_epi8(1 << bit));
    let at_zero = _mm256_srl_epi16(isolated, _mm_cvtsi32_si128(bit));
    _mm256_slli_epi16(at_zero, 4)
}

#[inline(always)]
unsafe fn unpack_q5_k(x: &[u8]) -> KBlock {
    let m4 = _mm256_set1_epi8(0x0F);
    let (scale, min_dup) = scales_and_mins(&x[4..16]);
    let hbits = load32(x, 16);
    let mut q = [_mm256_setzero_si256(); 8];
    for c in 0..4 {
        let v = load32(x, 48 + 32 * c);
        let b = 2 * c as i32;
        q[2 * c] = _mm256_add_epi8(_mm256_and_si256(v, m4), high_bit(hbits, b));
        q[2 * c + 1] = _mm256_add_epi8(
            _mm256_and_si256(_mm256_srli_epi16(v, 4), m4),
            high_bit(hbits, b + 1),
        );
    }
    KBlock {
        q,
        scale,
        min_dup,
        d: f16_at(x, 0),
        dmin: f16_at(x, 2),
    }
}

/// Integer lanes of Σ_j scale_j · (q_j · a_j) over the block, and lanes of min_j · asum_j.
#[inline(always)]
unsafe fn k_block_dot(b: &KBlock, a: &[__m256i; 8], bsums: __m256i) -> (__m256i, __m256i) {
    let mut acc = _mm256_setzero_si256();
    for j in 0..8 {
        acc = _mm256_add_epi32(acc, dot_u8_i8_scaled(b.q[j], a[j], b.scale[j]));
    }
    // Lane j: min_j · (bsum(2j) + bsum(2j+1)), exact in i32.
    (acc, _mm256_madd_epi16(bsums, b.min_dup))
}

#[inline(always)]
unsafe fn q8_k_quants(y: &[u8]) -> [__m256i; 8] {
    std::array::from_fn(|j| load32(y, q8_k::QS + 32 * j))
}

/// # Safety
/// See [`super::gemm::TileFn`]; needs AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
pub unsafe fn q4_k(
    w: &[u8],
    wrb: usize,
    nr: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    dispatch_rows!(q4_k_rows, w, wrb, nr, a, arb, nc, nb, sums)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn q4_k_rows<const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q4_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    *sums = [[0.0; MAX_ROWS]; MAX_COLS];
    for ib in 0..nb {
        let blocks: [KBlock; R] =
            std::array::from_fn(|r| unpack_q4_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]));
        for (c, col) in sums.iter_mut().enumerate().take(nc) {
            let y = &a[c * arb + ib * q8_k::TYPE_SIZE..c * arb + (ib + 1) * q8_k::TYPE_SIZE];
            let (dy, qa, bs) = (q8_k::d(y), q8_k_quants(y), bsums(y));
            for (b, s) in blocks.iter().zip(col.iter_mut()) {
                let (acc, min_lanes) = k_block_dot(b, &qa, bs);
                let (sumi, summins) = hsum_pair_i32(acc, min_lanes);
                // The scalar kernel's per-block formula and association.
                *s += b.d * dy * sumi as f32 - b.dmin * dy * summins as f32;
            }
        }
    }
}

/// # Safety
/// See [`super::gemm::TileFn`]; needs AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
pub unsafe fn q5_k(
    w: &[u8],
    wrb: usize,
    nr: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    dispatch_rows!(q5_k_rows, w, wrb, nr, a, arb, nc, nb, sums)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn q5_k_rows<const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q5_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    // Per (column, row): eight f32 lanes as ggml's kernel keeps them, plus the scalar min term.
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    let mut summs = [[0f32; R]; MAX_COLS];
    for ib in 0..nb {
        let blocks: [KBlock; R] =
            std::array::from_fn(|r| unpack_q5_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]));
        for c in 0..nc {
            let y = &a[c * arb + ib * q8_k::TYPE_SIZE..c * arb + (ib + 1) * q8_k::TYPE_SIZE];
            let (dy, qa, bs) = (q8_k::d(y), q8_k_quants(y), bsums(y));
            for (r, b) in blocks.iter().enumerate() {
                let d = dy * b.d;
                let dmin = -dy * b.dmin;
                let (sumi, min_lanes) = k_block_dot(b, &qa, bs);
                let mins = hsum_i32(min_lanes);
                summs[c][r] += dmin * mins as f32;
                lanes[c][r] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), lanes[c][r]);
            }
        }
    }
    for c in 0..nc {
        for r in 0..R {
            sums[c][r] = hsum_f32(lanes[c][r]) + summs[c][r];
        }
    }
}

/// One Q6_K block row, unpacked: eight vectors of 32 unsigned 6-bit quants (element order), the
/// per-vector i16 scales (two 16-element groups each), all 16 scales as i16 and the block scale.
struct Q6Block {
    q: [__m256i; 8],
    scale: [__m256i; 8],
    scales16: __m256i,
    d: f32,
}

#[inline(always)]
unsafe fn unpack_q6_k(x: &[u8]) -> Q6Block {
    const QH: usize = 128;
    const SCALES: usize = 192;
    const D: usize = 208;
    let m4 = _mm256_set1_epi8(0x0F);
    let m2 = _mm256_set1_epi8(0x03);
    let sc = |g: usize| x[SCALES + g] as i8 as i16;
    let mut q = [_mm256_setzero_si256(); 8];
    let mut scale = [_mm256_setzero_si256(); 8];
    for h in 0..2 {
        let ql0 = load32(x, 64 * h);
        let ql1 = load32(x, 64 * h + 32);
        let qh = load32(x, QH + 32 * h);
        // ((qh >> shift) & 3) << 4, with 16-bit shifts whose spill the masks remove.
        let high0 = _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4);
        let high2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4);
        let high4 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4);
        let high6 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4);
        q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, m4), high0);
        q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), high2);
        q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), high4);
        q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), high6);
        for k in 0..4 {
            let g = 8 * h + 2 * k;
            scale[4 * h + k] = _mm256_setr_m128i(_mm_set1_epi16(sc(g)), _mm_set1_epi16(sc(g + 1)));
        }
    }
    let s = &x[SCALES..SCALES + 16];
    let scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(s.as_ptr() as *const __m128i));
    Q6Block {
        q,
        scale,
        scales16,
        d: f16_at(x, D),
    }
}

/// # Safety
/// See [`super::gemm::TileFn`]; needs AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
pub unsafe fn q6_k(
    w: &[u8],
    wrb: usize,
    nr: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    dispatch_rows!(q6_k_rows, w, wrb, nr, a, arb, nc, nb, sums)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn q6_k_rows<const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q6_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    for ib in 0..nb {
        let blocks: [Q6Block; R] =
            std::array::from_fn(|r| unpack_q6_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]));
        for c in 0..nc {
            let y = &a[c * arb + ib * q8_k::TYPE_SIZE..c * arb + (ib + 1) * q8_k::TYPE_SIZE];
            let dy = q8_k::d(y);
            let qa = q8_k_quants(y);
            let bsums = bsums(y);
            for (r, b) in blocks.iter().enumerate() {
                let mut acc = _mm256_setzero_si256();
                for j in 0..8 {
                    acc = _mm256_add_epi32(acc, dot_u8_i8_scaled(b.q[j], qa[j], b.scale[j]));
                }
                // Lane k: 32·(bsum(2k)·sc(2k) + bsum(2k+1)·sc(2k+1)), as the vec_dot subtracts it.
                let offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, b.scales16), 5);
                let sumi = _mm256_sub_epi32(acc, offset);
                let d = _mm256_set1_ps(dy * b.d);
                lanes[c][r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), lanes[c][r]);
            }
        }
    }
    for c in 0..nc {
        for r in 0..R {
            sums[c][r] = hsum_f32(lanes[c][r]);
        }
    }
}
