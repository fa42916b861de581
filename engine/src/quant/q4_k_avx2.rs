//! AVX2 version of the Q4_K · Q8_K dot product (chosen at run time; [`super::q4_k::vec_dot_scalar`]
//! is the reference it is tested against). Integer sums are exact and the per-block float formula
//! is the scalar one, so results are bit-identical to the scalar kernel.
//!
//! Deliberately not llama.cpp's `ggml_vec_dot_q4_K_q8_K` lane order: llama.cpp's CPU backend
//! repacks Q4_K weights (`block_q4_Kx8`) and runs them through its gemv/gemm kernels, which sum
//! block by block like this kernel. On the fixtures, qwen35moe-tiny-Q4_K_M is within 0.0002 of
//! llama.cpp's logits this way and 0.041 (tolerance 0.05) with the vec_dot lane order.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{dot_u8_i8_scaled, hsum_i32, load32};
use super::common::{f16_at, scale_min_k4};
use super::q4_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QS: usize = 16;

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
        let scales = &x[SCALES..SCALES + 12];
        let mut acc = _mm256_setzero_si256();
        let mut summins = 0i32;
        for c in 0..4 {
            let (sc1, m1) = scale_min_k4(2 * c, scales);
            let (sc2, m2) = scale_min_k4(2 * c + 1, scales);
            let q = load32(x, QS + 32 * c);
            let lo = _mm256_and_si256(q, low_nibbles);
            let hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_nibbles);
            let a_lo = load32(y, q8_k::QS + 64 * c);
            let a_hi = load32(y, q8_k::QS + 64 * c + 32);
            acc = _mm256_add_epi32(
                acc,
                dot_u8_i8_scaled(lo, a_lo, _mm256_set1_epi16(sc1 as i16)),
            );
            acc = _mm256_add_epi32(
                acc,
                dot_u8_i8_scaled(hi, a_hi, _mm256_set1_epi16(sc2 as i16)),
            );
            let s = |j: usize| q8_k::bsum(y, j) as i32;
            summins +=
                m1 as i32 * (s(4 * c) + s(4 * c + 1)) + m2 as i32 * (s(4 * c + 2) + s(4 * c + 3));
        }
        let sumi = hsum_i32(acc);
        let dy = q8_k::d(y);
        sumf += f16_at(x, 0) * dy * sumi as f32 - f16_at(x, 2) * dy * summins as f32;
    }
    sumf
}
