//! AVX2 version of the Q4_0 · Q8_0 dot product (chosen at run time; [`super::q4_0::vec_dot_scalar`]
//! is the reference it is tested against). Same lanes and fused-multiply-add order as llama.cpp's
//! AVX2 kernel, so the result is bit-identical to it.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_f32, load32, mul_sum_i8_quads_f32};
use super::common::f16_at;
use super::q4_0::{BLOCK, TYPE_SIZE};
use super::q8_0;
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut acc = _mm256_setzero_ps();
    let low = _mm256_set1_epi8(0x0F);
    let eight = _mm256_set1_epi8(8);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        let packed = _mm_loadu_si128(x[2..18].as_ptr() as *const __m128i);
        // Elements 0..16 are the low nibbles, 16..32 the high ones.
        let nibbles = _mm256_and_si256(_mm256_setr_m128i(packed, _mm_srli_epi16(packed, 4)), low);
        let qx = _mm256_sub_epi8(nibbles, eight);
        let q = mul_sum_i8_quads_f32(qx, load32(y, 2));
        let d = _mm256_set1_ps(f16_at(x, 0) * f16_at(y, 0));
        acc = _mm256_fmadd_ps(d, q, acc);
    }
    hsum_f32(acc)
}
