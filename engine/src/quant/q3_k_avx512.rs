//! AVX-512 (BW + VNNI) version of the Q3_K · Q8_K dot product, chosen at run time over
//! [`super::q3_k_avx2`] and bit for bit equal to it (and so to llama.cpp's AVX2 kernel).
//!
//! The AVX2 kernel keeps eight exact i32 lanes per block: lane l sums bytes 4l..4l+3 of all eight
//! 32-element chunks, each as (2 low bits)·a − (4 where the high bit is clear)·a, scaled per
//! 16-element group. Here one 512-bit step takes two chunks (2j in lanes 0..8, 2j+1 in 8..16): the
//! 32 packed bytes are broadcast and shifted by the two chunks' bit offsets, the "high bit clear"
//! test is one mask over a broadcast of `hmask`, and the scales go in with `vpdpwssd`. Folding the
//! high half onto the low one gives the same eight integers; the float steps are the AVX2 ones.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::hsum_f32;
use super::avx512_util::{alternating, fold_halves, group_index, load_i16x32, q8_k_blocks, srlv16};
use super::common::f16_at;
use super::q3_k::{BLOCK, TYPE_SIZE};
use super::q3_k_avx2::signed_scales;
use super::q8_k;
use std::arch::x86_64::*;

const HMASK: usize = 0;
const QS: usize = 32;
const SCALES: usize = 96;
const D: usize = 108;

/// For half h and chunk pair j (step 2h + j): the scales of groups 8h+4j .. 8h+4j+3, one per
/// 128-bit lane.
pub(super) const SCALE_INDEX: [[i16; 32]; 4] = [
    group_index(0, 8),
    group_index(4, 8),
    group_index(8, 8),
    group_index(12, 8),
];

/// For chunk pair j: the low bits of chunk 2j sit at bit 4j, those of 2j+1 at bit 4j + 2.
pub(super) const LOW_SHIFT: [[i16; 32]; 2] = [alternating(0, 2, 16), alternating(4, 6, 16)];

/// Per 256-bit half, one byte value selecting a chunk's bit of `hmask`.
const fn hmask_bits(low: u8, high: u8) -> [u8; 64] {
    let mut v = [low; 64];
    let mut i = 32;
    while i < 64 {
        v[i] = high;
        i += 1;
    }
    v
}

/// For step 2h + j: chunk 4h + 2j's `hmask` bit (low half) and chunk 4h + 2j + 1's (high half).
const HIGH_BITS: [[u8; 64]; 4] = [
    hmask_bits(1 << 0, 1 << 1),
    hmask_bits(1 << 2, 1 << 3),
    hmask_bits(1 << 4, 1 << 5),
    hmask_bits(1 << 6, 1 << 7),
];

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let m3 = _mm512_set1_epi8(3);
    let four = _mm512_set1_epi8(4);
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let low_shift = LOW_SHIFT.map(|s| load_i16x32(&s));
    let high_bits = HIGH_BITS.map(|b| _mm512_loadu_si512(b.as_ptr() as *const _));
    let mut acc = _mm256_setzero_ps();
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let d = q8_k::d(y) * f16_at(x, D);
        let scales =
            _mm512_castsi256_si512(_mm256_cvtepi8_epi16(signed_scales(&x[SCALES..SCALES + 12])));
        let hbits = _mm512_broadcast_i64x4(_mm256_loadu_si256(
            x[HMASK..HMASK + 32].as_ptr() as *const __m256i
        ));
        let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
        let mut sum = [_mm512_setzero_si512(); 2];
        for h in 0..2 {
            let bits = _mm512_broadcast_i64x4(_mm256_loadu_si256(
                x[QS + 32 * h..QS + 32 * h + 32].as_ptr() as *const __m256i,
            ));
            for j in 0..2 {
                let step = 2 * h + j;
                let low = _mm512_and_si512(srlv16(bits, low_shift[j]), m3);
                let clear = _mm512_testn_epi8_mask(hbits, high_bits[step]);
                let minus4 = _mm512_maskz_mov_epi8(clear, four);
                let act = _mm512_loadu_si512(a.add(128 * h + 64 * j) as *const _);
                let p = _mm512_sub_epi16(
                    _mm512_maddubs_epi16(low, act),
                    _mm512_maddubs_epi16(minus4, act),
                );
                let scale = _mm512_permutexvar_epi16(index[step], scales);
                sum[j] = _mm512_dpwssd_epi32(sum[j], p, scale);
            }
        }
        let sumi = fold_halves(_mm512_add_epi32(sum[0], sum[1]));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_f32(acc)
}
