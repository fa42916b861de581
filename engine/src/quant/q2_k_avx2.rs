//! AVX2 version of the Q2_K · Q8_K dot product (chosen at run time; [`super::q2_k::vec_dot_scalar`]
//! is the reference it is tested against). It keeps the lanes and accumulation order of llama.cpp's
//! AVX2 `ggml_vec_dot_q2_K_q8_K` (llama.cpp has no AVX2 repacking for Q2_K, so that kernel is what
//! it runs): per block, the minimums' eight i32 lanes (mins · bsums) and then the quants' eight i32
//! lanes are fused-multiply-added into eight f32 accumulators, summed as a tree at the end.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_f32, load32};
use super::common::f16_at;
use super::k16_scales_avx2::{chunk_scales, split_scales};
use super::q2_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 0;
const QS: usize = 16;
const D: usize = 80;
const DMIN: usize = 82;

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let m3 = _mm256_set1_epi8(3);
    let m4 = _mm_set1_epi8(0xF);
    let mut acc = _mm256_setzero_ps();
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let dy = q8_k::d(y);
        let d = dy * f16_at(x, D);
        let dmin = -dy * f16_at(x, DMIN);

        let packed = &x[SCALES..SCALES + 16];
        let packed = _mm_loadu_si128(packed.as_ptr() as *const __m128i);
        let mins = _mm256_cvtepi8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
        let min_sums = _mm256_madd_epi16(mins, load32(y, q8_k::BSUMS));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(min_sums), acc);

        let scales = split_scales(_mm_and_si128(packed, m4));
        let mut sumi = _mm256_setzero_si256();
        for (h, &half_scales) in scales.iter().enumerate() {
            let bits = load32(x, QS + 32 * h);
            let q = [
                _mm256_and_si256(bits, m3),
                _mm256_and_si256(_mm256_srli_epi16(bits, 2), m3),
                _mm256_and_si256(_mm256_srli_epi16(bits, 4), m3),
                _mm256_and_si256(_mm256_srli_epi16(bits, 6), m3),
            ];
            for (k, &qk) in q.iter().enumerate() {
                let a = load32(y, q8_k::QS + 128 * h + 32 * k);
                let p = _mm256_maddubs_epi16(qk, a);
                let p = _mm256_madd_epi16(chunk_scales(half_scales, k), p);
                sumi = _mm256_add_epi32(sumi, p);
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc)
}
