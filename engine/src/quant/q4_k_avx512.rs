//! AVX-512 (BW + VNNI) version of the Q4_K · Q8_K dot product, chosen at run time over
//! [`super::q4_k_avx2`]. Each block's integer sum is exact and the per-block float formula is the
//! scalar one, so the result is bit for bit the scalar kernel's (and the AVX2 one's).
//!
//! Why a separate kernel: decode of a Q4_K model is compute-bound on the AVX2 one (about 60% of a
//! Qwen3.5-MoE decode step sat in it at 2 threads, at well under the RAM bandwidth). Here one
//! 512-bit step covers a 64-element chunk: the 32 packed bytes are broadcast to both halves and
//! shifted by 0 and 4 bits (low nibbles = sub-block 2c, high = 2c+1, which is also the order of
//! the activations), one `maddubs`, and one `vpdpwssd` against the two sub-block scales.

#![cfg(target_arch = "x86_64")]

use super::avx512_util::{alternating, group_index, load_i16x32, q8_k_blocks, two_f16};
use super::q4_k::{BLOCK, TYPE_SIZE};
use super::q4_k_avx2::unpack_scales_mins;
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QS: usize = 16;

/// For chunk c: scale 2c in i16 lanes 0..16 (the low nibbles), 2c+1 in lanes 16..32.
pub(super) const SCALE_INDEX: [[i16; 32]; 4] = [
    group_index(0, 16),
    group_index(2, 16),
    group_index(4, 16),
    group_index(6, 16),
];

/// Shift counts per i16 lane: 0 for the low half (low nibbles), 4 for the high half.
pub(super) const NIBBLE_SHIFT: [i16; 32] = alternating(0, 4, 16);

/// The 6-bit scales of a Q4_K/Q5_K block as i16 lanes 0..8 of a vector (for `vpermw`), and
/// Σ min_j · (a-sums of the two 16-element groups of sub-block j), exact.
#[inline(always)]
pub(super) unsafe fn scales_and_min_sums(scale_bytes: &[u8], y: &[u8]) -> (__m512i, i32) {
    let u = unpack_scales_mins(scale_bytes);
    let mins_and_scales = _mm256_cvtepu8_epi16(_mm_set_epi32(
        u[3] as i32,
        u[2] as i32,
        u[1] as i32,
        u[0] as i32,
    ));
    let q8sums = _mm256_loadu_si256(y[q8_k::BSUMS..].as_ptr() as *const __m256i);
    let pair_sums = _mm_hadd_epi16(
        _mm256_castsi256_si128(q8sums),
        _mm256_extracti128_si256(q8sums, 1),
    );
    let mins = _mm_madd_epi16(_mm256_extracti128_si256(mins_and_scales, 1), pair_sums);
    let mins = _mm_hadd_epi32(mins, mins);
    let mins = _mm_hadd_epi32(mins, mins);
    (
        _mm512_castsi256_si512(mins_and_scales),
        _mm_cvtsi128_si32(mins),
    )
}

/// The integer parts of one block: the i32 lanes of Σ scale·q·a (to be summed) and
/// Σ min·(activation sums).
#[inline(always)]
unsafe fn block_sums(x: &[u8], y: &[u8], shift: __m512i, index: &[__m512i; 4]) -> (__m512i, i32) {
    let low_nibbles = _mm512_set1_epi8(0x0F);
    let (scales, mins) = scales_and_min_sums(&x[SCALES..SCALES + 12], y);
    let qs = x[QS..QS + 128].as_ptr();
    let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
    // Two accumulators: the four chunks are two independent `vpdpwssd` chains.
    let mut acc = [_mm512_setzero_si512(); 2];
    for c in 0..4 {
        let packed = _mm512_broadcast_i64x4(_mm256_loadu_si256(qs.add(32 * c) as *const __m256i));
        let q = _mm512_and_si512(_mm512_srlv_epi16(packed, shift), low_nibbles);
        let act = _mm512_loadu_si512(a.add(64 * c) as *const _);
        let products = _mm512_maddubs_epi16(q, act);
        let scale = _mm512_permutexvar_epi16(index[c], scales);
        acc[c % 2] = _mm512_dpwssd_epi32(acc[c % 2], products, scale);
    }
    (_mm512_add_epi32(acc[0], acc[1]), mins)
}

/// The scalar kernel's float step for one block.
#[inline(always)]
unsafe fn block_value(x: &[u8], y: &[u8], sumi: i32, summins: i32) -> f32 {
    let (d, dmin) = two_f16(x.as_ptr());
    let dy = q8_k::d(y);
    d * dy * sumi as f32 - dmin * dy * summins as f32
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let shift = load_i16x32(&NIBBLE_SHIFT);
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let mut sumf = 0.0f32;
    // (Summing two blocks' lanes in one vector measured no faster: the horizontal sums overlap
    // with the next block's loads.)
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let (acc, summins) = block_sums(x, y, shift, &index);
        sumf += block_value(x, y, _mm512_reduce_add_epi32(acc), summins);
    }
    sumf
}
