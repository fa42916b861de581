//! AVX2 version of the Q6_K · Q8_K dot product (chosen at run time; [`super::q6_k::vec_dot_scalar`]
//! is the reference it is tested against). It is llama.cpp's AVX2 kernel, lane for lane:
//! Σ(q−32)·a as Σq·a − 32·Σa per i32 lane (the activations' 16-element sums times the scales, one
//! `madd`), each block's eight lanes fused-multiply-added into eight f32 accumulators, summed as a
//! tree at the end. That reproduces llama.cpp's result bit for bit.
//!
//! Everything per block stays in vector registers (scales broadcast by byte shuffles, the −32
//! offset from the stored sums): this kernel reads the output head, the largest tensor of a
//! decode step, and a scalar per-block prologue made it compute-bound at half of llama.cpp's speed.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{hsum_f32, load32};
use super::common::f16_at;
use super::q6_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const QL: usize = 0;
const QH: usize = 128;
const SCALES: usize = 192;
const D: usize = 208;

/// Byte-shuffle masks broadcasting scale 2i to the low eight bytes and scale 2i+1 to the high eight
/// (llama.cpp's `get_scale_shuffle`).
const SCALE_SHUFFLE: [[u8; 16]; 8] = {
    let mut m = [[0u8; 16]; 8];
    let mut i = 0;
    while i < 8 {
        let mut b = 0;
        while b < 16 {
            m[i][b] = (2 * i + b / 8) as u8;
            b += 1;
        }
        i += 1;
    }
    m
};

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut acc = _mm256_setzero_ps();
    let m3 = _mm256_set1_epi8(3);
    let m12 = _mm256_set1_epi8(12);
    let m48 = _mm256_set1_epi8(48);
    let m192 = _mm256_set1_epi8(-64);
    let m15 = _mm256_set1_epi8(15);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let d = q8_k::d(y) * f16_at(x, D);
        let scale_bytes = &x[SCALES..SCALES + 16];
        let scales = _mm_loadu_si128(scale_bytes.as_ptr() as *const __m128i);
        // Lane k: 32·(a-sum of group 2k · its scale + the same for group 2k+1).
        let q8sums = load32(y, q8_k::BSUMS);
        let offset = _mm256_slli_epi32(_mm256_madd_epi16(q8sums, _mm256_cvtepi8_epi16(scales)), 5);
        let mut sumi = _mm256_setzero_si256();
        for h in 0..2 {
            let ql0 = load32(x, QL + 64 * h);
            let ql1 = load32(x, QL + 64 * h + 32);
            let qh = load32(x, QH + 32 * h);
            let q = [
                _mm256_or_si256(
                    _mm256_and_si256(ql0, m15),
                    _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(ql1, m15),
                    _mm256_slli_epi16(_mm256_and_si256(qh, m12), 2),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m15),
                    _mm256_and_si256(qh, m48),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m15),
                    _mm256_srli_epi16(_mm256_and_si256(qh, m192), 2),
                ),
            ];
            let mut p = [_mm256_setzero_si256(); 4];
            for (k, (&qk, pk)) in q.iter().zip(p.iter_mut()).enumerate() {
                let a = load32(y, q8_k::QS + 128 * h + 32 * k);
                // i16 lanes 0..8 hold elements 0..16 (group 8h+2k), lanes 8..16 the next group.
                let mask = &SCALE_SHUFFLE[4 * h + k];
                let mask = _mm_loadu_si128(mask.as_ptr() as *const __m128i);
                let scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, mask));
                *pk = _mm256_madd_epi16(scale, _mm256_maddubs_epi16(qk, a));
            }
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p[0], p[1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p[2], p[3]));
        }
        let sumi = _mm256_sub_epi32(sumi, offset);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc)
}
