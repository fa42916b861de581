//! AVX2 version of the Q3_K · Q8_K dot product (chosen at run time; [`super::q3_k::vec_dot_scalar`]
//! is the reference it is tested against). It keeps the lanes and accumulation order of llama.cpp's
//! AVX2 `ggml_vec_dot_q3_K_q8_K` (no AVX2 repacking for Q3_K there): q − 4 is formed as
//! (2 low bits)·a − (4 where the high bit is clear)·a in i16, scaled per group into eight i32 lanes,
//! fused-multiply-added per block into eight f32 accumulators and summed as a tree at the end.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_f32, load32};
use super::common::f16_at;
use super::k16_scales_avx2::{chunk_scales, split_scales};
use super::q3_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const HMASK: usize = 0;
const QS: usize = 32;
const SCALES: usize = 96;
const D: usize = 108;

/// The sixteen 6-bit group scales minus 32, as signed bytes in group order.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn signed_scales(s: &[u8]) -> __m128i {
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let w = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (a0, a1, a2) = (w(0), w(1), w(2));
    let v = _mm_set_epi32(
        (((a1 >> 4) & LOW4) | (((a2 >> 6) & LOW2) << 4)) as i32,
        (((a0 >> 4) & LOW4) | (((a2 >> 4) & LOW2) << 4)) as i32,
        ((a1 & LOW4) | (((a2 >> 2) & LOW2) << 4)) as i32,
        ((a0 & LOW4) | ((a2 & LOW2) << 4)) as i32,
    );
    _mm_sub_epi8(v, _mm_set1_epi8(32))
}

/// 4 in each byte whose high bit (bit `b` of its hmask byte) is clear, else 0: what q − 4 lacks.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn minus4(hbits: __m256i, b: usize) -> __m256i {
    let bit = _mm256_set1_epi8((1u8 << b) as i8);
    let clear = _mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit), _mm256_setzero_si256());
    _mm256_and_si256(clear, _mm256_set1_epi8(4))
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let m3 = _mm256_set1_epi8(3);
    let mut acc = _mm256_setzero_ps();
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let d = q8_k::d(y) * f16_at(x, D);
        let scales = split_scales(signed_scales(&x[SCALES..SCALES + 12]));
        let hbits = load32(x, HMASK);
        let mut sumi = _mm256_setzero_si256();
        for (h, &half_scales) in scales.iter().enumerate() {
            let bits = load32(x, QS + 32 * h);
            let low = [
                _mm256_and_si256(bits, m3),
                _mm256_and_si256(_mm256_srli_epi16(bits, 2), m3),
                _mm256_and_si256(_mm256_srli_epi16(bits, 4), m3),
                _mm256_and_si256(_mm256_srli_epi16(bits, 6), m3),
            ];
            for (k, &lk) in low.iter().enumerate() {
                let a = load32(y, q8_k::QS + 128 * h + 32 * k);
                let p = _mm256_sub_epi16(
                    _mm256_maddubs_epi16(lk, a),
                    _mm256_maddubs_epi16(minus4(hbits, 4 * h + k), a),
                );
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(chunk_scales(half_scales, k), p));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc)
}
