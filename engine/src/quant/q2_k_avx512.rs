//! AVX-512 (BW + VNNI) version of the Q2_K · Q8_K dot product, chosen at run time over
//! [`super::q2_k_avx2`] and bit for bit equal to it (and so to llama.cpp's AVX2 kernel).
//!
//! Same layout as Q3_K's 512-bit kernel without the high bit: one step takes two 32-element chunks
//! (lanes 0..8 and 8..16) from one broadcast of the packed bytes, shifted by the chunks' bit
//! offsets; scales go in with `vpdpwssd`. The minimums' lanes and the float steps are the AVX2
//! kernel's, and the folded quant lanes are the same eight integers.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::hsum_f32;
use super::avx512_util::{fold_halves, load_i16x32, q8_k_blocks, srlv16};
use super::common::f16_at;
use super::q2_k::{BLOCK, TYPE_SIZE};
use super::q3_k_avx512::{LOW_SHIFT, SCALE_INDEX};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 0;
const QS: usize = 16;
const D: usize = 80;
const DMIN: usize = 82;

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let m3 = _mm512_set1_epi8(3);
    let m4 = _mm_set1_epi8(0xF);
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let low_shift = LOW_SHIFT.map(|s| load_i16x32(&s));
    let mut acc = _mm256_setzero_ps();
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let dy = q8_k::d(y);
        let d = dy * f16_at(x, D);
        let dmin = -dy * f16_at(x, DMIN);

        let packed = _mm_loadu_si128(x[SCALES..SCALES + 16].as_ptr() as *const __m128i);
        let mins = _mm256_cvtepi8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
        let bsums = _mm256_loadu_si256(y[q8_k::BSUMS..].as_ptr() as *const __m256i);
        let min_sums = _mm256_madd_epi16(mins, bsums);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(min_sums), acc);

        let scales = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(packed, m4)));
        let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
        let mut sum = [_mm512_setzero_si512(); 2];
        for h in 0..2 {
            let bits = _mm512_broadcast_i64x4(_mm256_loadu_si256(
                x[QS + 32 * h..QS + 32 * h + 32].as_ptr() as *const __m256i,
            ));
            for j in 0..2 {
                let q = _mm512_and_si512(srlv16(bits, low_shift[j]), m3);
                let act = _mm512_loadu_si512(a.add(128 * h + 64 * j) as *const _);
                let scale = _mm512_permutexvar_epi16(index[2 * h + j], scales);
                sum[j] = _mm512_dpwssd_epi32(sum[j], _mm512_maddubs_epi16(q, act), scale);
            }
        }
        let sumi = fold_halves(_mm512_add_epi32(sum[0], sum[1]));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc)
}
