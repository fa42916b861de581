//! AVX2 version of the IQ4_XS · Q8_K dot product (chosen at run time; [`super::iq4_xs::vec_dot_scalar`]
//! is the reference it is tested against). Follows llama.cpp's `ggml_vec_dot_iq4_xs_q8_K` lanes:
//! nibbles become levels through `pshufb` on the 16-entry table, each super-block's scaled integer
//! sums stay in eight exact i32 lanes, and those are fused-multiply-added into eight f32 lanes,
//! summed as `hsum_float_8` at the end. Same bits as llama.cpp's AVX2 kernel.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_f32, load32};
use super::common::f16_at;
use super::iq4_search::KVALUES_IQ4NL;
use super::iq4_xs::{BLOCK, TYPE_SIZE};
use super::nibble_lut_avx2::{levels32, mul_signed_i8};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES_H: usize = 2;
const SCALES_L: usize = 4;
const QS: usize = 8;

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let table = _mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i);
    let mut accum = _mm256_setzero_ps();
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let mut sh = u16::from_le_bytes([x[SCALES_H], x[SCALES_H + 1]]);
        let mut sumi1 = _mm256_setzero_si256();
        let mut sumi2 = _mm256_setzero_si256();
        for ib in (0..8).step_by(2) {
            let sl = x[SCALES_L + ib / 2];
            let ls1 = ((sl & 0xF) as i16 | ((sh << 4) & 0x30) as i16) - 32;
            let ls2 = ((sl >> 4) as i16 | ((sh << 2) & 0x30) as i16) - 32;
            sh >>= 4;
            let q4_1 = levels32(table, &x[QS + 16 * ib..QS + 16 * ib + 16]);
            let q4_2 = levels32(table, &x[QS + 16 * ib + 16..QS + 16 * ib + 32]);
            let q8_1 = load32(y, q8_k::QS + 32 * ib);
            let q8_2 = load32(y, q8_k::QS + 32 * ib + 32);
            let p_1 = _mm256_madd_epi16(mul_signed_i8(q4_1, q8_1), _mm256_set1_epi16(ls1));
            let p_2 = _mm256_madd_epi16(mul_signed_i8(q4_2, q8_2), _mm256_set1_epi16(ls2));
            sumi1 = _mm256_add_epi32(p_1, sumi1);
            sumi2 = _mm256_add_epi32(p_2, sumi2);
        }
        let d = _mm256_set1_ps(f16_at(x, 0) * q8_k::d(y));
        accum = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_add_epi32(sumi1, sumi2)), accum);
    }
    hsum_f32(accum)
}
