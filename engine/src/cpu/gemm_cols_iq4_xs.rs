//! IQ4_XS blocks unpacked for the transposed-activation kernel (`gemm_cols`).

#![cfg(target_arch = "x86_64")]

use super::gemm_cols::{f16_at, offset_correction, store_levels, ColumnFormat, Unpacked};
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

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        let table = _mm_loadu_si128(iq4_xs::KVALUES.as_ptr() as *const __m128i);
        let m4 = _mm_set1_epi8(0x0F);
        let sh = u16::from_le_bytes([x[SCALES_H], x[SCALES_H + 1]]);
        let mut levels = [_mm256_setzero_si256(); 8];
        for (ib, l) in levels.iter_mut().enumerate() {
            let q = _mm_loadu_si128(x[QS + 16 * ib..][..16].as_ptr() as *const __m128i);
            let lo = _mm_shuffle_epi8(table, _mm_and_si128(q, m4));
            let hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), m4));
            *l = _mm256_set_m128i(hi, lo);
            let low = (x[SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0xF;
            let high = ((sh >> (2 * ib)) & 3) as u8;
            dst.scales[ib] = (low | (high << 4)) as i32 - 32;
        }
        store_levels(&levels, dst);
        dst.correction = offset_correction(&levels, &dst.scales, 8);
        dst.d = f16_at(x, 0);
    }
}
