//! AVX2 version of the Q4_K · Q8_K dot product (chosen at run time; [`super::q4_k::vec_dot_scalar`]
//! is the reference it is tested against). Integer sums are exact and the per-block float formula
//! is the scalar one, so results are bit-identical to the scalar kernel.
//!
//! Deliberately not llama.cpp's `ggml_vec_dot_q4_K_q8_K` lane order: llama.cpp's CPU backend
//! repacks Q4_K weights (`block_q4_Kx8`) and runs them through its gemv/gemm kernels, which sum
//! block by block like this kernel. On the fixtures, qwen35moe-tiny-Q4_K_M is within 0.0002 of
//! llama.cpp's logits this way and 0.041 (tolerance 0.05) with the vec_dot lane order.
//!
//! The integer work does follow llama.cpp's vec_dot: the 6-bit scales and mins are unpacked once
//! per block with word operations, scales broadcast by byte shuffles and the mins term is one
//! `madd` against the stored activation sums. A scalar unpack per 32 elements made decode
//! compute-bound (Q4_K is most of the bytes a Qwen3.5-MoE token reads).

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_i32, load32};
use super::common::f16_at;
use super::q4_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QS: usize = 16;

/// Byte-shuffle masks broadcasting i16 scale `i` to every i16 lane (llama.cpp's
/// `get_scale_shuffle_k4`).
const SCALE_SHUFFLE: [[u8; 32]; 8] = {
    let mut m = [[0u8; 32]; 8];
    let mut i = 0;
    while i < 8 {
        let mut b = 0;
        while b < 32 {
            m[i][b] = (2 * i + b % 2) as u8;
            b += 1;
        }
        i += 1;
    }
    m
};

/// The eight 6-bit scales (bytes 0..8) and eight mins (bytes 8..16) of a block, in the order
/// [`super::common::scale_min_k4`] reads them.
#[inline(always)]
pub(super) fn unpack_scales_mins(s: &[u8]) -> [u32; 4] {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let w = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (u0, u1, u2) = (w(0), w(1), w(2));
    [
        u0 & KMASK1,
        (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4),
        u1 & KMASK1,
        ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4),
    ]
}

/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    let low_nibbles = _mm256_set1_epi8(0x0F);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let u = unpack_scales_mins(&x[SCALES..SCALES + 12]);
        let mins_and_scales = _mm256_cvtepu8_epi16(_mm_set_epi32(
            u[3] as i32,
            u[2] as i32,
            u[1] as i32,
            u[0] as i32,
        ));
        // Σ min_j · (a-sums of the two 16-element groups of sub-block j), exact in i32.
        let q8sums = load32(y, q8_k::BSUMS);
        let pair_sums = _mm_hadd_epi16(
            _mm256_castsi256_si128(q8sums),
            _mm256_extracti128_si256(q8sums, 1),
        );
        let mins = _mm_madd_epi16(_mm256_extracti128_si256(mins_and_scales, 1), pair_sums);
        let sc128 = _mm256_castsi256_si128(mins_and_scales);
        let scales = _mm256_setr_m128i(sc128, sc128);
        let mut acc = _mm256_setzero_si256();
        for c in 0..4 {
            let shuffle = |i: usize| {
                let m = &SCALE_SHUFFLE[i];
                _mm256_shuffle_epi8(scales, _mm256_loadu_si256(m.as_ptr() as *const __m256i))
            };
            let q = load32(x, QS + 32 * c);
            let lo = _mm256_and_si256(q, low_nibbles);
            let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_nibbles);
            let a_lo = load32(y, q8_k::QS + 64 * c);
            let a_hi = load32(y, q8_k::QS + 64 * c + 32);
            let p_lo = _mm256_madd_epi16(shuffle(2 * c), _mm256_maddubs_epi16(lo, a_lo));
            let p_hi = _mm256_madd_epi16(shuffle(2 * c + 1), _mm256_maddubs_epi16(hi, a_hi));
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(p_lo, p_hi));
        }
        let sumi = hsum_i32(acc);
        let mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, 0b01_00_11_10));
        let mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, 0b10_11_00_01));
        let summins = _mm_cvtsi128_si32(mins);
        let dy = q8_k::d(y);
        sumf += f16_at(x, 0) * dy * sumi as f32 - f16_at(x, 2) * dy * summins as f32;
    }
    sumf
}
