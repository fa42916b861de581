//! Small AVX2 helpers for the GEMM tile kernels (kept here so the kernels do not reach into the
//! private helpers of `quant`). Each reproduces the operation the `vec_dot` kernels use.

#![cfg(target_arch = "x86_64")]

use half::f16;
use std::arch::x86_64::*;

/// Loads 32 bytes from `s[at..at + 32]` (bounds-checked).
#[inline(always)]
pub unsafe fn load32(s: &[u8], at: usize) -> __m256i {
    let s = &s[at..at + 32];
    _mm256_loadu_si256(s.as_ptr() as *const __m256i)
}

/// Little-endian f16 at `b[at..at + 2]`, as f32.
#[inline(always)]
pub fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// Sum of the eight i32 lanes (exact, so any order will do).
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// Sum of the eight f32 lanes in ggml's `hsum_float_8` order (the order the `vec_dot`s use).
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn hsum_f32(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Unsigned bytes `u` times signed bytes `s`, pairs summed to i16, then times `scale` and pairs
/// summed to i32 (exact while each i16 pair sum stays in range, as for every format here).
#[inline(always)]
pub unsafe fn dot_u8_i8_scaled(u: __m256i, s: __m256i, scale: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale)
}

/// The 6-bit scale and min of sub-block `j` from the 12 bytes Q4_K and Q5_K share
/// (ggml's `get_scale_min_k4`).
#[inline(always)]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}
