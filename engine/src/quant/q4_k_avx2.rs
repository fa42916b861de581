//! AVX2 version of the Q4_K · Q8_K dot product (chosen at run time; [`super::q4_k::vec_dot_scalar`]
//! is the reference it is tested against). It keeps the lane layout and accumulation order of
//! llama.cpp's AVX2 kernel (eight i32 lanes per block fused-multiply-added into eight f32
//! accumulators, the minimums in four more), which reproduces llama.cpp's result bit for bit.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{dot_u8_i8_scaled, hsum_f32, load32};
use super::common::{f16_at, scale_min_k4};
use super::q4_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QS: usize = 16;

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut acc_d = _mm256_setzero_ps();
    let mut acc_m = _mm_setzero_ps();
    let low_nibbles = _mm256_set1_epi8(0x0F);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let scales = &x[SCALES..SCALES + 12];
        let mut acc = _mm256_setzero_si256();
        let mut mins = [0i32; 8];
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
            mins[2 * c] = m1 as i32;
            mins[2 * c + 1] = m2 as i32;
        }
        // Minimum lanes k: sub-blocks 2k and 2k+1, each min times its 32-element activation sum.
        let s = |j: usize| q8_k::bsum(y, 2 * j) as i32 + q8_k::bsum(y, 2 * j + 1) as i32;
        let prod: [i32; 4] =
            std::array::from_fn(|k| mins[2 * k] * s(2 * k) + mins[2 * k + 1] * s(2 * k + 1));
        let dy = q8_k::d(y);
        let dmin = -dy * f16_at(x, 2);
        let prod = _mm_loadu_si128(prod.as_ptr() as *const __m128i);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
        let d = _mm256_set1_ps(dy * f16_at(x, 0));
        acc_d = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(acc), acc_d);
    }
    let m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    let m = _mm_add_ss(m, _mm_movehdup_ps(m));
    hsum_f32(acc_d) + _mm_cvtss_f32(m)
}
