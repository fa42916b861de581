//! AVX2 version of the Q5_K · Q8_K dot product (chosen at run time; [`super::q5_k::vec_dot_scalar`]
//! is the reference it is tested against). It keeps the lane layout and accumulation order of
//! llama.cpp's AVX2 kernel (eight i32 lanes per block fused-multiply-added into eight f32
//! accumulators; the minimums summed per block in a scalar), which reproduces its result bit for bit.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{dot_u8_i8_scaled, hsum_f32, load32};
use super::common::{f16_at, scale_min_k4};
use super::q5_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QH: usize = 16;
const QS: usize = 48;

/// Bit `bit` of every byte of `h`, moved to bit 4 (the fifth bit of a Q5 quant).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn high_bit(h: __m256i, bit: i32) -> __m256i {
    let isolated = _mm256_and_si256(h, _mm256_set1_epi8(1 << bit));
    let at_zero = _mm256_srl_epi16(isolated, _mm_cvtsi32_si128(bit));
    _mm256_slli_epi16(at_zero, 4)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut acc = _mm256_setzero_ps();
    let mut summs = 0.0f32;
    let low_nibbles = _mm256_set1_epi8(0x0F);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let scales = &x[SCALES..SCALES + 12];
        let dy = q8_k::d(y);
        let d = dy * f16_at(x, 0);
        let dmin = -dy * f16_at(x, 2);
        let hbits = load32(x, QH);
        let mut sumi = _mm256_setzero_si256();
        let mut mins = 0i32;
        for c in 0..4 {
            let (sc1, m1) = scale_min_k4(2 * c, scales);
            let (sc2, m2) = scale_min_k4(2 * c + 1, scales);
            let q = load32(x, QS + 32 * c);
            let lo = _mm256_add_epi8(
                _mm256_and_si256(q, low_nibbles),
                high_bit(hbits, 2 * c as i32),
            );
            let hi = _mm256_add_epi8(
                _mm256_and_si256(_mm256_srli_epi16(q, 4), low_nibbles),
                high_bit(hbits, 2 * c as i32 + 1),
            );
            let a_lo = load32(y, q8_k::QS + 64 * c);
            let a_hi = load32(y, q8_k::QS + 64 * c + 32);
            let p_lo = dot_u8_i8_scaled(lo, a_lo, _mm256_set1_epi16(sc1 as i16));
            let p_hi = dot_u8_i8_scaled(hi, a_hi, _mm256_set1_epi16(sc2 as i16));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p_lo, p_hi));
            let s = |j: usize| q8_k::bsum(y, j) as i32;
            mins +=
                m1 as i32 * (s(4 * c) + s(4 * c + 1)) + m2 as i32 * (s(4 * c + 2) + s(4 * c + 3));
        }
        summs += dmin * mins as f32;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc) + summs
}
