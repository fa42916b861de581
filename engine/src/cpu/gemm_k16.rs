//! GEMM tile kernels for the K-quants with 16-element groups (Q2_K, Q3_K weights · Q8_K
//! activations), AVX2. Each weight row's block is unpacked once (2-bit quants to bytes, group
//! scales to i16 vectors) and dotted with every activation column of the tile. For every
//! (row, column) the integer lanes and the float accumulation are those of the format's `vec_dot`
//! (`quant/q2_k_avx2.rs`, `q3_k_avx2.rs`, llama.cpp's lane order), so results are bit-identical.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS};
use super::gemm_simd::{
    f16_at, fold512, hsum_f32, load256_wide, load32, scaled_dot_wide, tile_fns, widen, IntDot,
    ZERO512,
};
use crate::quant::k16_scales_avx2::{chunk_scales, split_scales};
use crate::quant::q3_k_avx2::signed_scales;
use crate::quant::{q2_k, q3_k, q8_k};
use std::arch::x86_64::*;

/// One Q2_K or Q3_K block row, unpacked. Vector j covers elements 32j..32j+32 (groups 2j, 2j+1).
struct K16Block {
    /// The 2-bit quants as bytes.
    low: [__m256i; 8],
    /// Q3_K only: 4 where the high bit is clear (the quant is low − that); unused for Q2_K.
    minus4: [__m256i; 8],
    /// Group 2j's scale in the low 128 bits, group 2j+1's in the high, as i16.
    scale: [__m256i; 8],
    /// Q2_K only: the sixteen group minimums as i16, matching Q8_K's `bsums`.
    mins: __m256i,
    d: f32,
    dmin: f32,
}

/// Placeholder rows, overwritten before use (keeps the unpacking a plain loop).
const EMPTY: K16Block = K16Block {
    low: [ZERO; 8],
    minus4: [ZERO; 8],
    scale: [ZERO; 8],
    mins: ZERO,
    d: 0.0,
    dmin: 0.0,
};
// SAFETY: an all-zero bit pattern is a valid __m256i.
const ZERO: __m256i = unsafe { std::mem::transmute([0u8; 32]) };

/// A block row in 512-bit vectors (see [`widen`]); `minus4` is only filled for Q3_K.
struct WideK16 {
    low: [__m512i; 4],
    minus4: [__m512i; 4],
    scale: [__m512i; 4],
}

const EMPTY_WIDE: WideK16 = WideK16 {
    low: [ZERO512; 4],
    minus4: [ZERO512; 4],
    scale: [ZERO512; 4],
};

#[inline(always)]
unsafe fn widen_k16(b: &K16Block) -> WideK16 {
    WideK16 {
        low: widen(&b.low),
        minus4: widen(&b.minus4),
        scale: widen(&b.scale),
    }
}

/// The eight vectors of 2-bit quants stored as in Q2_K / Q3_K `qs` (64 bytes from `at`).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn unpack_2bit(x: &[u8], at: usize) -> [__m256i; 8] {
    let m3 = _mm256_set1_epi8(3);
    let mut q = [_mm256_setzero_si256(); 8];
    for h in 0..2 {
        let bits = load32(x, at + 32 * h);
        q[4 * h] = _mm256_and_si256(bits, m3);
        q[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(bits, 2), m3);
        q[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m3);
        q[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(bits, 6), m3);
    }
    q
}

/// Per vector j, group 2j's scale in the low 128 bits and 2j+1's in the high (the vec_dot's
/// shuffles), from the sixteen signed byte scales.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pair_scales(scales8: __m128i) -> [__m256i; 8] {
    let halves = split_scales(scales8);
    let mut v = [_mm256_setzero_si256(); 8];
    for (j, v) in v.iter_mut().enumerate() {
        *v = chunk_scales(halves[j / 4], j % 4);
    }
    v
}

// Plain loops, not `array::from_fn`: a closure does not inherit `target_feature`, and the
// intrinsics inside it were left as calls (measured: slower than the vec_dot fallback).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn unpack_q2_k(x: &[u8]) -> K16Block {
    const QS: usize = 16;
    const D: usize = 80;
    const DMIN: usize = 82;
    let m4 = _mm_set1_epi8(0xF);
    let packed = _mm_loadu_si128(x[..16].as_ptr() as *const __m128i);
    let mins = _mm256_cvtepi8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
    K16Block {
        low: unpack_2bit(x, QS),
        minus4: [_mm256_setzero_si256(); 8],
        scale: pair_scales(_mm_and_si128(packed, m4)),
        mins,
        d: f16_at(x, D),
        dmin: f16_at(x, DMIN),
    }
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn unpack_q3_k(x: &[u8]) -> K16Block {
    const HMASK: usize = 0;
    const QS: usize = 32;
    const SCALES: usize = 96;
    const D: usize = 108;
    let hbits = load32(x, HMASK);
    let mut minus4 = [_mm256_setzero_si256(); 8];
    for (j, m) in minus4.iter_mut().enumerate() {
        let bit = _mm256_set1_epi8((1u8 << j) as i8);
        let clear = _mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit), _mm256_setzero_si256());
        *m = _mm256_and_si256(clear, _mm256_set1_epi8(4));
    }
    K16Block {
        low: unpack_2bit(x, QS),
        minus4,
        scale: pair_scales(signed_scales(&x[SCALES..SCALES + 12])),
        mins: _mm256_setzero_si256(),
        d: f16_at(x, D),
        dmin: 0.0,
    }
}

tile_fns!(q2_k, q2_k_vnni = q2_k_rows);

#[inline(always)]
unsafe fn q2_k_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q2_k::TYPE_SIZE;
    const YS: usize = q8_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    for ib in 0..nb {
        let mut blocks: [K16Block; R] = [EMPTY; R];
        for (r, b) in blocks.iter_mut().enumerate() {
            *b = unpack_q2_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]);
        }
        let mut wide = [EMPTY_WIDE; R];
        if D::WIDE {
            for (wb, b) in wide.iter_mut().zip(&blocks) {
                *wb = widen_k16(b);
            }
        }
        for (c, col) in lanes.iter_mut().enumerate().take(nc) {
            let y = &a[c * arb + ib * YS..c * arb + (ib + 1) * YS];
            let dy = q8_k::d(y);
            let mut qa = [_mm256_setzero_si256(); 8];
            let qa_wide = if D::WIDE {
                load256_wide(y, q8_k::QS)
            } else {
                for (j, q) in qa.iter_mut().enumerate() {
                    *q = load32(y, q8_k::QS + 32 * j);
                }
                [ZERO512; 4]
            };
            let bsums = load32(y, q8_k::BSUMS);
            for ((b, wb), lane) in blocks.iter().zip(&wide).zip(col.iter_mut()) {
                // The vec_dot's order: the minimums' lanes first, then the quants'.
                let min_sums = _mm256_madd_epi16(b.mins, bsums);
                *lane = _mm256_fmadd_ps(
                    _mm256_set1_ps(-dy * b.dmin),
                    _mm256_cvtepi32_ps(min_sums),
                    *lane,
                );
                let acc = if D::WIDE {
                    scaled_dot_wide(&wb.low, &qa_wide, &wb.scale)
                } else {
                    let mut acc = _mm256_setzero_si256();
                    for (j, &a) in qa.iter().enumerate() {
                        let p = _mm256_maddubs_epi16(b.low[j], a);
                        acc = D::madd_acc(acc, p, b.scale[j]);
                    }
                    acc
                };
                *lane = _mm256_fmadd_ps(_mm256_set1_ps(dy * b.d), _mm256_cvtepi32_ps(acc), *lane);
            }
        }
    }
    for (c, col) in lanes.iter().enumerate().take(nc) {
        for (r, lane) in col.iter().enumerate() {
            sums[c][r] = hsum_f32(*lane);
        }
    }
}

tile_fns!(q3_k, q3_k_vnni = q3_k_rows);

#[inline(always)]
unsafe fn q3_k_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q3_k::TYPE_SIZE;
    const YS: usize = q8_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    for ib in 0..nb {
        let mut blocks: [K16Block; R] = [EMPTY; R];
        for (r, b) in blocks.iter_mut().enumerate() {
            *b = unpack_q3_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]);
        }
        let mut wide = [EMPTY_WIDE; R];
        if D::WIDE {
            for (wb, b) in wide.iter_mut().zip(&blocks) {
                *wb = widen_k16(b);
            }
        }
        for (c, col) in lanes.iter_mut().enumerate().take(nc) {
            let y = &a[c * arb + ib * YS..c * arb + (ib + 1) * YS];
            let dy = q8_k::d(y);
            let mut qa = [_mm256_setzero_si256(); 8];
            let qa_wide = if D::WIDE {
                load256_wide(y, q8_k::QS)
            } else {
                for (j, q) in qa.iter_mut().enumerate() {
                    *q = load32(y, q8_k::QS + 32 * j);
                }
                [ZERO512; 4]
            };
            for ((b, wb), lane) in blocks.iter().zip(&wide).zip(col.iter_mut()) {
                let acc = if D::WIDE {
                    let mut acc = _mm512_setzero_si512();
                    for i in 0..4 {
                        let p = _mm512_sub_epi16(
                            _mm512_maddubs_epi16(wb.low[i], qa_wide[i]),
                            _mm512_maddubs_epi16(wb.minus4[i], qa_wide[i]),
                        );
                        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p, wb.scale[i]));
                    }
                    fold512(acc)
                } else {
                    let mut acc = _mm256_setzero_si256();
                    for (j, &a) in qa.iter().enumerate() {
                        let p = _mm256_sub_epi16(
                            _mm256_maddubs_epi16(b.low[j], a),
                            _mm256_maddubs_epi16(b.minus4[j], a),
                        );
                        acc = D::madd_acc(acc, p, b.scale[j]);
                    }
                    acc
                };
                *lane = _mm256_fmadd_ps(_mm256_set1_ps(dy * b.d), _mm256_cvtepi32_ps(acc), *lane);
            }
        }
    }
    for (c, col) in lanes.iter().enumerate().take(nc) {
        for (r, lane) in col.iter().enumerate() {
            sums[c][r] = hsum_f32(*lane);
        }
    }
}
