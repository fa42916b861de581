//! The 32-element block formats' levels for the transposed-activation kernel (`gemm_cols32`).

#![cfg(target_arch = "x86_64")]

use super::gemm_cols32::BlockFormat;
use super::gemm_simd::f16_at;
use crate::quant::{iq4_xs, mxfp4, q4_0, q5_0, q8_0};
use std::arch::x86_64::*;

/// The low nibbles of 16 bytes (elements 0..16) then the high ones (16..32), each < 16.
#[inline(always)]
unsafe fn nibbles(x: &[u8], at: usize) -> __m256i {
    let q = _mm_loadu_si128(x[at..at + 16].as_ptr() as *const __m128i);
    let m4 = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(q, m4);
    let hi = _mm_and_si128(_mm_srli_epi16(q, 4), m4);
    _mm256_setr_m128i(lo, hi)
}

/// Nibbles looked up in a 16-entry table of signed levels.
#[inline(always)]
unsafe fn table_levels(table: &[i8; 16], x: &[u8], at: usize) -> __m256i {
    let t = _mm256_broadcastsi128_si256(_mm_loadu_si128(table.as_ptr() as *const __m128i));
    _mm256_shuffle_epi8(t, nibbles(x, at))
}

pub struct Q4_0;

impl BlockFormat for Q4_0 {
    const TYPE_SIZE: usize = q4_0::TYPE_SIZE;
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        _mm256_sub_epi8(nibbles(x, 2), _mm256_set1_epi8(8))
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        f16_at(x, 0)
    }
}

pub struct Q5_0;

impl BlockFormat for Q5_0 {
    const TYPE_SIZE: usize = q5_0::TYPE_SIZE;
    /// Bit j of `qh` is bit 4 of element j: spread to bytes with `pdep`.
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        let qh = u32::from_le_bytes([x[2], x[3], x[4], x[5]]) as u64;
        let spread = |bits: u64| _pdep_u64(bits & 0xFF, 0x1010_1010_1010_1010) as i64;
        let high = _mm256_setr_epi64x(
            spread(qh),
            spread(qh >> 8),
            spread(qh >> 16),
            spread(qh >> 24),
        );
        let q = _mm256_or_si256(nibbles(x, 6), high);
        _mm256_sub_epi8(q, _mm256_set1_epi8(16))
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        f16_at(x, 0)
    }
}

pub struct Q8_0;

impl BlockFormat for Q8_0 {
    const TYPE_SIZE: usize = q8_0::TYPE_SIZE;
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        _mm256_loadu_si256(x[2..34].as_ptr() as *const __m256i)
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        f16_at(x, 0)
    }
}

pub struct Iq4Nl;

impl BlockFormat for Iq4Nl {
    const TYPE_SIZE: usize = crate::quant::iq4_nl::TYPE_SIZE;
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        table_levels(&iq4_xs::KVALUES, x, 2)
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        f16_at(x, 0)
    }
}

pub struct Mxfp4;

impl BlockFormat for Mxfp4 {
    const TYPE_SIZE: usize = mxfp4::TYPE_SIZE;
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        table_levels(&mxfp4::KVALUES_MXFP4, x, 1)
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        mxfp4::e8m0_to_f32_half(x[0])
    }
}
