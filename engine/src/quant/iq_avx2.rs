//! AVX2 building blocks shared by the I-quant dot kernels. The kernels keep every product and sum
//! in exact integers per super-block and finish with the same f32 operations as the scalar code,
//! so their results equal the scalar reference bit for bit.

use std::arch::x86_64::*;

use super::iq_grids::KEVEN_SIGNS_Q2XS;

/// Sign vector (bytes ±1) for 32 values from four 7-bit sign codes packed in the low 28 bits.
#[inline]
#[target_feature(enable = "avx2")]
pub fn signs_from_codes(codes: u32) -> __m256i {
    let s = |l: u32| KEVEN_SIGNS_Q2XS[((codes >> (7 * l)) & 127) as usize] as i64;
    _mm256_set_epi64x(s(3), s(2), s(1), s(0))
}

/// `sum_j magnitudes[j] * sign[j] * q8[j]` over 32 bytes, as 8 i32 lanes, times `scale`.
/// Magnitudes must be below 128 (true of all 2- and 3-bit grids) so `maddubs` cannot saturate.
#[inline]
#[target_feature(enable = "avx2")]
pub fn scaled_signed_dot32(magnitudes: __m256i, signs: __m256i, q8: &[i8], scale: i16) -> __m256i {
    assert!(q8.len() >= 32);
    // SAFETY: 32 readable bytes checked above; unaligned load.
    let q8 = unsafe { _mm256_loadu_si256(q8.as_ptr() as *const __m256i) };
    let products = _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(q8, signs));
    _mm256_madd_epi16(products, _mm256_set1_epi16(scale))
}

/// Sum of the 8 i32 lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}
