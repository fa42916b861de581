//! Q4_K and Q5_K blocks unpacked for the transposed-activation kernel (`gemm_cols`): quants
//! 0..=15 (0..=31 with Q5_K's high bits), 6-bit scales and minimums.

#![cfg(target_arch = "x86_64")]

use super::gemm_cols::{f16_at, offset_correction, store_levels, ColumnFormat, Unpacked};
use super::gemm_simd::scale_min_k4;
use crate::quant::{q4_k, q5_k};
use std::arch::x86_64::*;

const SCALES: usize = 4;

/// Scales, minimums (as i16 pairs) and the two block scales, which Q4_K and Q5_K share.
#[inline(always)]
unsafe fn scales_and_mins(x: &[u8], dst: &mut Unpacked) {
    let mut mins = [0u32; 8];
    for (j, m) in mins.iter_mut().enumerate() {
        let (sc, mn) = scale_min_k4(j, &x[SCALES..SCALES + 12]);
        dst.scales[j] = sc as i32;
        *m = mn as u32;
    }
    for (p, pair) in dst.min_pairs.iter_mut().enumerate() {
        *pair = mins[2 * p] | (mins[2 * p + 1] << 16);
    }
    dst.d = f16_at(x, 0);
    dst.dmin = f16_at(x, 2);
}

pub struct Q4K;

impl ColumnFormat for Q4K {
    const TYPE_SIZE: usize = q4_k::TYPE_SIZE;
    const SUBS: usize = 8;
    const HAS_MIN: bool = true;

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        const QS: usize = 16;
        scales_and_mins(x, dst);
        let m4 = _mm256_set1_epi8(0x0F);
        let mut levels = [_mm256_setzero_si256(); 8];
        for p in 0..4 {
            let q = _mm256_loadu_si256(x[QS + 32 * p..][..32].as_ptr() as *const __m256i);
            levels[2 * p] = _mm256_and_si256(q, m4);
            levels[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        }
        store_levels(&levels, dst);
        dst.correction = offset_correction(&levels, &dst.scales, 8);
    }
}

/// 0x10 in each byte where sub-block j's high bit (bit j of that byte of `qh`) is set.
#[inline(always)]
unsafe fn high_bits(qh: __m256i, j: usize, bit4: __m256i) -> __m256i {
    let bit = _mm256_set1_epi8((1u8 << j) as i8);
    _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), bit4)
}

pub struct Q5K;

impl ColumnFormat for Q5K {
    const TYPE_SIZE: usize = q5_k::TYPE_SIZE;
    const SUBS: usize = 8;
    const HAS_MIN: bool = true;

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        const QH: usize = 16;
        const QS: usize = 48;
        scales_and_mins(x, dst);
        let m4 = _mm256_set1_epi8(0x0F);
        let bit4 = _mm256_set1_epi8(0x10);
        let qh = _mm256_loadu_si256(x[QH..][..32].as_ptr() as *const __m256i);
        let mut levels = [_mm256_setzero_si256(); 8];
        for p in 0..4 {
            let q = _mm256_loadu_si256(x[QS + 32 * p..][..32].as_ptr() as *const __m256i);
            levels[2 * p] = _mm256_or_si256(_mm256_and_si256(q, m4), high_bits(qh, 2 * p, bit4));
            levels[2 * p + 1] = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                high_bits(qh, 2 * p + 1, bit4),
            );
        }
        store_levels(&levels, dst);
        dst.correction = offset_correction(&levels, &dst.scales, 8);
    }
}
