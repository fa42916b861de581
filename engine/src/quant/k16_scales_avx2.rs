//! AVX2 scale broadcasting shared by the K-quants with 16-element groups (Q2_K, Q3_K), as in
//! llama.cpp's `get_scale_shuffle_q3k`: each 32-byte chunk of quants spans two groups, so its
//! sixteen i16 products take one group's scale in the low half and the next group's in the high.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// Byte shuffles picking i16 scale 2k into the low 128 bits and 2k+1 into the high 128 bits.
static SHUFFLE: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let (k, half) = (i / 32, (i % 32) / 16);
        let scale = 2 * k + half;
        t[i] = (2 * scale + i % 2) as u8;
        i += 1;
    }
    t
};

/// The sixteen signed group scales (bytes) widened to i16 and split by half super-block: element
/// h of the result holds groups 8h..8h+8, repeated in both 128-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn split_scales(scales8: __m128i) -> [__m256i; 2] {
    let all = _mm256_cvtepi8_epi16(scales8);
    let (lo, hi) = (
        _mm256_castsi256_si128(all),
        _mm256_extracti128_si256(all, 1),
    );
    [_mm256_set_m128i(lo, lo), _mm256_set_m128i(hi, hi)]
}

/// The i16 scales for chunk k (0..4) of a half super-block: groups 2k and 2k+1 of `half_scales`.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn chunk_scales(half_scales: __m256i, k: usize) -> __m256i {
    let s = &SHUFFLE[32 * k..32 * k + 32];
    _mm256_shuffle_epi8(
        half_scales,
        _mm256_loadu_si256(s.as_ptr() as *const __m256i),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shuffle_matches_llama_cpp_table() {
        let row = |a: u8| -> Vec<u8> { (0..8).flat_map(|_| [a, a + 1]).collect() };
        let expected: Vec<u8> = (0..8).flat_map(|s| row(2 * s)).collect();
        assert_eq!(super::SHUFFLE.to_vec(), expected);
    }
}
