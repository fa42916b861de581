//! AVX-512 (BW + VNNI) version of the IQ4_XS · Q8_K dot product, chosen at run time over
//! [`super::iq4_xs_avx2`] and bit for bit equal to it (and so to llama.cpp's AVX2 kernel).
//!
//! The AVX2 kernel keeps eight exact i32 lanes per super-block: lane l sums, over the eight
//! sub-blocks, the scaled products of elements 4l..4l+3 (lanes 0..4 the low nibbles, 4..8 the
//! high ones). Here one 512-bit step takes two sub-blocks, the first in lanes 0..8 and the second
//! in lanes 8..16, and the halves are folded at the end: the same eight integers, then the same
//! float accumulation.
//!
//! AVX-512 has no `vpsignb`, so the signed × signed product is built differently: the IQ4_NL
//! table is negative exactly for codes 0..8, so `|level|` comes from a lookup in the absolute
//! table, and the activations are negated under the mask "code < 8" (wrapping like `vpsignb`).

#![cfg(target_arch = "x86_64")]

use super::avx2_util::hsum_f32;
use super::avx512_util::{alternating, fold_halves, group_index, load_i16x32, q8_k_blocks, srlv16};
use super::common::f16_at;
use super::iq4_search::KVALUES_IQ4NL;
use super::iq4_xs::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES_H: usize = 2;
const SCALES_L: usize = 4;
const QS: usize = 8;

/// |KVALUES_IQ4NL| as bytes; the sign is "code < 8".
const ABS_LEVELS: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = KVALUES_IQ4NL[i].unsigned_abs();
        assert!((KVALUES_IQ4NL[i] < 0) == (i < 8));
        i += 1;
    }
    t
};

/// For step s (sub-blocks 2s, 2s+1): the first scale in i16 lanes 0..16, the second in 16..32.
const SCALE_INDEX: [[i16; 32]; 4] = [
    group_index(0, 16),
    group_index(2, 16),
    group_index(4, 16),
    group_index(6, 16),
];

/// Per 128-bit lane: shift 0 (low nibbles: elements 0..16) then 4 (high: 16..32), twice.
const NIBBLE_SHIFT: [i16; 32] = alternating(0, 4, 8);

/// The eight 6-bit sub-block scales minus 32, as i16 lanes 0..8.
#[inline(always)]
unsafe fn sub_block_scales(x: &[u8]) -> __m128i {
    let low = u32::from_le_bytes([
        x[SCALES_L],
        x[SCALES_L + 1],
        x[SCALES_L + 2],
        x[SCALES_L + 3],
    ]);
    let high = u16::from_le_bytes([x[SCALES_H], x[SCALES_H + 1]]);
    let low = _mm_cvtsi32_si128(low as i32);
    let m4 = _mm_set1_epi8(0x0F);
    // Sub-block 2k is the low nibble of byte k, 2k+1 the high one.
    let nibbles = _mm_unpacklo_epi8(
        _mm_and_si128(low, m4),
        _mm_and_si128(_mm_srli_epi16(low, 4), m4),
    );
    let high = _mm_srlv_epi16(
        _mm_set1_epi16(high as i16),
        _mm_setr_epi16(0, 2, 4, 6, 8, 10, 12, 14),
    );
    let high = _mm_slli_epi16(_mm_and_si128(high, _mm_set1_epi16(3)), 4);
    _mm_sub_epi16(
        _mm_or_si128(_mm_cvtepu8_epi16(nibbles), high),
        _mm_set1_epi16(32),
    )
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let table = _mm512_broadcast_i32x4(_mm_loadu_si128(ABS_LEVELS.as_ptr() as *const __m128i));
    let low4 = _mm512_set1_epi8(0x0F);
    let eight = _mm512_set1_epi8(8);
    let shift = load_i16x32(&NIBBLE_SHIFT);
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let mut accum = _mm256_setzero_ps();
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let scales = _mm512_castsi128_si512(sub_block_scales(x));
        let qs = x[QS..QS + 128].as_ptr();
        let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
        let mut sum = [_mm512_setzero_si512(); 2];
        for s in 0..4 {
            // 128-bit lanes: packed bytes of sub-block 2s twice, then of 2s+1 twice.
            let packed =
                _mm512_castsi256_si512(_mm256_loadu_si256(qs.add(32 * s) as *const __m256i));
            let packed = _mm512_shuffle_i64x2::<0b01_01_00_00>(packed, packed);
            let codes = _mm512_and_si512(srlv16(packed, shift), low4);
            let magnitude = _mm512_shuffle_epi8(table, codes);
            let negative = _mm512_cmplt_epu8_mask(codes, eight);
            let act = _mm512_loadu_si512(a.add(64 * s) as *const _);
            let act = _mm512_mask_sub_epi8(act, negative, _mm512_setzero_si512(), act);
            let products = _mm512_maddubs_epi16(magnitude, act);
            let scale = _mm512_permutexvar_epi16(index[s], scales);
            sum[s % 2] = _mm512_dpwssd_epi32(sum[s % 2], products, scale);
        }
        let sumi = fold_halves(_mm512_add_epi32(sum[0], sum[1]));
        let d = _mm256_set1_ps(f16_at(x, 0) * q8_k::d(y));
        accum = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), accum);
    }
    hsum_f32(accum)
}
