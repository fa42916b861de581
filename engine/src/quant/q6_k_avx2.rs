//! AVX2 version of the Q6_K · Q8_K dot product (chosen at run time; [`super::q6_k::vec_dot_scalar`]
//! is the reference it is tested against). It keeps the lane layout and accumulation order of
//! llama.cpp's AVX2 kernel: Σ(q−32)·a as Σq·a − 32·Σa per i32 lane (the activations' 16-element
//! sums), each block's eight lanes fused-multiply-added into eight f32 accumulators, summed as a
//! tree at the end. That reproduces llama.cpp's result bit for bit.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{dot_u8_i8_scaled, hsum_f32, load32};
use super::common::f16_at;
use super::q6_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const QL: usize = 0;
const QH: usize = 128;
const SCALES: usize = 192;
const D: usize = 208;

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = _mm256_setzero_ps();
    let m4 = _mm256_set1_epi8(0x0F);
    let m2 = _mm256_set1_epi8(0x03);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let sc = |g: usize| x[SCALES + g] as i8 as i16;
        let mut acc = _mm256_setzero_si256();
        // Lane k: 32·(a-sum of group 2k · its scale + the same for group 2k+1).
        let offset: [i32; 8] = std::array::from_fn(|k| {
            32 * (q8_k::bsum(y, 2 * k) as i32 * sc(2 * k) as i32
                + q8_k::bsum(y, 2 * k + 1) as i32 * sc(2 * k + 1) as i32)
        });
        for h in 0..2 {
            let ql0 = load32(x, QL + 64 * h);
            let ql1 = load32(x, QL + 64 * h + 32);
            let qh = load32(x, QH + 32 * h);
            let high = |shift: i32| -> __m256i {
                // ((qh >> shift) & 3) << 4, with 16-bit shifts whose spill the masks remove.
                let v = match shift {
                    0 => qh,
                    2 => _mm256_srli_epi16(qh, 2),
                    4 => _mm256_srli_epi16(qh, 4),
                    _ => _mm256_srli_epi16(qh, 6),
                };
                _mm256_slli_epi16(_mm256_and_si256(v, m2), 4)
            };
            let q = [
                _mm256_or_si256(_mm256_and_si256(ql0, m4), high(0)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), high(2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), high(4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), high(6)),
            ];
            for (k, &qk) in q.iter().enumerate() {
                let g = 8 * h + 2 * k;
                let a = load32(y, q8_k::QS + 128 * h + 32 * k);
                // i16 lanes 0..8 hold elements 0..16 (group g), lanes 8..16 the next group.
                let scale = _mm256_setr_m128i(_mm_set1_epi16(sc(g)), _mm_set1_epi16(sc(g + 1)));
                acc = _mm256_add_epi32(acc, dot_u8_i8_scaled(qk, a, scale));
            }
        }
        let offset = _mm256_loadu_si256(offset.as_ptr() as *const __m256i);
        let sumi = _mm256_sub_epi32(acc, offset);
        let d = _mm256_set1_ps(q8_k::d(y) * f16_at(x, D));
        sumf = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), sumf);
    }
    hsum_f32(sumf)
}
