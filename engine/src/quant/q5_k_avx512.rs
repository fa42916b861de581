//! AVX-512 (BW + VNNI) version of the Q5_K · Q8_K dot product, chosen at run time over
//! [`super::q5_k_avx2`] and bit for bit equal to it (and so to llama.cpp's AVX2 kernel).
//!
//! The AVX2 kernel keeps eight exact i32 lanes per block: lane l sums bytes 4l..4l+3 of every
//! 32-element sub-block, scaled. Here one 512-bit step takes the chunk of sub-blocks 2c (lanes
//! 0..8) and 2c+1 (lanes 8..16), as Q4_K's kernel does: the 32 packed bytes broadcast and shifted
//! by 0 and 4 bits, the fifth bit from one broadcast of `qh` shifted by 2c and 2c+1. Folding the
//! high half onto the low one gives the same eight integers; the float steps are the AVX2 ones.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::hsum_f32;
use super::avx512_util::{alternating, fold_halves, load_i16x32, q8_k_blocks, srlv16};
use super::common::f16_at;
use super::q4_k_avx512::{high_half_shifted, scales_and_min_sums, SCALE_INDEX};
use super::q5_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QH: usize = 16;
const QS: usize = 48;

/// For chunk c: the `qh` bit of sub-block 2c (low half) and 2c+1 (high half) moved to bit 0.
const HIGH_SHIFT: [[i16; 32]; 4] = [
    alternating(0, 1, 16),
    alternating(2, 3, 16),
    alternating(4, 5, 16),
    alternating(6, 7, 16),
];

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let low_nibbles = _mm512_set1_epi8(0x0F);
    let one = _mm512_set1_epi8(1);
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let high_shift = HIGH_SHIFT.map(|i| load_i16x32(&i));
    let mut acc = _mm256_setzero_ps();
    let mut summs = 0.0f32;
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let dy = q8_k::d(y);
        let d = dy * f16_at(x, 0);
        let dmin = -dy * f16_at(x, 2);
        let (scales, mins) = scales_and_min_sums(&x[SCALES..SCALES + 16], y);
        let qh =
            _mm512_broadcast_i64x4(_mm256_loadu_si256(x[QH..QH + 32].as_ptr() as *const __m256i));
        let qs = x[QS..QS + 128].as_ptr();
        let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
        let mut sum = [_mm512_setzero_si512(); 2];
        for c in 0..4 {
            let packed =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(qs.add(32 * c) as *const __m256i));
            let fifth = _mm512_and_si512(srlv16(qh, high_shift[c]), one);
            let fifth = _mm512_slli_epi16(fifth, 4);
            // (nibble & 0xF) | fifth bit: ternary-logic 0xF8 is A | (B & C).
            let q = _mm512_ternarylogic_epi32(fifth, high_half_shifted(packed), low_nibbles, 0xF8);
            let act = _mm512_loadu_si512(a.add(64 * c) as *const _);
            let scale = _mm512_permutexvar_epi16(index[c], scales);
            sum[c % 2] = _mm512_dpwssd_epi32(sum[c % 2], _mm512_maddubs_epi16(q, act), scale);
        }
        let sumi = fold_halves(_mm512_add_epi32(sum[0], sum[1]));
        summs += dmin * mins as f32;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc) + summs
}
