//! Q6_K and Q3_K blocks (sixteen 16-element groups with signed scales) unpacked for the
//! transposed-activation kernel (`gemm_cols`).

#![cfg(target_arch = "x86_64")]

use super::gemm_cols::{f16_at, offset_correction, store_levels, ColumnFormat, Unpacked};
use super::gemm_kquant::unpack_q6_k;
use crate::quant::q3_k_avx2::signed_scales;
use crate::quant::{q3_k, q6_k};
use std::arch::x86_64::*;

#[inline(always)]
unsafe fn load(x: &[u8], at: usize) -> __m256i {
    _mm256_loadu_si256(x[at..][..32].as_ptr() as *const __m256i)
}

pub struct Q6K;

impl ColumnFormat for Q6K {
    const TYPE_SIZE: usize = q6_k::TYPE_SIZE;
    const SUBS: usize = 16;
    const HAS_MIN: bool = false;

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        const SCALES: usize = 192;
        // The tiles' unpacking gives the unsigned 6-bit quants; the kernel wants q − 32.
        let block = unpack_q6_k(x);
        let m32 = _mm256_set1_epi8(32);
        let mut levels = [_mm256_setzero_si256(); 8];
        for (l, q) in levels.iter_mut().zip(&block.q) {
            *l = _mm256_sub_epi8(*q, m32);
        }
        for (g, s) in dst.scales.iter_mut().enumerate() {
            *s = x[SCALES + g] as i8 as i32;
        }
        store_levels(&levels, dst);
        dst.correction = offset_correction(&levels, &dst.scales, 16);
        dst.d = block.d;
    }
}

pub struct Q3K;

impl ColumnFormat for Q3K {
    const TYPE_SIZE: usize = q3_k::TYPE_SIZE;
    const SUBS: usize = 16;
    const HAS_MIN: bool = false;

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        const HMASK: usize = 0;
        const QS: usize = 32;
        const SCALES: usize = 96;
        const D: usize = 108;
        let m3 = _mm256_set1_epi8(3);
        let four = _mm256_set1_epi8(4);
        let hbits = load(x, HMASK);
        let mut levels = [_mm256_setzero_si256(); 8];
        for n in 0..2 {
            let bits = load(x, QS + 32 * n);
            for j in 0..4 {
                let v = 4 * n + j;
                let low = match j {
                    0 => _mm256_and_si256(bits, m3),
                    1 => _mm256_and_si256(_mm256_srli_epi16(bits, 2), m3),
                    2 => _mm256_and_si256(_mm256_srli_epi16(bits, 4), m3),
                    _ => _mm256_and_si256(_mm256_srli_epi16(bits, 6), m3),
                };
                // q − 4 where the high bit (bit v of the hmask byte) is clear.
                let bit = _mm256_set1_epi8((1u8 << v) as i8);
                let clear = _mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit), _mm256_setzero_si256());
                levels[v] = _mm256_sub_epi8(low, _mm256_and_si256(clear, four));
            }
        }
        let scales: [i8; 16] = std::mem::transmute(signed_scales(&x[SCALES..SCALES + 12]));
        for (s, &v) in dst.scales.iter_mut().zip(&scales) {
            *s = v as i32;
        }
        store_levels(&levels, dst);
        dst.correction = offset_correction(&levels, &dst.scales, 16);
        dst.d = f16_at(x, D);
    }
}
