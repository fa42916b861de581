//! AVX2 building blocks for the nibble-lookup formats (IQ4_NL, IQ4_XS, MXFP4): 4-bit codes index a
//! 16-entry i8 table with `pshufb`, and the resulting signed levels are multiplied with Q8 bytes.
//! The Q8_0 pair loop imitates llama.cpp's `ggml_vec_dot_iq4_nl_q8_0` / `ggml_vec_dot_mxfp4_q8_0`.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_f32, load32};
use std::arch::x86_64::*;

/// Bytes of one Q8_0 block (`{ f16 d; i8 qs[32] }`).
const Q8_0_BYTES: usize = 34;

/// Levels of 32 elements packed as 16 bytes (element j in the low nibble of byte j, element j+16
/// in the high nibble): low half of the result holds elements 0..16, high half 16..32.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn levels32(table: __m128i, packed: &[u8]) -> __m256i {
    let packed = &packed[..16];
    let q = _mm_loadu_si128(packed.as_ptr() as *const __m128i);
    let m4 = _mm_set1_epi8(0x0F);
    let lo = _mm_shuffle_epi8(table, _mm_and_si128(q, m4));
    let hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), m4));
    _mm256_set_m128i(hi, lo)
}

/// Signed bytes `x` times signed bytes `y`, adjacent pairs summed to i16 (ggml's `mul_add_epi8`):
/// |x| goes into `maddubs`' unsigned operand and x's sign moves onto y.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn mul_signed_i8(x: __m256i, y: __m256i) -> __m256i {
    _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
}

/// Integer dot of one 32-element nibble block with one Q8_0 block, as eight i32 lanes (lane l
/// holds elements 4l..4l+3).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block_lanes(table: __m128i, packed: &[u8], q8: &[u8]) -> __m256i {
    let p16 = mul_signed_i8(levels32(table, packed), load32(q8, 2));
    _mm256_madd_epi16(p16, _mm256_set1_epi16(1))
}

/// Dot of `n` elements of a 32-element nibble format with Q8_0 activations. A weight block is
/// `type_size` bytes with its 16 packed bytes at `qs`; `scale(x, y)` gives the product of the
/// activation block's f16 scale and the weight block's scale, `d_y · s_x`. Blocks go
/// in pairs into two f32 accumulators of eight lanes, an odd last block is added in scalar, all
/// in llama.cpp's order.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q8_0_pairs(
    n: usize,
    weights: &[u8],
    activations: &[u8],
    (type_size, qs): (usize, usize),
    table: &[i8; 16],
    scale: impl Fn(&[u8], &[u8]) -> f32,
) -> f32 {
    let nb = (n / 32)
        .min(weights.len() / type_size)
        .min(activations.len() / Q8_0_BYTES);
    let lut = _mm_loadu_si128(table.as_ptr() as *const __m128i);
    let mut accum1 = _mm256_setzero_ps();
    let mut accum2 = _mm256_setzero_ps();
    let mut pairs_w = weights.chunks_exact(2 * type_size);
    let mut pairs_a = activations.chunks_exact(2 * Q8_0_BYTES);
    for _ in 0..nb / 2 {
        let (Some(x), Some(y)) = (pairs_w.next(), pairs_a.next()) else {
            break;
        };
        let (x1, x2) = x.split_at(type_size);
        let (y1, y2) = y.split_at(Q8_0_BYTES);
        let p_1 = block_lanes(lut, &x1[qs..], y1);
        let p_2 = block_lanes(lut, &x2[qs..], y2);
        let d1 = _mm256_set1_ps(scale(x1, y1));
        let d2 = _mm256_set1_ps(scale(x2, y2));
        accum1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p_1), accum1);
        accum2 = _mm256_fmadd_ps(d2, _mm256_cvtepi32_ps(p_2), accum2);
    }
    let mut sumf = hsum_f32(_mm256_add_ps(accum1, accum2));
    if nb % 2 == 1 {
        let x = &weights[(nb - 1) * type_size..nb * type_size];
        let y = &activations[(nb - 1) * Q8_0_BYTES..nb * Q8_0_BYTES];
        let mut sumi = 0i32;
        for j in 0..16 {
            let q = x[qs + j];
            sumi += y[2 + j] as i8 as i32 * table[(q & 0xF) as usize] as i32;
            sumi += y[2 + j + 16] as i8 as i32 * table[(q >> 4) as usize] as i32;
        }
        sumf += scale(x, y) * sumi as f32;
    }
    sumf
}
