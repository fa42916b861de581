//! AVX-512 (BW + VNNI) version of the Q6_K · Q8_K dot product, chosen at run time over
//! [`super::q6_k_avx2`] and bit for bit equal to it (and so to llama.cpp's AVX2 kernel).
//!
//! The AVX2 kernel's eight i32 lanes are each an exact integer: lane l sums bytes 4l..4l+3 of all
//! eight 32-byte chunks of a block, scaled. Here one 512-bit step covers two chunks, chunk 2k in
//! lanes 0..8 and 2k+1 in lanes 8..16, so folding the high half onto the low one at the end gives
//! the same eight integers, and the same float accumulation follows. The 2-bit high parts come
//! from one broadcast of the 32 `qh` bytes, shifted per half (`vpsllvw` / `vpsrlvw`) into bits
//! 4..5; the scales go in with `vpdpwssd` instead of a `madd` and an add.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::hsum_f32;
use super::avx512_util::{
    alternating, fold_halves, group_index, load_i16x32, q8_k_blocks, sllv16, srlv16,
};
use super::common::f16_at;
use super::q6_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const QL: usize = 0;
const QH: usize = 128;
const SCALES: usize = 192;
const D: usize = 208;

/// Per 128-bit lane, the scale of one 16-element group: groups 8h+0..3 (chunks 0, 1 of half h)
/// and 8h+4..7 (chunks 2, 3).
const SCALE_INDEX: [[i16; 32]; 4] = [
    group_index(0, 8),
    group_index(4, 8),
    group_index(8, 8),
    group_index(12, 8),
];

/// Per-half shift counts moving the high bits of chunk 0 | 1 (bits 0..1 | 2..3, left) and of
/// chunk 2 | 3 (bits 4..5 | 6..7, right) into bits 4..5.
const SHIFT_LEFT_01: [i16; 32] = alternating(4, 2, 16);
const SHIFT_RIGHT_23: [i16; 32] = alternating(0, 2, 16);

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let low4 = _mm512_set1_epi8(0x0F);
    let bits45 = _mm512_set1_epi8(0x30);
    let left01 = load_i16x32(&SHIFT_LEFT_01);
    let right23 = load_i16x32(&SHIFT_RIGHT_23);
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let mut acc = _mm256_setzero_ps();
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let d = q8_k::d(y) * f16_at(x, D);
        let scales = _mm_loadu_si128(x[SCALES..SCALES + 16].as_ptr() as *const __m128i);
        let scales16 = _mm256_cvtepi8_epi16(scales);
        // Lane k: 32·(a-sum of group 2k · its scale + the same for group 2k+1), as in AVX2.
        let q8sums = _mm256_loadu_si256(y[q8_k::BSUMS..].as_ptr() as *const __m256i);
        let offset = _mm256_slli_epi32(_mm256_madd_epi16(q8sums, scales16), 5);
        let scales = _mm512_castsi256_si512(scales16);
        let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
        let mut sum = [_mm512_setzero_si512(); 2];
        for h in 0..2 {
            let ql = _mm512_loadu_si512(x[QL + 64 * h..QL + 64 * h + 64].as_ptr() as *const _);
            let qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(
                x[QH + 32 * h..QH + 32 * h + 32].as_ptr() as *const __m256i,
            ));
            // (ql & 0xF) | high bits: ternary-logic 0xF8 is A | (B & C).
            let high01 = _mm512_and_si512(sllv16(qh, left01), bits45);
            let q01 = _mm512_ternarylogic_epi32(high01, ql, low4, 0xF8);
            let high23 = _mm512_and_si512(srlv16(qh, right23), bits45);
            let q23 = _mm512_ternarylogic_epi32(high23, _mm512_srli_epi16(ql, 4), low4, 0xF8);
            let a01 = _mm512_loadu_si512(a.add(128 * h) as *const _);
            let a23 = _mm512_loadu_si512(a.add(128 * h + 64) as *const _);
            let s01 = _mm512_permutexvar_epi16(index[2 * h], scales);
            let s23 = _mm512_permutexvar_epi16(index[2 * h + 1], scales);
            sum[0] = _mm512_dpwssd_epi32(sum[0], _mm512_maddubs_epi16(q01, a01), s01);
            sum[1] = _mm512_dpwssd_epi32(sum[1], _mm512_maddubs_epi16(q23, a23), s23);
        }
        let sumi = fold_halves(_mm512_add_epi32(sum[0], sum[1]));
        let sumi = _mm256_sub_epi32(sumi, offset);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc)
}
