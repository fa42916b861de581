//! IQ4_XS blocks unpacked for the transposed-activation kernel (`gemm_cols`).

#![cfg(target_arch = "x86_64")]

use super::gemm_cols::{f16_at, ColumnFormat, Unpacked};
use crate::quant::iq4_xs;
use std::arch::x86_64::*;

const SCALES_H: usize = 2;
const SCALES_L: usize = 4;
const QS: usize = 8;

pub struct Iq4Xs;

impl ColumnFormat for Iq4Xs {
    const TYPE_SIZE: usize = iq4_xs::TYPE_SIZE;
    const SUBS: usize = 8;
    const HAS_MIN: bool = false;

    /// 512-bit: four sub-blocks' nibbles per load and table lookup, the eight 6-bit scales
    /// gathered with `pdep`.
    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        let table =
            _mm512_broadcast_i32x4(_mm_loadu_si128(iq4_xs::KVALUES.as_ptr() as *const __m128i));
        let m4 = _mm512_set1_epi8(0x0F);
        let ones = _mm512_set1_epi8(1);
        // Byte ib: low nibble from scales_l (nibble ib), bits 4..5 from scales_h (bits 2ib..2ib+1).
        let sl = u32::from_le_bytes([
            x[SCALES_L],
            x[SCALES_L + 1],
            x[SCALES_L + 2],
            x[SCALES_L + 3],
        ]);
        let sh = u16::from_le_bytes([x[SCALES_H], x[SCALES_H + 1]]);
        let packed = _pdep_u64(sl as u64, 0x0F0F_0F0F_0F0F_0F0F)
            | _pdep_u64(sh as u64, 0x3030_3030_3030_3030);
        let scales8 = _mm_sub_epi8(_mm_cvtsi64_si128(packed as i64), _mm_set1_epi8(32));
        _mm256_storeu_si256(
            dst.scales.as_mut_ptr() as *mut __m256i,
            _mm256_cvtepi8_epi32(scales8),
        );
        let scales16 = _mm512_cvtepi8_epi16(_mm256_castsi128_si256(scales8));
        let mut scaled_sum = _mm512_setzero_si512();
        for h in 0..2 {
            let q = _mm512_loadu_si512(x[QS + 64 * h..][..64].as_ptr() as *const _);
            // 128-bit lane k: sub-block 4h + k's elements 0..16 (lo) and 16..32 (hi).
            let lo = _mm512_shuffle_epi8(table, _mm512_and_si512(q, m4));
            let hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(q, 4), m4));
            for (half, order) in PAIR_ORDER.iter().enumerate() {
                let idx = _mm512_loadu_si512(order.as_ptr() as *const _);
                // Two sub-blocks in element order.
                let levels = _mm512_permutex2var_epi64(lo, idx, hi);
                let at = 32 * h + 16 * half;
                _mm512_storeu_si512(dst.levels[at..][..16].as_mut_ptr() as *mut _, levels);
                let pick = _mm512_loadu_si512(SCALE_PICK[2 * h + half].as_ptr() as *const _);
                let scale = _mm512_permutexvar_epi16(pick, scales16);
                let pairs = _mm512_maddubs_epi16(ones, levels);
                scaled_sum = _mm512_add_epi32(scaled_sum, _mm512_madd_epi16(pairs, scale));
            }
        }
        dst.correction = 128 * _mm512_reduce_add_epi32(scaled_sum);
        dst.d = f16_at(x, 0);
    }
}

/// Quadword picks from (lo, hi) that put sub-blocks 2k, 2k + 1 of a load in element order.
const PAIR_ORDER: [[i64; 8]; 2] = [[0, 1, 8, 9, 2, 3, 10, 11], [4, 5, 12, 13, 6, 7, 14, 15]];

/// i16 lane picks of sub-block scales: for vector v (sub-blocks 2v, 2v + 1), 16 × 2v then
/// 16 × (2v + 1).
const SCALE_PICK: [[i16; 32]; 4] = {
    let mut t = [[0i16; 32]; 4];
    let mut v = 0;
    while v < 4 {
        let mut i = 0;
        while i < 32 {
            t[v][i] = (2 * v + i / 16) as i16;
            i += 1;
        }
        v += 1;
    }
    t
};
