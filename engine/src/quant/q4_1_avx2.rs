//! AVX2 version of the Q4_1 · Q8_1 dot product (chosen at run time; [`super::q4_1::vec_dot_scalar`]
//! is the reference it is tested against). It keeps the lanes and accumulation order of llama.cpp's
//! AVX2 `ggml_vec_dot_q4_1_q8_1`: each block's eight i32 lanes (4 products each) fused-multiply-added
//! with d_x·d_y into eight f32 accumulators, the minimums' m·s summed on the side, and the two added
//! at the end.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{f16c_pair_products, hsum_f32, load32};
use super::q4_1::{BLOCK, TYPE_SIZE};
use super::q5_0_avx2::nibbles32;
use super::q8_1;
use std::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_ps();
    let mut summs = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_1::TYPE_SIZE))
        .take(nb)
    {
        // (d_x·d_y, m_x·s_y)
        let (dd, ms) = f16c_pair_products(x, y);
        summs += ms;
        let d = _mm256_set1_ps(dd);
        let q = nibbles32(&x[4..]);
        let sums = _mm256_madd_epi16(ones, _mm256_maddubs_epi16(q, load32(y, 4)));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
    }
    hsum_f32(acc) + summs
}
